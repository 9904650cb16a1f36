"""``hookproof validate``: payload files against the contracts, errors and drift apart."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from hookproof.catalogue import Provider
from hookproof.errors import InputError
from hookproof.inputs import read_records
from hookproof.validation import ContractValidator, ValidationEngine, engine_for


@dataclass
class Tally:
    payloads: int = 0
    with_errors: int = 0
    with_drift: int = 0
    unusable: int = 0
    errors: int = 0
    drift: int = 0
    per_event: Counter[str] = field(default_factory=Counter)


def validate_files(
    files: Sequence[Path],
    *,
    provider: str,
    event: str | None,
    out: TextIO,
    show_drift: bool = True,
) -> int:
    """Validate every payload of ``files``; print findings; return the exit code."""
    engine: ValidationEngine = engine_for()
    spec: Provider = engine.catalogue.provider(provider)
    if event is not None:
        spec.event(event)
    validators: dict[str, ContractValidator] = {}
    tally = Tally()
    drift_lines: list[str] = []
    write = out.write
    for path in files:
        try:
            for record in read_records(path, spec.transport.encoding):
                where = f"{record.source}:{record.line}"
                if record.problem is not None:
                    tally.unusable += 1
                    write(f"{where}: $: unusable: {record.problem}\n")
                    continue
                tally.payloads += 1
                name = event or spec.event_name_of(record.payload)
                if name is None or not spec.has_event(name):
                    tally.unusable += 1
                    reason = (
                        f"unknown {provider} event {name!r}" if name
                        else "cannot tell which event this is; give --event"
                    )
                    write(f"{where}: $: unusable: {reason}\n")
                    continue
                validator = validators.get(name)
                if validator is None:
                    validator = validators[name] = engine.validator(spec.event(name).request)
                tally.per_event[name] += 1
                if validator.is_clean(record.payload):
                    continue
                result = validator.validate(record.payload)
                if result.errors:
                    tally.with_errors += 1
                    tally.errors += len(result.errors)
                    for finding in result.errors:
                        write(f"{where}: {finding.path}: {finding.message} [{finding.keyword}]\n")
                if result.drift:
                    tally.with_drift += 1
                    tally.drift += len(result.drift)
                    if show_drift:
                        drift_lines.extend(f"{where}: {f.path}: {f.message}\n"
                                           for f in result.drift)
        except InputError as exc:
            tally.unusable += 1
            print(f"hookproof: error: {exc}", file=sys.stderr)
    if drift_lines:
        write("drift (tolerated, but not in the contract):\n")
        out.writelines(drift_lines)
    write(
        f"{tally.payloads} payload(s): {tally.errors} error(s) in {tally.with_errors}, "
        f"{tally.drift} drift finding(s) in {tally.with_drift}"
        + (f", {tally.unusable} unusable" if tally.unusable else "")
        + "\n"
    )
    if tally.unusable:
        return 2
    return 1 if tally.errors else 0
