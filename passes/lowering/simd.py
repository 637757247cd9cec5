"""Lower the nests that run on the SIMD units (everything but contractions).

Each op becomes a ``cim.program`` whose cores split the output into chunks, in
turn (chunk ``k`` runs on core ``k mod cores``): a chunk's inputs are copied from
off-chip memory into the core's largest buffer, one SIMD instruction computes the
chunk and the result is copied back. A chunk is the output tensor cut along one
axis (all axes before it at a single index, all axes after it whole); it is the
largest such cut that fits the buffer, preferring at least one chunk per core.
Ops that need whole rows (softmax, layer norm), whole planes (pooling) or whole
reduced axes keep those axes out of the cut. Data is held at the hardware's
activation precision (``precision.output`` bits per element).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from xdsl.dialects.builtin import MemRefType, StringAttr
from xdsl.ir import Attribute, Block, SSAValue
from xdsl.ir.affine import AffineConstantExpr, AffineDimExpr, AffineExpr, AffineMap

from miredo.dialects import cim
from miredo.errors import MiredoError
from miredo.passes.lowering.builder import StreamBuilder
from miredo.solver.hardware import Arch

TileFn = Callable[[list[AffineExpr], list[int]], tuple[list[AffineExpr], list[int]]]
"""Maps the output chunk (offsets, sizes) to one operand's tile."""


@dataclass(frozen=True)
class Operand:
    """One off-chip tensor of a SIMD program and how its tile follows the output's."""

    arg: int
    """Index of the program argument."""
    tile: TileFn
    per_chunk: bool = True
    """``False``: loaded once per core before the chunks (e.g. layer-norm scale)."""


