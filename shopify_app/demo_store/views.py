"""The demo storefront: a small Shopify-like theme around the demo shop's catalog.

Pages include the real app embed block and recommendation blocks (rendered from
`extensions/`), so the tracker and widgets run exactly as on a Shopify theme. The cart and the
signed-in customer live in the Flask session; `?customer=ID` signs a customer in. `?app=off`
renders a page as the theme alone (no app embed, no app blocks), to measure what the app costs.
Shopify's app proxy is simulated at `/demo/store/apps/clickstream/`: like Shopify, it adds the
shop, the signed-in customer (`logged_in_customer_id`), `path_prefix` and `timestamp` to the query,
signs it with the app secret and forwards it to `/proxy/...` (never in production).
"""

from __future__ import annotations

import hashlib
import time
import uuid
from decimal import Decimal
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import select

from shopify_app.core.app_proxy import SHOPIFY_ADDS, app_proxy_signature
from shopify_app.core.auth import app_secrets
from shopify_app.core.extensions import db
from shopify_app.core.models import Collection, CollectionProduct, Product, Shop
from shopify_app.demo import DEMO_SHOP_DOMAIN
from shopify_app.demo_store.theme import render_block, settings_of
from shopify_app.platform.storefront_settings import NAMESPACE, storefront_values

bp = Blueprint("demo_store", __name__, url_prefix="/demo/store", template_folder="templates")
PURCHASE_NAMESPACE = uuid.UUID("0f4b3c1e-6a52-4b59-a0f5-4d1d3f6c2b77")
PROXY_PREFIX = "/apps/clickstream"  # shopify.app.toml's [app_proxy] prefix and subpath


def demo_shop() -> Shop:
    shop = db.session.execute(select(Shop).where(Shop.domain == DEMO_SHOP_DOMAIN)).scalar_one_or_none()
    if shop is None:
        abort(404, description="the demo shop is not seeded: run `clickstream demo`")
    return shop


def _sellable(shop: Shop) -> Any:
    return select(Product).where(
        Product.shop_id == shop.id, Product.published.is_(True), Product.deleted_at.is_(None)
    )


def _collections(shop: Shop) -> list[Collection]:
    query = select(Collection).where(Collection.shop_id == shop.id, Collection.deleted_at.is_(None))
    return list(db.session.execute(query.order_by(Collection.title)).scalars())


def _cart() -> dict[str, int]:
    cart: dict[str, int] = session.setdefault("demo_cart", {})
    return cart


def _customer_id() -> int | None:
    if "customer" in request.args:
        value = request.args.get("customer", "")
        session["demo_customer"] = int(value) if value.isdigit() else None
    customer: int | None = session.get("demo_customer")
    return customer


def _app_on() -> bool:
    """Whether this page is rendered with the app: `?app=off` renders the theme alone."""
    return request.args.get("app") != "off"


def _widget(
    kind: str, title: str, *, product: Product | None = None, collection: Collection | None = None
) -> str:
    if not _app_on():
        return ""
    settings = {**settings_of("recommendations"), "widget": kind, "title": title, "product_count": 6}
    return render_block(
        "recommendations",
        shop={"permanent_domain": DEMO_SHOP_DOMAIN},
        block={"settings": settings, "shopify_attributes": ""},
        product={"id": product.shopify_id} if product else None,
        collection={"id": collection.shopify_id} if collection else None,
    )


def _page(
    template: str,
    page_type: str,
    *,
    product: Product | None = None,
    collection: Collection | None = None,
    **values: Any,
) -> str:
    shop = demo_shop()
    customer = _customer_id()
    embed = render_block(
        "app-embed",
        shop={"permanent_domain": shop.domain},
        block={
            "settings": {
                **settings_of("app-embed"),
                "proxy_path": url_for("demo_store.home") + PROXY_PREFIX.lstrip("/"),
            }
        },
        request={"page_type": page_type},
        product={"id": product.shopify_id} if product else None,
        collection={"id": collection.shopify_id} if collection else None,
        customer={"id": customer} if customer else None,
        cart={"currency": {"iso_code": shop.currency or "USD"}},
        routes={"cart_url": url_for("demo_store.cart"), "root_url": url_for("demo_store.home").rstrip("/")},
        app={"metafields": {NAMESPACE: storefront_values(shop.settings or {})}},
    )
    return render_template(
        template,
        app_embed=embed if _app_on() else "",
        collections=_collections(shop),
        cart_count=sum(_cart().values()),
        customer_id=customer,
        product=product,
        **values,
    )


