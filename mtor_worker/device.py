"""What the worker computes on, for WorkerHello and heartbeats.

Detection never imports torch (slow, and absent on CPU-only hosts): the CPU
comes from /proc/cpuinfo and GPUs from `nvidia-smi`, which runs in a thread
with a short timeout so a wedged driver cannot stall the event loop.
"""
from __future__ import annotations

import asyncio
import logging
import platform
import shutil
import subprocess
import time
from dataclasses import dataclass

from mtor_client._proto.mtor.v1 import worker_link_pb2

log = logging.getLogger("mtor.worker")

MIB = 1024 * 1024
NVIDIA_SMI_TIMEOUT_S = 3.0
REFRESH_EVERY_S = 5.0


@dataclass(frozen=True)
class DeviceInfo:
    """One device; memory in bytes, 0 on CPU."""

    type: str
    name: str
    vram_total_bytes: int = 0
    vram_free_bytes: int = 0

    def to_proto(self) -> worker_link_pb2.Device:
        return worker_link_pb2.Device(type=self.type, name=self.name,
                                      vram_total_bytes=self.vram_total_bytes,
                                      vram_free_bytes=self.vram_free_bytes)


def cpu_name(cpuinfo_path: str = "/proc/cpuinfo") -> str:
    """The CPU model as the kernel names it, falling back to platform data."""
    try:
        with open(cpuinfo_path, encoding="utf-8", errors="replace") as f:
            for line in f:
                key, sep, value = line.partition(":")
                if sep and key.strip() in ("model name", "Model", "Hardware", "cpu model") and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def _mib(field: str) -> int:
    try:
        return int(float(field.strip()) * MIB)
    except ValueError:  # "[N/A]" on some boards
        return 0


def parse_nvidia_smi(text: str) -> list[DeviceInfo]:
    """Parse `--query-gpu=name,memory.total,memory.free --format=csv,noheader,nounits` (MiB)."""
    devices = []
    for line in text.splitlines():
        parts = [p.strip() for p in line.rsplit(",", 2)]
        if len(parts) != 3 or not parts[0]:
            continue
        devices.append(DeviceInfo("cuda", parts[0], _mib(parts[1]), _mib(parts[2])))
    return devices


def query_gpus(timeout_s: float = NVIDIA_SMI_TIMEOUT_S) -> list[DeviceInfo]:
    """CUDA devices via nvidia-smi; [] when it is missing or fails. Blocking."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    try:
        out = subprocess.run(
            [exe, "--query-gpu=name,memory.total,memory.free", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=timeout_s, check=True).stdout
    except (OSError, subprocess.SubprocessError) as e:
        log.debug("nvidia-smi failed: %s", e)
        return []
    return parse_nvidia_smi(out)


def detect_devices() -> list[DeviceInfo]:
    """The CPU first, then every CUDA device. Blocking (runs nvidia-smi)."""
    return [DeviceInfo("cpu", cpu_name()), *query_gpus()]


class DeviceMonitor:
    """Cached device list for heartbeats, refreshed in the background at most
    every `refresh_s` so a heartbeat never waits on nvidia-smi."""

    def __init__(self, refresh_s: float = REFRESH_EVERY_S) -> None:
        self._refresh_s = refresh_s
        self._devices: list[DeviceInfo] = []
        self._taken_at = float("-inf")
        self._task: asyncio.Task[None] | None = None

    async def refresh(self) -> list[DeviceInfo]:
        """Detect now (in a thread) and cache; used before hello."""
        self._devices = await asyncio.to_thread(detect_devices)
        self._taken_at = time.monotonic()
        return self._devices

    def current(self) -> list[DeviceInfo]:
        """The cached list; starts a background refresh when it is stale."""
        stale = time.monotonic() - self._taken_at >= self._refresh_s
        if stale and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self._refresh_quietly())
        return self._devices or [DeviceInfo("cpu", cpu_name())]

    async def _refresh_quietly(self) -> None:
        try:
            await self.refresh()
        except Exception as e:  # detection must never take the worker down
            log.debug("device refresh failed: %s", e)
            self._taken_at = time.monotonic()

    async def close(self) -> None:
        """Wait for a running refresh, so no thread outlives the worker."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

