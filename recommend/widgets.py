"""The five storefront widgets: which products each shows, in which order.

Every widget draws only from the catalog snapshot's sellable products, puts the merchant's pins
first and never shows an excluded product; when its own signal is thin (a new shop, a product
nobody co-viewed yet) it falls back to something sensible rather than showing nothing:
also bought -> also viewed -> the product's collections' favourites -> the shop's favourites.
No Flask and no database here: `recommend.service` gathers the inputs.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from recommend.catalog import ShopCatalog
from recommend.engine import ShopRecommender

WIDGETS = (
    "crowd_favorites",
    "featured_collection",
    "pick_up_where_you_left_off",
    "also_viewed",
    "also_bought",
)
CANDIDATES = 200
MAX_RANKED = 1000
SIMILAR_TO_LATEST = 5
AFFINITY_SAMPLE = 100  # candidate sessions for the taste signal (a soft part of the ranking)


@dataclass(frozen=True)
class Placement:
    """What the storefront asked for."""

    widget: str
    limit: int = 8
    product_id: int | None = None
    collection_id: int | None = None


@dataclass(frozen=True)
class VisitorHistory:
    """A visitor's recent products, most recent first (all their devices when identified)."""

    viewed: Sequence[int] = ()
    carted: Sequence[int] = ()
    bought: frozenset[int] = frozenset()


@dataclass(frozen=True)
class MerchantRules:
    """Pins shown first and products never shown, from the shop's recommendation settings."""

    pinned: Sequence[int] = ()
    excluded: frozenset[int] = field(default_factory=frozenset)


class Picker:
    """Collects up to `limit` distinct products that the catalog and the merchant allow."""

    def __init__(self, catalog: ShopCatalog, rules: MerchantRules, limit: int, skip: Iterable[int] = ()):
        self.catalog = catalog
        self.rules = rules
        self.limit = limit
        self.chosen: list[int] = []
        self._seen = set(skip)

    def allowed(self, product_id: int) -> bool:
        """Sellable, not excluded, not already chosen or skipped."""
        return (
            product_id not in self._seen
            and product_id not in self.rules.excluded
            and self.catalog.sellable(product_id)
        )

    @property
    def full(self) -> bool:
        """True once `limit` products are chosen."""
        return len(self.chosen) >= self.limit

    def add(self, products: Iterable[int]) -> None:
        """Take products in order until full."""
        for product_id in products:
            if self.full:
                return
            if self.allowed(product_id):
                self.chosen.append(product_id)
                self._seen.add(product_id)


def favourites(
    catalog: ShopCatalog, recommender: ShopRecommender, picker: Picker, collection_id: int | None = None
) -> None:
    """Most popular first (within a collection when given), then the merchant's order / newest."""
    if collection_id is None:
        picker.add(item for item, _ in recommender.popularity.top(picker.limit, allowed=picker.allowed))
        picker.add(catalog.newest)
        return
    members = catalog.in_collection(collection_id)
    score = recommender.popularity.score
    picker.add(sorted(members, key=lambda p: -score(p)))


def _similar(
    recommender: ShopRecommender, which: str, catalog: ShopCatalog, product_id: int, picker: Picker
) -> None:
    knn = recommender.bought if which == "also_bought" else recommender.viewed
    picker.add(item for item, _ in knn.recommend([product_id], CANDIDATES, exclude=(product_id,)))


def also(
    which: str, catalog: ShopCatalog, recommender: ShopRecommender, product_id: int, picker: Picker
) -> None:
    """Also viewed / also bought with this product, then the fallbacks."""
    _similar(recommender, which, catalog, product_id, picker)
    if which == "also_bought":
        _similar(recommender, "also_viewed", catalog, product_id, picker)
    for collection_id in catalog.collections_of(product_id):
        if picker.full:
            return
        favourites(catalog, recommender, picker, collection_id)
    favourites(catalog, recommender, picker)


