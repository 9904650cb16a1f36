"""Reaching a receiver: what the suite, ``send``, ``replay``, ``listen`` and ``load`` share
before any judging.

- ``settings``: the run's settings, each resolved in one place (command line > environment >
  ini > default), for the suite, the plugin, the traffic commands and the CLI;
- ``builder``: signed deliveries exactly as a platform sends them (its headers, its dedupe
  id, the signature over the final bytes);
- ``target``: one receiver as the suite sees it: its URLs, budgets and accepted answers,
  availability (an endpoint that stops answering), crash attribution, and the effects probe;
- ``managed``: a receiver process hookproof starts, restarts after a crash and stops, with
  its output capped in ``receiver.log``.

It may import the base modules, the transports, signing and the catalogue; never the checks
(which judge what it reaches), the reports or anything above them.
"""
