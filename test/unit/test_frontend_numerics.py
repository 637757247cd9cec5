"""The imported ``nest`` IR computes what the ONNX model computes.

A small, deliberately naive numpy evaluator of the ``nest`` ops (independent of the
simulator in ``miredo.sim``) runs the imported IR with the weight table and is
compared with ``onnx.reference.ReferenceEvaluator`` on the source model. It checks
the access maps, BN folding, broadcasting, Gemm alpha/beta, MatMul batching and the
weight table at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator
from xdsl.dialects import func, memref
from xdsl.dialects.builtin import MemRefType, ModuleOp
from xdsl.ir import SSAValue

from miredo.dialects import nest
from miredo.frontends import testmodels
from miredo.frontends.onnx import import_onnx_model, load_weight_table

_erf = np.vectorize(math.erf, otypes=[np.float64])


def _contract(op: nest.ContractOp, env: dict[SSAValue, np.ndarray]) -> None:
    bounds = list(op.dims.values())
    grids = [
        np.arange(b).reshape([b if i == j else 1 for j in range(8)])
        for i, b in enumerate(bounds)
    ]

    def indices(name: str) -> list[np.ndarray]:
        return [
            sum(
                (a * g for a, g in zip(e.coeffs, grids, strict=True) if a),
                np.full([1] * 8, e.const),
            )
            for e in op.access(name)
        ]

    def gather(name: str, pad: bool) -> np.ndarray:
        arr = env[op.operand(name)]  # type: ignore[index]
        idx = [np.broadcast_to(i, bounds) for i in indices(name)]
        mask = np.ones(bounds, dtype=bool)
        clipped = []
        for i, size in zip(idx, arr.shape, strict=True):
            mask &= (i >= 0) & (i < size)
            clipped.append(np.clip(i, 0, size - 1))
        assert pad or mask.all()
        return np.where(mask, arr[tuple(clipped)], 0).astype(np.float64)

    prod = gather("I", True) * gather("W", False)
    acc = op.alpha.value.data * prod.sum(axis=(3, 6, 7), keepdims=True)
    if op.bias is not None:
        acc = acc + op.beta.value.data * gather("B", False).take([0], 3).take(
            [0], 6
        ).take([0], 7)
    out = env[op.output]
    o_idx = [np.broadcast_to(i, acc.shape) for i in indices("O")]
    out[tuple(o_idx)] = acc


def _elementwise(op: nest.ElementwiseOp, xs: list[np.ndarray]) -> np.ndarray:
    fn = op.fn.data
    x = xs[0]
    unary: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "relu": lambda v: np.maximum(v, 0),
        "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
        "tanh": np.tanh,
        "erf": _erf,
        "exp": np.exp,
        "sqrt": np.sqrt,
        "neg": np.negative,
        "abs": np.abs,
        "reciprocal": lambda v: 1 / v,
        "gelu": lambda v: 0.5 * v * (1 + _erf(v / np.sqrt(2))),
    }
    if fn == "gelu" and op.approximate is not None and op.approximate.data == "tanh":
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
    if fn == "clip":
        lo = -np.inf if op.min is None else op.min.value.data
        hi = np.inf if op.max is None else op.max.value.data
        return np.clip(x, lo, hi)
    if fn in unary:
        return unary[fn](x)
    binary = {
        "add": np.add,
        "sub": np.subtract,
        "mul": np.multiply,
        "div": np.divide,
        "pow": np.power,
        "max": np.maximum,
        "min": np.minimum,
    }
    return binary[fn](x, xs[1])


def _pool(op: nest.PoolOp, x: np.ndarray, out: np.ndarray) -> None:
    kh, kw = op.kernel.get_values()
    sh, sw = op.stride.get_values()
    dh, dw = op.dilation.get_values()
    pt, pl, _, _ = op.pad.get_values()
    h, w = x.shape[2:]
    _, _, oh, ow = out.shape
    is_max = op.kind.data == "max"
    for y in range(oh):
        for z in range(ow):
            vals, count = [], 0
            for i in range(kh):
                for j in range(kw):
                    r, q = y * sh + i * dh - pt, z * sw + j * dw - pl
                    if 0 <= r < h and 0 <= q < w:
                        vals.append(x[:, :, r, q])
                        count += 1
            stack = np.stack(vals)
            if is_max:
                out[:, :, y, z] = stack.max(axis=0)
            else:
                div = kh * kw if op.count_include_pad else count
                out[:, :, y, z] = stack.sum(axis=0) / div


def run_nest(
    module: ModuleOp, weights: dict[str, np.ndarray], feeds: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Evaluate the imported ``@main`` on ``feeds``; returns the graph outputs."""
    fn = next(op for op in module.walk() if isinstance(op, func.FuncOp))
    ins = [s.data for s in fn.attributes["nest.inputs"].data]  # type: ignore[attr-defined]
    outs = [s.data for s in fn.attributes["nest.outputs"].data]  # type: ignore[attr-defined]
    env: dict[SSAValue, np.ndarray] = {}
    for name, arg in zip([*ins, *outs], fn.body.block.args, strict=True):
        assert isinstance(arg.type, MemRefType)
        env[arg] = (
            feeds[name].astype(np.float64)
            if name in ins
            else np.zeros(arg.type.get_shape())
        )
    for op in fn.body.block.ops:
        match op:
            case nest.WeightOp():
                inline = op.array()
                arr = weights[op.node.data] if inline is None else inline
                assert tuple(arr.shape) == tuple(op.result.type.get_shape())
                env[op.result] = np.asarray(arr, dtype=np.float64)
            case memref.AllocOp():
                env[op.memref] = np.zeros(op.memref.type.get_shape())
            case nest.ContractOp():
                _contract(op, env)
            case nest.ElementwiseOp():
                res = _elementwise(op, [env[v] for v in op.inputs])
                env[op.output][...] = np.broadcast_to(res, env[op.output].shape)
            case nest.PoolOp():
                _pool(op, env[op.input], env[op.output])
            case nest.SoftmaxOp():
                x = env[op.input]
                e = np.exp(x - x.max(axis=op.axis.value.data, keepdims=True))
                env[op.output][...] = e / e.sum(axis=op.axis.value.data, keepdims=True)
            case nest.LayerNormOp():
                x = env[op.input]
                axes = tuple(range(op.axis.value.data, x.ndim))
                mean = x.mean(axis=axes, keepdims=True)
                var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
                y = (x - mean) / np.sqrt(var + op.epsilon.value.data) * env[op.scale]
                if op.bias is not None:
                    y = y + env[op.bias]
                env[op.output][...] = y
            case nest.ReduceOp():
                f = {"mean": np.mean, "sum": np.sum, "max": np.max}[op.kind.data]
                env[op.output][...] = f(
                    env[op.input],
                    axis=tuple(op.axes.get_values()),
                    keepdims=op.keepdims is not None,
                )
            case nest.ReshapeOp():
                env[op.output][...] = env[op.input].reshape(env[op.output].shape)
            case nest.TransposeOp():
                env[op.output][...] = env[op.input].transpose(op.perm.get_values())
            case nest.ConcatOp():
                env[op.output][...] = np.concatenate(
                    [env[v] for v in op.inputs], axis=op.axis.value.data
                )
            case func.ReturnOp():
                break
            case _:
                raise AssertionError(f"unexpected op {op.name}")
    return {
        name: env[arg]
        for name, arg in zip(outs, fn.body.block.args[len(ins) :], strict=True)
    }


