"""Solve one layer: the MIREDO MIP with a time limit, re-scored by the evaluator.

The solver's own objective is never trusted: every incumbent is decoded, checked
by the independent validator and re-evaluated by the closed-form evaluator, and
the evaluator's numbers are what the pass writes into the IR. If the MIP finds
no incumbent within the limit, the validated heuristic mapping is returned with
``source = "heuristic"`` and a warning.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from miredo.errors import MiredoError
from miredo.solver.evaluator import Cost, evaluate
from miredo.solver.hardware import Arch
from miredo.solver.heuristic import heuristic_mapping
from miredo.solver.local_search import (
    NODE_STEPS,
    STEPS_PER_SECOND,
    node_search,
    unrolling_search,
)
from miredo.solver.mapping import Mapping
from miredo.solver.spatial_bounds import (
    SpatialBound,
    UnrollingQueue,
    promising,
    spatial_bounds,
)
from miredo.solver.unrolling_bb import branch_and_bound
from miredo.solver.validator import validate
from miredo.solver.workload import Layer

if TYPE_CHECKING:
    from miredo.solver.backend_cpsat import BackendResult

OBJECTIVES = ("latency", "energy", "edp")
MAPPERS = ("miredo", "ws", "heuristic")
LOCAL_SEARCH = 0.3
"""Share of a miredo solve's time spent first on the evaluator-driven local
search from the heuristic mapping and within the promising spatial unrollings
(:func:`miredo.solver.local_search.unrolling_search`; 0 disables it). Its best
mapping, a point of the model's space, is the MIPs' start."""
LOCAL_SEARCH_TARGET = 0.25
"""The local search stops early only within this share of ``gap_limit`` of the
layer bound; a mapping it leaves within ``gap_limit`` still ends the solve. At
the whole gap limit it stopped just inside it, above what the ws MIP then found
(ResNet-18 on table4, 10 s: fc miredo/ws 1.0056, layer4 conv2 1.0064; at a
quarter, 0.9962 and 1.0000)."""
RESTART = 0.6
"""Share of the time left, once the local search and (CP-SAT) the branch and
bound leave the layer unproven, spent on a second local search from the best
mapping so far with the next seed (0 disables it); the rest goes to the MIPs. A search ends in the basin its seed
leads to, and the MIP stages after it seldom leave one: ResNet-18 on table4,
EDP, a second 7500-step search from each of seeds 0-7's result moved layer3
conv2 from 7.8620e12 in 2 seeds of 8 to 5, conv1 from 2.2546e13 to 1.7432e13
(seed 5). In the 10 s benchmark (-j 2), layer3 conv2 ended at 8.1138e12 (gap
3.7 %) in both runs without it and at 7.8620e12 (proven, 0.6 %) in the runs
with it where its first search had not already found that mapping."""
WS_STAGE = 0.3
"""Share of the time left then spent on the weight-stationary subspace (its
incumbent is the full model's MIP start; 0 disables the stage)."""
UNROLLING_BB = 0.7
"""Share of the time left that each node solve of the branch and bound over
spatial unrollings may take (:func:`miredo.solver.unrolling_bb.branch_and_bound`;
0 disables it). ResNet-18 on table4, 10 s, two layers at a time, gap of
layer3.0/layer4.0.downsample: 0.5: 3.1-3.7 % / 1.2-3.0 % (4 runs); 0.7: 1.3 % /
0.9 % and 1.2 % (2 runs); 1.0: 1.0 % / 0.9 %, but conv1 then gets no time for
the full model, whose mapping it needs (gap 8.6 % -> 28.3 %). Once a node solve
has closed its node, the next one may take all the time left: a layer whose
nodes close is being proven, and the full model after the search has only
improved incumbents of layers whose first node does not close. ResNet-18 on
table4, 10 s, -j 2: layer4.0.downsample proven (gap 1.0 %) in 2 runs of 4
(1.8 % in the others), against 1.8-3.0 % in all 3 runs before; its second
node needs about 3 s. Other layers: unchanged, as their first node does not
close (layer3 conv2 still ends at 1.6 % or, in some runs, 4.6 %)."""
NODE_SEARCH = 2
"""Local searches (:data:`~miredo.solver.local_search.NODE_STEPS` each, seeds
``seed``, ``seed + 1``, ...) in each branch-and-bound node's unrolling before
its CP-SAT solve (:func:`miredo.solver.local_search.node_search`; 0 disables
them): one search thread of CP-SAT finds good mappings of a large node slowly,
and a search's basin depends on its seed."""
PRUNE_UNROLLINGS = False
"""Give CP-SAT only the spatial unrollings whose lower bound does not exceed the
incumbent (:func:`miredo.solver.spatial_bounds.promising`). Off: on five ResNet-18
3x3 convs (table4, EDP, 8 deterministic units) it changed the final EDP by
x1.083, 1.000, 0.922, 1.000, 1.000 (no net gain) and slowed the model build."""


@dataclass
class Solution:
    """The result of mapping one layer."""

    layer: Layer
    mapping: Mapping
    cost: Cost
    mapper: str
    solver: str
    status: str
    """``optimal``, ``feasible`` (time limit hit with an incumbent) or ``heuristic``."""
    gap: float
    """Relative gap (objective − bound) / objective of the solve; 0 when proven."""
    wall_time: float
    variables: int = 0
    constraints: int = 0
    solver_objective: float | None = None
    """The last MIP's own objective for its incumbent."""
    solver_value: float | None = None
    """The evaluator's value of that incumbent: equal to ``solver_objective``
    up to the model's integer scaling (the returned mapping may be another one,
    the MIP's start, when the MIP did not improve on it)."""
    warnings: list[str] = field(default_factory=list)


def search_cap(objective: str, arch: Arch, incumbent: Cost) -> int | None:
    """The latency cap of the MIP stages: a latency that every mapping better
    than ``incumbent`` satisfies, through leakage alone (``None`` without it).

    Looser than :func:`~miredo.solver.bounds.latency_cap` (which also counts
    the dynamic energy bound, and caps the branch and bound's nodes), and kept
    because CP-SAT searches better under it: ws at 10 s beside a second solve,
    conv1 3.31e13 (this cap) vs 3.87e13, layer1 conv 1.07e13 vs 1.42e13."""
    if objective == "latency":
        return math.ceil(incumbent.latency)
    leak = arch.leakage_pj_per_cycle
    if leak <= 0:
        return None
    if objective == "energy":
        return math.ceil(incumbent.energy / leak)
    return math.ceil(math.sqrt(incumbent.edp / leak))


def solve_layer(
    layer: Layer,
    arch: Arch,
    *,
    objective: str = "edp",
    mapper: str = "miredo",
    solver: str = "cpsat",
    time_limit: float = 30.0,
    workers: int = 2,
    seed: int = 0,
    gap_limit: float = 0.01,
    deterministic: bool = False,
) -> Solution:
    """Map ``layer`` onto ``arch`` with the chosen mapper and backend.

    With ``deterministic`` (CP-SAT), the limit is CP-SAT's deterministic time
    (``time_limit`` units of its work counter, one search thread), so the result
    does not depend on the machine's load or on other jobs running beside it."""
    if objective not in OBJECTIVES:
        raise MiredoError(
            f"unknown objective '{objective}', expected one of {', '.join(OBJECTIVES)}"
        )
    if mapper not in MAPPERS:
        raise MiredoError(
            f"unknown mapper '{mapper}', expected one of {', '.join(MAPPERS)}"
        )
    start = time.perf_counter()
    h_map, h_cost = heuristic_mapping(layer, arch, objective)
    if mapper == "heuristic":
        return Solution(
            layer,
            h_map,
            h_cost,
            "heuristic",
            "none",
            "heuristic",
            0.0,
            time.perf_counter() - start,
        )
    if solver == "highs" and deterministic:
        raise MiredoError("a deterministic solve needs the cpsat solver", "solver")
    if solver == "highs":
        from miredo.solver.backend_highs import solve_highs as solve_backend
    elif solver == "cpsat":
        from miredo.solver.backend_cpsat import solve_cpsat as solve_backend
    else:
        raise MiredoError(f"unknown solver '{solver}', expected one of cpsat, highs")

    spent = 0.0  # deterministic budget handed out so far

    def budget(share: float) -> float:
        """``share`` of the time (deterministic: work budget) left."""
        nonlocal spent
        if deterministic:
            granted = (time_limit - spent) * share
            spent += granted
            return granted
        left = time_limit - (time.perf_counter() - start)
        return max(0.0, left * share)

    def run(ws: bool, share: float, hint: Mapping, incumbent: Cost, **extra):
        cap = search_cap(objective, arch, incumbent)
        if solver == "cpsat":  # every mapper stops once proven within the gap
            extra["stop_at"] = proven
        return solve_backend(
            layer,
            arch,
            objective=objective,
            ws=ws,
            latency_cap=cap,
            time_limit=budget(share),
            workers=workers,
            seed=seed,
            hint=hint,
            gap_limit=gap_limit,
            **({"deterministic": True} if deterministic else {}),
            **extra,
        )

    def finish(
        mapping: Mapping,
        cost: Cost,
        status: str,
        gap: float | None = None,
        sized: BackendResult | None = None,
        notes: list[str] | None = None,
    ) -> Solution:
        """The solution; ``gap`` defaults to the one against the layer bound,
        ``sized`` is the last backend result (model size, solver objective)."""
        return Solution(
            layer,
            mapping,
            cost,
            mapper,
            solver,
            status,
            _gap(cost.objective(objective), low) if gap is None else gap,
            time.perf_counter() - start,
            sized.variables if sized else 0,
            sized.constraints if sized else 0,
            sized.objective if sized else None,
            (
                evaluate(layer, arch, sized.mapping).objective(objective)
                if sized and sized.mapping is not None and sized.objective is not None
                else None
            ),
            notes or [],
        )

    # A mapping at or below ``proven`` is within ``gap_limit`` of the layer bound
    # ``low`` (the solver's own bound may be weaker), for ws too: its space's
    # optimum is no lower than ``low``.
    bounds = spatial_bounds(layer, arch)
    queue = UnrollingQueue(layer, arch, objective, bounds)  # the layer bound's
    low = queue.lowest()[0]
    proven = low / (1 - gap_limit) if gap_limit < 1 else math.inf
    best_map, best_cost, best_kind = h_map, h_cost, "heuristic"
    if mapper == "miredo" and h_cost.objective(objective) <= proven:
        return finish(h_map, h_cost, "optimal")

    def local(
        start: Mapping, share: float, search_seed: int
    ) -> tuple[Mapping, Cost] | None:
        """The local search from ``start`` for ``share`` of the time left."""
        return unrolling_search(
            layer,
            arch,
            start,
            objective,
            bounds,
            **(
                {"steps": int(budget(share) * STEPS_PER_SECOND)}
                if deterministic
                else {"seconds": budget(share)}
            ),
            seed=search_seed,
            stop_at=low / (1 - gap_limit * LOCAL_SEARCH_TARGET),
        )

    if mapper == "miredo" and LOCAL_SEARCH > 0:
        searched = local(h_map, LOCAL_SEARCH, seed)
        if searched is not None and searched[1].objective(
            objective
        ) <= best_cost.objective(objective):
            best_map, best_cost = searched
            best_kind = "local-search"
        if best_cost.objective(objective) <= proven:
            return finish(best_map, best_cost, "optimal")

    def polish(node: SpatialBound, like: Mapping) -> tuple[Mapping, Cost] | None:
        """:data:`NODE_SEARCH` local searches within a node's unrolling."""
        nonlocal spent
        best: tuple[Mapping, Cost] | None = None
        enough = node.objective(objective) / (1 - gap_limit)
        for k in range(NODE_SEARCH):
            if deterministic:
                n = min(NODE_STEPS, int((time_limit - spent) * STEPS_PER_SECOND))
                spent += n / STEPS_PER_SECOND
                limit: dict[str, float] = {"steps": n}
            else:
                limit = {"seconds": min(NODE_STEPS / STEPS_PER_SECOND, budget(1.0))}
            found = node_search(
                layer,
                arch,
                node,
                like,
                objective,
                **limit,
                seed=seed + k,
                stop_at=enough,
            )
            if found is None:
                return best
            if best is None or found[1].objective(objective) < best[1].objective(
                objective
            ):
                best = found
            if best[1].objective(objective) <= enough:
                break
        return best

    if mapper == "miredo" and solver == "cpsat" and UNROLLING_BB > 0:
        tree = branch_and_bound(
            layer,
            arch,
            objective,
            queue,
            (best_map, best_cost),
            node_time=lambda closed: budget(1.0 if closed else UNROLLING_BB),
            gap_limit=gap_limit,
            workers=workers,
            seed=seed,
            deterministic=deterministic,
            polish=polish if NODE_SEARCH > 0 else None,
        )
        low = max(low, tree.bound)
        proven = low / (1 - gap_limit) if gap_limit < 1 else math.inf
        if tree.cost.objective(objective) < best_cost.objective(objective):
            best_map, best_cost, best_kind = tree.mapping, tree.cost, "branch-and-bound"
        if best_cost.objective(objective) <= proven:
            return finish(best_map, best_cost, "optimal", sized=tree.last)
    if mapper == "miredo" and LOCAL_SEARCH > 0 and RESTART > 0:
        again = local(best_map, RESTART, seed + 1)
        if again is not None and again[1].objective(objective) < best_cost.objective(
            objective
        ):
            best_map, best_cost = again
            best_kind = "local-search"
        if best_cost.objective(objective) <= proven:
            return finish(best_map, best_cost, "optimal")
    # The incumbent: the heuristic mapping, then (miredo) the local search's, the
    # branch and bound's, the second local search's and the WS-restricted MIP's.
    staged_share = WS_STAGE if mapper == "miredo" else 0.0
    if staged_share > 0:
        # Stage 1: the weight-stationary subspace is smaller and its MIP finds good
        # mappings sooner; its best mapping is the full model's MIP start, so the
        # full model starts at or below both baselines' incumbents. It starts from
        # the best mapping so far if that is weight-stationary, else the heuristic's.
        ws_start = next(
            (m for m in (best_map, h_map) if weight_stationary(layer, m)), h_map
        )
        staged = run(True, staged_share, ws_start, best_cost)
        if staged.mapping is not None and not validate(layer, arch, staged.mapping):
            ws_cost = evaluate(layer, arch, staged.mapping)
            if ws_cost.objective(objective) < best_cost.objective(objective):
                best_map, best_cost = staged.mapping, ws_cost
                best_kind = "weight-stationary"
        if best_cost.objective(objective) <= proven:
            return finish(best_map, best_cost, "optimal", sized=staged)
    # Stage 2 (CP-SAT): only the spatial unrollings whose bound does not exceed
    # the incumbent, each with its bounds as cuts.
    incumbent = best_cost.objective(objective)
    extra: dict[str, object] = {}
    if mapper == "miredo" and solver == "cpsat" and PRUNE_UNROLLINGS:
        low, keep = promising(layer, arch, objective, incumbent, bounds)
        if not keep:  # no unrolling of the model's space can beat the incumbent
            return finish(best_map, best_cost, "optimal")
        extra["unrollings"] = keep
    result = run(
        mapper == "ws",
        1.0,
        best_map,
        best_cost,
        **extra,
    )
    if result.mapping is None:
        warn = f"layer '{layer.name}': {mapper} MIP found no mapping better than its {best_kind} start within {time_limit:g} s; using that mapping"
        return finish(
            best_map,
            best_cost,
            "heuristic" if best_map is h_map else "feasible",
            sized=result,
            notes=[warn],
        )
    problems = validate(layer, arch, result.mapping)
    if problems:
        raise MiredoError(
            f"solver returned an invalid mapping ({problems[0]}); this is a bug",
            where=f"layer '{layer.name}'",
        )
    cost = evaluate(layer, arch, result.mapping)
    mapping, status, notes = result.mapping, result.status, []
    if (
        cost.objective(objective) > best_cost.objective(objective)
        and mapper == "miredo"
    ):
        # The MIP start is a point of the model's space and better than the
        # incumbent the solver returned: keep it as the incumbent.
        mapping, cost, status = best_map, best_cost, "feasible"
        notes.append(
            f"layer '{layer.name}': the MIP did not improve on its start within {time_limit:g} s"
        )
    # The solver's bound, lifted by the per-unrolling bound over the whole space.
    # A solver given only some unrollings bounds those alone; the others cannot
    # beat ``incumbent``.
    bound = result.bound or 0.0
    if "unrollings" in extra:
        bound = min(bound, incumbent)
    bound = max(bound, low)
    gap = _gap(cost.objective(objective), bound)
    if status == "feasible" and gap <= gap_limit:
        status = "optimal"
    return finish(mapping, cost, status, gap, result, notes)


def weight_stationary(layer: Layer, mapping: Mapping) -> bool:
    """Whether ``mapping`` is in the ``ws`` baseline's space: no temporal loop over
    a dim irrelevant to W sits outside one over a W-relevant dim."""
    seen_irrelevant = False
    for lp in mapping.temporal:
        if lp.factor > 1:
            relevant = lp.dim in layer.relevant["W"]
            if relevant and seen_irrelevant:
                return False
            seen_irrelevant |= not relevant
    return True


def _gap(best: float, bound: float) -> float:
    """Relative gap of ``best`` over ``bound``, within [0, 1]."""
    return max(0.0, min(1.0, (best - bound) / best)) if best > 0 else 0.0
