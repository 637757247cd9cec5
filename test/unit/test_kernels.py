"""The numpy kernels of `miredo.sim.kernels` against `onnx.reference`.

Every test builds a single-node ONNX model with `onnx.helper`, runs it with
`onnx.reference.ReferenceEvaluator`, and compares with the kernel: exact for
integer data, rtol 1e-4 / atol 1e-5 for float32.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import helper
from onnx.reference import ReferenceEvaluator
from xdsl.ir.affine import AffineExpr, AffineMap

from miredo.sim import kernels

RTOL = 1e-4
ATOL = 1e-5

# ---------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------


def run_reference(
    op_type: str,
    inputs: Sequence[np.ndarray | None],
    n_outputs: int = 1,
    opset: int = 21,
    **attrs: Any,
) -> list[np.ndarray]:
    """Run one ONNX node with the reference evaluator; `None` inputs are omitted."""
    names = ["" if x is None else f"x{i}" for i, x in enumerate(inputs)]
    while names and names[-1] == "":
        names.pop()
    outputs = [f"y{i}" for i in range(n_outputs)]
    node = helper.make_node(op_type, names, outputs, **attrs)
    graph = helper.make_graph(
        [node],
        "g",
        [
            helper.make_tensor_value_info(
                name, helper.np_dtype_to_tensor_dtype(x.dtype), x.shape
            )
            for name, x in zip(names, inputs, strict=False)
            if x is not None
        ],
        [
            helper.make_tensor_value_info(o, onnx.TensorProto.UNDEFINED, None)
            for o in outputs
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    feeds = {n: x for n, x in zip(names, inputs, strict=False) if x is not None}
    # The reference itself overflows in exp, casts NaN padding to uint8, ...
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return list(ReferenceEvaluator(model).run(None, feeds))


def assert_matches(got: np.ndarray, want: np.ndarray) -> None:
    """Exact for integers, tight tolerance for floats; shapes and types must agree."""
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    if np.issubdtype(want.dtype, np.integer):
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


def amap(fn: Callable[..., tuple[AffineExpr | int, ...]]) -> AffineMap:
    """An 8-dim access map over (n, g, k, c, p, q, r, s)."""
    return AffineMap.from_callable(fn)


def rand(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# ---------------------------------------------------------------------------------
# Contraction: Conv
# ---------------------------------------------------------------------------------


def conv_via_contract(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    strides: Sequence[int],
    dilations: Sequence[int],
    pads: Sequence[int],
    group: int,
    out_dtype: type[np.generic] | None = None,
) -> np.ndarray:
    """A 2-D (or 1-D) ONNX Conv written as the `nest.contract` the frontend emits."""
    one_d = x.ndim == 3
    if one_d:  # a 1-D conv is a 2-D conv with Q = S = 1
        x, w = x[..., None], w[..., None]
        strides, dilations = [*strides, 1], [*dilations, 1]
        pads = [pads[0], 0, pads[1], 0]
    n, _, h, wd = x.shape
    kout, c, kh, kw = w.shape
    g, k = group, kout // group
    sh, sw = strides
    dh, dw = dilations
    p = (h + pads[0] + pads[2] - dh * (kh - 1) - 1) // sh + 1
    q = (wd + pads[1] + pads[3] - dw * (kw - 1) - 1) // sw + 1
    bounds = [n, g, k, c, p, q, kh, kw]
    map_i = amap(
        lambda n_, g_, k_, c_, p_, q_, r_, s_: (
            n_,
            g_ * c + c_,
            p_ * sh + r_ * dh - pads[0],
            q_ * sw + s_ * dw - pads[1],
        )
    )
    map_w = amap(lambda n_, g_, k_, c_, p_, q_, r_, s_: (g_ * k + k_, c_, r_, s_))
    map_o = amap(lambda n_, g_, k_, c_, p_, q_, r_, s_: (n_, g_ * k + k_, p_, q_))
    map_b = amap(lambda n_, g_, k_, c_, p_, q_, r_, s_: (g_ * k + k_,))
    out = np.zeros((n, kout, p, q), dtype=out_dtype or x.dtype)
    kernels.contract(
        x, w, out, bounds, map_i, map_w, map_o, b, map_b if b is not None else None
    )
    return out[..., 0] if one_d else out


CONV_CASES = {
    # name: (x shape, w shape, strides, dilations, pads, group, bias)
    "basic": ((1, 3, 8, 8), (4, 3, 3, 3), [1, 1], [1, 1], [0, 0, 0, 0], 1, False),
    "pad_bias": ((2, 3, 7, 9), (5, 3, 3, 3), [1, 1], [1, 1], [1, 1, 1, 1], 1, True),
    "stride2": ((1, 4, 9, 9), (6, 4, 3, 3), [2, 2], [1, 1], [1, 1, 1, 1], 1, True),
    "asym_pad_stride": (
        (1, 1, 7, 5),
        (1, 1, 3, 3),
        [2, 2],
        [1, 1],
        [1, 0, 1, 0],
        1,
        False,
    ),
    "rect_kernel": ((1, 2, 6, 8), (3, 2, 2, 4), [1, 2], [1, 1], [0, 1, 1, 2], 1, False),
    "dilation": ((1, 2, 10, 10), (3, 2, 3, 3), [1, 1], [2, 3], [2, 2, 2, 2], 1, True),
    "grouped": ((2, 8, 6, 6), (12, 2, 3, 3), [1, 1], [1, 1], [1, 1, 1, 1], 4, True),
    "depthwise": (
        (1, 16, 10, 10),
        (16, 1, 3, 3),
        [2, 2],
        [1, 1],
        [1, 1, 1, 1],
        16,
        True,
    ),
    "depthwise_mult2": (
        (1, 4, 5, 5),
        (8, 1, 3, 3),
        [1, 1],
        [1, 1],
        [1, 1, 1, 1],
        4,
        False,
    ),
    "pointwise": ((1, 32, 7, 7), (64, 32, 1, 1), [1, 1], [1, 1], [0, 0, 0, 0], 1, True),
    "stem_7x7": ((1, 3, 32, 32), (8, 3, 7, 7), [2, 2], [1, 1], [3, 3, 3, 3], 1, False),
    "conv1d": ((2, 3, 11), (4, 3, 3), [2], [1], [1, 1], 1, True),
}


@pytest.mark.parametrize("case", CONV_CASES.keys())
def test_conv(case: str) -> None:
    xs, ws, strides, dilations, pads, group, has_bias = CONV_CASES[case]
    x, w = rand(*xs, seed=1), rand(*ws, seed=2)
    b = rand(ws[0], seed=3) if has_bias else None
    (want,) = run_reference(
        "Conv",
        [x, w, b],
        strides=strides,
        dilations=dilations,
        pads=pads,
        group=group,
        kernel_shape=list(ws[2:]),
    )
    got = conv_via_contract(x, w, b, strides, dilations, pads, group)
    assert_matches(got, want)


def test_conv_integer_is_exact() -> None:
    rng = np.random.default_rng(5)
    x = rng.integers(-128, 128, (1, 8, 9, 9), dtype=np.int8)
    w = rng.integers(-128, 128, (16, 8, 3, 3), dtype=np.int8)
    (want,) = run_reference("ConvInteger", [x, w], pads=[1, 1, 1, 1], opset=10)
    got = conv_via_contract(x, w, None, [1, 1], [1, 1], [1, 1, 1, 1], 1, np.int32)
    assert_matches(got, want)


# ---------------------------------------------------------------------------------
# Contraction: Gemm and MatMul
# ---------------------------------------------------------------------------------

GEMM_BIAS_MAPS: dict[tuple[int, ...] | str, Callable[..., tuple[Any, ...]]] = {
    "none": lambda n, g, k, c, p, q, r, s: (),
    (): lambda n, g, k, c, p, q, r, s: (),
    (1,): lambda n, g, k, c, p, q, r, s: (0,),
    ("N",): lambda n, g, k, c, p, q, r, s: (k,),
    (1, "N"): lambda n, g, k, c, p, q, r, s: (0, k),
    ("M", 1): lambda n, g, k, c, p, q, r, s: (p, 0),
    ("M", "N"): lambda n, g, k, c, p, q, r, s: (p, k),
}


@pytest.mark.parametrize(
    ("trans_a", "trans_b", "alpha", "beta", "bias"),
    [
        (0, 0, 1.0, 1.0, "none"),
        (0, 1, 1.0, 1.0, ("N",)),
        (1, 0, 1.0, 1.0, ("M", "N")),
        (1, 1, 0.25, 0.35, ("N",)),
        (0, 0, 0.5, 1.0, (1,)),
        (0, 0, 1.0, 2.0, ()),
        (0, 1, 1.0, -1.5, (1, "N")),
        (0, 0, 1.0, 0.5, ("M", 1)),
        (1, 1, 2.0, 0.0, ("M", "N")),
    ],
)
def test_gemm(trans_a: int, trans_b: int, alpha: float, beta: float, bias: Any) -> None:
    m, kk, n = 5, 7, 6
    a = rand(*((kk, m) if trans_a else (m, kk)), seed=1)
    b = rand(*((n, kk) if trans_b else (kk, n)), seed=2)
    if bias == "none":
        c = None
    else:
        c = rand(*[{"M": m, "N": n}.get(s, s) for s in bias], seed=3)
    (want,) = run_reference(
        "Gemm", [a, b, c], alpha=alpha, beta=beta, transA=trans_a, transB=trans_b
    )
    map_i = amap(lambda n_, g, k, c_, p, q, r, s: (c_, p) if trans_a else (p, c_))
    map_w = amap(lambda n_, g, k, c_, p, q, r, s: (k, c_) if trans_b else (c_, k))
    map_o = amap(lambda n_, g, k, c_, p, q, r, s: (p, k))
    map_b = amap(GEMM_BIAS_MAPS[bias]) if c is not None else None
    out = np.zeros((m, n), np.float32)
    kernels.contract(
        a, b, out, [1, 1, n, kk, m, 1, 1, 1], map_i, map_w, map_o, c, map_b, alpha, beta
    )
    assert_matches(out, want)


def test_matmul_2d() -> None:
    a, b = rand(8, 16, seed=1), rand(16, 4, seed=2)
    (want,) = run_reference("MatMul", [a, b])
    out = np.zeros((8, 4), np.float32)
    kernels.contract(
        a,
        b,
        out,
        [1, 1, 4, 16, 8, 1, 1, 1],
        amap(lambda n, g, k, c, p, q, r, s: (p, c)),
        amap(lambda n, g, k, c, p, q, r, s: (c, k)),
        amap(lambda n, g, k, c, p, q, r, s: (p, k)),
    )
    assert_matches(out, want)


def test_matmul_batched_both_operands() -> None:
    """Attention-style Q @ K^T: both operands carry the batch dim n."""
    a, b = rand(3, 5, 8, seed=1), rand(3, 8, 6, seed=2)
    (want,) = run_reference("MatMul", [a, b])
    out = np.zeros((3, 5, 6), np.float32)
    kernels.contract(
        a,
        b,
        out,
        [3, 1, 6, 8, 5, 1, 1, 1],
        amap(lambda n, g, k, c, p, q, r, s: (n, p, c)),
        amap(lambda n, g, k, c, p, q, r, s: (n, c, k)),
        amap(lambda n, g, k, c, p, q, r, s: (n, p, k)),
    )
    assert_matches(out, want)


def test_matmul_broadcast_weight() -> None:
    """(B, M, K) @ (K, N): the weight is shared by every batch."""
    a, b = rand(4, 5, 8, seed=1), rand(8, 3, seed=2)
    (want,) = run_reference("MatMul", [a, b])
    out = np.zeros((4, 5, 3), np.float32)
    kernels.contract(
        a,
        b,
        out,
        [4, 1, 3, 8, 5, 1, 1, 1],
        amap(lambda n, g, k, c, p, q, r, s: (n, p, c)),
        amap(lambda n, g, k, c, p, q, r, s: (c, k)),
        amap(lambda n, g, k, c, p, q, r, s: (n, p, k)),
    )
    assert_matches(out, want)


def test_matmul_4d_flattened_batch_with_floordiv_mod() -> None:
    """(2, 3, M, K) @ (1, 3, K, N): batch dims folded into n with floordiv / mod."""
    a, b = rand(2, 3, 4, 5, seed=1), rand(1, 3, 5, 6, seed=2)
    (want,) = run_reference("MatMul", [a, b])
    out = np.zeros((2, 3, 4, 6), np.float32)
    kernels.contract(
        a,
        b,
        out,
        [6, 1, 6, 5, 4, 1, 1, 1],
        amap(lambda n, g, k, c, p, q, r, s: (n // 3, n % 3, p, c)),
        amap(lambda n, g, k, c, p, q, r, s: (0, n % 3, c, k)),
        amap(lambda n, g, k, c, p, q, r, s: (n // 3, n % 3, p, k)),
    )
    assert_matches(out, want)


def test_matmul_1d_operands() -> None:
    a, b = rand(7, seed=1), rand(7, 3, seed=2)
    (want,) = run_reference("MatMul", [a, b])
    out = np.zeros((3,), np.float32)
    kernels.contract(
        a,
        b,
        out,
        [1, 1, 3, 7, 1, 1, 1, 1],
        amap(lambda n, g, k, c, p, q, r, s: (c,)),
        amap(lambda n, g, k, c, p, q, r, s: (c, k)),
        amap(lambda n, g, k, c, p, q, r, s: (k,)),
    )
    assert_matches(out, want)


def test_matmul_integer_is_exact() -> None:
    rng = np.random.default_rng(7)
    a = rng.integers(-128, 128, (2, 9, 33), dtype=np.int8)
    b = rng.integers(-128, 128, (33, 17), dtype=np.int8)
    (want,) = run_reference("MatMulInteger", [a, b], opset=10)
    out = np.zeros((2, 9, 17), np.int32)
    kernels.contract(
        a,
        b,
        out,
        [2, 1, 17, 33, 9, 1, 1, 1],
        amap(lambda n, g, k, c, p, q, r, s: (n, p, c)),
        amap(lambda n, g, k, c, p, q, r, s: (c, k)),
        amap(lambda n, g, k, c, p, q, r, s: (n, p, k)),
    )
    assert_matches(out, want)


def naive_contract(
    x: np.ndarray,
    w: np.ndarray,
    out_shape: tuple[int, ...],
    bounds: Sequence[int],
    map_i: AffineMap,
    map_w: AffineMap,
    map_o: AffineMap,
) -> np.ndarray:
    """The contraction's definition as a literal loop; out-of-bounds reads are 0."""

    def read(a: np.ndarray, idx: tuple[int, ...]) -> float:
        inside = all(0 <= i < d for i, d in zip(idx, a.shape, strict=True))
        return float(a[idx]) if inside else 0.0

    want = np.zeros(out_shape, np.float64)
    for it in np.ndindex(*bounds):
        want[map_o.eval(it, [])] += read(x, map_i.eval(it, [])) * read(
            w, map_w.eval(it, [])
        )
    return want


