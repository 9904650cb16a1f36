"""The suite against real open-source receivers, each run on loopback in its own network.

Usage: ``python bench/real_receivers.py [NAME ...] [--reports DIR]``

For each receiver below the script takes the repository's snapshot (a git directory; where it
looks: ``$HOOKPROOF_SNAPSHOTS/<owner>+<name>/repo``, default ``/work/.mirror``), exports its
newest commit to a scratch directory, installs its dependencies from the npm registry, then
starts it and runs the conformance suite against it inside ``unshare -rn`` (a network
namespace with only loopback: the receiver's calls to the internet fail at once, and nothing
but 127.0.0.1 is ever sent to). The receivers' code is never copied into this repository.
Each run's reports go to ``<reports>/<name>/``; a summary line per receiver is printed.

What it needs, said in one line when missing: the snapshot, ``node`` and ``npm``, ``unshare``
and ``ip`` (util-linux, iproute2).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

SECRET = "bench-real-receivers-auth-token-0f3a"
PORT = 5001
STUB_PORT = 8089
TWILIO_TO_STUB = """\
// Loaded with node --require: every twilio domain's URL goes to hookproof's platform stub,
// as a team's test configuration does with client.conversations.baseUrl = STUB.
const Domain = require(require.resolve("twilio/lib/base/Domain",
                                       {paths: [process.cwd()]})).default;
