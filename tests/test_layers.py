"""The layers of ``src/hookproof``, and the direction of imports between them.

Lower layers never import higher ones, whether at the top of a module or inside a function;
and the modules' top-level imports form no cycle. A new module must be placed in a layer here,
so that where a concern lives is decided once.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "hookproof"

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("base: errors, bounded input, the secret hidden, settings",
     ("errors", "safejson", "scrub", "settings", "hookspecs")),
    ("HTTP model, transports and signing: a request, how it is encoded, signed, sent, "
     "answered in process, and what a delivery caused",
     ("wire", "signing", "signing.base", "signing.twilio", "signing.varda", "signing.operator",
      "signing.standard_webhooks", "signing.declarative", "encoding", "scope", "delivery",
      "inprocess", "platform_stub")),
    ("contracts: the catalogue, validation, formats, examples, exports and vectors",
     ("catalogue", "formats", "validation", "examples", "export", "locate", "inputs", "har",
      "validate_files", "variants", "vectors")),
    ("the suite: building deliveries, the target, checks, judges, fuzzing, the verdict",
     ("builder", "target", "managed", "failures", "verdict", "checks", "checks.base",
      "checks.signature", "checks.payload", "checks.response", "checks.idempotency",
      "checks.fuzzing", "fuzz", "corpus", "send", "deliver")),
    ("reports: the document, Markdown, HTML, the load report",
     ("report", "render", "load_report")),
    ("the reference receiver",
     ("receiver", "receiver.answers", "receiver.app", "receiver.checks", "receiver.config",
      "receiver.pipeline", "receiver.server", "receiver.store")),
    ("the pytest adapter: plugin, fixtures, xdist, stash keys", ("plugin", "suite")),
    ("the commands: the CLI and what only it runs",
     ("cli", "cli.__main__", "cli.common", "cli.demo", "cli.export", "cli.importing",
      "cli.listen", "cli.listing", "cli.load", "cli.replay", "cli.run", "cli.send",
      "cli.serve", "cli.stub", "cli.validating", "cli.vectors", "run", "live", "load",
      "importer")),
)
LAYER_OF = {module: index for index, (_, modules) in enumerate(LAYERS) for module in modules}


def _modules() -> dict[str, Path]:
    found = {}
    for file in sorted(SRC.rglob("*.py")):
        name = ".".join(file.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")
        if name != "__init__":
            found[name] = file
    return found


def _imports(file: Path, *, top_level_only: bool) -> set[str]:
    tree = ast.parse(file.read_text(encoding="utf-8"))
    nodes: list[ast.AST] = []
    if top_level_only:
        for node in tree.body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue  # for the type checker only
            nodes.append(node)
    else:
        nodes = list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and (
                node.module == "hookproof" or node.module.startswith("hookproof.")):
            if node.module == "hookproof":
                found.update(alias.name for alias in node.names)
            else:
                found.add(node.module.removeprefix("hookproof."))
        elif isinstance(node, ast.Import):
            found.update(alias.name.removeprefix("hookproof.") for alias in node.names
                         if alias.name.startswith("hookproof."))
    return found


def test_every_module_has_a_layer() -> None:
    missing = sorted(set(_modules()) - set(LAYER_OF))
    assert not missing, f"place these modules in a layer of tests/test_layers.py: {missing}"


@pytest.mark.parametrize("module", sorted(_modules()))
def test_no_module_imports_a_higher_layer(module: str) -> None:
    own = LAYER_OF[module]
    upward = sorted(
        (target, LAYERS[LAYER_OF[target]][0].split(":")[0])
        for target in _imports(_modules()[module], top_level_only=False)
        if target in LAYER_OF and LAYER_OF[target] > own)
    assert not upward, f"{module} ({LAYERS[own][0].split(':')[0]}) imports higher: {upward}"


def test_top_level_imports_form_no_cycle() -> None:
    modules = _modules()
    graph = {m: {t for t in _imports(f, top_level_only=True) if t in modules and t != m}
             for m, f in modules.items()}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycle = [*path[path.index(target):], target]
                raise AssertionError(f"import cycle: {' -> '.join(cycle)}")
            if target not in state:
                visit(target)
        path.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
