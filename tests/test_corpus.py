"""The fuzz corpus: the payloads fuzz checks send, drawn once and kept.

The bundled corpus must be current (every event and mode, drawn from the contracts as they
are now), what it holds must be what Hypothesis draws for that seed, and a changed contract,
seed or count must never reuse payloads drawn for another.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hookproof.catalogue import load_catalogue
from hookproof.catalogue.validation import engine_for
from hookproof.checks import corpus
from hookproof.checks.generation import DEFAULT_EXAMPLES, DEFAULT_SEED

CATALOGUE = load_catalogue()


def test_the_bundled_corpus_is_current() -> None:
    """Every event and mode, under the fingerprint of today's contracts (rebuild it with
    `python -m hookproof.checks.corpus` after changing a contract)."""
    bundled = corpus._bundled()
    missing = [corpus.key(p, e, mode, DEFAULT_SEED, DEFAULT_EXAMPLES)
               for p in CATALOGUE.providers.values() for e in p.events
               for mode in ("positive", "negative")
               if corpus.key(p, e, mode, DEFAULT_SEED, DEFAULT_EXAMPLES) not in bundled]
    assert not missing, f"stale or missing corpus entries (python -m hookproof.checks.corpus): " \
                        f"{missing[:3]}"


@pytest.mark.parametrize(("provider", "event"), [("varda", "message.created"),
                                                 ("twilio-conversations", "onMessageAdd"),
                                                 ("operator", "conversation.setup")])
def test_the_corpus_holds_what_hypothesis_draws(provider: str, event: str) -> None:
    spec = CATALOGUE.provider(provider)
    hook = spec.event(event)
    for mode in ("positive", "negative"):
        kept, source = corpus.payloads(spec, hook, mode, DEFAULT_SEED, DEFAULT_EXAMPLES)
        assert source == "bundled"
        assert kept == corpus.draw(spec, hook, mode, DEFAULT_SEED, DEFAULT_EXAMPLES)[0]


def test_positive_payloads_are_valid_and_negative_ones_are_not() -> None:
    engine = engine_for(CATALOGUE)
    for provider in CATALOGUE.providers.values():
        for event in provider.events:
            validator = engine.validator(event.request)
            for mode in ("positive", "negative"):
                kept, _ = corpus.payloads(provider, event, mode, DEFAULT_SEED,
                                          DEFAULT_EXAMPLES)
                for payload in kept:
                    broken = bool(validator.validate(payload).errors)
                    assert broken == (mode == "negative"), (provider.id, event.name, payload)


def test_other_seeds_are_drawn_once_then_cached(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKPROOF_CACHE_DIR", str(tmp_path))
    spec = CATALOGUE.provider("varda")
    hook = spec.event("contact.created")
    first, source = corpus.payloads(spec, hook, "positive", 7, 3)
    assert source == "drawn" and len(first) == 3
    again, source = corpus.payloads(spec, hook, "positive", 7, 3)
    assert source == "cached" and again == first
    other, source = corpus.payloads(spec, hook, "positive", 8, 3)
    assert source == "drawn" and other != first


def test_a_changed_contract_never_reuses_payloads(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = CATALOGUE.provider("varda")
    hook = spec.event("contact.created")
    before = corpus.key(spec, hook, "positive", 0, 8)
    corpus.fingerprint.cache_clear()
    monkeypatch.setattr("hookproof.catalogue.export.export_openapi",
                        lambda *args, **kwargs: {"changed": True})
    try:
        assert corpus.key(spec, hook, "positive", 0, 8) != before
    finally:
        corpus.fingerprint.cache_clear()


def test_an_unwritable_cache_is_no_cache(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("HOOKPROOF_CACHE_DIR", str(blocker))
    spec = CATALOGUE.provider("varda")
    kept, source = corpus.payloads(spec, spec.event("contact.created"), "negative", 11, 2)
    assert source == "drawn" and kept


def test_an_event_hypothesis_cannot_draw_a_negative_for_still_gets_invalid_payloads(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """GitHub's ``pull_request`` schema is too large to draw a negative from in time: the
    check then sends invalid payloads derived from a valid one, each refused by the contract
    and still naming its event, instead of reporting "not observed" on every run."""
    monkeypatch.setenv("HOOKPROOF_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(corpus, "draw", lambda *args: ([], False))  # out of time, nothing
    spec = CATALOGUE.provider("varda")
    hook = spec.event("message.created")
    validator = engine_for(CATALOGUE).validator(hook.request)
    kept, source = corpus.payloads(spec, hook, "negative", 7, 6)
    assert source == "derived" and len(kept) == 6
    for payload in kept:
        assert validator.validate(payload).errors, payload
        assert spec.event_name_of(payload) == "message.created"
    assert len({str(p) for p in kept}) == len(kept)  # six different defects
    assert kept == corpus.payloads(spec, hook, "negative", 7, 6)[0]  # the same every run
