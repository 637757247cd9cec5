"""The cycle-level timing simulator (`miredo.sim.timing`) on hand-written programs.

Every expected cycle count is computed by hand in the comments, on the test
architecture `ARCH` below (round numbers): port widths DRAM 8, GB 16, LB 8,
IReg 16, Macro 8, OReg 32 bits/cycle; 4 SIMD lanes. Notation: ``[a, b)`` is the
cycles an instruction runs; the k-th instruction of a stream is issued at cycle
k at the earliest.
"""

from __future__ import annotations

import pytest
from xdsl.context import Context
from xdsl.dialects import affine, arith, scf
from xdsl.dialects.builtin import Builtin
from xdsl.parser import Parser

from miredo.dialects.cim import Cim, ProgramOp
from miredo.errors import MiredoError
from miredo.sim.timing import STALL_CAUSES, TimingReport, simulate_timing
from miredo.sim.traffic import count_traffic
from miredo.solver.hardware import Arch, arch_from_dict


def _level(name: str, cap, bw: int, rd: float, wr: float, per_core: bool, ops):
    return {
        "name": name,
        "capacity_bits": cap,
        "bw_bits_per_cycle": bw,
        "read_pj_per_bit": rd,
        "write_pj_per_bit": wr,
        "operands": ops,
        "per_core": per_core,
        "double_buffer": name != "DRAM",
        "bypass": False,
    }


def make_arch(blocks: bool = True) -> Arch:
    return arch_from_dict(
        {
            "name": "tt",
            "clock_mhz": 100,
            "leakage_pj_per_cycle": 2.0,
            "precision": {"input": 8, "weight": 8, "psum": 32, "output": 8},
            "macro": {
                "level": "Macro",
                "rows": 8,
                "cols": 2,
                "input_bits_per_cycle": 1,
                "weight_write_blocks_compute": blocks,
                "mvm_energy_pj": 10.0,
            },
            "simd": {"lanes": 4, "energy_pj_per_op": 0.5},
            "levels": [
                _level("DRAM", None, 8, 1.0, 1.0, False, ["I", "W", "O"]),
                _level("GB", 4096, 16, 0.5, 0.5, False, ["I", "W", "O"]),
                _level("LB", 4096, 8, 0.25, 0.25, True, ["I", "W", "O"]),
                _level("IReg", 256, 16, 0.0, 0.125, True, ["I"]),
                _level("Macro", 1024, 8, 0.0, 0.5, True, ["W"]),
                _level("OReg", 256, 32, 0.125, 0.125, True, ["O"]),
            ],
            "spatial": [
                {"name": "cores", "size": 2, "dims": ["K"], "kind": "cores"},
                {"name": "rows", "size": 8, "dims": ["C"], "kind": "array"},
                {"name": "cols", "size": 2, "dims": ["K"], "kind": "array"},
            ],
        },
        "<test>",
    )


ARCH = make_arch()
HEAD = 'arch "tt" cores {cores} shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro'
CONSTS = """
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c4 = arith.constant 4 : index
    %c6 = arith.constant 6 : index"""


def parse(text: str) -> ProgramOp:
    ctx = Context()
    for d in (Builtin, arith.Arith, scf.Scf, affine.Affine, Cim):
        ctx.load_dialect(d)
    module = Parser(ctx, text).parse_module()
    module.verify()
    return next(op for op in module.walk() if isinstance(op, ProgramOp))


def program(args: str, body: str, cores: int = 1) -> ProgramOp:
    return parse(f"cim.program @p({args}) {HEAD.format(cores=cores)} {{\n{body}\n}}\n")


def simulate(prog: ProgramOp, arch: Arch = ARCH, **kw) -> TimingReport:
    report = simulate_timing(prog, arch, **kw)
    # the traffic is always the traffic counter's, to the bit
    assert report.traffic == count_traffic(prog)
    return report


def stalls(**nonzero: int) -> dict[str, int]:
    return {c: nonzero.get(c, 0) for c in STALL_CAUSES}


# --------------------------------------------------------------------------- #
# Double buffering
# --------------------------------------------------------------------------- #


def double_buffered(bpc: int) -> ProgramOp:
    """6 iterations: DMA an 8-element input (LB -> IReg half i%2), then an MVM on it.

    DMA: 8 x 8 bits = 64 bits at min(LB 8, IReg 16) = 8 bits/cycle = 8 cycles on the
    LB port; MVM: ceil(8 input bits / bpc) cycles on the macro."""
    return program(
        "",
        f"""
  %lb = cim.alloc : memref<6x8xi8, "LB">
  %ib = cim.alloc halves 2 : memref<8xi8, "IReg">
  %m = cim.alloc : memref<8x2xi8, "Macro">
  %acc = cim.alloc : memref<2xi32, "OReg">
  cim.core 0 {{{CONSTS}
    scf.for %i = %c0 to %c6 step %c1 {{
      %h = cim.select_half %ib, %i : memref<8xi8, "IReg">
      cim.dma %lb[%i, 0] [1, 8] -> %h : memref<6x8xi8, "LB"> -> memref<8xi8, "IReg">
      cim.mvm %h, %m -> %acc input_bits 8 bits_per_cycle {bpc} {{acc}} : memref<8xi8, "IReg">, memref<8x2xi8, "Macro"> -> memref<2xi32, "OReg">
    }}
  }}""",
    )


