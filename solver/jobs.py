"""Solve many layers: deduplicated, cached, in parallel.

:func:`solve_layers` maps every layer of a network. Identical layers (same
canonical signature) are solved once; solutions found in the
:class:`~miredo.solver.cache.SolutionCache` are reused; the rest are independent
jobs run on a ``concurrent.futures`` executor: a local process pool (``jobs``
processes) or, with ``scheduler="tcp://host:port"``, a Dask distributed cluster
(``distributed.Client.get_executor()`` is such an executor, so one code path
serves both; Dask is the optional ``[dask]`` extra). Each job is a plain
:func:`~miredo.solver.mip.solve_layer` call, so the result of a layer does not
depend on how many jobs run beside it.
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from contextlib import ExitStack

from miredo.errors import MiredoError
from miredo.solver.cache import SolutionCache, SolveOptions, cache_key
from miredo.solver.hardware import Arch
from miredo.solver.mip import Solution, solve_layer
from miredo.solver.workload import Layer


def option_problems(
    time_limit: float, gap_limit: float, workers: int | None, jobs: int | None
) -> list[tuple[str, str]]:
    """``(option, message)`` for every out-of-range solve option (kebab-case names;
    ``None`` skips a check). The one check behind the pass and the CLI."""
    problems: list[tuple[str, str]] = []
    if not (math.isfinite(time_limit) and time_limit > 0):
        problems.append(("time-limit", f"must be > 0 seconds, got {time_limit:g}"))
    if not 0 <= gap_limit < 1:
        problems.append(("gap-limit", f"must be in [0, 1), got {gap_limit:g}"))
    if workers is not None and workers < 1:
        problems.append(("workers", f"must be >= 1, got {workers}"))
    if jobs is not None and jobs < 1:
        problems.append(("jobs", f"must be >= 1, got {jobs}"))
    return problems


def _solve(layer: Layer, arch: Arch, options: SolveOptions) -> Solution:
    return solve_layer(
        layer,
        arch,
        objective=options.objective,
        mapper=options.mapper,
        solver=options.solver,
        time_limit=options.time_limit,
        workers=options.workers,
        seed=options.seed,
        gap_limit=options.gap_limit,
        deterministic=options.deterministic,
    )


CONNECT_TIMEOUT = 10.0
"""Seconds to wait for a Dask scheduler before giving up."""


def dask_executor(scheduler: str, stack: ExitStack) -> Executor:
    """An executor on the Dask cluster at ``scheduler`` (closed with ``stack``)."""
    try:
        from distributed import Client
    except ImportError as e:
        raise MiredoError(
            "needs Dask: pip install 'miredo[dask]'", "--scheduler"
        ) from e
    try:
        client = stack.enter_context(Client(scheduler, timeout=CONNECT_TIMEOUT))
    except OSError as e:
        raise MiredoError(f"cannot reach the Dask scheduler: {e}", scheduler) from e
    return client.get_executor()


def solve_layers(
    layers: Sequence[Layer],
    arch: Arch,
    options: SolveOptions,
    *,
    jobs: int = 1,
    scheduler: str | None = None,
    cache: SolutionCache | None = None,
    on_done: Callable[[int, Solution, str], None] | None = None,
) -> list[tuple[Solution, str]]:
    """Map every layer; returns ``(solution, source)`` per layer, ``source`` being
    ``solved``, ``cache`` or ``reused`` (an identical layer earlier in the list).

    ``on_done(i, solution, source)`` is called once per layer as results arrive.
    """
    for name, message in option_problems(
        options.time_limit, options.gap_limit, options.workers, jobs
    ):
        raise MiredoError(message, name)
    first: dict[str, int] = {}
    for i, layer in enumerate(layers):
        first.setdefault(layer.signature(), i)
    results: dict[int, tuple[Solution, str]] = {}
    keys = {i: cache_key(layers[i], arch, options) for i in first.values()}

    def done(i: int, sol: Solution, source: str) -> None:
        results[i] = (sol, source)
        if on_done is not None:
            on_done(i, sol, source)

    todo: list[int] = []
    for i in first.values():
        hit = cache.get(keys[i], layers[i], arch) if cache is not None else None
        if hit is not None:
            done(i, hit, "cache")
        else:
            todo.append(i)

    def finished(i: int, sol: Solution) -> None:
        if cache is not None:
            cache.put(keys[i], sol)
        done(i, sol, "solved")

    if todo and scheduler is None and (jobs == 1 or len(todo) == 1):
        for i in todo:
            finished(i, _solve(layers[i], arch, options))
    elif todo:
        with ExitStack() as stack:
            if scheduler is not None:
                executor = dask_executor(scheduler, stack)
            else:
                executor = stack.enter_context(
                    ProcessPoolExecutor(
                        max_workers=min(jobs, len(todo)),
                        mp_context=multiprocessing.get_context("spawn"),
                    )
                )
            futures = {
                executor.submit(_solve, layers[i], arch, options): i for i in todo
            }
            for fut in as_completed(futures):
                finished(futures[fut], fut.result())

    out: list[tuple[Solution, str]] = []
    for i, layer in enumerate(layers):
        j = first[layer.signature()]
        if i == j:
            out.append(results[j])
        else:
            sol = results[j][0]
            out.append((_renamed(sol, layer), "reused"))
            if on_done is not None:
                on_done(i, out[-1][0], "reused")
    return out


def _renamed(sol: Solution, layer: Layer) -> Solution:
    """The solution of an identical layer, reported under ``layer``'s name."""
    from dataclasses import replace

    return replace(sol, layer=layer, wall_time=0.0)
