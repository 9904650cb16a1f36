"""A team's own provider on real platforms' terms: GitHub (an OpenAPI document shaped as
GitHub's official one, imported with ``--preset github``) and the Svix family (Standard
Webhooks under ``svix-*`` headers: Clerk, Resend).

The GitHub-shaped document holds what GitHub's has (``@octokit/openapi-webhooks``): examples
as ``$ref``s to ``#/components/examples``, most webhooks with no example at all, ``int64`` and
``uri-template`` formats, objects composed with ``allOf`` of a ``$ref`` and more properties,
OpenAPI 3.0's "nullable reference" (``allOf`` beside ``type: [null]``), operationIds
``pull-request/opened`` and the event named by ``X-GitHub-Event`` plus the body's ``action``.
Receivers are FastAPI apps served on 127.0.0.1 (:mod:`github_receivers`).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from broken import run_suite_at
from github_receivers import github_app, svix_app
from receivers import run_in_thread, unused_port, wait_until_answers

SECRET_ENV = "HOOKPROOF_TEST_SECRET"
GITHUB_SECRET = "gh-webhook-secret-1"
SVIX_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

_USER = {
    "type": "object", "required": ["login", "id", "url"],
    "properties": {"login": {"type": "string"}, "id": {"type": "integer", "format": "int64"},
                   "url": {"type": "string", "format": "uri"},
                   "repos_url": {"type": "string", "format": "uri-template"}}}
_COMMIT = {
    "type": "object", "required": ["id", "message", "timestamp"],
    "properties": {"id": {"type": "string", "pattern": "^[0-9a-f]{40}$"},
                   "message": {"type": "string"},
                   "timestamp": {"type": "string", "format": "date-time"}}}
_REPOSITORY = {
    "type": "object", "required": ["id", "full_name", "owner"],
    "properties": {"id": {"type": "integer", "format": "int64"},
                   "full_name": {"type": "string"},
                   "owner": {"$ref": "#/components/schemas/simple-user"},
                   "created": {"type": "string", "format": "date"}}}


def _pull_request(action: str) -> dict[str, Any]:
    return {
        "type": "object", "required": ["action", "number", "pull_request", "repository",
                                       "sender"],
        "properties": {
            "action": {"type": "string", "enum": [action]},
            "number": {"type": "integer"},
            "pull_request": {"allOf": [
                {"$ref": "#/components/schemas/pull-request"},
                {"type": "object", "properties": {"merged": {"type": ["boolean", "null"]}}}]},
            "repository": {"$ref": "#/components/schemas/repository"},
            "sender": {"$ref": "#/components/schemas/simple-user"}}}


def _webhook(operation_id: str, schema: str, example: str | None = None) -> dict[str, Any]:
    content: dict[str, Any] = {"schema": {"$ref": f"#/components/schemas/{schema}"}}
    if example:
        content["examples"] = {"default": {"$ref": f"#/components/examples/{example}"}}
    return {"post": {
        "operationId": operation_id, "summary": operation_id,
        "parameters": [{"name": "X-Github-Event", "in": "header", "required": True,
                        "schema": {"type": "string"}}],
        "requestBody": {"required": True, "content": {"application/json": content}},
        "responses": {"200": {"description": "ok"}}}}


GITHUB_DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "GitHub webhooks", "version": "1"},
    "webhooks": {
        "ping": _webhook("ping", "webhook-ping", "ping"),
        "push": _webhook("push", "webhook-push"),
        "pull-request-opened": _webhook("pull-request/opened", "webhook-pull-request-opened"),
        "pull-request-closed": _webhook("pull-request/closed", "webhook-pull-request-closed"),
    },
    "components": {
        "schemas": {
            "simple-user": _USER,
            "repository": _REPOSITORY,
            "pull-request": {"type": "object", "required": ["id", "title", "user"],
                             "properties": {"id": {"type": "integer", "format": "int64"},
                                            "title": {"type": "string"},
                                            "user": {"$ref": "#/components/schemas/simple-user"},
                                            "merged_by": {
                                                "allOf": [{"$ref":
                                                           "#/components/schemas/simple-user"}],
                                                "type": ["null"]}}},
            "webhook-ping": {"type": "object", "properties": {
                "zen": {"type": "string"}, "hook_id": {"type": "integer"}}},
            "webhook-push": {
                "type": "object", "required": ["ref", "before", "after", "repository",
                                               "head_commit", "sender"],
                "properties": {
                    "ref": {"type": "string"}, "before": {"type": "string"},
                    "after": {"type": "string"},
                    "head_commit": {"anyOf": [{"$ref": "#/components/schemas/commit"},
                                              {"type": "null"}]},
                    "repository": {"$ref": "#/components/schemas/repository"},
                    "sender": {"$ref": "#/components/schemas/simple-user"}}},
            "commit": _COMMIT,
            "webhook-pull-request-opened": _pull_request("opened"),
            "webhook-pull-request-closed": _pull_request("closed"),
        },
        "examples": {"ping": {"value": {"zen": "Design for failure.", "hook_id": 109948940}}},
    },
}


def _cli(*args: str, env: dict[str, str] | None = None,
         timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hookproof.cli", *args],
                          env=dict(os.environ, **(env or {})), capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.fixture(scope="module")
def github_contracts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("github")
    source = root / "api.github.com.json"
    source.write_text(json.dumps(GITHUB_DOCUMENT))
    imported = _cli("import", "openapi", str(source), "-o", str(root / "contracts" / "github"),
                    "--preset", "github")
    assert imported.returncode == 0, imported.stderr
    return root / "contracts"


def test_the_github_preset_imports_what_a_github_receiver_branches_on(
        github_contracts: Path) -> None:
    manifest = yaml.safe_load((github_contracts / "github" / "manifest.yaml").read_text())
    assert [e["name"] for e in manifest["events"]] == [
        "ping", "push", "pull_request.opened", "pull_request.closed"]
    assert manifest["event_name"] == {"rule": "header+body", "header": "X-GitHub-Event",
                                      "fields": ["action"]}
    assert manifest["signature"]["header"] == "X-Hub-Signature-256"
    assert manifest["dedupe_header"] == "X-GitHub-Delivery"
    ping = json.loads((github_contracts / "github" / "events" / "ping.json").read_text())
    assert ping["examples"] == [{"zen": "Design for failure.", "hook_id": 109948940}]
    listed = _cli("--contracts", str(github_contracts), "list", "--provider", "github")
    assert listed.returncode == 0, listed.stderr
    assert "formats nothing defines" not in listed.stdout  # int64 is OpenAPI's, a range


def test_import_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    source = tmp_path / "doc.json"
    source.write_text(json.dumps(GITHUB_DOCUMENT))
    target = tmp_path / "contracts" / "github"
    target.mkdir(parents=True)
    (target / "manifest.yaml").write_text("id: github  # the team's own\n")
    (target / "notes.txt").write_text("unrelated")
    refused = _cli("import", "openapi", str(source), "-o", str(target), "--preset", "github")
    assert refused.returncode == 2 and "not empty" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
    assert (target / "manifest.yaml").read_text() == "id: github  # the team's own\n"
    forced = _cli("import", "openapi", str(source), "-o", str(target), "--preset", "github",
                  "--force")
    assert forced.returncode == 0, forced.stderr
    assert sorted(p.name for p in target.iterdir()) == ["defs.json", "events", "manifest.yaml"]


def test_validate_takes_the_event_header_and_completes_the_name_from_the_body(
        github_contracts: Path, tmp_path: Path) -> None:
    """A GitHub payload saved from a delivery is named by its X-GitHub-Event header and the
    body's action: ``--event pull_request`` is what a user can read off the delivery."""
    user = {"login": "octocat", "id": 1, "url": "https://api.github.com/users/octocat"}
    repository = {"id": 2, "full_name": "octo/hello", "owner": user}
    opened = {"action": "opened", "number": 1, "pull_request": {"id": 3, "title": "t",
                                                                "user": user},
              "repository": repository, "sender": user}
    closed = dict(opened, action="closed")
    broken = dict(opened, number="one")  # number must be an integer
    files = []
    for name, payload in (("opened", opened), ("closed", closed), ("broken", broken)):
        files.append(tmp_path / f"{name}.json")
        files[-1].write_text(json.dumps(payload))
    contracts = ("--contracts", str(github_contracts))
    clean = _cli(*contracts, "validate", "--provider", "github", "--event", "pull_request",
                 str(files[0]), str(files[1]))
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "pull_request.opened" in clean.stdout and "pull_request.closed" in clean.stdout
    found = _cli(*contracts, "validate", "--provider", "github", "--event", "pull_request",
                 str(files[2]))
    assert found.returncode == 1 and "$.number" in found.stdout, found.stdout + found.stderr
    # a header value no event has is still an unknown event: one line, exit 2
    unknown = _cli(*contracts, "validate", "--provider", "github", "--event", "pull_requests",
                   str(files[0]))
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr, unknown.stderr