@dataclass(frozen=True)
class Chunking:
    axis: int
    """The cut axis (-1: the whole tensor is one chunk)."""
    size: int
    """Extent of the chunk along ``axis``."""

    def count(self, shape: Sequence[int]) -> int:
        if self.axis < 0:
            return 1
        return math.prod(shape[: self.axis]) * (shape[self.axis] // self.size)

    def sizes(self, shape: Sequence[int]) -> list[int]:
        if self.axis < 0:
            return list(shape)
        return [1] * self.axis + [self.size] + list(shape[self.axis + 1 :])


def choose_chunking(
    shape: Sequence[int],
    max_axis: int,
    elements: Callable[[list[int]], int],
    capacity_elems: int,
    cores: int,
    node: str,
    level: str,
) -> Chunking:
    """The largest cut that fits (see the module docstring)."""
    options = [Chunking(-1, 0)]
    for a in range(max_axis + 1):
        for t in sorted(
            (t for t in range(1, shape[a] + 1) if shape[a] % t == 0), reverse=True
        ):
            options.append(Chunking(a, t))
    fitting = [c for c in options if elements(c.sizes(shape)) <= capacity_elems]
    if not fitting:
        raise MiredoError(
            f"no chunk of this op fits the per-core buffer '{level}' "
            f"({capacity_elems} elements)",
            node,
        )
    for c in fitting:
        if c.count(shape) >= cores:
            return c
    return fitting[-1]


def simd_program(
    arch: Arch,
    sym_name: str,
    node: str,
    arg_types: Sequence[Attribute],
    out_arg: int,
    operands: Sequence[Operand],
    max_axis: int,
    compute: Callable[[StreamBuilder, list[cim.Tile], cim.Tile], None],
    out_buffer: Callable[[list[int]], list[int]] = list,
) -> cim.ProgramOp:
    """A chunked SIMD program. ``compute`` emits the instruction(s) of one chunk
    from the operand tiles (in ``operands`` order) into the output tile, whose
    buffer has shape ``out_buffer(chunk sizes)`` (same element count)."""
    level = simd_level(arch)
    bits = arch.precision.output
    out_t = arg_types[out_arg]
    assert isinstance(out_t, MemRefType)
    shape = list(out_t.get_shape())

    def tile_sizes(sizes: list[int]) -> list[list[int]]:
        zero = [AffineConstantExpr(0)] * len(shape)
        return [op.tile(zero, sizes)[1] for op in operands]

    def elements(sizes: list[int]) -> int:
        return math.prod(sizes) + sum(math.prod(s) for s in tile_sizes(sizes))

    capacity = arch.level(level).capacity_bits
    cap_elems = (capacity // bits) if capacity is not None else 1 << 62
    n_cores = arch.n_cores
    chunking = choose_chunking(
        shape, max_axis, elements, cap_elems, n_cores, node, level
    )
    sizes = chunking.sizes(shape)
    n_chunks = chunking.count(shape)
    program = new_program(arch, sym_name, node, arg_types, bits)
    args = program.args
    bufs: list[SSAValue] = []
    for op, ts in zip(operands, tile_sizes(sizes), strict=True):
        t = args[op.arg].type
        assert isinstance(t, MemRefType)
        alloc = cim.AllocOp(
            MemRefType(t.element_type, ts, memory_space=StringAttr(level)),
            bits=bits,
            node=node,
        )
        program.add(alloc)
        bufs.append(alloc.result)
    out_alloc = cim.AllocOp(
        MemRefType(
            out_t.element_type, out_buffer(sizes), memory_space=StringAttr(level)
        ),
        bits=bits,
        node=node,
    )
    program.add(out_alloc)
    for core in range(min(n_cores, n_chunks)):
        trips = len(range(core, n_chunks, n_cores))
        block = Block()
        b = StreamBuilder(block, {})
        zero = [AffineConstantExpr(0)] * len(shape)
        for op, buf in zip(operands, bufs, strict=True):
            if not op.per_chunk:
                offs, ts = op.tile(zero, sizes)
                _copy_in(b, args[op.arg], buf, [0] * len(offs), ts, node)
        if trips == 1:
            offsets = _chunk_offsets(shape, chunking, AffineConstantExpr(core))
            _chunk(
                b,
                [],
                args,
                operands,
                bufs,
                out_alloc.result,
                out_arg,
                offsets,
                sizes,
                compute,
                node,
            )
        else:
            with b.loop(0, trips):
                k = AffineDimExpr(0) * n_cores + core
                offsets = _chunk_offsets(shape, chunking, k)
                _chunk(
                    b,
                    [0],
                    args,
                    operands,
                    bufs,
                    out_alloc.result,
                    out_arg,
                    offsets,
                    sizes,
                    compute,
                    node,
                )
        program.add(cim.CoreOp(core, block, node=node))
    return program


def new_program(
    arch: Arch, sym_name: str, node: str, arg_types: Sequence[Attribute], bits: int
) -> cim.ProgramOp:
    """An empty program for ``arch`` whose off-chip tensors hold ``bits``-bit data."""
    return cim.ProgramOp(
        sym_name,
        list(arg_types),
        arch=arch.name,
        cores=arch.n_cores,
        shared=[lv.name for lv in arch.levels if not lv.per_core],
        per_core=[lv.name for lv in arch.levels if lv.per_core],
        macro=arch.macro.level,
        arg_bits=[bits] * len(arg_types),
        node=node,
    )


def simd_level(arch: Arch) -> str:
    """The largest per-core level other than the macro."""
    cands = [
        lv
        for lv in arch.levels
        if lv.per_core and lv.name != arch.macro.level and lv.capacity_bits
    ]
    return max(cands, key=lambda lv: lv.capacity_bits or 0).name


def _chunk_offsets(
    shape: Sequence[int], chunking: Chunking, k: AffineExpr
) -> list[AffineExpr]:
    """Output offsets of chunk ``k``."""
    zero: AffineExpr = AffineConstantExpr(0)
    if chunking.axis < 0:
        return [zero] * len(shape)
    a = chunking.axis
    counts = [*shape[:a], shape[a] // chunking.size]
    offs: list[AffineExpr] = []
    inner = math.prod(counts)
    for i, n in enumerate(counts):
        inner //= n
        digit = (k // inner) % n if inner > 1 else k % n
        offs.append(digit * chunking.size if i == a else digit)
    return offs + [zero] * (len(shape) - a - 1)


def _index(b: StreamBuilder, e: AffineExpr, slots: list[int]) -> int | SSAValue:
    if isinstance(e, AffineConstantExpr):
        return e.value
    return b.apply(AffineMap(len(slots), 0, (e,)), slots)


def _copy_in(
    b: StreamBuilder,
    src: SSAValue,
    dst: SSAValue,
    offsets: Sequence[int | SSAValue],
    sizes: Sequence[int],
    node: str,
) -> None:
    b.add(
        cim.DmaOp(cim.Tile.of(src, list(offsets), sizes), cim.Tile.of(dst), node=node)
    )


def _chunk(
    b: StreamBuilder,
    slots: list[int],
    args: Sequence[SSAValue],
    operands: Sequence[Operand],
    bufs: Sequence[SSAValue],
    out_buf: SSAValue,
    out_arg: int,
    offsets: list[AffineExpr],
    sizes: list[int],
    compute: Callable[[StreamBuilder, list[cim.Tile], cim.Tile], None],
    node: str,
) -> None:
    for op, buf in zip(operands, bufs, strict=True):
        if op.per_chunk:
            offs, ts = op.tile(offsets, sizes)
            _copy_in(
                b, args[op.arg], buf, [_index(b, e, slots) for e in offs], ts, node
            )
    compute(b, [cim.Tile.of(buf) for buf in bufs], cim.Tile.of(out_buf))
    out_offs = [_index(b, e, slots) for e in offsets]
    b.add(
        cim.DmaOp(
            cim.Tile.of(out_buf),
            cim.Tile.of(args[out_arg], out_offs, sizes),
            node=node,
        )
    )


# --------------------------------------------------------------------------- #
# Tile functions
# --------------------------------------------------------------------------- #


def same_tile(offsets: list[AffineExpr], sizes: list[int]):
    return list(offsets), list(sizes)


def broadcast_tile(shape: Sequence[int]) -> TileFn:
    """An input broadcast (numpy, right-aligned) to the output."""

    def fn(offsets: list[AffineExpr], sizes: list[int]):
        lead = len(offsets) - len(shape)
        offs: list[AffineExpr] = []
        out: list[int] = []
        for i, n in enumerate(shape):
            if n == 1:
                offs.append(AffineConstantExpr(0))
                out.append(1)
            else:
                offs.append(offsets[lead + i])
                out.append(sizes[lead + i])
        return offs, out

    return fn


def whole_tile(shape: Sequence[int]) -> TileFn:
    def fn(offsets: list[AffineExpr], sizes: list[int]):
        return [AffineConstantExpr(0)] * len(shape), list(shape)

    return fn


def plane_tile(in_shape: Sequence[int]) -> TileFn:
    """Pooling: the same leading (N, C) indices, whole trailing planes."""

    def fn(offsets: list[AffineExpr], sizes: list[int]):
        lead = len(in_shape) - 2
        return (
            list(offsets[:lead]) + [AffineConstantExpr(0)] * 2,
            list(sizes[:lead]) + list(in_shape[lead:]),
        )

    return fn


def reduce_tile(in_shape: Sequence[int], axes: Sequence[int], keepdims: bool) -> TileFn:
    """Reduction: the output tile's indices on kept axes, whole reduced axes."""

    def fn(offsets: list[AffineExpr], sizes: list[int]):
        offs: list[AffineExpr] = []
        out: list[int] = []
        j = 0
        for i, n in enumerate(in_shape):
            if i in axes:
                offs.append(AffineConstantExpr(0))
                out.append(n)
                if keepdims:
                    j += 1
            else:
                offs.append(offsets[j])
                out.append(sizes[j])
                j += 1
        return offs, out

    return fn


def pool_rows_program(
    arch: Arch,
    sym_name: str,
    node: str,
    arg_types: Sequence[Attribute],
    kind: str,
    kernel: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    pad: Sequence[int],
    count_include_pad: bool,
) -> cim.ProgramOp:
    """Pooling whose planes do not fit a core's buffer: chunks of output rows.

    A chunk is ``t`` output rows of one (n, c) plane; it reads the input rows its
    windows touch (clipped to the input) and pools them with the padding that
    chunk really has (top and bottom chunks keep the op's padding, the others
    none), so max pooling never sees a padded zero. Chunks are unrolled and dealt
    to the cores in turn.
    """
    level = simd_level(arch)
    bits = arch.precision.output
    in_t, out_t = arg_types
    assert isinstance(in_t, MemRefType) and isinstance(out_t, MemRefType)
    n_, c_, h, w = in_t.get_shape()
    oh, ow = out_t.get_shape()[2:]
    kh, sh, dh = kernel[0], stride[0], dilation[0]
    top, left, _, right = pad
    capacity = arch.level(level).capacity_bits
    cap_elems = (capacity // bits) if capacity is not None else 1 << 62

    def rows(t: int) -> int:
        return min((t - 1) * sh + (kh - 1) * dh + 1, h)

    fits = [
        t for t in range(oh, 0, -1) if oh % t == 0 and rows(t) * w + t * ow <= cap_elems
    ]
    if not fits:
        raise MiredoError(
            f"not even one output row of this pooling fits the per-core buffer "
            f"'{level}' ({cap_elems} elements)",
            node,
        )
    t = fits[0]
    span = (t - 1) * sh + (kh - 1) * dh + 1
    program = new_program(arch, sym_name, node, arg_types, bits)
    x, y = program.args
    in_buf = cim.AllocOp(
        MemRefType(in_t.element_type, [rows(t), w], memory_space=StringAttr(level)),
        bits=bits,
        node=node,
    )
    out_buf = cim.AllocOp(
        MemRefType(out_t.element_type, [t, ow], memory_space=StringAttr(level)),
        bits=bits,
        node=node,
    )
    program.add(in_buf, out_buf)
    chunks = [
        (n, c, r0) for n in range(n_) for c in range(c_) for r0 in range(0, oh, t)
    ]
    for core in range(min(arch.n_cores, len(chunks))):
        block = Block()
        b = StreamBuilder(block, {})
        for n, c, r0 in chunks[core :: arch.n_cores]:
            start = r0 * sh - top
            lo, hi = max(0, start), min(h, start + span)
            b.add(
                cim.DmaOp(
                    cim.Tile.of(x, [n, c, lo, 0], [1, 1, hi - lo, w]),
                    cim.Tile.of(in_buf.result, [0, 0], [hi - lo, w]),
                    node=node,
                )
            )
            b.add(
                cim.PoolOp(
                    kind,
                    cim.Tile.of(in_buf.result, [0, 0], [hi - lo, w]),
                    cim.Tile.of(out_buf.result),
                    kernel=kernel,
                    stride=stride,
                    dilation=dilation,
                    pad=[lo - start, left, start + span - hi, right],
                    count_include_pad=count_include_pad,
                    node=node,
                )
            )
            b.add(
                cim.DmaOp(
                    cim.Tile.of(out_buf.result),
                    cim.Tile.of(y, [n, c, r0, 0], [1, 1, t, ow]),
                    node=node,
                )
            )
        program.add(cim.CoreOp(core, block, node=node))
    return program
