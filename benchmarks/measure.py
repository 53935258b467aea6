"""What every benchmark run shares: failure, the memory high-water mark, timed transfers.

``worker.py`` and the scenario modules beside it (``aio_worker.py``, ``bulk_worker.py``)
import from here, so that one ``BenchFailure`` stops a run whichever of them raised it.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from typing import Any, Callable, Dict, List, Optional

CHUNK = 1024 * 1024
MIB = 1024 * 1024

Figures = Dict[str, float]


class BenchFailure(Exception):
    """A run produced a wrong result; its figures must not be used."""


def check(condition: bool, message: str) -> None:
    """Raise :class:`BenchFailure` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise BenchFailure(message)


# -- process memory --------------------------------------------------------------------------


def _status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise BenchFailure(f"/proc/self/status has no {field}")


class PeakRss:
    """Peak resident memory growth over a block, from ``/proc/self/status``.

    The kernel's high-water mark (VmHWM) is reset on entry by writing ``5`` to
    ``/proc/self/clear_refs``, so the peak is the block's own; where that is refused the
    peak since process start is used, which can only overstate the growth.
    """

    def __enter__(self) -> PeakRss:
        self.before_kib = _status_kib("VmRSS")
        try:
            with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
                refs.write("5")
            self.reset = True
        except OSError:
            self.reset = False
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.peak_kib = _status_kib("VmHWM")

    @property
    def growth_mib(self) -> float:
        """Peak RSS during the block minus RSS on entry, in MiB."""
        return max(0, self.peak_kib - self.before_kib) / 1024


# -- the bench server's counters --------------------------------------------------------------


def server_stats(url: str, action: str = "stats") -> Dict[str, int]:
    """The bench server's counters (``action="reset"``: zero them first)."""
    import urllib3

    method = "POST" if action == "reset" else "GET"
    response = urllib3.request(method, f"{url}/_bench/{action}")
    stats: Dict[str, int] = json.loads(response.data)
    return stats


# -- transfers -------------------------------------------------------------------------------


def timed_transfers(transfer: Callable[[], int], size: int, count: int,
                    after: Optional[Callable[[], None]] = None) -> Figures:
    """Run ``transfer`` ``count`` times; median throughput and CPU, largest peak RSS growth.

    ``transfer`` returns the number of content bytes that arrived, which must be ``size``;
    ``after`` checks and cleans up after each transfer, outside the timing.
    """
    rates: List[float] = []
    cpus: List[float] = []
    growth: List[float] = []
    reset = True
    for _ in range(count):
        cpu0, wall0 = time.process_time(), time.perf_counter()
        with PeakRss() as rss:
            received = transfer()
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        check(received == size, f"{received} content bytes arrived of {size}")
        if after is not None:
            after()
        rates.append(size / MIB / wall)
        cpus.append(cpu)
        growth.append(rss.growth_mib)
        reset = reset and rss.reset
    return {
        "mib_s": statistics.median(rates),
        "cpu_s": statistics.median(cpus),
        "rss_growth_mib": max(growth),
        "hwm_reset": 1.0 if reset else 0.0,
    }


def check_pattern(path: str, size: int) -> None:
    """The bench server sends byte ``i % 256`` at offset ``i``; sample the written file for it."""
    check(os.path.getsize(path) == size, f"downloaded file has {os.path.getsize(path)} bytes, expected {size}")
    with open(path, "rb") as file:
        for k in range(64):
            offset = (size - 1) * k // 63
            file.seek(offset)
            byte = file.read(1)
            check(byte == bytes([offset % 256]), f"downloaded byte at offset {offset} is wrong")


def check_chunk(chunk: bytes, offset: int) -> None:
    """Refuse a downloaded chunk at ``offset`` whose ends are not the server's pattern."""
    if chunk and (chunk[0] != offset % 256 or chunk[-1] != (offset + len(chunk) - 1) % 256):
        raise BenchFailure(f"downloaded chunk at offset {offset} is wrong")