def _feeds(model: onnx.ModelProto, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    inits = {t.name for t in model.graph.initializer}
    feeds = {}
    for vi in model.graph.input:
        if vi.name in inits:
            continue
        shape = [d.dim_value for d in vi.type.tensor_type.shape.dim]
        feeds[vi.name] = rng.standard_normal(shape).astype(np.float32)
    return feeds


def _check(model: onnx.ModelProto, rtol: float = 1e-4, atol: float = 1e-4) -> None:
    feeds = _feeds(model)
    expected = ReferenceEvaluator(model).run(None, feeds)
    module = import_onnx_model(model)
    got = run_nest(module, load_weight_table(model), feeds)
    names = [o.name for o in model.graph.output]
    for name, exp in zip(names, expected, strict=True):
        np.testing.assert_allclose(got[name], exp, rtol=rtol, atol=atol, err_msg=name)


@pytest.mark.parametrize(
    "build",
    [
        testmodels.resnet_block,
        testmodels.mobilenet_block,
        testmodels.transformer_block,
        testmodels.conv_bn_model,
        testmodels.matmul_model,
    ],
    ids=lambda b: b.__name__,
)
def test_example_models_match_onnx_reference(
    build: Callable[[], onnx.ModelProto],
) -> None:
    _check(build())


def _single(
    op: str,
    inputs: dict[str, list[int]],
    inits: dict[str, np.ndarray],
    opset: int = 17,
    **attrs: object,
) -> onnx.ModelProto:
    node = helper.make_node(op, [*inputs, *inits], ["y"], name="n", **attrs)
    graph = helper.make_graph(
        [node],
        "g",
        [
            helper.make_tensor_value_info(k, TensorProto.FLOAT, v)
            for k, v in inputs.items()
        ],
        [helper.make_empty_tensor_value_info("y")],
        [onnx.numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return onnx.shape_inference.infer_shapes(model, strict_mode=True)


def _w(*shape: int) -> np.ndarray:
    return np.random.default_rng(7).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize(
    ("attrs", "w_shape", "x_shape"),
    [
        (
            {"strides": [2, 1], "pads": [1, 0, 2, 1], "dilations": [1, 2]},
            (6, 4, 3, 2),
            (1, 4, 9, 8),
        ),
        ({"group": 2, "pads": [1, 1, 1, 1]}, (6, 2, 3, 3), (2, 4, 5, 5)),
        (
            {"group": 4, "strides": [2, 2], "auto_pad": "SAME_UPPER"},
            (4, 1, 3, 3),
            (1, 4, 7, 6),
        ),
        ({"auto_pad": "SAME_LOWER", "strides": [2, 2]}, (3, 2, 2, 2), (1, 2, 5, 5)),
        ({"auto_pad": "VALID"}, (3, 2, 2, 3), (1, 2, 4, 5)),
    ],
    ids=[
        "strided-dilated-asym-pad",
        "grouped",
        "depthwise-same-upper",
        "same-lower",
        "valid",
    ],
)
def test_conv_variants(
    attrs: dict[str, object], w_shape: tuple[int, ...], x_shape: tuple[int, ...]
) -> None:
    _check(
        _single(
            "Conv",
            {"x": list(x_shape)},
            {"w": _w(*w_shape), "b": _w(w_shape[0])},
            **attrs,
        )
    )


@pytest.mark.parametrize(
    ("ta", "tb", "c_shape"),
    [(0, 0, (5,)), (1, 0, (3, 5)), (0, 1, (3, 1)), (1, 1, ()), (0, 0, None)],
)
def test_gemm_variants(ta: int, tb: int, c_shape: tuple[int, ...] | None) -> None:
    a = [4, 3] if ta else [3, 4]
    inits = {"b": _w(5, 4) if tb else _w(4, 5)}
    if c_shape is not None:
        inits["c"] = _w(*c_shape) if c_shape else np.array(0.5, np.float32)
    _check(_single("Gemm", {"a": a}, inits, transA=ta, transB=tb, alpha=0.7, beta=1.5))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ((2, 3, 4, 5), (2, 3, 5, 6)),
        ((1, 3, 4, 5), (2, 3, 5, 6)),
        ((3, 4, 5), (5, 2)),
        ((4, 5), (2, 5, 3)),
        ((5,), (5, 3)),
        ((3, 5), (5,)),
        ((2, 1, 4, 5), (3, 5, 2)),
    ],
)
def test_matmul_broadcasting(a: tuple[int, ...], b: tuple[int, ...]) -> None:
    _check(_single("MatMul", {"a": list(a)}, {"b": _w(*b)}))


def test_pools_and_standalone_batchnorm() -> None:
    x = {"x": [1, 3, 7, 7]}
    _check(
        _single(
            "AveragePool", x, {}, kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]
        )
    )
    _check(
        _single(
            "AveragePool",
            x,
            {},
            kernel_shape=[3, 2],
            pads=[1, 0, 1, 1],
            count_include_pad=1,
        )
    )
    _check(
        _single("MaxPool", x, {}, kernel_shape=[2, 2], strides=[2, 2], dilations=[2, 1])
    )
    _check(_single("GlobalMaxPool", x, {}))
    bn = {"s": _w(3), "b": _w(3), "m": _w(3), "v": np.abs(_w(3)) + 0.5}
    _check(_single("BatchNormalization", x, bn, epsilon=1e-3))


