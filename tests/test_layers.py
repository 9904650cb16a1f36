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

LAYERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("base", "errors, bounded input, the secret hidden, hook specifications",
     ("errors", "safejson", "scrub", "hookspecs")),
    ("transport", "the HTTP model and the transports: request, encoding, client, in process",
     ("transport",)),
    ("signing", "one module per signature scheme", ("signing",)),
    ("contracts", "catalogue, validation, formats, examples, vectors, import and export",
     ("catalogue",)),
    ("reaching", "the settings, signed deliveries, the target (availability, crash "
     "attribution, the effects probe), the managed receiver process", ("reach",)),
    ("suite", "the registry, the checks, judges, verdict", ("checks",)),
    ("reports", "the document, Markdown, HTML and its stylesheet, the load report",
     ("reports",)),
    ("reference receiver", "the receiver the suite is proven against", ("receiver",)),
    ("pytest adapter", "plugin, fixtures, xdist, stash keys; the collected suite",
     ("plugin", "suite")),
    ("traffic", "deliveries outside the suite: send, listen, replay, load", ("traffic",)),
    ("commands", "the CLI, one module per command", ("cli",)),
)
"""Each layer, lowest first: its name, what it owns, and the packages (or, for the base, the
top-level modules) it is made of."""
PACKAGE_LAYER = {top: index for index, (_, _, tops) in enumerate(LAYERS) for top in tops}


def layer_of(module: str) -> int | None:
    """The layer of ``module`` (dotted, below ``hookproof``): its top-level package's."""
    return PACKAGE_LAYER.get(module.split(".")[0])


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
    missing = sorted(m for m in _modules() if layer_of(m) is None)
    assert not missing, ("put these modules in a layer's package, or name them in a layer of "
                         f"tests/test_layers.py: {missing}")


@pytest.mark.parametrize("package", sorted(
    top for _, _, tops in LAYERS[1:] for top in tops if (SRC / top).is_dir()))
def test_every_layer_package_says_what_it_owns_and_may_import(package: str) -> None:
    init = SRC / package / "__init__.py"
    docstring = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
    first = docstring.split("\n\n")[0]
    assert len(first) > 60, f"hookproof.{package}: say in its docstring what the layer owns"
    assert "may import" in docstring, (
        f"hookproof.{package}: say in its docstring what it may import")


def test_the_base_is_only_the_named_modules() -> None:
    loose = sorted(m for m in _modules() if "." not in m and not (SRC / m).is_dir())
    assert loose == sorted(LAYERS[0][2]), (
        "a module at the top of the package belongs to a layer's package: " + str(loose))


@pytest.mark.parametrize("module", sorted(_modules()))
def test_no_module_imports_a_higher_layer(module: str) -> None:
    own = layer_of(module)
    assert own is not None
    upward = sorted(
        (target, LAYERS[found][0]) for target in _imports(_modules()[module], top_level_only=False)
        if (found := layer_of(target)) is not None and found > own)
    assert not upward, f"{module} ({LAYERS[own][0]}) imports higher: {upward}"


BASE = {"__version__", *LAYERS[0][2]}
MAY_IMPORT: dict[str, set[str]] = {
    "transport": BASE,
    "signing": BASE | {"transport"},
    "catalogue": BASE | {"transport", "signing"},
    "reach": BASE | {"transport", "signing", "catalogue"},
    "checks": BASE | {"transport", "signing", "catalogue", "reach"},
    "reports": BASE | {"transport", "checks"},
    # the suite and the receiver it is proven against decide independently
    "receiver": BASE | {"transport", "signing", "catalogue"},
    "plugin": BASE | {"transport", "signing", "catalogue", "reach", "checks", "reports",
                      "suite"},
    "suite": BASE | {"plugin"},
    "traffic": BASE | {"transport", "signing", "catalogue", "reach", "checks", "reports",
                       "receiver"},
}
"""What each package may import, as its docstring says: the layers are a partial order, so
a package may not import every lower layer (the receiver never imports the checks)."""
SUITE = SRC.parents[1] / "suite"


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_each_package_imports_only_what_it_may(package: str) -> None:
    files = sorted((SUITE if package == "suite" else SRC / package).rglob("*.py"))
    assert files, package
    found = {target.split(".")[0] for file in files
             for target in _imports(file, top_level_only=False)} - {package}
    assert found <= MAY_IMPORT[package], (
        f"hookproof.{package} imports {sorted(found - MAY_IMPORT[package])}, which its "
        "docstring does not allow")


def test_every_layer_package_is_in_the_import_table() -> None:
    packages = {top for _, _, tops in LAYERS[1:] for top in tops if (SRC / top).is_dir()}
    assert packages - {"cli"} <= set(MAY_IMPORT), sorted(packages - set(MAY_IMPORT))


def _runtime_imports(file: Path, modules: dict[str, Path]) -> set[str]:
    """What ``file`` imports when it runs, at its top or inside a function (not what only the
    type checker reads): the modules, and the package of ``from hookproof.pkg import mod``."""
    found: set[str] = set()

    def walk(node: ast.AST, typing_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            skip = typing_only or (isinstance(child, ast.If)
                                   and "TYPE_CHECKING" in ast.unparse(child.test))
            if isinstance(child, ast.ImportFrom) and not skip and child.module and (
                    child.module == "hookproof" or child.module.startswith("hookproof.")):
                package = child.module.removeprefix("hookproof").lstrip(".")
                if package:
                    found.add(package)
                found.update(f"{package}.{a.name}".lstrip(".") for a in child.names
                             if f"{package}.{a.name}".lstrip(".") in modules)
            walk(child, skip)

    walk(ast.parse(file.read_text(encoding="utf-8")), False)
    return found


@pytest.mark.parametrize("top_level_only", [True, False], ids=["top-level", "anywhere"])
def test_imports_form_no_cycle(top_level_only: bool) -> None:
    """No cycle among the modules' imports: at their tops, nor counting the imports inside
    functions (a cycle there is one a module's top merely hides)."""
    modules = _modules()
    graph = {m: {t for t in (_imports(f, top_level_only=True) if top_level_only
                             else _runtime_imports(f, modules)) if t in modules and t != m}
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


def test_the_readme_draws_every_layer_package() -> None:
    readme = (SRC.parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Development"):]
    packages = sorted(top for _, _, tops in LAYERS for top in tops if (SRC / top).is_dir())
    missing = [package for package in packages if f"\n{package}/" not in section]
    assert not missing, f"the README's development section does not draw: {missing}"


ONLY_FROM = {("reports", "checks"): {"checks.verdict"}}
"""Where a layer may use only part of a lower one: a report shows outcomes and never decides
them, so from the suite it reads the verdict alone."""


@pytest.mark.parametrize(("layer", "lower"), sorted(ONLY_FROM))
def test_a_layer_uses_only_the_named_part_of_a_lower_one(layer: str, lower: str) -> None:
    allowed = ONLY_FROM[(layer, lower)]
    used = {target for module, file in _modules().items() if module.split(".")[0] == layer
            for target in _imports(file, top_level_only=False)
            if target.split(".")[0] == lower}
    assert used and used <= allowed, f"{layer} uses {sorted(used)} of {lower}; only {allowed}"
