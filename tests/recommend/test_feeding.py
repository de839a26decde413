"""Sessions feed the widgets: each new trail is taken in by a running process once, in order."""

from __future__ import annotations

from recommend import live
from recommend.models import RecommendationSession, RecommendationState
from shopify_app.core.extensions import db
from tests.recommend.conftest import Store


def test_a_running_process_takes_in_each_new_trail_once(store: Store) -> None:
    store.browse("shirt", "shorts")
    store.browse("socks")
    model = live.current_model(store.shop.id)
    assert len(model.recommender) == 2, "both sessions are in"
    assert live.take_in(model, store.shop.id) == 0, "nothing new: nothing read again"

    store.browse("shirt", "cap")
    versions = sorted(
        db.session.execute(
            db.select(RecommendationSession.version).where(RecommendationSession.shop_id == store.shop.id)
        ).scalars()
    )
    assert versions == sorted(set(versions)), "every feed has its own version"
    assert db.session.get(RecommendationState, store.shop.id).model_version == versions[-1]
    assert live.take_in(model, store.shop.id) == 1, "only the new trail"
    cap = int(store.id("cap"))
    similar = model.recommender.viewed.recommend([cap], 3, exclude=(cap,))
    assert [item for item, _ in similar] == [int(store.id("shirt"))], "the new trail is in the model"
