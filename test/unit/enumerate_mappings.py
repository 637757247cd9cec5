"""Exhaustive enumeration of the mapping space of a tiny layer (a test utility).

:func:`enumerate_all` yields every distinct mapping in the MIP's space: each
factor of each dim (Flexible Factorization of the full bound by default, as in
paper eq. 2) goes to a spatial axis that allows the dim or to a temporal slot;
then every distinct order of the temporal loops, every bypass subset and every
monotone assignment of loops to the used levels per operand, and every subset of
the allowed double-buffer pairs. Only valid mappings (per the validator) are
yielded unless ``valid_only=False``. Use it to prove a MIP optimum on layers with
a handful of factors; it is not shipped.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

from miredo.solver.evaluator import Cost, evaluate
from miredo.solver.factorization import flexible_factorization
from miredo.solver.hardware import Arch
from miredo.solver.heuristic import multiset_permutations
from miredo.solver.mapping import Loop, Mapping
from miredo.solver.validator import validate
from miredo.solver.workload import DIMS, OPERANDS, Layer


def spatial_assignments(
    layer: Layer, arch: Arch, factors: dict[str, list[int]]
) -> Iterator[tuple[dict[str, tuple[Loop, ...]], list[Loop]]]:
    """Every distinct (spatial unrolling, temporal loop list) split of the factors."""
    items = [(d, f) for d in DIMS for f in factors[d] if f > 1]
    sizes = {ax.name: ax.size for ax in arch.spatial}
    options = [
        [None, *(ax.name for ax in arch.spatial if d in ax.dims)] for d, _ in items
    ]
    seen: set[tuple[object, ...]] = set()
    for choice in itertools.product(*options):
        per_axis: dict[str, dict[str, int]] = {ax.name: {} for ax in arch.spatial}
        temporal: list[Loop] = []
        for (d, f), ax in zip(items, choice, strict=True):
            if ax is None:
                temporal.append(Loop(d, f))
            else:
                per_axis[ax][d] = per_axis[ax].get(d, 1) * f
        if any(math.prod(v.values()) > sizes[ax] for ax, v in per_axis.items()):
            continue
        spatial = {
            ax: tuple(Loop(d, f) for d, f in sorted(v.items()))
            for ax, v in per_axis.items()
        }
        temporal.sort(key=lambda lp: (DIMS.index(lp.dim), lp.factor))
        key = (tuple(spatial.items()), tuple(temporal))
        if key not in seen:
            seen.add(key)
            yield spatial, temporal


def distinct_orders(loops: list[Loop]) -> Iterator[tuple[Loop, ...]]:
    """Every distinct permutation of a multiset of loops."""
    return multiset_permutations(loops)


def operand_options(
    arch: Arch, operand: str, n: int, allow_bypass: bool = True
) -> list[tuple[frozenset[str], tuple[str, ...]]]:
    """(bypass set, level of each of n loops) choices for one operand."""
    levels = arch.levels_for(operand)
    optional = (
        [lv for lv in levels[1:-1] if arch.level(lv).bypass] if allow_bypass else []
    )
    out = []
    for k in range(len(optional) + 1):
        for skip in itertools.combinations(optional, k):
            used = [lv for lv in levels if lv not in skip]
            for combo in itertools.combinations_with_replacement(range(len(used)), n):
                out.append((frozenset(skip), tuple(used[c] for c in combo)))
    return out


def db_candidates(
    arch: Arch, bypass: dict[str, frozenset[str]]
) -> list[tuple[str, str]]:
    """(level, operand) pairs that may be double-buffered given the bypass choice."""
    out = []
    for lv in arch.levels:
        for op in OPERANDS:
            if op not in lv.operands or lv.name in bypass[op] or not lv.double_buffer:
                continue
            if (
                op == "W"
                and lv.name == arch.macro.level
                and arch.macro.weight_write_blocks_compute
            ):
                continue
            out.append((lv.name, op))
    return out


def enumerate_all(
    layer: Layer,
    arch: Arch,
    *,
    factors: dict[str, list[int]] | None = None,
    allow_bypass: bool = True,
    allow_double_buffer: bool = True,
    valid_only: bool = True,
) -> Iterator[Mapping]:
    """Every distinct mapping of ``layer`` on ``arch`` (see the module docstring)."""
    if factors is None:
        factors = {d: flexible_factorization(layer.dims[d]) for d in DIMS}
    for spatial, temporal in spatial_assignments(layer, arch, factors):
        yield from mappings_with(
            layer,
            arch,
            spatial,
            temporal,
            allow_bypass=allow_bypass,
            allow_double_buffer=allow_double_buffer,
            valid_only=valid_only,
        )


def mappings_with(
    layer: Layer,
    arch: Arch,
    spatial: dict[str, tuple[Loop, ...]],
    temporal: list[Loop],
    *,
    allow_bypass: bool = True,
    allow_double_buffer: bool = True,
    valid_only: bool = True,
    bypass_only: dict[str, frozenset[str]] | None = None,
) -> Iterator[Mapping]:
    """Every distinct mapping with one spatial unrolling and these temporal
    loops (``bypass_only``: each operand's bypass set, when fixed)."""
    n = len(temporal)
    per_op = {op: operand_options(arch, op, n, allow_bypass) for op in OPERANDS}
    if bypass_only is not None:
        per_op = {
            op: [c for c in per_op[op] if c[0] == bypass_only[op]] for op in OPERANDS
        }
    for order in distinct_orders(temporal):
        for combo in itertools.product(*(per_op[op] for op in OPERANDS)):
            bypass = {op: c[0] for op, c in zip(OPERANDS, combo, strict=True)}
            level_of = {op: c[1] for op, c in zip(OPERANDS, combo, strict=True)}
            cands = db_candidates(arch, bypass) if allow_double_buffer else []
            for k in range(len(cands) + 1):
                for db in itertools.combinations(cands, k):
                    m = Mapping(
                        spatial=spatial,
                        temporal=order,
                        level_of=level_of,
                        bypass=bypass,
                        double_buffer=frozenset(db),
                    )
                    if not valid_only or not validate(layer, arch, m):
                        yield m


def best_by_enumeration(
    layer: Layer, arch: Arch, objective: str = "latency", **kwargs: object
) -> tuple[Mapping, Cost]:
    """The optimum over :func:`enumerate_all` (ties: first enumerated)."""
    best: tuple[float, Mapping, Cost] | None = None
    for m in enumerate_all(layer, arch, **kwargs):  # type: ignore[arg-type]
        c = evaluate(layer, arch, m)
        v = c.objective(objective)
        if best is None or v < best[0]:
            best = (v, m, c)
    if best is None:
        raise ValueError("no valid mapping")
    return best[1], best[2]
