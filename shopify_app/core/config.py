"""Settings, read from the environment in one place, parsed with types.

A value we do not understand is refused with a `ConfigError` that names the variable, so a
typo fails at start-up with one clear line instead of misbehaving later.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULT_SECRET_KEY = "dev-insecure-secret-key"  # noqa: S105 - refused in production
DEMO_API_KEY = "demo-api-key"
DEMO_API_SECRET = "demo-api-secret"  # noqa: S105 - refused in production
MIN_SECRET_KEY_BYTES = 32
PROFILES = ("development", "production", "testing")
REPO_ROOT = Path(__file__).resolve().parents[2]


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def _text(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    value = env.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip()


def env_int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    """An integer setting, refused when it is not a whole number >= minimum."""
    raw = _text(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name}: must be at least {minimum}, got {value}")
    return value


def env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    """A yes/no setting; only the usual spellings are accepted."""
    raw = _text(env, name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}: expected true/false, got {raw!r}")


def env_choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    """A setting restricted to a fixed list of values."""
    raw = _text(env, name, default) or default
    if raw not in choices:
        raise ConfigError(f"{name}: expected one of {', '.join(choices)}, got {raw!r}")
    return raw


def env_url(
    env: Mapping[str, str], name: str, default: str | None, *, schemes: tuple[str, ...]
) -> str | None:
    """A URL setting whose scheme must be one we can use."""
    raw = _text(env, name, default)
    if raw is None:
        return None
    scheme = urlsplit(raw).scheme.split("+", 1)[0]
    if scheme not in schemes:
        raise ConfigError(f"{name}: unsupported URL {_redact(raw)!r} (expected a {' or '.join(schemes)} URL)")
    return raw


def _redact(url: str) -> str:
    """The URL with any password replaced, safe to print."""
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


def redact_url(url: str | None) -> str:
    """Public form of `_redact` for log lines and error messages."""
    return _redact(url) if url else ""


@dataclass(frozen=True)
class Settings:
    """Everything the app can be configured with; see the README's configuration table."""

    profile: str = "development"
    database_url: str = ""
    database_replica_url: str | None = None
    redis_url: str | None = None
    celery_broker_url: str | None = None
    shopify_api_key: str = DEMO_API_KEY
    shopify_api_secret: str = DEMO_API_SECRET
    shopify_api_secret_previous: str | None = None
    shopify_app_url: str = "http://127.0.0.1:8000"
    shopify_api_version: str = "2026-10"
    shopify_api_base_url: str = "https://{shop}"
    shopify_scopes: str = "read_products,read_orders,read_customers,write_customers,write_discounts,write_pixels,read_customer_events,write_app_proxy"
    secret_key: str = DEFAULT_SECRET_KEY
    token_encryption_key: str | None = None
    session_timeout_minutes: int = 30
    writer_claim_idle_seconds: int = 30
    ingest_per_ip_per_minute: int = 1200
    ingest_per_shop_per_minute: int = 120_000
    ingest_spool_dir: str = ""  # "" (or INGEST_SPOOL_DIR=off): the collector waits on Redis per request
    # proxies in front whose X-Forwarded-For hop is believed (0: the socket's peer is the client)
    trusted_proxy_count: int = 0
    widget_per_ip_per_minute: int = 600
    widget_per_shop_per_minute: int = 60_000
    recommendations_refresh_seconds: int = 10
    recommendations_cache_seconds: int = 300
    data_request_retention_days: int = 7
    log_format: str = "text"
    log_level: str = "INFO"
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: str = ""
    model_dir: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def embedded(self) -> bool:
        """True when there is no Redis: events are written in process, tasks run eagerly."""
        return self.redis_url is None and self.celery_broker_url is None

    def as_flask_config(self) -> dict[str, Any]:
        """The settings as Flask config keys (upper case), plus SQLAlchemy's."""
        values = {key.upper(): value for key, value in asdict(self).items() if key != "extra"}
        values["SQLALCHEMY_DATABASE_URI"] = self.database_url
        if self.database_replica_url:
            values["SQLALCHEMY_BINDS"] = {"replica": self.database_replica_url}
        values.update(self.extra)
        return values


