"""The ONNX frontend: bad inputs, the shipped examples, round trips and scale.

Bad inputs go through the real ``miredo-opt`` entry point (in-process, for speed;
two cases also run as a subprocess) and must give exactly one line on stderr, a
non-zero exit and no traceback.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.context import Context
from xdsl.dialects.builtin import Builtin, ModuleOp
from xdsl.dialects.func import Func
from xdsl.dialects.memref import MemRef
from xdsl.parser import Parser
from xdsl.printer import Printer

from miredo.dialects import nest
from miredo.errors import MiredoError
from miredo.frontends import testmodels
from miredo.frontends.onnx import (
    import_onnx_bytes,
    import_onnx_file,
    import_onnx_model,
    load_module_weights,
    load_weight_table,
)
from miredo.tools.miredo_opt import main as miredo_opt_main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
vi = helper.make_tensor_value_info
MIREDO_OPT = shutil.which("miredo-opt") or next(
    (str(p) for p in [Path(sys.executable).parent / "miredo-opt"] if p.exists()), None
)


# --------------------------------------------------------------------------- #
# helpers
# --------------------------------------------------------------------------- #


def _model(
    nodes: list[onnx.NodeProto],
    inputs: list[onnx.ValueInfoProto],
    outputs: list[onnx.ValueInfoProto],
    inits: list[onnx.TensorProto] | None = None,
    opset: int = 17,
) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, inits or [])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def _relu(
    inputs: list[onnx.ValueInfoProto], out_shape: list[object]
) -> onnx.ModelProto:
    node = helper.make_node("Relu", [inputs[0].name], ["y"], name="r")
    return _model([node], inputs, [vi("y", TensorProto.FLOAT, out_shape)])


def _t(name: str, *shape: int) -> onnx.TensorProto:
    return numpy_helper.from_array(np.ones(shape, np.float32), name)


def _ctx() -> Context:
    ctx = Context()
    for dialect in (Builtin, Func, MemRef, nest.Nest):
        ctx.load_dialect(dialect)
    return ctx


def _print(module: ModuleOp, generic: bool = False) -> str:
    out = io.StringIO()
    Printer(stream=out, print_generic_format=generic).print_op(module)
    return out.getvalue()


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = 0
    try:
        miredo_opt_main(args)
    except SystemExit as e:
        code = int(e.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --------------------------------------------------------------------------- #
# Bad inputs: one line, non-zero exit, no traceback
# --------------------------------------------------------------------------- #


def _bytes_cases() -> dict[str, tuple[bytes, str, str]]:
    """name -> (file content, expected substring, expected 'where' suffix)."""
    good = testmodels.resnet_block().SerializeToString()
    corrupt = bytearray(good)
    corrupt[0:8] = b"\xff" * 8

    def m(model: onnx.ModelProto) -> bytes:
        return model.SerializeToString()

    f = TensorProto.FLOAT
    conv_w = [_t("w", 2, 3, 3, 3)]
    bad_raw = numpy_helper.from_array(np.ones(4, np.float32), "b")
    bad_raw.dims[:] = [5]
    return {
        "text-file": (b"module { }\n", "not a valid ONNX file", ""),
        "empty": (b"", "the file is empty", ""),
        "truncated": (good[: len(good) // 2], "not a valid ONNX file", ""),
        "corrupt": (bytes(corrupt), "not a valid ONNX file", ""),
        "checker": (
            m(
                _model(
                    [helper.make_node("Relu", ["x", "x"], ["y"], name="r")],
                    [vi("x", f, [2])],
                    [vi("y", f, [2])],
                )
            ),
            "invalid ONNX model: Node(r) with schema(::Relu:14) has input size 2",
            ": node 'r' (Relu)",
        ),
        "output-not-produced": (
            m(
                _model(
                    [helper.make_node("Relu", ["x"], ["y"], name="r")],
                    [vi("x", f, [2])],
                    [vi("z", f, [2])],
                )
            ),
            "Graph output 'z' is not an output of any node",
            "",
        ),
        "unsupported-op": (
            m(
                _model(
                    [helper.make_node("LpNormalization", ["x"], ["y"], name="lp")],
                    [vi("x", f, [2, 3])],
                    [vi("y", f, [2, 3])],
                )
            ),
            "unsupported op 'LpNormalization'; supported ops: Abs, Add, AveragePool,",
            ": node 'lp' (LpNormalization)",
        ),
        "custom-domain": (
            m(
                _model(
                    [
                        helper.make_node(
                            "Foo", ["x"], ["y"], name="foo", domain="com.acme"
                        )
                    ],
                    [vi("x", f, [2])],
                    [vi("y", f, [2])],
                )
            ),
            "unsupported op 'com.acme.Foo' (custom domain); supported ops:",
            ": node 'foo' (Foo)",
        ),
        "dynamic-shape": (
            m(_relu([vi("x", f, ["batch", 3])], ["batch", 3])),
            "tensor 'x' has a dynamic dimension 'batch' in shape [batch, 3]",
            "",
        ),
        "unknown-rank": (
            m(_relu([vi("x", f, None)], [2])),
            "graph input 'x' has an unknown shape (no rank)",
            "",
        ),
        "unknown-intermediate-shape": (
            m(
                _model(
                    [
                        helper.make_node("Relu", ["x"], ["h"], name="r"),
                        helper.make_node("Reshape", ["h", "s"], ["y"], name="reshape"),
                    ],
                    [vi("x", f, [2, 3]), vi("s", TensorProto.INT64, [2])],
                    [vi("y", f, ["a", "b"])],
                )
            ),
            "tensor 'y' has a dynamic dimension",
            "",
        ),
        "zero-dim": (
            m(_relu([vi("x", f, [0, 3])], [0, 3])),
            "tensor 'x' has a zero or negative dim [0, 3]",
            "",
        ),
        "negative-dim": (
            m(_relu([vi("x", f, [2, -3])], [2, -3])),
            "tensor 'x' has a zero or negative dim [2, -3]",
            "",
        ),
        "initializer-vs-input-shape": (
            m(
                _model(
                    [helper.make_node("Relu", ["w"], ["y"], name="r")],
                    [vi("w", f, [2, 2])],
                    [vi("y", f, [2, 2])],
                    [_t("w", 3, 3)],
                )
            ),
            "initializer 'w' has shape [3, 3] but the graph input of the same name declares [2, 2]",
            "",
        ),
        "initializer-data-size": (
            m(
                _model(
                    [helper.make_node("Relu", ["b"], ["y"], name="r")],
                    [],
                    [vi("y", f, [5])],
                    [bad_raw],
                )
            ),
            "initializer 'b' with dims [5] has unreadable or mis-sized data",
            "",
        ),
        "cycle": (
            m(
                _model(
                    [
                        helper.make_node("Add", ["x", "c"], ["a"], name="add"),
                        helper.make_node("Relu", ["a"], ["c"], name="relu"),
                    ],
                    [vi("x", f, [2])],
                    [vi("a", f, [2])],
                )
            ),
            "the graph has a cycle: 'add' -> 'relu' -> 'add'",
            "",
        ),
        "conv-1d": (
            m(
                _model(
                    [helper.make_node("Conv", ["x", "w"], ["y"], name="c1")],
                    [vi("x", f, [1, 3, 8])],
                    [vi("y", f, [1, 2, 6])],
                    [numpy_helper.from_array(np.ones((2, 3, 3), np.float32), "w")],
                )
            ),
            "only 2-D convolutions are supported (input rank 3, expected 4)",
            ": node 'c1' (Conv)",
        ),
        "softmax-opset11-axis": (
            m(
                _model(
                    [helper.make_node("Softmax", ["x"], ["y"], name="sm", axis=1)],
                    [vi("x", f, [2, 3, 4])],
                    [vi("y", f, [2, 3, 4])],
                    opset=11,
                )
            ),
            "Softmax before opset 13 normalises over all axes from 1 on",
            ": node 'sm' (Softmax)",
        ),
        "fold-only-op-on-data": (
            m(
                _model(
                    [helper.make_node("Gather", ["x", "i"], ["y"], name="ga")],
                    [vi("x", f, [5, 3])],
                    [vi("y", f, [2, 3])],
                    [numpy_helper.from_array(np.array([0, 1], np.int64), "i")],
                )
            ),
            "'Gather' is only supported on constant inputs (shape computations)",
            ": node 'ga' (Gather)",
        ),
        "clip-runtime-min": (
            m(
                _model(
                    [helper.make_node("Clip", ["x", "lo"], ["y"], name="cl")],
                    [vi("x", f, [2, 3]), vi("lo", f, [])],
                    [vi("y", f, [2, 3])],
                )
            ),
            "Clip's min must be a constant (input 'lo' is computed)",
            ": node 'cl' (Clip)",
        ),
        "dropout-training": (
            m(
                _model(
                    [helper.make_node("Dropout", ["x", "r", "t"], ["y"], name="dr")],
                    [vi("x", f, [2, 3])],
                    [vi("y", f, [2, 3])],
                    [
                        numpy_helper.from_array(np.array(0.5, np.float32), "r"),
                        numpy_helper.from_array(np.array(True), "t"),
                    ],
                )
            ),
            "Dropout with training_mode is not supported (inference only)",
            ": node 'dr' (Dropout)",
        ),
        "maxpool-indices": (
            m(
                _model(
                    [
                        helper.make_node(
                            "MaxPool", ["x"], ["y", "i"], name="mp", kernel_shape=[2, 2]
                        )
                    ],
                    [vi("x", f, [1, 1, 4, 4])],
                    [
                        vi("y", f, [1, 1, 3, 3]),
                        vi("i", TensorProto.INT64, [1, 1, 3, 3]),
                    ],
                )
            ),
            "MaxPool's Indices output is not supported",
            ": node 'mp' (MaxPool)",
        ),
        "gelu-approximate": (
            m(
                _model(
                    [
                        helper.make_node(
                            "Gelu", ["x"], ["y"], name="ge", approximate="fast"
                        )
                    ],
                    [vi("x", f, [2])],
                    [vi("y", f, [2])],
                    opset=20,
                )
            ),
            "unsupported Gelu approximate='fast'",
            ": node 'ge' (Gelu)",
        ),
        "string-tensor": (
            m(
                _model(
                    [helper.make_node("Identity", ["x"], ["y"], name="id")],
                    [vi("x", TensorProto.STRING, [2])],
                    [vi("y", TensorProto.STRING, [2])],
                )
            ),
            "tensor 'x' has unsupported element type STRING",
            "",
        ),
        "conv-runtime-weight-bn": (
            m(
                _model(
                    [
                        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
                        helper.make_node(
                            "BatchNormalization",
                            ["c", "s", "b", "mu", "var"],
                            ["y"],
                            name="bn",
                        ),
                    ],
                    [vi("x", f, [1, 3, 4, 4]), vi("s", f, [2])],
                    [vi("y", f, [1, 2, 2, 2])],
                    [*conv_w, _t("b", 2), _t("mu", 2), _t("var", 2)],
                )
            ),
            "BatchNormalization needs constant scale, bias, mean and var",
            ": node 'bn' (BatchNormalization)",
        ),
    }


BAD = _bytes_cases()


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, expected, where = BAD[case]
    path = tmp_path / "model.onnx"
    path.write_bytes(data)
    code, out, err = _cli([str(path)], capsys)
    assert code != 0
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"miredo-opt: {path}{where}: error: "), lines[0]
    assert expected in lines[0], lines[0]
    assert "internal error" not in lines[0]


def test_missing_file_and_external_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _cli([str(tmp_path / "nope.onnx")], capsys)
    assert code != 0 and len(err.splitlines()) == 1 and "no such file" in err

    model = _model(
        [helper.make_node("Add", ["x", "w"], ["y"], name="add")],
        [vi("x", TensorProto.FLOAT, [1200])],
        [vi("y", TensorProto.FLOAT, [1200])],
        [numpy_helper.from_array(np.ones(1200, np.float32), "w")],
    )
    path = tmp_path / "ext.onnx"
    onnx.save_model(
        model, path, save_as_external_data=True, location="ext.bin", size_threshold=0
    )
    # With its data file next to it, the model imports.
    assert 'nest.weight "w"' in _print(import_onnx_file(path))
    (tmp_path / "ext.bin").unlink()
    code, _, err = _cli([str(path)], capsys)
    assert code != 0 and len(err.splitlines()) == 1, err
    assert "cannot load external weight data" in err and "Traceback" not in err


@pytest.mark.skipif(MIREDO_OPT is None, reason="miredo-opt not installed")
@pytest.mark.parametrize("case", ["truncated", "unsupported-op"])
def test_bad_input_in_a_real_process(case: str, tmp_path: Path) -> None:
    data, expected, _ = BAD[case]
    path = tmp_path / "m.onnx"
    path.write_bytes(data)
    proc = subprocess.run(
        [MIREDO_OPT, str(path)], capture_output=True, text=True, check=False
    )
    assert proc.returncode != 0
    assert proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1 and expected in proc.stderr
    assert "Traceback" not in proc.stderr


# --------------------------------------------------------------------------- #
# The shipped examples
# --------------------------------------------------------------------------- #

EXAMPLE_NAMES = ["resnet_block", "mobilenet_block", "transformer_block"]


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_examples_import_verify_and_are_up_to_date(name: str) -> None:
    path = EXAMPLES / f"{name}.onnx"
    assert path.stat().st_size < 200_000
    # The shipped file is what the builder produces today.
    assert path.read_bytes() == getattr(testmodels, name)().SerializeToString()
    module = import_onnx_file(path)
    module.verify()
    ops = [op for op in module.walk() if isinstance(op, nest.NestOp)]
    assert any(isinstance(op, nest.ContractOp) for op in ops)
    # Every weight resolves in the weight table with the right shape.
    table = load_weight_table(path)
    for op in ops:
        if isinstance(op, nest.WeightOp):
            arr = table[op.node.data]
            assert arr.shape == op.result.type.get_shape()
            if op.value is not None:
                np.testing.assert_array_equal(op.array(), arr)


def test_lit_inputs_are_up_to_date() -> None:
    inputs = ROOT / "test" / "filecheck" / "inputs"
    for name, model in testmodels.lit_models().items():
        assert (inputs / f"{name}.onnx").read_bytes() == model.SerializeToString()


def test_example_contents() -> None:
    text = {n: _print(import_onnx_file(EXAMPLES / f"{n}.onnx")) for n in EXAMPLE_NAMES}
    rb = text["resnet_block"]
    assert "BatchNormalization" not in rb and 'nest.elementwise "bn' not in rb
    assert rb.count("nest.contract") == 4  # 3 convs (BN folded) + fc
    assert 'nest.pool "gap" avg kernel [16, 16]' in rb
    mb = text["mobilenet_block"]
    assert 'nest.contract "depthwise" conv dims<N=1, G=64, K=1, C=1' in mb
    assert mb.count("clip(min = 0.0, max = 6.0)") == 2
    tb = text["transformer_block"]
    # Batched attention MatMul: heads are G, the key is transposed by the graph.
    assert 'nest.contract "scores" matmul dims<N=1, G=2, K=8, C=16, P=8' in tb
    assert 'nest.layernorm "ln1" axis 2' in tb
    assert 'nest.reduce "ln2.mean" mean axes [2] keepdims' in tb
    assert 'nest.elementwise "gelu.erf" erf' in tb
    assert 'nest.weight "heads_shape"' not in tb  # shape constants are consumed


def _roundtrip(text: str, ctx: Context) -> tuple[str, str]:
    module = Parser(ctx, text).parse_module()
    module.verify()
    generic = _print(module, generic=True)
    back = Parser(ctx, generic).parse_module()
    back.verify()
    return generic, _print(back)


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_custom_generic_custom_roundtrip(name: str) -> None:
    module = import_onnx_file(EXAMPLES / f"{name}.onnx")
    text = _print(module)
    generic, again = _roundtrip(text, _ctx())
    assert again == text
    assert '"nest.contract"' in generic


@pytest.mark.skipif(MIREDO_OPT is None, reason="miredo-opt not installed")
def test_cli_pipeline_roundtrip() -> None:
    """`miredo-opt x.onnx | miredo-opt --print-op-generic | miredo-opt` == import."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"}
    src = "examples/resnet_block.onnx"

    def run(args: list[str], stdin: str | None = None) -> str:
        proc = subprocess.run(
            [MIREDO_OPT, *args],
            input=stdin,
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env=env,
        )
        return proc.stdout

    direct = run([src])
    generic = run(["--print-op-generic"], direct)
    assert run([], generic) == direct


