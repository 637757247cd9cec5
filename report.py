"""The compile report: ``report.json``, ``report.md`` and its plots.

``report.json``::

    {"model", "model_path", "arch", "options": {...}, "times_s": {stage: seconds},
     "layers": [{"name", "op", "dims": {N..S}, "stride", "dilation",
                 "mapping": {"text", "spatial", "temporal", "level_of",
                             "bypass", "double_buffer"},
                 "predicted": {"latency_cycles", "energy_pj", "edp",
                               "utilization", "spatial_utilization"},
                 "solver": {"mapper", "solver", "status", "gap", "time_s",
                            "variables", "constraints", "source"}}],
     "simd_ops": [{"name", "op"}],
     "totals": {"layers", "latency_cycles", "energy_pj", "edp", "solve_time_s"}}

Totals add latencies and energies over the contractions (layers run one after
the other); the total EDP is their product. Predicted numbers are the
closed-form evaluator's.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from miredo.pipeline import CompileResult


def build_report(result: CompileResult) -> dict[str, Any]:
    """The ``report.json`` content."""
    layers: list[dict[str, Any]] = []
    for name, kind, sol, source in result.solutions:
        layer, cost = sol.layer, sol.cost
        layers.append(
            {
                "name": name,
                "op": kind,
                "dims": dict(layer.dims),
                "stride": list(layer.stride),
                "dilation": list(layer.dilation),
                "mapping": {"text": str(sol.mapping), **sol.mapping.to_dict()},
                "predicted": {
                    "latency_cycles": int(cost.latency),
                    "energy_pj": float(cost.energy),
                    "edp": float(cost.edp),
                    "utilization": float(cost.utilization),
                    "spatial_utilization": float(cost.spatial_utilization),
                },
                "solver": {
                    "mapper": sol.mapper,
                    "solver": sol.solver,
                    "status": sol.status,
                    "gap": float(sol.gap),
                    "time_s": float(sol.wall_time) if source == "solved" else 0.0,
                    "variables": sol.variables,
                    "constraints": sol.constraints,
                    "source": source,
                },
            }
        )
    lat = sum(lay["predicted"]["latency_cycles"] for lay in layers)
    energy = sum(lay["predicted"]["energy_pj"] for lay in layers)
    opts = result.options
    return {
        "model": result.model,
        "model_path": str(Path(result.model).resolve()),
        "arch": result.arch.name,
        "options": {
            "objective": opts.objective,
            "mapper": opts.mapper,
            "solver": opts.solver,
            "time_limit": opts.time_limit,
            "workers": opts.workers,
            "gap_limit": opts.gap_limit,
            "jobs": opts.jobs,
        },
        "times_s": {k: round(v, 4) for k, v in result.times.items()},
        "layers": layers,
        "simd_ops": [{"name": n, "op": op} for n, op in result.simd_ops],
        "totals": {
            "layers": len(layers),
            "latency_cycles": lat,
            "energy_pj": energy,
            "edp": float(lat) * energy,
            "solve_time_s": sum(lay["solver"]["time_s"] for lay in layers),
        },
    }


def write_plots(report: dict[str, Any], outdir: Path) -> list[str]:
    """Per-layer latency and energy bar charts; returns the file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    layers = report["layers"]
    if not layers:
        return []
    names = [lay["name"] for lay in layers]
    files: list[str] = []
    for key, label, fname in (
        ("latency_cycles", "predicted latency (cycles)", "latency.png"),
        ("energy_pj", "predicted energy (pJ)", "energy.png"),
    ):
        fig, ax = plt.subplots(figsize=(max(6.0, 0.35 * len(names) + 2), 3.5))
        ax.bar(range(len(names)), [lay["predicted"][key] for lay in layers])
        ax.set_xticks(range(len(names)), names, rotation=70, ha="right", fontsize=7)
        ax.set_ylabel(label)
        ax.set_title(f"{Path(report['model']).name} on {report['arch']}")
        fig.tight_layout()
        fig.savefig(outdir / fname, dpi=110)
        plt.close(fig)
        files.append(fname)
    return files


def render_markdown(report: dict[str, Any], plots: list[str]) -> str:
    """The human report."""
    t = report["totals"]
    o = report["options"]
    lines = [
        f"# miredo compile report: {Path(report['model']).name} on `{report['arch']}`",
        "",
        f"Objective `{o['objective']}`, mapper `{o['mapper']}`, solver `{o['solver']}`, "
        f"time limit {o['time_limit']} s per layer, gap limit {o['gap_limit']}.",
        "",
        f"- contractions: {t['layers']}, SIMD ops: {len(report['simd_ops'])}",
        f"- predicted latency: {t['latency_cycles']:,} cycles",
        f"- predicted energy: {t['energy_pj']:.4g} pJ",
        f"- EDP: {t['edp']:.4g} cycles·pJ",
        f"- solve time: {t['solve_time_s']:.2f} s; stages: "
        + ", ".join(f"{k} {v:.2f} s" for k, v in report["times_s"].items()),
        "",
        "| layer | op | dims (NGKCPQRS) | latency | energy (pJ) | util | status | gap |"
        " time (s) | mapping |",
        "|---|---|---|---:|---:|---:|---|---:|---:|---|",
    ]
    for lay in report["layers"]:
        d = lay["dims"]
        dims = "x".join(str(d[k]) for k in "NGKCPQRS")
        p, s = lay["predicted"], lay["solver"]
        status = s["status"] + ("" if s["source"] == "solved" else f" ({s['source']})")
        lines.append(
            f"| {lay['name']} | {lay['op']} | {dims} | {p['latency_cycles']:,} | "
            f"{p['energy_pj']:.4g} | {p['utilization']:.2f} | {status} | "
            f"{s['gap']:.3f} | {s['time_s']:.2f} | `{lay['mapping']['text']}` |"
        )
    lines.append("")
    for f in plots:
        lines += [f"![{f}]({f})", ""]
    return "\n".join(lines)
