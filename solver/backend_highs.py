"""HiGHS backend: build :class:`HighsMiredo`, solve with a time limit, decode.

``latency`` and ``energy`` are solved directly. Status ``optimal`` means HiGHS
closed the gap to within ``gap_limit`` (HiGHS's ``mip_rel_gap``, default 1 %); the gap it reached is
reported.

A representable MIP start matters: HiGHS rarely finds a first incumbent on its
own on table4's 3x3 convolutions, and the heuristic baseline
(:mod:`miredo.solver.heuristic`) works with prime factors, which the model's
Flexible-Factorization space often cannot express.
:func:`~miredo.solver.mip_start.factor_space_start` runs the heuristic's
allocation inside the model's factor space; the better of it and the caller's
hint is the MIP start and sets the caps.

EDP is the product L·E, which a MILP cannot state. It is handled by an outer loop
over the scalarisation ``min E + λ·L`` with ``λ = E/L`` of the incumbent
(Dinkelbach style). By AM-GM every solution with ``E + λ·L ≤ 2·E_inc`` has
``L·E ≤ L_inc·E_inc``, so no step increases the EDP of the best mapping. The loop
stops at a fixed point of λ, which is a supported point of the (L, E) Pareto
front and not necessarily the EDP optimum. Nothing is proven for EDP: the result
has status ``feasible``, gap 1.0 and no bound.
"""

from __future__ import annotations

import math
import time

import highspy
import numpy as np

from miredo.solver.backend_cpsat import BackendResult
from miredo.solver.bounds import physical_bound
from miredo.solver.evaluator import Cost, evaluate
from miredo.solver.hardware import Arch
from miredo.solver.mapping import Mapping
from miredo.solver.mip_milp import (
    HighsMiredo,
    assignment_mapping,
    match_mapping,
    model_factors,
)
from miredo.solver.mip_start import factor_space_start
from miredo.solver.validator import validate
from miredo.solver.workload import Layer

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
    :func:`~miredo.solver.mip_start.factor_space_start` is the MIP start. Its
    cost sets the caps: latency (latency), energy / leakage (energy) or
    sqrt(EDP / leakage) (EDP) bounds the latency, never above ``latency_cap``
    unless the start itself needs it; its energy (energy) or EDP / physical
    latency bound (EDP) bounds the energy.
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
