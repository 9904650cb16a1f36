"""Shared pytest fixtures: the bundled catalogue and its two validation engines (built once)."""

from __future__ import annotations

import pytest

from hookproof.catalogue import Catalogue, load_catalogue
from hookproof.catalogue.validation import ValidationEngine, engine_for


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture(scope="session")
def fast_engine(catalogue: Catalogue) -> ValidationEngine:
    """The engine ``validate`` uses: jsonschema_rs yes/no first, jsonschema to explain."""
    return engine_for(catalogue)


@pytest.fixture(scope="session")
def slow_engine(catalogue: Catalogue) -> ValidationEngine:
    """Pure ``jsonschema`` (no Rust fast path)."""
    return ValidationEngine(catalogue, fast=False)


def pytest_configure(config: pytest.Config) -> None:
    # Registered only so it can be selected or deselected (`-m "not slow"`); it still runs by
    # default.
    config.addinivalue_line("markers", "slow: builds the wheel (about 5-40 s); runs by default")