def test_double_buffer_matched_throughput_only_fills() -> None:
    r = simulate(double_buffered(bpc=1))
    # t = 8 for both. DMA_k [8k, 8k+8): DMA_k (k >= 2) reuses the half MVM_{k-2}
    # read, which ended at 8k: no wait. MVM_k [8k+8, 8k+16) right after DMA_k and
    # MVM_{k-1}. Latency = N t + fill = 6 * 8 + 8 = 56.
    assert r.latency == 56
    # The only stall is the fill: MVM_0 issued at cycle 1 waits for DMA_0 until 8.
    assert r.stalls == stalls(raw=7)
    core = r.streams["core0"]
    assert core.busy["dma"] == 48 and core.busy["mvm"] == 48
    assert core.active == 56 and core.finish == 56
    assert r.macro_utilization == {0: 48 / 56}
    assert r.core_utilization == {0: 1.0}
    assert r.instructions == 12 and core.instructions == 12


def test_double_buffer_two_to_one_mismatch() -> None:
    r = simulate(double_buffered(bpc=2))
    # DMA 8 cycles, MVM ceil(8 / 2) = 4: the DMA engine bounds the loop.
    # DMA_k [8k, 8k+8); MVM_k [8k+8, 8k+12). Latency = 6 * 8 + 4 = 52.
    assert r.latency == 52
    # MVM_0: issued at 1, starts at 8: 7. MVM_k (k >= 1): its engine is free at
    # 8k + 4 (end of MVM_{k-1}), its input arrives at 8k + 8: 4 each, 5 of them.
    assert r.stalls == stalls(raw=7 + 5 * 4)
    assert r.streams["core0"].busy["mvm"] == 24
    assert r.macro_utilization == {0: 24 / 52}


def test_recorded_schedule() -> None:
    r = simulate(double_buffered(bpc=1), record=3)
    # (stream, index, op, issue, start, end, unit) of the first 3 instructions.
    assert [tuple(s) for s in r.schedule] == [
        ("core0", 0, "cim.dma", 0, 0, 8, "dma"),
        ("core0", 1, "cim.mvm", 1, 8, 16, "mvm"),
        ("core0", 2, "cim.dma", 2, 8, 16, "dma"),
    ]


def gather_program(gather: bool) -> ProgramOp:
    """Each of 2 cores fills its 4 x 32-bit accumulator (4 elements on 4 lanes:
    1 cycle), hands it over at barrier 0, and ``cim.global`` writes both back to
    the global buffer, rounded to 8 bits: one gather, or one DMA per core."""
    if gather:
        dmas = (
            "cim.dma %acc -> %v[0, 0] [1, 4] cores [0, 1] shifts [[0, 0], [1, 0]] : "
            'memref<4xi32, "LB"> -> memref<2x4xi32, "GB">'
        )
    else:
        dmas = "\n    ".join(
            f"cim.dma %acc -> %v[{c}, 0] [1, 4] cores [{c}] : "
            'memref<4xi32, "LB"> -> memref<2x4xi32, "GB">'
            for c in (0, 1)
        )
    on = ' on %acc : memref<4xi32, "LB">'
    fill = 'cim.simd fill(0.0) ins() outs(%acc) : -> memref<4xi32, "LB">'
    return program(
        "",
        f"""
  %acc = cim.alloc bits 32 : memref<4xi32, "LB">
  %v = cim.alloc bits 8 : memref<2x4xi32, "GB">
  cim.global {{
    cim.barrier 0{on}
    {dmas}
  }}
  cim.core 0 {{
    {fill}
    cim.barrier 0{on}
  }}
  cim.core 1 {{
    {fill}
    {fill}
    cim.barrier 0{on}
  }}""",
        cores=2,
    )