@pytest.mark.parametrize("seed", range(12))
def test_contract_random_linear_maps(seed: int) -> None:
    """Random linear maps (negative strides, overhangs both ways) vs the loop."""
    rng = np.random.default_rng(seed)
    bounds = [int(b) for b in rng.integers(1, 4, 8)]
    dims = AffineMap.identity(8).results

    def random_map(used: Sequence[int]) -> tuple[AffineMap, tuple[int, ...]]:
        results: list[AffineExpr] = []
        shape: list[int] = []
        for _ in range(int(rng.integers(1, 4))):
            picked = rng.choice(used, size=int(rng.integers(1, len(used) + 1)))
            expr: AffineExpr = AffineExpr.constant(int(rng.integers(-2, 3)))
            for d in picked:
                expr = expr + dims[d] * int(rng.choice([-2, -1, 1, 2, 3]))
            results.append(expr)
            shape.append(int(rng.integers(1, 7)))
        return AffineMap(8, 0, tuple(results)), tuple(shape)

    out_dims = [int(d) for d in rng.permutation(8)[: int(rng.integers(1, 4))]]
    map_o = AffineMap(8, 0, tuple(dims[d] for d in out_dims))
    out_shape = tuple(bounds[d] for d in out_dims)
    map_i, i_shape = random_map(list(range(8)))
    map_w, w_shape = random_map(list(range(8)))
    x, w = rand(*i_shape, seed=seed), rand(*w_shape, seed=seed + 100)
    out = np.zeros(out_shape, np.float32)
    kernels.contract(x, w, out, bounds, map_i, map_w, map_o)
    want = naive_contract(x, w, out_shape, bounds, map_i, map_w, map_o)
    np.testing.assert_allclose(out, want, rtol=RTOL, atol=ATOL)


