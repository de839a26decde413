"""The documented definitions computed independently of our code, with DuckDB over the raw file."""

from __future__ import annotations

from pathlib import Path

import duckdb

COLUMNS = (
    "{'event_time':'VARCHAR','event_type':'VARCHAR','product_id':'BIGINT','category_id':'BIGINT',"
    "'category_code':'VARCHAR','brand':'VARCHAR','price':'DOUBLE','user_id':'BIGINT','user_session':'VARCHAR'}"
)


def rees46_counts(path: Path, timeout_minutes: int = 30) -> dict[str, int]:
    """Sessions (a visitor's events with gaps under the timeout), visitors, carts and purchases."""
    query = f"""
    with e as (
      select user_id, event_type, strptime(event_time, '%Y-%m-%d %H:%M:%S UTC') as moment
      from read_csv('{path}', header=true, ignore_errors=true, columns={COLUMNS})
    ),
    marked as (
      select *, case when lag(moment) over w is null
                       or moment - lag(moment) over w >= interval {timeout_minutes} minute then 1 else 0 end as starts
      from e window w as (partition by user_id order by moment)
    ),
    numbered as (
      select *, sum(starts) over (partition by user_id order by moment rows unbounded preceding) as session
      from marked
    ),
    per_session as (
      select user_id, session, max((event_type = 'cart')::int) as carted, max((event_type = 'purchase')::int) as bought
      from numbered group by user_id, session
    )
    select
      (select count(*) from per_session) as sessions,
      (select count(distinct user_id) from e) as visitors,
      (select count(*) from e where event_type = 'cart') as carts,
      (select count(*) from e where event_type = 'purchase') as purchases,
      (select sum(carted) from per_session) as sessions_with_cart,
      (select sum(bought) from per_session) as sessions_with_purchase,
      (select count(*) from e) as events
    """
    row = duckdb.connect().execute(query).fetchone()
    assert row is not None
    names = (
        "sessions",
        "visitors",
        "carts",
        "purchases",
        "sessions_with_cart",
        "sessions_with_purchase",
        "events",
    )
    return {name: int(value) for name, value in zip(names, row, strict=True)}
