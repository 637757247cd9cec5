"""The solve options ``miredo-compile`` and ``miredo-bench`` share: their flags,
their checks and their defaults, defined once."""

from __future__ import annotations

import argparse
import os
from typing import Any


def add_solve_options(p: argparse.ArgumentParser) -> None:
    """``--objective``, ``--solver``, ``--time-limit``, ``--gap-limit``,
    ``--workers``, ``-j/--jobs``, ``--cache``/``--no-cache`` and
    ``--deterministic``."""
    p.add_argument("--objective", default="edp", choices=("latency", "energy", "edp"))
    p.add_argument(
        "--solver", default="cpsat", choices=("cpsat", "highs"), help="MIP backend"
    )
    p.add_argument(
        "--time-limit",
        type=float,
        default=30.0,
        help="solver time limit per layer (and mapper) in seconds (default: 30)",
    )
    p.add_argument(
        "--gap-limit",
        type=float,
        default=0.01,
        help="stop a solve within this relative gap (default: 0.01)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="solver threads per layer (default: 2, or 1 with -j > 1)",
    )
    p.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=None,
        help="layers solved in parallel (default: the number of cores)",
    )
    p.add_argument(
        "--cache",
        default="default",
        metavar="PATH",
        help="solution cache database (default: in the user cache dir)",
    )
    p.add_argument("--no-cache", action="store_true", help="do not use the cache")
    p.add_argument(
        "--deterministic",
        action="store_true",
        help="reproducible solves whatever -j and the machine load: CP-SAT "
        "with a deterministic work limit (--time-limit units) and one "
        "thread per layer",
    )


def solve_options(ns: argparse.Namespace) -> dict[str, Any]:
    """The checked :class:`~miredo.pipeline.CompileOptions` fields these flags
    give (a bad value raises :class:`~miredo.errors.MiredoError` naming its
    flag). ``-j`` defaults to the cores; ``--workers`` to one thread per layer
    when several layers run at once (on ResNet-18, table4, 10 s, ``-j 2``: 7 of
    12 layers proven in 45.8 s with 1, 50.0-50.5 s with 2), else 2."""
    from miredo.errors import MiredoError
    from miredo.solver.jobs import option_problems

    for name, message in option_problems(
        ns.time_limit, ns.gap_limit, ns.workers, ns.jobs
    ):
        raise MiredoError(message, "-j/--jobs" if name == "jobs" else f"--{name}")
    jobs = ns.jobs if ns.jobs is not None else (os.cpu_count() or 1)
    return {
        "objective": ns.objective,
        "solver": ns.solver,
        "time_limit": ns.time_limit,
        "gap_limit": ns.gap_limit,
        "workers": ns.workers if ns.workers is not None else (1 if jobs > 1 else 2),
        "jobs": jobs,
        "cache": None if ns.no_cache else ns.cache,
        "deterministic": ns.deterministic,
    }
