"""The solution cache and the parallel layer solves (local pool and Dask)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from miredo.errors import MiredoError
from miredo.solver import jobs
from miredo.solver.cache import SolutionCache, SolveOptions, cache_key
from miredo.solver.hardware import load_arch
from miredo.solver.jobs import solve_layers
from miredo.solver.mip import solve_layer
from miredo.solver.workload import Layer

SMALL = load_arch("small")
HEUR = SolveOptions(mapper="heuristic", time_limit=1.0, workers=1)
LAYERS = [
    Layer.conv("a", k=8, c=4, in_hw=(6, 6), r=3, s=3, padding=1),
    Layer.conv("b", k=4, c=8, in_hw=(4, 4)),
    Layer.conv("a2", k=8, c=4, in_hw=(6, 6), r=3, s=3, padding=1),  # same as a
    Layer.gemm("fc", m=1, k=32, n=8),
]


def _mappings(results) -> list[str]:
    return [sol.mapping.to_json() for sol, _ in results]


def test_cache_round_trip_and_key(tmp_path: Path) -> None:
    cache = SolutionCache(tmp_path / "c.sqlite")
    layer = LAYERS[0]
    sol = solve_layer(layer, SMALL, mapper="heuristic")
    key = cache_key(layer, SMALL, HEUR)
    assert cache.get(key, layer, SMALL) is None
    cache.put(key, sol)
    hit = cache.get(key, layer, SMALL)
    assert hit is not None
    assert hit.mapping == sol.mapping and hit.cost.latency == sol.cost.latency
    assert hit.status == sol.status
    # the MIP's objective and the evaluator's value of its incumbent come back
    from dataclasses import replace

    cache.put(key, replace(sol, solver_objective=41.5, solver_value=42.0))
    hit = cache.get(key, layer, SMALL)
    assert hit is not None
    assert (hit.solver_objective, hit.solver_value) == (41.5, 42.0)
    # everything that changes a solve changes the key
    assert cache_key(layer, SMALL, SolveOptions(mapper="ws")) != key
    assert cache_key(layer, load_arch("tiny"), HEUR) != key
    assert cache_key(LAYERS[1], SMALL, HEUR) != key
    # the layer's name does not
    assert cache_key(LAYERS[2], SMALL, HEUR) == key


def test_solve_layers_dedupes_and_uses_the_cache(tmp_path: Path) -> None:
    cache = SolutionCache(tmp_path / "c.sqlite")
    cold = solve_layers(LAYERS, SMALL, HEUR, cache=cache)
    assert [src for _, src in cold] == ["solved", "solved", "reused", "solved"]
    assert cold[2][0].layer.name == "a2"
    warm = solve_layers(LAYERS, SMALL, HEUR, cache=cache)
    assert [src for _, src in warm] == ["cache", "cache", "reused", "cache"]
    assert _mappings(warm) == _mappings(cold)


def test_parallel_equals_sequential() -> None:
    seq = solve_layers(LAYERS, SMALL, HEUR, jobs=1)
    par = solve_layers(LAYERS, SMALL, HEUR, jobs=2)
    assert _mappings(par) == _mappings(seq)


def test_bad_options_are_one_line_errors() -> None:
    with pytest.raises(MiredoError, match="time-limit: error: must be > 0"):
        solve_layers(LAYERS, SMALL, SolveOptions(time_limit=0))
    with pytest.raises(MiredoError, match="jobs: error: must be >= 1"):
        solve_layers(LAYERS, SMALL, HEUR, jobs=0)


def test_corrupt_cache_is_rebuilt(tmp_path: Path, capsys) -> None:
    path = tmp_path / "c.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    cache = SolutionCache(path)
    err = capsys.readouterr().err
    assert "unreadable" in err and str(path) in err
    assert (tmp_path / "c.sqlite.corrupt").exists()
    results = solve_layers(LAYERS[:1], SMALL, HEUR, cache=cache)
    assert results[0][1] == "solved"
    assert solve_layers(LAYERS[:1], SMALL, HEUR, cache=cache)[0][1] == "cache"


WRITER = """
import sys
from miredo.solver.cache import SolutionCache
from miredo.solver.hardware import load_arch
from miredo.solver.mip import solve_layer
from miredo.solver.workload import Layer

cache = SolutionCache(sys.argv[1])
sol = solve_layer(Layer.conv("b", k=4, c=8, in_hw=(4, 4)), load_arch("small"),
                  mapper="heuristic")
start = int(sys.argv[2])
for k in range(start, start + 40):
    cache.put(f"key{k}", sol)
cache.close()
"""


def test_two_processes_write_concurrently(tmp_path: Path) -> None:
    path = str(tmp_path / "c.sqlite")
    SolutionCache(path).close()
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, path, str(start)])
        for start in (0, 40)
    ]
    assert [p.wait(120) for p in procs] == [0, 0]
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT count(*) FROM solutions").fetchone()[0] == 80
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_dask_local_cluster_matches_local_pool() -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        protocol="tcp://",
        host="127.0.0.1",
        dashboard_address=":0",
    ) as cluster:
        remote = solve_layers(LAYERS, SMALL, HEUR, scheduler=cluster.scheduler_address)
    local = solve_layers(LAYERS, SMALL, HEUR, jobs=2)
    assert _mappings(remote) == _mappings(local)
    assert [src for _, src in remote] == ["solved", "solved", "reused", "solved"]


def test_unreachable_scheduler_is_one_line_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("distributed")
    monkeypatch.setattr(jobs, "CONNECT_TIMEOUT", 1.0)
    with pytest.raises(MiredoError, match="cannot reach the Dask scheduler"):
        solve_layers(LAYERS, SMALL, HEUR, scheduler="tcp://127.0.0.1:9")


def test_warm_compile_is_served_from_the_cache(tmp_path: Path) -> None:
    from miredo.pipeline import CompileOptions, compile_model, write_outputs

    model = Path(__file__).parents[2] / "examples" / "resnet_block.onnx"
    opts = CompileOptions(
        arch="small", mapper="heuristic", cache=str(tmp_path / "c.sqlite")
    )
    cold = compile_model(model, opts)
    assert cold.module is not None
    write_outputs(cold, tmp_path / "cold")
    warm = compile_model(model, opts)
    assert warm.module is None  # lowering skipped
    assert {src for *_, src in warm.solutions} <= {"cache", "reused"}
    write_outputs(warm, tmp_path / "warm")
    for name in ("annotated.mlir", "cim.mlir", "program.s", "program.json"):
        assert (tmp_path / "warm" / name).read_text() == (
            tmp_path / "cold" / name
        ).read_text()
    assert str(warm.lowered()) + "\n" == warm.outputs["cim.mlir"]


def test_deterministic_miredo_solves_match_across_parallelism() -> None:
    det = SolveOptions(mapper="miredo", time_limit=0.5, deterministic=True)
    seq = solve_layers(LAYERS, SMALL, det, jobs=1)
    par = solve_layers(LAYERS, SMALL, det, jobs=2)
    again = solve_layers(LAYERS, SMALL, det, jobs=1)
    assert _mappings(par) == _mappings(seq) == _mappings(again)
    assert cache_key(LAYERS[0], SMALL, det) != cache_key(
        LAYERS[0], SMALL, SolveOptions(mapper="miredo", time_limit=0.5)
    )
