"""Smoke test of ``miredo-bench`` (the real benchmark runs outside CI)."""

import json
from pathlib import Path

import pytest

from miredo.tools.miredo_bench import main


def test_bench_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench.json"
    main(
        [
            "--model",
            "resnet_block",
            "--arch",
            "small",
            "--mappers",
            "heuristic,miredo",
            "--time-limit",
            "1",
            "-o",
            str(out),
        ]
    )
    doc = json.loads(out.read_text())
    names = [lay["name"] for lay in doc["layers"]]
    assert names == ["conv1", "conv2", "fc"]  # conv2 and conv3 are one distinct layer
    assert [lay["count"] for lay in doc["layers"]] == [1, 2, 1]
    for lay in doc["layers"]:
        for m in ("heuristic", "miredo"):
            assert lay["mappers"][m]["latency"] >= lay["bound"]["physical"]
        assert lay["mappers"]["miredo"]["edp"] <= lay["mappers"]["heuristic"]["edp"]
    printed = capsys.readouterr().out
    assert "sum of physical bounds" in printed


def test_bench_bad_model(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--model", "/nonexistent.onnx"])
    assert e.value.code != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error" in err[0]
