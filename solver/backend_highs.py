"""HiGHS backend: build :class:`HighsMiredo`, solve with a time limit, decode.

``latency`` and ``energy`` are solved directly. Status ``optimal`` means HiGHS
closed the gap to within ``gap_limit`` (HiGHS's ``mip_rel_gap``, default 1 %); the gap it reached is
reported.

A representable MIP start matters: HiGHS rarely finds a first incumbent on its
own on table4's 3x3 convolutions, and the heuristic baseline
(:mod:`miredo.solver.heuristic`) works with prime factors, which the model's
Flexible-Factorization space often cannot express. :func:`factor_space_start`
runs the heuristic's allocation inside the model's factor space; the better of it
and the caller's hint is the MIP start and sets the caps.

EDP is the product L·E, which a MILP cannot state. It is handled by an outer loop
over the scalarisation ``min E + λ·L`` with ``λ = E/L`` of the incumbent
(Dinkelbach style). By AM-GM every solution with ``E + λ·L ≤ 2·E_inc`` has
``L·E ≤ L_inc·E_inc``, so no step increases the EDP of the best mapping. The loop
stops at a fixed point of λ, which is a supported point of the (L, E) Pareto
front and not necessarily the EDP optimum. Nothing is proven for EDP: the result
has status ``feasible``, gap 1.0 and no bound.
"""

from __future__ import annotations

import itertools
import math
import random
import time

import highspy
import numpy as np

from miredo.solver.backend_cpsat import BackendResult
from miredo.solver.bounds import physical_bound
from miredo.solver.evaluator import Cost, evaluate
from miredo.solver.factor_space import Factor
from miredo.solver.hardware import Arch
from miredo.solver.heuristic import allocate, loop_orders
from miredo.solver.mapping import Loop, Mapping
from miredo.solver.mip_milp import (
    HighsMiredo,
    assignment_mapping,
    match_mapping,
    model_factors,
)
from miredo.solver.validator import validate
from miredo.solver.workload import OPERANDS, Layer

EDP_MAX_ROUNDS = 4
"""Scalarised solves of the EDP outer loop, at most."""


def _hint_cost(
    layer: Layer,
    arch: Arch,
    hint: Mapping,
    *,
    ws: bool,
    allow_bypass: bool,
    allow_double_buffer: bool,
) -> tuple[Mapping, Cost] | None:
    """The factor-level form of ``hint`` and its cost, if it lies in the model's space."""
    a = match_mapping(model_factors(layer), hint)
    if a is None:
        return None
    split = assignment_mapping(a)
    if validate(layer, arch, split):
        return None
    if not allow_bypass and any(split.bypass.values()):
        return None
    if not allow_double_buffer and split.double_buffer:
        return None
    if ws:
        rel = layer.relevant["W"]
        kinds = [lp.dim in rel for lp in split.temporal]
        if any(not x and y for k, x in enumerate(kinds) for y in kinds[k + 1 :]):
            return None
    return split, evaluate(layer, arch, split)


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


def _within(layer: Layer, arch: Arch, mapping: Mapping, cap: int | None) -> bool:
    """Whether ``mapping`` respects the caller's latency cap.

    The model's own cap may be raised so that the factor-space start is a MIP
    start; what is returned must still lie under the caller's cap (which the
    caller derived from its incumbent), like a CP-SAT result.
    """
    return cap is None or evaluate(layer, arch, mapping).latency <= cap


def _options(
    h: highspy.Highs, time_limit: float, workers: int, seed: int, gap: float
) -> None:
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", max(0.01, float(time_limit)))
    h.setOptionValue("threads", int(workers))
    h.setOptionValue("random_seed", int(seed))
    h.setOptionValue("mip_rel_gap", float(gap))


def _run(model: HighsMiredo) -> tuple[str, Mapping | None, float | None, float | None]:
    """Solve; return (status, mapping, objective, dual bound)."""
    h = model.h
    h.run()
    st = h.getModelStatus()
    info = h.getInfo()
    has_sol = info.primal_solution_status == int(
        highspy.SolutionStatus.kSolutionStatusFeasible
    )
    if not has_sol:
        return h.modelStatusToString(st).lower(), None, None, None
    x = np.asarray(h.getSolution().col_value)
    status = "optimal" if st == highspy.HighsModelStatus.kOptimal else "feasible"
    return status, model.decode(x), info.objective_function_value, info.mip_dual_bound


