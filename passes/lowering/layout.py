"""Lower the layout ops (reshape, transpose, concat) to DMA programs.

They move data only, so each becomes a ``cim.program`` whose ``cim.global``
stream copies between off-chip tensors with ``cim.dma`` (tiles correspond in
row-major order, so a reshape is one copy):

* reshape: one DMA of the whole tensor;
* transpose: one DMA per index of the output's leading axes (a loop nest): the
  output's last axis is a contiguous row, read from the input as a strided
  column of the axis ``perm[-1]``;
* concat: one DMA per input, into its slice of the output.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import MemRefType
from xdsl.ir import Attribute, Block

from miredo.dialects import cim
from miredo.passes.lowering.builder import StreamBuilder
from miredo.passes.lowering.simd import new_program
from miredo.solver.hardware import Arch


def _program(arch: Arch, sym: str, node: str, types: Sequence[Attribute]):
    program = new_program(arch, sym, node, types, arch.precision.output)
    block = Block()
    return program, StreamBuilder(block, None), block


def reshape_program(
    arch: Arch, sym: str, node: str, types: Sequence[Attribute]
) -> cim.ProgramOp:
    program, b, block = _program(arch, sym, node, types)
    src, dst = program.args
    b.add(cim.DmaOp(cim.Tile.of(src), cim.Tile.of(dst), node=node))
    program.add(cim.GlobalOp(block, node=node))
    return program


def transpose_program(
    arch: Arch, sym: str, node: str, types: Sequence[Attribute], perm: Sequence[int]
) -> cim.ProgramOp:
    program, b, block = _program(arch, sym, node, types)
    src, dst = program.args
    out_t = types[1]
    assert isinstance(out_t, MemRefType)
    out_shape = list(out_t.get_shape())
    rank = len(out_shape)
    leading = list(range(rank - 1))

    def body(k: int) -> None:
        if k < len(leading):
            with b.loop(k, out_shape[k]):
                body(k + 1)
            return
        src_offs: list[int | object] = [0] * rank
        src_sizes = [1] * rank
        dst_offs: list[int | object] = [0] * rank
        dst_sizes = [1] * rank
        for a in leading:
            dst_offs[a] = src_offs[perm[a]] = b.ivs[a]
        dst_sizes[rank - 1] = src_sizes[perm[rank - 1]] = out_shape[rank - 1]
        b.add(
            cim.DmaOp(
                cim.Tile.of(src, src_offs, src_sizes),  # pyright: ignore[reportArgumentType]
                cim.Tile.of(dst, dst_offs, dst_sizes),  # pyright: ignore[reportArgumentType]
                node=node,
            )
        )

    body(0)
    program.add(cim.GlobalOp(block, node=node))
    return program


def concat_program(
    arch: Arch, sym: str, node: str, types: Sequence[Attribute], axis: int
) -> cim.ProgramOp:
    program, b, block = _program(arch, sym, node, types)
    *ins, dst = program.args
    out_t = types[-1]
    assert isinstance(out_t, MemRefType)
    shape = list(out_t.get_shape())
    start = 0
    for value in ins:
        t = value.type
        assert isinstance(t, MemRefType)
        n = t.get_shape()[axis]
        offs = [0] * len(shape)
        offs[axis] = start
        sizes = list(shape)
        sizes[axis] = n
        b.add(cim.DmaOp(cim.Tile.of(value), cim.Tile.of(dst, offs, sizes), node=node))
        start += n
    program.add(cim.GlobalOp(block, node=node))
    return program
