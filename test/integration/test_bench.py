"""``miredo-bench``: simulated per-layer results, figures, sweeps, errors.

One small run (``resnet_block`` on ``small``, 1 s solves, two mappers, a
two-point hardware sweep and a two-model sweep on a one-process pool) is shared
by the tests that check its outputs; the real benchmark runs outside CI.
"""

import contextlib
import io
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from miredo.tools.miredo_bench import main

MAPPERS = ("heuristic", "miredo")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], str]:
    out = tmp_path_factory.mktemp("bench") / "out"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        main(
            [
                "--model",
                "resnet_block",
                "--arch",
                "small",
                "--mappers",
                ",".join(MAPPERS),
                "--time-limit",
                "1",
                "--no-cache",
                "-q",
                "--sweep",
                "models,hardware",
                "--sweep-models",
                "resnet_block,mobilenet_block",
                "--cores",
                "4",
                "--macro-shapes",
                "16x8",
                "--buffer-scales",
                "1",
                "--procs",
                "1",
                "-o",
                str(out),
            ]
        )
    return out, json.loads((out / "bench.json").read_text()), printed.getvalue()


def test_per_layer_simulated(bench: tuple[Path, dict[str, Any], str]) -> None:
    _, doc, _ = bench
    assert doc["simulated"] and doc["arch"] == "small"
    # every contraction occurrence is a row (conv2 and conv3 share a signature)
    assert [lay["name"] for lay in doc["layers"]] == ["conv1", "conv2", "conv3", "fc"]
    assert doc["representative_layer"] in ("conv2", "conv3")  # the most MACs
    for lay in doc["layers"]:
        bound = lay["bound"]
        assert bound["physical"] == max(bound["compute"], bound["dram"]) > 0
        for m in MAPPERS:
            r = lay["mappers"][m]
            sim = r["simulated"]["latency_cycles"]
            pred = r["predicted"]["latency_cycles"]
            assert sim > 0 and r["simulated"]["energy_pj"] > 0
            assert r["accuracy"] == pytest.approx(1 - abs(pred - sim) / sim)
            assert 0 <= r["accuracy"] <= 1
            # no mapping beats the physical limit, in the simulator either
            assert sim >= bound["physical"] - 1e-9
            assert r["sim_over_bound"] == pytest.approx(sim / bound["physical"])
            assert 0 < r["simulated"]["mean_macro_utilization"] <= 1
            assert set(r["simulated"]["stall_cycles"]) >= {"raw", "war", "port"}
            assert r["solver"]["status"] in ("optimal", "feasible", "heuristic")


def test_totals_and_summary(bench: tuple[Path, dict[str, Any], str]) -> None:
    _, doc, printed = bench
    tot = doc["totals"]
    for m in MAPPERS:
        rows = [lay["mappers"][m]["simulated"] for lay in doc["layers"]]
        lat = sum(r["latency_cycles"] for r in rows)
        energy = sum(r["energy_pj"] for r in rows)
        assert tot[m]["latency_cycles"] == lat
        assert tot[m]["edp"] == pytest.approx(lat * energy)
        accs = [lay["mappers"][m]["accuracy"] for lay in doc["layers"]]
        assert tot[m]["accuracy"]["worst"] == min(accs)
        assert tot[m]["accuracy"]["mean"] == pytest.approx(sum(accs) / len(accs))
    s = doc["summary"]
    assert s["reference"] == "miredo"
    assert s["edp_ratio"]["heuristic"] == pytest.approx(
        tot["miredo"]["edp"] / tot["heuristic"]["edp"]
    )
    assert s["latency_vs_bound"]["bound_cycles"] == pytest.approx(
        sum(lay["bound"]["physical"] for lay in doc["layers"])
    )
    # the MIP's objective is the evaluator's value of its incumbent, where a MIP
    # ran and found one within these 1 s solves (solve_layer's own test in
    # test_mip.py does not depend on the machine's load)
    errors = [
        lay["mappers"]["miredo"]["solver"]["objective_error"]
        for lay in doc["layers"]
        if lay["mappers"]["miredo"]["solver"]["source"] == "solved"
    ]
    measured = [e for e in errors if e is not None]
    assert all(e < 5e-3 for e in measured), errors
    mve = s["mip_vs_evaluator"]
    if measured:
        assert mve["max_error"] == max(measured) and mve["solves"] == len(measured)
        assert "MIP objective vs evaluator" in printed
    else:
        assert mve is None and "MIP objective vs evaluator" not in printed
    assert "accuracy of miredo" in printed and "worst" in printed
    assert "EDP ratio miredo/heuristic" in printed
    assert "sum of physical bounds" in printed
    assert "sim/bound" in printed.splitlines()[1]


def test_outputs(bench: tuple[Path, dict[str, Any], str]) -> None:
    out, _, _ = bench
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "bench.json",
        "fig4a_pred_vs_sim.png",
        "fig4b_util_vs_edp.png",
        "fig4c_speedup.png",
        "fig5_edp_hardware.png",
        "fig5_edp_models.png",
        "summary.md",
    ]  # nothing staged is left behind
    for n in names:
        if n.endswith(".png"):
            data = (out / n).read_bytes()
            assert data.startswith(PNG_MAGIC) and len(data) > 1000
    md = (out / "summary.md").read_text()
    assert "![fig4a_pred_vs_sim.png](fig4a_pred_vs_sim.png)" in md
    assert "| conv1 |" in md and "EDP ratio miredo/heuristic" in md


