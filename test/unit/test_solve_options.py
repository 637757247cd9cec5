"""The solve options miredo-compile and miredo-bench share."""

import argparse
import os

import pytest

from miredo.errors import MiredoError
from miredo.tools.solve_options import add_solve_options, solve_options


def _parse(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_solve_options(p)
    return p.parse_args(list(argv))


def test_defaults_give_one_thread_per_layer_when_layers_run_at_once() -> None:
    cores = os.cpu_count() or 1
    assert solve_options(_parse())["jobs"] == cores
    assert solve_options(_parse())["workers"] == (1 if cores > 1 else 2)
    assert solve_options(_parse("-j", "2"))["workers"] == 1
    assert solve_options(_parse("-j", "1"))["workers"] == 2
    assert solve_options(_parse("-j", "2", "--workers", "2"))["workers"] == 2


def test_flags_reach_the_compile_options() -> None:
    got = solve_options(
        _parse(
            *("--objective", "latency", "--solver", "highs", "--time-limit", "5"),
            *("--gap-limit", "0", "--no-cache", "--deterministic", "-j", "1"),
        )
    )
    assert got == {
        "objective": "latency",
        "solver": "highs",
        "time_limit": 5.0,
        "gap_limit": 0.0,
        "workers": 2,
        "jobs": 1,
        "cache": None,
        "deterministic": True,
    }
    assert solve_options(_parse("--cache", "x.db"))["cache"] == "x.db"


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (("--time-limit", "0"), "--time-limit"),
        (("--gap-limit", "-1"), "--gap-limit"),
        (("--workers", "0"), "--workers"),
        (("-j", "0"), "-j/--jobs"),
    ],
)
def test_a_bad_value_names_its_flag(argv: tuple[str, ...], flag: str) -> None:
    with pytest.raises(MiredoError) as e:
        solve_options(_parse(*argv))
    assert flag in str(e.value)
