"""A team's own provider, from files alone (``--contracts DIR``): no Python file is touched.

Three providers are written into a temporary directory: one signing as Standard Webhooks, one
GitHub-style (``X-Forge-Signature-256: sha256=<hex>`` over the body) and one Stripe-style
(``t=<unix>,v1=<hex>`` over ``"{t}.{body}"``, a 300 s window). The suite runs against the
reference receiver serving them (every check passes) and against a receiver that verifies
nothing (caught); the signatures are cross-checked with the ``standardwebhooks`` package and
``hmac``; a broken manifest is an error naming its file and line.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from broken import run_suite_at
from load_receivers import LoadReceiver
from receivers import unused_port, wait_until_answers

SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SECRET_ENV = "HOOKPROOF_TEST_SECRET"


def _schema(name: str, field: str, example: dict[str, Any]) -> str:
    return json.dumps({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": name, "type": "object", "required": [field, "data"],
        "properties": {
            field: {"const": name},
            "data": {"type": "object", "required": ["id", "amount"],
                     "properties": {"id": {"type": "string", "pattern": "^[a-z]+_[A-Za-z0-9]+$"},
                                    "amount": {"type": "integer", "minimum": 0},
                                    "currency": {"enum": ["usd", "eur"]}}}},
        "examples": [example]}, indent=2)


MANIFESTS = {
    "acme": """
        id: acme
        title: Acme billing (Standard Webhooks)
        transport: {encoding: json, methods: [POST], content_type: application/json}
        signature: {scheme: standard-webhooks}
        dedupe_header: webhook-id
        replay_window: {seconds: 300, stale: required, future: recommended}
        timeout_budget: 15
        event_name: {fields: [type]}
        events:
          - {name: invoice.paid, kind: post, request: events/invoice.paid.json}
          - {name: customer.created, kind: post, request: events/customer.created.json}
    """,
    "forge": """
        id: forge
        title: Forge (GitHub-style HMAC)
        transport: {encoding: json, methods: [POST], content_type: application/json}
        signature:
          scheme: hmac
          header: X-Forge-Signature-256
          format: "sha256={signature}"
          template: "{body}"
        dedupe_header: X-Forge-Delivery
        replay_window: null
        timeout_budget: 10
        event_name: {fields: [action]}
        events:
          - {name: invoice.paid, kind: post, request: events/invoice.paid.json}
    """,
    "tally": """
        id: tally
        title: Tally (Stripe-style HMAC)
        transport: {encoding: json, methods: [POST], content_type: application/json}
        signature:
          scheme: hmac
          header: Tally-Signature
          format: "t={timestamp},v1={signature}"
          template: "{timestamp}.{body}"
        dedupe_header: Tally-Event-Id
        replay_window: {seconds: 300, stale: required, future: recommended}
        timeout_budget: 10
        event_name: {fields: [type]}
        events:
          - {name: invoice.paid, kind: post, request: events/invoice.paid.json}
    """,
}
FIELDS = {"acme": "type", "forge": "action", "tally": "type"}


def write_providers(root: Path) -> Path:
    for provider, manifest in MANIFESTS.items():
        folder = root / provider
        (folder / "events").mkdir(parents=True)
        (folder / "manifest.yaml").write_text(textwrap.dedent(manifest).lstrip())
        field = FIELDS[provider]
        for event in ("invoice.paid", "customer.created"):
            if event in manifest:
                example = {field: event, "data": {"id": "in_1a2b3c", "amount": 1200,
                                                   "currency": "usd"}}
                (folder / "events" / f"{event}.json").write_text(
                    _schema(event, field, example))
    return root


@pytest.fixture(scope="module")
def contracts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_providers(tmp_path_factory.mktemp("contracts"))


@pytest.fixture(scope="module")
def reference(contracts: Path) -> Iterator[str]:
    """The reference receiver, serving the bundled providers and the three of files."""
    port = unused_port()
    env = dict(os.environ, HOOKPROOF_SECRET=SW_SECRET)
    server = subprocess.Popen([sys.executable, "-m", "hookproof.cli", "--contracts",
                               str(contracts), "serve", "--port", str(port), "--log-level",
                               "warning"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    wait_until_answers(f"{base}/healthz")
    yield base
    server.terminate()
    server.wait(10)


def _run(base: str, provider: str, contracts: Path, workdir: Path, **extra: Any) -> Any:
    return run_suite_at(f"{base}/{provider}", provider, workdir,
                        effects_url=f"{base}/{provider}/effects",
                        extra_args=["--contracts", str(contracts)],
                        env_extra={SECRET_ENV: SW_SECRET}, **extra)


@pytest.mark.parametrize("provider", sorted(MANIFESTS))
def test_the_reference_receiver_passes_a_provider_of_files(
        provider: str, contracts: Path, reference: str, tmp_path: Path) -> None:
    run = _run(reference, provider, contracts, tmp_path)
    assert run.returncode == 0, run.output[-3000:]
    summary = run.report["targets"][0]["summary"]
    assert summary["checks"] >= 12 and summary["pass"] == summary["checks"], summary
    checks = {r["check"] for r in run.report["targets"][0]["results"]}
    assert {"signature.missing_rejected", "signature.wrong_secret_rejected",
            "fuzz.generated_accepted", "idempotency.sequential_duplicate"} <= checks
    timestamped = provider != "forge"
    assert ("signature.stale_timestamp_rejected" in checks) == timestamped


def test_a_receiver_that_verifies_nothing_is_caught(contracts: Path, tmp_path: Path) -> None:
    with LoadReceiver() as receiver:
        for provider in ("acme", "forge"):
            run = run_suite_at(f"{receiver.base}/{provider}", provider, tmp_path / provider,
                               effects_url=f"{receiver.base}/effects",
                               extra_args=["--contracts", str(contracts)],
                               env_extra={SECRET_ENV: SW_SECRET})
            assert run.returncode == 1, run.output[-2000:]
            failed = {f["check"] for f in run.report["targets"][0]["failures"]
                      if f["severity"] == "required"}
            assert {"signature.missing_rejected", "signature.wrong_secret_rejected",
                    "signature.tampered_body_rejected"} <= failed, (provider, failed)


def _catalogue(contracts: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    from hookproof.catalogue import CONTRACTS_VARIABLE, load_catalogue

    monkeypatch.setenv(CONTRACTS_VARIABLE, str(contracts))
    load_catalogue.cache_clear()
    return load_catalogue()


@pytest.fixture
def own_catalogue(contracts: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from hookproof.catalogue import load_catalogue

    yield _catalogue(contracts, monkeypatch)
    monkeypatch.undo()
    load_catalogue.cache_clear()


def _delivery(catalogue: Any, provider: str, secret: str) -> Any:
    from hookproof.catalogue.examples import canonical_example
    from hookproof.reach.builder import DeliveryBuilder

    spec = catalogue.provider(provider)
    builder = DeliveryBuilder(spec, target_url=f"https://hooks.example.com/{provider}",
                              secret=secret)
    event = spec.event("invoice.paid")
    return builder.build(event, canonical_example(provider, event.name).payload)


def test_standard_webhooks_deliveries_verify_with_the_standardwebhooks_package(
        own_catalogue: Any) -> None:
    from standardwebhooks import Webhook, WebhookVerificationError

    delivery = _delivery(own_catalogue, "acme", SW_SECRET)
    request = delivery.request
    Webhook(SW_SECRET).verify(request.body, dict(request.headers))  # raises when wrong
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_dGhpcyBpcyBhbm90aGVyIGtleQ==").verify(request.body,
                                                             dict(request.headers))


def test_github_and_stripe_style_signatures_are_what_hmac_computes(
        own_catalogue: Any) -> None:
    from hookproof.signing import scheme_for

    secret = "hmac-secret-1"
    forge = _delivery(own_catalogue, "forge", secret).request
    expected = hmac.new(secret.encode(), forge.body, hashlib.sha256).hexdigest()
    assert forge.header("X-Forge-Signature-256") == f"sha256={expected}"
    tally = _delivery(own_catalogue, "tally", secret).request
    value = tally.header("Tally-Signature") or ""
    parts = dict(item.split("=", 1) for item in value.split(","))
    signed = parts["t"].encode() + b"." + tally.body
    assert parts["v1"] == hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    scheme = scheme_for(own_catalogue.provider("tally").signature, encoding="json")
    now = int(parts["t"])
    assert scheme.verify(tally, secret, now=now, tolerance=300).ok
    assert scheme.verify(tally, secret, now=now + 301, tolerance=300).reason == "stale"
    assert scheme.verify(tally.with_body(tally.body + b" "), secret, now=now).reason == (
        "mismatch")
    assert scheme.verify(tally.with_headers({"Tally-Signature": "garbage"}), secret,
                         now=now).reason == "malformed"


def test_vectors_validate_and_send_work_for_it(contracts: Path, reference: str,
                                               tmp_path: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, **{SECRET_ENV: SW_SECRET})
        return subprocess.run([sys.executable, "-m", "hookproof.cli", "--contracts",
                               str(contracts), *args], env=env, capture_output=True,
                              text=True, timeout=120, check=False)

    vectors = cli("vectors", "--provider", "tally")
    assert vectors.returncode == 0, vectors.stderr
    document = json.loads(vectors.stdout)
    outcomes = {v["id"]: (v["expect"], v["reason"]) for v in document["vectors"]}
    assert outcomes["generated-1"] == ("accept", "ok")
    assert outcomes["generated-stale"] == ("reject", "stale")
    assert outcomes["generated-wrong-secret"] == ("reject", "mismatch")
    payload = tmp_path / "paid.json"
    payload.write_text('{"type": "invoice.paid", "data": {"id": "in_9", "amount": -1}}')
    validated = cli("validate", "--provider", "acme", str(payload))
    assert validated.returncode == 1 and "$.data.amount" in validated.stdout
    sent = cli("send", "invoice.paid", "--provider", "acme", "--target-url",
               f"{reference}/acme", "--secret-env", SECRET_ENV)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert SW_SECRET not in sent.stdout + sent.stderr


def test_an_openapi_document_becomes_a_provider(reference: str, tmp_path: Path) -> None:
    source = tmp_path / "octo.yaml"
    source.write_text(textwrap.dedent("""
        openapi: 3.1.0
        info: {title: Octo webhooks, version: "1"}
        webhooks:
          issue.opened:
            post:
              summary: An issue was opened
              requestBody:
                content:
                  application/json:
                    schema:
                      type: object
                      required: [type, issue]
                      properties:
                        type: {const: issue.opened}
                        issue: {$ref: "#/components/schemas/Issue"}
                    example: {type: issue.opened, issue: {number: 7, title: Crash}}
              responses: {"200": {description: ok}}
        components:
          schemas:
            Issue:
              type: object
              required: [number, title]
              properties:
                number: {type: integer, minimum: 1}
                title: {type: string}
    """))
    contracts = tmp_path / "imported"
    imported = subprocess.run(
        [sys.executable, "-m", "hookproof.cli", "import", "openapi", str(source), "-o",
         str(contracts / "octo"), "--scheme", "hmac", "--header", "X-Octo-Signature",
         "--signature-format", "sha256={signature}", "--dedupe-header", "X-Octo-Delivery"],
        capture_output=True, text=True, timeout=60, check=False)
    assert imported.returncode == 0, imported.stderr
    assert "1 event(s)" in imported.stdout
    # the running receiver does not know it: serve one that does
    port = unused_port()
    env = dict(os.environ, HOOKPROOF_SECRET=SW_SECRET)
    server = subprocess.Popen([sys.executable, "-m", "hookproof.cli", "--contracts",
                               str(contracts), "serve", "--port", str(port), "--log-level",
                               "warning"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_answers(f"{base}/healthz")
        run = _run(base, "octo", contracts, tmp_path / "run")
    finally:
        server.terminate()
        server.wait(10)
    assert run.returncode == 0, run.output[-3000:]
    assert run.report["targets"][0]["summary"]["fail"] == 0


@pytest.mark.parametrize(("breakage", "message"), [
    (lambda root: (root / "acme" / "manifest.yaml").write_text("id: acme\ntitle: [unclosed\n"),
     "acme/manifest.yaml:3: not YAML"),
    (lambda root: (root / "acme" / "events" / "invoice.paid.json").unlink(),
     "acme/manifest.yaml:10: names events/invoice.paid.json"),
    (lambda root: (root / "acme" / "events" / "invoice.paid.json").write_text('{\n  "a": ,\n}'),
     "invoice.paid.json:2: not JSON"),
    (lambda root: (root / "forge" / "manifest.yaml").write_text(
        (root / "forge" / "manifest.yaml").read_text().replace("scheme: hmac", "scheme: rot13")),
     "forge/manifest.yaml:4: unknown signature scheme 'rot13'"),
    (lambda root: (root / "forge" / "manifest.yaml").write_text(
        (root / "forge" / "manifest.yaml").read_text().replace("id: forge", "id: varda")),
     "id 'varda' must be the folder's name 'forge'"),
    (lambda root: (root / "forge" / "events" / "invoice.paid.json").write_text(
        (root / "forge" / "events" / "invoice.paid.json").read_text().replace(
            '"type": "string",\n', '"$ref": "../defs.json#/$defs/Nowhere",\n', 1)),
     "invoice.paid.json:21: $ref '../defs.json#/$defs/Nowhere' does not resolve"),
])
def test_a_broken_provider_is_a_usage_error_naming_file_and_line(
        breakage: Any, message: str, tmp_path: Path) -> None:
    root = write_providers(tmp_path / "contracts")
    breakage(root)
    env = dict(os.environ, **{SECRET_ENV: SW_SECRET}, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "hookproof.plugin", "-q",
                          "-p", "no:cacheprovider", "--contracts", str(root), "--target-url",
                          "http://127.0.0.1:9/acme", "--provider", "acme", "--secret-env",
                          SECRET_ENV], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120, check=False)
    assert run.returncode == 4, run.stdout + run.stderr
    assert message in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
    cli = subprocess.run([sys.executable, "-m", "hookproof.cli", "--contracts", str(root),
                          "list"], capture_output=True, text=True, timeout=60, check=False)
    assert cli.returncode == 2 and message in cli.stderr and "Traceback" not in cli.stderr


def test_the_bundled_catalogue_is_unchanged_without_contracts() -> None:
    from hookproof.catalogue import CONTRACTS_VARIABLE, load_catalogue

    assert CONTRACTS_VARIABLE not in os.environ
    assert "acme" not in load_catalogue().providers


@pytest.fixture
def isolated_catalogue(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``hookproof run`` in this process sets the contracts variable and reloads the catalogue:
    both are put back afterwards."""
    from hookproof.catalogue import CONTRACTS_VARIABLE, load_catalogue

    monkeypatch.setenv(CONTRACTS_VARIABLE, "")
    load_catalogue.cache_clear()
    yield
    load_catalogue.cache_clear()


