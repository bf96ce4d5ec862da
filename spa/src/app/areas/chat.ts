// The chat screens with the markdown renderer (marked + DOMPurify): one lazily loaded chunk.
export { ChatPage } from "@/features/chat/components/ChatPage";