def test_gather_is_one_transfer_of_the_union() -> None:
    r = simulate(gather_program(True), record=4)
    # Barrier 0 opens at 2 (core1's second fill ends at 2). The gather reads
    # both cores' accumulators in parallel, 4 x 32 bits each at LB 8 = 16
    # cycles, and the GB side carries the union, 8 x 8 bits at min(GB 16, LB 8)
    # = 8: max(8, 16) = 16 cycles, [2, 18).
    dma = next(x for x in r.schedule if x.op == "cim.dma")
    assert tuple(dma) == ("global", 1, "cim.dma", 1, 2, 18, "dma")
    assert r.latency == 18
    # traffic: both cores' tiles read (2 x 128 bits), the union written (64)
    assert r.traffic.reads_bits == {"LB": 2 * 128}
    assert r.traffic.writes_bits == {"GB": 64}
    assert r.traffic.dmas == 1
    assert r.accesses["LB"]["reads"] == 2 and r.accesses["GB"]["writes"] == 2
    # one DMA per core: the two transfers run one after the other on the DMA
    # engine, 16 cycles each (4 x 32 bits at LB 8): [2, 18), [18, 34)
    per_core = simulate(gather_program(False))
    assert per_core.latency == 34
    assert per_core.traffic.reads_bits == r.traffic.reads_bits
    assert per_core.traffic.writes_bits == r.traffic.writes_bits


def test_window_of_one_serialises_everything() -> None:
    r = simulate(double_buffered(bpc=1), window=1)
    # An instruction issues only when the previous one retired: 6 x (8 + 8).
    # Nothing is ever issued early, so nothing stalls.
    assert r.latency == 96
    assert r.stalls == stalls()
    assert r.window == 1


# --------------------------------------------------------------------------- #
# Partial-sum write-back
# --------------------------------------------------------------------------- #


def psum_writeback(halves: int) -> ProgramOp:
    """4 iterations: MVM (8 cycles) into the accumulator, then a write-back DMA of
    its 2 x 32 bits = 64 bits at min(OReg 32, LB 8) = 8 bits/cycle = 8 cycles."""
    alloc = f"halves {halves} " if halves > 1 else ""
    acc = "%o" if halves > 1 else "%acc"
    select = (
        '%o = cim.select_half %acc, %i : memref<2xi32, "OReg">' if halves > 1 else ""
    )
    return program(
        "",
        f"""
  %lb = cim.alloc : memref<4x2xi32, "LB">
  %ib = cim.alloc : memref<8xi8, "IReg">
  %m = cim.alloc : memref<8x2xi8, "Macro">
  %acc = cim.alloc {alloc}: memref<2xi32, "OReg">
  cim.core 0 {{{CONSTS}
    scf.for %i = %c0 to %c4 step %c1 {{
      {select}
      cim.mvm %ib, %m -> {acc} input_bits 8 bits_per_cycle 1 : memref<8xi8, "IReg">, memref<8x2xi8, "Macro"> -> memref<2xi32, "OReg">
      cim.dma {acc} -> %lb[%i, 0] [1, 2] : memref<2xi32, "OReg"> -> memref<4x2xi32, "LB">
    }}
  }}""",
    )


def test_single_buffered_psum_writeback_serialises() -> None:
    r = simulate(psum_writeback(halves=1))
    # MVM_k [16k, 16k+8), DMA_k [16k+8, 16k+16): MVM_{k+1} overwrites the
    # accumulator DMA_k reads, so it waits for it (WAR). Latency 4 * 16 = 64.
    # raw: DMA_0 issued at 1 waits until 8 (7), DMA_k (k >= 1) is free at 16k and
    # waits for MVM_k until 16k + 8 (8 each, 3 of them). war: MVM_k (k >= 1) is
    # free at 16k - 8 and waits for DMA_{k-1} until 16k (8 each, 3 of them).
    assert r.latency == 64
    assert r.stalls == stalls(raw=7 + 3 * 8, war=3 * 8)
    assert r.macro_utilization == {0: 32 / 64}


def test_ping_pong_accumulator_overlaps_writeback() -> None:
    r = simulate(psum_writeback(halves=2))
    # MVM_k [8k, 8k+8) alternates halves; DMA_k [8k+8, 8k+16) overlaps MVM_{k+1}.
    # Latency 4 * 8 + 8 = 40; only DMA_0 waits (issued at 1, input ready at 8).
    assert r.latency == 40
    assert r.stalls == stalls(raw=7)


