"""A receiver hookproof starts itself (``--target-command``): its output kept, its crashes shown.

:class:`ManagedReceiver` runs the command in its own process group (``--target-cwd``, the
environment passed through), appends its stdout and stderr to ``receiver.log`` in the reports
directory, waits until the target URL accepts connections (or ``--target-ready URL`` answers),
and stops it at the end: SIGTERM to the group, SIGKILL after a grace period. A supervisor thread
notes in the log how the process ended and starts it again, at most ``--target-restarts`` times,
so that every check still gets a verdict.

:class:`ReceiverLog` is what a check sees (in the main process and in pytest-xdist workers
alike): where the log is before a delivery, and after a delivery the receiver did not answer,
what it printed from then on (its stack trace), how it ended, and whether it is back.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shlex
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import requests

from hookproof.errors import UsageError

READY_TIMEOUT = 30.0
STOP_GRACE = 5.0
EXIT_WAIT = 1.0
"""How long a receiver that dropped a connection is given to be seen exiting (a crash)."""
STEADY = 0.2
"""Seconds a receiver must go on accepting connections to count as back: one that has printed
its crash may still accept for a moment before it exits (a crash another pytest-xdist worker's
delivery caused just before this worker held the receiver alone)."""
OUTPUT_LIMIT = 8000
"""Characters of output shown in a failure (the end of it, where the stack trace is)."""
LOG_NAME = "receiver.log"
LOG_LIMIT = 16 * 1024 * 1024
"""Bytes ``receiver.log`` may reach; past it, its first :data:`LOG_HEAD` and last
:data:`LOG_TAIL` bytes are kept with a marker between them (a receiver writing 1 GB to
stdout leaves a 16 MiB log, and a crash's stack trace is always in the tail)."""
LOG_HEAD = 4 * 1024 * 1024
LOG_TAIL = 4 * 1024 * 1024


class CappedLog:
    """``receiver.log``, written by one pump thread (the receiver's output) and the
    supervisor's notes, never larger than :data:`LOG_LIMIT`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[bytes] = path.open("ab", buffering=0)
        self._lock = threading.Lock()
        self._size = self._handle.tell()
        self.left_out = 0

    def write(self, data: bytes) -> None:
        with self._lock:
            if self._handle.closed:
                return
            self._handle.write(data)
            self._size += len(data)
            if self._size > LOG_LIMIT:
                self._compact()

    def _compact(self) -> None:
        with self.path.open("rb") as reader:
            reader.seek(max(LOG_HEAD, self._size - LOG_TAIL))
            tail = reader.read()
        self.left_out += self._size - LOG_HEAD - len(tail)
        marker = (f"\n== hookproof: {self.left_out:,} bytes of the receiver's output left out "
                  "here (receiver.log keeps its first and last 4 MiB) ==\n").encode()
        self._handle.truncate(LOG_HEAD)
        self._handle.seek(LOG_HEAD)
        self._handle.write(marker + tail)
        self._size = LOG_HEAD + len(marker) + len(tail)

    def close(self) -> None:
        with self._lock:
            self._handle.close()


def pump(source: IO[bytes], log: CappedLog) -> None:
    """Copy the receiver's output into the log until it closes its end."""
    with contextlib.suppress(OSError, ValueError):
        while chunk := os.read(source.fileno(), 65536):
            log.write(chunk)


def scrub_file(path: Path) -> None:
    """Hide the secret in ``path`` as a stream (complete lines at a time): memory stays flat
    whatever the log's size."""
    from hookproof.scrub import scrub

    temporary = path.with_suffix(".scrubbing")
    with path.open("rb") as reader, temporary.open("wb") as writer:
        carry = b""
        while chunk := reader.read(1024 * 1024):
            carry += chunk
            cut = carry.rfind(b"\n") + 1 if len(carry) < 4 * 1024 * 1024 else len(carry)
            if cut:
                head, carry = carry[:cut], carry[cut:]
                writer.write(scrub(head.decode("utf-8", "replace")).encode("utf-8"))
        writer.write(scrub(carry.decode("utf-8", "replace")).encode("utf-8"))
    temporary.replace(path)
_ENDED = re.compile(r"^== hookproof: the receiver (.+?)(?:; (restarting|not restarted.*))?$",
                    re.MULTILINE)


class ManagedReceiver:
    """The receiver process: started, supervised (restarted when it dies), stopped."""

    def __init__(self, command: str, *, url: str, log_path: Path, cwd: str | None = None,
                 ready_url: str | None = None, restarts: int = 5,
                 ready_timeout: float = READY_TIMEOUT) -> None:
        try:
            self.argv = shlex.split(command)
        except ValueError as exc:
            raise UsageError(f"--target-command: {exc}") from None
        if not self.argv:
            raise UsageError("--target-command is empty")
        if cwd is not None and not Path(cwd).is_dir():
            raise UsageError(f"--target-cwd {cwd}: not a directory")
        self.url = url
        self.ready_url = ready_url
        self.cwd = cwd
        self.log_path = log_path
        self.restarts_left = restarts
        self.restarts = 0
        self.ready_timeout = ready_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._log: CappedLog | None = None
        self._pumps: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None

    def start(self) -> None:
        """Start the receiver and wait until it is ready; then supervise it."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = CappedLog(self.log_path)
        self._spawn()
        if not wait_ready(self.url, self.ready_url, self.ready_timeout, self._process):
            status = describe_exit(self._process.poll() if self._process else None)
            self.stop()
            tail = ReceiverLog(self.log_path).output_since(0)[-600:].strip()
            raise UsageError(
                f"--target-command: the receiver did not become ready within "
                f"{self.ready_timeout:g} s ({status or 'still running'})"
                + (f"; its last output: {tail}" if tail else ""))
        self._supervisor = threading.Thread(target=self._supervise, daemon=True,
                                            name="hookproof-receiver-supervisor")
        self._supervisor.start()

    def _spawn(self) -> None:
        assert self._log is not None
        self._log.write(f"== hookproof: starting {shlex.join(self.argv)}\n".encode())
        try:
            self._process = subprocess.Popen(
                self.argv, cwd=self.cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        except OSError as exc:
            raise UsageError(f"--target-command: cannot start {self.argv[0]!r}: "
                             f"{exc.strerror or exc}") from None
        assert self._process.stdout is not None
        thread = threading.Thread(target=pump, args=(self._process.stdout, self._log),
                                  daemon=True, name="hookproof-receiver-output")
        thread.start()
        self._pumps.append(thread)

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            process = self._process
            if process is None:
                return
            code = process.poll()
            if code is None:
                self._stopping.wait(0.05)
                continue
            if self._stopping.is_set() or self._log is None:
                return
            if code == 0 and session_members(process.pid):
                # the command daemonized (forked, and its parent exited 0): the receiver lives
                # on in its session; it is stopped at the end with the whole session
                self._log.write(b"== hookproof: the command exited 0 and its children serve "
                                b"on (a daemon): not restarted after a crash\n")
                return
            status = describe_exit(code)
            if self.restarts_left <= 0:
                self._log.write(f"== hookproof: the receiver {status}; not restarted "
                                "(--target-restarts used up)\n".encode())
                return
            self.restarts_left -= 1
            self.restarts += 1
            self._log.write(f"== hookproof: the receiver {status}; restarting\n".encode())
            try:
                self._spawn()
            except UsageError as exc:
                self._log.write(f"== hookproof: the restart failed: {exc}\n".encode())
                return

    def stop(self) -> None:
        """SIGTERM to every process of the receiver's session (its own, made at start: its
        children, a daemon it forked, a child that ignores SIGTERM), SIGKILL to whatever is
        left after a grace period."""
        self._stopping.set()
        process = self._process
        if process is not None:
            end_session(process)
        if self._supervisor is not None:
            self._supervisor.join(timeout=2)
        for thread in self._pumps:  # what the receiver wrote before it ended, kept
            thread.join(timeout=2)
        if self._log is not None:
            self._log.write(b"== hookproof: stopped\n")
            self._log.close()
            self._log = None
            self._scrub_log()

    def _scrub_log(self) -> None:
        """The receiver may have printed the secret: the kept log never shows it. Whatever
        happens here, the run's reports are still written."""
        try:
            scrub_file(self.log_path)
        except (OSError, MemoryError, ValueError):
            with contextlib.suppress(OSError):
                self.log_path.unlink()  # unscrubbed, it may hold the secret