const absoluteUrl = Domain.prototype.absoluteUrl;
Domain.prototype.absoluteUrl = function (uri) {
  return absoluteUrl.call(this, uri).replace(/^https:\\/\\/([a-z-]+)\\.twilio\\.com/,
    (_, host) => host === "frontline-api" ? "STUB/frontline" : "STUB");
};
"""


@dataclass(frozen=True)
class Receiver:
    name: str
    repo: str
    """owner/name on GitHub."""
    start: tuple[str, ...]
    provider: str
    path: str
    """Path of the main hook on the receiver."""
    hook_paths: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    suite_args: tuple[str, ...] = ()
    platform_stub: bool = False
    """Run ``hookproof stub serve`` beside it and point its twilio library at the stub."""


# Twilio's own Frontline integration service (Express 4, twilio.webhook()).
FRONTLINE_DEMO = Receiver(
    "frontline-demo-service", "twilio/frontline-demo-service", ("node", "src/index.js"),
    "twilio-frontline", "/callbacks/conversations",
    hook_paths={"crm": "/callbacks/crm", "outgoing": "/callbacks/outgoing-conversation",
                "templates": "/callbacks/templates", "routing": "/callbacks/routing"},
    env={"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": SECRET,
         "TWILIO_SMS_NUMBER": "+15555550100", "TWILIO_WHATSAPP_NUMBER": "whatsapp:+15555550100"})

RECEIVERS = (
    FRONTLINE_DEMO,
    # The same, with its calls to the Twilio REST API answered by `hookproof stub serve`.
    dataclasses.replace(FRONTLINE_DEMO, name="frontline-demo-service+stub", platform_stub=True),
    # A Conversations onMessageAdd pre-event hook that filters words (Express 4).
    Receiver("twilio-conversations-censormw", "gspncr/twilio-conversations-censormw",
             ("node", "app.js"), "twilio-conversations", "/filter",
             suite_args=("--events", "onMessageAdd")),
)


def _say(message: str) -> None:
    print(f"real receivers: {message}", flush=True)


def _snapshot(repo: str) -> Path | None:
    root = Path(os.environ.get("HOOKPROOF_SNAPSHOTS", "/work/.mirror"))
    git_dir = root / repo.replace("/", "+") / "repo"
    return git_dir if git_dir.is_dir() else None


def _prepare(receiver: Receiver, workdir: Path) -> Path | None:
    git_dir = _snapshot(receiver.repo)
    if git_dir is None:
        _say(f"{receiver.name}: skipped, needs a snapshot of github:{receiver.repo}")
        return None
    source = workdir / receiver.name
    source.mkdir(parents=True)
    archive = subprocess.run(["git", "--git-dir", str(git_dir), "archive", "HEAD"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
    installed = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts",
                                "--loglevel=error"], cwd=source, capture_output=True, text=True,
                               check=False)
    if installed.returncode != 0:
        _say(f"{receiver.name}: skipped, npm install failed: "
             f"{installed.stderr.strip().splitlines()[-1:]}")
        return None
    return source


def _inside(receiver_name: str, source: Path, reports: Path) -> int:
    """Run inside the namespace: bring loopback up, start the receiver, run the suite."""
    receiver = next(r for r in RECEIVERS if r.name == receiver_name)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    base = f"http://127.0.0.1:{PORT}"
    # hookproof starts the receiver itself (--target-command): its output is kept, and when
    # a delivery crashes it the failure shows its stack trace and it is started again
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
               "--tb=no", "--target-url", base + receiver.path,
               "--provider", receiver.provider, "--secret-env", "BENCH_SECRET",
               "--hookproof-reports", str(reports), "--hookproof-target-name",
               receiver.name, "--target-command", shlex.join(receiver.start),
               "--target-cwd", str(source), *receiver.suite_args]
    for group, path in receiver.hook_paths.items():
        command += ["--hook-url", f"{group}={base}{path}"]
    env = {**os.environ, **receiver.env, "PORT": str(PORT), "BENCH_SECRET": SECRET}
    stub = None
    if receiver.platform_stub:
        stub = subprocess.Popen([sys.executable, "-m", "hookproof.cli", "stub", "serve",
                                 "--port", str(STUB_PORT)], stdout=open(  # noqa: SIM115
                                     reports / "stub.log", "w", encoding="utf-8"),
                                stderr=subprocess.STDOUT)
        preload = reports / "twilio-to-stub.js"
        preload.write_text(TWILIO_TO_STUB.replace("STUB", f"http://127.0.0.1:{STUB_PORT}"),
                           encoding="utf-8")
        env["NODE_OPTIONS"] = f"--require {preload}"
    try:
        completed = subprocess.run(command, cwd=reports, env=env, capture_output=True,
                                   text=True, check=False, timeout=1800)
    finally:
        if stub is not None:
            stub.terminate()
            stub.wait(10)
    (reports / "suite.log").write_text(completed.stdout + completed.stderr, encoding="utf-8")
    return completed.returncode


def _summary(name: str, reports: Path, code: int) -> None:
    report_file = reports / "conformance.json"
    if not report_file.is_file():
        _say(f"{name}: exit {code}, no report (see {reports}/suite.log)")
        return
    report = json.loads(report_file.read_text(encoding="utf-8"))
    target = report["targets"][0]
    s = target["summary"]
    failing = sorted({f["check"] for f in target["failures"] if f["severity"] == "required"})
    _say(f"{name}: exit {code}, {s['checks']} checks, {s['pass']} pass, {s['fail_required']} "
         f"required and {s['fail_recommended']} recommended failures; failing: "
         f"{', '.join(failing) or 'none'} (report: {reports}/conformance.html)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="receivers to run (default: all)")
    parser.add_argument("--reports", default="reports/real-receivers")
    parser.add_argument("--inside", nargs=3, metavar=("NAME", "SOURCE", "REPORTS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inside:
        name, source, reports = args.inside
        return _inside(name, Path(source), Path(reports))
    missing = [tool for tool in ("node", "npm", "unshare", "ip") if shutil.which(tool) is None]
    if missing:
        _say(f"needs {', '.join(missing)} on PATH (node and npm: Debian's nodejs/npm packages; "
             "unshare: util-linux; ip: iproute2)")
        return 2
    wanted = [r for r in RECEIVERS if not args.names or r.name in args.names]
    with tempfile.TemporaryDirectory(prefix="hookproof-real-") as scratch:
        for receiver in wanted:
            source = _prepare(receiver, Path(scratch))
            if source is None:
                continue
            reports = Path(args.reports).resolve() / receiver.name
            reports.mkdir(parents=True, exist_ok=True)
            code = subprocess.run(["unshare", "-rn", sys.executable, __file__, "--inside",
                                   receiver.name, str(source), str(reports)],
                                  check=False).returncode
            _summary(receiver.name, reports, code)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