def test_contract_matches_naive_loop() -> None:
    """A small grouped, strided, padded conv against a literal 8-deep loop nest."""
    bounds = [2, 2, 3, 2, 3, 2, 2, 3]
    n, g, k, c, p, q, r, s = bounds
    x, w, b = rand(n, g * c, 5, 4, seed=1), rand(g * k, c, r, s, seed=2), rand(g * k)
    map_i = amap(
        lambda n, g, k, c_, p, q, r, s: (n, g * c + c_, p * 2 + r - 1, q + s - 1)
    )
    map_w = amap(lambda n, g, k_, c, p, q, r, s: (g * k + k_, c, r, s))
    map_o = amap(lambda n, g, k_, c, p, q, r, s: (n, g * k + k_, p, q))
    map_b = amap(lambda n, g, k_, c, p, q, r, s: (g * k + k_,))
    want = np.zeros((n, g * k, p, q), np.float64)
    for it in np.ndindex(*bounds):
        ii = map_i.eval(it, [])
        inside = all(0 <= i < d for i, d in zip(ii, x.shape, strict=True))
        xv = float(x[ii]) if inside else 0.0
        want[map_o.eval(it, [])] += xv * float(w[map_w.eval(it, [])])
    for it in np.ndindex(n, g, k, 1, p, q, 1, 1):
        want[map_o.eval(it, [])] = 0.5 * want[map_o.eval(it, [])] + 2.0 * float(
            b[map_b.eval(it, [])]
        )
    out = np.zeros((n, g * k, p, q), np.float32)
    kernels.contract(x, w, out, bounds, map_i, map_w, map_o, b, map_b, 0.5, 2.0)
    np.testing.assert_allclose(out, want, rtol=RTOL, atol=ATOL)


