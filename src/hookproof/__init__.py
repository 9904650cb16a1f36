"""hookproof: prove a webhook receiver is ready for production.

The public API is small and imported lazily, so that loading the pytest plugin stays cheap::

    import hookproof
    result = hookproof.validate(payload, provider="varda")
    result.errors, result.drift
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "load_catalogue",
    "validate",
    "validate_resource",
    "validate_response",
    "vectors_for",
]

if TYPE_CHECKING:
    from hookproof.catalogue import load_catalogue
    from hookproof.catalogue.validation import validate, validate_resource, validate_response
    from hookproof.catalogue.vectors import vectors_for

_LAZY = {
    "load_catalogue": "hookproof.catalogue",
    "validate": "hookproof.catalogue.validation",
    "validate_response": "hookproof.catalogue.validation",
    "validate_resource": "hookproof.catalogue.validation",
    "vectors_for": "hookproof.catalogue.vectors",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hookproof' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