def psum_readback(prefetch: bool) -> ProgramOp:
    """4 partial-sum tiles, each read back from the LB into a ping-pong
    accumulator, accumulated by an MVM (8 cycles) and written back; a read-back
    or write-back moves 1 x 32 bits at min(LB 8, OReg 32) = 4 cycles on the LB
    port, both on the LB <-> OReg DMA engine. ``prefetch``: the lowering's order
    (`_Emitter._prefetch`): the next tile's read-back is issued after the MVM and
    before the current tile's write-back (the LB has a spare 5th row for the
    read-back after the last MVM, instead of the lowering's ``scf.if``)."""
    if prefetch:
        head = """
    %o0 = cim.select_half %acc, %c0 : memref<1xi32, "OReg">
    cim.dma %lb[0, 0] [1, 1] -> %o0 : memref<5x1xi32, "LB"> -> memref<1xi32, "OReg">"""
        read = ""
        ahead = """
      %n = affine.apply affine_map<(d0) -> (d0 + 1)> (%i)
      %on = cim.select_half %acc, %n : memref<1xi32, "OReg">
      cim.dma %lb[%n, 0] [1, 1] -> %on : memref<5x1xi32, "LB"> -> memref<1xi32, "OReg">"""
    else:
        head = ahead = ""
        read = """
      cim.dma %lb[%i, 0] [1, 1] -> %o : memref<5x1xi32, "LB"> -> memref<1xi32, "OReg">"""
    return program(
        "",
        f"""
  %lb = cim.alloc : memref<5x1xi32, "LB">
  %ib = cim.alloc : memref<8xi8, "IReg">
  %m = cim.alloc : memref<8x1xi8, "Macro">
  %acc = cim.alloc halves 2 : memref<1xi32, "OReg">
  cim.core 0 {{{CONSTS}{head}
    scf.for %i = %c0 to %c4 step %c1 {{
      %o = cim.select_half %acc, %i : memref<1xi32, "OReg">{read}
      cim.mvm %ib, %m -> %o input_bits 8 bits_per_cycle 1 acc : memref<8xi8, "IReg">, memref<8x1xi8, "Macro"> -> memref<1xi32, "OReg">{ahead}
      cim.dma %o -> %lb[%i, 0] [1, 1] : memref<1xi32, "OReg"> -> memref<5x1xi32, "LB">
    }}
  }}""",
    )


def test_psum_readback_after_writeback_serialises() -> None:
    r = simulate(psum_readback(prefetch=False))
    # R_k, M_k, W_k in program order: R_{k+1} reads the LB buffer W_k writes (RAW,
    # whole-buffer dependences) and follows it on the one DMA engine, and W_k
    # waits for M_k: R_k [16k, 16k+4), M_k [16k+4, 16k+12), W_k [16k+12, 16k+16),
    # 16 cycles per MVM although the accumulator is double-buffered. Latency 64.
    assert r.latency == 64
    assert r.macro_utilization == {0: 32 / 64}


def test_psum_readback_ahead_of_writeback_overlaps_the_mvm() -> None:
    r = simulate(psum_readback(prefetch=True))
    # R_0 [0, 4); M_k [4 + 8k, 12 + 8k); R_{k+1} (the other half, issued before
    # W_k) runs during M_k: R_1 [4, 8), then R_{k+1} [8k + 8, 8k + 12) right
    # after W_{k-1} [8k + 4, 8k + 8), whose half it overwrites (WAR) and whose
    # LB buffer it reads (RAW); W_k [12 + 8k, 16 + 8k). Port: 8 of every 8 cycles
    # at most, one MVM every 8 cycles: latency 4 + 4 x 8 + 4 = 40.
    assert r.latency == 40
    assert r.macro_utilization == {0: 32 / 40}


# --------------------------------------------------------------------------- #
# Weight reloads and the macro's mode switch
# --------------------------------------------------------------------------- #


def weight_reload(halves: int) -> ProgramOp:
    """Two weight sets, each loaded (16 x 8 bits = 128 bits at min(LB 8, Macro 8)
    = 16 cycles) then used by 4 MVMs (8 cycles each)."""
    alloc = f"halves {halves} " if halves > 1 else ""
    w = "%w" if halves > 1 else "%m"
    select = (
        '%w = cim.select_half %m, %j : memref<8x2xi8, "Macro">' if halves > 1 else ""
    )
    return program(
        "",
        f"""
  %lb = cim.alloc : memref<2x8x2xi8, "LB">
  %ib = cim.alloc : memref<8xi8, "IReg">
  %m = cim.alloc {alloc}: memref<8x2xi8, "Macro">
  %acc = cim.alloc : memref<2xi32, "OReg">
  cim.core 0 {{{CONSTS}
    scf.for %j = %c0 to %c2 step %c1 {{
      {select}
      cim.load_weights %lb[%j, 0, 0] [1, 8, 2] -> {w} : memref<2x8x2xi8, "LB"> -> memref<8x2xi8, "Macro">
      scf.for %i = %c0 to %c4 step %c1 {{
        cim.mvm %ib, {w} -> %acc input_bits 8 bits_per_cycle 1 {{acc}} : memref<8xi8, "IReg">, memref<8x2xi8, "Macro"> -> memref<2xi32, "OReg">
      }}
    }}
  }}""",
    )


