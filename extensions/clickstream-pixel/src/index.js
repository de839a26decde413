// @ts-check
// Clickstream web pixel: maps Shopify's standard customer events to the collector's wire format
// (POST /events/, text/plain so no CORS preflight). Runs in Shopify's strict sandbox; Shopify
// loads it only with analytics consent, and we stop sending if consent is withdrawn.
import {register} from '@shopify/web-pixels-extension';

/** @type {Record<string, string>} Shopify standard event -> Clickstream event type */
const EVENT_TYPES = {
  page_viewed: 'page_view',
  product_viewed: 'product_view',
  collection_viewed: 'collection_view',
  search_submitted: 'search',
  product_added_to_cart: 'add_to_cart',
  product_removed_from_cart: 'remove_from_cart',
  checkout_started: 'checkout_started',
  checkout_completed: 'purchase',
};

/** @param {string | undefined} gid */
function numericId(gid) {
  return gid ? String(gid).split('/').pop() || null : null;
}

/** @param {any} event */
function propsOf(event) {
  const checkout = event.data && event.data.checkout;
  if (event.name === 'checkout_completed' && checkout) {
    return {
      order_id: numericId(checkout.order && checkout.order.id),
      value: checkout.totalPrice && checkout.totalPrice.amount,
      currency: checkout.currencyCode,
      items: (checkout.lineItems || []).map((/** @type {any} */ line) => ({
        product_id: numericId(line.variant && line.variant.product && line.variant.product.id),
        quantity: line.quantity,
        price: line.variant && line.variant.price && line.variant.price.amount,
      })),
    };
  }
  if (event.name === 'search_submitted') {
    return {query: event.data.searchResult && event.data.searchResult.query};
  }
  return {};
}

/** @param {any} event */
function productIdOf(event) {
  const data = event.data || {};
  const variant = data.productVariant || (data.cartLine && data.cartLine.merchandise);
  return numericId(variant && variant.product && variant.product.id);
}

register(({analytics, browser, init, settings, customerPrivacy}) => {
  let allowed = init.customerPrivacy ? init.customerPrivacy.analyticsProcessingAllowed : true;
  customerPrivacy.subscribe('visitorConsentCollected', (event) => {
    allowed = event.customerPrivacy.analyticsProcessingAllowed;
  });
  const shop = init.data.shop.myshopifyDomain;
  const endpoint = String(settings.appUrl).replace(/\/$/, '') + '/events/';

  analytics.subscribe('all_standard_events', async (event) => {
    const type = EVENT_TYPES[event.name];
    if (!type || !allowed) return;
    // The storefront tracker keeps the visitor id in the cart attributes and a first-party cookie.
    const visitorId = (await browser.cookie.get('_clickstream_vid')) || event.clientId;
    const customer = init.data.customer;
    const payload = {
      shop,
      sent_at: Date.now(),
      events: [
        {
          id: event.id,
          type,
          ts: Date.parse(event.timestamp),
          visitor_id: visitorId,
          customer_id: customer ? numericId(customer.id) : null,
          url: event.context && event.context.document ? event.context.document.location.href : null,
          referrer: event.context && event.context.document ? event.context.document.referrer : null,
          product_id: productIdOf(event),
          props: {...propsOf(event), source: 'web_pixel'},
        },
      ],
    };
    browser.sendBeacon(endpoint, JSON.stringify(payload));
  });
});
