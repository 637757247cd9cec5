"""A corpus of bad inputs for the console tools, generated in code.

Every :class:`Case` writes its inputs into a fresh directory at test time
(:meth:`Case.make`), names the tool to run (``opt``, ``compile`` or ``sim``) with
its arguments, the output path that must stay untouched, and the fragments that
the one-line error on stderr must contain (the file, ONNX node, op or YAML field
the error concerns). ``test/integration/test_bad_inputs.py`` runs them.

Nothing binary is committed: the ONNX models are built with ``onnx.helper`` from
a small valid convolution (``x[1,2,4,4] -> Conv 'conv1' -> y``), then damaged.

The cases that expose a bug in the tools are listed in :data:`BUGS` at the end
(they run as ``xfail(strict=True)``), the few that run the installed console
scripts in a subprocess in ``_REAL``.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import onnx
import yaml
from onnx import TensorProto, helper, numpy_helper

Tool = Literal["opt", "compile", "sim"]

FAST = ["--arch", "tiny", "--mapper", "heuristic", "--no-cache", "-q", "-j", "1"]
"""miredo-compile options that make a (valid) compile take milliseconds."""


@dataclass
class Env:
    """What a case may use at test time."""

    d: Path
    """The case's own empty directory."""
    compiled: Callable[[], Path]
    """A valid ``miredo-compile`` output directory (shared; copy it, never edit)."""


@dataclass
class Run:
    """One invocation of a tool."""

    argv: list[str]
    output: Path | None
    """The ``-o`` file or OUTDIR, which must not be created or modified."""
    skip: str | None = None
    """Skip the case (with this reason) on this machine."""


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    tool: Tool
    make: Callable[[Env], Run] = field(repr=False)
    expect: tuple[str, ...]
    """Fragments the single stderr line must contain."""
    xfail: str | None = None
    """The bug this case exposes (the case is ``xfail(strict=True)``)."""
    real: bool = False
    """Run the installed console script in a subprocess instead of in-process."""


CASES: list[Case] = []


def case(
    id: str,
    category: str,
    tool: Tool,
    make: Callable[[Env], Run],
    *expect: str,
) -> None:
    assert all(c.id != id for c in CASES), id
    assert expect, id
    CASES.append(Case(id, category, tool, make, tuple(expect)))


# --------------------------------------------------------------------------- #
# ONNX building blocks
# --------------------------------------------------------------------------- #

FLOAT = TensorProto.FLOAT


def vi(name: str, shape: Sequence[int | str | None] | None, elem: int = FLOAT):
    return helper.make_tensor_value_info(
        name, elem, None if shape is None else list(shape)
    )


def arr(shape: Sequence[int], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(tuple(shape)).astype(np.float32)


def init(name: str, shape: Sequence[int], seed: int = 0) -> onnx.TensorProto:
    return numpy_helper.from_array(arr(shape, seed), name)


def model_bytes(
    nodes: Sequence[onnx.NodeProto],
    inputs: Sequence[onnx.ValueInfoProto],
    outputs: Sequence[onnx.ValueInfoProto],
    inits: Sequence[onnx.TensorProto] = (),
    value_info: Sequence[onnx.ValueInfoProto] = (),
    opset: int = 17,
) -> bytes:
    """A serialized model, deliberately not checked (most are invalid)."""
    graph = helper.make_graph(
        list(nodes), "g", list(inputs), list(outputs), list(inits)
    )
    graph.value_info.extend(value_info)
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="corpus"
    )
    model.ir_version = 8
    return model.SerializeToString()


def conv_node(
    x: str = "x", w: str = "w", y: str = "y", name: str = "conv1", **attrs: Any
) -> onnx.NodeProto:
    attrs = {"kernel_shape": [1, 1], **attrs}
    return helper.make_node("Conv", [x, w], [y], name=name, **attrs)


def conv_model(
    xshape: Sequence[int | str | None] | None = (1, 2, 4, 4),
    yshape: Sequence[int | str | None] | None = (1, 2, 4, 4),
    wshape: Sequence[int] = (2, 2, 1, 1),
) -> bytes:
    """The base model: ``x[1,2,4,4] -> Conv 'conv1' (1x1, K=2) -> y``."""
    return model_bytes(
        [conv_node()], [vi("x", xshape)], [vi("y", yshape)], [init("w", wshape)]
    )


def conv_then(
    op: str,
    name: str,
    extra_inputs: Sequence[str] = (),
    inits: Sequence[onnx.TensorProto] = (),
    yshape: Sequence[int] | None = (1, 2, 4, 4),
    domain: str | None = None,
    n_out: int = 1,
    **attrs: Any,
) -> bytes:
    """The base conv followed by one ``op`` node called ``name``."""
    outs = ["y"] + [f"y{i}" for i in range(1, n_out)]
    node = helper.make_node(op, ["c", *extra_inputs], outs, name=name, **attrs)
    if domain is not None:
        node.domain = domain
    opsets = [helper.make_opsetid("", 17)]
    if domain:
        opsets.append(helper.make_opsetid(domain, 1))
    graph = helper.make_graph(
        [conv_node(y="c"), node],
        "g",
        [vi("x", (1, 2, 4, 4))],
        [vi("y", yshape)],
        [init("w", (2, 2, 1, 1)), *inits],
    )
    model = helper.make_model(graph, opset_imports=opsets, producer_name="corpus")
    model.ir_version = 8
    return model.SerializeToString()


# --------------------------------------------------------------------------- #
# Ways to run the tools
# --------------------------------------------------------------------------- #


def write(path: Path, data: bytes | str) -> Path:
    if isinstance(data, str):
        path.write_text(data)
    else:
        path.write_bytes(data)
    return path


def onnx_case(
    id: str,
    category: str,
    tool: Tool,
    data: Callable[[], bytes],
    *expect: str,
) -> None:
    """A bad model ``<id>.onnx`` given to ``miredo-opt`` or ``miredo-compile``."""
    fname = f"{id}.onnx"

    def make(env: Env) -> Run:
        src = write(env.d / fname, data())
        if tool == "opt":
            out = env.d / "out.mlir"
            return Run([str(src), "-o", str(out)], out)
        out = env.d / "out"
        return Run([str(src), "-o", str(out), *FAST], out)

    case(id, category, tool, make, *expect)


def both_tools(
    id: str, category: str, data: Callable[[], bytes], *expect: str, **kw: Any
) -> None:
    """The same bad model through ``miredo-opt`` and ``miredo-compile``."""
    onnx_case(f"{id}-opt", category, "opt", data, *expect, **kw)
    onnx_case(f"{id}-compile", category, "compile", data, *expect, **kw)


# --------------------------------------------------------------------------- #
# Corrupt or truncated ONNX files
# --------------------------------------------------------------------------- #

CORRUPT = "corrupt-onnx"


def _truncated(fraction: float) -> Callable[[], bytes]:
    def data() -> bytes:
        full = conv_model()
        cut = min(len(full) - 1, max(1, int(len(full) * fraction)))
        return full[:cut]

    return data


def _truncated_end(missing: int) -> Callable[[], bytes]:
    return lambda: conv_model()[:-missing]


def _flipped_at(find: Callable[[bytes], int], mask: int = 0xFF) -> Callable[[], bytes]:
    def data() -> bytes:
        full = bytearray(conv_model())
        full[find(bytes(full))] ^= mask
        return bytes(full)

    return data


def _random_bytes(n: int, seed: int) -> Callable[[], bytes]:
    return lambda: random.Random(seed).randbytes(n)


for _k in range(1, 20):
    onnx_case(
        f"trunc-{_k * 5:02d}pct",
        CORRUPT,
        "opt" if _k % 2 else "compile",
        _truncated(_k / 20),
        f"trunc-{_k * 5:02d}pct.onnx",
    )
for _m in (1, 2, 3, 7):
    onnx_case(
        f"trunc-end-minus-{_m}",
        CORRUPT,
        "compile" if _m % 2 else "opt",
        _truncated_end(_m),
        f"trunc-end-minus-{_m}.onnx",
    )
onnx_case("trunc-1-byte", CORRUPT, "opt", _truncated(0.0), "trunc-1-byte.onnx")

# A byte flip inside float data or a name gives another valid model; these hit
# structure: tags, lengths and wire types.
_FLIPS: dict[str, Callable[[bytes], int]] = {
    "first-tag": lambda b: 0,
    "graph-tag": lambda b: b.index(b"\x3a"),  # field 7 (graph), wire type 2
    "graph-length": lambda b: b.index(b"\x3a") + 1,
    "opset-tag": lambda b: b.rindex(b"\x42"),  # field 8 (opset_import)
    "opset-length": lambda b: b.rindex(b"\x42") + 1,
    "node-tag": lambda b: b.index(b"\x0a", b.index(b"\x3a") + 2),
    "last-byte": lambda b: len(b) - 1,
}
for _name, _find in _FLIPS.items():
    onnx_case(
        f"flip-{_name}",
        CORRUPT,
        "compile" if len(_name) % 2 else "opt",
        _flipped_at(_find),
        f"flip-{_name}.onnx",
    )
for _i, (_n, _seed) in enumerate([(1, 1), (16, 2), (100, 3), (1000, 4), (4096, 5)]):
    onnx_case(
        f"random-{_n}-bytes",
        CORRUPT,
        "opt" if _i % 2 else "compile",
        _random_bytes(_n, _seed),
        f"random-{_n}-bytes.onnx",
    )
