"""``miredo-bench``'s outputs: the printed tables, ``summary.md`` and the figures.

Figures (matplotlib, Agg, PNG), all from simulated numbers:

* ``fig4a_pred_vs_sim.png``: per-layer predicted vs simulated latency of the
  reference mapper (miredo), with the average and worst accuracy in the title;
* ``fig4b_util_vs_edp.png``: simulated mean macro utilisation vs simulated EDP of
  every mapper on the representative layer;
* ``fig4c_speedup.png``: per-layer and overall (summed simulated latencies)
  speedup of the reference over every other mapper;
* ``fig5_edp_models.png`` / ``fig5_edp_hardware.png``: whole-model EDP reduction
  (EDP_baseline / EDP_miredo) across the models / hardware variants of a sweep.

`write_outputs` writes ``bench.json``, ``summary.md`` and the figures into a
directory, all or nothing (staged, then moved into place).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from miredo.tools.output import staged_directory

FIGURES = (
    "fig4a_pred_vs_sim.png",
    "fig4b_util_vs_edp.png",
    "fig4c_speedup.png",
    "fig5_edp_models.png",
    "fig5_edp_hardware.png",
)
"""Every figure file a benchmark may write."""


# --------------------------------------------------------------------------- #
# Tables and summary lines
# --------------------------------------------------------------------------- #


def _int(v: float | None) -> str:
    return "" if v is None else f"{v:,.0f}"


def _pct(v: float | None) -> str:
    return "" if v is None else f"{100 * v:.1f}%"


def _x(v: float | None) -> str:
    return "" if v is None else f"{v:.2f}x"


def _sci(v: float | None) -> str:
    return "" if v is None else f"{v:.3e}"


def layer_rows(doc: dict[str, Any]) -> list[list[str]]:
    """The per-layer table, one row per (layer, mapper), header first."""
    sim = doc["simulated"]
    head = ["layer", "MACs", "bound", "mapper", "predicted"]
    head += (
        ["simulated", "accuracy", "sim/bound", "EDP (sim)", "macro util"]
        if sim
        else ["pred/bound", "EDP (pred)"]
    )
    head += ["status", "gap", "solve s"]
    rows = [head]
    for lay in doc["layers"]:
        for i, m in enumerate(doc["mappers"]):
            r = lay["mappers"][m]
            p, s, sv = r["predicted"], r["simulated"], r["solver"]
            first = i == 0
            row = [
                lay["name"] if first else "",
                _int(lay["macs"]) if first else "",
                _int(lay["bound"]["physical"]) if first else "",
                m,
                _int(p["latency_cycles"]),
            ]
            bound = lay["bound"]["physical"]
            if sim:
                row += [
                    _int(s["latency_cycles"]),
                    _pct(r["accuracy"]),
                    _x(r["sim_over_bound"]),
                    _sci(s["edp"]),
                    f"{s['mean_macro_utilization']:.3f}",
                ]
            else:
                row += [
                    _x(p["latency_cycles"] / bound if bound else None),
                    _sci(p["edp"]),
                ]
            source = "" if sv["source"] == "solved" else f" ({sv['source']})"
            row += [sv["status"] + source, _pct(sv["gap"]), f"{sv['time_s']:.1f}"]
            rows.append(row)
    return rows


def sweep_rows(
    doc: dict[str, Any], entries: Sequence[dict[str, Any]]
) -> list[list[str]]:
    """A sweep's table: one row per point, header first."""
    ref = doc["reference"]
    others = [m for m in doc["mappers"] if m != ref]
    head = ["point", "arch", f"{ref} latency", f"{ref} EDP", "acc avg", "acc worst"]
    for b in others:
        head += [f"EDP {ref}/{b}", f"EDP red. vs {b}", f"speedup vs {b}"]
    rows = [head]
    for e in entries:
        t = e["mappers"][ref]
        acc = t["accuracy"] or {}
        label = e["label"] if e["family"] is None else f"{e['family']} {e['label']}"
        row = [
            label,
            e["arch"],
            _int(t["latency_cycles"]),
            _sci(t["edp"]),
            _pct(acc.get("mean")),
            _pct(acc.get("worst")),
        ]
        for b in others:
            row += [
                f"{e['edp_ratio'][b]:.3f}" if e["edp_ratio"][b] is not None else "",
                _x(e["edp_reduction"][b]),
                _x(e["speedup"][b]),
            ]
        rows.append(row)
    return rows


