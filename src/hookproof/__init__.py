"""hookproof: prove a webhook receiver is ready for production."""

from __future__ import annotations

__version__ = "0.1.0"