def solve_highs(
    layer: Layer,
    arch: Arch,
    *,
    objective: str,
    ws: bool = False,
    latency_cap: int | None = None,
    time_limit: float = 30.0,
    workers: int = 2,
    seed: int = 0,
    hint: Mapping | None = None,
    allow_bypass: bool = True,
    allow_double_buffer: bool = True,
    gap_limit: float = 0.01,
) -> BackendResult:
    """Map ``layer`` with the HiGHS MILP (see the module docstring for EDP).

    The better of ``hint`` (when the model's factor space can express it) and
    :func:`factor_space_start` is the MIP start. Its cost sets the caps: latency
    (latency), energy / leakage (energy) or sqrt(EDP / leakage) (EDP) bounds the
    latency, never above ``latency_cap`` unless the start itself needs it; its
    energy (energy) or EDP / physical latency bound (EDP) bounds the energy.
    A mapping above ``latency_cap`` is not returned (status ``above_cap``): the
    caller's incumbent is better. ``gap_limit`` is HiGHS's stopping gap:
    ``optimal`` means closed to within it, and the gap actually reached is
    reported.
    """
    start = time.perf_counter()
    found = (
        _hint_cost(
            layer,
            arch,
            hint,
            ws=ws,
            allow_bypass=allow_bypass,
            allow_double_buffer=allow_double_buffer,
        )
        if hint is not None
        else None
    )
    own = factor_space_start(
        layer,
        arch,
        objective,
        ws=ws,
        allow_bypass=allow_bypass,
        allow_double_buffer=allow_double_buffer,
        seed=seed,
    )
    if own is not None and (
        found is None or own[1].objective(objective) < found[1].objective(objective)
    ):
        found = own
    cap = latency_cap
    energy_cap: float | None = None
    if found is not None:
        _, hc = found
        leak = arch.leakage_pj_per_cycle
        if objective == "latency":
            cap = hc.latency
        elif objective == "energy" and leak > 0:
            cap = math.ceil(hc.energy / leak)
        elif objective == "edp" and leak > 0:
            cap = math.ceil(math.sqrt(hc.edp / leak))
        if latency_cap is not None:
            cap = min(cap, latency_cap) if cap else latency_cap
            cap = max(cap, hc.latency)
        if objective == "energy":
            energy_cap = hc.energy * (1 + 1e-9) + 1e-6
        elif objective == "edp":
            lb = max(1.0, float(physical_bound(layer, arch)))
            energy_cap = hc.edp / lb * (1 + 1e-9) + 1e-6
    t_build = time.perf_counter()
    model = HighsMiredo(
        layer,
        arch,
        objective=objective,
        ws=ws,
        latency_cap=cap,
        energy_cap=energy_cap,
        allow_bypass=allow_bypass,
        allow_double_buffer=allow_double_buffer,
    )
    build = time.perf_counter() - t_build  # model construction only
    stats = model.stats()

    def remaining() -> float:
        return time_limit - (time.perf_counter() - start)

    if objective != "edp":
        _options(model.h, remaining(), workers, seed, gap_limit)
        if found is not None:
            model.add_hint(found[0])
        status, mapping, obj, bound = _run(model)
        if mapping is None or obj is None:
            return BackendResult(
                None, status, 1.0, None, None, stats.variables, stats.constraints, build
            )
        if not _within(layer, arch, mapping, latency_cap):
            return BackendResult(
                None,
                "above_cap",
                1.0,
                None,
                None,
                stats.variables,
                stats.constraints,
                build,
            )
        if bound is None or not math.isfinite(bound):
            bound = None
        gap = (
            1.0
            if bound is None
            else (max(0.0, (obj - bound) / obj) if obj > 0 else 0.0)
        )
        return BackendResult(
            mapping, status, gap, obj, bound, stats.variables, stats.constraints, build
        )

    # EDP: scalarised outer loop, never worse than its starting mapping
    best: tuple[float, Mapping] | None = None
    lam: float | None = None
    if found is not None:
        best = (found[1].edp, found[0])
        lam = found[1].energy / max(1, found[1].latency)
    else:
        model.set_objective(model.latency)
        _options(model.h, remaining() / 4, workers, seed, gap_limit)
        _, mapping, _, _ = _run(model)
        if mapping is not None and not validate(layer, arch, mapping):
            c = evaluate(layer, arch, mapping)
            best = (c.edp, mapping)
            lam = c.energy / max(1, c.latency)
    rounds = 0
    while lam is not None and rounds < EDP_MAX_ROUNDS and remaining() > 0.05:
        rounds += 1
        model.set_weighted_objective(lam)
        share = remaining() / (1 if rounds == EDP_MAX_ROUNDS else 2)
        _options(model.h, share, workers, seed, gap_limit)
        if best is not None:
            model.add_hint(best[1])
        _, mapping, _, _ = _run(model)
        if mapping is None or validate(layer, arch, mapping):
            break
        c = evaluate(layer, arch, mapping)
        if best is None or c.edp < best[0]:
            best = (c.edp, mapping)
        new = c.energy / max(1, c.latency)
        if abs(new - lam) <= 1e-9 * lam:
            break
        lam = new
    if best is not None and not _within(layer, arch, best[1], latency_cap):
        best = None
    if best is None:
        return BackendResult(
            None,
            "no solution",
            1.0,
            None,
            None,
            stats.variables,
            stats.constraints,
            build,
        )
    return BackendResult(
        best[1],
        "feasible",
        1.0,
        best[0],
        None,
        stats.variables,
        stats.constraints,
        build,
    )
