"""``miredo-bench``: the paper's §V on any model and hardware, with simulated numbers.

```
miredo-bench --model resnet18 --arch table4 --time-limit 30 -o OUTDIR
    [--mappers miredo,ws,heuristic] [--objective edp] [--solver cpsat|highs]
    [--no-sim] [--layer NAME] [--resolution N]
    [--sweep models,hardware [--sweep-models LIST] [--cores LIST]
     [--macro-shapes LIST] [--buffer-scales LIST] [--procs N]]
```
``--model`` is an ONNX file or a built-in model (see ``BUILTIN``). For every
mapper the model is compiled and the program of every contraction is run on the
cycle-level timing simulator (`miredo.bench`); the tool prints one row per layer
and mapper (predicted and simulated latency, accuracy, physical bound, simulated
/ bound, simulated EDP, utilisation, solve status) and the closing summary, and
writes ``bench.json``, ``summary.md`` and the Fig. 4/5 plots into ``OUTDIR``
(`miredo.bench_report`). ``--sweep`` adds Fig. 5's model and hardware sweeps
(`miredo.bench_sweep`), run on a process pool. This is a benchmark, not a test:
it prints figures.
"""

from __future__ import annotations

import argparse
import inspect
import sys
import tempfile
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

from miredo.tools.errors import one_line_usage_errors, run_reporting_errors
from miredo.tools.solve_options import add_solve_options, solve_options

BUILTIN = (
    "resnet18",
    "mobilenetv2",
    "efficientnet_b0",
    "vgg",
    "resnet_block",
    "mobilenet_block",
    "transformer_block",
    "bert_base_block",
)
"""Models built in code (`miredo.frontends.testmodels`)."""

SWEEP_MODELS = (
    "resnet18",
    "mobilenetv2",
    "efficientnet_b0",
    "vgg",
    "bert_base_block",
)
"""The models of Fig. 5's model sweep."""

