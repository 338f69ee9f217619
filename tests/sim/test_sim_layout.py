"""The simulator's import layout: one package per venue, whose parts (order entry, auth …) get a
VenueContext and never import the venue modules (``market*.py``); imports go venue package → parts →
shared modules."""

from __future__ import annotations

import ast
from pathlib import Path

import tickwire.sim

SIM = Path(tickwire.sim.__file__).parent


def _imports(tree: ast.Module, names: set[str]) -> tuple[set[str], set[str]]:
    """(imports at run time, imports under ``if TYPE_CHECKING``) of tickwire modules."""
    typing_only = {
        id(n)
        for top in ast.walk(tree)
        if isinstance(top, ast.If) and "TYPE_CHECKING" in ast.unparse(top.test)
        for b in top.body
        for n in ast.walk(b)
    }
    runtime: set[str] = set()
    typing: set[str] = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.ImportFrom) and n.module and n.module.startswith("tickwire"):
            full = {f"{n.module}.{a.name}" for a in n.names}
            found = {f if f in names else n.module for f in full}
        elif isinstance(n, ast.Import):
            found = {a.name for a in n.names if a.name.startswith("tickwire")}
        else:
            continue
        (typing if id(n) in typing_only else runtime).update(found)
    return runtime, typing


def _modules() -> dict[str, tuple[set[str], set[str]]]:
    """Module name -> (imports at run time, imports for type checking only), within tickwire.sim."""
    paths = {}
    for p in SIM.rglob("*.py"):
        parts = ("tickwire", "sim", *p.relative_to(SIM).with_suffix("").parts)
        paths[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return {name: _imports(ast.parse(p.read_text()), set(paths)) for name, p in paths.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(u: str) -> list[str] | None:
        state[u] = 1
        stack.append(u)
        for v in sorted(graph.get(u, ())):
            if state.get(v) == 1:
                return [*stack[stack.index(v) :], v]
            if v not in state and (found := dfs(v)):
                return found
        stack.pop()
        state[u] = 2
        return None

    for u in sorted(graph):
        if u not in state and (found := dfs(u)):
            return found
    return None


def test_no_import_cycles_and_parts_never_import_their_venue() -> None:
    mods = _modules()
    assert _cycle({m: rt for m, (rt, _) in mods.items()}) is None
    venues = "tickwire.sim.venues."
    packages = {m.split(".")[3] for m in mods if m.startswith(venues) and m.count(".") == 4}
    assert {"binance", "okx", "bybit", "kraken", "coinbase", "htx"} <= packages
    for pkg in packages:
        prefix = venues + pkg
        inner = {m: (rt | ty) for m, (rt, ty) in mods.items() if m.startswith(prefix + ".")}
        # Type-only imports count too: a part that names its venue class depends on it.
        assert _cycle(inner) is None, pkg
        for m, deps in inner.items():
            # A venue's classes may span modules named ``market*`` (Binance USDⓈ-M's subclasses
            # spot's); its parts never import any of them.
            if not m.rsplit(".", 1)[1].startswith("market"):
                venue_modules = {d for d in deps if d.rsplit(".", 1)[1].startswith("market")}
                assert not {d for d in venue_modules if d.startswith(prefix + ".")}, (
                    f"{m} imports its venue module"
                )
            others = {d for d in deps if d.startswith(venues) and d.split(".")[3] in packages - {pkg}}
            assert not others, f"{m} imports another venue: {others}"


def test_the_simulator_stays_independent_of_the_library() -> None:
    for m, (rt, ty) in _modules().items():
        assert not {d for d in rt | ty if not d.startswith("tickwire.sim")}, m
