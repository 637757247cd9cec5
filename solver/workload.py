"""Workloads: one compute layer as a perfect loop nest over the paper's eight dims.

A :class:`Layer` is the constant part S_c of the MIREDO model that comes from the DNN:
the loop bounds of the dims ``N, G, K, C, P, Q, R, S`` (batch, groups, output
channels, input channels per group, output rows/cols, kernel rows/cols), stride,
dilation, the input extent actually present, and which dims are *relevant* to each
operand (a dim is relevant to an operand when iterating it changes the operand's tile).

Data sizes are in elements; the hardware precision turns them into bits. The input
tile along H for an (output-rows tile ``p``, kernel-rows tile ``r``) is the exact
number of distinct input rows touched, ``|{i*stride + j*dilation : i < p, j < r}|``,
clamped to the input height (and likewise along W for ``(q, s)``): see
:func:`halo_extent`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache

DIMS: tuple[str, ...] = ("N", "G", "K", "C", "P", "Q", "R", "S")
"""The loop dims, in canonical order."""

OPERANDS: tuple[str, ...] = ("I", "W", "O")
"""Operands: input feature map, weights, output feature map (partial sums)."""

CONV_RELEVANT: dict[str, frozenset[str]] = {
    "I": frozenset("NGCPQRS"),
    "W": frozenset("GKCRS"),
    "O": frozenset("NGKPQ"),
}
"""Relevant dims of a (grouped) convolution."""


@cache
def halo_extent(p: int, r: int, stride: int, dilation: int, limit: int) -> int:
    """Distinct input positions touched by ``p`` outputs and ``r`` taps, at most ``limit``.

    Exactly ``|{i*stride + j*dilation : i < p, j < r}|`` clamped to ``limit``. This is
    correct for every stride/dilation combination, including stride larger than the
    kernel extent (a 1x1 stride-2 conv touches every other row).
    """
    if p <= 0 or r <= 0:
        return 0
    if p == 1 or r == 1:
        count = p * r
    elif stride == dilation:
        count = p + r - 1
    else:
        count = len({i * stride + j * dilation for i in range(p) for j in range(r)})
    return min(count, limit)


@dataclass(frozen=True)
class Layer:
    """One contraction layer: loop bounds, geometry and operand relevance."""

    name: str
    """Name (the ONNX node name where there is one); not part of the signature."""
    dims: dict[str, int]
    """Bound of each of the eight dims ``N, G, K, C, P, Q, R, S`` (all >= 1)."""
    stride: tuple[int, int] = (1, 1)
    """Stride along (H, W)."""
    dilation: tuple[int, int] = (1, 1)
    """Dilation along (H, W)."""
    in_hw: tuple[int, int] | None = None
    """Input (H, W) extent actually present, used to clamp the halo; defaults to the
    extent the full loop nest touches (no padding)."""
    relevant: dict[str, frozenset[str]] = field(
        default_factory=lambda: dict(CONV_RELEVANT)
    )
    """Dims relevant to each operand ``I``, ``W``, ``O``."""

    def __post_init__(self) -> None:
        dims = {d: int(self.dims.get(d, 1)) for d in DIMS}
        unknown = set(self.dims) - set(DIMS)
        if unknown:
            raise ValueError(f"layer {self.name}: unknown dims {sorted(unknown)}")
        for d, v in dims.items():
            if v < 1:
                raise ValueError(f"layer {self.name}: dim {d}={v} must be >= 1")
        object.__setattr__(self, "dims", dims)
        object.__setattr__(
            self, "relevant", {op: frozenset(self.relevant[op]) for op in OPERANDS}
        )
        if self.in_hw is None:
            h = (
                (dims["P"] - 1) * self.stride[0]
                + (dims["R"] - 1) * self.dilation[0]
                + 1
            )
            w = (
                (dims["Q"] - 1) * self.stride[1]
                + (dims["S"] - 1) * self.dilation[1]
                + 1
            )
            object.__setattr__(self, "in_hw", (h, w))
        object.__setattr__(self, "stride", tuple(self.stride))
        object.__setattr__(self, "dilation", tuple(self.dilation))
        object.__setattr__(self, "in_hw", tuple(self.in_hw))  # type: ignore[arg-type]

    def __hash__(self) -> int:
        return hash((self.name, self.signature()))

    # ---------------------------------------------------------------- constructors
    @staticmethod
    def conv(
        name: str,
        *,
        k: int,
        c: int,
        in_hw: tuple[int, int],
        r: int = 1,
        s: int = 1,
        n: int = 1,
        g: int = 1,
        stride: int | tuple[int, int] = 1,
        dilation: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
    ) -> Layer:
        """A (grouped) 2-D convolution; ``c`` and ``k`` are channels *per group*.

        ``padding`` is the per-side padding along (H, W); the output size follows the
        usual formula ``(H + 2*pad - dil*(R-1) - 1) // stride + 1``.
        """
        sh, sw = _pair(stride)
        dh, dw = _pair(dilation)
        ph, pw = _pair(padding)
        h, w = in_hw
        p = (h + 2 * ph - dh * (r - 1) - 1) // sh + 1
        q = (w + 2 * pw - dw * (s - 1) - 1) // sw + 1
        if p < 1 or q < 1:
            raise ValueError(f"layer {name}: empty output ({p}x{q})")
        dims = {"N": n, "G": g, "K": k, "C": c, "P": p, "Q": q, "R": r, "S": s}
        return Layer(name, dims, (sh, sw), (dh, dw), (h, w))

    @staticmethod
    def gemm(
        name: str,
        *,
        m: int,
        k: int,
        n: int,
        batch: int = 1,
        batched_weights: bool = False,
    ) -> Layer:
        """``O[b, m, n] = sum_k I[b, m, k] * W[(b,) k, n]`` as a loop nest.

        Rows ``m`` map to P, the reduction ``k`` to C and the columns ``n`` to K.
        The batch goes to N (weights shared across the batch) or, when the weights
        are batched too (a batched MatMul of two activations), to G, which is
        relevant to all three operands.
        """
        dims = {"N": 1, "G": 1, "K": n, "C": k, "P": m, "Q": 1, "R": 1, "S": 1}
        dims["G" if batched_weights else "N"] = batch
        return Layer(name, dims, (1, 1), (1, 1), (m, 1))

    # ------------------------------------------------------------------ properties
    @property
    def reduction(self) -> frozenset[str]:
        """Dims summed over: those not relevant to the output (``C, R, S`` for a conv)."""
        return frozenset(DIMS) - self.relevant["O"]

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the layer."""
        return math.prod(self.dims.values())

    def signature(self) -> str:
        """Canonical text of everything that determines the mapping problem."""
        dims = ",".join(f"{d}{self.dims[d]}" for d in DIMS)
        rel = ";".join(
            f"{op}:{''.join(d for d in DIMS if d in self.relevant[op])}"
            for op in OPERANDS
        )
        sh, sw = self.stride
        dh, dw = self.dilation
        h, w = self.in_hw  # type: ignore[misc]
        return f"{dims}|s{sh}x{sw}|d{dh}x{dw}|in{h}x{w}|{rel}"

    # ------------------------------------------------------------------ data sizes
    def in_rows(self, p: int, r: int) -> int:
        """Input rows touched by ``p`` output rows and ``r`` kernel rows."""
        return halo_extent(p, r, self.stride[0], self.dilation[0], self.in_hw[0])  # type: ignore[index]

    def in_cols(self, q: int, s: int) -> int:
        """Input columns touched by ``q`` output columns and ``s`` kernel columns."""
        return halo_extent(q, s, self.stride[1], self.dilation[1], self.in_hw[1])  # type: ignore[index]

    def volume(self, operand: str, ext: dict[str, int]) -> int:
        """Elements of ``operand`` in a tile with the given per-dim extents.

        Missing dims count as 1. Irrelevant dims do not count. For the input, the
        (P, R) and (Q, S) pairs become the halo extents :meth:`in_rows` and
        :meth:`in_cols` (a dim of a pair that is irrelevant counts as extent 1).
        """
        rel = self.relevant[operand]
        vol = 1
        for d in rel:
            if operand == "I" and d in "PQRS":
                continue
            vol *= ext.get(d, 1)
        if operand == "I":
            g = ext.get
            vol *= self.in_rows(
                g("P", 1) if "P" in rel else 1, g("R", 1) if "R" in rel else 1
            )
            vol *= self.in_cols(
                g("Q", 1) if "Q" in rel else 1, g("S", 1) if "S" in rel else 1
            )
        return vol

    def full_volume(self, operand: str) -> int:
        """Elements of ``operand`` the whole layer touches."""
        return self.volume(operand, self.dims)


def _pair(v: int | tuple[int, int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))