@bp.get("/")
def home() -> str:
    """Home page: crowd favourites, a featured collection ranked for this visitor, pick up where you left off."""
    shop = demo_shop()
    featured = next(iter(_collections(shop)), None)
    widgets = "".join(
        [
            _widget("crowd_favorites", "Crowd favorites"),
            _widget(
                "featured_collection",
                f"Featured: {featured.title}" if featured else "Featured",
                collection=featured,
            ),
            _widget("pick_up", "Pick up where you left off"),
        ]
    )
    products = db.session.execute(_sellable(shop).order_by(Product.id).limit(12)).scalars().all()
    return _page("demo_store/home.html", "index", title="Home", products=products, widgets=widgets)


@bp.get("/collections/<handle>")
def collection(handle: str) -> str:
    shop = demo_shop()
    found = db.session.execute(
        select(Collection).where(Collection.shop_id == shop.id, Collection.handle == handle)
    ).scalar_one_or_none()
    if found is None:
        abort(404)
    products = (
        db.session.execute(
            _sellable(shop)
            .join(CollectionProduct, CollectionProduct.product_id == Product.id)
            .where(CollectionProduct.collection_id == found.id)
            .order_by(CollectionProduct.position)
            .limit(24)
        )
        .scalars()
        .all()
    )
    widgets = _widget("featured_collection", "Picked for you", collection=found)
    return _page(
        "demo_store/listing.html",
        "collection",
        collection=found,
        title=found.title,
        heading=found.title,
        products=products,
        widgets=widgets,
    )


@bp.get("/products/<handle>")
def product(handle: str) -> str:
    shop = demo_shop()
    found = db.session.execute(_sellable(shop).where(Product.handle == handle)).scalar_one_or_none()
    if found is None:
        abort(404)
    widgets = _widget("also_viewed", "Customers also viewed", product=found) + _widget(
        "also_bought", "Customers also bought", product=found
    )
    return _page("demo_store/product.html", "product", product=found, title=found.title, widgets=widgets)


@bp.get("/search")
def search() -> str:
    shop = demo_shop()
    query = request.args.get("q", "").strip()[:100]
    products: Any = []
    if query:
        products = (
            db.session.execute(_sellable(shop).where(Product.title.ilike(f"%{query}%")).limit(24))
            .scalars()
            .all()
        )
    return _page(
        "demo_store/listing.html",
        "search",
        title="Search",
        heading=f"Results for “{query}”",
        products=products,
        query=query,
        widgets="",
    )


def _lines(shop: Shop) -> tuple[list[dict[str, Any]], Decimal]:
    cart = _cart()
    ids = [int(key) for key in cart]
    products = (
        {
            p.shopify_id: p
            for p in db.session.execute(_sellable(shop).where(Product.shopify_id.in_(ids))).scalars()
        }
        if ids
        else {}
    )
    lines = []
    for key, quantity in cart.items():
        item = products.get(int(key))
        if item is not None:
            price = item.price or Decimal(0)
            lines.append(
                {
                    "product_id": item.shopify_id,
                    "title": item.title,
                    "quantity": quantity,
                    "price": price,
                    "total": price * quantity,
                }
            )
    return lines, sum((line["total"] for line in lines), Decimal(0))


@bp.get("/cart")
def cart() -> str:
    lines, total = _lines(demo_shop())
    return _page(
        "demo_store/cart.html",
        "cart",
        title="Cart",
        heading="Your cart",
        lines=lines,
        total=total,
        checkout=False,
    )


@bp.get("/checkout")
def checkout() -> str:
    lines, total = _lines(demo_shop())
    return _page(
        "demo_store/cart.html",
        "checkout",
        title="Checkout",
        heading="Checkout",
        lines=lines,
        total=total,
        checkout=True,
    )


def _add(product_id: Any, quantity: Any) -> dict[str, Any]:
    shop = demo_shop()
    try:
        key, count = int(product_id), max(int(quantity or 1), 1)
    except (TypeError, ValueError):
        abort(422, description="id and quantity must be numbers")
    exists = db.session.execute(_sellable(shop).where(Product.shopify_id == key)).scalar_one_or_none()
    if exists is None:
        abort(404, description="no such product")
    cart = _cart()
    cart[str(key)] = cart.get(str(key), 0) + count
    session.modified = True
    return {"item_count": sum(cart.values()), "id": key, "quantity": cart[str(key)]}