def test_inline_weights_and_module_weights(tmp_path: Path) -> None:
    path = tmp_path / "rb.onnx"
    path.write_bytes(testmodels.resnet_block().SerializeToString())
    module = import_onnx_file(path, inline_weights=True)
    weights = [op for op in module.walk() if isinstance(op, nest.WeightOp)]
    assert weights and all(op.value is not None for op in weights)
    table = load_weight_table(path)
    for op in weights:
        np.testing.assert_array_equal(op.array(), table[op.node.data])
    text = _print(module)
    assert _roundtrip(text, _ctx())[1] == text
    # Default: large weights by name; the module finds its own weights.
    by_name = import_onnx_file(path, inline_limit=0)
    assert all(
        op.value is None for op in by_name.walk() if isinstance(op, nest.WeightOp)
    )
    found = load_module_weights(by_name)
    assert set(found) >= {op.node.data for op in weights}
    # Deterministic: derived (BN-folded) weights are recomputed identically.
    again = load_weight_table(path.read_bytes())
    for name in table:
        np.testing.assert_array_equal(table[name], again[name])
    assert "conv1.weight.bnfold" in table


def test_resnet18_print_and_parse_speed(capsys: pytest.CaptureFixture[str]) -> None:
    model = testmodels.resnet18()
    data = model.SerializeToString()
    t0 = time.perf_counter()
    module = import_onnx_bytes(data, "resnet18.onnx", None)
    t1 = time.perf_counter()
    text = _print(module)
    t2 = time.perf_counter()
    ctx = _ctx()
    parsed = Parser(ctx, text).parse_module()
    parsed.verify()
    t3 = time.perf_counter()
    with capsys.disabled():
        print(
            f"\n[resnet18] {len(data) / 1e6:.1f} MB onnx: import {t1 - t0:.2f} s, "
            f"print {t2 - t1:.3f} s, parse+verify {t3 - t2:.3f} s, "
            f"{len(text) / 1e3:.0f} kB of IR"
        )
    contracts = [op for op in parsed.walk() if isinstance(op, nest.ContractOp)]
    assert len(contracts) == 21  # 20 convs (BN folded) + fc
    assert len(text) < 100_000  # weights by name, not inline
    assert _print(parsed) == text


