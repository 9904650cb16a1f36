"""``hookproof init``: a team's first run, written for it.

It asks nothing it can find out. The app is found in the project's sources (``app =
Flask(...)``, ``app = FastAPI(...)``, ``def create_app()``, Django's ``wsgi.py``) and loaded,
as ``--target-app`` loads it; the framework is the app's own type; the webhook's URL and an
effects probe are read off the app's routes; the provider is the one whose event names and
headers the route handlers' source mentions. Each can be given instead (``--app``,
``--provider``, ``--target-url``, ``--effects-url``).

It writes the pytest settings (``pytest.ini``), a root ``conftest.py`` returning the app as
``hookproof_app``, a test file on ``hookproof_deliver``, an effects-probe snippet for the
framework where the app has no probe, and a CI job (GitHub Actions and GitLab CI). It never
overwrites: if any file it would write exists, or another file already configures pytest, it
writes nothing and says which.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hookproof.cli.common import EXIT_OK
from hookproof.errors import UsageError

SKIPPED_DIRS = {".git", ".venv", "venv", "env", "node_modules", "__pycache__", "build", "dist",
                "site-packages", "tests", "test", "reports"}
MAX_SOURCES = 2000
"""Python files read at most when looking for the app (a large repository is not walked
whole)."""
MAX_SOURCE_BYTES = 1024 * 1024

_APP_PATTERNS = (
    # an app object made here, by a framework or a factory
    (re.compile(r"^(app|application)\s*(?::[^=]+)?=\s*(?:\w+\.)?(Flask|FastAPI|Starlette|Quart"
                r"|create_app|get_wsgi_application|get_asgi_application)\(", re.M),
     lambda m: m.group(1)),
    # a factory defined here
    (re.compile(r"^def (create_app)\(\s*\)", re.M), lambda m: f"{m.group(1)}()"),
)
_CONFIGURED_PYTEST = (("pyproject.toml", "[tool.pytest.ini_options]"), ("setup.cfg",
                      "[tool:pytest]"), ("tox.ini", "[pytest]"))


@dataclass
class Found:
    """What ``init`` found or was told, and where each came from (printed)."""

    root: Path
    app: str = ""
    framework: str = ""
    provider: str = ""
    target_url: str = ""
    effects_url: str | None = None
    secret_env: str = "HOOKPROOF_SECRET"
    events: list[str] = field(default_factory=list)
    dedupe_header: str = ""
    how: dict[str, str] = field(default_factory=dict)


def _sources(root: Path) -> list[Path]:
    found: list[Path] = []
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
        for name in sorted(files):
            if name.endswith(".py") and name not in ("conftest.py", "setup.py") \
                    and not name.startswith("test_"):
                found.append(Path(directory) / name)
                if len(found) >= MAX_SOURCES:
                    return found
    return found


def _module_of(root: Path, file: Path) -> str:
    parts = list(file.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def find_app(root: Path) -> str:
    """``module:attr`` of the one app the project's sources make."""
    candidates: list[str] = []
    for file in _sources(root):
        try:
            if file.stat().st_size > MAX_SOURCE_BYTES:
                continue
            text = file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for pattern, attr in _APP_PATTERNS:
            match = pattern.search(text)
            if match:
                candidates.append(f"{_module_of(root, file)}:{attr(match)}")
                break
    if not candidates:
        raise UsageError(f"no app found under {root} (looked for app = Flask(...), "
                         "FastAPI(...), create_app() and Django's wsgi.py): give --app "
                         "module:attr")
    if len(candidates) > 1:
        raise UsageError("several apps found: " + ", ".join(candidates) + "; give --app one "
                         "of them")
    return candidates[0]


def framework_of(app: Any) -> str:
    """``flask``, ``fastapi``, ``starlette``, ``django``, or the interface (``wsgi``/``asgi``)
    of an app of another framework."""
    from hookproof.transport.inprocess import interface_of

    for kind in type(app).__mro__:
        top = kind.__module__.split(".", 1)[0]
        if top in ("flask", "fastapi", "starlette", "django", "quart"):
            return top
    return interface_of(app)


