"""The cim tracer, functional simulator and traffic counter on hand-written programs.

Every program is parsed from text; expected values are computed by hand (or, for
the SIMD kernels, with the `miredo.sim.kernels` function the simulator must agree
with bit for bit).
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from xdsl.context import Context
from xdsl.dialects import affine, arith, scf
from xdsl.dialects.builtin import Builtin
from xdsl.parser import Parser

from miredo.dialects.cim import Cim, DmaOp, ProgramOp
from miredo.errors import MiredoError
from miredo.sim import kernels
from miredo.sim.cim_exec import CimMachine, read_padded, run_program
from miredo.sim.cim_trace import compile_program
from miredo.sim.traffic import count_traffic, window_union_size

HEAD = 'arch "t" cores {cores} shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro'


def parse(text: str) -> ProgramOp:
    """The first ``cim.program`` of ``text`` (verified)."""
    ctx = Context()
    for d in (Builtin, arith.Arith, scf.Scf, affine.Affine, Cim):
        ctx.load_dialect(d)
    module = Parser(ctx, text).parse_module()
    module.verify()
    return next(op for op in module.walk() if isinstance(op, ProgramOp))


def program(args: str, body: str, cores: int = 1, arg_bits: str = "") -> ProgramOp:
    head = HEAD.format(cores=cores) + (f" arg_bits {arg_bits}" if arg_bits else "")
    return parse(f"cim.program @p({args}) {head} {{\n{body}\n}}\n")


def trace_list(prog: ProgramOp, stream: str) -> list:
    return list(compile_program(prog).stream(stream))


# --------------------------------------------------------------------------- #
# Tracing
# --------------------------------------------------------------------------- #


def test_trace_loops_if_affine_and_halves() -> None:
    prog = program(
        '%x: memref<16xi8, "DRAM">',
        """
  %l = cim.alloc : memref<4xi8, "LB">
  %ib = cim.alloc halves 2 : memref<2xi8, "IReg">
  cim.core 0 {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c3 = arith.constant 3 : index
    %c6 = arith.constant 6 : index
    scf.for %i = %c0 to %c6 step %c1 {
      %j = affine.apply affine_map<(d0) -> (d0 floordiv 2 + (d0 mod 2) * 3)>(%i)
      %lt = arith.cmpi slt, %i, %c3 : index
      %h = cim.select_half %ib, %j : memref<2xi8, "IReg">
      scf.if %lt {
        cim.dma %x[%j] [2] -> %h : memref<16xi8, "DRAM"> -> memref<2xi8, "IReg">
      } else {
        %k = arith.remui %i, %c2 : index
        %m = arith.muli %k, %c3 : index
        %n = arith.addi %m, %i : index
        cim.dma %x[%n] [2] [3] -> %l[1] [2] : memref<16xi8, "DRAM"> -> memref<4xi8, "LB">
      }
    }
    scf.for %a = %c0 to %c2 step %c1 {
      scf.for %b = %a to %c3 step %c2 {
        cim.barrier 7
      }
    }
  }""",
    )
    trace = compile_program(prog).stream("core0")
    instrs = list(trace)
    got = [(i.tiles[0].offsets, i.tiles[1].buf, i.tiles[1].half) for i in instrs[:6]]
    expected = []
    for i in range(6):
        j = i // 2 + (i % 2) * 3
        if i < 3:
            expected.append(((j,), "b1", j % 2))
        else:
            expected.append((((i % 2) * 3 + i,), "b0", None))
    # then the triangular nest: a=0: b in {0, 2}; a=1: b in {1}
    assert got == expected
    assert len(instrs) == 9 and all(i.tiles == () for i in instrs[6:])
    assert [i.op.name for i in instrs[5:]] == ["cim.dma"] + ["cim.barrier"] * 3
    assert [i.stream for i in instrs] == ["core0"] * 9
    counts = trace.op_counts()
    assert counts == [3, 3, 3] and trace.num_instructions() == 9


def test_trace_rejects_unknown_ops() -> None:
    prog = program(
        '%x: memref<4xf32, "DRAM">',
        """
  %l = cim.alloc : memref<4xf32, "LB">
  cim.core 0 {
    %c0 = arith.constant 0 : index
    %f = arith.constant 1.0 : f32
    %g = arith.addf %f, %f : f32
    cim.dma %x -> %l : memref<4xf32, "DRAM"> -> memref<4xf32, "LB">
  }""",
    )
    with pytest.raises(MiredoError, match=r"cannot trace 'arith\.addf'"):
        compile_program(prog)


# --------------------------------------------------------------------------- #
# DMA
# --------------------------------------------------------------------------- #


def test_dma_strides_and_rank_change() -> None:
    prog = program(
        '%a: memref<4x4xf32, "DRAM">, %b: memref<2x2xf32, "DRAM">',
        """
  %g = cim.alloc : memref<4xf32, "GB">
  cim.global {
    cim.dma %a[1, 0] [2, 2] [2, 3] -> %g : memref<4x4xf32, "DRAM"> -> memref<4xf32, "GB">
    cim.dma %g -> %b : memref<4xf32, "GB"> -> memref<2x2xf32, "DRAM">
  }""",
    )
    a = np.arange(16, dtype=np.float32).reshape(4, 4)
    b = np.zeros((2, 2), np.float32)
    run_program(prog, [a, b])
    assert b.tolist() == [[4, 7], [12, 15]]
    assert a[0, 0] == 0 and a[3, 3] == 15  # the source is untouched


def test_dma_zero_pad() -> None:
    prog = program(
        '%a: memref<4x4xi32, "DRAM">, %b: memref<9xi32, "DRAM">, '
        '%c: memref<6xi32, "DRAM">',
        """
  %l = cim.alloc : memref<3x3xi32, "LB">
  cim.core 0 {
    cim.dma %a[-1, 2] [3, 3] -> %l zero_pad : memref<4x4xi32, "DRAM"> -> memref<3x3xi32, "LB">
    cim.dma %l -> %b : memref<3x3xi32, "LB"> -> memref<9xi32, "DRAM">
    cim.dma %a[-2, 1] [3, 2] [2, 2] -> %c zero_pad : memref<4x4xi32, "DRAM"> -> memref<6xi32, "DRAM">
  }""",
    )
    a = np.arange(16, dtype=np.int32).reshape(4, 4)
    b = np.full(9, -1, np.int32)
    c = np.full(6, -1, np.int32)
    run_program(prog, [a, b, c])
    assert b.tolist() == [0, 0, 0, 2, 3, 0, 6, 7, 0]
    assert c.tolist() == [0, 0, 1, 3, 9, 11]
    # entirely outside: all zeros
    assert read_padded(a, (5, 0), (2, 2), (1, 1)).tolist() == [[0, 0], [0, 0]]


def test_dma_multicast_shifts_and_gather() -> None:
    prog = program(
        '%x: memref<8xi32, "DRAM">, %y: memref<2x4xi32, "DRAM">, '
        '%z: memref<4xi32, "DRAM">, %m: memref<2x4xi32, "DRAM">, '
        '%w: memref<2x5xi32, "DRAM">',
        """
  %g = cim.alloc : memref<8xi32, "GB">
  %l = cim.alloc : memref<4xi32, "LB">
  %l2 = cim.alloc : memref<4xi32, "LB">
  %o = cim.alloc : memref<4xi32, "GB">
  cim.global {
    cim.dma %x -> %g : memref<8xi32, "DRAM"> -> memref<8xi32, "GB">
    cim.dma %g[1] [4] -> %l cores [0, 1] shifts [[0], [3]] : memref<8xi32, "GB"> -> memref<4xi32, "LB">
    cim.dma %g[2] [4] -> %l2 cores [0, 1] : memref<8xi32, "GB"> -> memref<4xi32, "LB">
    cim.barrier 0
    cim.barrier 1
    cim.dma %l -> %o cores [1] : memref<4xi32, "LB"> -> memref<4xi32, "GB">
    cim.dma %o -> %z : memref<4xi32, "GB"> -> memref<4xi32, "DRAM">
    cim.dma %l[1] [3] -> %w[0, 0] [1, 3] cores [1, 0] shifts [[0, 2], [1, 0]] : memref<4xi32, "LB"> -> memref<2x5xi32, "DRAM">
  }
  cim.core 0 {
    cim.barrier 0
    cim.dma %l -> %y[0, 0] [1, 4] : memref<4xi32, "LB"> -> memref<2x4xi32, "DRAM">
    cim.dma %l2 -> %m[0, 0] [1, 4] : memref<4xi32, "LB"> -> memref<2x4xi32, "DRAM">
    cim.simd add ins(%l, %l) outs(%l) : memref<4xi32, "LB">, memref<4xi32, "LB"> -> memref<4xi32, "LB">
    cim.barrier 1
  }
  cim.core 1 {
    cim.barrier 0
    cim.dma %l -> %y[1, 0] [1, 4] : memref<4xi32, "LB"> -> memref<2x4xi32, "DRAM">
    cim.dma %l2 -> %m[1, 0] [1, 4] : memref<4xi32, "LB"> -> memref<2x4xi32, "DRAM">
    cim.simd mul ins(%l, %l) outs(%l) : memref<4xi32, "LB">, memref<4xi32, "LB"> -> memref<4xi32, "LB">
    cim.barrier 1
  }""",
        cores=2,
    )
    x = np.arange(10, 18, dtype=np.int32)
    y = np.zeros((2, 4), np.int32)
    z = np.zeros(4, np.int32)
    m = np.zeros((2, 4), np.int32)
    w = np.zeros((2, 5), np.int32)
    mach = CimMachine(prog)
    stats = mach.run([x, y, z, m, w])
    assert y.tolist() == [[11, 12, 13, 14], [14, 15, 16, 17]]  # windows 1.. and 4..
    assert m.tolist() == [[12, 13, 14, 15], [12, 13, 14, 15]]  # plain multicast
    assert z.tolist() == [14 * 14, 15 * 15, 16 * 16, 17 * 17]  # gathered from core 1
    # a gather of both cores: core 1's elements 1.. to row 0 from column 2, core
    # 0's to row 1 from column 0
    assert w.tolist() == [[0, 0, 15 * 15, 16 * 16, 17 * 17], [24, 26, 28, 0, 0]]
    # core 0's instance of %l holds its own (doubled) window
    assert mach.buffer("b1", 0).tolist() == [22, 24, 26, 28]
    assert stats.instructions == {"global": 8, "core0": 5, "core1": 5}


def test_dma_out_of_bounds_dynamic_offset() -> None:
    prog = program(
        '%x: memref<3xf32, "DRAM">',
        """
  %l = cim.alloc : memref<2xf32, "LB">
  cim.core 0 {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c3 = arith.constant 3 : index
    scf.for %i = %c0 to %c3 step %c1 {
      cim.dma "load" %x[%i] [2] -> %l : memref<3xf32, "DRAM"> -> memref<2xf32, "LB">
    }
  }""",
    )
    with pytest.raises(
        MiredoError, match=r"core0: cim.dma 'load' a0\[2\]\[2\].*leaves"
    ):
        run_program(prog, [np.zeros(3, np.float32)])


def test_ping_pong_halves_alternate() -> None:
    prog = program(
        '%x: memref<4x3xi8, "DRAM">, %y: memref<4x3xi8, "DRAM">',
        """
  %ib = cim.alloc halves 2 : memref<3xi8, "IReg">
  cim.core 0 {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    scf.for %i = %c0 to %c4 step %c1 {
      %h = cim.select_half %ib, %i : memref<3xi8, "IReg">
      cim.dma %x[%i, 0] [1, 3] -> %h : memref<4x3xi8, "DRAM"> -> memref<3xi8, "IReg">
      cim.dma %h -> %y[%i, 0] [1, 3] : memref<3xi8, "IReg"> -> memref<4x3xi8, "DRAM">
    }
  }""",
    )
    x = np.arange(12, dtype=np.int8).reshape(4, 3)
    y = np.zeros((4, 3), np.int8)
    mach = CimMachine(prog)
    mach.run([x, y])
    assert np.array_equal(x, y)
    assert mach.buffer("b0", 0, 0).tolist() == [6, 7, 8]  # x[2]
    assert mach.buffer("b0", 0, 1).tolist() == [9, 10, 11]  # x[3]
    halves = [i.tiles[1].half for i in trace_list(prog, "core0")[::2]]
    assert halves == [0, 1, 0, 1]


# --------------------------------------------------------------------------- #
# Macro
# --------------------------------------------------------------------------- #

_MVM_INT = """
  %lb = cim.alloc : memref<16x8xi8, "LB">
  %ib = cim.alloc : memref<16xi8, "IReg">
  %m = cim.alloc : memref<32x8xi8, "Macro">
  %acc = cim.alloc : memref<8xi32, "OReg">
  cim.core 0 {{
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    cim.dma %w -> %lb : memref<16x8xi8, "DRAM"> -> memref<16x8xi8, "LB">
    cim.load_weights %lb -> %m[16, 0] [16, 8] : memref<16x8xi8, "LB"> -> memref<32x8xi8, "Macro">
    scf.for %i = %c0 to %c2 step %c1 {{
      cim.dma %x[%i, 0] [1, 16] -> %ib : memref<2x16xi8, "DRAM"> -> memref<16xi8, "IReg">
      cim.mvm %ib[0] [8], %m[16, 0] [8, 8] -> %acc input_bits 8 bits_per_cycle 1 : memref<16xi8, "IReg">, memref<32x8xi8, "Macro"> -> memref<8xi32, "OReg">
      cim.mvm %ib[8] [8], %m[24, 0] [8, 8] -> %acc input_bits 8 bits_per_cycle 2 {acc} : memref<16xi8, "IReg">, memref<32x8xi8, "Macro"> -> memref<8xi32, "OReg">
      cim.dma %acc -> %y[%i, 0] [1, 8] : memref<8xi32, "OReg"> -> memref<2x8xi32, "DRAM">
    }}
  }}"""
_MVM_ARGS = (
    '%x: memref<2x16xi8, "DRAM">, %w: memref<16x8xi8, "DRAM">, '
    '%y: memref<2x8xi32, "DRAM">'
)


@pytest.mark.parametrize("acc", [True, False])
def test_load_weights_mvm_int8_exact(acc: bool) -> None:
    prog = program(_MVM_ARGS, _MVM_INT.format(acc="acc" if acc else ""))
    # extreme values: 16 products of (-128)(-128) = 262144, exact in int32
    x = np.full((2, 16), -128, np.int8)
    w = np.full((16, 8), -128, np.int8)
    y = np.zeros((2, 8), np.int32)
    run_program(prog, [x, w, y])
    assert (y == (16 if acc else 8) * 16384).all()
    rng = np.random.default_rng(1)
    x = rng.integers(-128, 128, (2, 16), dtype=np.int8)
    w = rng.integers(-128, 128, (16, 8), dtype=np.int8)
    run_program(prog, [x, w, y])
    xs, ws = x.astype(np.int64), w.astype(np.int64)
    ref = xs @ ws if acc else xs[:, 8:] @ ws[8:]
    assert np.array_equal(y, ref.astype(np.int32))


def test_mvm_int32_accumulator_wraps() -> None:
    prog = parse(
        f"""cim.program @p(%y: memref<2xi32, "DRAM">) {HEAD.format(cores=1)} {{
  %ib = cim.alloc : memref<1xi32, "IReg">
  %m = cim.alloc : memref<1x2xi32, "Macro">
  %acc = cim.alloc : memref<2xi32, "OReg">
  cim.core 0 {{
    cim.simd fill(65536.0) ins() outs(%ib) : -> memref<1xi32, "IReg">
    cim.dma %ib[0] [1] -> %m[0, 0] [1, 1] : memref<1xi32, "IReg"> -> memref<1x2xi32, "Macro">
    cim.dma %ib[0] [1] -> %m[0, 1] [1, 1] : memref<1xi32, "IReg"> -> memref<1x2xi32, "Macro">
    cim.mvm %ib, %m -> %acc input_bits 32 bits_per_cycle 1 : memref<1xi32, "IReg">, memref<1x2xi32, "Macro"> -> memref<2xi32, "OReg">
    cim.mvm %ib, %m -> %acc input_bits 32 bits_per_cycle 1 acc : memref<1xi32, "IReg">, memref<1x2xi32, "Macro"> -> memref<2xi32, "OReg">
    cim.dma %acc -> %y : memref<2xi32, "OReg"> -> memref<2xi32, "DRAM">
  }}
}}"""
    )
    y = np.ones(2, np.int32)
    run_program(prog, [y])
    # 2 * 2^32 wraps to 0 in int32; a DMA into the macro also refreshes it
    assert y.tolist() == [0, 0]


def test_mvm_float_hand_computed_and_tiled() -> None:
    prog = program(
        '%x: memref<64xf32, "DRAM">, %w: memref<64x3xf32, "DRAM">, '
        '%y: memref<3xf32, "DRAM">',
        """
  %ib = cim.alloc : memref<64xf32, "IReg">
  %m = cim.alloc : memref<16x3xf32, "Macro">
  %acc = cim.alloc : memref<3xf32, "OReg">
  cim.core 0 {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %c16 = arith.constant 16 : index
    cim.dma %x -> %ib : memref<64xf32, "DRAM"> -> memref<64xf32, "IReg">
    cim.simd fill(0.5) ins() outs(%acc) : -> memref<3xf32, "OReg">
    scf.for %k = %c0 to %c4 step %c1 {
      %r = arith.muli %k, %c16 : index
      cim.load_weights %w[%r, 0] [16, 3] -> %m : memref<64x3xf32, "DRAM"> -> memref<16x3xf32, "Macro">
      cim.mvm %ib[%r] [16], %m -> %acc input_bits 32 bits_per_cycle 4 acc : memref<64xf32, "IReg">, memref<16x3xf32, "Macro"> -> memref<3xf32, "OReg">
    }
    cim.dma %acc -> %y : memref<3xf32, "OReg"> -> memref<3xf32, "DRAM">
  }""",
    )
    x = np.zeros(64, np.float32)
    x[:3] = [1, 2, 3]
    w = np.zeros((64, 3), np.float32)
    w[:3] = [[1, 0, 2], [0, 1, 2], [1, 1, 2]]
    y = np.zeros(3, np.float32)
    run_program(prog, [x, w, y])
    assert y.tolist() == [0.5 + 4, 0.5 + 5, 0.5 + 12]
    rng = np.random.default_rng(2)
    x = rng.standard_normal(64).astype(np.float32)
    w = rng.standard_normal((64, 3)).astype(np.float32)
    run_program(prog, [x, w, y])
    ref = 0.5 + x.astype(np.float64) @ w.astype(np.float64)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y, np.float32(0.5) + x @ w, rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------- #
# SIMD
# --------------------------------------------------------------------------- #


def test_fill_and_add_accumulation() -> None:
    prog = program(
        '%x: memref<3x4xf32, "DRAM">, %y: memref<4xf32, "DRAM">, '
        '%z: memref<2x4xi8, "DRAM">',
        """
  %lb = cim.alloc : memref<3x4xf32, "LB">
  %s = cim.alloc : memref<1x4xf32, "LB">
  %q = cim.alloc : memref<2x4xi8, "LB">
  %v = cim.alloc : memref<4xi8, "LB">
  cim.core 0 {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c3 = arith.constant 3 : index
    cim.dma %x -> %lb : memref<3x4xf32, "DRAM"> -> memref<3x4xf32, "LB">
    cim.simd fill(1.5) ins() outs(%s) : -> memref<1x4xf32, "LB">
    scf.for %i = %c0 to %c3 step %c1 {
      cim.simd add ins(%s, %lb[%i, 0] [1, 4]) outs(%s) : memref<1x4xf32, "LB">, memref<3x4xf32, "LB"> -> memref<1x4xf32, "LB">
    }
    cim.dma %s -> %y : memref<1x4xf32, "LB"> -> memref<4xf32, "DRAM">
    cim.simd fill(3.0) ins() outs(%v) : -> memref<4xi8, "LB">
    cim.simd fill(-2.0) ins() outs(%q) : -> memref<2x4xi8, "LB">
    cim.simd mul ins(%q, %v) outs(%q) : memref<2x4xi8, "LB">, memref<4xi8, "LB"> -> memref<2x4xi8, "LB">
    cim.simd relu ins(%q[0, 0] [1, 2]) outs(%q[1, 2] [1, 2]) : memref<2x4xi8, "LB"> -> memref<2x4xi8, "LB">
    cim.dma %q -> %z : memref<2x4xi8, "LB"> -> memref<2x4xi8, "DRAM">
  }""",
    )
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    y = np.zeros(4, np.float32)
    z = np.zeros((2, 4), np.int8)
    run_program(prog, [x, y, z])
    assert y.tolist() == [1.5 + 12, 1.5 + 15, 1.5 + 18, 1.5 + 21]
    assert z.tolist() == [[-6, -6, -6, -6], [-6, -6, 0, 0]]


def _simd_program(
    op_line: str, in_shape: str, out_shape: str, extra: str = ""
) -> ProgramOp:
    return program(
        f'%x: memref<{in_shape}xf32, "DRAM">, %y: memref<{out_shape}xf32, "DRAM">'
        + extra,
        f"""
  %a = cim.alloc : memref<{in_shape}xf32, "LB">
  %b = cim.alloc : memref<{out_shape}xf32, "LB">
  %g = cim.alloc : memref<8xf32, "LB">
  cim.core 0 {{
    cim.dma %x -> %a : memref<{in_shape}xf32, "DRAM"> -> memref<{in_shape}xf32, "LB">
    cim.simd fill(1.25) ins() outs(%g) : -> memref<8xf32, "LB">
    {op_line}
    cim.dma %b -> %y : memref<{out_shape}xf32, "LB"> -> memref<{out_shape}xf32, "DRAM">
  }}""",
    )


def _run_simd(prog: ProgramOp, x: np.ndarray, out_shape: tuple[int, ...]) -> np.ndarray:
    y = np.zeros(out_shape, np.float32)
    run_program(prog, [x, y])
    return y


def test_pool_matches_kernel() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 5, 5)).astype(np.float32)
    prog = _simd_program(
        'cim.pool avg kernel [3, 3] stride [2, 2] pad [1, 1, 1, 1] ins(%a) outs(%b) : memref<2x5x5xf32, "LB"> -> memref<2x3x3xf32, "LB">',
        "2x5x5",
        "2x3x3",
    )
    y = _run_simd(prog, x, (2, 3, 3))
    ref = kernels.pool(x, "avg", [3, 3], [2, 2], [1, 1, 1, 1], [1, 1])
    assert np.array_equal(y, ref)
    prog = _simd_program(
        'cim.pool max kernel [2, 2] stride [2, 2] ins(%a[0, 0, 0] [2, 4, 4]) outs(%b) : memref<2x5x5xf32, "LB"> -> memref<2x2x2xf32, "LB">',
        "2x5x5",
        "2x2x2",
    )
    y = _run_simd(prog, x, (2, 2, 2))
    assert np.array_equal(y, x[:, :4, :4].reshape(2, 2, 2, 2, 2).max(axis=(2, 4)))


def test_softmax_layernorm_reduce_match_kernels() -> None:
    rng = np.random.default_rng(4)
    x = rng.standard_normal((4, 8)).astype(np.float32)
    prog = _simd_program(
        'cim.softmax axis 1 ins(%a) outs(%b) : memref<4x8xf32, "LB"> -> memref<4x8xf32, "LB">',
        "4x8",
        "4x8",
    )
    assert np.array_equal(_run_simd(prog, x, (4, 8)), kernels.softmax(x, 1))
    prog = _simd_program(
        'cim.layernorm axis 1 epsilon 1.0e-05 ins(%a, %g, %g) outs(%b) : memref<4x8xf32, "LB">, memref<8xf32, "LB">, memref<8xf32, "LB"> -> memref<4x8xf32, "LB">',
        "4x8",
        "4x8",
    )
    g = np.full(8, 1.25, np.float32)
    assert np.array_equal(
        _run_simd(prog, x, (4, 8)), kernels.layernorm(x, g, g, 1, 1e-5)
    )
    prog = _simd_program(
        'cim.reduce mean axes [0] ins(%a) outs(%b) : memref<4x8xf32, "LB"> -> memref<1x8xf32, "LB">',
        "4x8",
        "1x8",
    )
    assert np.array_equal(_run_simd(prog, x, (1, 8)), kernels.reduce(x, "mean", [0]))
    prog = _simd_program(
        'cim.simd gelu(tanh) ins(%a) outs(%b) : memref<4x8xf32, "LB"> -> memref<4x8xf32, "LB">',
        "4x8",
        "4x8",
    )
    assert np.array_equal(
        _run_simd(prog, x, (4, 8)), kernels.elementwise("gelu", [x], approximate="tanh")
    )


def test_requant_rounds_half_even_and_saturates() -> None:
    prog = program(
        '%x: memref<6xi32, "DRAM">, %y: memref<6xi8, "DRAM">',
        """
  %acc = cim.alloc : memref<6xi32, "OReg">
  %q = cim.alloc : memref<6xi8, "LB">
  cim.core 0 {
    cim.dma %x -> %acc : memref<6xi32, "DRAM"> -> memref<6xi32, "OReg">
    cim.requant scale 0.5 zero_point 1 ins(%acc) outs(%q) : memref<6xi32, "OReg"> -> memref<6xi8, "LB">
    cim.dma %q -> %y : memref<6xi8, "LB"> -> memref<6xi8, "DRAM">
  }""",
    )
    x = np.array([5, 7, -5, 300, -300, 0], np.int32)
    y = np.zeros(6, np.int8)
    run_program(prog, [x, y])
    # 2.5 -> 2, 3.5 -> 4, -2.5 -> -2, 150 -> 127 (sat), -150 -> -128 (sat), 0
    assert y.tolist() == [3, 5, -1, 127, -128, 1]


# --------------------------------------------------------------------------- #
# Scheduling
# --------------------------------------------------------------------------- #

_PRODUCER_CONSUMER = """
  %g = cim.alloc : memref<8xi32, "GB">
  %l = cim.alloc : memref<4xi32, "LB">
  cim.global {{
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    scf.for %i = %c0 to %c4 step %c1 {{
      cim.dma %x[%i, 0] [1, 8] -> %g : memref<4x8xi32, "DRAM"> -> memref<8xi32, "GB">
      {sync_global}
    }}
  }}
  cim.core 0 {{
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    scf.for %i = %c0 to %c4 step %c1 {{
      {wait}
      cim.dma %g[0] [4] -> %l : memref<8xi32, "GB"> -> memref<4xi32, "LB">
      cim.simd add ins(%l, %l) outs(%l) : memref<4xi32, "LB">, memref<4xi32, "LB"> -> memref<4xi32, "LB">
      cim.dma %l -> %y[%i, 0] [1, 4] : memref<4xi32, "LB"> -> memref<4x8xi32, "DRAM">
      {done}
    }}
  }}
  cim.core 1 {{
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    scf.for %i = %c0 to %c4 step %c1 {{
      {wait}
      cim.dma %g[4] [4] -> %l : memref<8xi32, "GB"> -> memref<4xi32, "LB">
      cim.simd add ins(%l, %l) outs(%l) : memref<4xi32, "LB">, memref<4xi32, "LB"> -> memref<4xi32, "LB">
      cim.dma %l -> %y[%i, 4] [1, 4] : memref<4xi32, "LB"> -> memref<4x8xi32, "DRAM">
      {done}
    }}
  }}"""


def test_barriers_order_producer_and_consumers() -> None:
    args = '%x: memref<4x8xi32, "DRAM">, %y: memref<4x8xi32, "DRAM">'
    synced = program(
        args,
        _PRODUCER_CONSUMER.format(
            sync_global="cim.barrier 0\n      cim.barrier 1",
            wait="cim.barrier 0",
            done="cim.barrier 1",
        ),
        cores=2,
    )
    x = np.arange(32, dtype=np.int32).reshape(4, 8)
    y = np.zeros((4, 8), np.int32)
    stats = CimMachine(synced).run([x, y])
    assert np.array_equal(y, 2 * x)
    assert stats.instructions == {"global": 12, "core0": 20, "core1": 20}
    # Without barriers the global stream runs ahead: every core sees the last row.
    unsynced = program(
        args, _PRODUCER_CONSUMER.format(sync_global="", wait="", done=""), cores=2
    )
    y[...] = 0
    run_program(unsynced, [x, y])
    assert np.array_equal(y, np.tile(2 * x[3], (4, 1)))


def test_send_recv_fifo_per_tag() -> None:
    prog = program(
        '%x: memref<3x4xf32, "DRAM">, %y: memref<3x4xf32, "DRAM">',
        """
  %l = cim.alloc : memref<3x4xf32, "LB">
  %r = cim.alloc : memref<4xf32, "LB">
  cim.core 0 {
    cim.dma %x -> %l : memref<3x4xf32, "DRAM"> -> memref<3x4xf32, "LB">
    cim.send %l[0, 0] [1, 4] to 1 tag 0 : memref<3x4xf32, "LB">
    cim.send %l[1, 0] [1, 4] to 1 tag 0 : memref<3x4xf32, "LB">
    cim.send %l[2, 0] [1, 4] to 1 tag 5 : memref<3x4xf32, "LB">
  }
  cim.core 1 {
    cim.recv %r from 0 tag 5 : memref<4xf32, "LB">
    cim.dma %r -> %y[0, 0] [1, 4] : memref<4xf32, "LB"> -> memref<3x4xf32, "DRAM">
    cim.recv %r from 0 tag 0 : memref<4xf32, "LB">
    cim.dma %r -> %y[1, 0] [1, 4] : memref<4xf32, "LB"> -> memref<3x4xf32, "DRAM">
    cim.recv %r from 0 tag 0 : memref<4xf32, "LB">
    cim.dma %r -> %y[2, 0] [1, 4] : memref<4xf32, "LB"> -> memref<3x4xf32, "DRAM">
  }""",
        cores=2,
    )
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    y = np.zeros((3, 4), np.float32)
    run_program(prog, [x, y])
    assert y.tolist() == [x[2].tolist(), x[0].tolist(), x[1].tolist()]


def test_deadlock_on_crossed_receives() -> None:
    prog = parse(
        f"""cim.program @crossed() {HEAD.format(cores=2)} {{
  %l = cim.alloc : memref<4xf32, "LB">
  cim.core 0 {{
    cim.recv %l from 1 tag 0 : memref<4xf32, "LB">
    cim.send %l to 1 tag 1 : memref<4xf32, "LB">
  }}
  cim.core 1 {{
    cim.recv %l from 0 tag 1 : memref<4xf32, "LB">
    cim.send %l to 0 tag 0 : memref<4xf32, "LB">
  }}
}}"""
    )
    with pytest.raises(MiredoError) as info:
        run_program(prog, [])
    msg = str(info.value)
    assert "@crossed deadlocks" in msg
    assert "core0 waits in cim.recv from core 1 tag 0" in msg
    assert "core1 waits in cim.recv from core 0 tag 1" in msg


def test_deadlock_on_unmatched_barrier() -> None:
    prog = parse(
        f"""cim.program @bar() {HEAD.format(cores=2)} {{
  cim.global {{
    cim.barrier 0
  }}
  cim.core 0 {{
    cim.barrier 0
    cim.barrier 0
  }}
  cim.core 1 {{
    cim.barrier 0
  }}
}}"""
    )
    with pytest.raises(MiredoError) as info:
        run_program(prog, [])
    msg = str(info.value)
    assert "@bar deadlocks" in msg
    assert "core0 waits at cim.barrier 0 (arrival 2" in msg
    assert "global (finished)" in msg and "core1 (finished)" in msg


def test_argument_checks() -> None:
    prog = program(
        '%x: memref<4xf32, "DRAM">',
        "  cim.core 0 {\n  }",
    )
    with pytest.raises(MiredoError, match="must have dtype float32, got float64"):
        run_program(prog, [np.zeros(4)])
    with pytest.raises(MiredoError, match=r"must be an array of shape \[4\]"):
        run_program(prog, [np.zeros(5, np.float32)])
    with pytest.raises(MiredoError, match="takes 1 tensors, got 0"):
        run_program(prog, [])


# --------------------------------------------------------------------------- #
# Traffic
# --------------------------------------------------------------------------- #


def test_window_union_size() -> None:
    assert window_union_size((4,), (1,), ((0,), (2,))) == 6
    assert window_union_size((4,), (1,), ((0,), (0,))) == 4
    assert window_union_size((3,), (2,), ((0,), (1,))) == 6
    assert window_union_size((3,), (2,), ((0,), (2,))) == 4
    # rows {0,1} x cols {0,1,2}, moved by (0,1) and (1,0): 4 + 4 + 3
    assert window_union_size((2, 3), (1, 1), ((0, 0), (0, 1), (1, 0))) == 11
    # brute force on a random case
    rng = np.random.default_rng(5)
    sizes, strides = (3, 4, 2), (1, 2, 3)
    shifts = tuple(tuple(int(v) for v in rng.integers(-3, 4, 3)) for _ in range(5))
    points = {
        tuple(s + k * st for s, k, st in zip(sh, ks, strides, strict=True))
        for sh in shifts
        for ks in np.ndindex(*sizes)
    }
    assert window_union_size(sizes, strides, shifts) == len(points)


def test_traffic_dma_multicast_shifts_gather() -> None:
    prog = program(
        '%x: memref<64xi8, "DRAM">, %y: memref<8xi8, "DRAM">',
        """
  %g = cim.alloc : memref<64xi8, "GB">
  %l = cim.alloc bits 4 : memref<16xi8, "LB">
  %o = cim.alloc : memref<16xi32, "OReg">
  %v = cim.alloc : memref<16xi32, "GB">
  cim.global {
    cim.dma %x -> %g : memref<64xi8, "DRAM"> -> memref<64xi8, "GB">
    cim.dma %g[0] [16] -> %l cores [0, 1, 2] : memref<64xi8, "GB"> -> memref<16xi8, "LB">
    cim.dma %g[0] [16] -> %l cores [0, 1, 2] shifts [[0], [8], [24]] : memref<64xi8, "GB"> -> memref<16xi8, "LB">
    cim.dma %o[0] [8] -> %v[0] [8] cores [1] : memref<16xi32, "OReg"> -> memref<16xi32, "GB">
    cim.dma %x[-4] [16] -> %g[0] [16] zero_pad : memref<64xi8, "DRAM"> -> memref<64xi8, "GB">
    cim.dma %o[0] [4] -> %v[0] [4] cores [0, 2, 3] shifts [[0], [4], [12]] : memref<16xi32, "OReg"> -> memref<16xi32, "GB">
  }""",
        cores=4,
        arg_bits="[6, 8]",
    )
    t = count_traffic(prog)
    assert t.dmas == 6 and t.mvms == 0
    # DRAM: 64 + 16 (zero-padded, all counted) elements at 6 bits (arg_bits)
    assert t.reads_bits["DRAM"] == (64 + 16) * 6
    # GB reads: multicast once 16, shifts union [0,16)+[8,24)+[24,40) = 40, at 8 bits
    assert t.reads_bits["GB"] == (16 + 40) * 8
    # OReg: one core's 8 elements, then a gather of 3 cores' 4 elements each
    assert t.reads_bits["OReg"] == 8 * 32 + 3 * 4 * 32
    # LB writes: 3 cores x 16 elements x 4 bits (alloc bits), twice
    assert t.writes_bits["LB"] == 2 * 3 * 16 * 4
    assert t.writes_bits["GB"] == 64 * 8 + 8 * 32 + 16 * 8 + 3 * 4 * 32
    assert "DRAM" not in t.writes_bits
    assert t.per_stream["global"][("GB", "read")] == (16 + 40) * 8
    assert t.instructions == {"global": 6}


def test_traffic_mvm_load_weights_simd_messages_and_loops() -> None:
    prog = program(
        '%w: memref<16x8xi8, "DRAM">',
        """
  %lb = cim.alloc : memref<16x8xi8, "LB">
  %ib = cim.alloc halves 2 : memref<16xi8, "IReg">
  %m = cim.alloc : memref<16x8xi8, "Macro">
  %acc = cim.alloc bits 24 : memref<8xi32, "OReg">
  %s = cim.alloc : memref<8xi32, "LB">
  cim.core 0 {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c3 = arith.constant 3 : index
    cim.dma %w -> %lb : memref<16x8xi8, "DRAM"> -> memref<16x8xi8, "LB">
    cim.load_weights %lb[0, 0] [12, 8] -> %m[0, 0] [12, 8] : memref<16x8xi8, "LB"> -> memref<16x8xi8, "Macro">
    scf.for %i = %c0 to %c3 step %c1 {
      %h = cim.select_half %ib, %i : memref<16xi8, "IReg">
      scf.for %j = %c0 to %c2 step %c1 {
        cim.mvm %h[0] [12], %m[0, 0] [12, 8] -> %acc input_bits 8 bits_per_cycle 2 acc : memref<16xi8, "IReg">, memref<16x8xi8, "Macro"> -> memref<8xi32, "OReg">
      }
      %odd = arith.cmpi eq, %i, %c1 : index
      scf.if %odd {
        cim.simd add ins(%s, %acc) outs(%s) : memref<8xi32, "LB">, memref<8xi32, "OReg"> -> memref<8xi32, "LB">
      }
    }
    cim.send %s[0] [4] to 1 tag 0 : memref<8xi32, "LB">
  }
  cim.core 1 {
    cim.recv %s[4] [4] from 0 tag 0 : memref<8xi32, "LB">
  }""",
        cores=2,
    )
    t = count_traffic(prog)
    assert (t.dmas, t.load_weights, t.mvms, t.simd_ops) == (1, 1, 6, 1)
    assert (t.sends, t.recvs, t.barriers) == (1, 1, 0)
    assert t.mvm_cycles == 6 * 4
    assert t.reads_bits["DRAM"] == 128 * 8
    assert t.writes_bits["LB"] == 128 * 8
    assert t.reads_bits["LB"] == 96 * 8  # the load_weights source tile
    assert t.writes_bits["Macro"] == 96 * 8
    assert t.reads_bits["IReg"] == 6 * 12 * 8
    assert t.reads_bits["OReg"] == t.writes_bits["OReg"] == 6 * 8 * 24
    assert "Macro" not in t.reads_bits
    assert t.simd_reads_bits == {"LB": 8 * 32, "OReg": 8 * 24}
    assert t.simd_writes_bits == {"LB": 8 * 32}
    assert t.msg_reads_bits == {"LB": 4 * 32} and t.msg_writes_bits == {"LB": 4 * 32}
    assert t.instructions == {"core0": 10, "core1": 1}
    assert t.per_stream["core1"] == {("LB", "msg_write"): 128}


# --------------------------------------------------------------------------- #
# A realistic program: speed and end-to-end numerics
# --------------------------------------------------------------------------- #


def conv_program(tiles: int, cores: int = 4, size: int = 16) -> str:
    """An int8 3x3 conv, 16 -> 32 * cores channels on ``size x size`` outputs per
    tile, ``tiles`` tiles: the global stream double-buffers input tiles in the GB
    and multicasts them; each core holds its output channels' weights and runs one
    MVM per output pixel through a ping-pong input register."""
    h = size + 2
    gb = f'memref<16x{h}x{h}xi8, "GB">'
    lb = f'memref<16x{h}x{h}xi8, "LB">'
    xt = f'memref<{tiles}x16x{h}x{h}xi8, "DRAM">'
    wt = f'memref<{cores}x144x32xi8, "DRAM">'
    yt = f'memref<{tiles}x{size}x{size}x{32 * cores}xi32, "DRAM">'
    ot = f'memref<{size}x{size}x32xi32, "LB">'
    all_cores = ", ".join(map(str, range(cores)))
    text = [
        f"cim.program @conv(%x: {xt}, %w: {wt}, %y: {yt}) {HEAD.format(cores=cores)} {{",
        f"  %gb = cim.alloc halves 2 : {gb}",
        f"  %lb = cim.alloc : {lb}",
        '  %wl = cim.alloc : memref<144x32xi8, "LB">',
        '  %ib = cim.alloc halves 2 : memref<144xi8, "IReg">',
        '  %m = cim.alloc : memref<144x32xi8, "Macro">',
        '  %acc = cim.alloc : memref<32xi32, "OReg">',
        f"  %ob = cim.alloc : {ot}",
        "  cim.global {",
        "    %c0 = arith.constant 0 : index",
        "    %c1 = arith.constant 1 : index",
        f"    %cT = arith.constant {tiles} : index",
    ]
    for k in range(cores):
        text.append(
            f'    cim.dma %w[{k}, 0, 0] [1, 144, 32] -> %wl cores [{k}] : {wt} -> memref<144x32xi8, "LB">'
        )
    text += [
        "    scf.for %t = %c0 to %cT step %c1 {",
        f"      %h = cim.select_half %gb, %t : {gb}",
        f"      cim.dma %x[%t, 0, 0, 0] [1, 16, {h}, {h}] -> %h : {xt} -> {gb}",
        "      %later = arith.cmpi ugt, %t, %c0 : index",
        "      scf.if %later {",
        "        cim.barrier 1",
        "      }",
        f"      cim.dma %h -> %lb cores [{all_cores}] : {gb} -> {lb}",
        "      cim.barrier 0",
        "    }",
        "    cim.barrier 1",
        "  }",
    ]
    for k in range(cores):
        text += [
            f"  cim.core {k} {{",
            "    %c0 = arith.constant 0 : index",
            "    %c1 = arith.constant 1 : index",
            f"    %cT = arith.constant {tiles} : index",
            f"    %cP = arith.constant {size} : index",
            '    cim.load_weights %wl -> %m : memref<144x32xi8, "LB"> -> memref<144x32xi8, "Macro">',
            "    scf.for %t = %c0 to %cT step %c1 {",
            "      cim.barrier 0",
            "      scf.for %p = %c0 to %cP step %c1 {",
            "        scf.for %q = %c0 to %cP step %c1 {",
            '          %hi = cim.select_half %ib, %q : memref<144xi8, "IReg">',
            f'          cim.dma %lb[0, %p, %q] [16, 3, 3] -> %hi : {lb} -> memref<144xi8, "IReg">',
            '          cim.mvm %hi, %m -> %acc input_bits 8 bits_per_cycle 1 : memref<144xi8, "IReg">, memref<144x32xi8, "Macro"> -> memref<32xi32, "OReg">',
            f'          cim.dma %acc -> %ob[%p, %q, 0] [1, 1, 32] : memref<32xi32, "OReg"> -> {ot}',
            "        }",
            "      }",
            "      cim.barrier 1",
            f"      cim.dma %ob -> %y[%t, 0, 0, {32 * k}] [1, {size}, {size}, 32] : {ot} -> {yt}",
            "    }",
            "  }",
        ]
    text.append("}")
    return "\n".join(text) + "\n"


def test_conv_program_end_to_end() -> None:
    tiles, cores = 3, 2
    prog = parse(conv_program(tiles, cores=cores, size=4))
    rng = np.random.default_rng(6)
    x = rng.integers(-128, 128, (tiles, 16, 6, 6), dtype=np.int8)
    w = rng.integers(-128, 128, (cores, 144, 32), dtype=np.int8)
    y = np.zeros((tiles, 4, 4, 32 * cores), np.int32)
    stats = CimMachine(prog).run([x, w, y])
    win = sliding_window_view(x.astype(np.int64), (3, 3), axis=(2, 3))
    ws = w.astype(np.int64).reshape(cores, 16, 3, 3, 32)
    ref = np.einsum("tcpqrs,kcrsj->tpqkj", win, ws).reshape(y.shape)
    assert np.array_equal(y, ref.astype(np.int32))
    per_core = 1 + tiles * (2 + 16 * 3 + 1)
    assert stats.instructions == {
        "global": cores + tiles * 3 + (tiles - 1) + 1,
        **{f"core{k}": per_core for k in range(cores)},
    }
    t = count_traffic(prog)
    assert t.mvms == cores * tiles * 16 and t.barriers == stats.total - sum(
        c for c in (t.dmas, t.load_weights, t.mvms)
    )
    # the multicast reads the GB tile once per tile and writes it to every core
    assert t.reads_bits["GB"] == tiles * 16 * 36 * 8
    assert t.writes_bits["LB"] == (
        tiles * cores * 16 * 36 * 8  # multicasts
        + cores * 144 * 32 * 8  # weights
        + cores * tiles * 16 * 32 * 32  # outputs
    )


def test_trace_speed_sanity() -> None:
    prog = parse(conv_program(8))
    trace = compile_program(prog)
    start = time.perf_counter()
    n = sum(1 for s in trace.streams for _ in s)
    elapsed = time.perf_counter() - start
    assert n == sum(s.num_instructions() for s in trace.streams) == 24_712
    # ~1M instructions/s on an idle machine; the bound leaves room for a busy one
    assert n / elapsed > 100_000, f"{n / elapsed:,.0f} instructions/s"
    assert count_traffic(trace).mvms == 8 * 4 * 256  # counted without walking


def test_dma_op_helpers_agree_with_trace() -> None:
    prog = parse(conv_program(2, cores=2, size=4))
    dmas = [op for op in prog.walk() if isinstance(op, DmaOp) and op.cores]
    assert [op.core_set for op in dmas] == [(0,), (1,), (0, 1)]
