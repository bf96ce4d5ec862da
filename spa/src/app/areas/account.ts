// Every signed-in person's own account: one lazily loaded chunk (see app/router.tsx).
export { ProfilePage } from "@/features/auth/components/ProfilePage";
