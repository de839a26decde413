// @ts-check
/**
 * Clickstream notifications: shows the notification the collector hands back (cart reminder,
 * social proof, free-shipping nudge, limited-time discount) as an accessible, dismissable toast,
 * and records what the shopper saw and did with it for the merchant's experiment results.
 * Themable with CSS variables: --cs-accent, --cs-surface, --cs-text, --cs-radius.
 */
(function () {
  "use strict";
  var w = /** @type {any} */ (window), d = document;
  if (!w.Clickstream || w.ClickstreamNotifications) return;
  var cs = w.Clickstream;
  w.ClickstreamNotifications = true;

  var css = ".cs-note{position:fixed;right:16px;bottom:16px;max-width:340px;z-index:2147483000;" +
    "background:var(--cs-surface,#fff);color:var(--cs-text,#202223);border-radius:var(--cs-radius,12px);" +
    "box-shadow:0 6px 24px rgba(0,0,0,.18);padding:16px 44px 16px 16px;font:14px/1.4 system-ui,sans-serif}" +
    ".cs-note h2{font-size:15px;margin:0 0 4px}.cs-note p{margin:0 0 8px}.cs-note a{display:inline-block;" +
    "background:var(--cs-accent,#2c6ecb);color:#fff;padding:6px 12px;border-radius:6px;text-decoration:none}" +
    ".cs-note button{position:absolute;top:8px;right:8px;border:0;background:none;font-size:20px;cursor:pointer;color:inherit}" +
    ".cs-note code{background:rgba(0,0,0,.06);padding:1px 5px;border-radius:4px}";

  /** @param {any} n */
  function props(n) { return { notification: n.kind, arm: n.arm, experiment: n.experiment, notification_id: n.id }; }

  /** @param {string} tag @param {string} text */
  function el(tag, text) { var e = d.createElement(tag); e.textContent = text; return e; }

  /** @param {any} n */
  function show(n) {
    if (!n || !n.title || d.querySelector(".cs-note")) return;
    if (!d.getElementById("cs-note-style")) { var s = el("style", css); s.id = "cs-note-style"; d.head.appendChild(s); }
    var box = d.createElement("section");
    box.className = "cs-note";
    box.setAttribute("role", "status");
    box.setAttribute("aria-live", "polite");
    box.setAttribute("data-notification", n.kind);
    box.appendChild(el("h2", n.title));
    var p = el("p", n.message || "");
    box.appendChild(p);
    if (n.code) { p.appendChild(d.createTextNode(" ")); p.appendChild(el("code", n.code)); }
    if (n.cta && n.cta.url) {
      var a = /** @type {HTMLAnchorElement} */ (el("a", n.cta.label || "Open"));
      a.href = n.cta.url === "/cart" && cs.config.cartUrl ? cs.config.cartUrl : n.cta.url;
      a.addEventListener("click", function () { cs.track("notification_click", props(n)); cs.flush(); });
      box.appendChild(a);
    }
    var close = el("button", "×");
    close.setAttribute("aria-label", "Dismiss");
    close.addEventListener("click", function () { box.remove(); cs.track("notification_dismissed", props(n)); });
    box.appendChild(close);
    d.addEventListener("keydown", function esc(ev) {
      if (ev.key === "Escape" && box.isConnected) { box.remove(); cs.track("notification_dismissed", props(n)); d.removeEventListener("keydown", esc); }
    });
    d.body.appendChild(box);
    cs.track("notification_shown", props(n));
  }

  cs.onReply(/** @param {any} reply */ function (reply) { if (reply && reply.notification) show(reply.notification); });
})();
