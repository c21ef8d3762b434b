"""A throwaway PostgreSQL server for tests and benches.

``start_server`` runs ``initdb`` into a temporary directory and ``pg_ctl
start`` on a free loopback port (TCP on 127.0.0.1 only, the Unix socket in
the same directory), and ``stop`` shuts it down and deletes the directory.
PostgreSQL refuses to run as root, so as root the directory is handed to the
``postgres`` OS user and every server command runs as that user.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PostgresServer", "ServerUnavailable", "find_bin_dir", "start_server"]

SUPERUSER = "newsloom"


class ServerUnavailable(RuntimeError):
    """No server could be started (binaries missing or start-up failed)."""


def find_bin_dir() -> Path | None:
    """The newest installed PostgreSQL's bin directory (Debian layout), or one on PATH."""
    override = os.environ.get("NEWSLOOM_PG_BIN")
    if override:
        return Path(override)
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(slots=True)
class PostgresServer:
    """A running throwaway server; ``url(db)`` addresses one of its databases."""

    bin_dir: Path
    root: Path
    port: int
    run_as: str | None

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _command(self, *args: str) -> list[str]:
        if self.run_as:
            return ["runuser", "-u", self.run_as, "--", *args]
        return list(args)

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self._command(*args), capture_output=True, text=True, timeout=timeout, check=False
        )

    def create_database(self, name: str | None = None, *, template: str | None = None) -> str:
        """Create a database (a copy of ``template`` if given); returns its name."""
        import psycopg

        name = name or f"t_{uuid.uuid4().hex[:12]}"
        clause = f' TEMPLATE "{template}"' if template else ""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{clause}')
        return name

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its directory."""
        try:
            if (self.data_dir / "postmaster.pid").exists():
                self.run(
                    str(self.bin_dir / "pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "fast",
                    "-w", "-t", "30",
                )  # fmt: skip
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_server(*, bin_dir: Path | None = None, timeout: float = 60) -> PostgresServer:
    """initdb + pg_ctl start on 127.0.0.1:<free port>; raises ``ServerUnavailable``."""
    bin_dir = bin_dir or find_bin_dir()
    if bin_dir is None or not (bin_dir / "initdb").exists():
        raise ServerUnavailable("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    run_as = None
    if os.geteuid() == 0:
        run_as = "postgres"
        try:
            import pwd

            pwd.getpwnam(run_as)
        except KeyError as exc:
            raise ServerUnavailable("running as root and there is no 'postgres' user") from exc
    root = Path(tempfile.mkdtemp(prefix="newsloom-pg-"))
    server = PostgresServer(bin_dir=bin_dir, root=root, port=_free_port(), run_as=run_as)
    try:
        if run_as:
            shutil.chown(root, user=run_as)
            root.chmod(0o700)
        done = server.run(
            str(bin_dir / "initdb"), "-D", str(server.data_dir), "-U", SUPERUSER,
            "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        if done.returncode != 0:
            raise ServerUnavailable(f"initdb failed: {done.stderr.strip() or done.stdout.strip()}")
        # Throwaway data: no fsync; small shared memory so several servers fit.
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={server.port} "
            f"-c unix_socket_directories={root} -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=60 -c shared_buffers=64MB"
        )
        done = server.run(
            str(bin_dir / "pg_ctl"), "start", "-D", str(server.data_dir), "-w",
            "-t", str(int(timeout)), "-l", str(root / "server.log"), "-o", options,
            timeout=timeout + 10,
        )  # fmt: skip
        if done.returncode != 0:
            log = (root / "server.log").read_text(errors="replace")[-2000:]
            raise ServerUnavailable(f"pg_ctl start failed: {done.stderr.strip()}\n{log}")
        _wait_ready(server, timeout)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_ready(server: PostgresServer, timeout: float) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(server.url(), connect_timeout=5):
                return
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                raise ServerUnavailable(f"the server did not accept connections: {exc}") from exc
            time.sleep(0.2)
