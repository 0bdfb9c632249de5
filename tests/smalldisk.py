"""A small disk that fills up, without root: a tmpfs mounted in a mount namespace of its own.

`unshare --mount --map-root-user` makes the namespace (as tests/netns.py does for networks); a holder
process keeps it alive, realms run in it through nsenter, and the test reaches the files from outside
through /proc/HOLDER/root, to fill the disk and free it again.
"""
from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path


class SmallDisk:
    def __init__(self, mountpoint: Path, size: str) -> None:
        """`mountpoint`: an absolute path; `size`: tmpfs's size= (e.g. "2m")."""
        mountpoint.mkdir(parents=True, exist_ok=True)
        self.mountpoint = mountpoint
        self._holder = subprocess.Popen(
            ["unshare", "--mount", "--map-root-user", "--propagation", "private", "sh", "-c",
             'mount -t tmpfs -o size="$1" tmpfs "$0" && echo mounted && exec sleep infinity',
             str(mountpoint), size], stdout=subprocess.PIPE, text=True, start_new_session=True)
        assert self._holder.stdout is not None
        line = self._holder.stdout.readline().strip()
        if line != "mounted":
            self._holder.kill()
            raise RuntimeError(f"could not mount a tmpfs of {size} at {mountpoint} in a namespace of its own")

    @property
    def prefix(self) -> list[str]:
        """Run a command inside, where the tmpfs is mounted."""
        return ["nsenter", "-t", str(self._holder.pid), "-m", "-U", "--preserve-credentials"]

    def path(self, name: str) -> Path:
        """A file on the tmpfs, seen from outside."""
        return Path(f"/proc/{self._holder.pid}/root") / self.mountpoint.relative_to("/") / name

    def fill(self) -> int:
        """Take every free byte; returns how many."""
        written = 0
        chunk = b"\0" * 4096
        fd = os.open(self.path("filler"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            while True:
                written += os.write(fd, chunk)
        except OSError as e:
            if e.errno != errno.ENOSPC:
                raise
        finally:
            os.close(fd)
        return written

    def free(self) -> None:
        self.path("filler").unlink(missing_ok=True)

    def stop(self) -> None:
        self._holder.kill()
        self._holder.wait(10)
