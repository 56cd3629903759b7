"""A throwaway PostgreSQL server for the tests, from Debian's binaries (``make test`` installs
the ``postgresql`` package): initdb into a temporary folder, a free port on 127.0.0.1, the unix
socket in that folder, durability off for speed; one fresh database per test or module.

initdb refuses to run as root, so under root (as in CI) the server runs as the ``postgres``
system user that Debian's package creates.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql

#: Where Debian puts each PostgreSQL version's server binaries.
DEBIAN_BIN_DIRS = Path("/usr/lib/postgresql")
#: The superuser initdb creates; local connections are trusted (the server listens on loopback only).
SUPERUSER = "postgres"
#: Durability is worth nothing for a server deleted at the end of the session.
SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def server_binaries() -> Path:
    """The folder of the newest installed version's initdb and pg_ctl; an error that says what to
    install when there is none."""
    installed = sorted(DEBIAN_BIN_DIRS.glob("*/bin/pg_ctl"), key=lambda path: int(path.parts[-3]))
    if not installed:
        raise RuntimeError("PostgreSQL's server binaries (initdb, pg_ctl) are not installed: the database and API "
                           "tests run on PostgreSQL too; `make test` installs Debian's postgresql package "
                           "(or: apt-get install postgresql)")
    return installed[-1].parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    """A server in its own temporary folder, started by :meth:`start`, gone after :meth:`stop`."""

    def __init__(self) -> None:
        self.bin = server_binaries()
        self.user = SUPERUSER if os.geteuid() == 0 else None
        self.folder = Path(tempfile.mkdtemp(prefix="audio-sampler-pg-"))
        if self.user:
            shutil.chown(self.folder, self.user, self.user)
        self.data = self.folder / "data"
        self.port = free_port()
        self._names = itertools.count(1)

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run([str(self.bin / tool), *args], user=self.user, capture_output=True, text=True)
        if done.returncode != 0:
            log = self.folder / "server.log"
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr or done.stdout}"
                               + (log.read_text() if log.exists() else ""))

    def start(self) -> PostgresServer:
        try:
            self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8",
                      "--locale=C", "--no-sync", "--no-instructions")
            settings = {**SETTINGS, "port": str(self.port), "listen_addresses": "'127.0.0.1'",
                        "unix_socket_directories": f"'{self.folder}'"}
            with (self.data / "postgresql.conf").open("a") as conf:
                conf.writelines(f"{name} = {value}\n" for name, value in settings.items())
            self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"), "-w", "start")
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        return self

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of ``database`` on this server."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _admin(self, statement: sql.Composed) -> None:
        with psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres",
                             autocommit=True) as connection:
            connection.execute(statement)

    def create_database(self, template: str = "template0") -> str:
        """A new database, a copy of ``template`` (by default empty); its name."""
        name = f"test_{next(self._names)}"
        self._admin(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))
        return name

    def drop_database(self, name: str) -> None:
        """Drop ``name``, closing connections to it that are still open."""
        self._admin(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
