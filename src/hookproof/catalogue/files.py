"""``hookproof validate``: payload files against the contracts, errors and drift apart."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from hookproof.catalogue import Provider
from hookproof.catalogue.har import har_records, verify
from hookproof.catalogue.inputs import read_records
from hookproof.catalogue.validation import ContractValidator, ValidationEngine, engine_for
from hookproof.errors import InputError


@dataclass
class Tally:
    payloads: int = 0
    with_errors: int = 0
    with_drift: int = 0
    unusable: int = 0
    errors: int = 0
    drift: int = 0
    per_event: Counter[str] = field(default_factory=Counter)
    event_errors: Counter[str] = field(default_factory=Counter)
    event_drift: Counter[str] = field(default_factory=Counter)
    bad_signatures: int = 0


def validate_files(
    files: Sequence[Path],
    *,
    provider: str,
    event: str | None,
    out: TextIO,
    show_drift: bool = True,
    secret: str | None = None,
) -> int:
    """Validate every payload of ``files``; print findings; return the exit code."""
    engine: ValidationEngine = engine_for()
    spec: Provider = engine.catalogue.provider(provider)
    header_event: dict[str, str] | None = None
    if event is not None and not spec.has_event(event) and spec.header_names_event() and any(
            spec.event_header_value(e.name) == event for e in spec.events):
        # GitHub's kind of naming: `--event pull_request` is what X-GitHub-Event says; the
        # body's action completes the name, as for a delivery
        header_event, event = {str(spec.event_header): event}, None
    elif event is not None:
        spec.event(event)
    validators: dict[str, ContractValidator] = {}
    tally = Tally()
    saw_har = False
    drift_lines: list[str] = []
    write = out.write
    per_event = tally.per_event
    for path in files:
        try:
            har = path.suffix.lower() == ".har"
            records = har_records(path, spec) if har else read_records(
                path, spec.transport.encoding)
            saw_har = saw_har or har
            for record in records:
                if record.problem is not None:
                    tally.unusable += 1
                    write(f"{record.source}:{record.line}: $: unusable: {record.problem}\n")
                    continue
                tally.payloads += 1
                name = event or spec.event_name_of(
                    record.payload, record.request.headers if record.request else header_event)
                if name is None or not spec.has_event(name):
                    tally.unusable += 1
                    reason = (
                        f"unknown {provider} event {name!r}" if name
                        else "cannot tell which event this is; give --event"
                    )
                    write(f"{record.source}:{record.line}: $: unusable: {reason}\n")
                    continue
                validator = validators.get(name)
                if validator is None:
                    validator = validators[name] = engine.validator(spec.event(name).request)
                per_event[name] += 1
                if secret is not None and record.request is not None:
                    verdict = verify(spec, record.request, secret)
                    if not verdict.ok:
                        tally.bad_signatures += 1
                        write(f"{record.source}:{record.line}: signature: {verdict.reason}"
                              + (f" ({verdict.detail})" if verdict.detail else "") + "\n")
                if validator.is_clean(record.payload):
                    continue
                result = validator.validate(record.payload)
                if result.errors:
                    tally.with_errors += 1
                    tally.event_errors[name] += 1
                    tally.errors += len(result.errors)
                    for finding in result.errors:
                        at = f"{record.source}:{record.line_of(finding.parts)}"
                        write(f"{at}: {finding.path}: {finding.message} [{finding.keyword}]\n")
                if result.drift:
                    tally.with_drift += 1
                    tally.event_drift[name] += 1
                    tally.drift += len(result.drift)
                    if show_drift:
                        drift_lines.extend(
                            f"{record.source}:{record.line_of(f.parts)}: {f.path}: {f.message}\n"
                            for f in result.drift)
        except InputError as exc:
            tally.unusable += 1
            print(f"hookproof: error: {exc}", file=sys.stderr)
    if drift_lines:
        write("drift (tolerated, but not in the contract):\n")
        out.writelines(drift_lines)
    if saw_har or header_event:  # the events were named from the files: say which
        write(event_table(tally))
    write(
        f"{tally.payloads} payload(s): {tally.errors} error(s) in {tally.with_errors}, "
        f"{tally.drift} drift finding(s) in {tally.with_drift}"
        + (f", {tally.unusable} unusable" if tally.unusable else "")
        + (f", {tally.bad_signatures} bad signature(s)" if tally.bad_signatures else "")
        + "\n"
    )
    if tally.unusable or not tally.payloads:
        if not tally.payloads:
            write("nothing was validated: no usable payload in the input\n")
        return 2
    return 1 if tally.errors or tally.bad_signatures else 0


def event_table(tally: Tally) -> str:
    """Per event: how many payloads, how many with errors, how many with drift."""
    rows = [("event", "payloads", "with errors", "with drift")] + [
        (name, str(count), str(tally.event_errors[name]), str(tally.event_drift[name]))
        for name, count in sorted(tally.per_event.items())
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                       for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip()
             for row in rows]
    return "\n".join(lines) + "\n"
