"""The suite's engine without pytest: one case against one target under one policy gives a
record, and the record decides (outcome, baselined, blocks). Real receivers on 127.0.0.1:
the reference one, and one that verifies no signature."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hookproof.catalogue import load_catalogue
from hookproof.catalogue.validation import engine_for
from hookproof.checks.base import REGISTRY, Case
from hookproof.checks.engine import Policy, case_key, run_case
from hookproof.checks.verdict import Outcome
from hookproof.reach.settings import Settings
from hookproof.reach.target import make_target
from hookproof.receiver.app import create_app
from hookproof.receiver.server import BackgroundServer
from receivers import unused_port
from reportkit import PROVIDER, SECRET, accept_all_config, reference_config

VARDA = load_catalogue().provider(PROVIDER)
EVENT = VARDA.event("message.created")


def _target(url: str) -> Any:
    settings = Settings(target_url=url, provider=PROVIDER, fuzz_examples=0)
    return make_target(VARDA, settings, secret=SECRET, engine=engine_for())


@pytest.fixture(scope="module")
def receivers() -> Iterator[dict[str, str]]:
    with BackgroundServer(create_app(reference_config())) as good, \
            BackgroundServer(create_app(accept_all_config())) as lax:
        yield {"reference": f"{good.url}/{PROVIDER}", "lax": f"{lax.url}/{PROVIDER}"}


def _case(check: str) -> Case:
    return Case(REGISTRY[check], VARDA, EVENT)


def test_a_pass_is_recorded_with_what_it_cost(receivers: dict[str, str]) -> None:
    record = run_case(_case("signature.valid_accepted"), _target(receivers["reference"]),
                      Policy())
    assert record.outcome is Outcome.PASS and record.failure is None and not record.blocks
    assert record.latencies_ms and record.latencies_ms[0][0] == EVENT.name
    assert record.key == f"{PROVIDER}/{EVENT.name}/signature.valid_accepted"


def test_a_required_finding_blocks_unless_baselined(receivers: dict[str, str]) -> None:
    case = _case("signature.missing_rejected")
    found = run_case(case, _target(receivers["lax"]), Policy())
    assert found.outcome is Outcome.FAIL and found.failure is not None
    assert found.failure.severity == "required" and found.blocks and not found.baselined
    known = run_case(case, _target(receivers["lax"]), Policy(baseline=frozenset({
        case_key(case)})))
    assert known.outcome is Outcome.FAIL and known.baselined and not known.blocks
    updating = run_case(case, _target(receivers["lax"]), Policy(baseline_update=True))
    assert updating.baselined and not updating.blocks


def test_a_recommended_finding_blocks_only_under_strict(receivers: dict[str, str]) -> None:
    case = _case("signature.stale_timestamp_rejected")  # Varda: recommended
    lenient = run_case(case, _target(receivers["lax"]), Policy())
    assert lenient.outcome is Outcome.FAIL and lenient.failure is not None
    assert lenient.failure.severity == "recommended" and not lenient.blocks
    strict = run_case(case, _target(receivers["lax"]), Policy(strict=True))
    assert strict.blocks
    right = run_case(case, _target(receivers["reference"]), Policy(strict=True))
    assert right.outcome is Outcome.PASS and not right.blocks


def test_a_target_that_cannot_be_reached_is_not_run_never_a_pass() -> None:
    record = run_case(_case("signature.valid_accepted"),
                      _target(f"http://127.0.0.1:{unused_port()}/{PROVIDER}"), Policy())
    assert record.outcome is Outcome.NOT_RUN, record
    assert record.reason.startswith("not run: ") and record.failure is None
