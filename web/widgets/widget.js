/* Hirebuddha chat widget: one <script> on any page, no framework (docs/channels.md).
 *   <script src="https://<hirebuddha>/widget.js" data-widget="wk_..." async></script>
 * Reads its config (CORS: only the widget's allowed origins get it), then draws a chat bubble
 * in a shadow root and, once opened, chats over the widget socket, which speaks the chat
 * socket's frames. The visitor token (localStorage) brings a returning visitor back to its
 * conversation. Text is only ever set with textContent: a reply cannot inject markup. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) return;
  var key = script.getAttribute("data-widget") || "";
  var base = new URL(script.src).origin;
  var store = "hirebuddha-widget:" + key;
  var api = base + "/api/v1/widgets/" + encodeURIComponent(key);

  fetch(api + "/config", { credentials: "omit", mode: "cors" })
    .then(function (r) { return r.ok ? r.json() : Promise.reject(new Error("HTTP " + r.status)); })
    .then(mount, function (e) { console.warn("Hirebuddha widget unavailable on this site:", e.message); });

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var name in attrs || {}) node.setAttribute(name, attrs[name]);
    if (text) node.textContent = text;
    return node;
  }

  function css(cfg) {
    var p = cfg.primary_color, t = cfg.text_color;
    return ":host{all:initial;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#2a1715}" +
      ".bubble{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;cursor:pointer;" +
      "background:" + p + ";color:" + t + ";box-shadow:0 8px 24px rgba(0,0,0,.2);z-index:2147483646;display:grid;place-items:center}" +
      ".panel{position:fixed;right:20px;bottom:88px;width:min(360px,calc(100vw - 24px));height:min(520px,calc(100vh - 120px));" +
      "display:flex;flex-direction:column;background:#fff;border-radius:16px;box-shadow:0 18px 48px rgba(0,0,0,.22);" +
      "overflow:hidden;z-index:2147483647}.panel[hidden]{display:none}" +
      ".head{background:" + p + ";color:" + t + ";padding:12px 16px;display:flex;justify-content:space-between;align-items:center;font-weight:600}" +
      ".head button{background:none;border:0;color:inherit;font-size:20px;cursor:pointer}" +
      ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px}" +
      ".msg{max-width:85%;padding:8px 12px;border-radius:14px;white-space:pre-wrap;word-wrap:break-word}" +
      ".assistant{align-self:flex-start;background:#f6ece9;color:#2a1715}" +
      ".user{align-self:flex-end;background:" + p + ";color:" + t + "}" +
      ".note{align-self:center;color:#5a3b36;font-size:13px}" +
      "form{display:flex;gap:8px;padding:10px;border-top:1px solid #eeddd8}" +
      "textarea{flex:1;resize:none;font:inherit;padding:8px;border:1px solid #c9aaa3;border-radius:10px;color:#2a1715}" +
      "form button{background:" + p + ";color:" + t + ";border:0;border-radius:10px;padding:0 14px;font:inherit;cursor:pointer}" +
      "form button:disabled{opacity:.6;cursor:default}" +
      ".foot{font-size:12px;color:#5a3b36;text-align:center;padding:0 0 8px}" +
      ":focus-visible{outline:3px solid " + p + ";outline-offset:2px}";
  }

  function mount(cfg) {
    var host = el("div", { id: "hirebuddha-widget" });
    var root = host.attachShadow({ mode: "open" });
    var style = css(cfg);
    if (root.adoptedStyleSheets !== undefined && window.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(style); // constructed sheets: no inline <style> for the host's CSP to refuse
      root.adoptedStyleSheets = [sheet];
    } else {
      root.appendChild(el("style", {}, style));
    }
    var title = cfg.title || cfg.brand.product_name;
    var bubble = el("button", { class: "bubble", type: "button", "aria-label": "Open chat", "aria-expanded": "false" });
    var svg = "http://www.w3.org/2000/svg", icon = document.createElementNS(svg, "svg"), path = document.createElementNS(svg, "path");
    icon.setAttribute("viewBox", "0 0 24 24");
    icon.setAttribute("width", "26");
    icon.setAttribute("height", "26");
    icon.setAttribute("aria-hidden", "true");
    path.setAttribute("fill", "currentColor");
    path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z");
    icon.appendChild(path);
    bubble.appendChild(icon);
    var panel = el("section", { class: "panel", role: "dialog", "aria-label": title });
    panel.hidden = true;
    var head = el("div", { class: "head" });
    head.appendChild(el("span", {}, title));
    var close = el("button", { type: "button", "aria-label": "Close chat" }, "\u00D7");
    head.appendChild(close);
    var log = el("div", { class: "log", role: "log", "aria-label": "Conversation", "aria-live": "polite" });
    var form = el("form");
    var input = el("textarea", { rows: "2", "aria-label": "Message", maxlength: "4000" });
    var send = el("button", { type: "submit" }, "Send");
    send.disabled = true;
    form.appendChild(input);
    form.appendChild(send);
    panel.appendChild(head);
    panel.appendChild(log);
    panel.appendChild(form);
    panel.appendChild(el("div", { class: "foot" }, "Powered by " + cfg.brand.product_name));
    root.appendChild(panel);
    root.appendChild(bubble);
    document.body.appendChild(host);

    var ws = null, retries = 0, replies = {}, ready = false;
    function add(role, text) {
      var node = el("div", { class: "msg " + role }, text);
      log.appendChild(node);
      log.scrollTop = log.scrollHeight;
      return node;
    }
    if (cfg.greeting) add("assistant", cfg.greeting);

    function reply(id) {
      return replies[id] || (replies[id] = add("assistant", ""));
    }
    function onFrame(f) {
      switch (f.type) {
        case "visitor":
          try { localStorage.setItem(store, f.token); } catch (e) { /* private mode: a new visitor next time */ }
          if (f.messages && f.messages.length && !log.dataset.history) {
            log.dataset.history = "1";
            f.messages.forEach(function (m) { add(m.role === "user" ? "user" : "assistant", m.content); });
          }
          break;
        case "ready": ready = true; send.disabled = false; retries = 0; break;
        case "execution.started": reply(f.execution_id); break;
        case "delta":
          var node = reply(f.execution_id);
          if (f.seq === 1) node.textContent = "";
          node.textContent += f.text;
          log.scrollTop = log.scrollHeight;
          break;
        case "execution.restarted": reply(f.execution_id).textContent = ""; break;
        case "execution.completed": reply(f.execution_id).textContent = f.text; break;
        case "execution.failed": reply(f.execution_id).textContent = "Sorry, that failed (" + f.error.code + ")."; break;
        case "error": add("note", f.message); break;
      }
    }
    function connect() {
      var token = null;
      try { token = localStorage.getItem(store); } catch (e) { token = null; }
      ws = new WebSocket(api.replace(/^http/, "ws") + "/ws");
      ws.onopen = function () { ws.send(JSON.stringify({ type: "visit", visitor: token })); };
      ws.onmessage = function (e) { onFrame(JSON.parse(e.data)); };
      ws.onclose = function (e) {
        ready = false; send.disabled = true; ws = null;
        if (e.code === 4403 || e.code === 4404) { add("note", "This chat is not available on this site."); return; }
        if (!panel.hidden && retries < 5) { retries += 1; setTimeout(connect, 1000 * retries); }
      };
    }
    function toggle(open) {
      panel.hidden = !open;
      bubble.setAttribute("aria-expanded", String(open));
      if (open) { if (!ws) connect(); input.focus(); } else { bubble.focus(); }
    }
    bubble.addEventListener("click", function () { toggle(panel.hidden); });
    close.addEventListener("click", function () { toggle(false); });
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var text = input.value.trim();
      if (!text || !ready) return;
      var id = window.crypto && crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();
      ws.send(JSON.stringify({ type: "message", content: text, client_id: id }));
      add("user", text);
      input.value = "";
    });
  }
})();
