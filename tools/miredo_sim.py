"""``miredo-sim``: run a compiled model (a ``miredo-compile`` output directory).

::

    miredo-sim OUTDIR --check [--seed 0]

``--check`` runs the functional simulator on seeded random inputs and compares
every output with ``onnx.reference.ReferenceEvaluator`` on the original model
(named in ``report.json``): exact for integers, relative tolerance 1e-4 for
floats. It prints the max absolute and relative error per output and exits 1 on
a mismatch.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from miredo.tools.errors import run_reporting_errors


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
        model = report["model_path"]
    except (ValueError, KeyError, TypeError) as e:
        raise MiredoError(f"malformed report: {e}", str(report_path)) from e
    module = Parser(full_context(), cim_path.read_text(), str(cim_path)).parse_module()
    module.verify()
    return module, report, model


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)

    def body() -> None:
        from miredo.errors import MiredoError
        from miredo.sim.check import FLOAT_RTOL, check_outputs

        if not args.check:
            raise MiredoError("nothing to do; pass --check", "miredo-sim")
        module, _, model = load_compiled(Path(args.outdir))
        checks = check_outputs(module, model, args.seed)
        bad = 0
        for c in checks:
            tol = "exact" if c.integer else f"rtol {FLOAT_RTOL:g}"
            verdict = "ok" if c.ok else "MISMATCH"
            print(
                f"{c.name}: max abs error {c.max_abs:.3e}, max rel error "
                f"{c.max_rel:.3e} ({tol}): {verdict}"
            )
            bad += not c.ok
        if bad:
            raise SystemExit(1)

    run_reporting_errors(body, "miredo-sim")


if __name__ == "__main__":
    main()
