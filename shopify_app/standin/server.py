"""The stand-in's HTTP server: token endpoint, GraphQL Admin, bulk results, signed webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import secrets
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import requests

from shopify_app.standin.catalog import StandinShop, bulk_jsonl, gid
from shopify_app.standin.orders import THROTTLED_ERROR, CostBucket, orders_connection, query_cost
from shopify_app.standin.pixels import NO_PIXEL, deployed_settings_fields, settings_problem, user_error

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "shopify"
THROTTLED = {"message": "Throttled", "extensions": {"code": "THROTTLED"}}
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"  # noqa: S105 - an error text


class ShopifyStandin:
    """Shopify, as far as the app can tell: start it, point SHOPIFY_API_BASE_URL at `base_url`."""

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        *,
        scopes: str = "read_products,read_orders,read_customers,write_customers,write_discounts,write_pixels,read_customer_events,write_app_proxy",
        access_token_lifetime: int = 3600,
    ) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.scopes = scopes
        self.access_token_lifetime = access_token_lifetime
        self.shops: dict[str, StandinShop] = {}
        self.throttle_next = 0
        # the cost bucket the `orders` query draws on (Shopify's defaults; tests make it small)
        self.orders_bucket = CostBucket()
        self.orders_throttled = 0
        self.fail_next = 0
        self.bulk_polls_before_done = 1
        self.refresh_count = 0
        self.calls: list[tuple[str, str]] = []
        # the deployed pixel extension's settings definition (a test may deploy another version)
        self.pixel_fields = deployed_settings_fields()
        self.web_pixels: dict[str, dict[str, Any]] = {}  # shop domain -> {"id", "settings"}
        self.pixel_calls: list[tuple[str, str, Any]] = []  # (shop, mutation, settings as sent)
        self._codes: dict[str, str] = {}
        self._bulk: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(9000)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # --- lifecycle ---

    def start(self, port: int = 0) -> ShopifyStandin:
        """Listen on `port` (a free one by default) in a background thread."""
        standin = self

        class Handler(_Handler):
            owner = standin

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def origin(self) -> str:
        """http://127.0.0.1:PORT"""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        """The value for SHOPIFY_API_BASE_URL."""
        return self.origin + "/{shop}"

    def shop(self, domain: str) -> StandinShop:
        """The shop with this domain, created on first use."""
        with self._lock:
            return self.shops.setdefault(domain, StandinShop(domain=domain))

    # --- what a test can make Shopify do ---

    def add_order(self, domain: str, payload: dict[str, Any]) -> None:
        """Shopify now holds this order (a webhook body), replacing an earlier version of it."""
        shop = self.shop(domain)
        with self._lock:
            shop.orders = [
                kept
                for kept in shop.orders
                if kept["admin_graphql_api_id"] != payload["admin_graphql_api_id"]
            ]
            shop.orders.append(payload)

    def expire_access_tokens(self, domain: str) -> None:
        """Make every access token of the shop expired, as an hour passing would."""
        shop = self.shop(domain)
        for token in shop.access_tokens:
            shop.access_tokens[token] = time.time() - 1

    def webhook_headers(
        self,
        topic: str,
        domain: str,
        body: bytes,
        *,
        secret: str | None = None,
        webhook_id: str | None = None,
    ) -> dict[str, str]:
        """The headers Shopify sends with a webhook, signed with the app secret."""
        digest = hmac.new((secret or self.api_secret).encode(), body, hashlib.sha256).digest()
        return {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
            "X-Shopify-Shop-Domain": domain,
            "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
            "X-Shopify-Event-Id": str(uuid.uuid4()),
            "X-Shopify-API-Version": "2026-10",
            "X-Shopify-Triggered-At": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }

    def send_webhook(
        self, url: str, topic: str, domain: str, payload: dict[str, Any] | bytes, **options: Any
    ) -> requests.Response:
        """POST a signed webhook to the app, as Shopify does."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = self.webhook_headers(topic, domain, body, **options)
        return requests.post(url, data=body, headers=headers, timeout=10)

    @staticmethod
    def sample(topic: str) -> dict[str, Any]:
        """Shopify's published example payload for `topic` (from ../shared/shopify/)."""
        payload: dict[str, Any] = json.loads(
            (SAMPLES / f"webhook_{topic.replace('/', '_')}.json").read_text()
        )
        return payload

    def authorize_redirect(self, domain: str, redirect_uri: str, state: str) -> str:
        """The callback URL Shopify sends the merchant to after the grant screen (signed)."""
        code = secrets.token_hex(16)
        self._codes[code] = domain
        params = {"code": code, "shop": domain, "state": state, "timestamp": str(int(time.time()))}
        message = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        params["hmac"] = hmac.new(self.api_secret.encode(), message.encode(), hashlib.sha256).hexdigest()
        return redirect_uri + "?" + urlencode(params)

    # --- token endpoint ---

    def _grant(self, shop: StandinShop, *, expiring: bool) -> dict[str, Any]:
        token = "shpat_" + secrets.token_hex(16)
        shop.access_tokens[token] = time.time() + self.access_token_lifetime if expiring else float("inf")
        if not expiring:
            return {"access_token": token, "scope": self.scopes}
        shop.refresh_token = "shprt_" + secrets.token_hex(16)
        return {
            "access_token": token,
            "expires_in": self.access_token_lifetime,
            "refresh_token": shop.refresh_token,
            "refresh_token_expires_in": 7776000,
            "scope": self.scopes,
        }

    def token_endpoint(self, domain: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """Answer POST /admin/oauth/access_token."""
        if form.get("client_id") != self.api_key or form.get("client_secret") != self.api_secret:
            return 401, {"error": "invalid_client"}
        shop = self.shop(domain)
        grant_type = form.get("grant_type")
        with self._lock:
            if grant_type == "urn:ietf:params:oauth:grant-type:token-exchange":
                if (
                    not self._valid_id_token(form.get("subject_token", ""), domain)
                    or form.get("subject_token_type") != "urn:ietf:params:oauth:token-type:id_token"
                ):
                    return 400, {"error": "invalid_subject_token"}
                return 200, self._grant(shop, expiring=form.get("expiring") == "1")
            if grant_type == "refresh_token":
                if not shop.refresh_token or form.get("refresh_token") != shop.refresh_token:
                    return 400, {
                        "error": "invalid_grant",
                        "error_description": "refresh token invalid or used",
                    }
                self.refresh_count += 1
                return 200, self._grant(shop, expiring=True)
            if "code" in form:
                if self._codes.pop(form["code"], None) != domain:
                    return 400, {"error": "invalid_request", "error_description": "code invalid or used"}
                return 200, self._grant(shop, expiring=form.get("expiring") == "1")
        return 400, {"error": "unsupported_grant_type"}

    def _valid_id_token(self, token: str, domain: str) -> bool:
        try:
            claims = jwt.decode(
                token, self.api_secret, algorithms=["HS256"], audience=self.api_key, leeway=10
            )
        except jwt.PyJWTError:
            return False
        return urlsplit(str(claims.get("dest"))).hostname == domain

    # --- GraphQL Admin ---

    def graphql_endpoint(
        self, domain: str, token: str | None, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        """Answer POST /admin/api/{version}/graphql.json."""
        shop = self.shop(domain)
        if token is None or shop.access_tokens.get(token, 0) < time.time():
            return 401, {"errors": INVALID_TOKEN}
        if self.fail_next > 0:
            self.fail_next -= 1
            return 503, {"errors": "Service Unavailable"}
        query = str(body.get("query", ""))
        variables = body.get("variables") or {}
        self.calls.append(("graphql", query))
        if self.throttle_next > 0:
            self.throttle_next -= 1
            return 200, {"errors": [THROTTLED], "extensions": _cost(available=0, requested=10)}
        if "orders(" in query:
            return self._orders(shop, query, variables)
        data = self._resolve(shop, query, variables)
        if "errors" in data:
            return 200, data
        return 200, {"data": data, "extensions": _cost(available=990, requested=10)}

    def _orders(self, shop: StandinShop, query: str, variables: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        first = int(variables.get("first") or 0)
        if not 1 <= first <= 250:
            return 200, {"errors": [{"message": "first must be between 1 and 250",
                                     "extensions": {"code": "BAD_REQUEST"}}]}  # fmt: skip
        requested = query_cost(query, first)
        if requested > self.orders_bucket.maximum:
            return 200, {"errors": [{"message": f"Query cost is {requested}, which exceeds the single query max cost limit ({int(self.orders_bucket.maximum)}).",
                                     "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested,
                                                    "maxCost": int(self.orders_bucket.maximum)}}]}  # fmt: skip
        served, cost = self.orders_bucket.charge(requested)
        if not served:
            self.orders_throttled += 1
            return 200, {"errors": [THROTTLED_ERROR], "extensions": cost}
        with self._lock:
            orders = list(shop.orders)
        connection = orders_connection(
            orders, first=first, after=variables.get("after"), search=str(variables.get("query") or "")
        )
        return 200, {"data": {"orders": connection}, "extensions": cost}

    def _resolve(self, shop: StandinShop, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        if "webPixel" in query:
            return self._web_pixel(shop, query, variables)
        if "bulkOperationRunQuery" in query:
            return self._run_bulk(shop)
        if "currentBulkOperation" in query:
            return {"currentBulkOperation": self._poll_bulk(shop)}
        if "webhookSubscriptionCreate" in query:
            return self._webhook_subscription(shop, variables)
        if "discountCodeBasicCreate" in query:
            return self._discount(shop, variables)
        if "currentAppInstallation" in query:
            return {"currentAppInstallation": {"id": gid("AppInstallation", 1000 + len(shop.domain))}}
        if "metafieldsSet" in query:
            return self._metafields(shop, variables)
        for name in ("tagsAdd", "tagsRemove"):
            if name in query:
                return self._tags(shop, name, variables)
        if "products(" in query:
            nodes = [
                {k: v for k, v in p.items() if k not in {"variants", "collections"}} for p in shop.catalog
            ]
            return {"products": {"edges": [{"node": n} for n in nodes], "pageInfo": {"hasNextPage": False}}}
        if "collections(" in query:
            seen = {c["id"]: c for p in shop.catalog for c in p["collections"]}
            return {
                "collections": {
                    "edges": [{"node": c} for c in seen.values()],
                    "pageInfo": {"hasNextPage": False},
                }
            }
        if "shop" in query:
            return {"shop": shop.details()}
        return {
            "errors": [
                {
                    "message": "Field doesn't exist on type 'QueryRoot'",
                    "extensions": {"code": "undefinedField"},
                }
            ]
        }

    def _run_bulk(self, shop: StandinShop) -> dict[str, Any]:
        operation_id = gid("BulkOperation", next(self._ids))
        self._bulk[shop.domain] = {
            "id": operation_id,
            "polls": 0,
            "body": bulk_jsonl(shop.catalog),
            "objects": sum(1 + len(p["variants"]) + len(p["collections"]) for p in shop.catalog),
        }
        return {
            "bulkOperationRunQuery": {
                "bulkOperation": {"id": operation_id, "status": "CREATED"},
                "userErrors": [],
            }
        }

    def _poll_bulk(self, shop: StandinShop) -> dict[str, Any] | None:
        operation = self._bulk.get(shop.domain)
        if operation is None:
            return None
        operation["polls"] += 1
        done = operation["polls"] > self.bulk_polls_before_done
        number = operation["id"].rsplit("/", 1)[1]
        return {
            "id": operation["id"],
            "status": "COMPLETED" if done else "RUNNING",
            "errorCode": None,
            "createdAt": "2026-11-25T07:00:00Z",
            "completedAt": "2026-11-25T07:00:05Z" if done else None,
            "objectCount": str(operation["objects"] if done else operation["objects"] // 2),
            "fileSize": str(len(operation["body"])) if done else None,
            "url": f"{self.origin}/bulk/{shop.domain}/{number}.jsonl" if done else None,
            "partialDataUrl": None,
        }

    def bulk_file(self, domain: str) -> str | None:
        """The JSONL body of the shop's last bulk operation."""
        operation = self._bulk.get(domain)
        return operation["body"] if operation else None

    def _webhook_subscription(self, shop: StandinShop, variables: dict[str, Any]) -> dict[str, Any]:
        subscription = variables.get("webhookSubscription") or {}
        if not subscription.get("callbackUrl") and not subscription.get("uri"):
            errors = [{"field": ["webhookSubscription", "callbackUrl"], "message": "Address can't be blank"}]
            return {"webhookSubscriptionCreate": {"webhookSubscription": None, "userErrors": errors}}
        node = {"id": gid("WebhookSubscription", next(self._ids)), "topic": variables.get("topic")}
        shop.webhook_subscriptions.append({**node, **subscription})
        return {"webhookSubscriptionCreate": {"webhookSubscription": node, "userErrors": []}}

    def _web_pixel(self, shop: StandinShop, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        current = self.web_pixels.get(shop.domain)
        for name in ("webPixelCreate", "webPixelUpdate"):
            if name not in query:
                continue
            settings = (variables.get("webPixel") or {}).get("settings")
            self.pixel_calls.append((shop.domain, name, settings))
            errors = []
            if name == "webPixelCreate" and current is not None:
                errors = [user_error("TAKEN", "Web pixel is taken.", ["webPixel"])]
            elif name == "webPixelUpdate" and (current is None or variables.get("id") != current["id"]):
                errors = [user_error("NOT_FOUND", "Web pixel not found.", ["id"])]
            else:
                problem = settings_problem(settings, self.pixel_fields)
                if problem is not None:
                    errors = [user_error(*problem, ["webPixel", "settings"])]
            if errors:
                return {name: {"webPixel": None, "userErrors": errors}}
            pixel = {
                "id": current["id"] if current else gid("WebPixel", next(self._ids)),
                "settings": settings,
            }
            self.web_pixels[shop.domain] = pixel
            return {name: {"webPixel": dict(pixel), "userErrors": []}}
        wanted = variables.get("id")
        if current is None or (wanted and wanted != current["id"]):
            return {"data": {"webPixel": None},
                    "errors": [{"message": NO_PIXEL, "path": ["webPixel"], "extensions": {"code": "NOT_FOUND"}}]}  # fmt: skip
        return {"webPixel": dict(current)}

    def redeem_discount(self, domain: str, code: str) -> bool:
        """An order applying `code` at checkout: True when Shopify would accept it (its usage
        limit not reached), counting the use."""
        shop = self.shop(domain)
        if code not in shop.discount_codes:
            return False
        limit = shop.discount_limits.get(code)
        if limit is not None and shop.discount_uses.get(code, 0) >= limit:
            return False
        shop.discount_uses[code] = shop.discount_uses.get(code, 0) + 1
        return True

    def _discount(self, shop: StandinShop, variables: dict[str, Any]) -> dict[str, Any]:
        discount = variables.get("basicCodeDiscount") or {}
        code = str(discount.get("code") or "")
        if not code or code in shop.discount_codes:
            errors = [
                {
                    "field": ["basicCodeDiscount", "code"],
                    "code": "TAKEN",
                    "message": "Code must be unique. Please try a different code.",
                }
            ]
            return {"discountCodeBasicCreate": {"codeDiscountNode": None, "userErrors": errors}}
        shop.discount_codes.append(code)
        limit = discount.get("usageLimit")
        shop.discount_limits[code] = int(limit) if isinstance(limit, int) else None
        node = {
            "id": gid("DiscountCodeNode", next(self._ids)),
            "codeDiscount": {"codes": {"nodes": [{"code": code}]}},
        }
        return {"discountCodeBasicCreate": {"codeDiscountNode": node, "userErrors": []}}

    def _metafields(self, shop: StandinShop, variables: dict[str, Any]) -> dict[str, Any]:
        written = []
        for field in variables.get("metafields") or []:
            if not str(field.get("ownerId", "")).startswith("gid://shopify/") or not field.get("key"):
                return {"metafieldsSet": {"metafields": None,
                                          "userErrors": [{"field": ["metafields"], "message": "Invalid owner"}]}}  # fmt: skip
            shop.metafields[(field.get("namespace") or "", field["key"])] = str(field.get("value"))
            written.append({"key": field["key"], "value": str(field.get("value"))})
        return {"metafieldsSet": {"metafields": written, "userErrors": []}}

    def _tags(self, shop: StandinShop, name: str, variables: dict[str, Any]) -> dict[str, Any]:
        node_id = str(variables.get("id") or "")
        tags = variables.get("tags") or []
        if isinstance(tags, str):
            tags = [t.strip() for t in tags.split(",") if t.strip()]
        if not node_id.startswith("gid://shopify/"):
            return {name: {"node": None, "userErrors": [{"field": ["id"], "message": "Invalid global id"}]}}
        current = shop.customer_tags.setdefault(node_id, [])
        if name == "tagsAdd":
            current.extend(t for t in tags if t not in current)
        else:
            shop.customer_tags[node_id] = [t for t in current if t not in tags]
        return {name: {"node": {"id": node_id}, "userErrors": []}}


def _cost(*, available: float, requested: int) -> dict[str, Any]:
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": None if available < requested else requested,
            "throttleStatus": {
                "maximumAvailable": 1000.0,
                "currentlyAvailable": available,
                "restoreRate": 100.0,
            },
        }
    }


class _Handler(BaseHTTPRequestHandler):
    owner: ShopifyStandin

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet by design
        return

    def _send(self, status: int, body: dict[str, Any] | str, content_type: str = "application/json") -> None:
        raw = (json.dumps(body) if isinstance(body, dict) else body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self) -> None:
        parts = urlsplit(self.path).path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "bulk":
            body = self.owner.bulk_file(parts[1])
            if body:
                self._send(200, body, "application/jsonl")
            else:
                self._send(404, {"errors": "Not Found"})
            return
        if len(parts) == 4 and parts[1:] == ["admin", "oauth", "authorize"]:
            query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            location = self.owner.authorize_redirect(parts[0], query["redirect_uri"], query.get("state", ""))
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._send(404, {"errors": "Not Found"})

    def do_POST(self) -> None:
        parts = urlsplit(self.path).path.strip("/").split("/")
        body = self._body()
        if len(parts) == 4 and parts[1:] == ["admin", "oauth", "access_token"]:
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            self._send(*self.owner.token_endpoint(parts[0], form))
            return
        if len(parts) == 5 and parts[1:3] == ["admin", "api"] and parts[4] == "graphql.json":
            try:
                payload = json.loads(body or b"{}")
            except ValueError:
                self._send(400, {"errors": "Bad Request"})
                return
            token = self.headers.get("X-Shopify-Access-Token")
            self._send(*self.owner.graphql_endpoint(parts[0], token, payload))
            return
        self._send(404, {"errors": "Not Found"})