def test_mobilenetv2_imports() -> None:
    module = import_onnx_model(testmodels.mobilenetv2())
    contracts = [op for op in module.walk() if isinstance(op, nest.ContractOp)]
    depthwise = [op for op in contracts if op.bounds()["G"] > 1]
    assert len(contracts) == 53 and len(depthwise) == 17
    assert all(op.bounds()["C"] == 1 and op.bounds()["K"] == 1 for op in depthwise)


# --------------------------------------------------------------------------- #
# Graph handling
# --------------------------------------------------------------------------- #


def test_unnamed_unsorted_nodes_identity_and_constants() -> None:
    f = TensorProto.FLOAT
    nodes = [
        helper.make_node("Relu", ["a"], ["y"]),  # uses 'a', defined below
        helper.make_node("Identity", ["x"], ["i"]),
        helper.make_node("Dropout", ["i"], ["d"]),
        helper.make_node(
            "Constant", [], ["k"], value=numpy_helper.from_array(np.float32([2, 3]))
        ),
        helper.make_node("Mul", ["d", "k"], ["a"]),
    ]
    module = import_onnx_model(
        _model(nodes, [vi("x", f, [1, 2])], [vi("y", f, [1, 2])]), source="m.onnx"
    )
    text = _print(module)
    assert (
        'nest.weight "k" = dense<[2.000000e+00, 3.000000e+00]> : memref<2xf32>' in text
    )
    assert 'nest.elementwise "Mul_4" mul ins(%x, %k)' in text
    assert 'nest.elementwise "Relu_0" relu' in text
    assert "Identity" not in text and "Dropout" not in text


