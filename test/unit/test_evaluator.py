"""The closed-form evaluator: hand-computed cases, the precision rule, and the
physical lower bound as a property over random layers and mappings."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from miredo.solver.bounds import (
    compute_bound,
    dram_bound,
    energy_bound,
    physical_bound,
)
from miredo.solver.evaluator import evaluate, output_psum_at
from miredo.solver.hardware import load_arch
from miredo.solver.heuristic import allocate, spatial_candidates, temporal_loops
from miredo.solver.mapping import Loop, Mapping
from miredo.solver.validator import validate
from miredo.solver.workload import OPERANDS, Layer

TINY = load_arch("tiny")
SMALL = load_arch("small")


def test_hand_case_psum_readback_multicast_double_buffer() -> None:
    # tiny arch: 2 cores {K,P}, 2x2 macro (rows {C,R,S}, cols {K}); I/W 4 bit,
    # psum 8, out 4; t_mvm = 4/2 = 2. Ports (bits/cycle): DRAM 8, GB 16, LB 8,
    # IReg 8, Macro 8, OReg 16. pJ/bit r/w: DRAM 10/10, GB 2/3, LB 1/1,
    # IReg .5/.5, Macro 0/.25, OReg .5/.5; MVM 4 pJ; leakage 1 pJ/cycle.
    # Layer K4 C2 P4 R2 (stride 1, input rows H = 3+1+1 = 5).
    layer = Layer("hand", {"K": 4, "C": 2, "P": 4, "R": 2})
    m = Mapping(
        spatial={
            "cores": (Loop("P", 2),),
            "rows": (Loop("C", 2),),
            "cols": (Loop("K", 2),),
        },
        temporal=(Loop("R", 2), Loop("K", 2), Loop("P", 2)),
        level_of={
            "I": ("DRAM", "GB", "LB"),
            "W": ("DRAM", "LB", "Macro"),
            "O": ("LB", "LB", "LB"),
        },
        bypass={"W": {"GB"}, "O": {"GB"}},
        double_buffer={("LB", "I"), ("OReg", "O")},
    )
    assert validate(layer, TINY, m) == []
    c = evaluate(layer, TINY, m)
    # Tiles (elements x bits). I: IReg C2 x rows(1,1)=1 -> 2x4 = 8; LB (P2 at LB)
    # C2 x rows(2,1)=2 -> 4x4 = 16 (x2 db = 32); GB (shared: core P2 counts)
    # C2 x rows(4,1) = 8x4 = 32; W: Macro C2K2 = 16; LB K4C2 = 32.
    # O: OReg K2 x psum 8 = 16 (x2 db = 32); LB K4P2 = 8, reduction R2 at LB
    # -> psum: 64. LB total 32 + 32 + 64 = 128 = capacity (exactly full).
    assert c.tile_bits[("LB", "O")] == 64
    assert c.tile_bits[("GB", "I")] == 32
    assert c.occupancy_bits["LB"] == 128
    assert c.occupancy_bits["OReg"] == 32
    by_edge = {(t.operand, t.parent, t.child): t for t in c.transfers}
    # I DRAM->GB: above GB = R2 (relevant) -> slot 0, T=D=2, 32 bits, tau 32/8=4.
    t = by_edge["I", "DRAM", "GB"]
    assert (t.slot, t.count, t.distinct, t.parent_bits, t.tau) == (0, 2, 2, 32, 4)
    # I GB->LB: above LB = R2, K2 (K irrelevant) -> slot 0, T=2; union over the
    # 2 cores = 32 bits on the GB port, each core gets 16; tau 32/min(16,8) = 4,
    # double-buffered.
    t = by_edge["I", "GB", "LB"]
    assert (t.slot, t.count, t.parent_bits, t.child_bits, t.tau) == (0, 2, 32, 16, 4)
    assert t.double_buffered
    # I LB->IReg: above = R2 K2 P2 -> slot 2 (P), T = 8, D = 4, 8 bits, tau 1.
    t = by_edge["I", "LB", "IReg"]
    assert (t.slot, t.count, t.distinct, t.tau) == (2, 8, 4, 1)
    # W DRAM->LB (GB bypassed): slot 0 (R), T=2, union: P on cores is
    # irrelevant to W -> multicast, 8 elems = 32 bits, tau 32/8 = 4.
    t = by_edge["W", "DRAM", "LB"]
    assert (t.slot, t.count, t.parent_bits, t.child_bits, t.tau) == (0, 2, 32, 32, 4)
    # W LB->Macro: above = R2 K2 -> slot 1, T = 4, 16 bits, tau 2.
    t = by_edge["W", "LB", "Macro"]
    assert (t.slot, t.count, t.tau) == (1, 4, 2)
    # O DRAM<-LB: nothing above LB -> tail, union K4 x P4 = 16 elems x 4 bits
    # (no reduction loop at DRAM) = 64 bits on the link, 64/8 = 8 cycles; each
    # core's LB port streams its own 8 elements as 8-bit psums, the two cores in
    # parallel (one gather): 64/8 = 8 -> tau 8.
    t = by_edge["O", "DRAM", "LB"]
    assert (t.slot, t.count, t.parent_bits, t.child_bits, t.tau) == (
        None,
        1,
        64,
        64,
        8,
    )
    # O LB<-OReg: above = R2 K2 P2 -> slot 2 (P), T = 8, D = K2 x P2 = 4, so 4
    # psum read-backs; 2 elems x 8 bits = 16 bits, tau 16/min(8,16) = 2, charge
    # 2 + 2 = 4 per trigger iteration, double-buffered.
    t = by_edge["O", "LB", "OReg"]
    assert (t.slot, t.count, t.distinct, t.psum_reads, t.tau, t.charge) == (
        2,
        8,
        4,
        4,
        2,
        4,
    )
    # Recursion, W_3 = 2 (body = W_{i+1} + S, W_i = f·max(body, D, Q), fill +=
    # min(body, D, body + D - Q0); Q = the busiest port's work in one iteration,
    # its own charges plus those of the slots inside, Q0 the same on a first
    # visit):
    #  slot 2 (P2): S = 1 (I on LB), D = 4 (O on LB), Q = LB 1 + 4 = 5, Q0 = 3:
    #               body 3, W = 2·5 = 10, fill min(3, 4, 3 + 4 - 3) = 3
    #  slot 1 (K2): S = 2 (W on LB), Q = LB 2 + 2·5 = 12: body 12, W = 24, fill 0
    #  slot 0 (R2): S = max(DRAM 4+4, -) = 8, D = 4 (I on GB), Q = LB 2·12 = 24,
    #               Q0 = LB 2·2 + 4·1 + 4·2 = 16: body 32, W = 64, fill 4.
    # First visit (O charged tau = 2, no read-back), W0_3 = 2:
    #  slot 2 (P2): D0 = 2, Q0 = 1 + 2 = 3, body0 = 3: it0 = 3, W0 = 2·3 = 6
    #  slot 1 (K2): body0 = 6 + 2 = 8, Q0 = 2 + (I 2 + O 4) = 8: W0 = 2·8 = 16
    #  slot 0 (R2, reduction): it0 = 16 + 8 = 24, W0 = 24 + (2 - 1)·32 = 56.
    # Lat_0 = W0_0 + fill = 56 + 7 = 63.
    assert c.lat0 == 63
    # Port busy: DRAM 2*4 + 2*4 = 16; GB 2*4 = 8; LB 8*1 + 4*2 + (8+4)*2 = 40.
    assert c.port_busy == {"DRAM": 16, "GB": 8, "LB": 40}
    # Idle, max over a port's edges of X - inner (X = body_j for a load at
    # slot j, W_{j+1} for an O write-back; inner = the port's work deeper than j
    # in one iteration of slot j). DRAM: I and W loads at slot 0, body_0 = 32,
    # nothing deeper -> 32. GB: I at slot 0 -> 32. LB: I at slot 2: body_2 = 3;
    # W at slot 1: body_1 = 12 minus the LB work of one K iteration (I 2 x 1,
    # O 2 x 2, no read-back within it) = 6; O at slot 2: W_3 = 2 -> 6.
    assert c.port_idle == {"DRAM": 32, "GB": 32, "LB": 6}
    # boot 0, tail 8: latency = 0 + max(63, 16 + 32, 8 + 32, 40 + 6) + 8 = 71.
    assert (c.boot, c.tail, c.latency) == (0, 8, 71)
    # Energy per edge (pJ):
    #  I DRAM->GB 2*(32*10 + 32*3) = 832; GB->LB 2*(32*2 + 16*1*2) = 192;
    #  LB->IReg 8*(8*1*2 + 8*.5*2) = 192; W DRAM->LB 2*(32*10 + 32*1*2) = 768;
    #  LB->Macro 4*(16*1*2 + 16*.25*2) = 160; O tail 64*1*2 + 64*10 = 768;
    #  O LB<-OReg 8*(16*.5*2 + 16*1*2) + 4*(16*1*2 + 16*.5*2) = 576.  Sum 3488.
    assert sum(t.energy_pj for t in c.transfers) == pytest.approx(3488)
    # MVMs: 8 per core x 2 cores = 16, each 4 + IReg read 8 bits*.5 + OReg
    # read+write 16 bits*(.5+.5) = 24 pJ -> 384. Leakage 71. Total 3943.
    assert c.n_mvm == 16
    assert c.energy == pytest.approx(3943)
    assert c.edp == pytest.approx(71 * 3943)
    # Traffic (bits, all instances).
    assert c.reads_bits["DRAM"] == 128 and c.writes_bits["DRAM"] == 64
    assert c.reads_bits["LB"] == 512 and c.writes_bits["LB"] == 448
    assert c.writes_bits["Macro"] == 128
    assert c.reads_bits["OReg"] == 512 and c.writes_bits["OReg"] == 384
    assert c.objective("latency") == 71
    assert c.objective("edp") == pytest.approx(71 * 3943)


def test_hand_case_boot_tail_and_gb_double_buffer() -> None:
    # Layer K2 C4 P2 on tiny: rows C2, cols K2, one core; temporal C2 P2.
    layer = Layer("hand2", {"K": 2, "C": 4, "P": 2})
    m = Mapping(
        spatial={"rows": (Loop("C", 2),), "cols": (Loop("K", 2),), "cores": ()},
        temporal=(Loop("C", 2), Loop("P", 2)),
        level_of={
            "I": ("GB", "IReg"),
            "W": ("DRAM", "Macro"),
            "O": ("OReg", "OReg"),
        },
        bypass={"O": {"GB"}},
        double_buffer={("GB", "W")},
    )
    assert validate(layer, TINY, m) == []
    c = evaluate(layer, TINY, m)
    by_edge = {(t.operand, t.parent, t.child): t for t in c.transfers}
    # I: GB tile C4 x rows(2,1) = 8 elems = 32 bits; LB and IReg tiles (P2 at
    # IReg) C2 x 2 = 16 bits. DRAM->GB: nothing above GB -> boot, tau 32/8 = 4.
    assert by_edge["I", "DRAM", "GB"].slot is None
    assert by_edge["I", "DRAM", "GB"].tau == 4
    # GB->LB and LB->IReg: above = C2 -> slot 0, T = 2, tau 16/8 = 2.
    assert by_edge["I", "GB", "LB"].tau == 2 and by_edge["I", "GB", "LB"].count == 2
    assert by_edge["I", "LB", "IReg"].tau == 2
    # W: every tile 16 bits (P irrelevant); all three edges at slot 0, tau 2;
    # DRAM->GB is double-buffered (GB, W).
    assert by_edge["W", "DRAM", "GB"].double_buffered
    assert {
        by_edge["W", p, ch].tau
        for p, ch in [("DRAM", "GB"), ("GB", "LB"), ("LB", "Macro")]
    } == {2}
    # O: both loops at OReg, so no reduction loop at LB or DRAM: output bits.
    # DRAM<-LB tail: 4 elems x 4 = 16 bits, tau 2; LB<-OReg tail: parent side
    # 4 x 4 = 16 bits (rounded to output), child side 4 x 8 = 32, tau 16/8 = 2.
    t = by_edge["O", "LB", "OReg"]
    assert (t.slot, t.parent_bits, t.child_bits, t.tau) == (None, 16, 32, 2)
    # Slot 0 (C2): S = max(ports GB: 2+2, LB: 2+2; chains I: 2+2, W: 2+2) = 4,
    # D = 2 (W on DRAM);
    # slot 1 (P2): nothing. Lat_2 = 2, Lat_1 = 4, Lat_0 = 4 + 4 + 2 + max(8, 2) = 18.
    assert c.lat0 == 18
    # boot 4, tail 2 + 2 = 4; busy DRAM 4, GB 8, LB 8: latency 4 + 18 + 4 = 26.
    assert (c.boot, c.tail, c.latency) == (4, 4, 26)
    # Energy: I 416 + 96 + 48, W 416 + 96 + 40, O (16*1 + 16*10) + (32*.5 +
    # 16*1) = 176 + 32: edges 1320; 4 MVMs x (4 + 8*.5 + 16*1) = 96; leakage 26.
    assert c.energy == pytest.approx(1442)


def test_hand_case_one_operands_single_hops_are_serial() -> None:
    # hand2 without the GB double buffer: W's three hops at slot 0 (DRAM->GB,
    # GB->LB, LB->Macro, tau 2 each) are all single-buffered and run one after
    # the other: S_0 = max(ports DRAM 2, GB 2+2, LB 2+2; chains I 2+2, W 6) = 6.
    layer = Layer("hand2", {"K": 2, "C": 4, "P": 2})
    m = Mapping(
        spatial={"rows": (Loop("C", 2),), "cols": (Loop("K", 2),), "cores": ()},
        temporal=(Loop("C", 2), Loop("P", 2)),
        level_of={"I": ("GB", "IReg"), "W": ("DRAM", "Macro"), "O": ("OReg", "OReg")},
        bypass={"O": {"GB"}},
        double_buffer=frozenset(),
    )
    assert validate(layer, TINY, m) == []
    c = evaluate(layer, TINY, m)
    # Lat_1 = 2 x 2 = 4; body_0 = 4 + 6 = 10; Lat_0 = 2 x 10 (no fill: D_0 = 0).
    assert c.lat0 == 20


def _psum_layer_mapping(o_levels: tuple[str, str, str]) -> tuple[Layer, Mapping]:
    layer = Layer("ps", {"K": 4, "C": 4})
    m = Mapping(
        spatial={"rows": (Loop("C", 2),), "cols": (Loop("K", 2),), "cores": ()},
        temporal=(Loop("C", 2), Loop("K", 2), Loop("N", 1)),
        level_of={"I": ("DRAM",) * 3, "W": ("DRAM",) * 3, "O": o_levels},
        bypass={"O": {"GB"}},
        double_buffer=frozenset(),
    )
    return layer, m


def test_hand_case_a_port_carries_the_inner_loops_transfers() -> None:
    """Q_i: one iteration of a loop takes at least its busiest port's work, its
    own transfers and those of the loops inside it."""
    layer = Layer("kc", {"K": 8, "C": 8})
    m = Mapping(
        spatial={"cores": (Loop("K", 2),), "rows": (), "cols": (Loop("K", 2),)},
        temporal=(Loop("C", 2), Loop("C", 2), Loop("K", 2), Loop("C", 2)),
        level_of={
            "I": ("GB", "LB", "LB", "LB"),
            "W": ("DRAM", "DRAM", "GB", "GB"),
            "O": ("DRAM", "DRAM", "GB", "OReg"),
        },
        bypass={"I": set(), "W": set(), "O": set()},
        double_buffer={
            ("GB", "I"),
            ("GB", "W"),
            ("IReg", "I"),
            ("LB", "O"),
            ("LB", "W"),
        },
    )
    assert validate(layer, TINY, m) == []
    c = evaluate(layer, TINY, m)
    by_edge = {(t.operand, t.parent, t.child): t for t in c.transfers}
    # On the GB port: O's write-back and read-back at slot 2 (K2), double-
    # buffered, 4 + 4; W's GB -> LB tiles at slot 3 (C2), double-buffered, 2.
    t = by_edge["O", "GB", "LB"]
    assert (t.slot, t.count, t.distinct, t.tau, t.charge) == (2, 8, 2, 4, 8)
    t = by_edge["W", "GB", "LB"]
    assert (t.slot, t.tau, t.double_buffered) == (3, 2, True)
    # W_4 = t_mvm = 2.
    #  slot 3 (C2): body 2 + 1 (W LB -> Macro) = 3, D = 2: it 3, W 6.
    #  slot 2 (K2): body 6 + 4 (O LB <- OReg, single) = 10, D = 8 (O on GB);
    #    Q = GB 8 + 2 x 2 (the two W tiles of the C2 inside) = 12: it = 12, W 24.
    #    (Without the inner tiles: it = 10.)
    #  slot 1 (C2): body 24, D = 8 (W DRAM -> GB), Q = GB 2 x 12: W = 48.
    #  slot 0 (C2), the outermost (no Q): body 48 + 2 (I GB -> LB) = 50.
    # First visit (O charged its write-back alone): slot 3: 3, W0 6; slot 2:
    # body0 6 + 2 = 8, D0 4, Q0 = 4 + 4 = 8: W0 = 16; slot 1 (reduction): it0 =
    # 16, W0 = 16 + 24 = 40; slot 0 (reduction): it0 = 42, W0 = 42 + 50 = 92.
    # Fill: min(3, 2) + min(10, 8) + min(24, 8) + 0 = 18. Lat_0 = 110.
    assert c.lat0 == 110
    # boot 4 (I DRAM -> GB), tail 8 (O); the GB port: busy 92 + idle 10.
    assert c.port_busy["GB"] + c.port_idle["GB"] == 102
    assert (c.boot, c.tail, c.latency) == (4, 8, 122)


def test_output_precision_rule() -> None:
    # C2 (reduction) outside K2 (relevant), both at LB for O: LB holds partial
    # sums that are read back (T = 4 > D = 2), so LB is at psum width although
    # no reduction loop is strictly outside LB.
    layer, m = _psum_layer_mapping(("LB", "LB", "LB"))
    c = evaluate(layer, TINY, m)
    assert output_psum_at(layer, TINY, m, "LB")
    assert not output_psum_at(layer, TINY, m, "DRAM")
    assert c.tile_bits[("LB", "O")] == 4 * 8
    edge = next(t for t in c.transfers if t.child == "OReg")
    assert (edge.count, edge.distinct, edge.psum_reads) == (4, 2, 2)
    # Reduction loop at DRAM: DRAM itself holds partial sums.
    layer, m = _psum_layer_mapping(("DRAM", "DRAM", "LB"))
    assert output_psum_at(layer, TINY, m, "DRAM")
    dram_edge = next(
        t
        for t in evaluate(layer, TINY, m).transfers
        if t.parent == "DRAM" and t.operand == "O"
    )
    assert dram_edge.parent_bits == 2 * 8 and dram_edge.psum_reads == 2
    # Reduction only inside the OReg: every outer level sees final values.
    layer, m = _psum_layer_mapping(("LB", "OReg", "OReg"))
    m = Mapping(
        spatial=m.spatial,
        temporal=(Loop("K", 2), Loop("C", 2), Loop("N", 1)),
        level_of={"I": ("DRAM",) * 3, "W": ("DRAM",) * 3, "O": ("LB", "OReg", "OReg")},
        bypass=m.bypass,
        double_buffer=m.double_buffer,
    )
    assert not output_psum_at(layer, TINY, m, "LB")
    assert evaluate(layer, TINY, m).tile_bits[("LB", "O")] == 4 * 4


def test_unknown_objective() -> None:
    layer, m = _psum_layer_mapping(("LB", "LB", "LB"))
    with pytest.raises(ValueError, match="unknown objective"):
        evaluate(layer, TINY, m).objective("power")


def test_bounds_hand() -> None:
    # table4: 1x1 stride-2 conv, C64 K128 on a 56x56 input: P = Q = 28.
    arch = load_arch("table4")
    layer = Layer.conv("ds", k=128, c=64, in_hw=(56, 56), stride=2)
    # it touches 28 x 28 x 64 inputs (a quarter of 56 x 56 x 64)
    assert layer.full_volume("I") == 28 * 28 * 64
    # compute: 128*64*784 MACs x 8 cycles / (8 x 128 x 32) = 784 x ... exact
    assert compute_bound(layer, arch) == Fraction(128 * 64 * 784 * 8, 8 * 128 * 32)
    bits = (128 * 64 + 28 * 28 * 64 + 28 * 28 * 128) * 8
    assert dram_bound(layer, arch) == Fraction(bits, 64)
    assert physical_bound(layer, arch) == 19840


# --------------------------------------------------------------- property test
def random_valid_mapping(layer: Layer, arch, rng: random.Random) -> Mapping | None:  # type: ignore[no-untyped-def]
    """A random mapping: random spatial candidate, order, levels, bypass, db."""
    cands = [*spatial_candidates(layer, arch, 4), {ax.name: () for ax in arch.spatial}]
    spatial = rng.choice(cands)
    loops = temporal_loops(layer, spatial)
    rng.shuffle(loops)
    n = len(loops)
    for _ in range(30):
        level_of, bypass = {}, {}
        for op in OPERANDS:
            levels = arch.levels_for(op)
            skip = {
                lv
                for lv in levels[1:-1]
                if arch.level(lv).bypass and rng.random() < 0.3
            }
            used = [lv for lv in levels if lv not in skip]
            cuts = sorted(rng.randrange(len(used)) for _ in range(n))
            level_of[op] = tuple(used[k] for k in cuts)
            bypass[op] = frozenset(skip)
        db = frozenset(
            (lv.name, op)
            for lv in arch.levels
            for op in lv.operands
            if lv.double_buffer
            and lv.name not in bypass[op]
            and not (op == "W" and lv.name == arch.macro.level)
            and rng.random() < 0.3
        )
        m = Mapping(spatial, tuple(loops), level_of, bypass, db)
        if not validate(layer, arch, m):
            return m
    m, _ = allocate(layer, arch, spatial, tuple(loops), bypass, frozenset())
    return m if m is not None and not validate(layer, arch, m) else None


@settings(max_examples=40, deadline=None)
@given(
    k=st.sampled_from([1, 2, 4, 6, 8, 16]),
    c=st.sampled_from([1, 2, 3, 4, 8, 16]),
    p=st.integers(1, 8),
    q=st.integers(1, 4),
    r=st.sampled_from([1, 2, 3]),
    stride=st.sampled_from([1, 2, 3]),
    arch_name=st.sampled_from(["tiny", "small"]),
    seed=st.integers(0, 10**6),
)
def test_evaluator_never_below_physical_bound(
    k: int, c: int, p: int, q: int, r: int, stride: int, arch_name: str, seed: int
) -> None:
    arch = TINY if arch_name == "tiny" else SMALL
    layer = Layer(
        "rand",
        {"K": k, "C": c, "P": p, "Q": q, "R": r, "S": r},
        stride=(stride, stride),
    )
    m = random_valid_mapping(layer, arch, random.Random(seed))
    if m is None:
        return
    cost = evaluate(layer, arch, m)
    assert cost.latency >= physical_bound(layer, arch)
    assert cost.latency >= cost.compute_cycles
    assert cost.energy > 0
    assert cost.energy >= energy_bound(layer, arch) * (1 - 1e-12)


@settings(max_examples=30, deadline=None)
@given(
    k=st.sampled_from([2, 4, 8]),
    c=st.sampled_from([2, 3, 4, 8]),
    p=st.integers(1, 6),
    r=st.sampled_from([1, 3]),
    seed=st.integers(0, 10**6),
)
def test_validator_and_evaluator_agree_on_occupancy(
    k: int, c: int, p: int, r: int, seed: int
) -> None:
    # The validator's tile arithmetic is independent code: on any mapping it
    # must find the same bits per level as the evaluator.
    from miredo.solver.validator import _occupancy

    layer = Layer("occ", {"K": k, "C": c, "P": p, "R": r})
    rng = random.Random(seed)
    spatial = rng.choice(spatial_candidates(layer, SMALL, 3))
    loops = temporal_loops(layer, spatial)
    rng.shuffle(loops)
    level_of = {}
    for op in OPERANDS:
        used = SMALL.levels_for(op)
        cuts = sorted(rng.randrange(len(used)) for _ in loops)
        level_of[op] = tuple(used[i] for i in cuts)
    db = frozenset({("LB", "I"), ("OReg", "O")} if rng.random() < 0.5 else ())
    m = Mapping(spatial, tuple(loops), level_of, {}, db)
    assert _occupancy(layer, SMALL, m) == evaluate(layer, SMALL, m).occupancy_bits


def test_halo_extents() -> None:
    # stride 2, 1x1 kernel: rows 0, 2, 4 -> 3 distinct of the 5 spanned
    lay = Layer("s2", {"P": 3, "R": 1}, stride=(2, 2))
    assert lay.in_rows(3, 1) == 3
    # stride 1, kernel 3: p + r - 1
    lay = Layer.conv("c", k=1, c=1, in_hw=(8, 8), r=3, s=3, padding=1)
    assert lay.dims["P"] == 8 and lay.in_rows(4, 3) == 6
    assert lay.in_rows(8, 3) == 8  # 10 touched, clamped to the 8 present rows
    # stride 2, kernel 3: {0,1,2} U {2,3,4} -> 5
    lay = Layer.conv("c", k=1, c=1, in_hw=(9, 9), r=3, s=3, stride=2)
    assert lay.in_rows(2, 3) == 5
    # stride 3, dilation 2, kernel 2: {0,2} U {3,5} -> 4 (no overlap)
    lay = Layer("d", {"P": 2, "R": 2}, stride=(3, 3), dilation=(2, 2))
    assert lay.in_rows(2, 2) == 4
    # stride 2, dilation 2, kernel 3: {0,2,4} U {2,4,6} -> 4
    lay = Layer("e", {"P": 2, "R": 3}, stride=(2, 2), dilation=(2, 2))
    assert lay.in_rows(2, 3) == 4


def test_layer_constructors_and_signature() -> None:
    conv = Layer.conv("a", k=64, c=3, in_hw=(224, 224), r=7, s=7, stride=2, padding=3)
    assert (conv.dims["P"], conv.dims["Q"]) == (112, 112)
    assert conv.macs == 64 * 3 * 112 * 112 * 49
    assert conv.reduction == frozenset("CRS")
    same = Layer.conv("b", k=64, c=3, in_hw=(224, 224), r=7, s=7, stride=2, padding=3)
    assert conv.signature() == same.signature()  # the name is not part of it
    fc = Layer.gemm("fc", m=1, k=512, n=1000)
    assert (fc.dims["C"], fc.dims["K"], fc.dims["P"]) == (512, 1000, 1)
    assert fc.full_volume("W") == 512 * 1000 and fc.full_volume("I") == 512
    bmm = Layer.gemm("bmm", m=4, k=8, n=4, batch=3, batched_weights=True)
    assert bmm.full_volume("W") == 3 * 8 * 4 and bmm.dims["G"] == 3
    with pytest.raises(ValueError, match="unknown dims"):
        Layer("x", {"Z": 2})


def test_mapping_json_round_trip_and_text() -> None:
    layer, m = _psum_layer_mapping(("LB", "LB", "LB"))
    again = Mapping.from_json(m.to_json())
    assert again == m and hash(again) == hash(m)
    assert {m: 1}[again] == 1
    text = str(m)
    assert "rows[C2]" in text and "O: LB C2 K2 N1 (bypass GB)" in text
    assert evaluate(layer, TINY, again) == evaluate(layer, TINY, m)