def test_weight_reload_blocks_compute() -> None:
    r = simulate(weight_reload(halves=2), make_arch(blocks=True))
    # The second set goes to the other half, but a write and an MVM never
    # overlap: LDW_0 [0, 16), MVM_0..3 [16, 48), LDW_1 [48, 64), MVM_4..7 [64, 96).
    # mode_switch: MVM_0 issued at 1 waits for its weights until 16 (15); LDW_1 is
    # ready at 16 (its engine is free, its half untouched) but the macro computes
    # until 48 (32); MVM_4 is free at 48 and waits for LDW_1 until 64 (16).
    assert r.latency == 96
    assert r.stalls == stalls(mode_switch=15 + 32 + 16)
    assert r.streams["core0"].busy == {
        "dma": 0,
        "ldw": 32,
        "mvm": 64,
        "simd": 0,
        "send": 0,
        "recv": 0,
    }


def test_weight_reload_overlaps_when_writes_do_not_block() -> None:
    r = simulate(weight_reload(halves=2), make_arch(blocks=False))
    # LDW_1 [16, 32) writes half 1 while MVM_0..3 [16, 48) read half 0, so
    # MVM_4..7 run [48, 80) back to back. Only MVM_0's wait for LDW_0 is left,
    # now an ordinary operand wait.
    assert r.latency == 80
    assert r.stalls == stalls(raw=15)
    assert r.core_utilization == {0: 1.0}


@pytest.mark.parametrize("blocks", [True, False])
def test_single_macro_buffer_reload_serialises_either_way(blocks: bool) -> None:
    r = simulate(weight_reload(halves=1), make_arch(blocks=blocks))
    # One macro buffer: LDW_1 overwrites what MVM_0..3 read (WAR until 48), so
    # the flag changes nothing but the name of the MVMs' wait for their weights
    # (15 for MVM_0, 16 for MVM_4): a mode switch when writes block compute.
    assert r.latency == 96
    wait = "mode_switch" if blocks else "raw"
    assert r.stalls == stalls(war=32, **{wait: 15 + 16})


# --------------------------------------------------------------------------- #
# Barriers, shared ports, messages
# --------------------------------------------------------------------------- #

BARRIERS = """
  %gb = cim.alloc : memref<16xi8, "GB">
  %lb = cim.alloc : memref<32xi8, "LB">
  cim.global {
    cim.dma %x -> %gb : memref<16xi8, "DRAM"> -> memref<16xi8, "GB">
    cim.barrier 0
    cim.dma %gb -> %lb[0] [16] cores [0, 1] : memref<16xi8, "GB"> -> memref<32xi8, "LB">
    cim.barrier 1
  }
  cim.core 0 {
    cim.simd fill(0.0) ins() outs(%lb[16] [8]) : -> memref<32xi8, "LB">
    cim.barrier 0
    cim.barrier 1
    cim.dma %lb[0] [16] -> %y[0, 0] [1, 16] : memref<32xi8, "LB"> -> memref<2x16xi8, "DRAM">
  }
  cim.core 1 {
    cim.simd fill(0.0) ins() outs(%lb) : -> memref<32xi8, "LB">
    cim.barrier 0
    cim.barrier 1
    cim.dma %lb[0] [16] -> %y[1, 0] [1, 16] : memref<32xi8, "LB"> -> memref<2x16xi8, "DRAM">
  }"""


@pytest.mark.parametrize("burst", [8, 16])
def test_barriers_global_and_two_cores(burst: int) -> None:
    r = simulate(
        program(
            '%x: memref<16xi8, "DRAM">, %y: memref<2x16xi8, "DRAM">',
            BARRIERS,
            cores=2,
        ),
        burst=burst,
    )
    # global: DRAM -> GB 128 bits at min(8, 16) = 8: [0, 16); arrives at barrier 0
    # at 16. core0: fill of 8 elements on 4 lanes [0, 2), arrives at 2; core1:
    # fill of 32 [0, 8), arrives at 8. Barrier 0 opens at 16 (waits 0, 14, 8).
    # global: multicast GB -> LB, 128 bits at min(16, 8) = 8: [16, 32) (one
    # transfer for both cores); barrier 1 opens at 32; the cores arrived at 16
    # (waits 0, 16, 16). Both write-backs (LB -> DRAM, 16 cycles) are ready at 32
    # on the one DRAM port. With bursts of 16 cycles: core0 [32, 48), core1
    # [48, 64) (16 port cycles). With bursts of 8 they interleave: core0 [32, 40)
    # and [48, 56), core1 [40, 48) and [56, 64) (8 + 16 port cycles).
    assert r.latency == 64
    port0 = 8 if burst == 8 else 0
    assert r.stalls == stalls(barrier=14 + 8 + 16 + 16, port=port0 + 16)
    g, c0, c1 = (r.streams[s] for s in ("global", "core0", "core1"))
    assert (g.finish, c0.finish, c1.finish) == (32, 48 + port0, 64)
    assert (g.stalls["barrier"], c0.stalls["barrier"], c1.stalls["barrier"]) == (
        0,
        30,
        24,
    )
    assert (c0.stalls["port"], c1.stalls["port"]) == (port0, 16)
    assert r.core_utilization == {0: 18 / 64, 1: 24 / 64}
    # Energy (pJ): DRAM 128 read + 256 written at 1.0 = 384; GB 128 + 128 at 0.5
    # = 128; LB 256 + 320 (fills) written + 256 read at 0.25 = 208; SIMD 40 lane
    # ops at 0.5 = 20; leakage 64 cycles at 2.0 = 128.
    assert r.energy_pj == {
        "DRAM": 384.0,
        "GB": 128.0,
        "LB": 208.0,
        "mvm": 0.0,
        "simd": 20.0,
        "leakage": 128.0,
    }
    assert r.energy == 868.0 and r.edp == 64 * 868.0
    assert r.accesses == {
        "DRAM": {"reads": 1, "writes": 2},
        "GB": {"reads": 1, "writes": 1},
        "LB": {"reads": 2, "writes": 4},
    }
    assert r.to_json()["latency_cycles"] == 64