def test_shape_subgraph_is_folded() -> None:
    """Shape -> Gather -> Unsqueeze -> Concat -> Reshape, as exporters write it."""
    f = TensorProto.FLOAT

    def c(name: str, v: list[int]) -> onnx.TensorProto:
        return numpy_helper.from_array(np.array(v, np.int64), name)

    nodes = [
        helper.make_node("Shape", ["x"], ["s"], name="shape"),
        helper.make_node("Gather", ["s", "zero"], ["b"], name="gather", axis=0),
        helper.make_node("Unsqueeze", ["b", "axes"], ["b1"], name="unsq"),
        helper.make_node("Concat", ["b1", "minus1"], ["shape2"], name="cat", axis=0),
        helper.make_node("Reshape", ["x", "shape2"], ["y"], name="reshape"),
    ]
    inits = [
        numpy_helper.from_array(np.array(0, np.int64), "zero"),
        c("axes", [0]),
        c("minus1", [-1]),
    ]
    model = _model(nodes, [vi("x", f, [2, 3, 4])], [vi("y", f, [2, 12])], inits)
    text = _print(import_onnx_model(model))
    assert "nest.weight" not in text
    assert (
        'nest.reshape "reshape" ins(%x) outs(%y) : memref<2x3x4xf32> -> memref<2x12xf32>'
        in text
    )


