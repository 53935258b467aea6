"""The asyncio client's runs (issue 12), started through ``worker.py`` in the bench venv.

Scenarios (``worker.py SCENARIO --variant V ...``):

* ``aio-calls``: ``--calls`` ``stat_object`` calls (each of its own path) at ``--concurrency``
  on one event loop, timed in ``--rounds`` rounds after a warm-up round. Variants: ``ours``
  (``lakefs_sdk.aio``), ``raw`` (an aiohttp ``ClientSession`` sending the same requests, the
  answer decoded with ``json.loads``) and ``ours-sync`` (the sync client, the same calls on
  ``--concurrency`` threads). Every answer is checked against the path asked for, and the
  server must have counted exactly the calls made.
* ``aio-paired``: ``raw`` and ``ours`` (with ``--with-threads`` also ``ours-sync``) in one
  process, alternating rounds in rotating order; the ratios are computed inside the run.
* ``aio-transfer``: a 1 GiB upload (``--to upload``) or download (``--to path`` / ``iter``)
  streamed through ``lakefs_sdk.aio`` or raw aiohttp: throughput, client CPU and peak RSS
  growth (``measure.timed_transfers``); every byte is counted or checked.

Concurrency is ``N`` lanes, lane ``k`` taking paths ``k, k + N, ...`` one call at a time; the
pool of every variant has ``N`` connections (aiohttp: ``limit_per_host=N``), so that ``N``
calls are in flight at once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import threading
import time
from typing import Any, Awaitable, Callable, Dict, List

from measure import (
    CHUNK,
    BenchFailure,
    Figures,
    check,
    check_chunk,
    check_pattern,
    server_stats,
    timed_transfers,
)
from server import stat_size

REPO = "bench-repo"
BRANCH = "main"
WARMUP_CALLS = 100
# The headers this package sends with stat_object (checked against the wire when written).
STAT_HEADERS = {"Accept": "application/json", "User-Agent": "bench-raw-aiohttp", "Accept-Encoding": "identity"}

AsyncCall = Callable[[str], Awaitable[Any]]


def stat_paths(count: int) -> List[str]:
    """``count`` distinct object paths; the server's answer to each names it and sizes it by it."""
    return [f"data/part-{i:05d}.parquet" for i in range(count)]


def check_stat(result: Any, path: str) -> None:
    """Refuse a ``stat_object`` answer that is not the one to ``path``."""
    if isinstance(result, dict):
        got_path, size = result.get("path"), result.get("size_bytes")
    else:
        got_path, size = result.path, result.size_bytes
    if got_path != path or size != stat_size(path):
        raise BenchFailure(f"stat_object({path!r}) answered path={got_path!r} size_bytes={size!r}")


# -- the variants ----------------------------------------------------------------------------


class AsyncVariant:
    """One async client (this package's or raw aiohttp) with a pool of ``maxsize`` connections.

    Built and closed on the event loop that runs its calls.
    """

    def __init__(self, name: str, url: str, maxsize: int) -> None:
        self.name = name
        self.url = url
        self.maxsize = maxsize
        self.client: Any = None
        self.session: Any = None
        self.objects: Any = None

    async def open(self) -> None:
        """Create the client (aiohttp needs a running loop for its session)."""
        if self.name == "raw":
            import aiohttp

            connector = aiohttp.TCPConnector(limit=0, limit_per_host=self.maxsize)
            self.session = aiohttp.ClientSession(connector=connector)
            return
        import lakefs_sdk
        from lakefs_sdk import aio

        config = lakefs_sdk.Configuration(host=self.url + "/api/v1")
        config.connection_pool_maxsize = self.maxsize
        self.client = aio.AsyncApiClient(config)
        self.objects = aio.ObjectsApi(self.client)

    async def close(self) -> None:
        """Close the session or client."""
        if self.session is not None:
            await self.session.close()
        if self.client is not None:
            await self.client.close()

    def stat_call(self) -> AsyncCall:
        """The coroutine function making one ``stat_object`` call of a path."""
        if self.name == "raw":
            from yarl import URL

            session = self.session
            base = f"{self.url}/api/v1/repositories/{REPO}/refs/{BRANCH}/objects/stat?path="

            async def raw_stat(path: str) -> Any:
                # A pre-encoded URL, as this package sends it: aiohttp does not parse and re-quote it.
                async with session.get(URL(base + path, encoded=True), headers=STAT_HEADERS) as response:
                    body = await response.read()
                    if response.status != 200:
                        raise BenchFailure(f"raw stat_object answered {response.status}: {body[:200]!r}")
                    return json.loads(body)

            return raw_stat
        objects = self.objects

        async def stat(path: str) -> Any:
            return await objects.stat_object(REPO, BRANCH, path)

        return stat


