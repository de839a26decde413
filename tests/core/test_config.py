"""Settings are read once, typed, and refused with a message naming the variable."""

from __future__ import annotations

import pytest

from shopify_app.core.config import ConfigError, load_settings

FERNET_KEY = "Zm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyMTI="


def settings(**env: str):
    return load_settings(env, instance_path="/tmp/instance")


def test_embedded_defaults_need_no_configuration() -> None:
    s = settings()
    assert s.database_url == "sqlite:////tmp/instance/clickstream.db"
    assert s.redis_url is None
    assert s.celery_broker_url is None
    assert s.embedded
    assert s.session_timeout_minutes == 30
    assert s.shopify_api_base_url == "https://{shop}"


def test_redis_url_also_becomes_the_celery_broker() -> None:
    s = settings(REDIS_URL="redis://127.0.0.1:6379/0")
    assert s.celery_broker_url == "redis://127.0.0.1:6379/0"
    assert not s.embedded


def test_rabbitmq_broker_is_accepted_by_url() -> None:
    assert settings(CELERY_BROKER_URL="amqp://guest:guest@127.0.0.1:5672//").celery_broker_url


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DATABASE_URL", "postgres://x/y", "DATABASE_URL: unsupported URL"),
        ("REDIS_URL", "http://127.0.0.1", "REDIS_URL: unsupported URL"),
        ("SESSION_TIMEOUT_MINUTES", "thirty", "SESSION_TIMEOUT_MINUTES: expected a whole number"),
        ("PORT", "0", "PORT: must be at least 1"),
        ("CLICKSTREAM_ENV", "prod", "CLICKSTREAM_ENV: expected one of"),
        ("SHOPIFY_API_VERSION", "2026-13", "SHOPIFY_API_VERSION"),
        ("SHOPIFY_API_BASE_URL", "http://127.0.0.1:9100", "SHOPIFY_API_BASE_URL"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL"),
    ],
)
def test_values_we_do_not_understand_are_refused_naming_the_variable(
    name: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        settings(**{name: value})


def test_database_password_is_not_echoed_in_errors() -> None:
    with pytest.raises(ConfigError) as info:
        settings(DATABASE_URL="postgresql://u:hunter2@db/x")
    assert "hunter2" not in str(info.value)


def test_production_refuses_the_default_secret_key() -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        settings(CLICKSTREAM_ENV="production", SHOPIFY_API_KEY="k", SHOPIFY_API_SECRET="s")


def test_production_refuses_missing_shopify_credentials() -> None:
    with pytest.raises(ConfigError, match="SHOPIFY_API_SECRET"):
        settings(CLICKSTREAM_ENV="production", SECRET_KEY="x" * 40, SHOPIFY_API_KEY="k")


def test_production_starts_when_fully_configured() -> None:
    s = settings(
        CLICKSTREAM_ENV="production",
        SECRET_KEY="x" * 40,
        SHOPIFY_API_KEY="k",
        SHOPIFY_API_SECRET="s",
        TOKEN_ENCRYPTION_KEY="Zm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyMTI=",
    )
    assert s.log_format == "json"


def test_production_names_every_missing_demo_or_weak_secret_in_one_message() -> None:
    with pytest.raises(ConfigError) as refused:
        settings(
            CLICKSTREAM_ENV="production",
            SECRET_KEY="x",
            SHOPIFY_API_KEY="demo-api-key",
            SHOPIFY_API_SECRET="demo-api-secret",
            TOKEN_ENCRYPTION_KEY="not-a-fernet-key",
        )
    message = str(refused.value)
    assert "SECRET_KEY: must be at least 32 bytes, not 1" in message
    assert "SHOPIFY_API_KEY: is the demo value" in message
    assert "SHOPIFY_API_SECRET: is the demo value" in message
    assert "TOKEN_ENCRYPTION_KEY: expected comma-separated Fernet keys" in message
    assert "not-a-fernet-key" not in message  # a secret is never echoed


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, ["SECRET_KEY", "SHOPIFY_API_KEY", "SHOPIFY_API_SECRET", "TOKEN_ENCRYPTION_KEY"]),
        ({"SECRET_KEY": "s" * 31}, ["SECRET_KEY"]),
        ({"SECRET_KEY": "dev-insecure-secret-key"}, ["SECRET_KEY"]),
        ({"TOKEN_ENCRYPTION_KEY": FERNET_KEY + ",short"}, ["TOKEN_ENCRYPTION_KEY"]),
        ({"SHOPIFY_API_SECRET_PREVIOUS": "demo-api-secret"}, ["SHOPIFY_API_SECRET_PREVIOUS"]),
    ],
)
def test_production_refuses_each_weak_secret(env: dict[str, str], named: list[str]) -> None:
    good = {
        "SECRET_KEY": "k" * 32,
        "SHOPIFY_API_KEY": "k",
        "SHOPIFY_API_SECRET": "s",
        "TOKEN_ENCRYPTION_KEY": FERNET_KEY,
    }
    given = {**good, **env} if env else {}
    with pytest.raises(ConfigError) as refused:
        settings(CLICKSTREAM_ENV="production", **given)
    for name in named:
        assert f"{name}:" in str(refused.value)
    assert settings(CLICKSTREAM_ENV="production", **good).secret_key == "k" * 32  # 32 bytes is enough


def test_data_requests_are_kept_seven_days_unless_configured() -> None:
    assert settings().data_request_retention_days == 7
    assert settings(DATA_REQUEST_RETENTION_DAYS="2").data_request_retention_days == 2
    with pytest.raises(ConfigError, match="DATA_REQUEST_RETENTION_DAYS"):
        settings(DATA_REQUEST_RETENTION_DAYS="0")
