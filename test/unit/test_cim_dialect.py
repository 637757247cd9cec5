"""The ``cim`` dialect from Python: build a one-core program with the builders,
verify it, print it and parse the printout back."""

from __future__ import annotations

from io import StringIO

import pytest
from xdsl.context import Context
from xdsl.dialects import arith, scf
from xdsl.dialects.builtin import (
    Builtin,
    IndexType,
    IntegerAttr,
    MemRefType,
    ModuleOp,
    StringAttr,
    i8,
    i32,
)
from xdsl.ir import Attribute, Block, Operation, SSAValue
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException

from miredo.dialects.cim import (
    AllocOp,
    Cim,
    CoreOp,
    DmaOp,
    GlobalOp,
    LoadWeightsOp,
    MvmOp,
    PingPongType,
    ProgramOp,
    SelectHalfOp,
    SimdElementwiseOp,
    Tile,
)

LEVELS = {"shared": ("DRAM", "GB"), "per_core": ("LB", "IReg", "Macro", "OReg")}


def _mem(shape: list[int], elt: Attribute, space: str) -> MemRefType:
    return MemRefType(elt, shape, memory_space=StringAttr(space))


def _program() -> tuple[ModuleOp, ProgramOp]:
    """relu(x @ w) for x: 2x16, w: 16x8 on one core: the weights are loaded into the
    macro once, then one MVM per row of x through a double-buffered input
    register."""
    prog = ProgramOp(
        "fc",
        [
            _mem([2, 16], i8, "DRAM"),
            _mem([16, 8], i8, "DRAM"),
            _mem([2, 8], i32, "DRAM"),
        ],
        arch="small",
        cores=1,
        macro="Macro",
        node="model",
        **LEVELS,
    )
    x, w, y = prog.args
    for value, hint in zip(prog.args, ("x", "w", "y"), strict=True):
        value.name_hint = hint
    lb = AllocOp(_mem([16, 8], i8, "LB"), node="fc")
    ib = AllocOp(_mem([16], i8, "IReg"), halves=2, node="fc")
    mac = AllocOp(_mem([16, 8], i8, "Macro"), node="fc")
    acc = AllocOp(_mem([8], i32, "OReg"), node="fc")
    prog.add(lb, ib, mac, acc)
    for op, hint in ((lb, "lb"), (ib, "ib"), (mac, "m"), (acc, "acc")):
        op.result.name_hint = hint

    c0 = arith.ConstantOp(IntegerAttr(0, IndexType()))
    c1 = arith.ConstantOp(IntegerAttr(1, IndexType()))
    c2 = arith.ConstantOp(IntegerAttr(2, IndexType()))
    body = scf.ForOp(c0, c2, c1, [], [_loop_body(x, y, ib, mac, acc)])
    core = CoreOp(
        0,
        [
            c0,
            c1,
            c2,
            DmaOp(Tile.of(w), Tile.of(lb), node="fc"),
            LoadWeightsOp(Tile.of(lb), Tile.of(mac), node="fc"),
            body,
        ],
    )
    prog.add(core)
    return ModuleOp([prog]), prog


def _loop_body(
    x: SSAValue, y: SSAValue, ib: AllocOp, mac: AllocOp, acc: AllocOp
) -> Block:
    """One row: load it into a half of the input register, MVM, relu, store."""
    block = Block(arg_types=[IndexType()])
    (p,) = block.args
    p.name_hint = "p"
    half = SelectHalfOp(ib, p, node="fc")
    half.result.name_hint = "h"
    block.add_ops(
        [
            half,
            DmaOp(Tile.of(x, [p, 0], [1, 16]), Tile.of(half), node="fc"),
            MvmOp(
                Tile.of(half),
                Tile.of(mac),
                Tile.of(acc),
                input_bits=8,
                bits_per_cycle=1,
                node="fc",
            ),
            SimdElementwiseOp("relu", [Tile.of(acc)], Tile.of(acc), node="fc"),
            DmaOp(Tile.of(acc), Tile.of(y, [p, 0], [1, 8]), node="fc"),
            scf.YieldOp(),
        ]
    )
    return block


def _print(op: Operation, generic: bool = False) -> str:
    out = StringIO()
    Printer(stream=out, print_generic_format=generic).print_op(op)
    return out.getvalue()


def _parse(text: str) -> ModuleOp:
    ctx = Context()
    for d in (Builtin, arith.Arith, scf.Scf, Cim):
        ctx.load_dialect(d)
    return Parser(ctx, text).parse_module()