def test_sweeps(bench: tuple[Path, dict[str, Any], str]) -> None:
    _, doc, printed = bench
    hw = doc["sweeps"]["hardware"]
    assert [(e["family"], e["arch"]) for e in hw] == [
        ("macro", "small"),
        ("cores", "small-cores4"),
        ("local buffer", "small"),
    ]
    # the base hardware's point is the main run, not a second compile
    assert hw[0]["mappers"]["miredo"] == doc["totals"]["miredo"]
    models = doc["sweeps"]["models"]
    assert [e["model"] for e in models] == ["resnet_block", "mobilenet_block"]
    for e in hw + models:
        for m in MAPPERS:
            assert e["mappers"][m]["latency_cycles"] > 0
        assert e["edp_reduction"]["heuristic"] == pytest.approx(
            e["mappers"]["heuristic"]["edp"] / e["mappers"]["miredo"]["edp"]
        )
    assert "Hardware sweep" in printed and "EDP ratio on cores 4 cores" in printed


def test_no_sim_json_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench.json"
    main(
        [
            "--model",
            "resnet_block",
            "--arch",
            "small",
            "--mappers",
            "heuristic",
            "--no-sim",
            "--no-cache",
            "-q",
            "-o",
            str(out),
        ]
    )
    doc = json.loads(out.read_text())
    assert not doc["simulated"] and list(tmp_path.iterdir()) == [out]
    for lay in doc["layers"]:
        r = lay["mappers"]["heuristic"]
        assert r["simulated"] is None and r["predicted"]["latency_cycles"] > 0
    assert "predicted only" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--model", "/nonexistent.onnx"], "/nonexistent.onnx"),
        (["--model", "resnet_block", "--mappers", "miredo,zigzag"], "--mappers"),
        (["--model", "resnet_block", "--sweep", "models", "--no-sim"], "--sweep"),
        (["--model", "resnet_block", "--sweep", "everything"], "--sweep"),
        (["--model", "resnet_block", "--procs", "0"], "--procs"),
        (["--model", "resnet_block", "--workers", "0"], "--workers"),
        (["--model", "resnet_block", "--gap-limit", "-1"], "--gap-limit"),
        (
            [
                *("--model", "resnet_block", "--arch", "small", "--mappers"),
                *("heuristic", "--no-cache", "-q", "--layer", "conv9"),
            ],
            "no contraction 'conv9'",
        ),
    ],
)
def test_bench_errors(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error" in err[0] and needle in err[0]
    assert err[0].startswith("miredo-bench: ")


def test_hardware_variants() -> None:
    from miredo.errors import MiredoError
    from miredo.solver.hardware import load_arch
    from miredo.solver.variants import (
        hardware_variants,
        with_local_buffers,
        with_macro_shape,
    )

    base = load_arch("table4")
    wide = with_macro_shape(base, 64, 64)
    assert (wide.macro.rows, wide.macro.cols) == (64, 64)
    assert {a.name: a.size for a in wide.spatial} == {
        "cores": 8,
        "rows": 64,
        "cols": 64,
    }
    assert wide.level("Macro").capacity_bits == base.level("Macro").capacity_bits
    assert wide.level("IReg").capacity_bits == 64 * 8  # one input vector
    assert wide.level("OReg").capacity_bits == 64 * 32  # one psum per column
    assert wide.level("Macro").bw_bits_per_cycle == 64 * 8  # one row per cycle
    variants = hardware_variants(base)
    assert [(v.family, v.label) for v in variants] == [
        ("macro", "64x64"),
        ("macro", "128x32"),
        ("macro", "256x16"),
        ("cores", "2 cores"),
        ("cores", "4 cores"),
        ("cores", "8 cores"),
        ("cores", "16 cores"),
        ("local buffer", "LB 64 KB"),
        ("local buffer", "LB 256 KB"),
        ("local buffer", "LB 1024 KB"),
    ]
    assert [v.arch.n_cores for v in variants[3:7]] == [2, 4, 8, 16]
    assert sum(v.arch is base for v in variants) == 3  # the base, once per family
    with pytest.raises(MiredoError, match="whole number"):
        with_local_buffers(base, Fraction(1, 3))


def test_new_models_import() -> None:
    from miredo.dialects.nest import ContractOp
    from miredo.frontends import testmodels
    from miredo.frontends.onnx import import_onnx_model

    def contractions(model: Any) -> list[str]:
        module = import_onnx_model(model)
        return [op.node.data for op in module.walk() if isinstance(op, ContractOp)]

    # stem, 16 MBConv blocks (the first without expand), each with a 2-conv SE,
    # the head and the classifier
    eff = contractions(testmodels.efficientnet_b0(size=32))
    assert len(eff) == 1 + (4 + 15 * 5) + 2
    assert "blocks.15.se.expand" in eff
    vgg = contractions(testmodels.vgg(size=32, fc=64))
    assert len(vgg) == 13 + 3 and vgg[-1] == "fc3"
    # the BERT-base block: 4 projections, 2 attention matmuls, 2 FFN layers
    bert = import_onnx_model(testmodels.bert_base_block(seq=4))
    dims = {op.node.data: op.dims for op in bert.walk() if isinstance(op, ContractOp)}
    assert len(dims) == 8
    assert str(dims["fc1.matmul"]).count("3072") == 1
    assert str(dims["scores"]).count("G=12") == 1
