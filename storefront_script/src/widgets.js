// @ts-check
/**
 * Clickstream recommendation widgets: fills each `[data-clickstream-widget]` mount (rendered by
 * the theme's Recommendations app block) with products from GET /api/<widget>/ when it comes
 * near the viewport, and records what the shopper saw and clicked for attribution:
 * `widget_impression` once the products are visible, `widget_click` on a product, both carrying
 * the widget, the visitor's experiment arm and the experiment. A holdout visitor sees nothing, and
 * its `widget_impression` (no products) says the widget would have been shown: the experiment
 * results count exposures of both arms from these events.
 *
 * Nothing on the page moves: the block renders the widget's frame at its final size (its styles
 * are in the block), the products fill it in place, and the mount keeps the frame's height. A
 * widget with nothing to show leaves its space empty while it is on screen and gives it back only
 * when it is below the viewport, where nothing the shopper sees can shift. Work happens when the
 * browser is idle, in one small task per widget.
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
  /** @type {Intl.NumberFormat | null} */
  var formatter = null;

  /** Run `then` when the browser is idle (soon at the latest). @param {() => void} then */
  function idle(then) {
    if (w.requestIdleCallback) w.requestIdleCallback(then, { timeout: 1000 }); else w.setTimeout(then, 1);
  }

  /** @param {string} tag @param {string} className @param {string=} text */
  function el(tag, className, text) {
    var e = d.createElement(tag);
    e.className = className;
    if (text) e.textContent = text;
    return e;
  }

  /** @param {string} price */
  function money(price) {
    if (!price) return "";
    try {
      formatter = formatter || new Intl.NumberFormat(undefined, { style: "currency", currency: cfg.currency || "USD" });
      return formatter.format(+price);
    } catch (e) { return price; }
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

  /** One product, the same boxes as the frame's placeholder. @param {any} answer @param {any} p @param {number} i */
  function item(answer, p, i) {
    var li = d.createElement("li"), link = /** @type {HTMLAnchorElement} */ (el("a", ""));
    link.href = root + p.url;
    link.setAttribute("data-product-id", p.product_id);
    var img = /** @type {HTMLImageElement} */ (el(p.image ? "img" : "span", "cs-img"));
    if (p.image) { img.src = p.image; img.alt = p.title; img.loading = "lazy"; img.decoding = "async"; }
    link.appendChild(img);
    link.appendChild(el("div", "cs-title", p.title));
    link.appendChild(el("div", "cs-price", money(p.price)));
    link.addEventListener("click", function () {
      cs.track("widget_click", Object.assign(about(answer), { position: i + 1 }), { product_id: p.product_id });
      cs.flush();
    });
    li.appendChild(link);
    return li;
  }

  /** @param {HTMLElement} mount @param {any} answer */
  function render(mount, answer) {
    var products = (answer && answer.products) || [];
    if (!products.length) {
      if (answer && answer.arm === "holdout") cs.track("widget_impression", Object.assign(about(answer), { products: [] }));
      giveBack(mount);
      return;
    }
    var section = el("section", "cs-recs"), heading = el("h2", "", mount.getAttribute("data-title") || ""), list = el("ul", "");
    var id = "cs-recs-" + Math.random().toString(36).slice(2);
    heading.id = id;
    section.setAttribute("aria-labelledby", id);
    section.setAttribute("data-arm", answer.arm);
    products.forEach(/** @param {any} p @param {number} i */ function (p, i) { list.appendChild(item(answer, p, i)); });
    section.appendChild(heading);
    section.appendChild(list);
    // Fewer products than placeholders must not shrink the frame: what follows would move up.
    if (products.length < mount.querySelectorAll(".cs-recs-frame li").length) keepHeight(mount);
    mount.replaceChildren(section);
    watch(section, function () {
      cs.track("widget_impression", Object.assign(about(answer), {
        products: products.map(/** @param {any} p */ function (p) { return p.product_id; })
      }));
    }, "0px");
  }

  /** @param {HTMLElement} mount */
  function keepHeight(mount) { mount.style.minHeight = mount.getBoundingClientRect().height + "px"; }

  /** Nothing to show: empty the frame, and give its space back once it is below the viewport. @param {HTMLElement} mount */
  function giveBack(mount) {
    keepHeight(mount);
    mount.replaceChildren();
    if (!("IntersectionObserver" in w)) return;
    var below = new IntersectionObserver(function (entries) {
      var e = entries[entries.length - 1];
      if (!e.isIntersecting && e.boundingClientRect.top >= (e.rootBounds ? e.rootBounds.bottom : w.innerHeight)) {
        below.disconnect();
        mount.hidden = true;
      }
    });
    below.observe(mount);
  }

  /** @param {HTMLElement} mount */
  function load(mount) {
    fetch(url(mount), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (answer) { idle(function () { render(mount, answer); }); })
      .catch(function () { idle(function () { giveBack(mount); }); });
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