def test_providers_in_the_run_config_are_loaded_for_every_target(
        contracts: Path, reference: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str], isolated_catalogue: None) -> None:
    from hookproof.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(SECRET_ENV, SW_SECRET)
    (tmp_path / "hookproof.yaml").write_text(json.dumps({
        "providers": [os.path.relpath(contracts, tmp_path)],  # relative to the config file
        "targets": [{"name": name, "provider": name, "url": f"{reference}/{name}",
                     "secret_env": SECRET_ENV, "effects_url": f"{reference}/{name}/effects"}
                    for name in ("acme", "forge")],
    }))
    code = main(["run", "--jobs", "2"])
    out, err = capfd.readouterr()
    assert code == 0, out + err
    assert SW_SECRET not in out + err
    document = json.loads((tmp_path / "reports" / "conformance.json").read_text())
    assert [t["name"] for t in document["targets"]] == ["acme", "forge"]
    for target in document["targets"]:
        assert target["summary"]["checks"] >= 12
        assert target["summary"]["pass"] == target["summary"]["checks"], target["summary"]


@pytest.mark.parametrize(("providers", "message"), [
    ("no-such-folder", "providers: no-such-folder: no such directory"),
    (42, "providers is a directory, or a list of directories"),
    ([], "providers is a directory, or a list of directories"),
])
def test_bad_providers_in_the_run_config_are_one_line(
        providers: Any, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str], isolated_catalogue: None) -> None:
    from hookproof.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "hookproof.yaml").write_text(json.dumps({
        "providers": providers,
        "targets": [{"name": "acme", "provider": "acme", "url": "http://127.0.0.1:9/acme"}]}))
    assert main(["run"]) == 2
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"hookproof: error: {tmp_path / 'hookproof.yaml'}: {message}"), err


def test_a_broken_provider_in_the_run_config_names_its_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str],
        isolated_catalogue: None) -> None:
    from hookproof.cli import main

    mine = write_providers(tmp_path / "mine")
    (mine / "acme" / "manifest.yaml").write_text("id: acme\nevents: [\n")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hookproof.yaml").write_text(json.dumps({
        "providers": "mine",
        "targets": [{"name": "acme", "provider": "acme", "url": "http://127.0.0.1:9/acme"}]}))
    assert main(["run"]) == 2
    _, err = capfd.readouterr()
    assert "Traceback" not in err
    assert "providers:" in err and "acme/manifest.yaml" in err, err
