"""A private Postgres cluster from the system's Postgres binaries, for the demo and the tests.

Chosen over a Postgres packaged on PyPI because the system binaries are the same server users run in
production, start in about a second, and need no download at run time. As root, the cluster runs as an
unprivileged user (`postgres` where it exists, else `nobody`), since Postgres refuses to run as root.
"""

from __future__ import annotations

import fcntl
import glob
import os
import pwd
import shutil
import socket
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

SUPERUSER = "ycpipeline"


def _first_unreachable(path: Path, uid: int, gid: int) -> Path | None:
    """The first directory from / to `path` that a process of `uid`/`gid` cannot enter, or None."""
    for directory in [*reversed(path.resolve().parents), path.resolve()]:
        mode = directory.stat()
        if mode.st_uid == uid:
            allowed = bool(mode.st_mode & stat.S_IXUSR)
        elif mode.st_gid == gid:
            allowed = bool(mode.st_mode & stat.S_IXGRP)
        else:
            allowed = bool(mode.st_mode & stat.S_IXOTH)
        if not allowed:
            return directory
    return None


class EmbeddedPostgresError(RuntimeError):
    """The private cluster could not be created, started or stopped."""


def find_bindir() -> Path:
    """The directory holding `initdb` and `pg_ctl` (newest Debian install, else PATH)."""
    if env := os.environ.get("PG_BINDIR"):
        return Path(env)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if candidates:
        return Path(candidates[-1])
    if initdb := shutil.which("initdb"):
        return Path(initdb).parent
    raise EmbeddedPostgresError(
        "no Postgres server binaries found: install them (Debian/Ubuntu: `apt-get install postgresql`) "
        "or set WAREHOUSE_URL to an existing Postgres"
    )


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise EmbeddedPostgresError(
        "running as root and no unprivileged user (postgres/nobody) to run Postgres as"
    )


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when nothing listens on `host:port` right now."""
    with socket.socket() as sock:
        # As Postgres binds: connections of a cluster just stopped linger in TIME_WAIT on its port for
        # a minute; they do not stop a new server from listening there, so they must not count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


@dataclass
class EmbeddedPostgres:
    """A cluster in `data_dir` listening on 127.0.0.1:`port` with trust auth for the local superuser."""

    data_dir: Path
    port: int = 55432

    @property
    def log_file(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}.log"

    def url(self, database: str = "ycpipeline") -> str:
        """SQLAlchemy URL of a database in this cluster."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _cmd(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        user = _run_as()
        try:
            return subprocess.run(
                [str(find_bindir() / args[0]), *args[1:]],
                user=user,
                check=check,
                capture_output=True,
                text=True,
                cwd="/",
            )
        except subprocess.CalledProcessError as exc:
            raise EmbeddedPostgresError(
                f"{args[0]} failed: {exc.stderr.strip() or exc.stdout.strip()} (log: {self.log_file})"
            ) from None

    def _prepare_dirs(self) -> None:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        user = _run_as()
        if user is not None:
            entry = pwd.getpwnam(user)
            for path in (self.data_dir, self.log_file):
                if not path.exists():
                    if path == self.data_dir:
                        path.mkdir(mode=0o700)
                    else:
                        path.touch()
                os.chown(path, entry.pw_uid, entry.pw_gid)
            blocked = _first_unreachable(self.data_dir.parent, entry.pw_uid, entry.pw_gid)
            if blocked is not None:
                raise EmbeddedPostgresError(
                    f"the cluster runs as user {user}, which cannot enter {blocked} (mode "
                    f"{blocked.stat().st_mode & 0o777:04o}): choose a data directory it can reach (e.g. under "
                    f"/tmp or var/ of the project), or let it in: chmod o+x {blocked}"
                )

    def is_running(self) -> bool:
        """True when the server answers on its port."""
        try:
            with psycopg.connect(
                f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname=postgres", connect_timeout=2
            ):
                return True
        except psycopg.OperationalError:
            return False

    def start(self, databases: tuple[str, ...] = ("ycpipeline",)) -> None:
        """Create the cluster if needed, start it and create `databases`.

        Safe to call from several processes at once (test workers): they take turns on a lock file.
        """
        self.data_dir = self.data_dir.resolve()
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir.parent / f"{self.data_dir.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._start_locked(databases)

    def _start_locked(self, databases: tuple[str, ...]) -> None:
        if not self.is_running():
            if not port_is_free(self.port):
                raise EmbeddedPostgresError(
                    f"port {self.port} is taken by another program: pick another port "
                    "(--port, or TEST_PG_PORT for `make test`)"
                )
            self._prepare_dirs()
            if not (self.data_dir / "PG_VERSION").exists():
                self._cmd(
                    "initdb",
                    "-D",
                    str(self.data_dir),
                    "-U",
                    SUPERUSER,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                )
            options = (
                f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
                "-c fsync=on -c max_connections=200"
            )
            self._cmd(
                "pg_ctl",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            )
        deadline = time.monotonic() + 30
        while not self.is_running():
            if time.monotonic() > deadline:
                raise EmbeddedPostgresError(
                    f"Postgres did not come up on port {self.port} (log: {self.log_file})"
                )
            time.sleep(0.1)
        for name in databases:
            self.create_database(name)

    def create_database(self, name: str) -> None:
        """Create a database unless it exists."""
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname=postgres", autocommit=True
        ) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')

    def stop(self) -> bool:
        """Stop the server (fast shutdown); returns False when no server of this directory was running."""
        if not (self.data_dir / "postmaster.pid").exists():
            return False
        self._cmd("pg_ctl", "-D", str(self.data_dir.resolve()), "-m", "fast", "-w", "stop", check=False)
        return True