def test_contract_strided_operands_and_transposed_output() -> None:
    """Non-contiguous operands, a transposed output map and a W-only reduced dim."""
    a = rand(6, 8, seed=1).T  # (8, 6) view with Fortran strides
    b = rand(8, 5, 2, seed=2)  # the trailing axis is summed out (W-only dim r)
    out = np.zeros((5, 6), np.float32)  # O[k, p] = sum_c,r a[c, p] * b[c, k, r]
    kernels.contract(
        a,
        b,
        out,
        [1, 1, 5, 8, 6, 1, 2, 1],
        amap(lambda n, g, k, c, p, q, r, s: (c, p)),
        amap(lambda n, g, k, c, p, q, r, s: (c, k, r)),
        amap(lambda n, g, k, c, p, q, r, s: (k, p)),
    )
    want = np.einsum("cp,ckr->kp", a.astype(np.float64), b.astype(np.float64))
    np.testing.assert_allclose(out, want, rtol=RTOL, atol=ATOL)


def test_contract_rejects_bad_maps() -> None:
    x = rand(4, 4)
    out = np.zeros((4, 4), np.float32)
    ident = amap(lambda n, g, k, c, p, q, r, s: (p, c))
    with pytest.raises(ValueError, match="takes 2 dims"):
        kernels.contract(
            x,
            x,
            out,
            [1] * 8,
            AffineMap.from_callable(lambda a, b: (a, b)),
            ident,
            ident,
        )
    with pytest.raises(ValueError, match="has 3 results"):
        kernels.contract(
            x,
            x,
            out,
            [1, 1, 4, 4, 4, 1, 1, 1],
            amap(lambda n, g, k, c, p, q, r, s: (p, c, 0)),
            ident,
            ident,
        )