both_tools("empty-file", CORRUPT, lambda: b"", "empty-file-", "empty")
both_tools(
    "text-file",
    CORRUPT,
    lambda: b"this is not an ONNX model, just some text\n" * 3,
    "text-file-",
)
both_tools(
    "mlir-text-named-onnx",
    CORRUPT,
    lambda: b"func.func @f() {\n  func.return\n}\n",
    "mlir-text-named-onnx-",
)
both_tools("json-named-onnx", CORRUPT, lambda: b'{"graph": {}}\n', "json-named-onnx-")
both_tools(
    "gzipped-model",
    CORRUPT,
    lambda: __import__("gzip").compress(conv_model(), mtime=0),
    "gzipped-model-",
)
both_tools(
    "tensor-proto-not-model",
    CORRUPT,
    lambda: init("w", (2, 2, 1, 1)).SerializeToString(),
    "tensor-proto-not-model-",
)


def _no_graph() -> bytes:
    m = onnx.ModelProto()
    m.ir_version = 8
    m.opset_import.append(helper.make_opsetid("", 17))
    return m.SerializeToString()


def _no_opset() -> bytes:
    m = onnx.ModelProto()
    m.ParseFromString(conv_model())
    del m.opset_import[:]
    return m.SerializeToString()


def _ir_version_zero() -> bytes:
    m = onnx.ModelProto()
    m.ParseFromString(conv_model())
    m.ir_version = 0
    return m.SerializeToString()


both_tools("model-without-graph", CORRUPT, _no_graph, "model-without-graph-")
both_tools("model-without-opset", CORRUPT, _no_opset, "model-without-opset-", "opset")
both_tools("ir-version-zero", CORRUPT, _ir_version_zero, "ir-version-zero-")


def _onnx_dir(id: str, tool: Tool) -> None:
    def make(env: Env) -> Run:
        src = env.d / f"{id}.onnx"
        src.mkdir()
        (src / "model.onnx").write_bytes(conv_model())
        if tool == "opt":
            out = env.d / "out.mlir"
            return Run([str(src), "-o", str(out)], out)
        out = env.d / "out"
        return Run([str(src), "-o", str(out), *FAST], out)

    case(id, CORRUPT, tool, make, f"{id}.onnx", "directory")


_onnx_dir("directory-named-onnx-opt", "opt")
_onnx_dir("directory-named-onnx-compile", "compile")


def _missing_onnx(id: str, tool: Tool) -> None:
    def make(env: Env) -> Run:
        src = env.d / f"{id}.onnx"
        if tool == "opt":
            out = env.d / "out.mlir"
            return Run([str(src), "-o", str(out)], out)
        out = env.d / "out"
        return Run([str(src), "-o", str(out), *FAST], out)

    case(id, CORRUPT, tool, make, f"{id}.onnx", "no such file")


_missing_onnx("missing-model-opt", "opt")
_missing_onnx("missing-model-compile", "compile")


# --------------------------------------------------------------------------- #
# Unsupported ops
# --------------------------------------------------------------------------- #

UNSUPPORTED = "unsupported-op"

_UNARY_UNSUPPORTED = [
    "LeakyRelu",
    "Elu",
    "Selu",
    "Softplus",
    "Softsign",
    "HardSigmoid",
    "HardSwish",
    "Log",
    "Sin",
    "Cos",
    "Sign",
    "Round",
    "Celu",
    "Mish",
]
for _i, _op in enumerate(_UNARY_UNSUPPORTED):
    _node = f"{_op.lower()}_node"
    onnx_case(
        f"unsupported-{_op}",
        UNSUPPORTED,
        "opt" if _i % 2 else "compile",
        (lambda op=_op, node=_node: conv_then(op, node)),
        f"node '{_node}' ({_op})",
        f"unsupported op '{_op}'",
    )

