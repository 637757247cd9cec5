"""The factor space shared by every MIP backend: factors F_{d,f}, MIP starts, decoding.

Both formulations (``mip_cpsat.py`` and ``mip_milp.py``) place the same list of
Flexible-Factorization factors into temporal slots or spatial axes, with the
same symmetry breaking (identical factors of one dim keep their order; slot i has
key i + 1, axis u has key n + 1 + u). This module holds what depends only on that
shared space: the factor list, expressing a :class:`Mapping` in it (a MIP start),
and reading a mapping back from a solution.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from miredo.solver.mapping import Loop, Mapping
from miredo.solver.workload import DIMS, OPERANDS, Layer


@dataclass(frozen=True)
class Factor:
    """One loop factor F_{d,f}: factor ``value`` of dim ``dim``."""

    index: int
    dim: str
    value: int


@dataclass
class ModelStats:
    variables: int = 0
    constraints: int = 0
    booleans: int = 0


def model_factors(
    layer: Layer,
    factors_of: dict[str, list[int]] | None = None,
    k_min: int = 2,
    alpha: float = 0.1,
) -> list[Factor]:
    """The loop factors F_{d,f} of the model: Flexible Factorization of every dim."""
    from miredo.solver.factorization import flexible_factorization

    out: list[Factor] = []
    for d in DIMS:
        if factors_of and d in factors_of:
            fs = factors_of[d]
        elif layer.dims[d] > 1:
            fs = flexible_factorization(layer.dims[d], k_min=k_min, alpha=alpha)
        else:
            fs = []
        for v in fs:
            if v > 1:
                out.append(Factor(len(out), d, v))
    return out


def subset_products(values: Sequence[int]) -> list[int]:
    """All products of sub-multisets of ``values`` (the achievable tile bounds H)."""
    out = {1}
    for v in values:
        out |= {p * v for p in out}
    return sorted(out)


def _match_factors(
    loops: Sequence[Loop], factors: Sequence[Factor]
) -> list[list[Factor]] | None:
    """Split ``factors`` into one group per loop whose product is the loop's factor.

    A depth-first search per dim; ``None`` if the loops cannot be expressed in
    these factors (the mapping then lies outside the model's factor space).
    """
    out: list[list[Factor]] = [[] for _ in loops]
    for d in DIMS:
        idx = [i for i, lp in enumerate(loops) if lp.dim == d and lp.factor > 1]
        pool = [f for f in factors if f.dim == d]

        def dfs(k: int, left: list[Factor], idx: list[int] = idx) -> bool:
            if k == len(idx):
                return not left
            want = loops[idx[k]].factor
            for size in range(1, len(left) + 1):
                for combo in itertools.combinations(range(len(left)), size):
                    if math.prod(left[c].value for c in combo) == want:
                        out[idx[k]] = [left[c] for c in combo]
                        rest = [f for j, f in enumerate(left) if j not in combo]
                        if dfs(k + 1, rest, idx):
                            return True
            return False

        if not dfs(0, pool, idx):
            return None
    return out


@dataclass(frozen=True)
class Assignment:
    """A mapping expressed in the model's factor space (one factor per slot)."""

    slot_factor: dict[int, Factor]
    """Occupied slot → its factor (occupied slots are the innermost ones)."""
    slot_loop: dict[int, int]
    """Occupied slot → index of the mapping loop it came from."""
    axis_factors: dict[str, tuple[Factor, ...]]
    """Spatial axis → its factors."""
    mapping: Mapping
    """The original mapping (levels, bypass, double buffering)."""


def match_mapping(
    factors: list[Factor],
    mapping: Mapping,
    axis_order: Iterable[str] | None = None,
) -> Assignment | None:
    """Match every loop of ``mapping`` to a sub-multiset of ``factors`` (or ``None``).

    A loop whose factor is a product of several model factors occupies that many
    consecutive slots at the same levels. ``axis_order`` (the arch's spatial axes)
    orders identical factors the way the models' symmetry-breaking rows require.
    """
    loops: list[tuple[str | None, Loop]] = [
        (ax, lp) for ax, lps in mapping.spatial.items() for lp in lps
    ] + [(None, lp) for lp in mapping.temporal]
    groups = _match_factors([lp for _, lp in loops], factors)
    if groups is None:
        return None
    n = len(factors)
    slot = n - sum(
        len(g) for (ax, _), g in zip(loops, groups, strict=True) if ax is None
    )
    slot_factor: dict[int, Factor] = {}
    slot_loop: dict[int, int] = {}
    axis: dict[str, list[Factor]] = {}
    j = 0
    for (ax, _), group in zip(loops, groups, strict=True):
        if ax is None:
            for f in group:
                slot_factor[slot] = f
                slot_loop[slot] = j
                slot += 1
            j += 1
        else:
            axis.setdefault(ax, []).extend(group)
    # identical factors are interchangeable: hand them out in the models'
    # symmetry-breaking order (slot i has key i + 1, axis u has key n + 1 + u)
    ax_names = list(axis_order) if axis_order is not None else sorted(axis)
    where: dict[tuple[str, int], list[tuple[int, object]]] = {}
    for i, f in slot_factor.items():
        where.setdefault((f.dim, f.value), []).append((i + 1, i))
    for ax, fs in axis.items():
        for f in fs:
            key = n + 1 + (ax_names.index(ax) if ax in ax_names else len(ax_names))
            where.setdefault((f.dim, f.value), []).append((key, ax))
    new_axis: dict[str, list[Factor]] = {ax: [] for ax in axis}
    for (d, v), places in where.items():
        same = sorted(
            (f for f in factors if f.dim == d and f.value == v), key=lambda f: f.index
        )
        for f, (_, place) in zip(same, sorted(places, key=lambda t: t[0]), strict=True):
            if isinstance(place, int):
                slot_factor[place] = f
            else:
                new_axis[str(place)].append(f)
    return Assignment(
        slot_factor, slot_loop, {k: tuple(v) for k, v in new_axis.items()}, mapping
    )


def assignment_mapping(a: Assignment) -> Mapping:
    """The factor-level :class:`Mapping` of an assignment (one loop per factor).

    Its evaluator cost is the model's cost of the assignment, which can differ
    from the original mapping's when a loop was split over several factors.
    """
    slots = sorted(a.slot_factor)
    m = a.mapping
    return Mapping(
        spatial={
            ax: tuple(Loop(f.dim, f.value) for f in fs)
            for ax, fs in a.axis_factors.items()
            if fs
        },
        temporal=tuple(
            Loop(a.slot_factor[i].dim, a.slot_factor[i].value) for i in slots
        ),
        level_of={
            op: tuple(m.level_of[op][a.slot_loop[i]] for i in slots) for op in OPERANDS
        },
        bypass=m.bypass,
        double_buffer=m.double_buffer,
    )


def decode_mapping(
    model: Any,
    is_set: Callable[[Any], bool],
    at_least: Callable[[str, int, int], Any],
) -> Mapping:
    """Read the mapping of a solution of either backend's model.

    ``model`` has the shared variable families (``xt``, ``xs``, ``used``, ``db``)
    over ``factors``, ``slots``, ``axes``, ``levels`` and ``lv``; ``is_set`` says
    whether a 0/1 variable (or constant) is 1 in the solution, and
    ``at_least(op, i, q)`` is the "slot i of op sits at position ≥ q" indicator.
    """
    temporal: list[Loop] = []
    slot_of: list[int] = []
    for i in model.slots:
        for f in model.factors:
            if is_set(model.xt[f.index, i]):
                temporal.append(Loop(f.dim, f.value))
                slot_of.append(i)
    spatial = {
        a.name: tuple(
            Loop(f.dim, f.value)
            for f in model.factors
            if (f.index, a.name) in model.xs and is_set(model.xs[f.index, a.name])
        )
        for a in model.axes
    }
    level_of, bypass = {}, {}
    dbl = set()
    for op in OPERANDS:
        names = [model.levels[li].name for li in model.lv[op]]
        pos = [
            sum(int(is_set(at_least(op, i, q))) for q in range(1, len(names)))
            for i in slot_of
        ]
        level_of[op] = tuple(names[p] for p in pos)
        bypass[op] = frozenset(
            names[q] for q in range(len(names)) if not is_set(model.used[op, q])
        )
        for q in range(len(names)):
            if is_set(model.db[op, q]):
                dbl.add((names[q], op))
    return Mapping(
        spatial={k: v for k, v in spatial.items() if v},
        temporal=tuple(temporal),
        level_of=level_of,
        bypass=bypass,
        double_buffer=frozenset(dbl),
    )