def affinity_ranker(
    catalog: ShopCatalog, recommender: ShopRecommender, history: VisitorHistory
) -> Callable[[int], float]:
    """A score per product from the visitor's recent items, their categories, brands and prices."""
    recent = [p for p in dict.fromkeys([*history.carted, *history.viewed]) if p in catalog.cards][:20]
    latest = list(reversed(recent[:SIMILAR_TO_LATEST]))  # the session-kNN weighs the latest most anyway
    similar = (
        dict(recommender.viewed.recommend(latest, CANDIDATES, sample_size=AFFINITY_SAMPLE)) if recent else {}
    )
    top_similar = max(similar.values(), default=0.0) or 1.0
    categories = Counter(catalog.cards[p].category for p in recent if catalog.cards[p].category)
    vendors = Counter(catalog.cards[p].vendor for p in recent if catalog.cards[p].vendor)
    prices = sorted(float(price) for p in recent if (price := catalog.cards[p].price) is not None)
    typical_price = prices[len(prices) // 2] if prices else None
    popularity = recommender.popularity
    ranked = popularity.ranked()
    top_popular = (popularity.score(ranked[0]) if ranked else 0.0) or 1.0
    n = len(recent) or 1

    def score(product_id: int) -> float:
        card = catalog.cards[product_id]
        value = similar.get(product_id, 0.0) / top_similar
        value += 0.5 * categories.get(card.category, 0) / n + 0.3 * vendors.get(card.vendor, 0) / n
        if typical_price and card.price is not None:
            value += 0.2 / (1.0 + abs(float(card.price) - typical_price) / typical_price)
        return value + 0.1 * popularity.score(product_id) / top_popular

    return score


def featured(
    catalog: ShopCatalog,
    recommender: ShopRecommender,
    history: VisitorHistory,
    collection_id: int,
    picker: Picker,
) -> None:
    """The collection ranked for this visitor; without history, by popularity and merchant order."""
    members = catalog.in_collection(collection_id)
    if not (history.viewed or history.carted):
        favourites(catalog, recommender, picker, collection_id)
        return
    position = {p: i for i, p in enumerate(members)}
    if len(members) > MAX_RANKED:  # a huge collection: rank its most popular part
        popular = (p for p in recommender.popularity.ranked() if p in position)
        members = list(dict.fromkeys([*itertools.islice(popular, MAX_RANKED), *members[:MAX_RANKED]]))
    score = affinity_ranker(catalog, recommender, history)
    picker.add(sorted(members, key=lambda p: (-score(p), position[p])))


def pick_up(history: VisitorHistory, picker: Picker) -> None:
    """Carted then viewed, most recent first, minus what was bought. Empty for a new visitor."""
    picker.add(p for p in [*history.carted, *history.viewed] if p not in history.bought)


def choose(
    placement: Placement,
    catalog: ShopCatalog,
    recommender: ShopRecommender,
    history: VisitorHistory,
    rules: MerchantRules,
) -> list[int]:
    """The products (Shopify ids) the widget shows, best first."""
    skip = [placement.product_id] if placement.product_id is not None else []
    picker = Picker(catalog, rules, placement.limit, skip)
    if placement.widget == "featured_collection" and placement.collection_id is not None:
        members = set(catalog.in_collection(placement.collection_id))
        picker.add(p for p in rules.pinned if p in members)
    elif placement.widget != "pick_up_where_you_left_off":
        picker.add(rules.pinned)
    if placement.widget == "crowd_favorites":
        favourites(catalog, recommender, picker, placement.collection_id)
    elif placement.widget == "featured_collection" and placement.collection_id is not None:
        featured(catalog, recommender, history, placement.collection_id, picker)
    elif placement.widget in ("also_viewed", "also_bought") and placement.product_id is not None:
        also(placement.widget, catalog, recommender, placement.product_id, picker)
    elif placement.widget == "pick_up_where_you_left_off":
        pick_up(history, picker)
    return picker.chosen