def hand_over(scoped: bool, core_iters: int = 4, global_iters: int = 4) -> ProgramOp:
    """A core computes output tiles that ``cim.global`` writes back, one per
    iteration, through a ping-pong accumulator handed over at barrier 0.

    Core, per iteration: prefetch an input vector (LB -> IReg half i, 64 bits at
    min(LB 8, IReg 16) = 8 cycles), MVM (8 cycles) into accumulator half i, arrive.
    Global: barrier, write accumulator half i back (OReg -> DRAM, 32 bits at
    min(OReg 32, DRAM 8) = 4 cycles). ``scoped`` names the accumulator on the
    barrier."""
    on = ' on %acc : !cim.pingpong<memref<1xi32, "OReg">>' if scoped else ""
    return program(
        '%y: memref<4xi32, "DRAM">',
        f"""
  %lb = cim.alloc : memref<4x8xi8, "LB">
  %ib = cim.alloc halves 2 : memref<8xi8, "IReg">
  %m = cim.alloc : memref<8x1xi8, "Macro">
  %acc = cim.alloc halves 2 : memref<1xi32, "OReg">
  cim.global {{{CONSTS}
    %n = arith.constant {global_iters} : index
    scf.for %i = %c0 to %n step %c1 {{
      %h = cim.select_half %acc, %i : memref<1xi32, "OReg">
      cim.barrier 0{on}
      cim.dma %h -> %y[%i] [1] cores [0] : memref<1xi32, "OReg"> -> memref<4xi32, "DRAM">
    }}
  }}
  cim.core 0 {{{CONSTS}
    %n = arith.constant {core_iters} : index
    scf.for %i = %c0 to %n step %c1 {{
      %x = cim.select_half %ib, %i : memref<8xi8, "IReg">
      %o = cim.select_half %acc, %i : memref<1xi32, "OReg">
      cim.dma %lb[%i, 0] [1, 8] -> %x : memref<4x8xi8, "LB"> -> memref<8xi8, "IReg">
      cim.mvm %x, %m -> %o input_bits 8 bits_per_cycle 1 : memref<8xi8, "IReg">, memref<8x1xi8, "Macro"> -> memref<1xi32, "OReg">
      cim.barrier 0{on}
    }}
  }}""",
    )


def test_full_barrier_hand_over_is_a_round_trip() -> None:
    r = simulate(hand_over(scoped=False))
    # The core arrives once its MVM is done and issues nothing until the release,
    # so the next prefetch starts only then: DMA_k [16k, 16k+8), MVM_k [16k+8,
    # 16k+16), release k at 16k+16 (global arrives at 0, then after WB_{k-1}
    # [16k, 16k+4)). WB_3 [64, 68). raw: each MVM waits 7 for its DMA; barrier:
    # global waits 16, then 12 three times.
    assert r.latency == 68
    assert r.stalls == stalls(raw=4 * 7, barrier=16 + 3 * 12)


def test_barrier_on_a_buffer_lets_the_prefetch_cross_the_hand_over() -> None:
    r = simulate(hand_over(scoped=True), record=64)
    # The core arrives after MVM_k (its last access of the accumulator) and runs
    # on: DMA_{k+1} [8k+8, 8k+16) overlaps MVM_k, and only MVM_{k+1}, which
    # writes the accumulator, waits for release k (the half it overwrites was
    # written back by WB_{k-1}, before global arrived): MVM_k [8k+8, 8k+16)
    # back to back. Global: WB_k [8k+16, 8k+20) after release k = 8k+16;
    # latency 40 + 4 = 44 instead of 68.
    assert r.latency == 44
    core = [e for e in r.schedule if e.stream == "core0"]
    dmas = [e.start for e in core if e.op == "cim.dma"]
    mvms = [e.start for e in core if e.op == "cim.mvm"]
    assert dmas == [0, 8, 16, 24] and mvms == [8, 16, 24, 32]
    arrivals = [e.start for e in core if e.op == "cim.barrier"]
    assert arrivals == [16, 24, 32, 40]
    wbs = [e.start for e in r.schedule if e.stream == "global" and e.op == "cim.dma"]
    assert wbs == [16, 24, 32, 40]
    # raw: MVM_0 waits 7 for DMA_0; barrier: WB_0 (issued at 1) waits 15 for
    # release 0, WB_1..3 wait 4 each after the previous one.
    assert r.stalls == stalls(raw=7, barrier=15 + 3 * 4)