def load_settings(env: Mapping[str, str] | None = None, *, instance_path: str) -> Settings:
    """Read and validate every setting from `env` (default: the process environment)."""
    env = os.environ if env is None else env
    profile = env_choice(env, "CLICKSTREAM_ENV", "development", PROFILES)
    default_db = "sqlite:///" + str(Path(instance_path) / "clickstream.db")
    db_schemes = ("sqlite", "mysql", "mariadb")
    redis_url = env_url(env, "REDIS_URL", None, schemes=("redis", "rediss", "unix"))
    settings = Settings(
        profile=profile,
        database_url=env_url(env, "DATABASE_URL", default_db, schemes=db_schemes) or default_db,
        database_replica_url=env_url(env, "DATABASE_REPLICA_URL", None, schemes=db_schemes),
        redis_url=redis_url,
        celery_broker_url=env_url(
            env, "CELERY_BROKER_URL", redis_url, schemes=("redis", "rediss", "amqp", "pyamqp")
        ),
        shopify_api_key=_text(env, "SHOPIFY_API_KEY", Settings.shopify_api_key) or "",
        shopify_api_secret=_text(env, "SHOPIFY_API_SECRET", Settings.shopify_api_secret) or "",
        shopify_api_secret_previous=_text(env, "SHOPIFY_API_SECRET_PREVIOUS"),
        shopify_app_url=env_url(env, "SHOPIFY_APP_URL", Settings.shopify_app_url, schemes=("http", "https"))
        or Settings.shopify_app_url,
        shopify_api_version=_api_version(env),
        shopify_api_base_url=_api_base_url(env),
        shopify_scopes=_text(env, "SHOPIFY_SCOPES", Settings.shopify_scopes) or "",
        secret_key=_text(env, "SECRET_KEY", DEFAULT_SECRET_KEY) or DEFAULT_SECRET_KEY,
        token_encryption_key=_text(env, "TOKEN_ENCRYPTION_KEY"),
        session_timeout_minutes=env_int(env, "SESSION_TIMEOUT_MINUTES", 30, minimum=1),
        writer_claim_idle_seconds=env_int(env, "WRITER_CLAIM_IDLE_SECONDS", 30, minimum=1),
        ingest_per_ip_per_minute=env_int(env, "INGEST_PER_IP_PER_MINUTE", 1200, minimum=1),
        ingest_per_shop_per_minute=env_int(env, "INGEST_PER_SHOP_PER_MINUTE", 120_000, minimum=1),
        ingest_spool_dir=_spool_dir(env, instance_path),
        trusted_proxy_count=env_int(env, "TRUSTED_PROXY_COUNT", 0),
        widget_per_ip_per_minute=env_int(env, "WIDGET_PER_IP_PER_MINUTE", 600, minimum=1),
        widget_per_shop_per_minute=env_int(env, "WIDGET_PER_SHOP_PER_MINUTE", 60_000, minimum=1),
        recommendations_refresh_seconds=env_int(env, "RECOMMENDATIONS_REFRESH_SECONDS", 10),
        recommendations_cache_seconds=env_int(env, "RECOMMENDATIONS_CACHE_SECONDS", 300),
        data_request_retention_days=env_int(env, "DATA_REQUEST_RETENTION_DAYS", 7, minimum=1),
        log_format=env_choice(
            env, "LOG_FORMAT", "json" if profile == "production" else "text", ("json", "text")
        ),
        log_level=env_choice(env, "LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")),
        host=_text(env, "HOST", "127.0.0.1") or "127.0.0.1",
        port=env_int(env, "PORT", 8000, minimum=1),
        data_dir=_text(env, "CLICKSTREAM_DATA_DIR", str(REPO_ROOT.parent / "shared" / "data")) or "",
        model_dir=_text(env, "MODEL_DIR", str(Path(instance_path) / "models")) or "",
    )
    if profile == "production":
        check_production(settings, env)
    return settings


def _spool_dir(env: Mapping[str, str], instance_path: str) -> str:
    """Where the collector spools batches for Redis (see analytics.ingest.spool); "off" turns it off."""
    raw = _text(env, "INGEST_SPOOL_DIR", str(Path(instance_path) / "ingest-spool")) or ""
    return "" if raw.lower() == "off" else raw


def _api_version(env: Mapping[str, str]) -> str:
    raw = _text(env, "SHOPIFY_API_VERSION", Settings.shopify_api_version) or ""
    parts = raw.split("-")
    valid = len(parts) == 2 and parts[0].isdigit() and len(parts[0]) == 4
    if (not valid or parts[1] not in {"01", "04", "07", "10"}) and raw != "unstable":
        raise ConfigError(f"SHOPIFY_API_VERSION: expected YYYY-MM (a quarter), got {raw!r}")
    return raw


def _api_base_url(env: Mapping[str, str]) -> str:
    raw = _text(env, "SHOPIFY_API_BASE_URL", Settings.shopify_api_base_url) or ""
    if "{shop}" not in raw or urlsplit(raw).scheme not in {"http", "https"}:
        raise ConfigError(f"SHOPIFY_API_BASE_URL: expected an http(s) URL containing {{shop}}, got {raw!r}")
    return raw.rstrip("/")


def check_production(settings: Settings, env: Mapping[str, str]) -> None:
    """Refuse to run in production on missing, demo or weak secrets, naming all of them at once."""
    problems = []
    secret_key = _text(env, "SECRET_KEY")
    if secret_key is None or secret_key == DEFAULT_SECRET_KEY:
        problems.append(f"SECRET_KEY: must be set to a random value of at least {MIN_SECRET_KEY_BYTES} bytes")
    elif len(secret_key.encode()) < MIN_SECRET_KEY_BYTES:
        problems.append(
            f"SECRET_KEY: must be at least {MIN_SECRET_KEY_BYTES} bytes, not {len(secret_key.encode())}"
        )
    for name, demo in (("SHOPIFY_API_KEY", DEMO_API_KEY), ("SHOPIFY_API_SECRET", DEMO_API_SECRET)):
        value = _text(env, name)
        if value is None:
            problems.append(f"{name}: must be set (from the Partner Dashboard)")
        elif value == demo:
            problems.append(f"{name}: is the demo value; set the app's own (from the Partner Dashboard)")
    if _text(env, "SHOPIFY_API_SECRET_PREVIOUS") == DEMO_API_SECRET:
        problems.append("SHOPIFY_API_SECRET_PREVIOUS: is the demo value")
    encryption_keys = _text(env, "TOKEN_ENCRYPTION_KEY")
    if encryption_keys is None:
        problems.append("TOKEN_ENCRYPTION_KEY: must be set")
    elif not all(_is_fernet_key(key) for key in encryption_keys.split(",")):
        problems.append(
            "TOKEN_ENCRYPTION_KEY: expected comma-separated Fernet keys (32 url-safe base64 bytes each)"
        )
    if problems:
        raise ConfigError("production refuses to start on missing or weak secrets: " + "; ".join(problems))


def _is_fernet_key(key: str) -> bool:
    """A Fernet key is 32 bytes in url-safe base64 (44 characters with padding)."""
    text = key.strip()
    try:
        return len(base64.urlsafe_b64decode(text.encode("ascii"))) == 32 and len(text) == 44
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return False