EXPECTED = """\
builtin.module {
  cim.program "model" @fc(%x: memref<2x16xi8, "DRAM">, %w: memref<16x8xi8, "DRAM">, %y: memref<2x8xi32, "DRAM">) arch "small" cores 1 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
    %lb = cim.alloc "fc" : memref<16x8xi8, "LB">
    %ib = cim.alloc "fc" halves 2 : memref<16xi8, "IReg">
    %m = cim.alloc "fc" : memref<16x8xi8, "Macro">
    %acc = cim.alloc "fc" : memref<8xi32, "OReg">
    cim.core 0 {
      %0 = arith.constant 0 : index
      %1 = arith.constant 1 : index
      %2 = arith.constant 2 : index
      cim.dma "fc" %w -> %lb : memref<16x8xi8, "DRAM"> -> memref<16x8xi8, "LB">
      cim.load_weights "fc" %lb -> %m : memref<16x8xi8, "LB"> -> memref<16x8xi8, "Macro">
      scf.for %p = %0 to %2 step %1 {
        %h = cim.select_half "fc" %ib, %p : memref<16xi8, "IReg">
        cim.dma "fc" %x[%p, 0] [1, 16] -> %h : memref<2x16xi8, "DRAM"> -> memref<16xi8, "IReg">
        cim.mvm "fc" %h, %m -> %acc input_bits 8 bits_per_cycle 1 : memref<16xi8, "IReg">, memref<16x8xi8, "Macro"> -> memref<8xi32, "OReg">
        cim.simd "fc" relu ins(%acc) outs(%acc) : memref<8xi32, "OReg"> -> memref<8xi32, "OReg">
        cim.dma "fc" %acc -> %y[%p, 0] [1, 8] : memref<8xi32, "OReg"> -> memref<2x8xi32, "DRAM">
      }
    }
  }
}"""


def test_build_verify_print_parse() -> None:
    module, prog = _program()
    module.verify()
    text = _print(module)
    assert text == EXPECTED
    assert isinstance(prog.allocs()[1].result.type, PingPongType)
    assert prog.core_stream(0) is not None and prog.global_streams() == []

    again = _parse(text)
    again.verify()
    assert again.is_structurally_equivalent(module)
    assert _print(again) == text
    generic = _print(module, generic=True)
    assert (
        '"cim.dma"' in generic
        and "static_offsets = array<i64: -9223372036854775808" in generic
    )
    assert _parse(generic).is_structurally_equivalent(module)


def test_tiles_and_queries() -> None:
    module, prog = _program()
    mvm = next(op for op in module.walk() if isinstance(op, MvmOp))
    assert (mvm.rows, mvm.cols, mvm.cycles) == (16, 8, 8)
    x = prog.args[0]
    load = next(op for op in module.walk() if isinstance(op, DmaOp) and op.source is x)
    src, dst = load.tiles()
    assert src.sizes == (1, 16) and src.strides == (1, 1) and not src.is_whole()
    assert isinstance(src.offsets[0], SSAValue) and src.offsets[1] == 0
    assert dst.is_whole() and src.num_elements == dst.num_elements == 16
    assert (src.space, dst.space) == ("DRAM", "IReg")
    hier = prog.hierarchy()
    assert hier is not None and hier.offchip == "DRAM" and hier.macro == "Macro"
    assert hier.is_per_core("LB") and not hier.is_per_core("GB")


def test_verifier_names_the_node() -> None:
    module, _ = _program()
    mvm = next(op for op in module.walk() if isinstance(op, MvmOp))
    mvm.properties["input_bits"] = IntegerAttr(9, 64)
    with pytest.raises(VerifyException, match=r"'fc': input_bits must be in \[1, 8\]"):
        module.verify()


def test_multicast_needs_the_global_stream() -> None:
    """A per-core destination written from cim.global needs a core set."""
    module, prog = _program()
    core = prog.core_stream(0)
    assert core is not None
    first_dma = next(op for op in core.body.block.ops if isinstance(op, DmaOp))
    w, lb = first_dma.source, first_dma.dest
    prog.add(GlobalOp([DmaOp(Tile.of(w), Tile.of(lb), node="fc")]))
    with pytest.raises(VerifyException, match="needs a non-empty cores"):
        module.verify()
    prog.body.block.last_op.detach()  # type: ignore[union-attr]
    prog.add(GlobalOp([DmaOp(Tile.of(w), Tile.of(lb), cores=[0], node="fc")]))
    module.verify()
