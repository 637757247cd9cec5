"""Fig. 5's sweeps: every mapper's whole-model EDP across models and hardware.

A sweep is a list of `Point` s, each a (model, hardware) pair. Every (point,
mapper) pair is one full compile and simulation (`miredo.bench.run_mapper`), an
independent task run on a local process pool (``spawn`` context, ``procs``
processes, one layer at a time in each); runs the caller already has (the main
benchmark's, or a variant equal to the base hardware) are reused, not repeated.
Hardware variants (`miredo.solver.variants`) are written as YAML files into a
directory the caller owns, since a compile names its hardware by file.

Each point gives one entry of ``bench.json``'s ``sweeps``::

    {"model", "arch", "family", "label",
     "mappers": {mapper: <miredo.bench.totals>},
     "bound": {"compute", "dram", "physical"},
     "speedup": {baseline: x}, "edp_reduction": {baseline: x},
     "edp_ratio": {baseline: x}}

``family`` is ``null`` for a model sweep and the variant family (``macro``,
``cores``, ``local buffer``) for a hardware sweep; ``edp_reduction`` is
EDP_baseline / EDP_miredo, simulated, whole model.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from miredo.bench import MapperRun, combine, compare, model_totals, run_mapper
from miredo.errors import MiredoError
from miredo.pipeline import CompileOptions
from miredo.solver.hardware import Arch
from miredo.solver.variants import Variant

RunKey = tuple[str, str, str]
"""(model path, hardware name or path, mapper): one compile."""


@dataclass(frozen=True)
class Point:
    """One (model, hardware) pair of a sweep."""

    model: str
    """The model as shown (a built-in name or a file)."""
    model_path: str
    """The ONNX file compiled."""
    arch: str
    """The hardware as `CompileOptions.arch` takes it: a shipped name or a path."""
    family: str | None = None
    """The hardware variant family; ``None`` in a model sweep."""
    label: str = ""
    """What the point shows on a plot."""


@dataclass(frozen=True)
class _Failure:
    message: str
    where: str | None


def write_arch(arch: Arch, directory: Path) -> str:
    """Write ``arch`` as ``<directory>/<name>.yaml``; returns the path."""
    import yaml

    path = directory / f"{arch.name}.yaml"
    path.write_text(yaml.safe_dump(arch.model_dump(mode="json"), sort_keys=False))
    return str(path)


def hardware_points(
    model: str,
    model_path: str,
    base_spec: str,
    base: Arch,
    variants: Sequence[Variant],
    directory: Path,
) -> list[Point]:
    """The points of a hardware sweep; a variant that is the base keeps
    ``base_spec`` so the main run is reused."""
    points = []
    for v in variants:
        spec = base_spec if v.arch is base else write_arch(v.arch, directory)
        points.append(Point(model, model_path, spec, v.family, v.label))
    return points


def _task(model_path: str, options: CompileOptions) -> MapperRun | _Failure:
    try:
        return run_mapper(model_path, options, simulate=True)
    except MiredoError as e:  # its pickle would lose ``where``
        return _Failure(e.message, e.where)


def run_points(
    points: Sequence[Point],
    mappers: Sequence[str],
    options: CompileOptions,
    *,
    procs: int = 2,
    known: dict[RunKey, MapperRun] | None = None,
    on_total: Callable[[int], None] | None = None,
    on_done: Callable[[RunKey], None] | None = None,
) -> list[dict[str, Any]]:
    """Compile and simulate every point with every mapper; returns one entry per
    point (see the module docstring). ``on_total(n)`` is told the number of new
    compiles, ``on_done(key)`` is called after each."""
    runs: dict[RunKey, MapperRun] = dict(known or {})
    todo = sorted(
        {(p.model_path, p.arch, m) for p in points for m in mappers} - runs.keys()
    )
    if on_total is not None:
        on_total(len(todo))
    if todo:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=procs, mp_context=ctx) as pool:
            futures = {
                pool.submit(_task, path, replace(options, arch=arch, mapper=m)): (
                    path,
                    arch,
                    m,
                )
                for path, arch, m in todo
            }
            try:
                for fut in as_completed(futures):
                    key = futures[fut]
                    result = fut.result()
                    if isinstance(result, _Failure):
                        where = result.where or Path(key[1]).stem
                        raise MiredoError(
                            f"{result.message} (sweep point {Path(key[0]).stem} on "
                            f"{Path(key[1]).stem}, mapper {key[2]})",
                            where,
                        )
                    runs[key] = result
                    if on_done is not None:
                        on_done(key)
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    entries = []
    for p in points:
        mruns = [runs[(p.model_path, p.arch, m)] for m in mappers]
        layers = combine(mruns)
        tot = model_totals(layers, mappers)
        entries.append(
            {
                "model": p.model,
                "arch": mruns[0].arch,
                "family": p.family,
                "label": p.label or p.model,
                "mappers": {m: tot[m] for m in mappers},
                "bound": tot["bound"],
                **compare(tot, mappers, simulated=True),
            }
        )
    return entries