async def _calls(call: AsyncCall, paths: List[str], concurrency: int) -> None:
    async def lane(k: int) -> None:
        for path in paths[k::concurrency]:
            check_stat(await call(path), path)

    await asyncio.gather(*(lane(k) for k in range(concurrency)))


class SyncThreads:
    """The sync client on ``threads`` threads sharing one ``ApiClient`` (a pool of ``threads``)."""

    def __init__(self, url: str, threads: int) -> None:
        import lakefs_sdk

        config = lakefs_sdk.Configuration(host=url + "/api/v1")
        config.connection_pool_maxsize = threads
        self.objects = lakefs_sdk.ObjectsApi(lakefs_sdk.ApiClient(config))
        self.threads = threads

    def run(self, paths: List[str]) -> None:
        """Make every call of ``paths``, thread ``k`` taking paths ``k, k + N, ...``; all start at once."""
        count = self.threads
        barrier = threading.Barrier(count)
        errors: List[BaseException] = []
        objects = self.objects

        def work(k: int) -> None:
            barrier.wait()
            try:
                for path in paths[k::count]:
                    check_stat(objects.stat_object(REPO, BRANCH, path), path)
            except BaseException as error:  # reported below: fails the run
                errors.append(error)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise BenchFailure(f"{len(errors)} threads failed, first: {errors[0]!r}")


class Runner:
    """Runs rounds of calls of one variant on ``loop``: wall calls/s and CPU µs per call."""

    def __init__(self, variant: str, url: str, concurrency: int, loop: asyncio.AbstractEventLoop) -> None:
        self.variant = variant
        self.concurrency = concurrency
        self.loop = loop
        self.threads = SyncThreads(url, concurrency) if variant == "ours-sync" else None
        self.async_variant = None if self.threads else AsyncVariant(variant, url, concurrency)
        self.call: AsyncCall | None = None
        if self.async_variant is not None:
            loop.run_until_complete(self.async_variant.open())
            self.call = self.async_variant.stat_call()

    def round(self, paths: List[str]) -> Dict[str, float]:
        """Make the calls of ``paths``; return ``calls_s`` (wall) and ``cpu_us`` (per call)."""
        cpu0, wall0 = time.process_time(), time.perf_counter()
        if self.threads is not None:
            self.threads.run(paths)
        else:
            assert self.call is not None
            self.loop.run_until_complete(_calls(self.call, paths, self.concurrency))
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        return {"calls_s": len(paths) / wall, "cpu_us": cpu / len(paths) * 1e6}

    def close(self) -> None:
        """Close the async client (the sync one needs nothing)."""
        if self.async_variant is not None:
            self.loop.run_until_complete(self.async_variant.close())


# -- scenarios -------------------------------------------------------------------------------


def scenario_aio_calls(args: argparse.Namespace) -> Figures:
    """``--calls`` stat_object calls at ``--concurrency``, ``--rounds`` times; one variant."""
    loop = asyncio.new_event_loop()
    paths = stat_paths(args.calls)
    runner = Runner(args.variant, args.url, args.concurrency, loop)
    try:
        runner.round(stat_paths(WARMUP_CALLS))  # imports, caches, the connections
        server_stats(args.url, "reset")
        rounds = [runner.round(paths) for _ in range(args.rounds)]
        stats = server_stats(args.url)
    finally:
        runner.close()
        loop.close()
    total = args.calls * args.rounds
    check(stats["requests"] == total, f"server saw {stats['requests']} requests, expected {total}")
    return {
        "calls_s": statistics.median(r["calls_s"] for r in rounds),
        "cpu_us": statistics.median(r["cpu_us"] for r in rounds),
        "new_connections": float(stats["connections"]),
    }


def scenario_aio_paired(args: argparse.Namespace) -> Figures:
    """``raw`` and ``ours`` (and ``ours-sync`` with ``--with-threads``) in one process, alternating rounds.

    Reports ``<variant>_calls_s`` (median round), ``ratio`` (ours over raw aiohttp) and,
    with threads, ``ratio_threads`` (ours over the sync client on as many threads).

    A ratio is the median over cycles of the ratio within each cycle (every variant once,
    back to back): the speed of a shared machine drifts over seconds, by more than the
    differences measured, and a cycle takes under a second.
    """
    names = ["raw", "ours", *(["ours-sync"] if args.with_threads else [])]
    loop = asyncio.new_event_loop()
    paths = stat_paths(args.calls)
    runners = {name: Runner(name, args.url, args.concurrency, loop) for name in names}
    rates: Dict[str, List[float]] = {name: [] for name in names}
    try:
        for runner in runners.values():
            runner.round(stat_paths(WARMUP_CALLS))
        server_stats(args.url, "reset")
        for cycle in range(args.rounds):
            for name in names[cycle % len(names) :] + names[: cycle % len(names)]:
                rates[name].append(runners[name].round(paths)["calls_s"])
        stats = server_stats(args.url)
    finally:
        for runner in runners.values():
            runner.close()
        loop.close()
    total = args.calls * args.rounds * len(names)
    check(stats["requests"] == total, f"server saw {stats['requests']} requests, expected {total}")
    figures = {f"{name}_calls_s": statistics.median(values) for name, values in rates.items()}

    def paired(baseline: str) -> float:
        return statistics.median(ours / base for ours, base in zip(rates["ours"], rates[baseline], strict=True))

    figures["ratio"] = paired("raw")
    if args.with_threads:
        figures["ratio_threads"] = paired("ours-sync")
    return figures


