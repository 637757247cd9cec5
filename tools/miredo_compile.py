"""``miredo-compile``: ONNX model -> MIREDO-mapped CIM program, reports and plots.

::

    miredo-compile model.onnx --arch table4 -o OUTDIR [--objective edp]
        [--mapper miredo|ws|heuristic] [--time-limit 30] [--solver cpsat|highs]

writes ``nest.mlir``, ``annotated.mlir``, ``cim.mlir``, ``program.json``,
``program.s``, ``report.json``, ``report.md`` and plots into ``OUTDIR`` (all or
nothing) and shows a progress bar over the layers on a terminal.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from miredo.tools.errors import one_line_usage_errors, run_reporting_errors
from miredo.tools.solve_options import add_solve_options, solve_options


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="miredo-compile",
        description="Compile an ONNX model for a CIM accelerator with MIREDO dataflows.",
    )
    p.add_argument("model", help="the ONNX model")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUTDIR",
        help="output directory (created if missing)",
    )
    p.add_argument(
        "--arch",
        default="table4",
        help="shipped hardware name (table4, miredo-ref, small, tiny) or a "
        "YAML path (default: table4)",
    )
    p.add_argument("--mapper", default="miredo", choices=("miredo", "ws", "heuristic"))
    add_solve_options(p)
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="tcp://HOST:PORT",
        help="solve on this Dask distributed scheduler (needs miredo[dask])",
    )
    p.add_argument(
        "--flat-program",
        action="store_true",
        help="write program.s/program.json with every dynamic instruction "
        "on its own line (default: the structured encoding, loops kept)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: Sequence[str] | None = None) -> None:
    args = one_line_usage_errors(_parser()).parse_args(argv)

    def body() -> None:
        from tqdm import tqdm

        from miredo.pipeline import CompileOptions, compile_model, write_outputs

        solve = solve_options(args)
        start = time.perf_counter()
        bar: list[tqdm] = []

        def on_start(n: int) -> None:
            bar.append(
                tqdm(total=n, unit="layer", disable=args.quiet or None, file=sys.stderr)
            )

        def on_layer(node: str, sol, source: str) -> None:
            bar[0].set_postfix_str(
                f"{node} {sol.status if source == 'solved' else source}"
            )
            bar[0].update()

        options = CompileOptions(
            arch=args.arch, mapper=args.mapper, scheduler=args.scheduler, **solve
        )
        try:
            result = compile_model(
                args.model, options, on_layer=on_layer, on_start=on_start
            )
        finally:
            if bar:
                bar[0].close()
        write_outputs(result, args.output, flat=args.flat_program)
        totals = result.solutions and sum(
            s.cost.latency for _, _, s, _ in result.solutions
        )
        print(
            f"miredo-compile: {len(result.solutions)} contractions, "
            f"{len(result.simd_ops)} SIMD ops, predicted latency {totals:,} cycles; "
            f"wrote {args.output} in {time.perf_counter() - start:.1f} s"
        )

    run_reporting_errors(body, "miredo-compile")


if __name__ == "__main__":
    main()
