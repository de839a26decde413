"""What a batch changes in the rollups: the tally after it minus the tally before it."""

from __future__ import annotations

from analytics.rollup_facts import add, difference, new_tally, nonzero


def test_the_difference_keeps_changed_rows_negates_vanished_ones_and_drops_unchanged_ones() -> None:
    before, after = new_tally(), new_tally()
    add(before, "sessions", ("2026-11-30",), sessions=3, bounces=2)
    add(after, "sessions", ("2026-11-30",), sessions=3, bounces=1, pageviews=4)  # one bounce no more
    add(before, "devices", ("2026-11-30", "mobile"), sessions=1)  # its session moved to another day
    add(before, "referrers", ("2026-11-30", "google.com"), sessions=1)
    add(after, "referrers", ("2026-11-30", "google.com"), sessions=1)  # unchanged
    add(after, "product_viewers", ("2026-11-30", 7, "2026-11-29"), visitors=1)  # new
    add(after, "pages", ("2026-11-30", "/"), views=0)  # touched, nothing added

    assert nonzero(difference(after, before)) == {
        "sessions": {("2026-11-30",): {"sessions": 0, "bounces": -1, "pageviews": 4}},
        "devices": {("2026-11-30", "mobile"): {"sessions": -1}},
        "product_viewers": {("2026-11-30", 7, "2026-11-29"): {"visitors": 1}},
    }
    changes = difference(after, before)
    assert "referrers" not in changes
    assert "pages" not in changes
    assert changes["sessions"][("2026-11-30",)]["carts"] == 0, "rows answer 0 for columns they lack"