def test_barrier_must_name_every_buffer_it_hands_over() -> None:
    prog = hand_over(scoped=True)
    text = str(prog).replace(
        'on %acc : !cim.pingpong<memref<1xi32, "OReg">>',
        'on %m : memref<8x1xi8, "Macro">',
    )
    with pytest.raises(
        MiredoError,
        match=r"cim\.barrier 0 in global does not protect buffer b3 \(core 0\), "
        r"which global and core0 both access",
    ):
        simulate_timing(parse(text), ARCH)


def test_unequal_arrivals_at_a_barrier_with_buffers_are_an_error() -> None:
    with pytest.raises(MiredoError, match=r"arrive at it unequally often"):
        simulate_timing(hand_over(scoped=True, global_iters=3), ARCH)


def prefetch_and_demand(priority: int, boot: int | None = None) -> ProgramOp:
    """Two controller queues on the DRAM port: queue 0 prefetches 64 bytes (512
    bits at min(DRAM 8, GB 16) = 8 bits/cycle = 64 cycles, in bursts of 8),
    queue 1 (``priority``, its first transfer at ``boot``) moves four 2-byte
    tiles (2 cycles each)."""
    prio = f" priority {priority}" if priority else ""
    prio += "" if boot is None else f" boot {boot}"
    return program(
        '%x: memref<64xi8, "DRAM">, %z: memref<8xi8, "DRAM">',
        f"""
  %a = cim.alloc : memref<64xi8, "GB">
  %b = cim.alloc : memref<8xi8, "GB">
  cim.global {{
    cim.dma %x -> %a : memref<64xi8, "DRAM"> -> memref<64xi8, "GB">
  }}
  cim.global queue 1{prio} {{
    cim.dma %z[0] [2] -> %b[0] [2] : memref<8xi8, "DRAM"> -> memref<8xi8, "GB">
    cim.dma %z[2] [2] -> %b[2] [2] : memref<8xi8, "DRAM"> -> memref<8xi8, "GB">
    cim.dma %z[4] [2] -> %b[4] [2] : memref<8xi8, "DRAM"> -> memref<8xi8, "GB">
    cim.dma %z[6] [2] -> %b[6] [2] : memref<8xi8, "DRAM"> -> memref<8xi8, "GB">
  }}""",
    )


def test_equal_priorities_alternate_bursts_and_short_transfers() -> None:
    r = simulate(prefetch_and_demand(priority=0))
    # Both ready at 0, queue 0 first: bursts [0, 8), [10, 18), [20, 28), [30, 38)
    # alternate with queue 1's transfers [8, 10), [18, 20), [28, 30), [38, 40);
    # the prefetch ends [40, 72).
    assert r.latency == 72
    assert r.streams["global1"].finish == 40


def test_priority_gives_the_port_to_the_short_transfers() -> None:
    r = simulate(prefetch_and_demand(priority=1))
    # Queue 1's transfers are present whenever the port frees up and go first:
    # [0, 2), [2, 4), [4, 6), [6, 8); the prefetch takes the port from 8 to 72
    # (8 port-stall cycles); the total is the same.
    assert r.latency == 72
    assert r.streams["global1"].finish == 8
    assert r.streams["global"].stalls["port"] == 8


def test_a_queues_first_transfer_has_its_boot_priority() -> None:
    prog = prefetch_and_demand(priority=0, boot=1)
    assert "cim.global queue 1 boot 1 {" in str(prog)
    r = simulate(prog)
    # Queue 1's first tile outranks the prefetch, [0, 2); its other three have
    # priority 0 and alternate with the prefetch's bursts as equals (the earliest
    # request first): [2, 10), [10, 12), [12, 20), [20, 22), [22, 30), [30, 32).
    assert r.streams["global1"].finish == 32
    assert r.streams["global"].stalls["port"] == 2 + 3 * 2
    assert r.latency == 72


def test_the_boot_priority_ends_with_the_first_transfer() -> None:
    # Queue 1's first tile goes at boot 0, tied with the prefetch (both ready at
    # 0, queue 0 first): burst [0, 8), the tile [8, 10); its next three have
    # priority 1 and go first at every burst boundary: [10, 12), [12, 14), [14,
    # 16).
    r = simulate(prefetch_and_demand(priority=1, boot=0))
    assert r.streams["global1"].finish == 16
    assert r.streams["global"].stalls["port"] == 8
    assert r.latency == 72


