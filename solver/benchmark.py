"""The per-layer benchmark behind ``miredo-bench``: every mapper on every distinct layer.

For each distinct contraction of a model (ResNet repeats layers; each distinct
signature is solved once and weighted by its multiplicity) it records the layer
shape, the physical lower bound, and for each mapper the evaluator's latency,
energy and EDP with the solve's status, gap, wall time and model size.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from miredo.solver.bounds import compute_bound, dram_bound, physical_bound
from miredo.solver.hardware import Arch
from miredo.solver.mip import solve_layer
from miredo.solver.workload import Layer


@dataclass
class LayerResult:
    layer: Layer
    count: int
    bound: dict[str, float]
    mappers: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.layer.name,
            "count": self.count,
            "dims": {d: v for d, v in self.layer.dims.items() if v > 1},
            "stride": list(self.layer.stride),
            "bound": self.bound,
            "mappers": self.mappers,
        }


def distinct_layers(layers: Sequence[Layer]) -> list[tuple[Layer, int]]:
    """Distinct layers by signature, first occurrence first, with their counts."""
    seen: dict[str, list[Any]] = {}
    for layer in layers:
        entry = seen.setdefault(layer.signature(), [layer, 0])
        entry[1] += 1
    return [(lay, n) for lay, n in seen.values()]


def run_benchmark(
    layers: Sequence[Layer],
    arch: Arch,
    *,
    objective: str = "edp",
    mappers: Sequence[str] = ("miredo", "ws", "heuristic"),
    time_limit: float = 30.0,
    workers: int = 2,
    solver: str = "cpsat",
    progress: Callable[[str], None] | None = None,
) -> list[LayerResult]:
    results = []
    for layer, count in distinct_layers(layers):
        res = LayerResult(
            layer,
            count,
            {
                "compute": float(compute_bound(layer, arch)),
                "dram": float(dram_bound(layer, arch)),
                "physical": float(physical_bound(layer, arch)),
            },
        )
        for mapper in mappers:
            t0 = time.perf_counter()
            sol = solve_layer(
                layer,
                arch,
                objective=objective,
                mapper=mapper,
                time_limit=time_limit,
                workers=workers,
                solver=solver,
            )
            res.mappers[mapper] = {
                "latency": sol.cost.latency,
                "energy_pj": sol.cost.energy,
                "edp": sol.cost.edp,
                "status": sol.status,
                "gap": sol.gap,
                "wall_s": time.perf_counter() - t0,
                "variables": sol.variables,
                "constraints": sol.constraints,
                "solver_objective": sol.solver_objective,
                "mapping": str(sol.mapping),
                "warnings": sol.warnings,
            }
            if progress:
                progress(f"{layer.name} {mapper}")
        results.append(res)
    return results


def totals(
    results: Sequence[LayerResult], mappers: Sequence[str]
) -> dict[str, dict[str, float]]:
    """Whole-model sums weighted by layer multiplicity; EDP = total latency × total energy."""
    out: dict[str, dict[str, float]] = {}
    for m in mappers:
        lat = sum(r.count * r.mappers[m]["latency"] for r in results)
        en = sum(r.count * r.mappers[m]["energy_pj"] for r in results)
        out[m] = {
            "latency": lat,
            "energy_pj": en,
            "edp": lat * en,
            "wall_s": sum(r.mappers[m]["wall_s"] for r in results),
        }
    out["bound"] = {"physical": sum(r.count * r.bound["physical"] for r in results)}
    return out


def format_table(results: Sequence[LayerResult], mappers: Sequence[str]) -> str:
    """A plain-text per-layer table."""
    head = f"{'layer':<22}{'x':>3} {'phys.bound':>11}"
    for m in mappers:
        head += f" | {m + ' lat':>12} {'EDP':>10} {'status':>9} {'gap':>6} {'s':>5}"
    head += f" | {'vars':>5} {'cons':>6}"
    lines = [head, "-" * len(head)]
    for r in results:
        line = f"{r.layer.name[:22]:<22}{r.count:>3} {r.bound['physical']:>11.0f}"
        for m in mappers:
            v = r.mappers[m]
            line += (
                f" | {v['latency']:>12.0f} {v['edp']:>10.3e} {v['status']:>9} "
                f"{100 * v['gap']:>5.1f}% {v['wall_s']:>5.1f}"
            )
        mv = r.mappers.get("miredo", {})
        line += f" | {mv.get('variables', 0):>5} {mv.get('constraints', 0):>6}"
        lines.append(line)
    return "\n".join(lines)
