"""Deliveries sent or seen outside the suite: one by hand (``send``), real ones graded on their
way to the receiver (``listen``), recorded ones sent again (``replay``), and many at a rate
(``load``, on Locust).

Each judges with the suite's own rules (:mod:`hookproof.checks`), so a delivery is never
graded two ways. It may import every layer below the pytest adapter: the base modules, the
transports, signing, the catalogue, reach, the checks, the reports and the reference receiver
(whose stack ``listen`` runs on).
"""

RECORD_LIMIT_MIB = 256
"""``listen --record`` stops recording after this many MiB (``--record-limit``), and says so
once. Here, not in :mod:`hookproof.traffic.listen`, so that the command line can show it
without importing the HTTP stack: ``hookproof load`` must import Locust before ``ssl``."""
