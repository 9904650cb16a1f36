"""Deduplication and effects, in SQLite.

One table row per delivery, keyed by ``(provider, dedupe_key)`` with a ``UNIQUE`` constraint;
the dedupe key is the value of the provider's dedupe header (``I-Twilio-Idempotency-Token``,
``X-Varda-Delivery``, ``X-Idempotency-Key``). In **one transaction** the store

1. inserts the delivery with its answer (``INSERT ... ON CONFLICT DO NOTHING``);
2. if the row is new, performs the effect (here: one row in ``effects``);
3. otherwise reads back the answer stored with the first delivery.

The ``UNIQUE`` constraint, not a check-then-insert in Python, is what guarantees one effect:
duplicates arriving at the same moment from different threads or processes serialize on the
database's write lock (``BEGIN IMMEDIATE`` + ``busy_timeout``) and all but one find the row.

Each call opens its own short-lived connection, so the store is safe to use from any thread.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from hookproof.receiver.answers import Answer

BUSY_TIMEOUT_MS = 10_000
REPLAYED = Answer(409, b'{"error":"replayed: this signature came with another delivery id"}')
"""The answer to a replay: refused, and not processed."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    provider    TEXT    NOT NULL,
    dedupe_key  TEXT    NOT NULL,
    event       TEXT    NOT NULL,
    status      INTEGER NOT NULL,
    answer      BLOB    NOT NULL,
    received_at REAL    NOT NULL,
    UNIQUE (provider, dedupe_key)
);
CREATE TABLE IF NOT EXISTS effects (
    id          INTEGER PRIMARY KEY,
    provider    TEXT    NOT NULL,
    dedupe_key  TEXT    NOT NULL,
    event       TEXT    NOT NULL,
    applied_at  REAL    NOT NULL
);
CREATE INDEX IF NOT EXISTS effects_by_key ON effects (provider, dedupe_key);
CREATE TABLE IF NOT EXISTS signatures (
    provider    TEXT    NOT NULL,
    signature   TEXT    NOT NULL,
    dedupe_key  TEXT    NOT NULL,
    seen_at     REAL    NOT NULL,
    UNIQUE (provider, signature)
);
"""


@dataclass(frozen=True)
class SeenDelivery:
    """One accepted delivery: which provider, its dedupe key and event."""

    provider: str
    key: str
    event: str
    signature: str | None = None
    """The signature header as received (the key is the platform's delivery id)."""
    replay_window: int | None = None
    """Seconds a timestamped signature stays valid: inside them, the same signature with
    another delivery id is a replay (the dedupe header is not signed by every scheme)."""


class Store(Protocol):
    def record(self, delivery: SeenDelivery, answer: Answer) -> Answer:
        """Process ``delivery`` at most once; return the answer of its first processing."""
        ...

    def effects(self, provider: str, key: str) -> int:
        """How many times the delivery with this dedupe key was processed (0 if never seen)."""
        ...


class SqliteStore:
    """The reference store (see the module docstring)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as conn:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript(SCHEMA)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A fresh autocommit connection (transactions are explicit), closed afterwards."""
        conn = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
            check_same_thread=False,
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            # With WAL, NORMAL stays consistent after a crash (a commit is atomic: the delivery
            # row and its effect survive or vanish together) and saves an fsync per delivery.
            conn.execute("PRAGMA synchronous = NORMAL")
            yield conn
        finally:
            conn.close()

    def record(self, delivery: SeenDelivery, answer: Answer) -> Answer:
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                if self.replayed(conn, delivery):
                    conn.execute("COMMIT")
                    return REPLAYED
                inserted = self.claim(conn, delivery, answer)
                if inserted:
                    self.apply_effect(conn, delivery)
                    stored = answer
                else:
                    status, body = conn.execute(
                        "SELECT status, answer FROM deliveries"
                        " WHERE provider = ? AND dedupe_key = ?",
                        (delivery.provider, delivery.key),
                    ).fetchone()
                    stored = Answer(int(status), bytes(body))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return stored

    def replayed(self, conn: sqlite3.Connection, delivery: SeenDelivery) -> bool:
        """Whether ``delivery`` reuses, inside the replay window, a signature already seen
        with another delivery id (a captured request sent again with a fresh id)."""
        if not delivery.replay_window or not delivery.signature:
            return False
        now = time.time()
        conn.execute("DELETE FROM signatures WHERE seen_at < ?", (now - delivery.replay_window,))
        conn.execute(
            "INSERT INTO signatures (provider, signature, dedupe_key, seen_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (provider, signature) DO NOTHING",
            (delivery.provider, delivery.signature, delivery.key, now))
        (first_key,) = conn.execute(
            "SELECT dedupe_key FROM signatures WHERE provider = ? AND signature = ?",
            (delivery.provider, delivery.signature)).fetchone()
        return str(first_key) != delivery.key

    def claim(self, conn: sqlite3.Connection, delivery: SeenDelivery, answer: Answer, *,
              key: str | None = None) -> bool:
        """Insert the delivery (under ``key``, default its dedupe key) with its answer;
        whether it was new. The UNIQUE constraint decides, inside the caller's transaction."""
        inserted: bool = conn.execute(
            "INSERT INTO deliveries (provider, dedupe_key, event, status, answer, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (provider, dedupe_key) DO NOTHING",
            (delivery.provider, key or delivery.key, delivery.event, answer.status,
             answer.body, time.time()),
        ).rowcount == 1
        return inserted

    def apply_effect(self, conn: sqlite3.Connection, delivery: SeenDelivery) -> None:
        """The business effect of a delivery, inside the dedupe transaction.

        A real receiver would update its own tables here (create the ticket, store the
        message); the reference receiver counts, so that the effects probe can tell.
        """
        conn.execute(
            "INSERT INTO effects (provider, dedupe_key, event, applied_at) VALUES (?, ?, ?, ?)",
            (delivery.provider, delivery.key, delivery.event, time.time()),
        )

    def effects(self, provider: str, key: str) -> int:
        with self.connect() as conn:
            (count,) = conn.execute(
                "SELECT COUNT(*) FROM effects WHERE provider = ? AND dedupe_key = ?",
                (provider, key),
            ).fetchone()
        return int(count)