def test_outputs_that_no_op_writes_are_copied() -> None:
    f = TensorProto.FLOAT
    nodes = [helper.make_node("Identity", ["x"], ["y"], name="id")]
    model = _model(
        nodes,
        [vi("x", f, [2])],
        [vi("y", f, [2]), vi("x", f, [2]), vi("w", f, [2])],
        [_t("w", 2)],
    )
    text = _print(import_onnx_model(model))
    assert text.count("nest.reshape") == 3
    assert 'nest.reshape "y.copy" ins(%x) outs(%y)' in text
    # The output argument is printed first and takes the name %w.
    assert 'nest.reshape "w.copy" ins(%w_1) outs(%w)' in text


def test_variadic_and_broadcast_ops() -> None:
    f = TensorProto.FLOAT
    nodes = [helper.make_node("Sum", ["a", "b", "c"], ["y"], name="sum")]
    model = _model(
        nodes,
        [vi("a", f, [2, 3]), vi("b", f, [3]), vi("c", f, [2, 1])],
        [vi("y", f, [2, 3])],
    )
    text = _print(import_onnx_model(model))
    assert 'nest.elementwise "sum" add ins(%a, %b) outs(%y.partial)' in text
    assert 'nest.elementwise "sum" add ins(%y.partial, %c) outs(%y)' in text


def test_errors_are_miredo_errors_in_the_library() -> None:
    with pytest.raises(MiredoError, match=r"^<memory>: error: the graph has a cycle"):
        import_onnx_model(onnx.load_model_from_string(BAD["cycle"][0]))
    with pytest.raises(MiredoError, match="not a valid ONNX file"):
        import_onnx_bytes(b"\x0a\xff\xff", "x.onnx", None)


def test_builders_are_deterministic() -> None:
    builders: list[Callable[[], onnx.ModelProto]] = [
        testmodels.resnet_block,
        testmodels.mobilenet_block,
        testmodels.transformer_block,
        testmodels.conv_bn_model,
        testmodels.matmul_model,
    ]
    for build in builders:
        assert build().SerializeToString() == build().SerializeToString()
