// @ts-check
/**
 * Clickstream storefront tracker: captures shopper actions once, sends them in batches, never
 * slows the page. Config comes from the app embed block (#clickstream-config JSON).
 *
 * - visitor id: first-party, in localStorage and the cookie `_cs_vid` the web pixel reads (in
 *   memory only in cookieless mode before consent)
 * - events: a UUID each, client time in ms; batches of up to 20 events or 3 s
 * - delivery: to {proxyPath}/events/ (the app proxy, same-origin); fetch keepalive (text/plain);
 *   sendBeacon on pagehide; a localStorage
 *   outbox shared by tabs, retried with backoff; a batch leaves the outbox only once acknowledged
 * - consent: Shopify's Customer Privacy API; nothing stored or sent before consent where required
 * - identity: a logged-in customer only through the app proxy's signed identity handshake
 */
(function () {
  "use strict";
  var w = window, d = document, ls = null;
  if (/** @type {any} */ (w).Clickstream) return;
  /** @type {any} */
  var cfg = {};
  try { cfg = JSON.parse((d.getElementById("clickstream-config") || {}).textContent || "{}"); } catch (e) { cfg = {}; }
  cfg = Object.assign(cfg, /** @type {any} */ (w).ClickstreamConfig || {});
  if (!cfg.shop) return;
  // Events go through Shopify's app proxy (same-origin, the shop signed by Shopify): nothing for
  // the merchant to type. An explicit appUrl (window.ClickstreamConfig) is used only without one.
  var base = (cfg.appUrl || "").replace(/\/$/, "");
  var endpoint = (cfg.proxyPath ? cfg.proxyPath.replace(/\/$/, "") : base) + "/events/";
  var MAX = 20, WAIT = 3000, OUTBOX = "cs_outbox", VID = "cs_vid";
  /** @type {any[]} */
  var queue = [], timer = 0, backoff = 0, sending = false;
  /** @type {Array<(reply: any) => void>} */
  var listeners = [];

  function privacy() { var s = /** @type {any} */ (w).Shopify; return s && s.customerPrivacy; }
  /** Consent: allowed unless the Customer Privacy API says no. With the shop's consent mode
   * `not_required`, only an explicit "no" from the visitor stops tracking. */
  function allowed() {
    var p = privacy();
    if (p && cfg.consentMode === "not_required" && p.currentVisitorConsent) return p.currentVisitorConsent().analytics !== "no";
    if (p && p.analyticsProcessingAllowed) return !!p.analyticsProcessingAllowed();
    return !cfg.cookieless;
  }
  function storage() {
    if (!allowed()) return null;
    try { ls = w.localStorage; ls.setItem("cs_t", "1"); return ls; } catch (e) { return null; }
  }
  function uuid() {
    var c = w.crypto;
    if (c && c.randomUUID) return c.randomUUID();
    return "10000000-1000-4000-8000-100000000000".replace(/[018]/g, function (x) {
      var n = +x; return (n ^ (c.getRandomValues(new Uint8Array(1))[0] & (15 >> (n / 4)))).toString(16);
    });
  }
  var memoryVid = "v-" + uuid(), vidCookie = false;
  function visitorId() {
    var s = storage();
    if (!s) return memoryVid;
    var v = s.getItem(VID);
    if (!v) { v = memoryVid; s.setItem(VID, v); }
    // the web pixel (Shopify's sandbox cannot read our localStorage) takes the same id from a cookie
    if (!vidCookie) { vidCookie = true; d.cookie = "_cs_vid=" + v + "; path=/; max-age=31536000; samesite=lax"; }
    return v;
  }
  /** @returns {any[]} */
  function outbox() { var s = storage(); try { return s ? JSON.parse(s.getItem(OUTBOX) || "[]") : []; } catch (e) { return []; } }
  /** @param {any[]} boxes */
  function saveOutbox(boxes) { var s = storage(); if (s) s.setItem(OUTBOX, JSON.stringify(boxes.slice(-200))); }

  /**
   * Record an event.
   * @param {string} type
   * @param {Record<string, any>=} props
   * @param {Record<string, any>=} extra
   */
  function track(type, props, extra) {
    var e = Object.assign({
      id: uuid(), type: type, ts: Date.now(), visitor_id: visitorId(),
      url: location.href, referrer: d.referrer || null,
      props: Object.assign({ page_type: cfg.pageType || null }, props || {})
    }, extra || {});
    queue.push(e);
    if (queue.length >= MAX) flush(); else if (!timer) timer = w.setTimeout(flush, WAIT);
  }

  /** Move the queue into the outbox as one batch (so a crash or a closed tab keeps it). */
  function seal() {
    w.clearTimeout(timer); timer = 0;
    if (!queue.length) return null;
    var batch = { id: uuid(), events: queue.splice(0, MAX) };
    if (!storage()) return batch;
    var boxes = outbox(); boxes.push(batch); saveOutbox(boxes);
    return batch;
  }
  /** @param {string} id */
  function acknowledge(id) { saveOutbox(outbox().filter(function (b) { return b.id !== id; })); }
  /** @type {any} */
  var unread = null;
  /** Hand the collector's answer (e.g. a notification) to listeners; keep it for a late one. @param {any} reply */
  function deliver(reply) {
    if (!listeners.length) { if (reply && reply.notification) unread = reply; return; }
    listeners.forEach(function (f) { try { f(reply); } catch (e) { /* a listener's bug is its own */ } });
  }
  /** @param {any} batch */
  function body(batch) { return JSON.stringify({ shop: cfg.shop, sent_at: Date.now(), events: batch.events }); }

  function flush() {
    var fresh = seal();
    if (!allowed()) { queue = []; return; }
    var boxes = storage() ? outbox() : (fresh ? [fresh] : []);
    if (sending || !boxes.length) return;
    var batch = boxes[0];
    sending = true;
    fetch(endpoint, { method: "POST", body: body(batch), keepalive: true, headers: { "Content-Type": "text/plain" } })
      .then(function (r) {
        sending = false;
        if (r.status === 429 || r.status >= 500) throw new Error("retry");
        acknowledge(batch.id); backoff = 0;
        if (r.ok) r.json().then(deliver, function () {});
        if (outbox().length) w.setTimeout(flush, 0);
      })
      .catch(function () {
        sending = false;
        if (!storage() && fresh) { queue = fresh.events.concat(queue); }
        backoff = Math.min(backoff ? backoff * 2 : 1000, 60000);
        w.setTimeout(flush, backoff);
      });
  }

  /** Page is going away: hand what is left to sendBeacon (still kept until acknowledged). */
  function leave() {
    seal();
    if (!allowed() || !navigator.sendBeacon) return;
    outbox().slice(0, 3).forEach(function (b) { navigator.sendBeacon(endpoint, new Blob([body(b)], { type: "text/plain" })); });
  }

  // Add to cart: fetch/XHR calls to /cart/add(.js) and classic form posts.
  var ADD = /\/cart\/add(\.js)?(\?|$)/;
  /** @param {any} payload */
  function carted(payload) {
    var id = payload && (payload.product_id || payload.id || (payload.items && payload.items[0] && payload.items[0].id));
    track("add_to_cart", { quantity: +(payload && payload.quantity) || 1, variant_id: id || null }, { product_id: cfg.productId || null });
  }
  /** @param {any} b */
  function parse(b) {
    if (!b) return {};
    if (typeof b === "string") { try { return JSON.parse(b); } catch (e) { return Object.fromEntries(new URLSearchParams(b)); } }
    if (b instanceof FormData) return Object.fromEntries(/** @type {any} */ (b));
    return {};
  }
  var ofetch = w.fetch;
  w.fetch = function (input, init) {
    var url = typeof input === "string" ? input : (input && /** @type {any} */ (input).url) || "";
    if (ADD.test(url)) carted(parse(init && init.body));
    return ofetch.apply(this, /** @type {any} */ (arguments));
  };
  var oopen = XMLHttpRequest.prototype.open, osend = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.open = function (m, url) { /** @type {any} */ (this)._cs = ADD.test(String(url)); return oopen.apply(this, /** @type {any} */ (arguments)); };
  XMLHttpRequest.prototype.send = function (b) { if (/** @type {any} */ (this)._cs) carted(parse(b)); return osend.apply(this, /** @type {any} */ (arguments)); };
  // Last in the bubble phase: a theme that takes the submit over (preventDefault + AJAX) is
  // already counted through fetch/XHR; only a real form post is counted here.
  w.addEventListener("submit", function (ev) {
    var f = /** @type {HTMLFormElement} */ (ev.target);
    if (!ev.defaultPrevented && f && f.action && ADD.test(f.action)) carted(parse(new FormData(f)));
  });

  function pageEvents() {
    var t = cfg.pageType, q = new URLSearchParams(location.search).get("q");
    if (t === "product" && cfg.productId) track("product_view", {}, { product_id: cfg.productId });
    else if (t === "collection") track("collection_view", { collection_id: cfg.collectionId || null });
    else if (t === "checkout") track("checkout_started");
    else if (t === "search" || q) track("search", { query: q || "" });
    else track("page_view");
  }
  // Single-page navigation.
  ["pushState", "replaceState"].forEach(function (name) {
    var h = /** @type {any} */ (history), orig = h[name];
    h[name] = function () { var r = orig.apply(this, arguments); if (name === "pushState") track("page_view"); return r; };
  });
  w.addEventListener("popstate", function () { track("page_view"); });
  w.addEventListener("pagehide", leave);
  d.addEventListener("visibilitychange", function () { if (d.visibilityState === "hidden") leave(); });
  w.addEventListener("online", flush);
  d.addEventListener("visitorConsentCollected", function () { flush(); });

  // Join orders back to the visit: the visitor id in the cart attributes (once per tab session).
  function tagCart() {
    if (!allowed() || !cfg.cartUrl && !cfg.shop) return;
    try { if (sessionStorage.getItem("cs_cart")) return; sessionStorage.setItem("cs_cart", "1"); } catch (e) { return; }
    ofetch((cfg.cartUrl || "/cart") + "/update.js", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ attributes: { _clickstream_visitor: visitorId() } })
    }).catch(function () {});
  }

  // Who the shopper is comes only from Shopify: through the app proxy, which signs the logged-in
  // customer, the app hands out a short-lived token for this visitor; the identify event carries
  // it, and the collector links the visitor to the customer only when it verifies. Once per tab.
  function identify() {
    var who = cfg.customerId, mark = who + ":" + visitorId();
    if (!who || !allowed()) return;
    try { if (sessionStorage.getItem("cs_id") === mark) return; } catch (e) { return; }
    /** @param {any} a */
    var send = function (a) {
      try { sessionStorage.setItem("cs_id", mark); } catch (e) { /* asked again on the next page */ }
      track("identify", {}, { customer_id: who, identity_token: (a && a.token) || null });
    };
    if (!cfg.proxyPath) return send(null);
    ofetch(cfg.proxyPath.replace(/\/$/, "") + "/identity?visitor_id=" + encodeURIComponent(visitorId()), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; }).then(send, function () {});
  }

  /** @param {string} file */
  function load(file) { var s = d.createElement("script"); s.src = (cfg.assetsUrl || base + "/storefront/") + file; s.defer = true; d.head.appendChild(s); }

  /** @type {any} */ (w).Clickstream = {
    track: track, flush: flush, visitorId: visitorId, config: cfg,
    /** @param {(reply: any) => void} f */ onReply: function (f) { listeners.push(f); if (unread) { var r = unread; unread = null; deliver(r); } }
  };
  // The theme's own work comes first: ours runs when the browser is idle, in small tasks.
  /** @param {() => void} then */
  function idle(then) { if (w.requestIdleCallback) w.requestIdleCallback(then, { timeout: 2000 }); else w.setTimeout(then, 1); }
  idle(function () {
    pageEvents();
    identify();
    idle(function () { if (outbox().length) flush(); tagCart(); });
  });
  var later = function () {
    if (d.querySelector("[data-clickstream-widget]")) load("clickstream-widgets.js");
    load("clickstream-notify.js");
  };
  if (d.readyState === "complete") later(); else w.addEventListener("load", later);
})();
