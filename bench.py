"""The simulated benchmark behind ``miredo-bench``: the paper's §V on any model.

`run_mapper` compiles a model with one mapper (`miredo.pipeline.compile_model`:
every contraction is mapped, annotated and lowered to ``cim``) and runs the
cycle-level timing simulator (`miredo.sim.timing`) on the program of every
contraction: the ``cim.program`` whose ``sym_name`` is the layer's ONNX node name,
the same match ``miredo-sim --timing`` makes. `combine` puts the runs of several
mappers side by side. Each layer occurrence is one row: identical layers are
solved once by the compile but each has its own program.

Per contraction and mapper: the evaluator's prediction, the simulated latency,
energy, EDP, macro and core utilisation and stall cycles by cause, the accuracy
``1 - |pred - sim| / sim`` (`accuracy`), the solve (status, gap, time, model
size) and the ratio of the simulated latency to the layer's physical lower bound
(`miredo.solver.bounds`: compute bound, DRAM-compulsory bound, their maximum).

Totals are over the contractions, which run one after the other: latencies and
energies add up, the model's EDP is total latency x total energy. The SIMD,
bias-epilogue and layout programs do not depend on the mapper and are not
simulated. With ``simulate=False`` only the predicted numbers are filled in
(``simulated``, ``accuracy`` and ``sim_over_bound`` are ``null``).

The benchmark document (``bench.json``)::

    {"model", "arch", "objective", "solver", "time_limit", "mappers": [...],
     "reference": "miredo", "simulated": bool, "representative_layer",
     "layers": [{"name", "op", "dims": {dim: size > 1}, "stride", "macs",
                 "bound": {"compute", "dram", "physical"},
                 "mappers": {mapper: {
                     "predicted": {"latency_cycles", "energy_pj", "edp",
                                   "utilization"},
                     "simulated": {"latency_cycles", "energy_pj", "edp",
                                   "mean_macro_utilization",
                                   "mean_core_utilization", "stall_cycles":
                                   {cause: n}, "instructions", "seconds"} | null,
                     "accuracy", "sim_over_bound",
                     "solver": {"status", "gap", "time_s", "variables",
                                "constraints", "source", "objective",
                                "evaluated", "objective_error"},
                     "mapping"}}}],
     "totals": {mapper: <`totals`>, "bound": {"compute", "dram", "physical"}},
     "summary": <`summarize`>,
     "sweeps": {"models": [...], "hardware": [...]}}   # see miredo.bench_sweep
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from miredo.errors import MiredoError
from miredo.pipeline import CompileOptions
from miredo.solver.mip import Solution

REFERENCE = "miredo"
"""The mapper the others are compared with (speedups, EDP reductions)."""


def accuracy(predicted: float, simulated: float) -> float | None:
    """``1 - |predicted - simulated| / simulated`` (``None`` for a zero latency)."""
    if simulated <= 0:
        return None
    return 1 - abs(predicted - simulated) / simulated


@dataclass
class MapperRun:
    """One compile and simulation of a model with one mapper."""

    mapper: str
    arch: str
    """The hardware's name."""
    layers: list[dict[str, Any]]
    """Per contraction: the shared fields (name, op, dims, stride, macs, bound)
    and ``result``, this mapper's entry of the layer's ``mappers``."""
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall time of ``compile`` and ``simulate``."""


def _layer_fields(name: str, kind: str, sol: Solution, arch: Any) -> dict[str, Any]:
    from miredo.solver.bounds import compute_bound, dram_bound

    layer = sol.layer
    compute, dram = float(compute_bound(layer, arch)), float(dram_bound(layer, arch))
    return {
        "name": name,
        "op": kind,
        "dims": {d: v for d, v in layer.dims.items() if v > 1},
        "stride": list(layer.stride),
        "macs": layer.macs,
        "bound": {"compute": compute, "dram": dram, "physical": max(compute, dram)},
    }


def _simulated(report: Any) -> dict[str, Any]:
    return {
        "latency_cycles": report.latency,
        "energy_pj": report.energy,
        "edp": report.edp,
        "mean_macro_utilization": report.mean_macro_utilization,
        "mean_core_utilization": report.mean_core_utilization,
        "stall_cycles": dict(report.stalls),
        "instructions": report.instructions,
        "seconds": report.seconds,
    }


def run_mapper(
    model: str | os.PathLike[str],
    options: CompileOptions,
    *,
    simulate: bool = True,
    on_start: Callable[[int], None] | None = None,
    on_layer: Callable[[str, Solution, str], None] | None = None,
) -> MapperRun:
    """Compile ``model`` with ``options`` (its ``mapper``) and simulate every
    contraction's program; ``on_start``/``on_layer`` as for `compile_model`."""
    from miredo.pipeline import compile_model

    t0 = time.perf_counter()
    result = compile_model(model, options, on_start=on_start, on_layer=on_layer)
    seconds = {"compile": time.perf_counter() - t0}
    arch = result.arch
    programs: dict[str, Any] = {}
    if simulate:
        from miredo.sim.timing import iter_programs

        programs = {p.sym_name.data: p for p in iter_programs(result.lowered())}
    t0 = time.perf_counter()
    layers = []
    for name, kind, sol, source in result.solutions:
        entry = _layer_fields(name, kind, sol, arch)
        cost = sol.cost
        res: dict[str, Any] = {
            "predicted": {
                "latency_cycles": int(cost.latency),
                "energy_pj": float(cost.energy),
                "edp": float(cost.edp),
                "utilization": float(cost.utilization),
            },
            "simulated": None,
            "accuracy": None,
            "sim_over_bound": None,
            "solver": {
                "status": sol.status,
                "gap": float(sol.gap),
                "time_s": float(sol.wall_time) if source == "solved" else 0.0,
                "variables": sol.variables,
                "constraints": sol.constraints,
                "source": source,
                "objective": sol.solver_objective,
                "evaluated": sol.solver_value,
                "objective_error": objective_error(
                    sol.solver_objective, sol.solver_value
                ),
            },
            "mapping": str(sol.mapping),
        }
        if simulate:
            from miredo.sim.timing import simulate_timing

            program = programs.get(name)
            if program is None:
                raise MiredoError(
                    f"the lowered module has no program for contraction '{name}'",
                    str(model),
                )
            sim = _simulated(simulate_timing(program, arch))
            res["simulated"] = sim
            res["accuracy"] = accuracy(
                res["predicted"]["latency_cycles"], sim["latency_cycles"]
            )
            bound = entry["bound"]["physical"]
            res["sim_over_bound"] = sim["latency_cycles"] / bound if bound else None
        entry["result"] = res
        layers.append(entry)
    seconds["simulate"] = time.perf_counter() - t0
    return MapperRun(options.mapper, arch.name, layers, seconds)


