"""A TCP proxy on 127.0.0.1 that makes every connection a slow, distant link.

    python3 benchmarks/throttle_proxy.py --target 127.0.0.1:PORT --rate-mib 32 --delay-ms 20

It prints ``READY <port>`` once listening, then forwards each connection to ``--target``
byte for byte (the HTTP ``Host`` header included, unchanged: a presigned URL's signature
covers it), each direction of each connection on its own:

* a delay line: a chunk read at time t is written no earlier than t + ``--delay-ms``;
* a rate cap: the writer keeps each direction at ``--rate-mib`` MiB/s at most (chunks of up
  to 256 KiB, each sent once the one before has had its time at the rate), so N connections
  get N times the rate, as on a link whose bottleneck is per connection (a TCP window over a
  long path, a per-flow shaper);
* back-pressure: at most 1 MiB waits in a direction's delay line; beyond that the proxy
  stops reading and TCP pushes back on the sender.

It exits on SIGTERM, or by itself after ``--max-seconds``. ``run.py``'s storage group starts it in front of the S3
store and points a lakeFS's presigned URLs at it (``blockstore.s3.pre_signed_endpoint``).
"""

from __future__ import annotations

import argparse
import queue
import signal
import socket
import sys
import threading
import time
from types import FrameType
from typing import Optional, Tuple

CHUNK = 256 * 1024
QUEUE_CHUNKS = 4  # 1 MiB in a delay line at most


class Direction:
    """One direction of one connection: a reader feeding a delay line, a paced writer draining it."""

    def __init__(self, source: socket.socket, sink: socket.socket, rate: float, delay: float) -> None:
        self.source, self.sink, self.rate, self.delay = source, sink, rate, delay
        self.line: queue.Queue[Tuple[float, bytes]] = queue.Queue(QUEUE_CHUNKS)

    def start(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._write, daemon=True).start()

    def _read(self) -> None:
        try:
            while True:
                data = self.source.recv(CHUNK)
                self.line.put((time.monotonic(), data))
                if not data:
                    return
        except OSError:
            self.line.put((time.monotonic(), b""))

    def _write(self) -> None:
        # Each chunk goes out whole, once it has waited its delay and the chunk before has had its time
        # at the rate: one sleep per chunk (a token bucket sleeping per few KiB costs the proxy more CPU
        # than the transfer it shapes, on a busy machine).
        next_send = time.monotonic()
        try:
            while True:
                arrived, data = self.line.get()
                due = max(arrived + self.delay, next_send)
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                if not data:
                    self.sink.shutdown(socket.SHUT_WR)
                    return
                self.sink.sendall(data)
                next_send = due + len(data) / self.rate
        except OSError:
            pass
        finally:
            for sock in (self.source, self.sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def serve(listener: socket.socket, target: Tuple[str, int], rate: float, delay: float) -> None:
    """Accept connections forever, each forwarded to ``target`` through two :class:`Direction` s."""
    while True:
        client, _ = listener.accept()
        try:
            upstream = socket.create_connection(target)
        except OSError:
            client.close()
            continue
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        Direction(client, upstream, rate, delay).start()
        Direction(upstream, client, rate, delay).start()


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", required=True, help="HOST:PORT to forward to (127.0.0.1 only)")
    parser.add_argument("--rate-mib", type=float, default=32.0, help="MiB/s per connection and direction")
    parser.add_argument("--delay-ms", type=float, default=20.0, help="one-way delay added to each direction")
    parser.add_argument("--max-seconds", type=float, default=10800.0, help="exit after this long at most")
    args = parser.parse_args(argv)
    host, _, port = args.target.rpartition(":")
    if host not in ("127.0.0.1", "localhost"):
        parser.error("--target must be on 127.0.0.1")
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)

    def stop(signum: int, frame: Optional[FrameType]) -> None:
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    timer = threading.Timer(args.max_seconds, lambda: signal.raise_signal(signal.SIGTERM))
    timer.daemon = True
    timer.start()
    print(f"READY {listener.getsockname()[1]}", flush=True)
    thread = threading.Thread(
        target=serve, args=(listener, ("127.0.0.1", int(port)), args.rate_mib * 1024 * 1024, args.delay_ms / 1000),
        daemon=True,
    )
    thread.start()
    try:
        while thread.is_alive():
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