# ---------------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------------

POOL_CASES = {
    # name: (x shape, kernel, strides, pads, dilations, ceil_mode, count_include_pad)
    "k2s2": ((1, 3, 8, 8), [2, 2], [2, 2], [0, 0, 0, 0], None, 0, 0),
    "k3s2p1": ((2, 4, 9, 9), [3, 3], [2, 2], [1, 1, 1, 1], None, 0, 0),
    "k3s2p1_incl": ((2, 4, 9, 9), [3, 3], [2, 2], [1, 1, 1, 1], None, 0, 1),
    "ceil": ((1, 2, 8, 8), [3, 3], [2, 2], [0, 0, 0, 0], None, 1, 0),
    "ceil_pad_incl": ((1, 2, 7, 6), [3, 3], [2, 2], [1, 1, 1, 1], None, 1, 1),
    "asym_pad": ((1, 1, 6, 7), [3, 2], [1, 2], [2, 0, 1, 1], None, 0, 0),
    "asym_pad_incl": ((1, 1, 6, 7), [3, 2], [1, 2], [2, 0, 1, 1], None, 0, 1),
    "dilation": ((1, 2, 9, 9), [2, 2], [1, 1], [0, 0, 0, 0], [2, 2], 0, 0),
    "dilation_stride_pad": ((1, 2, 11, 10), [3, 2], [2, 1], [1, 1, 1, 0], [2, 3], 0, 0),
    "pool1d": ((2, 3, 10), [3], [2], [1, 1], None, 0, 0),
}


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("case", POOL_CASES.keys())
def test_pool(kind: str, case: str) -> None:
    xs, kernel, strides, pads, dilations, ceil_mode, incl = POOL_CASES[case]
    x = rand(*xs, seed=4)
    attrs: dict[str, Any] = {
        "kernel_shape": kernel,
        "strides": strides,
        "pads": pads,
        "ceil_mode": ceil_mode,
    }
    if dilations is not None:
        attrs["dilations"] = dilations
    if kind == "avg":
        attrs["count_include_pad"] = incl
    (want,) = run_reference("MaxPool" if kind == "max" else "AveragePool", [x], **attrs)
    got = kernels.pool(
        x, kind, kernel, strides, pads, dilations, bool(ceil_mode), bool(incl)
    )
    assert_matches(got, want)


