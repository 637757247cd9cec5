"""MIP starts inside the model's factor space.

The heuristic baseline (:mod:`miredo.solver.heuristic`) works with prime
factors, which the model's Flexible-Factorization space often cannot express.
:func:`factor_space_start` runs the heuristic's bottom-up allocation over the
model's own factors, so that its result is a point of the MIP and can start it.
"""

from __future__ import annotations

import itertools
import math
import random

from miredo.solver.evaluator import Cost, evaluate
from miredo.solver.factor_space import Factor, model_factors
from miredo.solver.hardware import Arch
from miredo.solver.heuristic import allocate, loop_orders
from miredo.solver.mapping import Loop, Mapping
from miredo.solver.validator import validate
from miredo.solver.workload import OPERANDS, Layer


def _spatial_candidates(
    arch: Arch, factors: list[Factor], top: int
) -> list[dict[str, tuple[Factor, ...]]]:
    """The ``top`` assignments of model factors to axes with the best utilization."""
    axes = [*arch.array_axes, arch.cores_axis]
    beam: list[tuple[float, dict[str, tuple[Factor, ...]], tuple[Factor, ...]]] = [
        (1.0, {}, tuple(factors))
    ]
    for ax in axes:
        nxt: dict[tuple, tuple[float, dict[str, tuple[Factor, ...]], tuple]] = {}
        for util, chosen, rem in beam:
            fit = [f for f in rem if f.dim in ax.dims]
            for k in range(len(fit) + 1):
                for sub in itertools.combinations(fit, k):
                    used = math.prod(f.value for f in sub)
                    if used > ax.size:
                        continue
                    new = {**chosen, ax.name: sub}
                    key = tuple(
                        (a, tuple(sorted((f.dim, f.value) for f in fs)))
                        for a, fs in sorted(new.items())
                    )
                    if key not in nxt:
                        left = tuple(f for f in rem if f not in sub)
                        nxt[key] = (util * used / ax.size, new, left)
        ranked = sorted(nxt.items(), key=lambda t: (-t[1][0], t[0]))
        beam = [v for _, v in ranked[: max(8, 4 * top)]]
    return [chosen for _, chosen, _ in beam[:top]]


def factor_space_start(
    layer: Layer,
    arch: Arch,
    objective: str,
    *,
    ws: bool = False,
    allow_bypass: bool = True,
    allow_double_buffer: bool = True,
    budget: int = 150,
    n_spatial: int = 3,
    seed: int = 0,
) -> tuple[Mapping, Cost] | None:
    """A valid mapping in the model's factor space (one loop per model factor).

    The heuristic's bottom-up allocation (:func:`~miredo.solver.heuristic.allocate`)
    over sampled loop orders of the model's own factors, for the best-utilization
    spatial assignments of those factors, then greedy bypass and double-buffer
    toggles; every result is validated and scored by the evaluator.
    """
    factors = model_factors(layer)
    rng = random.Random(seed)
    rel_w = layer.relevant["W"]
    best: tuple[float, Mapping, Cost] | None = None
    bypassable = {
        op: frozenset(lv for lv in arch.levels_for(op)[1:-1] if arch.level(lv).bypass)
        for op in OPERANDS
    }
    none: dict[str, frozenset[str]] = {op: frozenset() for op in OPERANDS}
    options = [none, bypassable] if allow_bypass else [none]

    def consider(m: Mapping | None) -> float | None:
        nonlocal best
        if m is None or validate(layer, arch, m):
            return None
        c = evaluate(layer, arch, m)
        v = c.objective(objective)
        if best is None or v < best[0]:
            best = (v, m, c)
        return v

    pool: list[tuple[float, Mapping]] = []
    for chosen in _spatial_candidates(arch, factors, n_spatial):
        spatial = {
            ax: tuple(Loop(f.dim, f.value) for f in fs)
            for ax, fs in chosen.items()
            if fs
        }
        on_axes = {f for fs in chosen.values() for f in fs}
        loops = [Loop(f.dim, f.value) for f in factors if f not in on_axes]
        for order in loop_orders(loops, budget, rng):
            if ws:  # W-relevant loops outside the W-irrelevant ones
                order = tuple(
                    [lp for lp in order if lp.dim in rel_w]
                    + [lp for lp in order if lp.dim not in rel_w]
                )
            for bypass in options:
                m, _ = allocate(layer, arch, spatial, order, bypass, frozenset())
                v = consider(m)
                if v is not None and m is not None:
                    pool.append((v, m))
    pool.sort(key=lambda t: t[0])
    for v0, m0 in pool[:3]:  # greedy bypass, then double-buffer toggles
        cur, bypass, db = v0, dict(m0.bypass), frozenset(m0.double_buffer)

        def trial(
            tb: dict[str, frozenset[str]], tdb: frozenset, m0: Mapping = m0
        ) -> bool:
            nonlocal cur
            m, _ = allocate(layer, arch, m0.spatial, m0.temporal, tb, tdb)
            v = consider(m)
            if v is not None and v < cur:
                cur = v
                return True
            return False

        if allow_bypass:
            for op in OPERANDS:
                for lv in bypassable[op]:
                    tb = {**bypass, op: bypass[op] ^ {lv}}
                    if trial(tb, db):
                        bypass = tb
        if allow_double_buffer:
            for lvl in arch.levels[1:]:
                for op in OPERANDS:
                    if op in lvl.operands and lvl.double_buffer:
                        tdb = db | {(lvl.name, op)}
                        if lvl.name not in bypass[op] and trial(bypass, tdb):
                            db = tdb
    if best is None:
        return None
    return best[1], best[2]
