// The support inbox with its conversation view: one lazily loaded chunk.
export { InboxPage } from "@/features/chat/components/InboxPage";