def test_send_recv_waits_for_the_message() -> None:
    r = simulate(
        program(
            "",
            """
  %lb = cim.alloc : memref<8xi8, "LB">
  %r = cim.alloc : memref<8xi8, "LB">
  cim.core 0 {
    cim.recv %r from 1 tag 0 : memref<8xi8, "LB">
    cim.simd relu ins(%r) outs(%lb) : memref<8xi8, "LB"> -> memref<8xi8, "LB">
  }
  cim.core 1 {
    cim.simd fill(1.0) ins() outs(%lb) : -> memref<8xi8, "LB">
    cim.send %lb to 0 tag 0 : memref<8xi8, "LB">
  }""",
            cores=2,
        )
    )
    # core1: fill [0, 2); send of 64 bits at LB's 8 bits/cycle [2, 10) (issued at
    # 1: 1 raw). core0: the receive (issued at 0) drains the message [10, 18)
    # (10 recv); relu of 8 elements [18, 20) (issued at 1: 17 raw).
    assert r.latency == 20
    assert r.stalls == stalls(recv=10, raw=1 + 17)
    assert r.streams["core1"].busy["send"] == 8
    assert r.streams["core0"].busy["recv"] == 8


def test_barrier_that_a_stream_never_reaches_deadlocks() -> None:
    prog = program(
        "",
        f"""
  cim.core 0 {{
    cim.barrier 3
  }}
  cim.core 1 {{{CONSTS}
    scf.for %i = %c0 to %c0 step %c1 {{
      cim.barrier 3
    }}
  }}""",
        cores=2,
    )
    with pytest.raises(
        MiredoError,
        match=r"@p deadlocks: core0 waits at cim\.barrier 3 \(missing core1 \(finished\)\)",
    ):
        simulate_timing(prog, ARCH)


def test_unknown_level_is_an_error() -> None:
    prog = parse(
        'cim.program @p() arch "x" cores 1 shared [DRAM] per_core [L1, Macro] '
        'macro Macro {\n  %l = cim.alloc : memref<4xi8, "L1">\n'
        '  cim.core 0 {\n    cim.simd fill(0.0) ins() outs(%l) : -> memref<4xi8, "L1">\n'
        "  }\n}\n"
    )
    with pytest.raises(MiredoError, match="uses level 'L1'"):
        simulate_timing(prog, ARCH)


# --------------------------------------------------------------------------- #
# miredo-sim --timing
# --------------------------------------------------------------------------- #


def test_miredo_sim_timing_adds_report_section(tmp_path, capsys) -> None:
    import json

    import onnx

    from miredo.frontends import testmodels
    from miredo.pipeline import CompileOptions, compile_model, write_outputs
    from miredo.tools.miredo_sim import main

    model = tmp_path / "m.onnx"
    onnx.save(testmodels.matmul_model(), model)
    options = CompileOptions(arch="small", mapper="heuristic", jobs=1, cache=None)
    out = tmp_path / "out"
    write_outputs(compile_model(str(model), options), out)
    main([str(out), "--timing", "--window", "8"])
    printed = capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())
    timing = report["timing"]
    layers = {lay["name"]: lay for lay in report["layers"]}
    programs = timing["programs"]
    assert timing["window"] == 8 and timing["arch"] == "small"
    assert [p["program"] for p in programs][:3] == ["proj", "proj_t", "scores"]
    for p in programs:
        assert p["window"] == 8 and p["latency_cycles"] > 0
        assert f"\n{p['program']} " in printed
        if p["program"] in layers:
            pred = layers[p["program"]]["predicted"]["latency_cycles"]
            assert p["predicted_latency_cycles"] == pred
            sim = p["latency_cycles"]
            assert p["accuracy"] == pytest.approx(1 - abs(pred - sim) / sim)
        else:
            assert "accuracy" not in p
    totals = timing["totals"]
    assert totals["programs"] == len(programs)
    assert totals["latency_cycles"] == sum(p["latency_cycles"] for p in programs)
    assert totals["predicted_latency_cycles"] == sum(
        lay["predicted"]["latency_cycles"] for lay in report["layers"]
    )
    assert report["layers"] and report["model_path"]  # the rest is kept


def test_miredo_sim_timing_needs_a_known_arch(tmp_path, capsys) -> None:
    import json

    from miredo.tools.miredo_sim import main

    (tmp_path / "report.json").write_text(
        json.dumps({"model_path": "m.onnx", "arch": "custom", "layers": []})
    )
    (tmp_path / "cim.mlir").write_text("builtin.module {\n}\n")
    with pytest.raises(SystemExit) as e:
        main([str(tmp_path), "--timing"])
    assert e.value.code == 1
    err = capsys.readouterr().err
    assert "arch 'custom'" in err and "--arch" in err and len(err.splitlines()) == 1
