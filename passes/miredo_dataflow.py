"""``miredo-dataflow``: annotate every contraction with its MIREDO dataflow.

For each ``nest.contract`` the pass extracts the layer (bounds, strides, halo
extents, operand relevance from the access maps), solves the MIREDO MIP (or a
baseline mapper) for the chosen hardware, validates the mapping and attaches it
as ``dataflow = #nest.dataflow<...>``. Latency, energy and EDP in the attribute
are the closed-form evaluator's, never the solver's own objective. Identical
layers (same canonical signature) are solved once per run.

```
miredo-opt --miredo-dataflow="arch=table4 objective=edp time-limit=30" model.onnx
```
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from miredo.dialects.dataflow import DataflowAttr
from miredo.dialects.nest import ContractOp
from miredo.solver.hardware import Arch
from miredo.solver.mip import Solution

if TYPE_CHECKING:
    from miredo.solver.cache import SolutionCache
from miredo.solver.workload import OPERANDS, Layer


def layer_of(op: ContractOp) -> Layer:
    """The solver's view of a contraction."""
    return Layer(
        name=op.node.data,
        dims=op.bounds(),
        stride=op.strides(),
        dilation=op.dilations(),
        in_hw=op.input_extent(),
        relevant={opnd: op.relevant_dims(opnd) for opnd in OPERANDS},
    )


def dataflow_attr(solution: Solution, arch: Arch, objective: str) -> DataflowAttr:
    """The ``#nest.dataflow`` attribute of a solved layer."""
    m = solution.mapping
    return DataflowAttr.build(
        arch=arch.name,
        mapper=solution.mapper,
        objective=objective,
        spatial=[
            (a.name, [(lp.dim, lp.factor) for lp in m.spatial.get(a.name, ())])
            for a in arch.spatial
        ],
        temporal=[(lp.dim, lp.factor) for lp in m.temporal],
        levels=[m.level_of[op] for op in OPERANDS],
        bypass=[
            sorted(m.bypass[op], key=arch.level_index.__getitem__) for op in OPERANDS
        ],
        double_buffer=sorted(
            m.double_buffer,
            key=lambda p: (arch.level_index[p[0]], OPERANDS.index(p[1])),
        ),
        latency=int(solution.cost.latency),
        energy=float(solution.cost.energy),
        edp=float(solution.cost.edp),
        status=solution.status,
        gap=min(1.0, max(0.0, float(solution.gap))),
    )


@dataclass(frozen=True)
class MiredoDataflowPass(ModulePass):
    """Solve the MIREDO MIP for every contraction and attach the result."""

    name = "miredo-dataflow"

    arch: str = "table4"
    """A shipped hardware name (``table4``, ``miredo-ref``, ``small``, ``tiny``) or a YAML path."""
    objective: str = "edp"
    """``latency``, ``energy`` or ``edp``."""
    time_limit: int | float = 30
    """Solver time limit per layer, in seconds."""
    solver: str = "cpsat"
    """MIP backend."""
    mapper: str = "miredo"
    """``miredo`` (the MIP), ``ws`` (weight-stationary MIP) or ``heuristic``."""
    workers: int = 2
    """Solver threads per layer."""
    gap_limit: int | float = 0.01
    """Stop a solve once it is proven within this relative gap."""
    jobs: int = 1
    """Layers solved in parallel (processes)."""
    cache: str = ""
    """A solution-cache database path (empty: no cache)."""
    deterministic: bool = False
    """CP-SAT with a deterministic work limit and one thread: reproducible results."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        from miredo.solver.cache import SolutionCache
        from miredo.solver.hardware import load_arch

        cache = SolutionCache(self.cache) if self.cache else None
        try:
            annotate(
                op,
                load_arch(self.arch),
                objective=self.objective,
                mapper=self.mapper,
                solver=self.solver,
                time_limit=self.time_limit,
                workers=self.workers,
                gap_limit=self.gap_limit,
                jobs=self.jobs,
                cache=cache,
                deterministic=self.deterministic,
            )
        finally:
            if cache is not None:
                cache.close()


def annotate(
    module: ModuleOp,
    arch: Arch,
    *,
    objective: str = "edp",
    mapper: str = "miredo",
    solver: str = "cpsat",
    time_limit: float = 30,
    workers: int = 2,
    gap_limit: float = 0.01,
    jobs: int = 1,
    scheduler: str | None = None,
    cache: SolutionCache | None = None,
    deterministic: bool = False,
    on_layer: Callable[[ContractOp, Solution, str], None] | None = None,
) -> list[tuple[ContractOp, Solution, str]]:
    """Solve and annotate every contraction of ``module``.

    Identical layers are solved once, cached solutions are reused and the rest run
    as parallel jobs (:func:`miredo.solver.jobs.solve_layers`). Returns, per
    contraction, its solution and where it came from (``solved``, ``cache`` or
    ``reused``); ``on_layer(op, solution, source)`` reports each as it arrives.
    """
    from miredo.solver.cache import SolveOptions
    from miredo.solver.jobs import solve_layers

    contracts = [o for o in module.walk() if isinstance(o, ContractOp)]
    options = SolveOptions(
        objective=objective,
        mapper=mapper,
        solver=solver,
        time_limit=float(time_limit),
        workers=workers,
        gap_limit=float(gap_limit),
        deterministic=deterministic,
    )

    def done(i: int, sol: Solution, source: str) -> None:
        contracts[i].attributes["dataflow"] = dataflow_attr(sol, arch, objective)
        if on_layer is not None:
            on_layer(contracts[i], sol, source)

    results = solve_layers(
        [layer_of(c) for c in contracts],
        arch,
        options,
        jobs=jobs,
        scheduler=scheduler,
        cache=cache,
        on_done=done,
    )
    return [(c, sol, src) for c, (sol, src) in zip(contracts, results, strict=True)]