def test_maxpool_uint8() -> None:
    x = np.random.default_rng(3).integers(0, 256, (1, 2, 6, 6), dtype=np.uint8)
    (want,) = run_reference("MaxPool", [x], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    assert_matches(kernels.pool(x, "max", [3, 3], None, [1, 1, 1, 1]), want)


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_global_pool(kind: str) -> None:
    x = rand(2, 5, 7, 6, seed=8)
    op = "GlobalMaxPool" if kind == "max" else "GlobalAveragePool"
    (want,) = run_reference(op, [x])
    assert_matches(kernels.global_pool(x, kind), want)


def test_pool_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown pool kind 'lp'"):
        kernels.pool(rand(1, 1, 4, 4), "lp", [2, 2])


# ---------------------------------------------------------------------------------
# Softmax, LayerNorm, reductions
# ---------------------------------------------------------------------------------


@pytest.mark.parametrize("axis", [-1, 0, 1, 2])
def test_softmax(axis: int) -> None:
    x = rand(3, 4, 5, seed=9) * 10
    (want,) = run_reference("Softmax", [x], axis=axis)
    assert_matches(kernels.softmax(x, axis), want)


def test_softmax_large_values_are_stable() -> None:
    x = np.array([[1e4, 1e4 + 1, 1e4 + 2]], np.float32)
    (want,) = run_reference("Softmax", [x])
    assert_matches(kernels.softmax(x, -1), want)


@pytest.mark.parametrize(
    ("axis", "with_bias"), [(-1, True), (-2, True), (1, False), (0, True)]
)
def test_layernorm(axis: int, with_bias: bool) -> None:
    x = rand(2, 3, 8, seed=10) * 3 + 1
    norm_shape = x.shape[axis:]
    scale, bias = rand(*norm_shape, seed=11), rand(*norm_shape, seed=12)
    (want,) = run_reference(
        "LayerNormalization",
        [x, scale, bias if with_bias else None],
        opset=17,
        axis=axis,
        epsilon=1e-3,
    )
    got = kernels.layernorm(x, scale, bias if with_bias else None, axis, 1e-3)
    assert_matches(got, want)


@pytest.mark.parametrize("kind", ["mean", "sum", "max"])
@pytest.mark.parametrize(
    ("axes", "keepdims"), [([1], 1), ([0, 2], 0), ([-1], 1), (None, 0)]
)
def test_reduce(kind: str, axes: list[int] | None, keepdims: int) -> None:
    x = rand(3, 4, 5, seed=13)
    op = {"mean": "ReduceMean", "sum": "ReduceSum", "max": "ReduceMax"}[kind]
    ins: list[np.ndarray | None] = [x]
    if axes is not None:
        ins.append(np.array(axes, np.int64))
    (want,) = run_reference(op, ins, opset=18, keepdims=keepdims)
    assert_matches(kernels.reduce(x, kind, axes, bool(keepdims)), want)


def test_reduce_int_sum_keeps_type() -> None:
    x = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
    (want,) = run_reference("ReduceSum", [x, np.array([1], np.int64)], opset=18)
    assert_matches(kernels.reduce(x, "sum", [1], True), want)


# ---------------------------------------------------------------------------------
# Elementwise
# ---------------------------------------------------------------------------------

UNARY_OPS = {
    "relu": "Relu",
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "erf": "Erf",
    "exp": "Exp",
    "sqrt": "Sqrt",
    "neg": "Neg",
    "abs": "Abs",
    "reciprocal": "Reciprocal",
}


@pytest.mark.parametrize("kind", UNARY_OPS.keys())
def test_unary(kind: str) -> None:
    x = rand(3, 4, 5, seed=14) * 4
    if kind in ("sqrt", "reciprocal"):
        x = np.abs(x) + np.float32(0.1)
    (want,) = run_reference(UNARY_OPS[kind], [x])
    assert_matches(kernels.elementwise(kind, [x]), want)


def test_sigmoid_extremes() -> None:
    x = np.array([-1000.0, -80.0, -1.0, 0.0, 1.0, 80.0, 1000.0], np.float32)
    (want,) = run_reference("Sigmoid", [x])
    assert_matches(kernels.elementwise("sigmoid", [x]), want)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu(approximate: str) -> None:
    x = rand(4, 16, seed=15) * 3
    (want,) = run_reference("Gelu", [x], opset=20, approximate=approximate)
    assert_matches(kernels.elementwise("gelu", [x], approximate=approximate), want)


@pytest.mark.parametrize(
    ("lo", "hi"), [(-0.5, 0.5), (None, 0.2), (-0.1, None), (None, None), (0.6, 0.2)]
)
def test_clip(lo: float | None, hi: float | None) -> None:
    x = rand(5, 6, seed=16)
    ins: list[np.ndarray | None] = [
        x,
        None if lo is None else np.array(lo, np.float32),
        None if hi is None else np.array(hi, np.float32),
    ]
    (want,) = run_reference("Clip", ins, opset=13)
    assert_matches(kernels.elementwise("clip", [x], min_value=lo, max_value=hi), want)


def test_clip_int8() -> None:
    x = np.arange(-10, 10, dtype=np.int8)
    (want,) = run_reference("Clip", [x, np.int8(-3), np.int8(4)], opset=13)
    assert_matches(kernels.elementwise("clip", [x], min_value=-3, max_value=4), want)


BINARY_OPS = {
    "add": "Add",
    "sub": "Sub",
    "mul": "Mul",
    "div": "Div",
    "pow": "Pow",
    "max": "Max",
    "min": "Min",
}
BROADCAST_SHAPES = [
    ((3, 4, 5), (3, 4, 5)),
    ((3, 4, 5), (5,)),
    ((3, 4, 5), (4, 1)),
    ((1, 4, 1), (3, 1, 5)),
    ((2, 3, 4, 5), ()),
]


@pytest.mark.parametrize("kind", BINARY_OPS.keys())
@pytest.mark.parametrize(("sa", "sb"), BROADCAST_SHAPES)
def test_binary_broadcast(kind: str, sa: tuple[int, ...], sb: tuple[int, ...]) -> None:
    a, b = rand(*sa, seed=17), rand(*sb, seed=18)
    if kind == "pow":
        a = np.abs(a) + np.float32(0.5)
    if kind == "div":
        b = np.where(np.abs(b) < 0.1, np.float32(1), b).astype(np.float32)
    (want,) = run_reference(
        BINARY_OPS[kind], [a, b], opset=14 if kind in "add sub mul div" else 15
    )
    assert_matches(kernels.elementwise(kind, [a, b]), want)


def test_int_div_truncates_toward_zero() -> None:
    a = np.array([7, -7, 7, -7, 0, 5], np.int32)
    b = np.array([2, 2, -2, -2, 3, 5], np.int32)
    (want,) = run_reference("Div", [a, b], opset=14)
    assert_matches(kernels.elementwise("div", [a, b]), want)


def test_variadic_max() -> None:
    xs = [rand(3, 4, seed=i) for i in range(3)]
    (want,) = run_reference("Max", xs, opset=13)
    assert_matches(kernels.elementwise("max", xs), want)


def test_pow_mixed_types_keeps_base_type() -> None:
    a, b = rand(3, seed=19), np.array([2, 3, 1], np.int64)
    (want,) = run_reference("Pow", [a, b], opset=15)
    assert_matches(kernels.elementwise("pow", [a, b]), want)


def test_elementwise_errors() -> None:
    with pytest.raises(ValueError, match="unknown elementwise kind 'tan'"):
        kernels.elementwise("tan", [rand(2)])
    with pytest.raises(ValueError, match="takes 2 operands"):
        kernels.elementwise("add", [rand(2)])


# ---------------------------------------------------------------------------------
# Data movement
# ---------------------------------------------------------------------------------


@pytest.mark.parametrize("perm", [None, [0, 2, 1, 3], [3, 1, 0, 2]])
def test_transpose(perm: list[int] | None) -> None:
    x = rand(2, 3, 4, 5, seed=20)
    attrs = {} if perm is None else {"perm": perm}
    (want,) = run_reference("Transpose", [x], **attrs)
    assert_matches(kernels.transpose(x, perm), want)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concat(axis: int) -> None:
    xs = [rand(2, 3, 4, seed=21), rand(2, 3, 4, seed=22)]
    (want,) = run_reference("Concat", xs, axis=axis)
    assert_matches(kernels.concat(xs, axis), want)


def test_reshape() -> None:
    x = rand(2, 3, 4, seed=23)
    (want,) = run_reference("Reshape", [x, np.array([4, -1, 2], np.int64)])
    assert_matches(kernels.reshape(x, [4, 3, 2]), want)
    with pytest.raises(ValueError, match="cannot reshape"):
        kernels.reshape(x, [5, 5])