def totals(layers: Sequence[dict[str, Any]], mapper: str) -> dict[str, Any]:
    """One mapper's whole-model numbers over ``layers`` (`combine`'s rows).

    ``latency_cycles``, ``energy_pj`` and ``edp`` are simulated (``None`` when
    not simulated); ``accuracy`` holds the per-layer ``mean`` and ``worst`` (with
    its ``worst_layer``) and ``total``, the accuracy of the summed latencies."""
    rows = [lay["mappers"][mapper] for lay in layers]
    pred_lat = sum(r["predicted"]["latency_cycles"] for r in rows)
    pred_en = sum(r["predicted"]["energy_pj"] for r in rows)
    out: dict[str, Any] = {
        "predicted_latency_cycles": pred_lat,
        "predicted_energy_pj": pred_en,
        "predicted_edp": pred_lat * pred_en,
        "latency_cycles": None,
        "energy_pj": None,
        "edp": None,
        "accuracy": None,
        "solve_time_s": sum(r["solver"]["time_s"] for r in rows),
    }
    if rows and all(r["simulated"] is not None for r in rows):
        lat = sum(r["simulated"]["latency_cycles"] for r in rows)
        en = sum(r["simulated"]["energy_pj"] for r in rows)
        accs = [
            (r["accuracy"], lay["name"])
            for r, lay in zip(rows, layers, strict=True)
            if r["accuracy"] is not None
        ]
        worst = min(accs, default=(None, None))
        out.update(
            latency_cycles=lat,
            energy_pj=en,
            edp=lat * en,
            accuracy={
                "mean": sum(a for a, _ in accs) / len(accs) if accs else None,
                "worst": worst[0],
                "worst_layer": worst[1],
                "total": accuracy(pred_lat, lat),
            },
        )
    return out


def compare(
    tot: dict[str, dict[str, Any]], mappers: Sequence[str], simulated: bool
) -> dict[str, dict[str, float | None]]:
    """Whole-model ``speedup`` (latency_b / latency_ref), ``edp_reduction``
    (EDP_b / EDP_ref) and ``edp_ratio`` (EDP_ref / EDP_b) of the reference mapper
    over every other mapper ``b``: simulated numbers, or predicted ones when not
    ``simulated``."""
    ref = reference_of(mappers)
    lat_key, edp_key = (
        ("latency_cycles", "edp")
        if simulated
        else ("predicted_latency_cycles", "predicted_edp")
    )
    out: dict[str, dict[str, float | None]] = {
        "speedup": {},
        "edp_reduction": {},
        "edp_ratio": {},
    }
    r = tot[ref]
    for b in mappers:
        if b == ref:
            continue
        t = tot[b]
        out["speedup"][b] = _ratio(t[lat_key], r[lat_key])
        out["edp_reduction"][b] = _ratio(t[edp_key], r[edp_key])
        out["edp_ratio"][b] = _ratio(r[edp_key], t[edp_key])
    return out


def objective_error(objective: float | None, value: float | None) -> float | None:
    """|MIP objective − evaluator's value| / the evaluator's value, of the MIP's
    own incumbent (``None`` when no MIP ran or it found none)."""
    if objective is None or value is None:
        return None
    return abs(objective - value) / value if value else float(objective != value)


