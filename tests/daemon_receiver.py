"""A ``--target-command`` that daemonizes: ``python daemon_receiver.py PORT PIDFILE``.

The command forks and exits 0 at once; its child serves the reference receiver on PORT, and
leaves behind a grandchild that ignores SIGTERM. Both pids go to PIDFILE, so a test can tell
that hookproof stopped them all.
"""

from __future__ import annotations

import os
import signal
import sys
import time

if __name__ == "__main__":
    port, pidfile = sys.argv[1], sys.argv[2]
    if os.fork() != 0:
        os._exit(0)  # the starter: gone at once, as a daemonizing command is
    stubborn = os.fork()
    if stubborn == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        time.sleep(120)  # bounded: gone by itself after two minutes at the latest
        os._exit(0)
    with open(pidfile, "w", encoding="utf-8") as handle:
        handle.write(f"{os.getpid()} {stubborn}\n")
    os.execv(sys.executable, [sys.executable, "-m", "hookproof.cli", "serve", "--port", port,
                              "--log-level", "warning"])
