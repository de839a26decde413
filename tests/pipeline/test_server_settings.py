"""The writer warns the operator when MariaDB has less memory or redo log than it needs."""

from __future__ import annotations

import configparser
import logging
from typing import Any

import pytest

from analytics.writer import consumer, server_settings
from analytics.writer.server_settings import GIB, MIB, RECOMMENDED, shortfalls
from tests.conftest import REPO_ROOT

MARIADB_DEFAULTS = {"innodb_buffer_pool_size": 128 * MIB, "innodb_log_file_size": 96 * MIB}
UNITS = {"K": 1 << 10, "M": MIB, "G": GIB}


def _bytes(value: str) -> int:
    return int(value[:-1]) * UNITS[value[-1]] if value[-1] in UNITS else int(value)


def test_the_deploy_file_sets_what_the_writer_asks_for() -> None:
    parser = configparser.ConfigParser()
    parser.read(REPO_ROOT / "deploy" / "mariadb.cnf")
    assert {name: _bytes(value) for name, value in parser["mariadbd"].items()} == RECOMMENDED


def test_each_setting_below_its_recommendation_gets_a_sentence_naming_it_and_both_sizes() -> None:
    assert shortfalls(MARIADB_DEFAULTS) == [
        "MariaDB's innodb_buffer_pool_size is 128 MB; the event writer needs at least 2 GB to keep up "
        "with a busy store (see deploy/mariadb.cnf)",
        "MariaDB's innodb_log_file_size is 96 MB; the event writer needs at least 1 GB to keep up "
        "with a busy store (see deploy/mariadb.cnf)",
    ]
    assert shortfalls({**RECOMMENDED, "innodb_log_file_size": 4 * GIB}) == []


def test_the_writer_warns_about_what_this_server_lacks_and_nothing_else(
    db: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    if db.engine.dialect.name == "sqlite":
        with caplog.at_level(logging.INFO, logger=server_settings.__name__):
            server_settings.warn_if_short()
        assert not caplog.records, "SQLite has no server to tune, nor to ask"
        return
    found = server_settings.current_settings()
    assert found["innodb_buffer_pool_size"] >= 5 * MIB  # MariaDB's smallest buffer pool
    assert found["innodb_log_file_size"] >= MIB
    # Ask for exactly what this server has: no warning. Then for a byte more of the redo log.
    monkeypatch.setattr(server_settings, "RECOMMENDED", dict(found))
    with caplog.at_level(logging.WARNING, logger=server_settings.__name__):
        server_settings.warn_if_short()
        assert not caplog.records
        monkeypatch.setitem(
            server_settings.RECOMMENDED, "innodb_log_file_size", found["innodb_log_file_size"] + 1
        )
        server_settings.warn_if_short()
    assert [record.getMessage().split(";")[0] for record in caplog.records] == [
        f"MariaDB's innodb_log_file_size is {server_settings._size(found['innodb_log_file_size'])}"
    ]


def test_a_starting_writer_says_what_the_server_lacks(
    make_app: Any, redis_url: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(ENV={"REDIS_URL": redis_url})
    with app.app_context():
        mariadb = server_settings.db.engine.dialect.name != "sqlite"
        found = server_settings.current_settings() if mariadb else dict(RECOMMENDED)
    monkeypatch.setattr(server_settings, "RECOMMENDED", {**found, "innodb_buffer_pool_size": 64 * GIB})
    with caplog.at_level(logging.INFO, logger=server_settings.__name__):
        consumer.run(app, stop_after_idle=0.0)
    size = server_settings._size(found["innodb_buffer_pool_size"])
    said = [record.getMessage() for record in caplog.records if record.name == server_settings.__name__]
    assert said == (
        [
            f"MariaDB's innodb_buffer_pool_size is {size}; the event writer needs at least 64 GB "
            "to keep up with a busy store (see deploy/mariadb.cnf)"
        ]
        if mariadb
        else []  # SQLite, the embedded mode: no server to tune
    )
