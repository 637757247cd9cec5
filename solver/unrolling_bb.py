"""Branch and bound over spatial unrollings, a CP-SAT solve at each node.

The full model leaves the spatial unrolling (X^U) to CP-SAT, whose bound then
stays near the physical one; with the unrolling fixed, the same model is small
and often closes at once (ResNet-18's 1×1 downsamples on table4: 0.5–4 s per
unrolling). So the layer's unrollings are nodes, best bound first: each node's
bound is refined lazily (:class:`~miredo.solver.spatial_bounds.UnrollingQueue`:
the register searches, then the off-chip one), and the lowest fully refined node is
solved by CP-SAT restricted to it, under the incumbent's latency cap. The
solve's own bound then replaces the node's: no mapping with that unrolling is
below it, or below the incumbent when the solve proves none under the cap.
The search stops when the lowest node's bound is within ``gap_limit`` of the
incumbent (the layer is proven), when a node solve leaves its node below that
(the layer cannot be proven here), or when the time is spent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from miredo.solver.bounds import latency_cap
from miredo.solver.evaluator import Cost, evaluate
from miredo.solver.hardware import Arch
from miredo.solver.local_search import unrolling_start
from miredo.solver.mapping import Mapping
from miredo.solver.spatial_bounds import (
    REFINED,
    SpatialBound,
    UnrollingQueue,
    mirror_key,
)
from miredo.solver.validator import validate
from miredo.solver.workload import Layer

if TYPE_CHECKING:
    from miredo.solver.backend_cpsat import BackendResult

MODEL_MARGIN = 1e-3
"""Relative slack on a node solve's energy or EDP bound: the model's integer
energy units round each per-bit energy (0.06 % on a register write), and its
objective was measured within 3.4e-05 of the evaluator's on ResNet-18. A node
within it of the incumbent counts as closed. (Latency is exact.)"""

SOLVED = REFINED + 1
"""A node's state in the queue once its CP-SAT solve has lifted its bound."""


@dataclass
class Outcome:
    """The best mapping found and what the nodes prove."""

    mapping: Mapping
    cost: Cost
    bound: float
    """A lower bound on the objective of every mapping of the model's space."""
    solves: int
    """CP-SAT node solves run."""
    last: BackendResult | None = None
    """The last node solve's result (model size, its own objective)."""


def branch_and_bound(
    layer: Layer,
    arch: Arch,
    objective: str,
    queue: UnrollingQueue,
    incumbent: tuple[Mapping, Cost],
    *,
    node_time: Callable[[bool], float],
    gap_limit: float,
    workers: int = 2,
    seed: int = 0,
    deterministic: bool = False,
    allow_bypass: bool = True,
    allow_double_buffer: bool = True,
    polish: Callable[[SpatialBound, Mapping], tuple[Mapping, Cost] | None]
    | None = None,
) -> Outcome:
    """Improve ``incumbent`` over the unrollings of ``queue`` (see the module
    docstring; a queue :func:`~miredo.solver.spatial_bounds.layer_bound`'s
    work has been done in keeps it); each node solve gets ``node_time(closed)``
    seconds (``deterministic``: CP-SAT work units), ``closed`` telling whether
    the solve before closed its node. The ``allow_*`` flags restrict the
    model's space, as in :func:`~miredo.solver.backend_cpsat.solve_cpsat`.
    ``polish(node, incumbent)``, when given, searches the node's unrolling
    first (a valid mapping of it or ``None``); a node it brings within the
    gap of its bound closes without a solve, and otherwise its mapping, if
    better, is the solve's start."""
    from miredo.solver.backend_cpsat import solve_cpsat

    best_map, best_cost = incumbent
    value = best_cost.objective(objective)
    lifted: dict[object, float] = {}  # mirror key -> the solve's bound
    solves, last = 0, None
    closed = False  # the last node solve closed its node
    margin = 0.0 if objective == "latency" else MODEL_MARGIN  # latency is exact
    while True:
        threshold = value * (1 - gap_limit)
        low, state, i = queue.lowest(threshold)
        if low >= threshold or state == SOLVED:
            break
        queue.pop()
        node = queue.tight[i]
        key = mirror_key(layer, node)
        if key not in lifted and polish is not None:
            found = polish(node, best_map)
            if found is not None and found[1].objective(objective) < value:
                best_map, best_cost = found
                value = best_cost.objective(objective)
                if low >= value * (1 - gap_limit):  # closed by its bound
                    lifted[key], closed = low, True
        if key not in lifted:
            limit = node_time(closed)
            if limit < 0.05:
                queue.push(low, SOLVED, i)
                break
            hint = (
                best_map
                if _unrolling(best_map) == _unrolling_of(node)
                else unrolling_start(layer, arch, node, best_map)
            )
            result = solve_cpsat(
                layer,
                arch,
                objective=objective,
                latency_cap=latency_cap(layer, arch, objective, best_cost),
                time_limit=limit,
                workers=workers,
                seed=seed,
                hint=hint,
                gap_limit=gap_limit,
                unrollings=[node],
                allow_bypass=allow_bypass,
                allow_double_buffer=allow_double_buffer,
                **({"deterministic": True} if deterministic else {}),
            )
            solves, last = solves + 1, result
            found = low
            if result.mapping is not None and not validate(layer, arch, result.mapping):
                cost = evaluate(layer, arch, result.mapping)
                if cost.objective(objective) < value:
                    best_map, best_cost = result.mapping, cost
                    value = cost.objective(objective)
            if result.status == "infeasible":  # nothing under the cap
                found = value
            elif result.bound is not None:
                found = max(low, result.bound * (1 - margin))
            lifted[key] = min(found, value)
            closed = lifted[key] >= value * (1 - gap_limit) * (1 - margin)
            if not closed:
                # unproven: the layer cannot be proven here, the rest of the
                # time is the full model's
                queue.push(max(low, lifted[key]), SOLVED, i)
                break
        queue.push(max(low, lifted[key]), SOLVED, i)
    bound = min(value, queue.low)
    return Outcome(best_map, best_cost, bound, solves, last)


def _unrolling(m: Mapping) -> dict[str, dict[str, int]]:
    """``m``'s spatial unrolling as axis -> dim -> product (used axes only)."""
    out: dict[str, dict[str, int]] = {}
    for ax, loops in m.spatial.items():
        for lp in loops:
            if lp.factor > 1:
                out.setdefault(ax, {})
                out[ax][lp.dim] = out[ax].get(lp.dim, 1) * lp.factor
    return out


def _unrolling_of(b: SpatialBound) -> dict[str, dict[str, int]]:
    """``b``'s unrolling in the form of :func:`_unrolling`."""
    return {ax: dims for ax, dims in b.spatial.items() if dims}