class ReceiverLog:
    """The managed receiver as a check sees it, through its log."""

    def __init__(self, log_path: Path, *, url: str = "", wait: float = 10.0) -> None:
        self.log_path = log_path
        self.lock_path = log_path.with_suffix(".lock")
        self.url = url
        self.wait = wait

    @contextlib.contextmanager
    def sending(self, *, alone: bool = False) -> Iterator[None]:
        """Hold the receiver's lock while a delivery is in flight: shared for ordinary ones,
        exclusive (``alone``) for a resend after a crash, so that no other pytest-xdist
        worker's delivery is in flight then, and a second crash is that resend's own."""
        with self.lock_path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def mark(self) -> int:
        """Where the log is now: what follows belongs to the delivery about to be sent."""
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def output_since(self, mark: int) -> str:
        try:
            with self.log_path.open("rb") as handle:
                handle.seek(mark)
                text = handle.read().decode("utf-8", "replace")
        except OSError:
            return ""
        from hookproof.scrub import scrub

        return scrub(text[-OUTPUT_LIMIT:])

    def wait_back(self) -> bool:
        """Wait (at most the target wait) until the receiver accepts connections again, and
        still does :data:`STEADY` seconds later."""
        deadline = time.monotonic() + self.wait
        while wait_ready(self.url, None, max(0.0, deadline - time.monotonic()), None):
            time.sleep(STEADY)
            if accepts(self.url):
                return True
            if time.monotonic() >= deadline:
                break
        return False

    def recover(self, mark: int) -> tuple[bool, str, str | None]:
        """After a delivery the receiver did not answer: ``(back, output, how it ended)``."""
        deadline = time.monotonic() + EXIT_WAIT
        while time.monotonic() < deadline and not _ENDED.search(self.output_since(mark)):
            time.sleep(0.05)
        back = self.wait_back()
        output = self.output_since(mark)
        ended = [m.group(0).removeprefix("== hookproof: the receiver ")
                 for m in _ENDED.finditer(output)]
        shown = "\n".join(line for line in output.splitlines()
                          if not line.startswith("== hookproof:")).strip()
        return back, shown, ("; ".join(ended) or None)


