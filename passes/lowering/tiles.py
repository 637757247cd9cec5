"""Tiles of an annotated contraction: which elements each buffer holds, and where.

The dataflow attribute factors every dim ``d`` into *digits*: its temporal loops
(in nest order), its factor on the cores axis and its factor on the macro array.
A point of the iteration space is ``d = sum(digit value * digit weight)``, with
the digits of ``d`` forming a mixed radix (outer digits first). The order of the
radix is a choice of the lowering; we take, outer to inner:

    [temporal loops of d held at a shared level by the anchor operand]
    [the cores digit]
    [temporal loops of d held at a per-core level by the anchor operand]
    [the array digit]

The anchor is ``I`` for dims of the input (so that every input tile is a
contiguous range of rows and columns, which the halo arithmetic needs) and the
first operand the dim is relevant to otherwise. With this order, the tile an
operand keeps at a level (the digits of its loops at that level or inner, plus the
array digit, plus the cores digit at a shared level) is a *set of digits*; its
elements are laid out in the buffer by **runs**: maximal groups of digits that
are consecutive in the radix, each run one buffer axis (see
:class:`AxisLayout`). An input axis ``p*stride + r*dilation - pad`` is a *halo*
axis instead: the window of input positions the tile's output and kernel ranges
touch, exactly :func:`miredo.solver.workload.halo_extent` positions long
(clamped to the input extent), so every buffer is the evaluator's tile size.

Addresses are :class:`Expr`: integer-linear functions of the loop counters and
of the core's digits; the code generator turns them into ``affine.apply`` ops
(and the core part into constants or multicast ``shifts``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product

from miredo.dialects.nest import Lin
from miredo.errors import MiredoError
from miredo.solver.hardware import Arch
from miredo.solver.mapping import Mapping as DataflowMapping
from miredo.solver.workload import DIMS, Layer

# --------------------------------------------------------------------------- #
# Affine index expressions
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Expr:
    """``const + sum(coef[slot] * iv[slot]) + sum(core_coef[d] * core digit of d)``."""

    const: int = 0
    ivs: tuple[tuple[int, int], ...] = ()
    """(slot, coefficient) pairs, slots ascending, no zero coefficients."""
    cores: tuple[tuple[str, int], ...] = ()
    """(dim, coefficient) pairs of the core's digits."""

    @staticmethod
    def iv(slot: int, coef: int = 1) -> Expr:
        return Expr(0, ((slot, coef),) if coef else ())

    @staticmethod
    def core(dim: str, coef: int = 1) -> Expr:
        return Expr(0, (), ((dim, coef),) if coef else ())

    def __add__(self, other: Expr | int) -> Expr:
        if isinstance(other, int):
            return Expr(self.const + other, self.ivs, self.cores)
        return Expr(
            self.const + other.const,
            _merge(self.ivs, other.ivs),
            _merge(self.cores, other.cores),
        )

    def __mul__(self, k: int) -> Expr:
        if k == 0:
            return Expr()
        return Expr(
            self.const * k,
            tuple((s, c * k) for s, c in self.ivs),
            tuple((d, c * k) for d, c in self.cores),
        )

    def exact_div(self, k: int) -> Expr:
        """``self / k``; every coefficient must be a multiple of ``k``."""
        if k == 1:
            return self
        parts = [self.const, *(c for _, c in self.ivs), *(c for _, c in self.cores)]
        if any(p % k for p in parts):
            raise ValueError(f"{self} is not a multiple of {k}")
        return Expr(
            self.const // k,
            tuple((s, c // k) for s, c in self.ivs),
            tuple((d, c // k) for d, c in self.cores),
        )

    def without_cores(self) -> Expr:
        return Expr(self.const, self.ivs, ())

    def core_part(self, digits: Mapping[str, int]) -> int:
        """The value of the core terms for one core's digits."""
        return sum(c * digits.get(d, 0) for d, c in self.cores)

    def bind_core(self, digits: Mapping[str, int]) -> Expr:
        """Substitute one core's digits."""
        return Expr(self.const + self.core_part(digits), self.ivs, ())

    @property
    def is_const(self) -> bool:
        return not self.ivs and not self.cores

    def __str__(self) -> str:
        terms = [f"{c}*i{s}" for s, c in self.ivs] + [
            f"{c}*core.{d}" for d, c in self.cores
        ]
        return " + ".join([*terms, str(self.const)])


def _merge(a: tuple, b: tuple) -> tuple:
    out: dict = dict(a)
    for k, v in b:
        out[k] = out.get(k, 0) + v
    return tuple(sorted((k, v) for k, v in out.items() if v))


# --------------------------------------------------------------------------- #
# Digits and the radix of every dim
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Digit:
    """One factor of a dim: a temporal loop, the cores factor or the array factor."""

    dim: str
    kind: str
    """``loop``, ``core`` or ``array``."""
    slot: int
    """The temporal slot (``loop``), else -1."""
    factor: int
    weight: int
    """Weight in the dim's radix (product of the factors of the inner digits)."""

    def value(self) -> Expr:
        """The digit's value at a point where it is fixed (loop counter or core)."""
        if self.kind == "loop":
            return Expr.iv(self.slot)
        if self.kind == "core":
            return Expr.core(self.dim)
        raise ValueError("the array digit never has a fixed value")


@dataclass
class Radix:
    """The digits of every dim, outer first (factor-1 digits dropped)."""

    digits: dict[str, tuple[Digit, ...]]
    core_loops: tuple[tuple[str, int], ...]
    """The cores axis' loops in order (the core id is their mixed radix)."""
    active_cores: int

    def core_digits(self, core: int) -> dict[str, int]:
        """The value of each dim's cores digit on core ``core``."""
        out = dict.fromkeys(DIMS, 0)
        rem = core
        sizes = [f for _, f in self.core_loops]
        for (d, f), inner in zip(
            self.core_loops,
            [math.prod(sizes[i + 1 :]) for i in range(len(sizes))],
            strict=True,
        ):
            v = rem // inner
            rem %= inner
            out[d] = out[d] * f + v
        return out


def build_radix(layer: Layer, arch: Arch, mapping: DataflowMapping) -> Radix:
    """The radix order described in the module docstring."""
    idx = arch.level_index
    cores_axis = arch.cores_axis.name
    core_f = {d: mapping.spatial_factor(cores_axis, d) for d in DIMS}
    array_f = {
        d: math.prod(mapping.spatial_factor(a.name, d) for a in arch.array_axes)
        for d in DIMS
    }
    digits: dict[str, tuple[Digit, ...]] = {}
    for d in DIMS:
        anchor = next((op for op in ("I", "W", "O") if d in layer.relevant[op]), "O")
        levels = mapping.level_of[anchor]
        loops = [
            (i, lp.factor)
            for i, lp in enumerate(mapping.temporal)
            if lp.dim == d and lp.factor > 1
        ]
        outer = [(i, f) for i, f in loops if not arch.levels[idx[levels[i]]].per_core]
        inner = [(i, f) for i, f in loops if arch.levels[idx[levels[i]]].per_core]
        order: list[tuple[str, int, int]] = [("loop", i, f) for i, f in outer]
        if core_f[d] > 1:
            order.append(("core", -1, core_f[d]))
        order += [("loop", i, f) for i, f in inner]
        if array_f[d] > 1:
            order.append(("array", -1, array_f[d]))
        weight, out = 1, []
        for kind, slot, f in reversed(order):
            out.append(Digit(d, kind, slot, f, weight))
            weight *= f
        if weight != layer.dims[d]:
            raise MiredoError(
                f"the factors of {d} multiply to {weight}, not {layer.dims[d]}",
                layer.name,
            )
        digits[d] = tuple(reversed(out))
    core_loops = tuple(
        (lp.dim, lp.factor)
        for lp in mapping.spatial.get(cores_axis, ())
        if lp.factor > 1
    )
    return Radix(digits, core_loops, math.prod(f for _, f in core_loops))


# --------------------------------------------------------------------------- #
# Tensor axes and buffer layouts
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class TensorAxis:
    """One axis of an operand's off-chip tensor, from its access map."""

    kind: str
    """``const`` (a broadcast index), ``digits`` (a mixed radix of dims, e.g.
    ``g*C + c``) or ``halo`` (``p*stride + r*dilation - pad``)."""
    extent: int
    dims: tuple[tuple[str, int], ...] = ()
    """``digits``: (dim, coefficient), outer first. ``halo``: ((P, stride),
    (R, dilation)) or the Q/S pair."""
    offset: int = 0
    """``halo``: the constant term (``-pad``); ``const``: the index."""


def tensor_axes(
    access: Sequence[Lin], shape: Sequence[int], layer: Layer
) -> list[TensorAxis]:
    """Classify the results of an access map (see :class:`TensorAxis`)."""
    axes: list[TensorAxis] = []
    for e, extent in zip(access, shape, strict=True):
        terms = [(d, c) for d, c in zip(DIMS, e.coeffs, strict=True) if c]
        if not terms:
            axes.append(TensorAxis("const", extent, (), e.const))
            continue
        names = {d for d, _ in terms}
        coef1 = dict(terms)
        spatial = names in ({"P", "R"}, {"Q", "S"}, {"P"}, {"Q"})
        if spatial and (
            len(names) == 2 or e.const or coef1.get("P", coef1.get("Q")) != 1
        ):
            pair = ("P", "R") if "P" in names else ("Q", "S")
            coef = dict(terms)
            axes.append(
                TensorAxis(
                    "halo",
                    extent,
                    ((pair[0], coef.get(pair[0], 0)), (pair[1], coef.get(pair[1], 0))),
                    e.const,
                )
            )
            continue
        if e.const:
            raise MiredoError(f"unsupported access expression {e}", layer.name)
        terms.sort(key=lambda t: -t[1])
        # a mixed radix: each coefficient is the extent of everything inside it
        inner = 1
        for d, c in reversed(terms):
            if c != inner:
                raise MiredoError(f"unsupported access expression {e}", layer.name)
            inner *= layer.dims[d]
        axes.append(TensorAxis("digits", extent, tuple(terms)))
    return axes


@dataclass(frozen=True)
class Window:
    """The input positions of a halo axis a tile holds: ``origin + step * t``."""

    origin: Expr
    step: int
    size: int


@dataclass(frozen=True)
class AxisLayout:
    """How one tensor axis is laid out in one buffer."""

    axis: TensorAxis
    runs: tuple[tuple[tuple[Digit, int], ...], ...] = ()
    """``digits``: the runs, outer first; each a tuple of (digit, coordinate
    weight). One buffer axis per run (one axis of size 1 when there is none)."""
    window: Window | None = None
    """``halo``: the positions held."""
    base: Expr = field(default_factory=Expr)
    """``digits``: the tensor coordinate of buffer index 0 (the fixed digits)."""

    @property
    def shape(self) -> tuple[int, ...]:
        if self.axis.kind == "const":
            return (1,)
        if self.axis.kind == "halo":
            assert self.window is not None
            return (self.window.size,)
        if not self.runs:
            return (1,)
        return tuple(math.prod(dg.factor for dg, _ in run) for run in self.runs)


@dataclass(frozen=True)
class Layout:
    """A buffer holding one tile of one operand."""

    axes: tuple[AxisLayout, ...]
    offchip: bool = False
    """The operand's whole off-chip tensor (constant axes keep their index)."""

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(s for a in self.axes for s in a.shape)

    @property
    def elements(self) -> int:
        return math.prod(self.shape)


def axis_digits(radix: Radix, axis: TensorAxis) -> list[tuple[Digit, int]]:
    """The digits of a ``digits`` axis with their coordinate weights, outer first."""
    return [(dg, dg.weight * coef) for d, coef in axis.dims for dg in radix.digits[d]]


def halo_window(
    axis: TensorAxis,
    lo: Mapping[str, Expr],
    ext: Mapping[str, int],
    layer: Layer,
    clamp: bool = True,
) -> Window:
    """The input positions touched by output range ``[lo, lo+ext)`` and kernel range.

    With ``clamp``, a window longer than the input is the whole input (a buffer
    holds at most the input; the positions outside are padding)."""
    (p, stride), (r, dil) = axis.dims
    a, b = ext.get(p, 1), ext.get(r, 1)
    origin = lo.get(p, Expr()) * stride + lo.get(r, Expr()) * dil + axis.offset
    if a == 1 and b == 1:
        step, size = 1, 1
    elif a == 1:
        step, size = dil, b
    elif b == 1:
        step, size = stride, a
    else:
        span = (a - 1) * stride + (b - 1) * dil
        step = math.gcd(stride, dil)
        positions = {i * stride + j * dil for i in range(a) for j in range(b)}
        if len(positions) != span // step + 1:
            raise MiredoError(
                f"a tile of {a} outputs x {b} taps (stride {stride}, dilation {dil}) "
                "touches input positions that are not evenly spaced; the lowering "
                "cannot lay it out",
                layer.name,
            )
        size = span // step + 1
    if clamp and size > axis.extent:
        if step != 1:
            raise MiredoError("a clamped halo window must be contiguous", layer.name)
        return Window(Expr(), 1, axis.extent)
    return Window(origin, step, size)


def layout(
    radix: Radix,
    axes: Sequence[TensorAxis],
    varying: frozenset[Digit],
    layer: Layer,
    clamp: bool = True,
) -> Layout:
    """The layout of a buffer whose tile is spanned by the ``varying`` digits
    (``clamp=False``: of an access, e.g. one MVM's input window, which may
    include padding positions outside a clamped buffer)."""
    out: list[AxisLayout] = []
    for axis in axes:
        if axis.kind == "const":
            out.append(AxisLayout(axis))
            continue
        if axis.kind == "halo":
            lo: dict[str, Expr] = {}
            ext: dict[str, int] = {}
            for d, _ in axis.dims:
                lo[d], ext[d] = _range(radix.digits[d], varying)
            window = halo_window(axis, lo, ext, layer, clamp)
            out.append(AxisLayout(axis, window=window))
            continue
        runs: list[list[tuple[Digit, int]]] = []
        base = Expr()
        prev_varying = False
        for dg, w in axis_digits(radix, axis):
            if dg in varying:
                if not prev_varying:
                    runs.append([])
                runs[-1].append((dg, w))
            else:
                base = base + dg.value() * w
            prev_varying = dg in varying
        out.append(AxisLayout(axis, runs=tuple(tuple(r) for r in runs), base=base))
    return Layout(tuple(out))


def _range(digits: Sequence[Digit], varying: frozenset[Digit]) -> tuple[Expr, int]:
    """Start and extent of a dim whose varying digits are its innermost ones."""
    start, ext, seen_fixed = Expr(), 1, False
    for dg in reversed(digits):
        if dg in varying:
            if seen_fixed:
                raise ValueError("halo dims must vary in their innermost digits")
            ext *= dg.factor
        else:
            seen_fixed = True
            start = start + dg.value() * dg.weight
    return start, ext


# --------------------------------------------------------------------------- #
# Regions: where a smaller tile sits inside a buffer
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Piece:
    """One rectangular transfer between a buffer region and a smaller tile."""

    offsets: tuple[Expr, ...]
    """Per axis of the big buffer."""
    sizes: tuple[int, ...]
    strides: tuple[int, ...]
    small_offsets: tuple[int, ...]
    """Per axis of the small tile's buffer (non-zero only when split in pieces)."""
    small_sizes: tuple[int, ...]


def region(big: Layout, small: Layout) -> list[Piece]:
    """The pieces of ``big`` that hold the elements of ``small`` (a sub-tile).

    Element order: the small tile's buffer order, i.e. row-major over its runs,
    which is also row-major over the big buffer's axes within each piece.
    """
    per_axis: list[list[tuple[tuple[Expr, int, int], ...]]] = []
    small_axes: list[list[tuple[tuple[int, int], ...]]] = []
    for ab, as_ in zip(big.axes, small.axes, strict=True):
        options, small_opts = _axis_pieces(ab, as_, big.offchip)
        per_axis.append(options)
        small_axes.append(small_opts)
    pieces: list[Piece] = []
    for combo in product(*(range(len(o)) for o in per_axis)):
        offs: list[Expr] = []
        sizes: list[int] = []
        strides: list[int] = []
        s_offs: list[int] = []
        s_sizes: list[int] = []
        for k, choice in enumerate(combo):
            for o, sz, st in per_axis[k][choice]:
                offs.append(o)
                sizes.append(sz)
                strides.append(st)
            for o, sz in small_axes[k][choice]:
                s_offs.append(o)
                s_sizes.append(sz)
        pieces.append(
            Piece(
                tuple(offs), tuple(sizes), tuple(strides), tuple(s_offs), tuple(s_sizes)
            )
        )
    return pieces


def _axis_pieces(
    big: AxisLayout, small: AxisLayout, offchip: bool
) -> tuple[list[tuple[tuple[Expr, int, int], ...]], list[tuple[tuple[int, int], ...]]]:
    """For one tensor axis: the alternatives (pieces) as big-side (offset, size,
    stride) per big buffer axis and small-side (offset, size) per small axis."""
    kind = big.axis.kind
    if kind == "const":
        index = big.axis.offset if offchip else 0
        return [((Expr(index), 1, 1),)], [((0, 1),)]
    if kind == "halo":
        wb, ws = big.window, small.window
        assert wb is not None and ws is not None
        if ws.size == 1:  # a single position: its step is immaterial
            ws = Window(ws.origin, wb.step, 1)
        if ws.step % wb.step:
            raise ValueError("a sub-window must use every k-th position of its parent")
        off = (ws.origin + wb.origin * -1).exact_div(wb.step)
        return [((off, ws.size, ws.step // wb.step),)], [((0, ws.size),)]
    # digits: locate every small run inside a big run
    big_runs = big.runs
    where: dict[Digit, tuple[int, int]] = {}
    for b, run in enumerate(big_runs):
        inner = 1
        for dg, _ in reversed(run):
            where[dg] = (b, inner)
            inner *= dg.factor
    small_runs = small.runs
    groups: dict[int, list[int]] = {}
    for s, run in enumerate(small_runs):
        b = where[run[0][0]][0]
        if any(where[dg][0] != b for dg, _ in run):
            raise ValueError("a run of a sub-tile spans two runs of its buffer")
        groups.setdefault(b, []).append(s)
    # fixed offset inside each big run: digits varying in big but not in small
    small_digits = {dg for run in small_runs for dg, _ in run}
    base = [Expr() for _ in big_runs] or [Expr()]
    for b, run in enumerate(big_runs):
        for dg, _ in run:
            if dg not in small_digits:
                base[b] = base[b] + dg.value() * where[dg][1]
    # each big run holding k > 1 small runs is split over its outer small runs
    choices_big: list[list[tuple[Expr, int, int]]] = []
    choices_small: list[list[list[tuple[int, int]]]] = []
    n_big = max(len(big_runs), 1)
    for b in range(n_big):
        members = groups.get(b, [])
        if not members:
            choices_big.append([(base[b], 1, 1)])
            choices_small.append([[]])
            continue
        last = small_runs[members[-1]]
        stride = where[last[-1][0]][1]
        size = math.prod(dg.factor for dg, _ in last)
        outer = members[:-1]
        alts_b: list[tuple[Expr, int, int]] = []
        alts_s: list[list[tuple[int, int]]] = []
        for values in product(*(_run_values(small_runs[s]) for s in outer)):
            off = base[b]
            s_off: list[tuple[int, int]] = []
            for s, (idx, digit_vals) in zip(outer, values, strict=True):
                for (dg, _), v in zip(small_runs[s], digit_vals, strict=True):
                    off = off + where[dg][1] * v
                s_off.append((idx, 1))
            s_off.append((0, size))
            alts_b.append((off, size, stride))
            alts_s.append(s_off)
        choices_big.append(alts_b)
        choices_small.append(alts_s)
    big_opts: list[tuple[tuple[Expr, int, int], ...]] = []
    small_opts: list[tuple[tuple[int, int], ...]] = []
    for combo in product(*(range(len(c)) for c in choices_big)):
        big_opts.append(tuple(choices_big[b][c] for b, c in enumerate(combo)))
        small_flat: list[tuple[int, int]] = []
        for b, c in enumerate(combo):
            small_flat += choices_small[b][c]
        small_opts.append(tuple(small_flat) if small_runs else ((0, 1),))
    return big_opts, small_opts


def _run_values(
    run: Sequence[tuple[Digit, int]],
) -> Iterator[tuple[int, tuple[int, ...]]]:
    """Every index of a run with the digit values it stands for."""
    factors = [dg.factor for dg, _ in run]
    for idx, vals in enumerate(product(*(range(f) for f in factors))):
        yield idx, tuple(vals)


def offchip_layout(radix: Radix, axes: Sequence[TensorAxis]) -> Layout:
    """The whole off-chip tensor of an operand, in its own coordinates."""
    out: list[AxisLayout] = []
    for axis in axes:
        if axis.kind == "halo":
            out.append(AxisLayout(axis, window=Window(Expr(), 1, axis.extent)))
        elif axis.kind == "digits":
            out.append(AxisLayout(axis, runs=(tuple(axis_digits(radix, axis)),)))
        else:
            out.append(AxisLayout(axis))
    return Layout(tuple(out), offchip=True)
