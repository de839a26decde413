"""Files answering `customers/data_request`: what we hold on a customer, for the merchant to send on.

Each is written readable by the app's user only (0600, in 0700 folders), kept until the merchant
downloads it (admin → Settings, or `GET /admin/api/data-requests/<id>`) or for
`DATA_REQUEST_RETENTION_DAYS` (a beat task deletes older ones), and deleted at once by the
customer's or the shop's redaction.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app

PREFIX = "data_request_"
FOLDER_MODE = 0o700
FILE_MODE = 0o600
_REQUEST_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")


@dataclass(frozen=True)
class DataRequestFile:
    """A stored answer to one data request."""

    request_id: str
    shopify_customer_id: int | None
    path: Path
    written_at: datetime

    def expires_at(self, days: int) -> datetime:
        """When the retention task deletes it."""
        return self.written_at + timedelta(days=days)


def exports_root() -> Path:
    """Where every shop's data-request files are kept (in the app's instance folder)."""
    return Path(current_app.instance_path) / "exports"


def _shop_folder(shop_domain: str) -> Path:
    return exports_root() / shop_domain


def _private_folder(path: Path) -> None:
    path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    os.chmod(path, FOLDER_MODE)  # mkdir's mode is reduced by the umask and ignored when it exists


def valid_request_id(value: Any) -> str:
    """The data request's id as a file-name part (digits from Shopify; anything else refused)."""
    text = str(value)
    if not _REQUEST_ID.match(text):
        raise ValueError("the data request id is not a plain id")
    return text


def write_data_request(
    shop_domain: str, request_id: Any, shopify_customer_id: int, export: dict[str, Any]
) -> Path:
    """Store the export for the merchant, readable by the app's user only; returns its path."""
    folder = _shop_folder(shop_domain)
    _private_folder(exports_root())
    _private_folder(folder)
    path = folder / f"{PREFIX}{valid_request_id(request_id)}.json"
    body = {"data_request_id": str(request_id), "shopify_customer_id": shopify_customer_id, **export}
    # Written under a temporary name created 0600 and renamed: never readable by others, not even
    # half-written, and a redelivery replaces the file whole.
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".writing-", suffix=".json")
    try:
        os.fchmod(handle, FILE_MODE)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(body, out, indent=2)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _read(path: Path) -> DataRequestFile | None:
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        written = datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(tzinfo=None)
    except (OSError, ValueError):
        return None
    customer = body.get("shopify_customer_id") if isinstance(body, dict) else None
    return DataRequestFile(
        request_id=path.stem[len(PREFIX) :],
        shopify_customer_id=int(customer) if isinstance(customer, int) else None,
        path=path,
        written_at=written,
    )


def data_requests(shop_domain: str) -> list[DataRequestFile]:
    """The shop's stored data-request files, oldest first."""
    folder = _shop_folder(shop_domain)
    if not folder.is_dir():
        return []
    found = [_read(path) for path in sorted(folder.glob(f"{PREFIX}*.json"))]
    return sorted((item for item in found if item is not None), key=lambda item: item.written_at)


def data_request_path(shop_domain: str, request_id: Any) -> Path | None:
    """The stored file of one request, if it is still there."""
    try:
        path = _shop_folder(shop_domain) / f"{PREFIX}{valid_request_id(request_id)}.json"
    except ValueError:
        return None
    return path if path.is_file() else None


def delete_customer_data_requests(shop_domain: str, shopify_customer_id: int) -> int:
    """Delete every stored export of one customer (their redaction); returns how many."""
    removed = 0
    for item in data_requests(shop_domain):
        if item.shopify_customer_id == shopify_customer_id:
            item.path.unlink(missing_ok=True)
            removed += 1
    return removed


def delete_shop_data_requests(shop_domain: str) -> None:
    """Delete the shop's whole export folder (the shop's redaction)."""
    shutil.rmtree(_shop_folder(shop_domain), ignore_errors=True)


def purge_expired_data_requests(days: int, *, now: datetime | None = None) -> int:
    """Delete every shop's exports written more than `days` days ago; returns how many."""
    root = exports_root()
    if not root.is_dir():
        return 0
    cutoff = (now or datetime.now(UTC).replace(tzinfo=None)) - timedelta(days=days)
    removed = 0
    for path in root.glob("*/*.json"):
        written = datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(tzinfo=None)
        if written < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    for folder in root.iterdir():
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return removed
