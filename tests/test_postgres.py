"""The tests' own PostgreSQL server (tests/postgres.py)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests import postgres as harness


def test_without_the_server_binaries_the_tests_fail_and_say_what_to_install(monkeypatch: pytest.MonkeyPatch,
                                                                          tmp_path: Path) -> None:
    monkeypatch.setattr(harness, "DEBIAN_BIN_DIRS", tmp_path)
    with pytest.raises(RuntimeError, match=r"not installed: .*`make test` installs Debian's postgresql package"):
        harness.PostgresServer()


def test_the_server_listens_on_loopback_without_durability(postgres: harness.PostgresServer) -> None:
    with psycopg.connect(host="127.0.0.1", port=postgres.port, user=harness.SUPERUSER, dbname="postgres") as db:
        assert db.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
        assert db.execute("SHOW fsync").fetchone() == ("off",)
