"""A throwaway PostgreSQL server for tests: initdb and pg_ctl in a temporary folder, listening on 127.0.0.1
only, at a free port, with its socket in that folder; stopped and removed after.

PostgreSQL refuses to run as root (as CI does), so there the cluster is made and run as the `postgres` user
that Debian's package creates (`make postgres` installs it).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

USER = "mtor"
"""The cluster's superuser; local connections are trusted (nothing listens beyond 127.0.0.1)."""


def bindir() -> Path:
    """Where initdb and pg_ctl are: the newest of Debian's /usr/lib/postgresql/N/bin, else the PATH's."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError("PostgreSQL's initdb is not installed: run `make postgres` (Debian's postgresql)")
    return Path(initdb).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PgServer:
    root: Path
    port: int
    _as: tuple[str, ...]

    @property
    def url(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([*self._as, *args], capture_output=True, text=True, cwd="/")
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done

    @classmethod
    def start(cls) -> PgServer:
        """In a folder of its own under the system's temporary folder: as root, the `postgres` user must reach
        it, and pytest's folders are root's alone."""
        root = Path(tempfile.mkdtemp(prefix="mtor-pg-"))
        run_as: tuple[str, ...] = ()
        if os.geteuid() == 0:  # initdb: "cannot be run as root"
            run_as = ("runuser", "-u", "postgres", "--")
            shutil.chown(root, "postgres", "postgres")
        server = cls(root, _free_port(), run_as)
        pg = bindir()
        server._run(str(pg / "initdb"), "-D", str(root / "data"), "-U", USER, "--auth=trust", "-E", "UTF8",
                    "--no-sync")
        server._run(str(pg / "pg_ctl"), "-D", str(root / "data"), "-l", str(root / "server.log"), "-w", "-o",
                    f"-p {server.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        return server

    def stop(self) -> None:
        """Fast shutdown (clients disconnected), then the folder goes."""
        try:
            self._run(str(bindir() / "pg_ctl"), "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
