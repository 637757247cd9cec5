"""``miredo-sim``: run a compiled model (a ``miredo-compile`` output directory).

::

    miredo-sim OUTDIR [--check [--seed 0]] [--timing [--arch A] [--window 64] [--burst 8]]

``--check`` runs the functional simulator on seeded random inputs and compares
every output with ``onnx.reference.ReferenceEvaluator`` on the original model
(named in ``report.json``): exact for integers, relative tolerance 1e-4 for
floats. It prints the max absolute and relative error per output and exits 1 on
a mismatch.

``--timing`` runs the cycle-level timing simulator (`miredo.sim.timing`) on every
``cim.program`` of the module, in launch order, on the hardware the model was
compiled for (``report.json``'s ``arch``, a shipped name; ``--arch`` names a
shipped description or a YAML path instead, e.g. for a description that is not
shipped or a what-if variant). It prints one row per program (latency, energy,
EDP, stall cycles by cause, mean macro utilisation) and the totals; for a
contraction (a program named like a layer of the report) also the latency the
analytical model predicted and the accuracy ``1 - |pred - sim| / sim``. It adds
a ``timing`` section to ``report.json``::

    {"arch", "window", "burst", "programs": [{<TimingReport.to_json()>,
      "predicted_latency_cycles", "accuracy"}], "totals": {"programs",
      "latency_cycles", "energy_pj", "edp", "instructions", "stall_cycles",
      "predicted_latency_cycles", "simulated_contraction_latency_cycles",
      "accuracy", "seconds"}}

Programs run one after the other: total latency and energy are sums, the total
EDP their product. Both options may be given; the exit status is 1 when the check
fails.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from miredo.tools.errors import one_line_usage_errors, run_reporting_errors


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="miredo-sim", description="Simulate a miredo-compile output directory."
    )
    p.add_argument("outdir", help="the miredo-compile output directory")
    p.add_argument(
        "--check",
        action="store_true",
        help="compare the outputs with onnx.reference on random inputs",
    )
    p.add_argument("--seed", type=int, default=0, help="input seed (default: 0)")
    p.add_argument(
        "--timing",
        action="store_true",
        help="run the cycle-level timing simulator; adds 'timing' to report.json",
    )
    p.add_argument(
        "--arch",
        default=None,
        help="hardware for --timing: a shipped name or a YAML path (default: the "
        "report's arch)",
    )
    p.add_argument(
        "--window",
        type=int,
        default=None,
        help="--timing: in-flight instructions per stream (default: 64)",
    )
    p.add_argument(
        "--burst",
        type=int,
        default=None,
        help="--timing: cycles per burst when streams share a port (default: 8)",
    )
    return p


def load_compiled(outdir: Path):
    """The lowered module and report of an output directory."""
    from xdsl.parser import Parser

    from miredo.errors import MiredoError
    from miredo.tools.context import full_context

    report_path, cim_path = outdir / "report.json", outdir / "cim.mlir"
    for f in (report_path, cim_path):
        if not f.is_file():
            raise MiredoError(
                "missing; is this a miredo-compile output directory?", str(f)
            )
    try:
        report = json.loads(report_path.read_text())
    except (ValueError, UnicodeDecodeError) as e:
        raise MiredoError(f"malformed report: {e}", str(report_path)) from e
    if not isinstance(report, dict):
        raise MiredoError("malformed report: expected a JSON object", str(report_path))
    model = report.get("model_path")
    if not isinstance(model, str) or not model:
        raise MiredoError(
            "malformed report: 'model_path' must name the source model",
            str(report_path),
        )
    try:
        text = cim_path.read_text()
    except UnicodeDecodeError as e:
        raise MiredoError("not a text file (MLIR expected)", str(cim_path)) from e
    module = Parser(full_context(), text, str(cim_path)).parse_module()
    module.verify()
    return module, report, model


def require_host(module, outdir: Path) -> None:
    """``--check`` runs the host function: it must be there."""
    from miredo.errors import MiredoError

    if not any(op.name == "func.func" for op in module.ops):
        raise MiredoError(
            "holds no host function (func.func); is it a miredo-compile output?",
            str(outdir / "cim.mlir"),
        )


def _load_arch(name: str | None, report: dict[str, Any], report_path: Path):
    from miredo.errors import MiredoError
    from miredo.solver.hardware import PACKAGED, load_arch

    if name is not None:
        return load_arch(name)
    recorded = report.get("arch")
    if not isinstance(recorded, str):
        raise MiredoError("malformed report: no 'arch'", str(report_path))
    if recorded not in PACKAGED:
        raise MiredoError(
            f"the model was compiled for arch '{recorded}', which is not a shipped "
            f"description ({', '.join(PACKAGED)}); pass its YAML with --arch",
            str(report_path),
        )
    return load_arch(recorded)


def _fmt_int(v: float) -> str:
    return f"{v:,.0f}"


def _fmt_sci(v: float) -> str:
    return f"{v:.3e}"


_COLUMNS = (
    "program",
    "instrs",
    "latency",
    "predicted",
    "accuracy",
    "energy_pJ",
    "EDP",
    "raw",
    "war",
    "port",
    "mode",
    "barrier",
    "recv",
    "macro_util",
)


def _print_table(rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for k, r in enumerate(rows):
        cells = [
            c.ljust(widths[i]) if i == 0 else c.rjust(widths[i])
            for i, c in enumerate(r)
        ]
        print("  ".join(cells).rstrip())
        if k == 0 or k == len(rows) - 2:
            print("  ".join("-" * w for w in widths))


def run_timing(
    module: Any,
    report: dict[str, Any],
    report_path: Path,
    arch_name: str | None,
    window: int | None,
    burst: int | None = None,
) -> dict[str, Any]:
    """Simulate every program and print the table; returns the ``timing`` section."""
    from miredo.errors import MiredoError
    from miredo.sim.timing import (
        DEFAULT_BURST,
        DEFAULT_WINDOW,
        STALL_CAUSES,
        iter_programs,
        simulate_timing,
    )

    arch = _load_arch(arch_name, report, report_path)
    window = DEFAULT_WINDOW if window is None else window
    burst = DEFAULT_BURST if burst is None else burst
    layers = report.get("layers")
    if not isinstance(layers, list):
        raise MiredoError("malformed report: no 'layers' list", str(report_path))
    predicted: dict[str, int] = {}
    for layer in layers:
        try:
            predicted[layer["name"]] = int(layer["predicted"]["latency_cycles"])
        except (KeyError, TypeError, ValueError) as e:
            raise MiredoError(
                f"malformed report: layer without a predicted latency ({e})",
                str(report_path),
            ) from e
    programs: list[dict[str, Any]] = []
    rows = [list(_COLUMNS)]
    total_lat = total_instr = 0
    total_energy = seconds = 0.0
    total_stalls = dict.fromkeys(STALL_CAUSES, 0)
    pred_total = sim_contr = 0
    for program in iter_programs(module):
        r = simulate_timing(program, arch, window=window, burst=burst)
        entry = r.to_json()
        pred = predicted.get(r.program)
        acc = None
        if pred is not None:
            acc = 1 - abs(pred - r.latency) / r.latency if r.latency else None
            entry["predicted_latency_cycles"] = pred
            entry["accuracy"] = acc
            pred_total += pred
            sim_contr += r.latency
        programs.append(entry)
        total_lat += r.latency
        total_energy += r.energy
        total_instr += r.instructions
        seconds += r.seconds
        for c in STALL_CAUSES:
            total_stalls[c] += r.stalls[c]
        rows.append(
            [
                r.program,
                _fmt_int(r.instructions),
                _fmt_int(r.latency),
                "" if pred is None else _fmt_int(pred),
                "" if acc is None else f"{acc:.3f}",
                _fmt_sci(r.energy),
                _fmt_sci(r.edp),
                *(_fmt_int(r.stalls[c]) for c in STALL_CAUSES),
                f"{r.mean_macro_utilization:.3f}",
            ]
        )
    total_acc = 1 - abs(pred_total - sim_contr) / sim_contr if sim_contr else None
    rows.append(
        [
            f"total ({len(programs)} programs)",
            _fmt_int(total_instr),
            _fmt_int(total_lat),
            _fmt_int(pred_total) if pred_total else "",
            "" if total_acc is None else f"{total_acc:.3f}",
            _fmt_sci(total_energy),
            _fmt_sci(total_lat * total_energy),
            *(_fmt_int(total_stalls[c]) for c in STALL_CAUSES),
            "",
        ]
    )
    print(
        f"timing on {arch.name} (window {window}, burst {burst}); latencies in cycles"
    )
    _print_table(rows)
    rate = total_instr / seconds if seconds else 0.0
    print(f"simulated {total_instr:,} instructions in {seconds:.2f} s ({rate:,.0f}/s)")
    if sim_contr:
        print(
            f"contractions: simulated {sim_contr:,} cycles, predicted "
            f"{pred_total:,} (accuracy {total_acc:.3f})"
        )
    return {
        "arch": arch.name,
        "window": window,
        "burst": burst,
        "programs": programs,
        "totals": {
            "programs": len(programs),
            "latency_cycles": total_lat,
            "energy_pj": total_energy,
            "edp": total_lat * total_energy,
            "instructions": total_instr,
            "stall_cycles": total_stalls,
            "predicted_latency_cycles": pred_total,
            "simulated_contraction_latency_cycles": sim_contr,
            "accuracy": total_acc,
            "seconds": seconds,
        },
    }


def main(argv: Sequence[str] | None = None) -> None:
    args = one_line_usage_errors(_parser()).parse_args(argv)

    def body() -> None:
        from miredo.errors import MiredoError
        from miredo.tools.output import atomic_write_text

        if not (args.check or args.timing):
            raise MiredoError("nothing to do; pass --check and/or --timing")
        for opt in ("window", "burst"):
            v = getattr(args, opt)
            if v is not None and v < 1:
                raise MiredoError(f"must be >= 1, got {v}", f"--{opt}")
        outdir = Path(args.outdir)
        module, report, model = load_compiled(outdir)
        bad = 0
        if args.check:
            from miredo.sim.check import FLOAT_RTOL, check_outputs

            require_host(module, outdir)
            checks = check_outputs(module, model, args.seed)
            for c in checks:
                tol = "exact" if c.integer else f"rtol {FLOAT_RTOL:g}"
                verdict = "ok" if c.ok else "MISMATCH"
                print(
                    f"{c.name}: max abs error {c.max_abs:.3e}, max rel error "
                    f"{c.max_rel:.3e} ({tol}): {verdict}"
                )
                bad += not c.ok
        if args.timing:
            report_path = outdir / "report.json"
            report["timing"] = run_timing(
                module, report, report_path, args.arch, args.window, args.burst
            )
            atomic_write_text(report_path, json.dumps(report, indent=2) + "\n")
        if bad:
            raise SystemExit(1)

    run_reporting_errors(body, "miredo-sim")


if __name__ == "__main__":
    main()