@contextlib.contextmanager
def serving(command: list[str], port: int, health: str, **env: str) -> Iterator[str]:
    """``command`` serving on 127.0.0.1:``port`` once ``health`` answers: its base URL;
    stopped at the end."""
    server = subprocess.Popen(command, env=dict(os.environ, **env),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_answers(base + health)
        yield base
    finally:
        server.kill()
        server.wait(10)


@contextlib.contextmanager
def reference_receiver(contracts: Path, secret: str) -> Iterator[str]:
    """``hookproof --contracts DIR serve`` on a free port: its base URL."""
    port = unused_port()
    with serving([sys.executable, "-m", "hookproof.cli", "--contracts", str(contracts),
                  "serve", "--port", str(port), "--log-level", "warning"], port, "/healthz",
                 HOOKPROOF_SECRET=secret) as base:
        yield base


@pytest.fixture(scope="module")
def github_reference(github_contracts: Path) -> Iterator[str]:
    with reference_receiver(github_contracts, GITHUB_SECRET) as base:
        yield base


PER_EVENT = {"payload.documented_example_accepted", "payload.minimal_accepted",
             "payload.nullable_fields_accepted", "payload.missing_required_handled",
             "payload.unknown_event_handled", "payload.unknown_fields_tolerated",
             "signature.malformed_header_rejected", "fuzz.generated_accepted"}


def _suite(url: str, contracts: Path, workdir: Path, secret: str, provider: str,
           **extra: Any) -> Any:
    return run_suite_at(url, provider, workdir, extra_args=["--contracts", str(contracts)],
                        env_extra={SECRET_ENV: secret}, timeout=300, **extra)


def test_the_reference_receiver_passes_every_check_of_the_github_provider(
        github_contracts: Path, github_reference: str, tmp_path: Path) -> None:
    run = _suite(f"{github_reference}/github", github_contracts, tmp_path, GITHUB_SECRET,
                 "github", effects_url=f"{github_reference}/github/effects")
    assert run.returncode == 0, run.output[-3000:]
    results = run.report["targets"][0]["results"]
    assert {r["check"] for r in results} >= PER_EVENT
    assert [r for r in results if r["outcome"] != "pass"] == []


def _github_receiver(flaw: str | None, github_contracts: Path, tmp_path: Path) -> Any:
    base, stop = run_in_thread(github_app(GITHUB_SECRET, flaw))
    try:
        return _suite(f"{base}/github", github_contracts, tmp_path, GITHUB_SECRET, "github")
    finally:
        stop()


def _failed(run: Any, severity: str) -> set[tuple[str, str | None]]:
    return {(f["check"], f.get("event")) for f in run.report["targets"][0]["failures"]
            if f["severity"] == severity}


def test_a_correct_fastapi_github_receiver_passes(github_contracts: Path,
                                                  tmp_path: Path) -> None:
    run = _github_receiver(None, github_contracts, tmp_path)
    assert run.returncode == 0, run.output[-3000:]
    assert _failed(run, "required") == set() and _failed(run, "recommended") == set()


@pytest.mark.parametrize(("flaw", "severity", "caught"), [
    # GitHub sends "head_commit": null when a push deletes a branch
    ("head_commit", "required", {("payload.nullable_fields_accepted", "push")}),
    # hmac.compare_digest on str, as GitHub's own guide writes it, raises on a non-ASCII
    # header: a 500 to a forgery no platform sends, a noisy refusal, so recommended
    ("str_compare", "recommended", {("signature.malformed_header_rejected", None)}),
    # strips sha256= and decodes leniently: laxity that still needs the valid MAC
    ("lenient", "recommended", {("signature.malformed_header_rejected", None)}),
])
def test_flawed_github_receivers_are_caught_at_the_right_level(
        flaw: str, severity: str, caught: set[tuple[str, str | None]],
        github_contracts: Path, tmp_path: Path) -> None:
    run = _github_receiver(flaw, github_contracts, tmp_path)
    # (a receiver that crashes on null crashes on other shapes the fuzzer sends too)
    assert caught <= _failed(run, severity), run.output[-3000:]
    assert {c for c, _ in _failed(run, severity)} <= {c for c, _ in caught} | {
        "fuzz.invalid_handled", "fuzz.generated_accepted"}, run.output[-3000:]
    other = "recommended" if severity == "required" else "required"
    assert _failed(run, other) == set(), run.output[-3000:]
    assert run.returncode == (1 if severity == "required" else 0)


def test_a_github_receiver_that_verifies_nothing_is_caught(github_contracts: Path,
                                                           tmp_path: Path) -> None:
    run = _github_receiver("unverified", github_contracts, tmp_path)
    assert run.returncode == 1
    failed = {check for check, _ in _failed(run, "required")}
    assert {"signature.missing_rejected", "signature.wrong_secret_rejected",
            "signature.tampered_body_rejected", "signature.malformed_header_rejected"} <= failed


def test_deliveries_carry_the_event_header_and_action_a_receiver_branches_on(
        github_contracts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hookproof.catalogue import CONTRACTS_VARIABLE, load_catalogue
    from hookproof.catalogue.examples import canonical_example, is_derived
    from hookproof.reach.builder import DeliveryBuilder

    monkeypatch.setenv(CONTRACTS_VARIABLE, str(github_contracts))
    load_catalogue.cache_clear()
    try:
        catalogue = load_catalogue()
        github = catalogue.provider("github")
        builder = DeliveryBuilder(github, target_url="https://hooks.example.com/github",
                                  secret=GITHUB_SECRET)
        for name, header, action in [("pull_request.opened", "pull_request", "opened"),
                                     ("push", "push", None), ("ping", "ping", None)]:
            example = canonical_example("github", name)
            assert is_derived(example) == (name != "ping")
            request = builder.build(github.event(name), example.payload).request
            assert request.header("X-GitHub-Event") == header
            assert json.loads(request.body).get("action") == action
            expected = hmac.new(GITHUB_SECRET.encode(), request.body, hashlib.sha256)
            assert request.header("X-Hub-Signature-256") == "sha256=" + expected.hexdigest()
            assert github.event_name_of(json.loads(request.body), request.headers) == name
    finally:
        monkeypatch.undo()
        load_catalogue.cache_clear()


def test_generated_vectors_carry_the_headers_the_suite_sends(
        github_contracts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A team's receiver tested on ``hookproof vectors`` sees the deliveries the suite sends:
    the event-name header and the platform's User-Agent included."""
    from hookproof.catalogue import CONTRACTS_VARIABLE, load_catalogue
    from hookproof.catalogue.examples import canonical_example
    from hookproof.catalogue.vectors import generated_vectors
    from hookproof.reach.builder import DeliveryBuilder

    monkeypatch.setenv(CONTRACTS_VARIABLE, str(github_contracts))
    load_catalogue.cache_clear()
    try:
        github = load_catalogue().provider("github")
        first = generated_vectors("github")["vectors"][0]
        event = github.events[0]
        sent = DeliveryBuilder(github, target_url=first["url"], secret=GITHUB_SECRET).build(
            event, canonical_example("github", event.name).payload).request
        for name in ("X-GitHub-Event", "User-Agent", "Content-Type"):
            assert first["headers"][name] == sent.header(name), name
        assert first["headers"]["X-GitHub-Event"] == "ping"
    finally:
        monkeypatch.undo()
        load_catalogue.cache_clear()


# -- a GitHub receiver on @octokit/webhooks (Node) ---------------------------------------------

NODE_RECEIVERS = Path(__file__).parent / "node"
"""Receivers written in Node on the platforms' own libraries; ``.ci/run`` installs their
dependencies (``npm install --prefix tests/node``)."""


def _octokit_receiver_missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not (NODE_RECEIVERS / "node_modules" / "@octokit" / "webhooks").is_dir():
        return "@octokit/webhooks is not installed (npm install --prefix tests/node)"
    return None


@contextlib.contextmanager
def octokit_receiver(flaw: str | None) -> Iterator[str]:
    """``tests/node/github_receiver.mjs`` on a free port: its base URL."""
    missing = _octokit_receiver_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing}: CI installs it, so this is a broken install")
        pytest.skip(missing)
    port = unused_port()
    with serving(["node", str(NODE_RECEIVERS / "github_receiver.mjs"), str(port),
                  *([flaw] if flaw else [])], port, "/effects?key=-",
                 GITHUB_WEBHOOK_SECRET=GITHUB_SECRET) as base:
        yield base


def _octokit_suite(flaw: str | None, github_contracts: Path, tmp_path: Path) -> Any:
    with octokit_receiver(flaw) as base:
        return _suite(f"{base}/github", github_contracts, tmp_path, GITHUB_SECRET, "github",
                      effects_url=f"{base}/effects")


def test_a_correct_receiver_on_octokit_webhooks_passes(github_contracts: Path,
                                                       tmp_path: Path) -> None:
    """@octokit/webhooks' middleware verifies the whole header and answers 400 to a bad one;
    it validates no payload, so accepting one without a required field is recommended only."""
    run = _octokit_suite(None, github_contracts, tmp_path)
    assert run.returncode == 0, run.output[-3000:]
    assert _failed(run, "required") == set(), run.output[-3000:]
    assert {c for c, _ in _failed(run, "recommended")} <= {
        "payload.missing_required_handled", "fuzz.invalid_handled"}, run.output[-3000:]
    passed = {r["check"] for r in run.report["targets"][0]["results"] if r["outcome"] == "pass"}
    assert {"signature.malformed_header_rejected", "signature.wrong_secret_rejected",
            "payload.nullable_fields_accepted"} <= passed


@pytest.mark.parametrize(("flaw", "caught"), [
    # GitHub redelivers with the same X-GitHub-Delivery: processed twice without a dedupe
    ("no-dedupe", "idempotency."),
    # payload.head_commit.id on a push that deleted a branch ("head_commit": null)
    ("head-commit", "payload.nullable_fields_accepted"),
])
def test_flawed_receivers_on_octokit_webhooks_are_caught(
        flaw: str, caught: str, github_contracts: Path, tmp_path: Path) -> None:
    run = _octokit_suite(flaw, github_contracts, tmp_path)
    assert run.returncode == 1, run.output[-3000:]
    required = _failed(run, "required")
    assert any(check.startswith(caught) for check, _ in required), required
    assert not any(check.startswith("signature.") for check, _ in required), required


# -- the Svix family --------------------------------------------------------------------------

SVIX_MANIFEST = """
    id: {id}
    title: {id}
    transport: {{encoding: json, methods: [POST], content_type: application/json}}
    signature: {{scheme: standard-webhooks{prefix}}}
    dedupe_header: {dedupe}
    replay_window: {{seconds: 300, stale: required, future: recommended}}
    timeout_budget: 15
    event_name: {{fields: [type]}}
    events:
      - {{name: email.sent, kind: post, request: events/email.sent.json}}
      - {{name: user.created, kind: post, request: events/user.created.json}}
"""


def _svix_schema(name: str) -> dict[str, Any]:
    # status and conclusion are tied, as GitHub's workflow_job.completed ties them: a
    # completed job has a conclusion, so not every enum value goes with every other
    return {"type": "object", "required": ["type", "created_at", "data", "status", "conclusion"],
            "allOf": [{"if": {"properties": {"status": {"enum": ["queued", "in_progress"]}}},
                       "then": {"properties": {"conclusion": {"const": "pending"}}}}],
            "properties": {"type": {"const": name},
                           "status": {"enum": ["completed", "queued", "in_progress"]},
                           "conclusion": {"enum": ["success", "failure", "pending"]},
                           "created_at": {"type": "string", "format": "date-time"},
                           "data": {"anyOf": [{"type": "object", "required": ["id"],
                                               "properties": {"id": {"type": "string"},
                                                              "email": {"type": "string",
                                                                        "format": "email"}}},
                                              {"type": "null"}]}}}


@pytest.fixture(scope="module")
def svix_contracts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("svix")
    for provider, prefix in (("clerkish", "svix"), ("standardish", None)):
        folder = root / provider
        (folder / "events").mkdir(parents=True)
        (folder / "manifest.yaml").write_text(textwrap.dedent(SVIX_MANIFEST.format(
            id=provider, prefix=f", header_prefix: {prefix}" if prefix else "",
            dedupe=f"{prefix or 'webhook'}-id")).lstrip())
        for event in ("email.sent", "user.created"):
            (folder / "events" / f"{event}.json").write_text(json.dumps(_svix_schema(event)))
    return root


@pytest.mark.parametrize(("provider", "library"), [("clerkish", "svix"),
                                                   ("standardish", "standardwebhooks")])
def test_receivers_on_the_svix_and_standardwebhooks_packages_pass(
        provider: str, library: str, svix_contracts: Path, tmp_path: Path) -> None:
    base, stop = run_in_thread(svix_app(SVIX_SECRET, library))
    try:
        run = _suite(f"{base}/hooks", svix_contracts, tmp_path, SVIX_SECRET, provider)
    finally:
        stop()
    assert run.returncode == 0, run.output[-3000:]
    assert _failed(run, "required") == set()
    checks = {r["check"] for r in run.report["targets"][0]["results"]}
    assert {"payload.nullable_fields_accepted", "payload.minimal_accepted",
            "signature.stale_timestamp_rejected"} <= checks


def test_the_reference_receiver_gets_only_enum_values_the_contract_allows_together(
        svix_contracts: Path, tmp_path: Path) -> None:
    # the reference receiver validates every delivery: an enum round that set status=queued
    # with conclusion=failure would be refused, rightly, and blamed on it; and `then` is no
    # place to close the object (every other field would be drift)
    with reference_receiver(svix_contracts, SVIX_SECRET) as base:
        run = _suite(f"{base}/standardish", svix_contracts, tmp_path, SVIX_SECRET,
                     "standardish")
    assert run.returncode == 0, run.output[-3000:]
    enums = [r for r in run.report["targets"][0]["results"]
             if r["check"] == "payload.enum_values_accepted"]
    assert enums and {r["outcome"] for r in enums} == {"pass"}


def test_a_resend_style_receiver_crashing_on_null_data_is_caught(
        svix_contracts: Path, tmp_path: Path) -> None:
    base, stop = run_in_thread(svix_app(SVIX_SECRET, "svix", "data_null"))
    try:
        run = _suite(f"{base}/hooks", svix_contracts, tmp_path, SVIX_SECRET, "clerkish")
    finally:
        stop()
    assert run.returncode == 1
    assert ("payload.nullable_fields_accepted", "email.sent") in _failed(run, "required")


def test_svix_deliveries_verify_with_the_svix_package(svix_contracts: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from svix.webhooks import Webhook, WebhookVerificationError

    from hookproof.catalogue import CONTRACTS_VARIABLE, load_catalogue
    from hookproof.catalogue.examples import canonical_example
    from hookproof.reach.builder import DeliveryBuilder

    monkeypatch.setenv(CONTRACTS_VARIABLE, str(svix_contracts))
    load_catalogue.cache_clear()
    try:
        spec = load_catalogue().provider("clerkish")
        builder = DeliveryBuilder(spec, target_url="https://hooks.example.com/hooks",
                                  secret=SVIX_SECRET)
        event = spec.event("user.created")
        request = builder.build(event, canonical_example("clerkish", event.name).payload).request
        assert {"svix-id", "svix-timestamp", "svix-signature"} <= {
            k.lower() for k in request.headers}
        Webhook(SVIX_SECRET).verify(request.body, dict(request.headers))  # raises when wrong
        with pytest.raises(WebhookVerificationError):
            Webhook("whsec_dGhpcyBpcyBhbm90aGVyIGtleQ==").verify(request.body,
                                                                 dict(request.headers))
    finally:
        monkeypatch.undo()
        load_catalogue.cache_clear()
