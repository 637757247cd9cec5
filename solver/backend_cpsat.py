"""CP-SAT backend: build :class:`CpSatMiredo`, solve with a time limit, decode."""

from __future__ import annotations

from dataclasses import dataclass

from ortools.sat.python import cp_model

from miredo.solver import bounds
from miredo.solver.hardware import Arch
from miredo.solver.mapping import Mapping
from miredo.solver.mip_cpsat import CpSatMiredo
from miredo.solver.mip_start import factor_space_start
from miredo.solver.spatial_bounds import SpatialBound
from miredo.solver.workload import Layer


@dataclass
class BackendResult:
    mapping: Mapping | None
    status: str
    gap: float
    objective: float | None
    bound: float | None
    variables: int
    constraints: int
    build_time: float = 0.0


INTERLEAVE_ONE_WORKER = True
"""With one worker, interleave CP-SAT's subsolvers (LNS included) in that thread
instead of running its default search alone. Measured (``solve_layer``, miredo,
EDP, table4, 8 s wall, 1 worker; EDP over the heuristic's, default -> interleaved):
ResNet-18 layer2.0.conv1 1.000 -> 0.935, layer3.0.conv1 1.000 -> 0.697,
layer3.0.conv2 1.000 -> 0.807, layer1 conv 1.000 -> 1.000, layer4.0.conv1
0.881 -> 0.892, layer3.0.downsample 0.772 -> 0.877, layer2.0.downsample
0.826 -> 0.899: geometric mean 0.921 -> 0.868."""


COMPLETE_HINT = 0.2
"""Share of the time limit that completing the hint may take
(:meth:`~miredo.solver.mip_cpsat.CpSatMiredo.complete_hint`; 0 leaves CP-SAT to
complete it)."""


def solve_cpsat(
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
    deterministic: bool = False,
    unrollings: list[SpatialBound] | None = None,
    stop_at: float | None = None,
) -> BackendResult:
    """Solve; ``stop_at`` ends the search at the first incumbent whose objective
    (in cycles, pJ or cycles·pJ) is at most that value: the caller's own bound
    proves it within its gap limit, which CP-SAT's bound may not."""
    import time

    t0 = time.perf_counter()
    if objective == "edp" and latency_cap is None:
        latency_cap = _edp_cap(layer, arch, ws, allow_bypass, allow_double_buffer, seed)
    model = CpSatMiredo(
        layer,
        arch,
        objective=objective,
        ws=ws,
        latency_cap=latency_cap,
        allow_bypass=allow_bypass,
        allow_double_buffer=allow_double_buffer,
        unrollings=unrollings,
    )
    if hint is not None and model.add_hint(hint) and COMPLETE_HINT > 0:
        model.complete_hint(COMPLETE_HINT * time_limit, deterministic)
    build = time.perf_counter() - t0
    stats = model.stats()
    solver = cp_model.CpSolver()
    if deterministic:  # reproducible: a work budget, one search thread
        solver.parameters.max_deterministic_time = max(0.01, time_limit)
        solver.parameters.max_time_in_seconds = 20 * max(1.0, time_limit)
        solver.parameters.num_workers = 1
    else:
        solver.parameters.max_time_in_seconds = max(0.01, time_limit - build)
        solver.parameters.num_workers = workers
        if workers == 1 and INTERLEAVE_ONE_WORKER:
            solver.parameters.interleave_search = True
    solver.parameters.random_seed = seed
    # stop once proven within ``gap_limit`` (then reported as optimal, with the gap)
    solver.parameters.relative_gap_limit = gap_limit
    scale = model.objective_scale()
    callback = None if stop_at is None else _StopAt(stop_at / scale)
    status = solver.solve(model.model, callback)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return BackendResult(
            None,
            solver.status_name(status).lower(),
            1.0,
            None,
            None,
            stats.variables,
            stats.constraints,
            build,
        )
    obj, bound = solver.objective_value * scale, solver.best_objective_bound * scale
    gap = 0.0 if obj <= 0 else max(0.0, (obj - bound) / obj)
    return BackendResult(
        model.decode(solver),
        "optimal" if status == cp_model.OPTIMAL else "feasible",
        gap,
        obj,
        bound,
        stats.variables,
        stats.constraints,
        build,
    )


def _edp_cap(
    layer: Layer,
    arch: Arch,
    ws: bool,
    allow_bypass: bool,
    allow_double_buffer: bool,
    seed: int,
) -> int | None:
    """A latency cap for an EDP model that was given none.

    The EDP product L × E must fit int64, so E is coarsened by the product of
    their upper bounds; without a cap, the latency's (the model's safe bound,
    ~10¹² cycles on a ResNet-18 layer) coarsens every energy to 0 and the
    objective to a constant. The cap of a start in the model's own space keeps
    every mapping at least as good as that start."""
    start = factor_space_start(
        layer,
        arch,
        "edp",
        ws=ws,
        allow_bypass=allow_bypass,
        allow_double_buffer=allow_double_buffer,
        seed=seed,
    )
    return None if start is None else bounds.latency_cap(layer, arch, "edp", start[1])


class _StopAt(cp_model.CpSolverSolutionCallback):
    """Stop the search at the first solution with objective ``<= target``."""

    def __init__(self, target: float) -> None:
        super().__init__()
        self.target = target

    def on_solution_callback(self) -> None:
        if self.objective_value <= self.target:
            self.stop_search()
