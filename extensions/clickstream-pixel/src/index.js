// @ts-check
// Clickstream web pixel: Shopify's standard customer events in the collector's wire format
// (POST /events/, text/plain so no CORS preflight). It runs in Shopify's strict sandbox (a Web
// Worker). Events are batched (up to MAX_BATCH, or WAIT ms after the first), sent with fetch
// keepalive (browser.sendBeacon where fetch is missing), and a batch that fails (network, 429,
// 5xx) is sent again after 1, 2, 4 and 8 seconds, then dropped. Shopify loads the pixel only with
// analytics consent (shopify.extension.toml); it also follows `init.customerPrivacy` and the
// visitor's later decisions, and while analytics is not allowed nothing is kept or sent.
import {register} from '@shopify/web-pixels-extension';

/** @type {Record<string, string>} Shopify standard event -> Clickstream event type */
const EVENT_TYPES = {
  page_viewed: 'page_view',
  product_viewed: 'product_view',
  collection_viewed: 'collection_view',
  search_submitted: 'search',
  cart_viewed: 'cart_view',
  product_added_to_cart: 'add_to_cart',
  product_removed_from_cart: 'remove_from_cart',
  checkout_started: 'checkout_started',
  checkout_contact_info_submitted: 'checkout_contact',
  checkout_address_info_submitted: 'checkout_address',
  checkout_shipping_info_submitted: 'checkout_shipping',
  payment_info_submitted: 'checkout_payment',
  checkout_completed: 'purchase',
  alert_displayed: 'alert_displayed',
  ui_extension_errored: 'ui_extension_errored',
};
const MAX_BATCH = 20;
const MAX_QUEUE = 100; // beyond this the oldest events go: the collector is unreachable anyway
const WAIT = 1000;
const RETRIES = 4;
// The embed's tracker writes its visitor id here too, so both collectors name one visitor.
const VISITOR_COOKIE = '_cs_vid';
const VISITOR_KEY = /^[!-~]{1,64}$/;

/** @param {any} gid a Shopify id, plain ("123") or global ("gid://shopify/Product/123") */
function numericId(gid) {
  const id = gid ? String(gid).split('/').pop() : '';
  return id && /^[0-9]{1,19}$/.test(id) ? id : null;
}

/** @param {any} money a MoneyV2 */
function amount(money) {
  return money && typeof money.amount === 'number' && isFinite(money.amount) ? money.amount : null;
}

/** @param {any} text @param {number} limit */
function short(text, limit) {
  return typeof text === 'string' ? text.slice(0, limit) : null;
}

/** The checkout's token, total and lines; never the buyer's contact, address or payment. */
function checkoutProps(/** @type {any} */ checkout) {
  return {
    checkout_token: short(checkout.token, 64),
    value: amount(checkout.totalPrice),
    currency: checkout.currencyCode || null,
    items: (checkout.lineItems || []).slice(0, 100).map((/** @type {any} */ line) => ({
      product_id: numericId(line.variant && line.variant.product && line.variant.product.id),
      variant_id: numericId(line.variant && line.variant.id),
      quantity: line.quantity,
      price: amount(line.variant && line.variant.price),
    })),
  };
}

