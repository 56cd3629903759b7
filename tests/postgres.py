"""A throwaway PostgreSQL server for the tests, from Debian's binaries (``make test`` installs
the ``postgresql`` package): initdb into a temporary folder, a free port on 127.0.0.1, the unix
socket in that folder, durability off for speed; one fresh database per test or module. The
server is a child of the test process, in its process group: a test run stopped by Ctrl-C or
a timeout stops it too.

initdb refuses to run as root, so under root (as in CI) the server runs as the ``postgres``
system user that Debian's package creates.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

#: Where Debian puts each PostgreSQL version's server binaries.
DEBIAN_BIN_DIRS = Path("/usr/lib/postgresql")
#: The superuser initdb creates; local connections are trusted (the server listens on loopback only).
SUPERUSER = "postgres"
#: Durability is worth nothing for a server deleted at the end of the session.
SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
#: Seconds the server may take to accept connections.
START_TIMEOUT_S = 60


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
        self.log = self.folder / "server.log"
        self._server: subprocess.Popen | None = None
        self._names = itertools.count(1)

    def start(self) -> PostgresServer:
        try:
            initdb = subprocess.run([str(self.bin / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "--auth=trust",
                                     "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"],
                                    user=self.user, capture_output=True, text=True)
            if initdb.returncode != 0:
                raise RuntimeError(f"initdb failed ({initdb.returncode}): {initdb.stderr or initdb.stdout}")
            settings = {**SETTINGS, "port": str(self.port), "listen_addresses": "'127.0.0.1'",
                        "unix_socket_directories": f"'{self.folder}'"}
            with (self.data / "postgresql.conf").open("a") as conf:
                conf.writelines(f"{name} = {value}\n" for name, value in settings.items())
            with self.log.open("w") as log:
                self._server = subprocess.Popen([str(self.bin / "postgres"), "-D", str(self.data)], user=self.user,
                                                stdout=log, stderr=subprocess.STDOUT)
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                self._connect().close()
                return
            except psycopg.OperationalError:
                if self._server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"PostgreSQL did not start:\n{self.log.read_text()}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self._server is not None:
            self._server.send_signal(signal.SIGQUIT)  # immediate shutdown: nothing here is worth keeping
            self._server.wait()
        shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of ``database`` on this server."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _connect(self) -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True)

    def _admin(self, statement: sql.Composed) -> None:
        with self._connect() as connection:
            connection.execute(statement)

    def create_database(self, template: str = "template0") -> str:
        """A new database, a copy of ``template`` (by default empty); its name."""
        name = f"test_{next(self._names)}"
        self._admin(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))
        return name

    def drop_database(self, name: str) -> None:
        """Drop ``name``, closing connections to it that are still open."""
        self._admin(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