@dataclass(frozen=True)
class Route:
    path: str
    methods: frozenset[str]
    source: str
    """The handler's source file, for finding the provider ("" where unknown)."""


def _source_file(handler: Any) -> str:
    try:
        return inspect.getsourcefile(inspect.unwrap(handler)) or ""
    except (TypeError, OSError):
        return ""


def routes_of(app: Any, framework: str) -> list[Route]:
    """The app's routes without path parameters."""
    found: list[Route] = []
    if framework == "flask":
        for rule in app.url_map.iter_rules():
            handler = app.view_functions.get(rule.endpoint)
            found.append(Route(rule.rule, frozenset(rule.methods or ()), _source_file(handler)))
    elif framework in ("fastapi", "starlette"):
        for route in getattr(app, "routes", ()):
            path = getattr(route, "path", None)
            if isinstance(path, str):
                found.append(Route(path, frozenset(getattr(route, "methods", None) or {"POST"}),
                                   _source_file(getattr(route, "endpoint", None))))
    elif framework == "django":
        from django.urls import URLPattern, URLResolver, get_resolver

        def walk(patterns: Any, prefix: str) -> None:
            for pattern in patterns:
                text = str(pattern.pattern).lstrip("^").rstrip("$")
                if isinstance(pattern, URLResolver):
                    walk(pattern.url_patterns, prefix + text)
                elif isinstance(pattern, URLPattern):
                    found.append(Route("/" + (prefix + text).lstrip("/"),
                                       frozenset({"GET", "POST"}),
                                       _source_file(pattern.callback)))

        walk(get_resolver().url_patterns, "")
    return [r for r in found if not re.search(r"[<{(]", r.path)]


def provider_tokens(provider: Any) -> set[str]:
    """What a receiver of ``provider`` names in its code: its events (the distinctive ones)
    and the headers only it sends."""
    from hookproof.signing import scheme_for

    scheme = scheme_for(provider.signature, encoding=provider.transport.encoding)
    tokens = {e.name for e in provider.events if len(e.name) >= 8}
    tokens |= {h for h in (getattr(scheme, "header", None), provider.event_header,
                           provider.dedupe_header) if h}
    return tokens