def session_members(session: int) -> list[int]:
    """The processes of session ``session`` (Linux ``/proc``; elsewhere only the group can be
    reached, by ``killpg``)."""
    members: list[int] = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return members
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # after "(comm)": state, ppid, pgrp, session; a zombie is already gone
        if len(fields) > 3 and fields[0] != "Z" and int(fields[3]) == session:
            members.append(int(entry))
    return members


def end_session(process: subprocess.Popen[bytes]) -> None:
    """Stop ``process`` (started with ``start_new_session``) and everything in its session."""
    session = process.pid

    def signal_all(sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(session, sig)
        for pid in session_members(session):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)

    signal_all(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    while time.monotonic() < deadline:
        if process.poll() is not None and not session_members(session):
            return
        time.sleep(0.05)
    signal_all(signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_GRACE)


def describe_exit(code: int | None) -> str | None:
    """How a process ended: "exited with status 1", "was killed by SIGSEGV"."""
    if code is None:
        return None
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


def wait_ready(url: str, ready_url: str | None, timeout: float,
               process: subprocess.Popen[bytes] | None) -> bool:
    """Until ``ready_url`` answers (or ``url`` accepts connections), at most ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        # a command that exits 0 may have daemonized: ready is the port answering, whatever
        # the starter did; one that failed is not waited for
        if process is not None and process.poll() not in (None, 0):
            return False
        if ready_url is not None:
            try:
                requests.get(ready_url, timeout=1)
                return True
            except requests.RequestException:
                pass
        elif accepts(url):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def accepts(url: str) -> bool:
    """Whether the host and port of ``url`` accept a TCP connection."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


__all__ = ["LOG_LIMIT", "LOG_NAME", "CappedLog", "ManagedReceiver", "ReceiverLog", "accepts",
           "describe_exit"]
