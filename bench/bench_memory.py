"""Peak memory of a run against a target that answers 50 MB to every delivery.

Usage: ``python bench/bench_memory.py [--size-mb 50] [--provider varda]``

Two runs of the real suite, side by side in one invocation (fuzzing off, every event of the
provider), each in its own pytest process, against a loopback server that answers every
request with ``--size-mb`` MB of JSON whitespace, and against one that answers ``{}``. The peak
resident memory of each pytest process (``ru_maxrss``) is printed, and their ratio. hookproof
reads at most ``--hookproof-max-answer`` bytes (1 MiB) of an answer and keeps a bounded prefix
of each, so the 50 MB run stays close to the small one.
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time


def serve(size: int) -> tuple[int, threading.Event]:
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
            b"Connection: close\r\n\r\n" % max(size, 2))
    block = b" " * 65536

    def answer(conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(10)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                conn.sendall(head)
                if size < 2:
                    conn.sendall(b"{}")
                    return
                sent = 0
                while sent < size and not stop.is_set():
                    conn.sendall(block[: size - sent])
                    sent += len(block)
            except OSError:
                pass

    def accept() -> None:
        listener.settimeout(0.5)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=answer, args=(conn,), daemon=True).start()
        listener.close()

    threading.Thread(target=accept, daemon=True).start()
    return listener.getsockname()[1], stop


def peak_rss_mb(port: int, provider: str) -> tuple[float, float]:
    """(peak RSS in MB, seconds) of one suite run, in a process of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKPROOF_")}
    env.update({"HOOKPROOF_SECRET": "bench-memory", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    with tempfile.TemporaryDirectory() as workdir:
        command = [sys.executable, "-c",
                   "import resource, subprocess, sys; "
                   "code = subprocess.call(sys.argv[1:]); "
                   "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)",
                   sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p",
                   "hookproof.plugin", "--target-url", f"http://127.0.0.1:{port}/{provider}",
                   "--provider", provider, "--fuzz-examples", "0",
                   "--hookproof-reports", workdir, "--tb=no"]
        started = time.monotonic()
        done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True,
                              check=False)
        took = time.monotonic() - started
    peak_kb = int(done.stdout.strip().splitlines()[-1])
    return peak_kb / 1024, took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=50)
    parser.add_argument("--provider", default="varda")
    args = parser.parse_args()
    big_port, stop_big = serve(args.size_mb * 1024 * 1024)
    small_port, stop_small = serve(0)
    try:
        small, small_s = peak_rss_mb(small_port, args.provider)
        big, big_s = peak_rss_mb(big_port, args.provider)
    finally:
        stop_big.set()
        stop_small.set()
    print(f"{args.provider}, fuzzing off, every event; peak RSS of the pytest process:")
    print(f"  answers of 2 bytes:            {small:7.1f} MB  ({small_s:.1f} s)")
    print(f"  answers of {args.size_mb} MB each:       {big:7.1f} MB  ({big_s:.1f} s)")
    print(f"  ratio: {big / small:.2f}x   (target: under 300 MB)")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  (this script, serving the answers: {own:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