async def _file_chunks(path: str) -> Any:
    """The file at ``path`` in 1 MiB reads, each in a worker thread (the loop never blocks on the disk)."""
    loop = asyncio.get_running_loop()
    with open(path, "rb") as file:
        while True:
            chunk = await loop.run_in_executor(None, file.read, CHUNK)
            if not chunk:
                return
            yield chunk


def _transfer_function(variant: AsyncVariant, to: str, file: str, target: str) -> Callable[[], Awaitable[int]]:
    """One transfer the ``variant`` way; returns the content bytes the server saw, or that arrived."""
    object_url = f"{variant.url}/api/v1/repositories/{REPO}/refs/{BRANCH}/objects?path=data/big.bin"
    upload_url = f"{variant.url}/api/v1/repositories/{REPO}/branches/{BRANCH}/objects?path=data/big.bin"
    if variant.name == "raw":
        session = variant.session

        async def raw_upload() -> int:
            headers = {**STAT_HEADERS, "Content-Type": "application/octet-stream",
                       "Content-Length": str(os.path.getsize(file))}
            async with session.post(upload_url, data=_file_chunks(file), headers=headers) as response:
                body = await response.read()
                check(response.status == 201, f"raw upload answered {response.status}: {body[:200]!r}")
                return int(json.loads(body)["size_bytes"])

        async def raw_download() -> int:
            headers = {**STAT_HEADERS, "Accept": "application/octet-stream, application/json"}
            done = 0
            async with session.get(object_url, headers=headers) as response:
                check(response.status == 200, f"raw download answered {response.status}")
                if to == "path":
                    with open(target, "wb") as out:
                        async for chunk in response.content.iter_chunked(CHUNK):
                            out.write(chunk)
                            done += len(chunk)
                else:
                    async for chunk in response.content.iter_chunked(CHUNK):
                        check_chunk(chunk, done)
                        done += len(chunk)
            return done

        return raw_upload if to == "upload" else raw_download
    objects = variant.objects

    async def upload() -> int:
        stats = await objects.upload_object(REPO, BRANCH, "data/big.bin", content=file)
        return int(stats.size_bytes)

    async def download() -> int:
        response = await objects.get_object_without_preload_content(REPO, BRANCH, "data/big.bin")
        async with response:
            if to == "path":
                return int(await response.write_to(target))
            done = 0
            async for chunk in response.iter_bytes():
                check_chunk(chunk, done)
                done += len(chunk)
            return done

    return upload if to == "upload" else download


def scenario_aio_transfer(args: argparse.Namespace) -> Figures:
    """A streamed upload or download through ``lakefs_sdk.aio`` or raw aiohttp, ``--transfers`` times."""
    loop = asyncio.new_event_loop()
    variant = AsyncVariant(args.variant, args.url, 4)
    target = os.path.join(args.tmpdir, f"download-{os.getpid()}.bin")
    size = os.path.getsize(args.file) if args.to == "upload" else args.size
    try:
        loop.run_until_complete(variant.open())
        check_stat(loop.run_until_complete(variant.stat_call()("data/warm-up")), "data/warm-up")  # a connection
        transfer = _transfer_function(variant, args.to, args.file, target)

        def check_and_remove() -> None:
            if args.to == "path":
                check_pattern(target, size)
                os.unlink(target)

        return timed_transfers(lambda: loop.run_until_complete(transfer()), size, args.transfers, check_and_remove)
    finally:
        loop.run_until_complete(variant.close())
        loop.close()
        if os.path.exists(target):
            os.unlink(target)


def scenario_aio_count(args: argparse.Namespace) -> Figures:
    """A warm-up round, then ``--calls`` stat_object calls at ``--concurrency``, untimed.

    ``aio_instructions.py`` runs this under callgrind with two call counts: the difference
    of the instruction totals over the difference of the counts is one call.
    """
    loop = asyncio.new_event_loop()
    runner = Runner(args.variant, args.url, args.concurrency, loop)
    try:
        runner.round(stat_paths(WARMUP_CALLS))
        runner.round(stat_paths(args.calls))
    finally:
        runner.close()
        loop.close()
    return {"calls": float(args.calls)}


SCENARIOS = {
    "aio-calls": scenario_aio_calls,
    "aio-count": scenario_aio_count,
    "aio-paired": scenario_aio_paired,
    "aio-transfer": scenario_aio_transfer,
}
