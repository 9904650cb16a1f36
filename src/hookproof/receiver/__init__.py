"""The reference receiver: a correct webhook receiver for every bundled provider.

``create_app(ReceiverConfig())`` builds the Starlette application; ``hookproof serve`` runs it
with uvicorn (:func:`hookproof.receiver.server.serve`). Read in this order: ``pipeline``
(the steps of one delivery), ``checks`` (signature, contract), ``answers``, ``store``
(dedupe + effects), ``app`` (HTTP), ``config`` (the parts and how to swap one).

It may import the base modules, the transports, signing and the catalogue (its contracts and
vectors are the suite's own); never the checks, so the suite and the receiver it is proven
against decide independently.
"""

from __future__ import annotations

from hookproof.receiver.app import create_app
from hookproof.receiver.config import ReceiverConfig

__all__ = ["ReceiverConfig", "create_app"]
