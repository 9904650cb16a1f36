"""The contracts layer: what a platform sends and expects, as data.

It owns the catalogue of providers (the bundled manifests and JSON Schemas in
``hookproof.contracts``, a team's own from ``--contracts``), validation against them
(``validation``, with the string ``formats``), the examples (``examples``), the payload
variants derived from them (``variants``), the signing vectors (``vectors``), the OpenAPI
export and import (``export``, ``importer``), and reading payload files and captured traffic
(``inputs``, ``har``, ``files`` for ``hookproof validate``). ``locate`` maps a JSON path to a
file's line. ``platform_stub`` answers the platform's own REST API (Twilio's resources) as
the platform would, for receivers tested in process.

It may import the base modules (``errors``, ``safejson``, ``scrub``, ``hookspecs``), the HTTP
model (:mod:`hookproof.transport`) and :mod:`hookproof.signing`; nothing above them.
"""

from __future__ import annotations

from hookproof.catalogue.loading import (
    BASE_URI,
    CONTRACTS_VARIABLE,
    SAFE_LOADER,
    USER_EXAMPLES,
    Catalogue,
    Event,
    NoAliasLoader,
    Provider,
    Resource,
    contracts_root,
    load_catalogue,
    use_contract_dirs,
)

__all__ = [
    "BASE_URI",
    "CONTRACTS_VARIABLE",
    "SAFE_LOADER",
    "USER_EXAMPLES",
    "Catalogue",
    "Event",
    "NoAliasLoader",
    "Provider",
    "Resource",
    "contracts_root",
    "load_catalogue",
    "use_contract_dirs",
]