@bp.post("/cart/add.js")
def cart_add() -> Response:
    """Shopify's AJAX cart API shape: JSON `{id, quantity}`."""
    body = request.get_json(silent=True) or request.form
    return jsonify(_add(body.get("id"), body.get("quantity")))


@bp.post("/cart/add")
def cart_add_form() -> Any:
    """The classic form post of a theme without JavaScript."""
    _add(request.form.get("id"), request.form.get("quantity"))
    return redirect(url_for("demo_store.cart"))


@bp.post("/cart/update.js")
def cart_update() -> Response:
    """Cart attributes (the tracker writes `_clickstream_visitor` here)."""
    body = request.get_json(silent=True) or {}
    attributes: dict[str, Any] = body["attributes"] if isinstance(body.get("attributes"), dict) else {}
    session["demo_cart_attributes"] = {**session.get("demo_cart_attributes", {}), **attributes}
    return jsonify({"attributes": session["demo_cart_attributes"], "item_count": sum(_cart().values())})


@bp.post("/checkout")
def pay() -> Any:
    lines, total = _lines(demo_shop())
    if not lines:
        return redirect(url_for("demo_store.cart"))
    number = int(hashlib.sha256(uuid.uuid4().bytes).hexdigest()[:8], 16) % 1_000_000
    session["demo_cart"] = {}
    session["demo_last_order"] = {
        "name": f"#D{number}",
        "value": float(total),
        "event_id": str(uuid.uuid5(PURCHASE_NAMESPACE, str(number))),
        "event": {
            "order_id": f"D{number}",
            "value": float(total),
            "currency": "USD",
            "items": [
                {
                    "product_id": str(line["product_id"]),
                    "quantity": line["quantity"],
                    "price": float(line["price"]),
                }
                for line in lines
            ],
        },
    }
    return redirect(url_for("demo_store.thanks"))


@bp.get("/thank-you")
def thanks() -> Any:
    order = session.get("demo_last_order")
    if not order:
        return redirect(url_for("demo_store.home"))
    return _page("demo_store/thanks.html", "thank_you", title="Thank you", order=order)


@bp.route("/apps/clickstream/<path:rest>", methods=["GET", "POST"])
def app_proxy(rest: str) -> Response:
    """Shopify's app proxy, simulated for the demo shop: the request, signed, forwarded to /proxy/."""
    if current_app.config["PROFILE"] == "production":
        abort(404)  # it signs for whoever `?customer=` names: a demo, never a production app
    shop = demo_shop()
    customer = _customer_id()
    # What Shopify vouches for comes from Shopify alone (the app refuses a repeated one).
    pairs = [(key, value) for key, value in request.args.items(multi=True) if key not in SHOPIFY_ADDS]
    pairs += [
        ("shop", shop.domain),
        ("logged_in_customer_id", str(customer or "")),
        ("path_prefix", PROXY_PREFIX),
        ("timestamp", str(int(time.time()))),
    ]
    pairs.append(("signature", app_proxy_signature(app_secrets()[0], pairs)))
    # Like Shopify: the method and body go along, the shopper's address in X-Forwarded-For.
    forwarded = current_app.test_client().open(
        f"/proxy/{rest}",
        method=request.method,
        query_string=pairs,
        data=request.get_data() if request.method == "POST" else None,
        content_type=request.content_type if request.method == "POST" else None,
        headers={
            "User-Agent": request.headers.get("User-Agent", ""),
            "X-Forwarded-For": request.remote_addr or "",
        },
    )
    answer = Response(forwarded.get_data(), status=forwarded.status_code, content_type=forwarded.content_type)
    answer.headers["Cache-Control"] = forwarded.headers.get("Cache-Control", "no-store")
    return answer


@bp.get("/images/<int:product_id>.svg")
def image(product_id: int) -> Response:
    """A placeholder picture, coloured by the product id."""
    hue = product_id * 47 % 360
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400" viewBox="0 0 400 400">'
        f'<rect width="400" height="400" fill="hsl({hue},45%,82%)"/>'
        f'<circle cx="200" cy="180" r="90" fill="hsl({hue},45%,60%)"/>'
        f'<text x="200" y="340" font-family="sans-serif" font-size="28" text-anchor="middle" fill="#333">#{product_id}</text></svg>'
    )
    response = Response(svg, mimetype="image/svg+xml")
    response.cache_control.max_age = 86400
    return response
