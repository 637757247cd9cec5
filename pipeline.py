"""The end-to-end compile: ONNX -> ``nest`` -> MIREDO dataflow -> ``cim`` -> outputs.

:func:`compile_model` runs the stages in memory; :func:`write_outputs` writes the
results into an output directory, all or nothing: every file is written into a
staging directory first and moved into place only once all of them exist.

Files written (see ``README.md``): ``nest.mlir``, ``annotated.mlir``,
``cim.mlir``, ``program.json``, ``program.s``, ``report.json``, ``report.md``
and the plots ``latency.png`` and ``energy.png`` used by the markdown report.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, StringAttr

from miredo.solver.hardware import Arch
from miredo.solver.mip import Solution
from miredo.tools.output import staged_directory


@dataclass(frozen=True)
class CompileOptions:
    """Options of :func:`compile_model` (those of ``miredo-dataflow``)."""

    arch: str = "table4"
    objective: str = "edp"
    mapper: str = "miredo"
    solver: str = "cpsat"
    time_limit: float = 30
    workers: int = 2
    gap_limit: float = 0.01
    jobs: int = 1
    """Layers solved in parallel (local processes)."""
    scheduler: str | None = None
    """A Dask scheduler address (``tcp://host:port``) to solve on instead."""
    cache: str | None = "default"
    """Solution cache: ``default`` (user cache dir), a path, or ``None`` (off)."""
    deterministic: bool = False
    """Reproducible CP-SAT solves (a deterministic work limit, one thread)."""


@dataclass
class CompileResult:
    """Everything a compile produced."""

    model: str
    arch: Arch
    options: CompileOptions
    nest_text: str
    annotated_text: str
    module: ModuleOp | None
    """The lowered module (host function + programs); ``None`` when the lowered
    outputs came from the cache (see :meth:`lowered`)."""
    outputs: dict[str, str] = field(default_factory=dict)
    """``cim.mlir``, ``program.s`` and ``program.json`` (structured encoding)."""
    solutions: list[tuple[str, str, Solution, str]] = field(default_factory=list)
    """(node, op kind, solution, source) per contraction; source is ``solved``,
    ``cache`` or ``reused`` (an identical layer of the same model)."""
    simd_ops: list[tuple[str, str]] = field(default_factory=list)
    """(node, op name) of every op lowered to the SIMD units."""
    times: dict[str, float] = field(default_factory=dict)
    """Wall time of each stage in seconds."""

    def lowered(self) -> ModuleOp:
        """The lowered module (parsed from ``cim.mlir`` when it came from the cache)."""
        if self.module is None:
            from xdsl.parser import Parser

            from miredo.tools.context import full_context

            self.module = Parser(
                full_context(), self.outputs["cim.mlir"]
            ).parse_module()
        return self.module


def compile_model(
    model: str | os.PathLike[str],
    options: CompileOptions,
    *,
    on_layer: Callable[[str, Solution, str], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> CompileResult:
    """Import, map, annotate and lower ``model``.

    ``on_start(n)`` is called with the number of contractions before solving and
    ``on_layer(node, solution, source)`` after each one (progress reporting).
    """
    from miredo.dialects import nest
    from miredo.frontends.onnx import import_onnx_file
    from miredo.solver.hardware import load_arch

    times: dict[str, float] = {}
    arch = load_arch(options.arch)
    t0 = time.perf_counter()
    module = import_onnx_file(str(model))
    # by-name weights must resolve wherever the outputs are used from
    module.attributes["nest.source"] = StringAttr(str(Path(model).resolve()))
    nest_text = str(module)
    times["import"] = time.perf_counter() - t0

    contracts = [o for o in module.walk() if isinstance(o, nest.ContractOp)]
    simd_ops = [
        (o.node.data, o.name)
        for o in module.walk()
        if isinstance(
            o,
            nest.ElementwiseOp
            | nest.PoolOp
            | nest.SoftmaxOp
            | nest.LayerNormOp
            | nest.ReduceOp,
        )
    ]
    if on_start is not None:
        on_start(len(contracts))
    t0 = time.perf_counter()

    def layer_done(op: nest.ContractOp, sol: Solution, source: str) -> None:
        if on_layer is not None:
            on_layer(op.node.data, sol, source)

    from miredo.solver.cache import SolutionCache

    cache = None
    if options.cache is not None:
        cache = SolutionCache(None if options.cache == "default" else options.cache)
    try:
        return _annotate_and_lower(
            module, model, arch, options, cache, nest_text, simd_ops, times, layer_done
        )
    finally:
        if cache is not None:
            cache.close()


def _annotate_and_lower(
    module: ModuleOp,
    model: str | os.PathLike[str],
    arch: Arch,
    options: CompileOptions,
    cache,
    nest_text: str,
    simd_ops: list[tuple[str, str]],
    times: dict[str, float],
    layer_done,
) -> CompileResult:
    from io import StringIO

    from miredo.passes.convert_nest_to_cim import ConvertNestToCimPass
    from miredo.passes.miredo_dataflow import annotate
    from miredo.solver.cache import artifact_key
    from miredo.tools.cim_emit import emit

    t0 = time.perf_counter()
    solved = annotate(
        module,
        arch,
        objective=options.objective,
        mapper=options.mapper,
        solver=options.solver,
        time_limit=options.time_limit,
        workers=options.workers,
        gap_limit=options.gap_limit,
        jobs=options.jobs,
        scheduler=options.scheduler,
        cache=cache,
        deterministic=options.deterministic,
        on_layer=layer_done,
    )
    times["dataflow"] = time.perf_counter() - t0
    annotated_text = str(module)

    t0 = time.perf_counter()
    key = artifact_key(annotated_text, arch)
    outputs = cache.get_artifacts(key) if cache is not None else None
    lowered: ModuleOp | None = None
    if outputs is None:
        ConvertNestToCimPass(arch=options.arch).apply(Context(), module)
        module.verify()
        lowered = module
        times["lower"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        outputs = {"cim.mlir": str(module) + "\n"}
        for name, fmt in (("program.s", "asm-loops"), ("program.json", "json-loops")):
            buf = StringIO()
            emit(module, fmt, buf)
            outputs[name] = buf.getvalue()
        times["emit"] = time.perf_counter() - t0
        if cache is not None:
            cache.put_artifacts(key, outputs)
    else:
        times["lower"] = time.perf_counter() - t0
    return CompileResult(
        model=str(model),
        arch=arch,
        options=options,
        nest_text=nest_text,
        annotated_text=annotated_text,
        module=lowered,
        outputs=outputs,
        solutions=[(op.node.data, op.kind.data, sol, src) for op, sol, src in solved],
        simd_ops=simd_ops,
        times=times,
    )


# --------------------------------------------------------------------------- #
# Output directory
# --------------------------------------------------------------------------- #


def write_outputs(
    result: CompileResult, outdir: str | os.PathLike[str], *, flat: bool = False
) -> list[Path]:
    """Write all outputs into ``outdir`` (created if needed), all or nothing.

    ``program.s``/``program.json`` use the structured encoding (loops kept,
    ``--emit=asm-loops|json-loops``) unless ``flat`` (every dynamic instruction
    on its own line: large for real models)."""
    from miredo.report import build_report, render_markdown, write_plots
    from miredo.tools.cim_emit import emit

    with staged_directory(outdir, ".miredo-") as (stage, written):
        (stage / "nest.mlir").write_text(result.nest_text)
        (stage / "annotated.mlir").write_text(result.annotated_text)
        for name, text in result.outputs.items():
            (stage / name).write_text(text)
        if flat:
            t0 = time.perf_counter()
            for name, fmt in (("program.s", "asm"), ("program.json", "json")):
                with open(stage / name, "w") as f:
                    emit(result.lowered(), fmt, f)
            result.times["emit"] = time.perf_counter() - t0
        report = build_report(result)
        import json

        (stage / "report.json").write_text(json.dumps(report, indent=2) + "\n")
        plots = write_plots(report, stage)
        (stage / "report.md").write_text(render_markdown(report, plots))
    return written


def report_of(result: CompileResult) -> dict[str, Any]:
    """The ``report.json`` content of a compile (see :mod:`miredo.report`)."""
    from miredo.report import build_report

    return build_report(result)
