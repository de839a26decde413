"""The `clickstream` command: demo seed, migrations, and one clear line on misconfiguration."""

from __future__ import annotations

import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.support.processes import CLICKSTREAM, free_port, process_env


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLICKSTREAM, *args], env=process_env(**env), capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DATABASE_URL": "postgres://db/x"}, "DATABASE_URL: unsupported URL"),
        (
            {"DATABASE_URL": "mysql+pymysql://root@127.0.0.1:1/nowhere"},
            "cannot reach the database at mysql+pymysql://root@127.0.0.1:1/nowhere",
        ),
        ({"REDIS_URL": "redis://127.0.0.1:1/0"}, "cannot reach Redis at redis://127.0.0.1:1/0"),
        ({"CLICKSTREAM_ENV": "production", "SHOPIFY_API_KEY": "k"}, "SECRET_KEY: must be set"),
    ],
)
def test_misconfiguration_is_one_clear_line_not_a_traceback(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "PORT": str(free_port()), **env}
    result = run_cli("serve", **env)
    assert result.returncode != 0
    assert expected in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.redis
def test_an_unwritable_spool_directory_is_one_clear_line(tmp_path: Path, redis_url: str) -> None:
    (tmp_path / "file").write_text("")
    result = run_cli(
        "serve",
        DATABASE_URL=f"sqlite:///{tmp_path}/x.db",
        PORT=str(free_port()),
        REDIS_URL=redis_url,
        INGEST_SPOOL_DIR=str(tmp_path / "file" / "spool"),
    )
    assert result.returncode != 0
    assert "spool directory" in result.stderr
    assert "is not writable (Not a directory): set INGEST_SPOOL_DIR" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_db_upgrade_creates_the_schema_on_an_empty_sqlite_file(tmp_path: Path) -> None:
    result = run_cli("db", "upgrade", DATABASE_URL=f"sqlite:///{tmp_path}/fresh.db")
    assert result.returncode == 0, result.stderr
    assert "Running upgrade  -> 0001" in result.stderr


def test_demo_seeds_the_demo_shop_with_real_rees46_products(runner: Any, db: Any) -> None:
    from shopify_app.core.models import Collection, Product, Shop

    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    shop = db.session.execute(select(Shop).where(Shop.domain == "demo-shop.myshopify.com")).scalar_one()
    assert shop.is_active
    products = db.session.execute(
        select(func.count()).select_from(Product).where(Product.shop_id == shop.id)
    ).scalar_one()
    assert products > 1000
    phone = db.session.execute(
        select(Product).where(Product.shop_id == shop.id, Product.shopify_id == 1004856)
    ).scalar_one()
    assert phone.title == "Samsung Smartphone 1004856"
    assert phone.price is not None
    assert phone.price > 100
    assert (
        db.session.execute(
            select(func.count()).select_from(Collection).where(Collection.shop_id == shop.id)
        ).scalar_one()
        >= 5
    )
    assert f"demo shop seeded: {products} products" in result.output
    # money is read from orders only: the demo has the order Shopify would have sent per purchase
    from analytics.models import Event, Order

    purchases = db.session.scalars(
        select(Event).where(Event.shop_id == shop.id, Event.type == "purchase")
    ).all()
    orders = db.session.scalars(select(Order).where(Order.shop_id == shop.id)).all()
    assert purchases
    assert len(orders) == len(purchases)
    assert sum(order.total_price for order in orders) == sum(
        Decimal(str(event.props["value"])).quantize(Decimal("0.01")) for event in purchases
    )
    assert all(order.session_id is not None for order in orders)


def test_demo_can_run_twice_without_duplicating_the_catalog(runner: Any, db: Any) -> None:
    from shopify_app.core.models import Product

    runner.invoke(args=["demo"])
    first = db.session.execute(select(func.count()).select_from(Product)).scalar_one()
    runner.invoke(args=["demo"])
    assert db.session.execute(select(func.count()).select_from(Product)).scalar_one() == first
