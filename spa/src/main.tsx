import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "@/app/App";
import "@/app/styles.css";

// A tab opened before a deploy asks for area chunks the new build no longer has: load the
// new build instead of failing (once per minute at most, so a real outage cannot loop).
window.addEventListener("vite:preloadError", (event) => {
  const last = Number(sessionStorage.getItem("hb-reloaded-at") ?? 0);
  if (Date.now() - last < 60_000) return;
  event.preventDefault();
  sessionStorage.setItem("hb-reloaded-at", String(Date.now()));
  location.reload();
});

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