def find_provider(sources: list[str]) -> str:
    """The provider whose distinctive names the handlers' sources mention most."""
    from hookproof.catalogue import load_catalogue

    catalogue = load_catalogue()
    texts = []
    for source in sorted(set(s for s in sources if s)):
        try:
            texts.append(Path(source).read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
    text = "\n".join(texts)
    all_tokens = {p: provider_tokens(spec) for p, spec in catalogue.providers.items()}
    shared = {t for p, ts in all_tokens.items() for t in ts
              if sum(t in other for other in all_tokens.values()) > 1}
    scores = {p: sum(1 for t in tokens - shared if t in text)
              for p, tokens in all_tokens.items()}
    best = max(scores.values(), default=0)
    winners = sorted(p for p, score in scores.items() if score == best)
    if best == 0 or len(winners) > 1:
        names = ", ".join(winners if best else sorted(catalogue.providers))
        raise UsageError("cannot tell the provider from the app's handlers: give --provider "
                         f"({names})")
    return winners[0]


def find_urls(routes: list[Route], provider: str) -> tuple[str, str | None]:
    """The webhook's path (a POST route; of several, the one the others extend, or the one
    naming the provider) and the effects probe's (a GET route with ``effects`` in it)."""
    posts = [r.path for r in routes if "POST" in r.methods and "effects" not in r.path]
    if not posts:
        raise UsageError("the app has no POST route: give --target-url PATH")
    target: str | None = posts[0] if len(posts) == 1 else None
    if target is None:
        base = [p for p in posts if all(q.startswith(p.rstrip("/")) for q in posts)]
        named = [p for p in posts if any(w in p for w in re.split(r"[-_]", provider) if w)]
        target = next(iter(base or named), None)
    if target is None:
        raise UsageError("the app has several POST routes (" + ", ".join(sorted(posts)) +
                         "): give --target-url PATH")
    effects = [r.path for r in routes if "GET" in r.methods and "effects" in r.path]
    near = [p for p in effects if p.startswith(target.rstrip("/"))]
    return target, next(iter(near or effects), None)


# -- what is written ----------------------------------------------------------------------------

def _ini(found: Found) -> str:
    effects = (f"hookproof_effects_url = {found.effects_url}\n" if found.effects_url else
               f"# hookproof_effects_url = {found.target_url.rstrip('/')}/_effects\n"
               "#   (once the probe of webhook_effects_probe.py is on your app)\n")
    return (
        "# Written by hookproof init. `pytest` runs your tests and hookproof's conformance\n"
        "# suite against your app, in process (see conftest.py); reports go to reports/.\n"
        "[pytest]\n"
        f"hookproof_provider = {found.provider}\n"
        f"hookproof_target_url = {found.target_url}\n"
        f"{effects}"
        f"hookproof_secret_env = {found.secret_env}\n"
    )


def _conftest(found: Found) -> str:
    module, _, attr = found.app.partition(":")
    name = attr.removesuffix("()")
    made = f"{name}()" if attr.endswith("()") else name
    return (
        '"""Written by hookproof init: your app, for hookproof\'s suite and fixtures."""\n\n'
        "import pytest\n\n\n"
        '@pytest.fixture(scope="session")\n'
        "def hookproof_app():\n"
        '    """The webhook receiver, tested in this process (no server, no port)."""\n'
        f"    from {module} import {name}\n\n"
        f"    return {made}\n"
    )


def _test_file(found: Found) -> str:
    events = "".join(f"\n    {json.dumps(e)}," for e in found.events)
    return (
        '"""Written by hookproof init: a genuine delivery of each event, judged as the platform\n'
        "would judge the answer. hookproof_deliver(event, payload=..., **changes) sends your own\n"
        'payloads too; a failing test shows what was sent, what came back and a curl line."""\n'
        "\n"
        "import pytest\n\n\n"
        f"@pytest.mark.parametrize(\"event\", [{events}\n])\n"
        "def test_a_genuine_delivery_is_accepted(hookproof_deliver, event):\n"
        "    delivered = hookproof_deliver(event)\n"
        "    assert delivered.conforms, delivered\n"
    )


_PROBES = {
    "flask": '''from flask import Blueprint, request

effects_probe = Blueprint("hookproof_effects", __name__)


@effects_probe.get("{path}")
def effects():
    return {{"count": processed_times(request.args["key"])}}
''',
    "fastapi": '''from fastapi import APIRouter

effects_probe = APIRouter()


@effects_probe.get("{path}")
def effects(key: str):
    return {{"count": processed_times(key)}}
''',
    "django": '''from django.http import JsonResponse
from django.urls import path


def effects(request):
    return JsonResponse({{"count": processed_times(request.GET["key"])}})


# in your urls.py: urlpatterns += effects_probe
effects_probe = [path("{path_no_slash}", effects)]
''',
}


def _probe(found: Found) -> str | None:
    template = _PROBES.get("fastapi" if found.framework == "starlette" else found.framework)
    if template is None:
        return None
    path = found.target_url.rstrip("/") + "/_effects"
    register = {"flask": "app.register_blueprint(effects_probe)",
                "fastapi": "app.include_router(effects_probe)",
                "starlette": "app.include_router(effects_probe)",
                "django": "urlpatterns += effects_probe"}[found.framework]
    return (
        '"""Written by hookproof init: the effects probe, which proves that a redelivery is\n'
        f"processed once. hookproof asks GET {path}?key=<{found.dedupe_header}> how many times\n"
        "your receiver acted on that delivery. Fill in processed_times from your own store,\n"
        f"add it to your app ({register}), then set hookproof_effects_url in pytest.ini.\n"
        '"""\n\n'
        + template.format(path=path, path_no_slash=path.lstrip("/"))
        + "\n\ndef processed_times(key):\n"
        "    raise NotImplementedError(\"count your receiver's effects of delivery `key`\")\n"
    )


def _install_line(root: Path) -> str:
    if (root / "requirements.txt").is_file():
        return "pip install -r requirements.txt pytest-hookproof"
    if (root / "pyproject.toml").is_file() or (root / "setup.py").is_file():
        return "pip install -e . pytest-hookproof"
    return "pip install pytest-hookproof"


def _github(found: Found) -> str:
    return (
        "# Written by hookproof init: the webhook receiver's conformance, on every push.\n"
        "name: webhooks\n"
        "on: [push, pull_request]\n"
        "jobs:\n"
        "  hookproof:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - uses: actions/checkout@v4\n"
        "      - uses: actions/setup-python@v5\n"
        "        with:\n"
        '          python-version: "3.12"\n'
        f"      - run: {_install_line(found.root)}\n"
        "      # the secret your app verifies with in tests; hookproof signs with the same\n"
        "      - run: pytest\n"
        "        env:\n"
        f"          {found.secret_env}: ${{{{ secrets.{found.secret_env} }}}}\n"
        "      - uses: actions/upload-artifact@v4\n"
        "        if: always()\n"
        "        with:\n"
        "          name: hookproof-reports\n"
        "          path: reports/\n"
    )


def _gitlab(found: Found) -> str:
    return (
        "# Written by hookproof init: the webhook receiver's conformance, on every push.\n"
        f"# {found.secret_env}: a masked CI/CD variable, the secret your app verifies with.\n"
        "hookproof:\n"
        "  image: python:3.12\n"
        "  script:\n"
        f"    - {_install_line(found.root)}\n"
        "    - pytest --junitxml=reports/junit.xml\n"
        "  artifacts:\n"
        "    when: always\n"
        "    paths: [reports/]\n"
        "    reports:\n"
        "      junit: reports/junit.xml\n"
    )


def plan_files(found: Found, ci: str) -> dict[Path, str]:
    """Every file ``init`` writes, by path."""
    root = found.root
    tests = root / "tests"
    files = {root / "pytest.ini": _ini(found), root / "conftest.py": _conftest(found),
             tests / "test_hookproof_webhooks.py": _test_file(found)}
    if found.effects_url is None:
        probe = _probe(found)
        if probe is not None:
            files[root / "webhook_effects_probe.py"] = probe
    if ci in ("github", "both"):
        files[root / ".github" / "workflows" / "hookproof.yml"] = _github(found)
    if ci in ("gitlab", "both"):
        own = root / ".gitlab-ci.yml"
        # a project's own pipeline is never touched: the job goes beside it, to include
        files[own if not own.exists() else root / "hookproof.gitlab-ci.yml"] = _gitlab(found)
    return files


def conflicts(found: Found, files: dict[Path, str]) -> list[str]:
    """Why nothing may be written: files that exist, pytest configured elsewhere."""
    problems = [f"{path.relative_to(found.root)} exists" for path in files if path.exists()]
    for name, section in _CONFIGURED_PYTEST:
        config = found.root / name
        try:
            configured = config.is_file() and section in config.read_text(encoding="utf-8",
                                                                         errors="replace")
        except OSError:
            configured = False
        if configured:
            problems.append(f"{name} configures pytest ({section}): a pytest.ini would replace "
                            "it")
    return problems


def discover(args: argparse.Namespace) -> Found:
    """Find (or take from the options) the app, framework, provider and URLs."""
    from hookproof.catalogue import load_catalogue
    from hookproof.reach.settings import check_env_name
    from hookproof.transport.inprocess import load_app

    root = Path(args.dir).resolve()
    if not root.is_dir():
        raise UsageError(f"--dir {args.dir!r}: not a directory")
    found = Found(root=root, secret_env=check_env_name(args.secret_env))
    found.app = args.app or find_app(root)
    found.how["app"] = "given" if args.app else "found in the sources"
    app = load_app(found.app, str(root))
    found.framework = framework_of(app)
    routes = routes_of(app, found.framework)
    catalogue = load_catalogue()
    if args.provider:
        catalogue.provider(args.provider)  # an unknown one: the nearest names
        found.provider, found.how["provider"] = args.provider, "given"
    else:
        found.provider = find_provider([r.source for r in routes])
        found.how["provider"] = "named in the app's handlers"
    target, effects = (args.target_url, args.effects_url) if args.target_url else find_urls(
        routes, found.provider)
    found.target_url, found.effects_url = target, args.effects_url or effects
    found.how["target_url"] = "given" if args.target_url else "the app's POST route"
    spec = catalogue.provider(found.provider)
    found.events = [e.name for e in spec.events][:3]
    found.dedupe_header = spec.dedupe_header
    return found


def _cmd_init(args: argparse.Namespace) -> int:
    found = discover(args)
    files = plan_files(found, args.ci)
    problems = conflicts(found, files)
    if problems:
        keys = [line for line in _ini(found).splitlines() if line.startswith("hookproof_")]
        raise UsageError("nothing written: " + "; ".join(problems) + " (--dir elsewhere, or "
                         "set these in your pytest settings: " + ", ".join(keys) + ")")
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as handle:  # never over a file made meanwhile
            handle.write(text)
    out = sys.stdout
    out.write(f"hookproof init: {found.app} ({found.framework}, {found.how['app']}), provider "
              f"{found.provider} ({found.how['provider']}), webhook at {found.target_url}"
              + (f", effects probe at {found.effects_url}" if found.effects_url else "")
              + "\n")
    for path in files:
        out.write(f"  wrote {path.relative_to(found.root)}\n")
    if (found.root / "hookproof.gitlab-ci.yml") in files:
        out.write("  include it from .gitlab-ci.yml: include: [{local: hookproof.gitlab-ci.yml}]\n")
    out.write(f"next: {found.secret_env}=<the secret your app verifies with> pytest\n")
    return EXIT_OK


def add(sub: Any) -> None:
    """Add the command to the subparsers ``sub``."""
    p = sub.add_parser(
        "init", help="write a project's pytest settings, conftest, first test, effects probe "
        "and CI job for its app (nothing is overwritten)",
        description="Finds the app (or --app), its framework, its webhook route and effects "
        "probe, and the provider its handlers name (or --provider); writes pytest.ini, "
        "conftest.py (hookproof_app), tests/test_hookproof_webhooks.py, an effects-probe "
        "snippet where the app has none, and CI jobs. Refuses, writing nothing, where any of "
        "those files exists or pytest is configured elsewhere. Exit 0 written, 2 otherwise.")
    p.add_argument("--dir", default=".", help="the project's root (default: here)")
    p.add_argument("--app", metavar="MODULE:ATTR", help="the app, e.g. myapp.web:app or "
                   "myapp.web:create_app() (default: found in the sources)")
    p.add_argument("--provider", help="the platform (default: the one the handlers name)")
    p.add_argument("--target-url", metavar="PATH", help="the webhook's path on the app "
                   "(default: its POST route)")
    p.add_argument("--effects-url", metavar="PATH", help="the effects probe's path (default: a "
                   "GET route with 'effects' in it, if any)")
    p.add_argument("--secret-env", default="HOOKPROOF_SECRET", metavar="VAR",
                   help="the variable holding the signing secret (default HOOKPROOF_SECRET)")
    p.add_argument("--ci", choices=("both", "github", "gitlab", "none"), default="both",
                   help="CI jobs to write (default both)")
    p.set_defaults(handler=_cmd_init)
