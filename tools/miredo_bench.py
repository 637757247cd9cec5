"""``miredo-bench``: per-layer MIREDO vs ws vs heuristic on a model and a hardware file.

```
miredo-bench --model resnet18 --arch table4 --objective edp --time-limit 30 -o bench.json
```
``--model`` is an ONNX file or a built-in model (resnet18, mobilenetv2,
resnet_block, mobilenet_block, transformer_block). Prints a per-layer table and
writes JSON. This is a benchmark, not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from miredo.tools.errors import run_reporting_errors
from miredo.tools.output import atomic_write_text

BUILTIN = (
    "resnet18",
    "mobilenetv2",
    "resnet_block",
    "mobilenet_block",
    "transformer_block",
)


def _layers(model: str):
    from miredo.dialects.nest import ContractOp
    from miredo.frontends import testmodels
    from miredo.frontends.onnx import import_onnx_file, import_onnx_model
    from miredo.passes.miredo_dataflow import layer_of

    if model in BUILTIN:
        module = import_onnx_model(getattr(testmodels, model)(), source=f"<{model}>")
    else:
        module = import_onnx_file(model)
    return [layer_of(op) for op in module.walk() if isinstance(op, ContractOp)]


def main(args: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="miredo-bench", description=__doc__.split("\n")[0])
    p.add_argument(
        "--model", required=True, help=f"an .onnx file or one of {', '.join(BUILTIN)}"
    )
    p.add_argument("--arch", default="table4", help="hardware name or YAML path")
    p.add_argument("--objective", default="edp", choices=["latency", "energy", "edp"])
    p.add_argument(
        "--time-limit", type=float, default=30.0, help="seconds per layer and mapper"
    )
    p.add_argument("--mappers", default="miredo,ws,heuristic")
    p.add_argument(
        "--solver", default="cpsat", choices=["cpsat", "highs"], help="MIP backend"
    )
    p.add_argument("--workers", type=int, default=2, help="solver threads")
    p.add_argument("-o", "--output", help="write JSON here")
    ns = p.parse_args(args)

    def body() -> None:
        from tqdm import tqdm

        from miredo.solver.benchmark import (
            distinct_layers,
            format_table,
            run_benchmark,
            totals,
        )
        from miredo.solver.hardware import load_arch

        arch = load_arch(ns.arch)
        layers = _layers(ns.model)
        mappers = [m.strip() for m in ns.mappers.split(",") if m.strip()]
        bar = tqdm(
            total=len(distinct_layers(layers)) * len(mappers),
            file=sys.stderr,
            unit="solve",
        )
        results = run_benchmark(
            layers,
            arch,
            objective=ns.objective,
            mappers=mappers,
            time_limit=ns.time_limit,
            workers=ns.workers,
            solver=ns.solver,
            progress=lambda _: bar.update(),
        )
        bar.close()
        print(format_table(results, mappers))
        tot = totals(results, mappers)
        for m in mappers:
            t = tot[m]
            print(
                f"total {m}: latency {t['latency']:.0f} cycles, energy {t['energy_pj']:.4g} pJ, "
                f"EDP {t['edp']:.4g}, solve {t['wall_s']:.1f} s"
            )
        print(f"sum of physical bounds: {tot['bound']['physical']:.0f} cycles")
        if ns.output:
            doc = {
                "model": ns.model,
                "arch": arch.name,
                "objective": ns.objective,
                "solver": ns.solver,
                "time_limit": ns.time_limit,
                "layers": [r.to_json() for r in results],
                "totals": tot,
            }
            atomic_write_text(ns.output, json.dumps(doc, indent=2))

    run_reporting_errors(body, tool="miredo-bench")


if __name__ == "__main__":
    main()