/** The product and props of one standard event. @param {any} event */
function detailsOf(event) {
  const data = event.data || {};
  const variant = data.productVariant || (data.cartLine && data.cartLine.merchandise);
  const product = numericId(variant && variant.product && variant.product.id);
  /** @type {Record<string, any>} */
  let props = {};
  if (data.checkout) {
    props = checkoutProps(data.checkout);
    if (event.name === 'checkout_completed') props.order_id = numericId(data.checkout.order && data.checkout.order.id);
  } else if (data.cartLine) {
    props = {
      quantity: data.cartLine.quantity,
      variant_id: numericId(variant && variant.id),
      price: amount(variant && variant.price),
      currency: variant && variant.price ? variant.price.currencyCode : null,
    };
  } else if (data.productVariant) {
    props = {variant_id: numericId(variant.id), price: amount(variant.price)};
  } else if (data.collection) {
    props = {collection_id: numericId(data.collection.id)};
  } else if (data.searchResult) {
    props = {query: short(data.searchResult.query, 256) || ''};
  } else if (data.cart !== undefined) {
    const cart = data.cart || {};
    props = {value: amount(cart.cost && cart.cost.totalAmount), lines: (cart.lines || []).length};
  } else if (data.alert) {
    // an alert's `value` is what the buyer typed: left out
    props = {alert_type: data.alert.type, target: short(data.alert.target, 256), message: short(data.alert.message, 256)};
  } else if (data.error) {
    const error = data.error;
    props = {
      error_type: error.type,
      app_name: short(error.appName, 128),
      extension_name: short(error.extensionName, 128),
      extension_target: short(error.extensionTarget, 128),
      message: short(error.message, 256),
    };
  }
  return {product, props: {...props, source: 'web_pixel'}};
}

register(({analytics, browser, init, settings, customerPrivacy}) => {
  let allowed = init.customerPrivacy ? init.customerPrivacy.analyticsProcessingAllowed !== false : true;
  /** @type {any[]} */
  let queue = [];
  /** @type {any} */
  let timer = null;
  let sending = false;
  const shop = init.data.shop.myshopifyDomain;
  const endpoint = String(settings.appUrl).replace(/\/$/, '') + '/events/';
  const customer = init.data.customer ? numericId(init.data.customer.id) : null;

  customerPrivacy.subscribe('visitorConsentCollected', (event) => {
    allowed = event.customerPrivacy.analyticsProcessingAllowed;
    if (!allowed) queue = []; // declined: what was not sent yet is not sent
  });

  async function visitorId(/** @type {string} */ clientId) {
    let id = '';
    try {
      id = await browser.cookie.get(VISITOR_COOKIE);
    } catch (e) {
      id = '';
    }
    return id && VISITOR_KEY.test(id) ? id : clientId;
  }

  /** One attempt: true when the collector answered (a 4xx too: sending it again would not help). */
  async function post(/** @type {string} */ body) {
    if (typeof fetch !== 'function') return browser.sendBeacon(endpoint, body);
    try {
      const response = await fetch(endpoint, {method: 'POST', body, keepalive: true, headers: {'Content-Type': 'text/plain'}});
      return response.status < 500 && response.status !== 429;
    } catch (e) {
      return false;
    }
  }

  function later(/** @type {number} */ wait) {
    if (timer && wait) return;
    clearTimeout(timer);
    timer = setTimeout(flush, wait);
  }

  async function flush() {
    timer = null;
    if (sending || !queue.length) return;
    sending = true;
    const batch = queue.splice(0, MAX_BATCH);
    for (let attempt = 0; allowed; attempt++) {
      if (await post(JSON.stringify({shop, sent_at: Date.now(), events: batch}))) break;
      if (attempt === RETRIES) break;
      await new Promise((resolve) => setTimeout(resolve, 1000 * 2 ** attempt));
    }
    sending = false;
    if (queue.length) later(0);
  }

  analytics.subscribe('all_standard_events', async (event) => {
    const type = EVENT_TYPES[event.name];
    if (!type || !allowed) return;
    const {product, props} = detailsOf(event);
    const document = event.context && event.context.document;
    const visitor = await visitorId(event.clientId);
    if (!allowed) return;
    queue.push({
      id: event.id,
      type,
      ts: Date.parse(event.timestamp) || Date.now(),
      visitor_id: visitor,
      customer_id: customer,
      url: document && document.location ? short(document.location.href, 2048) : null,
      referrer: document ? short(document.referrer, 2048) : null,
      product_id: product,
      props,
    });
    if (queue.length > MAX_QUEUE) queue.splice(0, queue.length - MAX_QUEUE);
    // a purchase may be the last thing this page does: it goes at once
    later(type === 'purchase' || queue.length >= MAX_BATCH ? 0 : WAIT);
  });
});