def format_text(rows: list[list[str]]) -> str:
    """Aligned columns (first left, the rest right) with a rule under the header."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]

    def line(r: list[str]) -> str:
        cells = [
            c.ljust(widths[i]) if i == 0 else c.rjust(widths[i])
            for i, c in enumerate(r)
        ]
        return "  ".join(cells).rstrip()

    out = [line(rows[0]), "  ".join("-" * w for w in widths)]
    return "\n".join(out + [line(r) for r in rows[1:]])


_TEXT_COLUMNS = frozenset({"layer", "mapper", "status", "point", "arch"})
"""Columns that hold text (left-aligned in markdown); the others hold numbers."""


def format_markdown(rows: list[list[str]]) -> str:
    """A markdown table (text columns left-aligned, numbers right-aligned)."""
    head = "| " + " | ".join(rows[0]) + " |"
    rule = "|" + "|".join("---" if h in _TEXT_COLUMNS else "---:" for h in rows[0])
    rule += "|"
    body = ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join([head, rule, *body])


def summary_lines(doc: dict[str, Any]) -> list[str]:
    """The closing numbers: accuracy, EDP ratios and speedups, latency vs bound."""
    s = doc["summary"]
    ref = s["reference"]
    kind = "simulated" if doc["simulated"] else "predicted"
    lines = []
    acc = s["accuracy"]
    if acc is not None:
        lines.append(
            f"accuracy of {ref} (1 - |pred - sim| / sim per layer): average "
            f"{_pct(acc['mean'])}, worst {_pct(acc['worst'])} ({acc['worst_layer']}); "
            f"summed latencies {_pct(acc['total'])}"
        )
    mve = s.get("mip_vs_evaluator")
    if mve is not None:
        lines.append(
            f"MIP objective vs evaluator on the MIPs' own incumbents: largest "
            f"relative difference {mve['max_error']:.2e} ({mve['worst']}) over "
            f"{mve['solves']} solves"
        )
    for b, ratio in s["edp_ratio"].items():
        lines.append(
            f"EDP ratio {ref}/{b} ({kind}, whole model): "
            + ("n/a" if ratio is None else f"{ratio:.3f}")
            + f" (EDP reduction {_x(s['edp_reduction'][b])}, speedup "
            f"{_x(s['speedup'][b])})"
        )
    lb = s["latency_vs_bound"]
    lines.append(
        f"sum of {kind} latencies ({ref}) {_int(lb['latency_cycles'])} cycles vs sum "
        f"of physical bounds {_int(lb['bound_cycles'])} cycles "
        f"({_x(lb['ratio'])} the bound)"
    )
    return lines


def sweep_summary_lines(doc: dict[str, Any], kind: str) -> list[str]:
    """One line per point of a sweep: the EDP ratios of the reference."""
    ref = doc["reference"]
    lines = []
    for e in doc.get("sweeps", {}).get(kind, []):
        label = e["label"] if e["family"] is None else f"{e['family']} {e['label']}"
        ratios = ", ".join(
            f"{ref}/{b} {r:.3f}" if r is not None else f"{ref}/{b} n/a"
            for b, r in e["edp_ratio"].items()
        )
        lines.append(f"EDP ratio on {label} ({e['arch']}): {ratios}")
    return lines


SWEEP_TITLES = {
    "models": "Model sweep (Fig. 5)",
    "hardware": "Hardware sweep (Fig. 5)",
}


def render_text(doc: dict[str, Any]) -> str:
    """What ``miredo-bench`` prints."""
    kind = "simulated" if doc["simulated"] else "predicted only (--no-sim)"
    parts = [
        f"{doc['model']} on {doc['arch']}: objective {doc['objective']}, "
        f"{kind}; latencies in cycles, bound = physical lower bound",
        format_text(layer_rows(doc)),
        "",
        *summary_lines(doc),
    ]
    for key, entries in doc.get("sweeps", {}).items():
        parts += ["", f"{SWEEP_TITLES[key]}: simulated, whole model", ""]
        parts += [format_text(sweep_rows(doc, entries)), ""]
        parts += sweep_summary_lines(doc, key)
    return "\n".join(parts)


def render_markdown(doc: dict[str, Any], figures: Sequence[str]) -> str:
    """``summary.md``."""
    kind = "simulated" if doc["simulated"] else "predicted only (`--no-sim`)"
    lines = [
        f"# miredo-bench: {doc['model']} on `{doc['arch']}`",
        "",
        f"Objective `{doc['objective']}`, solver `{doc['solver']}`, time limit "
        f"{doc['time_limit']} s per layer, mappers {', '.join(doc['mappers'])}; "
        f"numbers {kind}. Latencies in cycles, energies in pJ; *bound* is the "
        "physical lower bound (max of the compute and DRAM-compulsory bounds).",
        "",
        *(f"- {line}" for line in summary_lines(doc)),
        "",
        format_markdown(layer_rows(doc)),
        "",
    ]
    for key, entries in doc.get("sweeps", {}).items():
        lines += [f"## {SWEEP_TITLES[key]}", ""]
        lines += [format_markdown(sweep_rows(doc, entries)), ""]
    for f in figures:
        lines += [f"![{f}]({f})", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- #
# Figures
# --------------------------------------------------------------------------- #


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _plt().close(fig)


def _bars(ax: Any, groups: list[str], series: dict[str, list[float]]) -> None:
    import numpy as np

    n = max(len(series), 1)
    width = 0.8 / n
    x = np.arange(len(groups))
    for i, (label, values) in enumerate(series.items()):
        ax.bar(x + (i - (n - 1) / 2) * width, values, width, label=label)
    ax.set_xticks(x, groups, rotation=70, ha="right", fontsize=7)
    ax.margins(y=0.2)  # headroom for the legend
    ax.legend(fontsize=8, framealpha=0.8)


def _log_if_wide(ax: Any, values: Sequence[float]) -> None:
    pos = [v for v in values if v > 0]
    if pos and max(pos) / min(pos) > 100:
        ax.set_yscale("log")


def fig4a(doc: dict[str, Any], path: Path) -> None:
    """Per-layer predicted vs simulated latency of the reference mapper."""
    ref = doc["reference"]
    names = [lay["name"] for lay in doc["layers"]]
    rows = [lay["mappers"][ref] for lay in doc["layers"]]
    pred = [r["predicted"]["latency_cycles"] for r in rows]
    sim = [r["simulated"]["latency_cycles"] for r in rows]
    acc = doc["totals"][ref]["accuracy"] or {}
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(6.0, 0.4 * len(names) + 2), 4))
    _bars(ax, names, {"predicted (evaluator)": pred, "simulated (cim program)": sim})
    _log_if_wide(ax, pred + sim)
    ax.set_ylabel("latency (cycles)")
    ax.set_title(
        f"Fig. 4(a) {doc['model']} on {doc['arch']}, {ref}\naccuracy average "
        f"{_pct(acc.get('mean'))}, worst {_pct(acc.get('worst'))}",
        fontsize=9,
    )
    _save(fig, path)


def fig4b(doc: dict[str, Any], path: Path) -> None:
    """Macro utilisation vs EDP of every mapper on the representative layer."""
    name = doc["representative_layer"]
    lay = next(lay for lay in doc["layers"] if lay["name"] == name)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for m, marker in zip(doc["mappers"], "o^sDv", strict=False):
        s = lay["mappers"][m]["simulated"]
        u, edp = s["mean_macro_utilization"], s["edp"]
        ax.scatter(
            u, edp, s=70, marker=marker, alpha=0.7, label=f"{m} ({u:.3f}, {edp:.3g})"
        )
    ax.set_xlabel("mean macro utilisation (simulated)")
    ax.set_ylabel("EDP (cycles x pJ, simulated)")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    ax.set_title(f"Fig. 4(b) {doc['model']} layer {name} on {doc['arch']}", fontsize=9)
    _save(fig, path)


def fig4c(doc: dict[str, Any], path: Path) -> None:
    """Per-layer and overall simulated speedup of the reference over the others."""
    ref = doc["reference"]
    others = [m for m in doc["mappers"] if m != ref]
    names = [lay["name"] for lay in doc["layers"]] + ["overall"]
    series = {}
    for b in others:
        per = [
            lay["mappers"][b]["simulated"]["latency_cycles"]
            / lay["mappers"][ref]["simulated"]["latency_cycles"]
            for lay in doc["layers"]
        ]
        series[f"{ref} over {b}"] = [*per, doc["summary"]["speedup"][b] or 0.0]
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(6.0, 0.4 * len(names) + 2), 4))
    _bars(ax, names, series)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_ylabel("speedup (simulated latency ratio)")
    ax.set_title(
        f"Fig. 4(c) {doc['model']} on {doc['arch']}: speedup of {ref}", fontsize=9
    )
    _save(fig, path)


def fig5(
    doc: dict[str, Any], entries: Sequence[dict[str, Any]], title: str, path: Path
) -> None:
    """Whole-model EDP reduction of the reference over the others, per point."""
    ref = doc["reference"]
    others = [m for m in doc["mappers"] if m != ref]
    groups = [
        e["label"] if e["family"] is None else f"{e['family']}: {e['label']}"
        for e in entries
    ]
    series = {
        f"EDP_{b} / EDP_{ref}": [e["edp_reduction"][b] or 0.0 for e in entries]
        for b in others
    }
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(6.0, 0.6 * len(groups) + 2), 4))
    _bars(ax, groups, series)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_ylabel("EDP reduction (simulated, whole model)")
    ax.set_title(title, fontsize=9)
    _save(fig, path)


def write_figures(doc: dict[str, Any], outdir: Path) -> list[str]:
    """Every figure the document has the numbers for; returns the file names."""
    if not doc["simulated"] or not doc["layers"]:
        return []
    written = []
    fig4a(doc, outdir / FIGURES[0])
    fig4b(doc, outdir / FIGURES[1])
    written += FIGURES[:2]
    if len(doc["mappers"]) > 1:
        fig4c(doc, outdir / FIGURES[2])
        written.append(FIGURES[2])
        sweeps = doc.get("sweeps", {})
        if sweeps.get("models"):
            fig5(
                doc,
                sweeps["models"],
                f"Fig. 5 EDP reduction of {doc['reference']} across models",
                outdir / FIGURES[3],
            )
            written.append(FIGURES[3])
        if sweeps.get("hardware"):
            fig5(
                doc,
                sweeps["hardware"],
                f"Fig. 5 EDP reduction of {doc['reference']} across hardware "
                f"({doc['model']})",
                outdir / FIGURES[4],
            )
            written.append(FIGURES[4])
    return written


# --------------------------------------------------------------------------- #
# Output directory
# --------------------------------------------------------------------------- #


def write_outputs(doc: dict[str, Any], outdir: str | os.PathLike[str]) -> list[Path]:
    """Write ``bench.json``, ``summary.md`` and the figures into ``outdir``
    (created if needed), all or nothing: everything is written into a staging
    directory inside it first and moved into place once complete."""
    with staged_directory(outdir, ".miredo-bench-") as (stage, written):
        (stage / "bench.json").write_text(json.dumps(doc, indent=2) + "\n")
        figures = write_figures(doc, stage)
        (stage / "summary.md").write_text(render_markdown(doc, figures))
    return written
