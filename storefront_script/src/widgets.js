// @ts-check
/**
 * Clickstream recommendation widgets: fills each `[data-clickstream-widget]` mount (rendered by
 * the theme's Recommendations app block) with products from GET /api/<widget>/ when it comes
 * near the viewport, and records what the shopper saw and clicked for attribution:
 * `widget_impression` once the products are visible, `widget_click` on a product, both carrying
 * the widget, the visitor's experiment arm and the experiment. A holdout visitor sees nothing.
 * Themable with CSS variables: --cs-widget-columns, --cs-widget-gap, --cs-accent, --cs-text,
 * --cs-radius, --cs-image-ratio.
 */
(function () {
  "use strict";
  var w = /** @type {any} */ (window), d = document;
  if (!w.Clickstream || w.ClickstreamWidgets) return;
  var cs = w.Clickstream, cfg = cs.config || {};
  w.ClickstreamWidgets = true;
  /** @type {Record<string, string>} */
  var ROUTES = { pick_up: "pick_up_where_you_left_off" };
  var base = cfg.proxyPath || (cfg.appUrl || "").replace(/\/$/, "");
  var root = (cfg.root || "/").replace(/\/$/, "");

  var css = ".cs-recs{margin:24px 0;font:inherit;color:var(--cs-text,inherit)}" +
    ".cs-recs h2{font-size:1.25em;margin:0 0 12px}" +
    ".cs-recs ul{list-style:none;margin:0;padding:0;display:grid;gap:var(--cs-widget-gap,16px);" +
    "grid-template-columns:repeat(var(--cs-widget-columns,4),minmax(0,1fr))}" +
    ".cs-recs a{display:block;color:inherit;text-decoration:none;border-radius:var(--cs-radius,8px)}" +
    ".cs-recs a:focus-visible{outline:2px solid var(--cs-accent,#2c6ecb);outline-offset:2px}" +
    ".cs-recs img{width:100%;aspect-ratio:var(--cs-image-ratio,1);object-fit:cover;border-radius:var(--cs-radius,8px);background:#f4f4f4}" +
    ".cs-recs .cs-price{color:var(--cs-accent,inherit);font-weight:600}" +
    "@media (max-width:700px){.cs-recs ul{grid-template-columns:repeat(2,minmax(0,1fr))}}";

  /** @param {string} tag @param {string=} text */
  function el(tag, text) { var e = d.createElement(tag); if (text) e.textContent = text; return e; }

  /** @param {string} price */
  function money(price) {
    try { return new Intl.NumberFormat(undefined, { style: "currency", currency: cfg.currency || "USD" }).format(+price); }
    catch (e) { return price; }
  }

  /** @param {HTMLElement} mount */
  function url(mount) {
    var name = mount.getAttribute("data-clickstream-widget") || "";
    var q = new URLSearchParams({ visitor_id: cs.visitorId() });
    // Through the app proxy Shopify adds (and signs) the shop itself.
    if (!cfg.proxyPath) q.set("shop", mount.getAttribute("data-shop") || cfg.shop);
    ["product-id", "collection-id", "limit"].forEach(function (k) {
      var v = mount.getAttribute("data-" + k);
      if (v) q.set(k.replace("-", "_"), v);
    });
    return base + "/api/" + (ROUTES[name] || name) + "/?" + q.toString();
  }

  /** @param {any} answer */
  function about(answer) { return { widget: answer.widget, arm: answer.arm, experiment: answer.experiment }; }

  /** @param {HTMLElement} mount @param {any} answer */
  function render(mount, answer) {
    if (!answer.products || !answer.products.length) return;
    if (!d.getElementById("cs-recs-style")) { var s = el("style", css); s.id = "cs-recs-style"; d.head.appendChild(s); }
    var section = el("section"), heading = el("h2", mount.getAttribute("data-title") || ""), list = el("ul");
    var id = "cs-recs-" + Math.random().toString(36).slice(2);
    section.className = "cs-recs";
    heading.id = id;
    section.setAttribute("aria-labelledby", id);
    section.setAttribute("data-arm", answer.arm);
    answer.products.forEach(/** @param {any} p @param {number} i */ function (p, i) {
      var item = el("li"), link = /** @type {HTMLAnchorElement} */ (el("a"));
      link.href = root + p.url;
      link.setAttribute("data-product-id", p.product_id);
      if (p.image) {
        var img = /** @type {HTMLImageElement} */ (el("img"));
        img.src = p.image; img.alt = p.title; img.loading = "lazy";
        link.appendChild(img);
      }
      link.appendChild(el("div", p.title));
      if (p.price) link.appendChild(el("div", money(p.price))).className = "cs-price";
      link.addEventListener("click", function () {
        cs.track("widget_click", Object.assign(about(answer), { position: i + 1 }), { product_id: p.product_id });
        cs.flush();
      });
      item.appendChild(link);
      list.appendChild(item);
    });
    section.appendChild(heading);
    section.appendChild(list);
    mount.replaceChildren(section);
    watch(section, function () {
      cs.track("widget_impression", Object.assign(about(answer), {
        products: answer.products.map(/** @param {any} p */ function (p) { return p.product_id; })
      }));
    }, "0px");
  }

  /** @param {HTMLElement} mount */
  function load(mount) {
    fetch(url(mount), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (answer) { if (answer) render(mount, answer); })
      .catch(function () { /* no widget rather than a broken page */ });
  }

  /** Run `then` once when `node` comes within `margin` of the viewport. @param {Element} node @param {() => void} then @param {string} margin */
  function watch(node, then, margin) {
    if (!("IntersectionObserver" in w)) { then(); return; }
    var seen = new IntersectionObserver(function (entries) {
      if (entries.some(function (e) { return e.isIntersecting; })) { seen.disconnect(); then(); }
    }, { rootMargin: margin });
    seen.observe(node);
  }

  d.querySelectorAll("[data-clickstream-widget]").forEach(function (mount) {
    var m = /** @type {HTMLElement} */ (mount);
    if (m.getAttribute("data-cs-loaded")) return;
    m.setAttribute("data-cs-loaded", "1");
    watch(m, function () { load(m); }, "300px");
  });
})();