_OTHER_UNSUPPORTED: list[tuple[str, Callable[[], bytes], str]] = [
    (
        "Resize",
        lambda: conv_then(
            "Resize",
            "resize1",
            ["", "scales"],
            [numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")],
            yshape=(1, 2, 8, 8),
        ),
        "resize1",
    ),
    (
        "Pad",
        lambda: conv_then(
            "Pad",
            "pad1",
            ["pads"],
            [numpy_helper.from_array(np.array([0, 0, 1, 1] * 2, np.int64), "pads")],
            yshape=(1, 2, 6, 6),
        ),
        "pad1",
    ),
    (
        "ConvTranspose",
        lambda: conv_then(
            "ConvTranspose", "deconv1", ["wt"], [init("wt", (2, 2, 1, 1))]
        ),
        "deconv1",
    ),
    (
        "InstanceNormalization",
        lambda: conv_then(
            "InstanceNormalization",
            "inorm1",
            ["s", "b"],
            [init("s", (2,)), init("b", (2,))],
        ),
        "inorm1",
    ),
    (
        "LRN",
        lambda: conv_then("LRN", "lrn1", size=3),
        "lrn1",
    ),
    (
        "TopK",
        lambda: conv_then(
            "TopK",
            "topk1",
            ["k"],
            [numpy_helper.from_array(np.array([1], np.int64), "k")],
            yshape=(1, 2, 4, 1),
            n_out=2,
        ),
        "topk1",
    ),
    (
        "ArgMax",
        lambda: conv_then("ArgMax", "argmax1", yshape=(1, 1, 4, 4), axis=1),
        "argmax1",
    ),
    (
        "DepthToSpace",
        lambda: conv_then("DepthToSpace", "d2s1", yshape=(1, 2, 4, 4), blocksize=1),
        "d2s1",
    ),
    (
        "Tile",
        lambda: conv_then(
            "Tile",
            "tile1",
            ["reps"],
            [numpy_helper.from_array(np.array([1, 1, 1, 1], np.int64), "reps")],
        ),
        "tile1",
    ),
    (
        "PRelu",
        lambda: conv_then("PRelu", "prelu1", ["slope"], [init("slope", (1, 2, 1, 1))]),
        "prelu1",
    ),
    (
        "CumSum",
        lambda: conv_then(
            "CumSum",
            "cumsum1",
            ["axis"],
            [numpy_helper.from_array(np.array(1, np.int64), "axis")],
        ),
        "cumsum1",
    ),
    (
        "Einsum",
        lambda: conv_then("Einsum", "einsum1", equation="nchw->nchw"),
        "einsum1",
    ),
]
for _i, (_op, _data, _node) in enumerate(_OTHER_UNSUPPORTED):
    onnx_case(
        f"unsupported-{_op}",
        UNSUPPORTED,
        "compile" if _i % 2 else "opt",
        _data,
        f"node '{_node}' ({_op})",
        f"unsupported op '{_op}'",
    )
both_tools(
    "unsupported-custom-domain",
    UNSUPPORTED,
    lambda: conv_then("FusedGelu", "fused1", domain="com.microsoft"),
    "node 'fused1'",
    "com.microsoft.FusedGelu",
)


def _fold_only_on_variable() -> bytes:
    idx = numpy_helper.from_array(np.array([0], np.int64), "idx")
    return conv_then("Gather", "gather1", ["idx"], [idx], yshape=(1, 2, 4, 4))


both_tools(
    "fold-only-op-on-variable",
    UNSUPPORTED,
    _fold_only_on_variable,
    "node 'gather1' (Gather)",
)


def _unnamed_unsupported() -> bytes:
    node = helper.make_node("LSTM", ["x"], ["y"])  # no name: named LSTM_0
    return model_bytes([node], [vi("x", (1, 1, 4))], [vi("y", None)])


onnx_case(
    "unsupported-unnamed-LSTM",
    UNSUPPORTED,
    "opt",
    _unnamed_unsupported,
    "node 'LSTM_0' (LSTM)",
    "unsupported op 'LSTM'",
)


# --------------------------------------------------------------------------- #
# Dynamic or unknown dims; zero or negative dims
# --------------------------------------------------------------------------- #

DYNAMIC = "dynamic-shape"

_DYNAMIC_CASES: list[tuple[str, Callable[[], bytes], tuple[str, ...]]] = [
    (
        "dyn-batch-param",
        lambda: conv_model(xshape=("N", 2, 4, 4), yshape=("N", 2, 4, 4)),
        ("tensor 'x'", "'N'"),
    ),
    (
        "dyn-height-param",
        lambda: conv_model(xshape=(1, 2, "H", 4), yshape=(1, 2, "H", 4)),
        ("tensor 'x'", "'H'"),
    ),
    (
        "dyn-unnamed-dim",
        lambda: conv_model(xshape=(1, 2, None, 4), yshape=(1, 2, None, 4)),
        ("tensor 'x'", "dynamic"),
    ),
    (
        "dyn-all-params",
        lambda: conv_model(xshape=("N", "C", "H", "W"), yshape=("N", 2, "H", "W")),
        ("'x'",),
    ),
    ("dyn-input-no-rank", lambda: conv_model(xshape=None), ("'x'", "unknown shape")),
    (
        "dyn-relu-batch",
        lambda: model_bytes(
            [helper.make_node("Relu", ["x"], ["y"], name="relu1")],
            [vi("x", ("N", 8))],
            [vi("y", ("N", 8))],
        ),
        ("tensor 'x'", "'N'"),
    ),
]


def _dyn_reshape() -> bytes:
    # Reshape to a shape that is a graph input: unknown at compile time.
    node = helper.make_node("Reshape", ["c", "shape"], ["y"], name="reshape1")
    return model_bytes(
        [conv_node(y="c"), node],
        [vi("x", (1, 2, 4, 4)), vi("shape", (2,), TensorProto.INT64)],
        [vi("y", ("A", "B"))],
        [init("w", (2, 2, 1, 1))],
    )


def _dyn_matmul() -> bytes:
    node = helper.make_node("MatMul", ["a", "b"], ["y"], name="mm1")
    return model_bytes(
        [node],
        [vi("a", ("M", 4))],
        [vi("y", ("M", 3))],
        [init("b", (4, 3))],
    )


def _dyn_gemm() -> bytes:
    node = helper.make_node("Gemm", ["a", "b"], ["y"], name="fc1", transB=1)
    return model_bytes(
        [node], [vi("a", ("batch", 4))], [vi("y", ("batch", 3))], [init("b", (3, 4))]
    )


def _dyn_value_info() -> bytes:
    relu = helper.make_node("Relu", ["c"], ["y"], name="relu1")
    return model_bytes(
        [conv_node(y="c"), relu],
        [vi("x", ("B", 2, 4, 4))],
        [vi("y", ("B", 2, 4, 4))],
        [init("w", (2, 2, 1, 1))],
        value_info=[vi("c", ("B", 2, 4, 4))],
    )


def _sequence_input() -> bytes:
    seq = helper.make_tensor_sequence_value_info("x", FLOAT, [1, 2, 4, 4])
    relu = helper.make_node("Relu", ["x"], ["y"], name="relu1")
    return model_bytes([relu], [seq], [vi("y", (1, 2, 4, 4))])


_DYNAMIC_CASES += [
    ("dyn-reshape-runtime-shape", _dyn_reshape, ("tensor 'y'", "'A'")),
    ("dyn-matmul-rows", _dyn_matmul, ("'a'", "'M'")),
    ("dyn-gemm-batch", _dyn_gemm, ("'a'", "'batch'")),
    ("dyn-value-info-chain", _dyn_value_info, ("'x'", "'B'")),
    ("dyn-sequence-input", _sequence_input, ("'x'", "not a tensor")),
]
for _i, (_id, _data, _expect) in enumerate(_DYNAMIC_CASES):
    onnx_case(_id, DYNAMIC, "opt" if _i % 2 else "compile", _data, *_expect)

ZERO = "zero-negative-dim"


def _zero_weight() -> bytes:
    w = TensorProto()
    w.name, w.data_type = "w", FLOAT
    w.dims.extend([0, 2, 1, 1])
    return model_bytes(
        [conv_node()], [vi("x", (1, 2, 4, 4))], [vi("y", (1, 0, 4, 4))], [w]
    )


def _negative_weight_dims() -> bytes:
    w = TensorProto()
    w.name, w.data_type = "w", FLOAT
    w.dims.extend([2, -2, 1, 1])
    return model_bytes(
        [conv_node()], [vi("x", (1, 2, 4, 4))], [vi("y", (1, 2, 4, 4))], [w]
    )


def _zero_matmul() -> bytes:
    node = helper.make_node("MatMul", ["a", "b"], ["y"], name="mm1")
    b = TensorProto()
    b.name, b.data_type = "b", FLOAT
    b.dims.extend([0, 3])
    return model_bytes([node], [vi("a", (2, 0))], [vi("y", (2, 3))], [b])


def _zero_value_info() -> bytes:
    relu = helper.make_node("Relu", ["c"], ["y"], name="relu1")
    return model_bytes(
        [conv_node(y="c"), relu],
        [vi("x", (1, 2, 4, 4))],
        [vi("y", (1, 2, 4, 4))],
        [init("w", (2, 2, 1, 1))],
        value_info=[vi("c", (1, 2, 0, 4))],
    )


def _reshape_allowzero() -> bytes:
    shape = numpy_helper.from_array(np.array([1, 0, 32], np.int64), "shape")
    node = helper.make_node(
        "Reshape", ["c", "shape"], ["y"], name="reshape1", allowzero=1
    )
    return model_bytes(
        [conv_node(y="c"), node],
        [vi("x", (1, 2, 4, 4))],
        [vi("y", (1, 0, 32))],
        [init("w", (2, 2, 1, 1)), shape],
    )


_ZERO_CASES: list[tuple[str, Callable[[], bytes], tuple[str, ...]]] = [
    (
        "zero-batch",
        lambda: conv_model(xshape=(0, 2, 4, 4), yshape=(0, 2, 4, 4)),
        ("'x'", "zero or negative"),
    ),
    (
        "zero-height",
        lambda: conv_model(xshape=(1, 2, 0, 4), yshape=(1, 2, 0, 4)),
        ("'x'", "zero or negative"),
    ),
    (
        "zero-all",
        lambda: model_bytes(
            [helper.make_node("Relu", ["x"], ["y"], name="relu1")],
            [vi("x", (0, 0))],
            [vi("y", (0, 0))],
        ),
        ("'x'", "zero or negative"),
    ),
    (
        "negative-batch",
        lambda: conv_model(xshape=(-1, 2, 4, 4), yshape=(-1, 2, 4, 4)),
        ("'x'",),
    ),
    (
        "negative-channels",
        lambda: conv_model(xshape=(1, -5, 4, 4), yshape=(1, 2, 4, 4)),
        ("'x'",),
    ),
    (
        "zero-output-dim",
        lambda: conv_model(yshape=(1, 2, 4, 0)),
        ("node name: conv1", "(0)"),
    ),
    (
        "negative-output-dim",
        lambda: conv_model(yshape=(1, 2, -4, 4)),
        ("node name: conv1", "(-4)"),
    ),
    ("zero-weight-dim", _zero_weight, ("initializer 'w'", "zero or negative")),
    ("negative-weight-dim", _negative_weight_dims, ("'w'",)),
    ("zero-matmul-inner", _zero_matmul, ("'b'",)),
    ("zero-value-info", _zero_value_info, ("node name: relu1", "(0)")),
    ("zero-reshape-allowzero", _reshape_allowzero, ("tensor 'y'", "[1, 0, 32]")),
]
for _i, (_id, _data, _expect) in enumerate(_ZERO_CASES):
    onnx_case(_id, ZERO, "compile" if _i % 2 else "opt", _data, *_expect)


# --------------------------------------------------------------------------- #
# Mismatched initializer shapes
# --------------------------------------------------------------------------- #

INIT = "initializer-shape"


def _short_raw_data() -> bytes:
    w = numpy_helper.from_array(arr((2, 2, 1, 1)), "w")
    w.raw_data = w.raw_data[:-4]
    return model_bytes(
        [conv_node()], [vi("x", (1, 2, 4, 4))], [vi("y", (1, 2, 4, 4))], [w]
    )


def _long_raw_data() -> bytes:
    w = numpy_helper.from_array(arr((2, 2, 1, 1)), "w")
    w.raw_data = w.raw_data + b"\0" * 8
    return model_bytes(
        [conv_node()], [vi("x", (1, 2, 4, 4))], [vi("y", (1, 2, 4, 4))], [w]
    )


def _float_data_count() -> bytes:
    w = TensorProto()
    w.name, w.data_type = "w", FLOAT
    w.dims.extend([2, 2, 1, 1])
    w.float_data.extend([1.0, 2.0, 3.0])
    return model_bytes(
        [conv_node()], [vi("x", (1, 2, 4, 4))], [vi("y", (1, 2, 4, 4))], [w]
    )


def _init_vs_input(shape: Sequence[int]) -> Callable[[], bytes]:
    def data() -> bytes:
        return model_bytes(
            [conv_node()],
            [vi("x", (1, 2, 4, 4)), vi("w", shape)],
            [vi("y", (1, 2, 4, 4))],
            [init("w", (2, 2, 1, 1))],
        )

    return data


def _gemm_mismatch() -> bytes:
    node = helper.make_node("Gemm", ["a", "b", "c"], ["y"], name="fc1", transB=1)
    return model_bytes(
        [node],
        [vi("a", (1, 4))],
        [vi("y", (1, 3))],
        [init("b", (3, 5)), init("c", (3,))],
    )


def _matmul_mismatch() -> bytes:
    node = helper.make_node("MatMul", ["a", "b"], ["y"], name="mm1")
    return model_bytes(
        [node], [vi("a", (2, 4))], [vi("y", (2, 3))], [init("b", (5, 3))]
    )


def _bias_add_mismatch() -> bytes:
    add = helper.make_node("Add", ["c", "bias"], ["y"], name="add1")
    return model_bytes(
        [conv_node(y="c"), add],
        [vi("x", (1, 2, 4, 4))],
        [vi("y", (1, 2, 4, 4))],
        [init("w", (2, 2, 1, 1)), init("bias", (1, 3, 1, 1))],
    )


def _conv_bias_mismatch() -> bytes:
    node = helper.make_node(
        "Conv", ["x", "w", "b"], ["y"], name="conv1", kernel_shape=[1, 1]
    )
    return model_bytes(
        [node],
        [vi("x", (1, 2, 4, 4))],
        [vi("y", (1, 2, 4, 4))],
        [init("w", (2, 2, 1, 1)), init("b", (5,))],
    )


def _bn_mismatch() -> bytes:
    bn = helper.make_node(
        "BatchNormalization", ["c", "s", "b", "m", "v"], ["y"], name="bn1"
    )
    return model_bytes(
        [conv_node(y="c"), bn],
        [vi("x", (1, 2, 4, 4))],
        [vi("y", (1, 2, 4, 4))],
        [
            init("w", (2, 2, 1, 1)),
            init("s", (3,)),
            init("b", (2,)),
            init("m", (2,)),
            numpy_helper.from_array(np.ones(2, np.float32), "v"),
        ],
    )


_INIT_CASES: list[tuple[str, Callable[[], bytes], tuple[str, ...]]] = [
    (
        "conv-weight-channels",
        lambda: conv_model(wshape=(2, 3, 1, 1)),
        ("node 'conv1'",),
    ),
    ("conv-weight-rank3", lambda: conv_model(wshape=(2, 2, 1)), ("conv1",)),
    (
        "conv-weight-kernel-vs-attr",
        lambda: conv_model(wshape=(2, 2, 3, 3)),
        ("node 'conv1'",),
    ),
    ("raw-data-too-short", _short_raw_data, ("initializer 'w'",)),
    ("raw-data-too-long", _long_raw_data, ("initializer 'w'",)),
    ("float-data-count", _float_data_count, ("initializer 'w'",)),
    (
        "init-vs-input-shape",
        _init_vs_input((2, 2, 3, 3)),
        ("initializer 'w'", "graph input"),
    ),
    ("init-vs-input-rank", _init_vs_input((4,)), ("initializer 'w'",)),
    ("gemm-weight-mismatch", _gemm_mismatch, ("fc1",)),
    ("matmul-weight-mismatch", _matmul_mismatch, ("mm1",)),
    ("bias-add-not-broadcastable", _bias_add_mismatch, ("add1",)),
    ("conv-bias-length", _conv_bias_mismatch, ("conv1",)),
    ("batchnorm-scale-length", _bn_mismatch, ("bn1",)),
]
for _i, (_id, _data, _expect) in enumerate(_INIT_CASES):
    onnx_case(_id, INIT, "opt" if _i % 2 else "compile", _data, *_expect)
onnx_case("conv-bias-length-compile", INIT, "compile", _conv_bias_mismatch, "conv1")


# --------------------------------------------------------------------------- #
# Cycles; missing inputs and undefined tensors
# --------------------------------------------------------------------------- #

CYCLE = "cyclic-graph"


def _cycle(n: int, with_conv: bool = False) -> Callable[[], bytes]:
    """``x -> Add(x, t_n) -> t_1 -> Relu -> t_2 ... -> t_n`` (a loop of n nodes)."""

    def data() -> bytes:
        nodes = [helper.make_node("Add", ["x", f"t{n}"], ["t1"], name="loop0")]
        for i in range(1, n):
            op = "Relu" if not with_conv or i != 1 else "Conv"
            ins = [f"t{i}"] + (["w"] if op == "Conv" else [])
            nodes.append(helper.make_node(op, ins, [f"t{i + 1}"], name=f"loop{i}"))
        nodes.append(helper.make_node("Relu", [f"t{n}"], ["y"], name="tail"))
        inits = [init("w", (2, 2, 1, 1))] if with_conv else []
        if with_conv:
            nodes[1].attribute.extend([helper.make_attribute("kernel_shape", [1, 1])])
        return model_bytes(
            nodes, [vi("x", (1, 2, 4, 4))], [vi("y", (1, 2, 4, 4))], inits
        )

    return data


def _self_loop() -> bytes:
    node = helper.make_node("Add", ["x", "t"], ["t"], name="selfloop")
    relu = helper.make_node("Relu", ["t"], ["y"], name="tail")
    return model_bytes([node, relu], [vi("x", (1, 4))], [vi("y", (1, 4))])


def _cycle_reversed() -> bytes:
    a = helper.make_node("Relu", ["b_out"], ["a_out"], name="node_a")
    b = helper.make_node("Relu", ["a_out"], ["b_out"], name="node_b")
    y = helper.make_node("Add", ["x", "a_out"], ["y"], name="sink")
    return model_bytes([y, b, a], [vi("x", (1, 4))], [vi("y", (1, 4))])


_CYCLES: list[tuple[str, Callable[[], bytes], tuple[str, ...]]] = [
    ("cycle-2-nodes", _cycle(2), ("cycle", "'loop0'", "'loop1'")),
    ("cycle-3-nodes", _cycle(3), ("cycle", "'loop2'")),
    ("cycle-5-nodes", _cycle(5), ("cycle", "'loop4'")),
    ("cycle-through-conv", _cycle(3, with_conv=True), ("cycle", "'loop1'")),
    ("cycle-self-loop", _self_loop, ("'selfloop'",)),
    ("cycle-unordered", _cycle_reversed, ("cycle", "'node_a'", "'node_b'")),
]
for _i, (_id, _data, _expect) in enumerate(_CYCLES):
    onnx_case(_id, CYCLE, "compile" if _i % 2 else "opt", _data, *_expect)

MISSING = "undefined-tensor"


def _undefined_input() -> bytes:
    relu = helper.make_node("Relu", ["ghost"], ["y"], name="relu1")
    return model_bytes(
        [conv_node(y="c"), relu],
        [vi("x", (1, 2, 4, 4))],
        [vi("y", (1, 2, 4, 4))],
        [init("w", (2, 2, 1, 1))],
    )


def _missing_weight() -> bytes:
    return model_bytes([conv_node()], [vi("x", (1, 2, 4, 4))], [vi("y", (1, 2, 4, 4))])


def _unproduced_output() -> bytes:
    return model_bytes(
        [conv_node()],
        [vi("x", (1, 2, 4, 4))],
        [vi("y", (1, 2, 4, 4)), vi("phantom", (1, 2, 4, 4))],
        [init("w", (2, 2, 1, 1))],
    )


def _two_producers() -> bytes:
    relu = helper.make_node("Relu", ["x"], ["y"], name="relu_dup")
    return model_bytes(
        [conv_node(), relu],
        [vi("x", (1, 2, 4, 4))],
        [vi("y", (1, 2, 4, 4))],
        [init("w", (2, 2, 1, 1))],
    )


def _empty_required_input() -> bytes:
    node = helper.make_node("Conv", ["x", ""], ["y"], name="conv1", kernel_shape=[1, 1])
    return model_bytes(
        [node],
        [vi("x", (1, 2, 4, 4))],
        [vi("y", (1, 2, 4, 4))],
        [init("w", (2, 2, 1, 1))],
    )


def _undefined_bias() -> bytes:
    node = helper.make_node("Gemm", ["a", "b", "nobias"], ["y"], name="fc1", transB=1)
    return model_bytes(
        [node], [vi("a", (1, 4))], [vi("y", (1, 3))], [init("b", (3, 4))]
    )


_MISSING: list[tuple[str, Callable[[], bytes], tuple[str, ...]]] = [
    ("undefined-node-input", _undefined_input, ("'ghost'",)),
    ("undefined-weight", _missing_weight, ("'w'",)),
    ("unproduced-graph-output", _unproduced_output, ("'phantom'",)),
    ("tensor-with-two-producers", _two_producers, ("'y'",)),
    ("empty-required-input", _empty_required_input, ("conv1",)),
    ("undefined-gemm-bias", _undefined_bias, ("'nobias'",)),
]
for _i, (_id, _data, _expect) in enumerate(_MISSING):
    onnx_case(_id, MISSING, "opt" if _i % 2 else "compile", _data, *_expect)


# --------------------------------------------------------------------------- #
# Hardware YAML
# --------------------------------------------------------------------------- #

YAML = "hardware-yaml"


def _tiny_text() -> str:
    return resources.files("miredo.arch").joinpath("tiny.yaml").read_text()


def tiny_arch() -> dict[str, Any]:
    return yaml.safe_load(_tiny_text())


def _set(doc: Any, path: str, value: Any) -> None:
    """Set (or with ``value is DELETE`` remove) ``a.b[1].c`` in ``doc``."""
    keys: list[str | int] = []
    for part in path.replace("]", "").split("."):
        name, *idx = part.split("[")
        if name:
            keys.append(name)
        keys.extend(int(i) for i in idx)
    for k in keys[:-1]:
        doc = doc[k]
    if value is DELETE:
        del doc[keys[-1]]
    else:
        doc[keys[-1]] = value


DELETE = object()


def _arch_text(edits: Sequence[tuple[str, Any]]) -> str:
    doc = tiny_arch()
    for path, value in edits:
        _set(doc, path, value)
    return yaml.safe_dump(doc, sort_keys=False)


def _compile_with_arch(env: Env, arch: str) -> Run:
    src = write(env.d / "model.onnx", conv_model())
    out = env.d / "out"
    args = [str(src), "-o", str(out), "--arch", arch, "--mapper", "heuristic"]
    return Run([*args, "--no-cache", "-q", "-j", "1"], out)


def _opt_with_arch(env: Env, arch: str) -> Run:
    src = write(env.d / "model.mlir", NEST_CONV)
    out = env.d / "out.mlir"
    opts = f'arch="{arch}" mapper=heuristic'  # a path must be quoted
    return Run([str(src), f"--miredo-dataflow={opts}", "-o", str(out)], out)


def yaml_case(
    id: str,
    text: Callable[[], str],
    *expect: str,
    tool: Tool = "compile",
    names_file: bool = True,
) -> None:
    fname = f"{id}.yaml"

    def make(env: Env) -> Run:
        path = write(env.d / fname, text())
        runner = _compile_with_arch if tool == "compile" else _opt_with_arch
        return runner(env, str(path))

    files = (fname,) if names_file else ()
    case(id, YAML, tool, make, *files, *expect)


def arch_edit(
    id: str, edits: Sequence[tuple[str, Any]], field_: str, *more: str, **kw: Any
) -> None:
    yaml_case(id, lambda: _arch_text(edits), field_, *more, **kw)


_YAML_EDITS: list[tuple[Any, ...]] = [
    # missing fields
    ("missing-name", [("name", DELETE)], ": name"),
    ("missing-clock", [("clock_mhz", DELETE)], ": clock_mhz"),
    ("missing-leakage", [("leakage_pj_per_cycle", DELETE)], ": leakage_pj_per_cycle"),
    ("missing-precision", [("precision", DELETE)], ": precision"),
    ("missing-precision-input", [("precision.input", DELETE)], ": precision.input"),
    ("missing-macro", [("macro", DELETE)], ": macro"),
    ("missing-macro-rows", [("macro.rows", DELETE)], ": macro.rows"),
    ("missing-macro-level", [("macro.level", DELETE)], ": macro.level"),
    ("missing-simd-lanes", [("simd.lanes", DELETE)], ": simd.lanes"),
    ("missing-levels", [("levels", DELETE)], ": levels"),
    ("missing-spatial", [("spatial", DELETE)], ": spatial"),
    (
        "missing-level-capacity",
        [("levels[1].capacity_bits", DELETE)],
        ": levels[1].capacity_bits",
    ),
    ("missing-level-operands", [("levels[2].operands", DELETE)], "levels[2].operands"),
    ("missing-level-name", [("levels[3].name", DELETE)], ": levels[3].name"),
    ("missing-axis-kind", [("spatial[0].kind", DELETE)], ": spatial[0].kind"),
    ("missing-axis-dims", [("spatial[1].dims", DELETE)], ": spatial[1].dims"),
    # wrong types
    ("type-clock-string", [("clock_mhz", "fast")], ": clock_mhz"),
    ("type-precision-string", [("precision.input", "8")], ": precision.input"),
    ("type-precision-float", [("precision.weight", 4.5)], ": precision.weight"),
    ("type-macro-rows-list", [("macro.rows", [2])], ": macro.rows"),
    ("type-levels-mapping", [("levels", {"DRAM": 1})], ": levels"),
    ("type-level-string", [("levels[1]", "GB")], ": levels[1]"),
    ("type-capacity-string", [("levels[1].capacity_bits", "256")], "capacity_bits"),
    ("type-per-core-string", [("levels[2].per_core", "yes")], "levels[2].per_core"),
    ("type-double-buffer-int", [("levels[2].double_buffer", 1)], "double_buffer"),
    ("type-operands-string", [("levels[1].operands", "IWO")], "levels[1].operands"),
    ("type-axis-size-float", [("spatial[0].size", 2.0)], ": spatial[0].size"),
    ("type-name-int", [("name", 123)], ": name"),
    (
        "type-weight-write-blocks",
        [("macro.weight_write_blocks_compute", "no")],
        "macro",
    ),
    # zero or negative sizes, capacities, bandwidths, energies
    ("zero-clock", [("clock_mhz", 0)], ": clock_mhz"),
    ("negative-clock", [("clock_mhz", -100)], ": clock_mhz"),
    ("negative-leakage", [("leakage_pj_per_cycle", -1.0)], ": leakage_pj_per_cycle"),
    ("zero-precision", [("precision.weight", 0)], ": precision.weight"),
    ("negative-psum", [("precision.psum", -8)], ": precision.psum"),
    ("zero-macro-rows", [("macro.rows", 0)], ": macro.rows"),
    ("negative-macro-cols", [("macro.cols", -2)], ": macro.cols"),
    ("zero-input-rate", [("macro.input_bits_per_cycle", 0)], "input_bits_per_cycle"),
    ("negative-mvm-energy", [("macro.mvm_energy_pj", -4.0)], "mvm_energy_pj"),
    ("zero-simd-lanes", [("simd.lanes", 0)], ": simd.lanes"),
    ("zero-capacity", [("levels[2].capacity_bits", 0)], ": levels[2].capacity_bits"),
    (
        "negative-capacity",
        [("levels[4].capacity_bits", -16)],
        ": levels[4].capacity_bits",
    ),
    ("zero-bandwidth", [("levels[0].bw_bits_per_cycle", 0)], "levels[0].bw_bits"),
    ("negative-bandwidth", [("levels[3].bw_bits_per_cycle", -8)], "levels[3].bw_bits"),
    ("negative-read-energy", [("levels[1].read_pj_per_bit", -1)], "levels[1].read"),
    ("zero-axis-size", [("spatial[0].size", 0)], ": spatial[0].size"),
    ("negative-axis-size", [("spatial[2].size", -2)], ": spatial[2].size"),
    # dims, names and kinds
    ("unknown-dim-on-axis", [("spatial[1].dims", ["C", "X"])], ": spatial[1].dims"),
    ("lowercase-dim-on-axis", [("spatial[2].dims", ["k"])], ": spatial[2].dims"),
    ("duplicate-dim-on-axis", [("spatial[0].dims", ["K", "K"])], ": spatial[0].dims"),
    ("unknown-axis-kind", [("spatial[1].kind", "banana")], ": spatial[1].kind"),
    ("unknown-operand", [("levels[1].operands", ["I", "X"])], "levels[1].operands"),
    ("duplicate-operand", [("levels[2].operands", ["I", "I"])], "levels[2].operands"),
    ("empty-operands", [("levels[2].operands", [])], ": levels[2].operands"),
    ("unknown-macro-level", [("macro.level", "Nope")], ": macro.level", "'Nope'"),
    ("macro-level-not-innermost-w", [("macro.level", "GB")], ": macro.level"),
    ("macro-level-holds-no-w", [("macro.level", "IReg")], ": macro.level"),
    ("duplicate-level-name", [("levels[3].name", "LB")], ": levels[3].name"),
    ("duplicate-axis-name", [("spatial[2].name", "rows")], ": spatial[2].name"),
    ("two-cores-axes", [("spatial[1].kind", "cores")], ": spatial"),
    ("no-cores-axis", [("spatial[0].kind", "array")], ": spatial"),
    ("array-size-mismatch", [("spatial[1].size", 4)], ": spatial"),
    ("unknown-top-field", [("colour", "blue")], ": colour"),
    ("unknown-macro-field", [("macro.speed", 3)], ": macro.speed"),
    ("empty-levels", [("levels", [])], ": levels"),
    ("empty-spatial", [("spatial", [])], ": spatial"),
    # level structure
    ("outermost-partial-operands", [("levels[0].operands", ["I", "W"])], "levels[0]"),
    ("outermost-bypass", [("levels[0].bypass", True)], ": levels[0].bypass"),
    ("outermost-per-core", [("levels[0].per_core", True)], ": levels[0].per_core"),
    ("shared-inside-per-core", [("levels[3].per_core", False)], "per_core"),
    ("inner-unbounded", [("levels[2].capacity_bits", None)], "levels[2].capacity"),
]
for _i, (_id, _edits, *_fields) in enumerate(_YAML_EDITS):
    arch_edit(f"arch-{_id}", _edits, *_fields, tool="opt" if _i % 4 == 3 else "compile")

# a capacity too small for any tile: the compile fails naming the layer and level
_INFEASIBLE: list[tuple[str, str, int]] = [
    ("ireg", "levels[3].capacity_bits", 2),
    ("macro", "levels[4].capacity_bits", 2),
    ("oreg", "levels[5].capacity_bits", 4),
    ("lb", "levels[2].capacity_bits", 2),
]
for _i, (_id, _path, _bits) in enumerate(_INFEASIBLE):
    _level = tiny_arch()["levels"][int(_path[7])]["name"]
    yaml_case(
        f"arch-capacity-too-small-{_id}",
        (lambda p=_path, b=_bits: _arch_text([(p, b)])),
        "layer conv1",
        f"level {_level}:",
        "capacity",
        tool="opt" if _i == 3 else "compile",
        names_file=False,
    )

yaml_case("arch-top-is-list", lambda: "- name: tiny\n- clock_mhz: 100\n", "<top>")
yaml_case("arch-top-is-scalar", lambda: "tiny\n", "<top>")
yaml_case("arch-empty-file", lambda: "", "<top>")
yaml_case("arch-comment-only", lambda: "# nothing here\n", "<top>", tool="opt")
yaml_case(
    "arch-syntax-unclosed-bracket",
    lambda: _tiny_text().replace("dims: [K, P]", "dims: [K, P", 1),
    "invalid YAML syntax",
)
yaml_case(
    "arch-syntax-bad-indent",
    lambda: "name: tiny\n  clock_mhz: 100\n leakage: 1\n",
    "invalid YAML syntax",
)
yaml_case(
    "arch-syntax-tab",
    lambda: "name: tiny\nmacro:\n\trows: 2\n",
    "invalid YAML syntax",
    tool="opt",
)
yaml_case(
    "arch-binary-garbage",
    lambda: "\x00\x01\x02 not yaml \x7f",
    "invalid YAML syntax",
)


def _arch_path_case(
    id: str,
    path: Callable[[Env], str],
    *expect: str,
    tool: Tool = "compile",
    skip_if_root: bool = False,
) -> None:
    def make(env: Env) -> Run:
        arch = path(env)
        runner = _compile_with_arch if tool == "compile" else _opt_with_arch
        run = runner(env, arch)
        if skip_if_root and os.access(arch, os.R_OK):
            run.skip = "running as root: chmod 000 does not stop reading"
        return run

    case(id, YAML, tool, make, *expect)


def _arch_dir(env: Env) -> str:
    p = env.d / "archdir.yaml"
    p.mkdir()
    return str(p)


def _arch_unreadable(env: Env) -> str:
    p = write(env.d / "locked.yaml", _arch_text([]))
    p.chmod(0)
    return str(p)


_arch_path_case("arch-unknown-name", lambda env: "huge", "'huge'", "tiny")


def _unquoted_arch_path(env: Env) -> Run:
    # xDSL's pass-option syntax needs a quoted string for a path
    arch = write(env.d / "my-arch.yaml", _tiny_text())
    src = write(env.d / "model.mlir", NEST_CONV)
    out = env.d / "out.mlir"
    flag = f"--miredo-dataflow=arch={arch} mapper=heuristic"
    return Run([str(src), flag, "-o", str(out)], out)


case(
    "arch-path-unquoted-in-pass-option",
    YAML,
    "opt",
    _unquoted_arch_path,
    "bad pass pipeline",
    "miredo-dataflow{arch=",
)
_arch_path_case(
    "arch-unknown-name-opt", lambda env: "tablefour", "'tablefour'", tool="opt"
)
_arch_path_case(
    "arch-missing-file", lambda env: str(env.d / "nowhere.yaml"), "nowhere.yaml"
)
_arch_path_case("arch-directory", _arch_dir, "archdir.yaml")
_arch_path_case("arch-directory-opt", _arch_dir, "archdir.yaml", tool="opt")
_arch_path_case(
    "arch-unreadable", _arch_unreadable, "locked.yaml", "permission", skip_if_root=True
)


# --------------------------------------------------------------------------- #
# Malformed IR
# --------------------------------------------------------------------------- #

IR = "malformed-ir"

_CONV_SIG = (
    "func.func @conv(%x: memref<1x2x4x4xf32>, %w: memref<2x2x1x1xf32>, "
    "%y: memref<1x2x4x4xf32>) {\n"
)
_CONTRACT = (
    '  nest.contract "conv1" conv dims<N=1, G=1, K=2, C=2, P=4, Q=4, R=1, S=1> '
    "stride [1, 1] dilation [1, 1] pad [0, 0, 0, 0] "
    "ins(%x[n, g * 2 + c, p, q], %w[g * 2 + k, c, r, s]) "
    "outs(%y[n, g * 2 + k, p, q])"
)
_TYPES = " : memref<1x2x4x4xf32>, memref<2x2x1x1xf32> -> memref<1x2x4x4xf32>\n"
_END = "  func.return\n}\n"

NEST_CONV = _CONV_SIG + _CONTRACT + _TYPES + _END
"""A valid contraction without a dataflow (the input of ``--miredo-dataflow``)."""

DATAFLOW = (
    '#nest.dataflow<arch "tiny", mapper miredo, objective latency, '
    "spatial {cores = [P:2], rows = [C:2], cols = [K:2]}, "
    "temporal [Q:2, Q:2, P:2], "
    "levels {I = [DRAM, DRAM, DRAM], W = [Macro, Macro, Macro], O = [DRAM, LB, LB]}, "
    "bypass {I = [GB], W = [GB], O = [GB]}, "
    "double_buffer [LB:I, LB:O, IReg:I, OReg:O], "
    "latency 36, energy 3916.0, edp 140976.0, status optimal, gap 0.0>"
)
"""The tiny-arch dataflow of ``NEST_CONV`` (from the lowering lit test)."""


def annotated(dataflow: str = DATAFLOW) -> str:
    return _CONV_SIG + _CONTRACT + f" {{dataflow = {dataflow}}}" + _TYPES + _END


def ir_case(
    id: str,
    text: Callable[[], str],
    *expect: str,
    flags: Sequence[str] = (),
    category: str = IR,
) -> None:
    fname = f"{id}.mlir"

    def make(env: Env) -> Run:
        src = write(env.d / fname, text())
        out = env.d / "out.mlir"
        return Run([str(src), *flags, "-o", str(out)], out)

    case(id, category, "opt", make, *expect)


def _df(old: str, new: str) -> Callable[[], str]:
    def text() -> str:
        assert old in DATAFLOW, old
        return annotated(DATAFLOW.replace(old, new, 1))

    return text


LOWER = ["--convert-nest-to-cim=arch=tiny"]

# syntax errors
ir_case("ir-garbage", lambda: "this is not MLIR at all\n", "ir-garbage.mlir:1")
ir_case(
    "ir-unclosed-region",
    lambda: NEST_CONV[: -len("}\n")],
    "ir-unclosed-region.mlir",
)
ir_case(
    "ir-bad-type",
    lambda: NEST_CONV.replace("xf32>) {", "xf32) {", 1),
    "ir-bad-type.mlir:1",
)
ir_case(
    "ir-undefined-value",
    lambda: NEST_CONV.replace("ins(%x[", "ins(%nope[", 1),
    "ir-undefined-value.mlir:",
    "%nope",
)
ir_case(
    "ir-contract-bad-keyword",
    lambda: NEST_CONV.replace(" stride [", " strides [", 1),
    "ir-contract-bad-keyword.mlir:2",
)
ir_case(
    "ir-contract-bad-dims",
    lambda: NEST_CONV.replace("dims<N=1,", "dims<Z=1,", 1),
    "ir-contract-bad-dims.mlir:2",
)
ir_case(
    "ir-binary-bytes",
    lambda: "\x00\x01\x02\x03garbage",
    "ir-binary-bytes.mlir",
)
# unknown ops
ir_case(
    "ir-unknown-dialect-op",
    lambda: '"foo.bar"() : () -> ()\n',
    "ir-unknown-dialect-op.mlir:1",
    "foo.bar",
)
ir_case(
    "ir-unknown-nest-op",
    lambda: _CONV_SIG + '  nest.frobnicate "x"\n' + _END,
    "ir-unknown-nest-op.mlir:2",
    "nest.frobnicate",
)
ir_case(
    "ir-unknown-cim-op",
    lambda: '"cim.teleport"() : () -> ()\n',
    "ir-unknown-cim-op.mlir:1",
    "cim.teleport",
)
# nest verifier failures
_NEST_VERIFY: list[tuple[str, str, str, str]] = [
    ("ir-nest-unknown-kind", '"conv1" conv dims', '"conv1" dense dims', "unknown kind"),
    ("ir-nest-zero-dim", "G=1, K=2", "G=0, K=2", "all dims must be >= 1"),
    ("ir-nest-zero-stride", "stride [1, 1]", "stride [0, 1]", "stride"),
    ("ir-nest-short-dilation", "dilation [1, 1]", "dilation [1]", "dilation"),
    ("ir-nest-negative-pad", "pad [0, 0, 0, 0]", "pad [0, -1, 0, 0]", "pad"),
    ("ir-nest-map-rank", "%w[g * 2 + k, c, r, s]", "%w[g * 2 + k, c, r]", "W map"),
    (
        "ir-nest-out-uses-reduction",
        "outs(%y[n, g * 2 + k,",
        "outs(%y[n, c + k,",
        "O map",
    ),
    ("ir-nest-wrong-bound", "K=2, C=2", "K=3, C=2", "conv1"),
]
for _id, _old, _new, _msg in _NEST_VERIFY:
    ir_case(
        _id,
        (lambda o=_old, n=_new: NEST_CONV.replace(o, n, 1)),
        "'conv1'",
        _msg,
    )
ir_case(
    "ir-nest-empty-weight-name",
    lambda: 'func.func @f() {\n  %w = nest.weight "" : memref<4xf32>\n' + _END,
    "weight name must not be empty",
)
# cim verifier failures
_PROG = (
    'cim.program @p() arch "t" cores {cores} shared [DRAM, GB] '
    "per_core [LB, IReg, Macro, OReg] macro {macro} {{\n{body}}}\n"
)
_CIM_VERIFY: list[tuple[str, dict[str, str], str]] = [
    ("ir-cim-zero-cores", {"cores": "0"}, "cores must be >= 1"),
    ("ir-cim-macro-shared", {"macro": "GB"}, "macro level 'GB'"),
    (
        "ir-cim-core-out-of-range",
        {"body": "  cim.core 2 {\n  }\n"},
        "core id 2 is out of range",
    ),
    (
        "ir-cim-alloc-halves",
        {"body": '  %b = cim.alloc halves 3 : memref<8xi8, "LB">\n'},
        "cim.alloc",
    ),
    (
        "ir-cim-alloc-unknown-level",
        {"body": '  %b = cim.alloc : memref<8xi8, "IBuf">\n'},
        "'IBuf'",
    ),
    (
        "ir-cim-barrier-outside-stream",
        {"body": '  %b = cim.alloc : memref<8xi8, "LB">\n  cim.barrier 0\n'},
        "cim.barrier",
    ),
]
for _id, _fill, _msg in _CIM_VERIFY:
    _args = {"cores": "2", "macro": "Macro", "body": "", **_fill}
    ir_case(_id, (lambda a=_args: _PROG.format(**a)), _msg)
ir_case(
    "ir-cim-launch-unknown-program",
    lambda: (
        "func.func @f(%x: memref<4xi8>) {\n  cim.launch @nope(%x) : "
        "memref<4xi8>\n" + _END
    ),
    "@nope",
)
# hand-edited #nest.dataflow attributes
ir_case(
    "ir-dataflow-factor-product",
    _df("temporal [Q:2, Q:2, P:2]", "temporal [Q:2, Q:2, P:4]"),
    "'conv1'",
    "factors of P multiply to 8",
)
ir_case(
    "ir-dataflow-factor-product-lowered",
    _df("rows = [C:2]", "rows = [C:1]"),
    "'conv1'",
    "factors of C",
    flags=LOWER,
)
ir_case(
    "ir-dataflow-zero-factor",
    _df("cols = [K:2]", "cols = [K:0]"),
    "factor of K",
    "ir-dataflow-zero-factor.mlir:2",
)
ir_case(
    "ir-dataflow-unknown-dim",
    _df("cores = [P:2]", "cores = [X:2]"),
    "unknown dim",
    "ir-dataflow-unknown-dim.mlir:2",
)
ir_case(
    "ir-dataflow-unknown-level",
    _df("O = [DRAM, LB, LB]", "O = [DRAM, XB, XB]"),
    "conv1",
    "XB",
    flags=LOWER,
)
ir_case(
    "ir-dataflow-unknown-bypass-level",
    _df("bypass {I = [GB]", "bypass {I = [L9]"),
    "conv1",
    "L9",
    flags=LOWER,
)
ir_case(
    "ir-dataflow-unknown-axis",
    _df("cols = [K:2]", "banks = [K:2]"),
    "conv1",
    "banks",
    flags=LOWER,
)
ir_case(
    "ir-dataflow-unknown-operand",
    _df("LB:O,", "LB:Z,"),
    "double_buffer",
    "ir-dataflow-unknown-operand.mlir:2",
)
ir_case(
    "ir-dataflow-unknown-operand-key",
    _df("W = [Macro, Macro, Macro]", "Z = [Macro, Macro, Macro]"),
    "operand W",
)
ir_case(
    "ir-dataflow-missing-comma",
    _df("mapper miredo,", "mapper miredo"),
    "ir-dataflow-missing-comma.mlir:2",
)
ir_case(
    "ir-dataflow-missing-field",
    _df("latency 36, ", ""),
    "ir-dataflow-missing-field.mlir:2",
    "latency",
)
ir_case(
    "ir-dataflow-bad-status",
    _df("status optimal", "status great"),
    "status",
    "ir-dataflow-bad-status.mlir:2",
)
ir_case(
    "ir-dataflow-gap-out-of-range",
    _df("gap 0.0", "gap 1.5"),
    "gap",
    "ir-dataflow-gap-out-of-range.mlir:2",
)
ir_case(
    "ir-dataflow-level-count",
    _df("I = [DRAM, DRAM, DRAM]", "I = [DRAM, DRAM]"),
    "operand I",
    "ir-dataflow-level-count.mlir:2",
)
ir_case(
    "ir-dataflow-returns-to-level",
    _df("O = [DRAM, LB, LB]", "O = [LB, DRAM, LB]"),
    "operand O returns to level 'LB'",
    "ir-dataflow-returns-to-level.mlir:2",
)
ir_case(
    "ir-dataflow-capacity-exceeded",
    _df("O = [DRAM, LB, LB]", "O = [OReg, OReg, OReg]"),
    "conv1",
    "OReg",
    flags=LOWER,
)
ir_case(
    "ir-no-dataflow-to-lowering",
    lambda: NEST_CONV,
    "node 'conv1'",
    "no dataflow attribute",
    flags=LOWER,
)
ir_case(
    "ir-dataflow-for-other-arch",
    annotated,
    "node 'conv1'",
    "'tiny'",
    "'small'",
    flags=["--convert-nest-to-cim=arch=small"],
)
ir_case(
    "ir-two-funcs-to-lowering",
    lambda: annotated() + annotated().replace("@conv", "@conv2"),
    "convert-nest-to-cim",
    "func.func",
    flags=LOWER,
)
ir_case(
    "ir-emit-without-program",
    lambda: NEST_CONV,
    "--emit=asm",
    "cim.program",
    flags=["--emit=asm"],
)
ir_case(
    "ir-emit-json-without-program",
    lambda: NEST_CONV,
    "--emit=json",
    "cim.program",
    flags=["--emit=json"],
)


def _missing_mlir(env: Env) -> Run:
    out = env.d / "out.mlir"
    return Run([str(env.d / "absent.mlir"), "-o", str(out)], out)


def _mlir_dir(env: Env) -> Run:
    (env.d / "folder.mlir").mkdir()
    out = env.d / "out.mlir"
    return Run([str(env.d / "folder.mlir"), "-o", str(out)], out)


case("ir-missing-input-file", IR, "opt", _missing_mlir, "absent.mlir", "no such file")
case("ir-input-is-directory", IR, "opt", _mlir_dir, "folder.mlir", "directory")


# --------------------------------------------------------------------------- #
# Unwritable output paths
# --------------------------------------------------------------------------- #

OUTPUT = "unwritable-output"


def _opt_out(
    id: str,
    out: Callable[[Env], Path],
    *expect: str,
    flags: Sequence[str] = (),
    source: Callable[[], str] = lambda: NEST_CONV,
    readonly: Callable[[Env], Path] | None = None,
) -> None:
    def make(env: Env) -> Run:
        src = write(env.d / "model.mlir", source())
        target = out(env)
        run = Run([str(src), *flags, "-o", str(target)], target)
        if readonly is not None:
            d = readonly(env)
            d.chmod(0o555)
            if os.access(d, os.W_OK):
                run.skip = "running as root: a read-only directory is writable"
        return run

    case(id, OUTPUT, "opt", make, *expect)


def _compile_out(
    id: str,
    out: Callable[[Env], Path],
    *expect: str,
    readonly: Callable[[Env], Path] | None = None,
    model: Callable[[], bytes] = conv_model,
    arch: Callable[[Env], str] = lambda env: "tiny",
) -> None:
    def make(env: Env) -> Run:
        src = write(env.d / "model.onnx", model())
        target = out(env)
        argv = [str(src), "-o", str(target), *FAST, "--arch", arch(env)]
        run = Run(argv, target)
        if readonly is not None:
            d = readonly(env)
            d.chmod(0o555)
            if os.access(d, os.W_OK):
                run.skip = "running as root: a read-only directory is writable"
        return run

    case(id, OUTPUT, "compile", make, *expect)


def _a_file(env: Env, name: str = "afile") -> Path:
    return write(env.d / name, "I am a file\n")


def _a_dir(env: Env, name: str) -> Path:
    p = env.d / name
    p.mkdir(exist_ok=True)
    return p


_opt_out(
    "out-opt-missing-dir",
    lambda env: env.d / "nodir" / "out.mlir",
    "{d}/nodir/out.mlir:",
)
_opt_out(
    "out-opt-emit-missing-dir",
    lambda env: env.d / "nodir" / "prog.s",
    "{d}/nodir/prog.s:",
    flags=[*LOWER, "--emit=asm"],
    source=annotated,
)
_opt_out(
    "out-opt-under-file",
    lambda env: _a_file(env) / "out.mlir",
    "{d}/afile/out.mlir:",
)
_opt_out(
    "out-opt-is-directory",
    lambda env: _a_dir(env, "outdir.mlir"),
    "{d}/outdir.mlir:",
)
_opt_out(
    "out-opt-emit-is-directory",
    lambda env: _a_dir(env, "prog.json"),
    "{d}/prog.json:",
    flags=[*LOWER, "--emit=json"],
    source=annotated,
)
_opt_out(
    "out-opt-readonly-dir",
    lambda env: _a_dir(env, "ro") / "out.mlir",
    "{d}/ro/out.mlir:",
    readonly=lambda env: _a_dir(env, "ro"),
)
_compile_out(
    "out-compile-outdir-is-file", lambda env: _a_file(env, "outfile"), "{d}/outfile:"
)
_compile_out(
    "out-compile-outdir-under-file",
    lambda env: _a_file(env, "outfile") / "sub",
    "outfile",
)
_compile_out(
    "out-compile-outdir-under-file-deep",
    lambda env: _a_file(env, "outfile") / "a" / "b",
    "outfile",
)
_compile_out(
    "out-compile-readonly-outdir",
    lambda env: _a_dir(env, "ro"),
    "ro",
    readonly=lambda env: _a_dir(env, "ro"),
)
_compile_out(
    "out-compile-under-readonly-dir",
    lambda env: _a_dir(env, "ro") / "new",
    "ro",
    readonly=lambda env: _a_dir(env, "ro"),
)


_opt_out(
    "out-opt-name-too-long",
    lambda env: env.d / ("o" * 300 + ".mlir"),
    "o" * 300 + ".mlir",
)
_compile_out(
    "out-compile-name-too-long",
    lambda env: env.d / ("d" * 300),
    "d" * 300,
)


def _kept_file(env: Env) -> Path:
    return write(env.d / "previous.mlir", "// the result of an earlier run\n")


def _kept_dir(env: Env) -> Path:
    out = _a_dir(env, "previous-out")
    write(out / "report.json", '{"model_path": "earlier.onnx"}\n')
    write(out / "cim.mlir", "// an earlier compile\n")
    return out


_opt_out(
    "out-opt-existing-file-kept-on-bad-input",
    _kept_file,
    "model.mlir:1",
    source=lambda: "not mlir\n",
)
_compile_out(
    "out-compile-existing-outdir-kept-on-bad-model",
    _kept_dir,
    "model.onnx",
    model=lambda: conv_model()[:50],
)
_compile_out(
    "out-compile-existing-outdir-kept-on-infeasible",
    _kept_dir,
    "layer conv1",
    arch=lambda env: str(
        write(env.d / "small-ireg.yaml", _arch_text([("levels[3].capacity_bits", 2)]))
    ),
)


# --------------------------------------------------------------------------- #
# Solver options
# --------------------------------------------------------------------------- #

SOLVER = "solver-options"


def _opt_pass(id: str, flags: Sequence[str], *expect: str, **kw: Any) -> None:
    ir_case(id, lambda: NEST_CONV, *expect, flags=flags, category=SOLVER, **kw)


def _compile_opts(id: str, opts: Sequence[str], *expect: str, **kw: Any) -> None:
    def make(env: Env) -> Run:
        src = write(env.d / "model.onnx", conv_model())
        out = env.d / "out"
        base = {"--arch": "tiny", "--mapper": "heuristic"}
        argv = [str(src), "-o", str(out), "--no-cache", "-q"]
        for k, v in base.items():
            if k not in opts:
                argv += [k, v]
        if "-j" not in opts:
            argv += ["-j", "1"]
        return Run([*argv, *opts], out)

    case(id, SOLVER, "compile", make, *expect, **kw)


_compile_opts("compile-time-limit-zero", ["--time-limit", "0"], "--time-limit")
_compile_opts("compile-time-limit-negative", ["--time-limit", "-1"], "--time-limit")
_compile_opts(
    "compile-time-limit-nan",
    ["--mapper", "miredo", "--time-limit", "nan"],
    "--time-limit",
)
_compile_opts(
    "compile-time-limit-not-number",
    ["--time-limit", "soon"],
    "--time-limit",
)
_compile_opts("compile-jobs-zero", ["-j", "0"], "jobs")
_compile_opts("compile-jobs-negative", ["-j", "-3"], "jobs")
_compile_opts(
    "compile-unknown-objective",
    ["--objective", "speed"],
    "--objective",
    "speed",
)
_compile_opts(
    "compile-unknown-mapper",
    ["--mapper", "magic"],
    "--mapper",
    "magic",
)
_compile_opts(
    "compile-unknown-solver",
    ["--mapper", "miredo", "--solver", "gurobi"],
    "--solver",
    "gurobi",
)
_compile_opts(
    "compile-gap-limit-negative",
    ["--mapper", "miredo", "--time-limit", "1", "--gap-limit", "-1"],
    "--gap-limit",
)
_compile_opts(
    "compile-workers-negative",
    ["--mapper", "miredo", "--time-limit", "1", "--workers", "-2"],
    "--workers",
)

_DF = "--miredo-dataflow="
_opt_pass("opt-time-limit-zero", [_DF + "arch=tiny time-limit=0"], "time-limit")
_opt_pass("opt-time-limit-negative", [_DF + "arch=tiny time-limit=-5"], "time-limit")
_opt_pass("opt-jobs-zero", [_DF + "arch=tiny jobs=0 mapper=heuristic"], "jobs")
_opt_pass(
    "opt-unknown-objective",
    [_DF + "arch=tiny objective=speed mapper=heuristic"],
    "objective",
    "speed",
)
_opt_pass("opt-unknown-mapper", [_DF + "arch=tiny mapper=magic"], "mapper", "magic")
_opt_pass(
    "opt-unknown-solver",
    [_DF + "arch=tiny solver=gurobi time-limit=1"],
    "solver",
    "gurobi",
)
_opt_pass("opt-unknown-pass-option", [_DF + "arch=tiny colour=blue"], "colour")
_opt_pass("opt-option-without-value", [_DF + "arch"], "arch")
_opt_pass("opt-option-bad-number", [_DF + "arch=tiny time-limit=soon"], "time-limit")
_opt_pass(
    "opt-unclosed-pipeline", ["-p", "miredo-dataflow{arch=tiny"], "miredo-dataflow"
)
_opt_pass("opt-unknown-pass", ["-p", "miredo-dataflw"], "miredo-dataflw")
_opt_pass(
    "opt-unknown-emit",
    ["--emit=binary"],
    "--emit",
)


# --------------------------------------------------------------------------- #
# miredo-sim on bad output directories
# --------------------------------------------------------------------------- #

SIM = "sim-outdir"


def sim_case(
    id: str,
    prepare: Callable[[Env], Path],
    *expect: str,
    check: bool = True,
) -> None:
    def make(env: Env) -> Run:
        outdir = prepare(env)
        return Run([str(outdir), *(["--check"] if check else [])], outdir)

    case(id, SIM, "sim", make, *expect)


def _copy(env: Env) -> Path:
    return Path(shutil.copytree(env.compiled(), env.d / "compiled"))


def _edit_report(edit: Callable[[dict[str, Any]], Any]) -> Callable[[Env], Path]:
    def prepare(env: Env) -> Path:
        out = _copy(env)
        report = json.loads((out / "report.json").read_text())
        new = edit(report)
        (out / "report.json").write_text(json.dumps(report if new is None else new))
        return out

    return prepare


def _replace_file(name: str, content: str | bytes) -> Callable[[Env], Path]:
    def prepare(env: Env) -> Path:
        out = _copy(env)
        write(out / name, content)
        return out

    return prepare


def _remove(name: str) -> Callable[[Env], Path]:
    def prepare(env: Env) -> Path:
        out = _copy(env)
        (out / name).unlink()
        return out

    return prepare


def _corrupt_model(env: Env) -> Path:
    out = _copy(env)
    model = write(env.d / "broken.onnx", conv_model()[:40])
    report = json.loads((out / "report.json").read_text())
    report["model_path"] = str(model)
    (out / "report.json").write_text(json.dumps(report))
    return out


def _empty_dir(env: Env) -> Path:
    return _a_dir(env, "emptyout")


def _report_dir(env: Env) -> Path:
    out = _copy(env)
    (out / "report.json").unlink()
    (out / "report.json").mkdir()
    return out


sim_case("sim-missing-dir", lambda env: env.d / "never-compiled", "never-compiled")
sim_case("sim-empty-dir", _empty_dir, "emptyout", "report.json")
sim_case("sim-outdir-is-file", lambda env: _a_file(env, "notadir"), "notadir")
sim_case("sim-missing-cim-mlir", _remove("cim.mlir"), "cim.mlir", "missing")
sim_case("sim-missing-report", _remove("report.json"), "report.json", "missing")
sim_case("sim-report-is-dir", _report_dir, "report.json")
sim_case(
    "sim-report-not-json",
    _replace_file("report.json", "{ this is not json"),
    "report.json",
    "malformed",
)
sim_case(
    "sim-report-empty",
    _replace_file("report.json", ""),
    "report.json",
    "malformed",
)
sim_case(
    "sim-report-is-list",
    _edit_report(lambda r: [r]),
    "report.json",
    "malformed",
)
sim_case(
    "sim-report-without-model-path",
    _edit_report(lambda r: r.pop("model_path") and None),
    "report.json",
    "model_path",
)
sim_case(
    "sim-model-path-missing-file",
    _edit_report(lambda r: r.update(model_path="/nonexistent/dir/model.onnx")),
    "/nonexistent/dir/model.onnx",
)
sim_case(
    "sim-model-path-null",
    _edit_report(lambda r: r.update(model_path=None)),
    "report.json",
    "model_path",
)
sim_case(
    "sim-model-path-number",
    _edit_report(lambda r: r.update(model_path=42)),
    "report.json",
    "model_path",
)
sim_case("sim-model-path-corrupt-model", _corrupt_model, "broken.onnx")
sim_case(
    "sim-cim-mlir-syntax-error",
    _replace_file("cim.mlir", "builtin.module {\n  func.func @main(\n"),
    "cim.mlir",
)
sim_case(
    "sim-cim-mlir-garbage",
    _replace_file("cim.mlir", b"\x00\xff\x00 binary junk"),
    "cim.mlir",
)
sim_case(
    "sim-cim-mlir-verifier-error",
    _replace_file("cim.mlir", _PROG.format(cores="0", macro="Macro", body="")),
    "cores must be >= 1",
)
sim_case(
    "sim-cim-mlir-empty-module",
    _replace_file("cim.mlir", "builtin.module {\n}\n"),
    "cim.mlir",
)
sim_case(
    "sim-cim-mlir-not-lowered",
    _replace_file("cim.mlir", NEST_CONV),
    "@conv",
    "nest.inputs",
)
sim_case("sim-check-missing", _copy, "--check", check=False)


# --------------------------------------------------------------------------- #
# The reference compile used by the miredo-sim cases
# --------------------------------------------------------------------------- #


def compile_reference(root: Path) -> Path:
    """Compile the base conv for the tiny arch into ``root/compiled``."""
    from miredo.pipeline import CompileOptions, compile_model, write_outputs

    model = write(root / "conv.onnx", conv_model())
    options = CompileOptions(arch="tiny", mapper="heuristic", jobs=1, cache=None)
    out = root / "compiled"
    write_outputs(compile_model(model, options), out)
    return out


# --------------------------------------------------------------------------- #
# A few cases through the real console scripts (the harness matches reality)
# --------------------------------------------------------------------------- #

_REAL = {
    "trunc-50pct",  # corrupt ONNX, miredo-compile
    "unsupported-LeakyRelu",  # unsupported op, miredo-compile
    "arch-zero-capacity",  # hardware YAML, miredo-opt
    "ir-dataflow-factor-product",  # malformed IR, miredo-opt
    "sim-missing-report",  # miredo-sim
    "out-compile-outdir-is-file",  # unwritable output, miredo-compile
}

# --------------------------------------------------------------------------- #
# Bugs found by the corpus: these cases are xfail(strict=True)
# --------------------------------------------------------------------------- #

BUGS: dict[str, str] = {}
"""Case id -> the bug it exposes (the case runs as a strict xfail). All the bugs
the corpus found so far are fixed."""

CASES = [replace(c, xfail=BUGS.get(c.id), real=c.id in _REAL) for c in CASES]
assert {c.id for c in CASES if c.real} == _REAL
assert set(BUGS) <= {c.id for c in CASES}