def _int_model(
    op: str, a_shape: list[int], w: np.ndarray, **attrs: object
) -> onnx.ModelProto:
    zp = numpy_helper.from_array(np.zeros((), np.int8), "wzp")
    node = helper.make_node(op, ["a", "w", "", "wzp"], ["y"], name="q", **attrs)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("a", TensorProto.INT8, a_shape)],
        [helper.make_empty_tensor_value_info("y")],
        [numpy_helper.from_array(w, "w"), zp],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return onnx.shape_inference.infer_shapes(model, strict_mode=True)


def test_integer_contractions_are_exact() -> None:
    rng = np.random.default_rng(3)
    w4 = rng.integers(-128, 128, (4, 3, 3, 3), dtype=np.int8)
    conv = _int_model("ConvInteger", [1, 3, 6, 6], w4, pads=[1, 1, 1, 1])
    w2 = rng.integers(-128, 128, (5, 4), dtype=np.int8)
    mm = _int_model("MatMulInteger", [2, 3, 5], w2)
    for model in (conv, mm):
        shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
        feeds = {"a": rng.integers(-128, 128, shape, dtype=np.int8)}
        (expected,) = ReferenceEvaluator(model).run(None, feeds)
        module = import_onnx_model(model)
        assert "-> memref<" in str(module) and "xi32>" in str(module)
        got = run_nest(module, load_weight_table(model), feeds)["y"]
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(
    ("op", "shape", "inits", "opset", "attrs"),
    [
        ("Gelu", [2, 5], {}, 20, {}),
        ("Gelu", [2, 5], {}, 20, {"approximate": "tanh"}),
        ("Clip", [2, 5], {"": None, "hi": np.array(0.3, np.float32)}, 17, {}),
        (
            "Clip",
            [2, 5],
            {"lo": np.array(0.5, np.float32), "hi": np.array(0.2, np.float32)},
            17,
            {},
        ),
        ("LayerNormalization", [2, 3, 4], {"g": _w(3, 4)}, 17, {"axis": -2}),
        ("Softmax", [2, 3], {}, 11, {}),
        ("ReduceMean", [2, 3, 4], {"ax": np.array([0, -1], np.int64)}, 18, {}),
        ("ReduceMax", [2, 3, 4], {}, 17, {"keepdims": 0}),
        ("Squeeze", [2, 1, 4], {"ax": np.array([1], np.int64)}, 17, {}),
        ("Unsqueeze", [2, 4], {"ax": np.array([0, 3], np.int64)}, 17, {}),
        ("Max", [2, 3], {"m1": _w(3), "m2": _w(2, 1)}, 17, {}),
        ("Min", [2, 3], {}, 17, {}),
        ("Pow", [2, 3], {"e": np.array(3.0, np.float32)}, 17, {}),
        ("Transpose", [2, 3, 4], {}, 17, {}),
    ],
)
def test_single_ops(
    op: str,
    shape: list[int],
    inits: dict[str, np.ndarray | None],
    opset: int,
    attrs: dict[str, object],
) -> None:
    names = ["x", *inits]
    node = helper.make_node(op, names, ["y"], name="n", **attrs)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_empty_tensor_value_info("y")],
        [numpy_helper.from_array(v, k) for k, v in inits.items() if v is not None],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    _check(onnx.shape_inference.infer_shapes(model, strict_mode=True))