MAPPERS = ("miredo", "ws", "heuristic")
SWEEPS = ("models", "hardware")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="miredo-bench",
        description="Benchmark miredo against the ws and heuristic mappers with "
        "simulated latency and energy (the paper's Fig. 4 and 5).",
    )
    p.add_argument(
        "--model", required=True, help=f"an .onnx file or one of {', '.join(BUILTIN)}"
    )
    p.add_argument("--arch", default="table4", help="hardware name or YAML path")
    p.add_argument(
        "--mappers",
        default=",".join(MAPPERS),
        help="comma-separated mappers to compare (default: miredo,ws,heuristic)",
    )
    add_solve_options(p)
    p.add_argument(
        "-o",
        "--output",
        metavar="OUTDIR",
        help="write bench.json, summary.md and the figures here (a path ending in "
        ".json writes only the JSON)",
    )
    p.add_argument(
        "--sim",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="simulate the lowered programs (default); --no-sim reports the "
        "evaluator's predictions only and draws no figures",
    )
    p.add_argument(
        "--layer",
        help="representative layer of Fig. 4(b) (default: the most MACs)",
    )
    p.add_argument(
        "--resolution",
        type=int,
        default=None,
        help="input height and width of the built-in ImageNet models (default 224)",
    )
    p.add_argument(
        "--sweep",
        default="",
        help="comma-separated sweeps for Fig. 5: models, hardware (slow)",
    )
    p.add_argument(
        "--sweep-models",
        default=",".join(SWEEP_MODELS),
        help="models of the model sweep (built-in names or .onnx files)",
    )
    p.add_argument(
        "--cores", default="2,4,8,16", help="core counts of the hardware sweep"
    )
    p.add_argument(
        "--macro-shapes",
        default=None,
        help="macro ROWSxCOLS list of the hardware sweep (default: half/base/double "
        "rows at the same cell count)",
    )
    p.add_argument(
        "--buffer-scales",
        default="1/4,1,4",
        help="local-buffer capacity factors of the hardware sweep",
    )
    p.add_argument(
        "--procs", type=int, default=2, help="sweep compiles run in parallel"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return p


def _list(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


def _parse_list(text: str, option: str, parse: Any) -> list[Any]:
    from miredo.errors import MiredoError

    try:
        return [parse(s) for s in _list(text)]
    except (ValueError, ZeroDivisionError) as e:
        raise MiredoError(f"cannot parse '{text}': {e}", option) from None


def _shape(text: str) -> tuple[int, int]:
    rows, sep, cols = text.lower().partition("x")
    if not sep:
        raise ValueError(f"expected ROWSxCOLS, got '{text}'")
    return int(rows), int(cols)


def _model_file(model: str, resolution: int | None, directory: Path) -> str:
    """An ONNX file for ``model``: a built-in one is written into ``directory``."""
    from miredo.errors import MiredoError

    if model not in BUILTIN:
        if not Path(model).is_file():
            raise MiredoError(
                f"no such model file; give an .onnx path or one of {', '.join(BUILTIN)}",
                model,
            )
        return model
    import onnx

    from miredo.frontends import testmodels

    builder = getattr(testmodels, model)
    kwargs = {}
    if resolution is not None and "size" in inspect.signature(builder).parameters:
        kwargs["size"] = resolution
    path = directory / f"{model}.onnx"
    if not path.exists():
        onnx.save(builder(**kwargs), path)
    return str(path)


def _check_options(ns: argparse.Namespace) -> tuple[list[str], list[str]]:
    from miredo.errors import MiredoError

    mappers = _list(ns.mappers)
    bad = [m for m in mappers if m not in MAPPERS]
    if not mappers or bad or len(set(mappers)) != len(mappers):
        raise MiredoError(
            f"expected distinct mappers among {', '.join(MAPPERS)}, got '{ns.mappers}'",
            "--mappers",
        )
    sweeps = _list(ns.sweep)
    if any(s not in SWEEPS for s in sweeps):
        raise MiredoError(
            f"expected sweeps among {', '.join(SWEEPS)}, got '{ns.sweep}'", "--sweep"
        )
    if sweeps and not ns.sim:
        raise MiredoError(
            "the sweeps report simulated numbers; drop --no-sim", "--sweep"
        )
    if ns.procs < 1:
        raise MiredoError(f"must be >= 1, got {ns.procs}", "--procs")
    if ns.resolution is not None and ns.resolution < 32:
        raise MiredoError(f"must be >= 32, got {ns.resolution}", "--resolution")
    return mappers, sweeps


def _sweeps(
    ns: argparse.Namespace,
    doc: dict[str, Any],
    runs: list[Any],
    model_path: str,
    options: Any,
    mappers: list[str],
    sweeps: list[str],
    tmp: Path,
) -> dict[str, list[dict[str, Any]]]:
    from dataclasses import replace

    from tqdm import tqdm

    from miredo.bench_sweep import Point, hardware_points, run_points
    from miredo.solver.hardware import load_arch
    from miredo.solver.variants import hardware_variants

    known = {(model_path, ns.arch, r.mapper): r for r in runs}
    # one solver thread per compile when several run at once
    opts = replace(options, jobs=1, workers=1 if ns.procs > 1 else options.workers)
    out: dict[str, list[dict[str, Any]]] = {}
    for kind in (k for k in SWEEPS if k in sweeps):
        if kind == "models":
            points = [
                Point(m, _model_file(m, ns.resolution, tmp), ns.arch, None, m)
                for m in _list(ns.sweep_models)
            ]
        else:
            base = load_arch(ns.arch)
            variants = hardware_variants(
                base,
                macro_shapes=None
                if ns.macro_shapes is None
                else _parse_list(ns.macro_shapes, "--macro-shapes", _shape),
                cores=_parse_list(ns.cores, "--cores", int),
                buffer_scales=_parse_list(
                    ns.buffer_scales, "--buffer-scales", Fraction
                ),
            )
            points = hardware_points(
                doc["model"], model_path, ns.arch, base, variants, tmp
            )
        bar = tqdm(
            total=0,
            unit="compile",
            disable=ns.quiet or None,
            file=sys.stderr,
            desc=f"{kind} sweep",
        )

        def on_total(n: int, bar: Any = bar) -> None:
            bar.total = n
            bar.refresh()

        try:
            out[kind] = run_points(
                points,
                mappers,
                opts,
                procs=ns.procs,
                known=known,
                on_total=on_total,
                on_done=lambda _key, bar=bar: bar.update(),
            )
        finally:
            bar.close()
    return out


def main(args: Sequence[str] | None = None) -> None:
    ns = one_line_usage_errors(_parser()).parse_args(args)

    def body() -> None:
        from tqdm import tqdm

        from miredo.bench import benchmark
        from miredo.bench_report import render_text, write_outputs
        from miredo.pipeline import CompileOptions
        from miredo.tools.output import atomic_write_text

        solve = solve_options(ns)
        mappers, sweeps = _check_options(ns)
        with tempfile.TemporaryDirectory(prefix="miredo-bench-") as tmpdir:
            tmp = Path(tmpdir)
            model_path = _model_file(ns.model, ns.resolution, tmp)
            options = CompileOptions(arch=ns.arch, **solve)
            bar = tqdm(total=0, unit="layer", disable=ns.quiet or None, file=sys.stderr)

            def on_start(n: int) -> None:
                bar.total += n
                bar.refresh()

            try:
                doc, runs = benchmark(
                    model_path,
                    ns.model,
                    options,
                    mappers,
                    simulate=ns.sim,
                    layer=ns.layer,
                    on_start=on_start,
                    on_layer=lambda *_: bar.update(),
                )
            finally:
                bar.close()
            if sweeps:
                doc["sweeps"] = _sweeps(
                    ns, doc, runs, model_path, options, mappers, sweeps, tmp
                )
        print(render_text(doc))
        if ns.output:
            if ns.output.endswith(".json"):
                import json

                atomic_write_text(ns.output, json.dumps(doc, indent=2) + "\n")
            else:
                write_outputs(doc, ns.output)

    run_reporting_errors(body, tool="miredo-bench")


if __name__ == "__main__":
    main()