def mip_vs_evaluator(
    layers: Sequence[dict[str, Any]], mappers: Sequence[str]
) -> dict[str, Any] | None:
    """The largest :func:`objective_error` over the solved layers of every MIP
    mapper (``max_error``, ``worst`` ``"layer (mapper)"``, ``solves``)."""
    worst: tuple[float, str] | None = None
    n = 0
    for row in layers:
        for m in mappers:
            solver = row["mappers"][m]["solver"]
            err = solver.get("objective_error")
            if err is None or solver["source"] != "solved":
                continue
            n += 1
            if worst is None or err > worst[0]:
                worst = (err, f"{row['name']} ({m})")
    if worst is None:
        return None
    return {"max_error": worst[0], "worst": worst[1], "solves": n}


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def reference_of(mappers: Sequence[str]) -> str:
    """``miredo`` if it ran, else the first mapper."""
    return REFERENCE if REFERENCE in mappers else mappers[0]


def combine(runs: Sequence[MapperRun]) -> list[dict[str, Any]]:
    """Per-layer rows with every mapper's result under ``mappers``."""
    first = runs[0]
    layers = []
    for i, lay in enumerate(first.layers):
        row = {k: v for k, v in lay.items() if k != "result"}
        row["mappers"] = {}
        for run in runs:
            if (
                len(run.layers) != len(first.layers)
                or run.layers[i]["name"] != (lay["name"])
            ):
                raise MiredoError(
                    f"mappers {first.mapper} and {run.mapper} produced different "
                    "contraction lists",
                    "miredo-bench",
                )
            row["mappers"][run.mapper] = run.layers[i]["result"]
        layers.append(row)
    return layers


def model_totals(
    layers: Sequence[dict[str, Any]], mappers: Sequence[str]
) -> dict[str, Any]:
    """`totals` per mapper plus the summed bounds under ``bound``."""
    out: dict[str, Any] = {m: totals(layers, m) for m in mappers}
    out["bound"] = {
        k: sum(lay["bound"][k] for lay in layers)
        for k in ("compute", "dram", "physical")
    }
    return out


def representative_layer(layers: Sequence[dict[str, Any]], name: str | None) -> str:
    """``name`` (checked), or the layer with the most MACs (the first on a tie)."""
    if not layers:
        raise MiredoError("the model has no contraction to benchmark", "miredo-bench")
    names = [lay["name"] for lay in layers]
    if name is None:
        return max(layers, key=lambda lay: lay["macs"])["name"]
    if name not in names:
        shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        raise MiredoError(f"no contraction '{name}'; the model has {shown}", "--layer")
    return name


def summarize(doc: dict[str, Any]) -> dict[str, Any]:
    """The closing numbers: the reference mapper's accuracy, its speedup and EDP
    ratios over the others, and its summed latency against the summed bounds."""
    mappers, tot, simulated = doc["mappers"], doc["totals"], doc["simulated"]
    ref = reference_of(mappers)
    lat = tot[ref]["latency_cycles" if simulated else "predicted_latency_cycles"]
    bound = tot["bound"]["physical"]
    return {
        "reference": ref,
        "accuracy": tot[ref]["accuracy"],
        "mip_vs_evaluator": mip_vs_evaluator(doc["layers"], mappers),
        **compare(tot, mappers, simulated),
        "latency_vs_bound": {
            "latency_cycles": lat,
            "bound_cycles": bound,
            "ratio": _ratio(lat, bound),
        },
    }


def benchmark(
    model: str | os.PathLike[str],
    name: str,
    options: CompileOptions,
    mappers: Sequence[str],
    *,
    simulate: bool = True,
    layer: str | None = None,
    on_start: Callable[[int], None] | None = None,
    on_layer: Callable[[str, Solution, str], None] | None = None,
) -> tuple[dict[str, Any], list[MapperRun]]:
    """Run every mapper on ``model`` (shown as ``name``); returns the benchmark
    document (without sweeps) and the runs."""
    from dataclasses import replace

    runs: list[MapperRun] = []
    for m in mappers:
        runs.append(
            run_mapper(
                model,
                replace(options, mapper=m),
                simulate=simulate,
                on_start=on_start,
                on_layer=on_layer,
            )
        )
        if len(runs) == 1:  # a bad --layer fails before the other compiles
            representative_layer(combine(runs), layer)
    layers = combine(runs)
    doc: dict[str, Any] = {
        "model": name,
        "arch": runs[0].arch,
        "objective": options.objective,
        "solver": options.solver,
        "time_limit": options.time_limit,
        "mappers": list(mappers),
        "reference": reference_of(mappers),
        "simulated": simulate,
        "representative_layer": representative_layer(layers, layer),
        "layers": layers,
        "totals": model_totals(layers, mappers),
        "seconds": {r.mapper: r.seconds for r in runs},
    }
    doc["summary"] = summarize(doc)
    return doc, runs
