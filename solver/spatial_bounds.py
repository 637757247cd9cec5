"""Lower bounds per spatial unrolling: the bound a solver's relaxation misses.

The LP and propagation bounds of both MIP backends stay near the physical bound
on 3×3 convolutions, because which loop is innermost and which registers can be
double-buffered stay fractional. Both are settled, per spatial unrolling *s*, by
arithmetic alone, so this module enumerates every *s* of the model's factor space
(each factor F_{d,f} on an axis that allows d, or temporal; the axis sizes
respected) and bounds every mapping with that *s* from below (in the evaluator's
semantics, ``solver/evaluator.py``):

* **innermost slot.** With ``n_iter`` = Π of the temporal factors, the
  recursion gives ``Lat_0 ≥ n_iter · max(t_mvm + S_{n−1}, D_{n−1})`` and the
  port of the register edges is busy ``n_iter × Σ τ`` (``W_i ≥ f_i · W_{i+1}``).
  The innermost loop has some dim d. Every operand λ relevant to d whose
  register cannot hold the tile grown by d's smallest temporal factor (its
  capacity) reloads its register on every iteration: one transfer of at least
  its per-MVM vector. It is charged as single-buffered when the register cannot
  hold two vectors (or the level forbids double buffering); as double-buffered
  otherwise, which never costs more. The bound takes the cheapest d.
* **physical.** The DRAM-compulsory bound of :mod:`miredo.solver.bounds`.
* **off-chip** (:func:`offchip_search`, when refined). The off-chip port
  moves every operand's tiles, and after the innermost of its triggered loads
  it idles for at least that loop's body, which nothing of its own fills.
  The pipeline's fill adds to the registers' serial charges
  (:func:`suffix_serial`): the first off-chip tile in, the last one out.
  The registers' edges are placed along the same loop order as the off-chip
  ones, so an off-chip placement pays the register reloads its order causes.
  For energy and EDP the same search also charges the energy, at DRAM and
  at the receiving level, of the tiles it refetches to keep that fill small,
  and of output tiles a buffer holds at psum width (:func:`offchip_search`).
* **energy.** ``n_mvm(s)`` = ``n_iter`` × active cores MVMs, each with the
  macro activation and the register accesses of the evaluator's compute energy
  (exact for *s*); every weight, touched input and output crosses DRAM once;
  every level an operand cannot bypass is filled (O: drained) with the whole
  operand at least once, per core for a per-core level (the core's slice under
  *s*), and its certain parent reads (O: writes) that data once
  (:func:`compulsory_energy`); leakage over the latency bound.

The layer's bound is the minimum over *s*. It is valid for every mapping of the
model's space (tested against exhaustive enumeration).
"""

from __future__ import annotations

import functools
import heapq
import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from miredo.solver.bounds import dram_bound, latency_limit
from miredo.solver.factor_space import model_factors
from miredo.solver.hardware import Arch, Level
from miredo.solver.workload import DIMS, OPERANDS, Layer


@dataclass(frozen=True)
class SpatialBound:
    """Lower bounds of every mapping with one spatial unrolling."""

    spatial: dict[str, dict[str, int]]
    """Axis -> dim -> unrolled factor product."""
    n_iter: int
    """Temporal iterations per core (Π temporal factors)."""
    latency: float
    energy: float
    temporal: dict[str, list[int]] = field(default_factory=dict)
    """Dim -> temporal factors."""
    dynamic_energy: float = 0.0
    """The energy bound without leakage."""
    edp_floor: float = 0.0
    """An EDP bound found jointly (:func:`refined`), above ``latency × energy``
    when the latency and the energy cannot both reach their own bounds."""

    @property
    def edp(self) -> float:
        return max(self.latency * self.energy, self.edp_floor)

    def objective(self, name: str) -> float:
        return {"latency": self.latency, "energy": self.energy, "edp": self.edp}[name]


def spatial_unrollings(
    layer: Layer, arch: Arch, factors: dict[str, list[int]]
) -> Iterator[tuple[dict[str, dict[str, int]], dict[str, list[int]]]]:
    """Every distinct (axis -> dim -> product, dim -> temporal factors) split."""
    axes = list(arch.spatial)
    # per dim: the distinct ways to send its factors to axes or keep them temporal
    per_dim: dict[str, dict[tuple[int, ...], list[int]]] = {}
    for d in DIMS:
        states: dict[tuple[int, ...], list[int]] = {tuple(1 for _ in axes): []}
        for f in factors.get(d, []):
            nxt: dict[tuple[int, ...], list[int]] = {}
            for prods, temporal in states.items():
                nxt.setdefault(prods, sorted([*temporal, f]))
                for u, ax in enumerate(axes):
                    if d in ax.dims and prods[u] * f <= ax.size:
                        p = list(prods)
                        p[u] *= f
                        nxt.setdefault(tuple(p), temporal)
            states = nxt
        per_dim[d] = states
    # combine dims, keeping every axis within its size
    combos: list[tuple[tuple[int, ...], dict[str, tuple[int, ...]]]] = [
        (tuple(1 for _ in axes), {})
    ]
    for d in DIMS:
        out = []
        for used, chosen in combos:
            for prods in per_dim[d]:
                total = tuple(a * b for a, b in zip(used, prods, strict=True))
                if all(t <= ax.size for t, ax in zip(total, axes, strict=True)):
                    out.append((total, {**chosen, d: prods}))
        combos = out
    for _, chosen in combos:
        spatial = {
            ax.name: {d: chosen[d][u] for d in DIMS if chosen[d][u] > 1}
            for u, ax in enumerate(axes)
        }
        temporal = {d: per_dim[d][chosen[d]] for d in DIMS}
        yield spatial, temporal


def _parents(arch: Arch, op: str, child: Level) -> list[Level]:
    """Levels that may feed ``child`` for ``op``: outwards to the first non-bypassable."""
    names = list(arch.levels_for(op))
    above = [arch.level(name) for name in names[: names.index(child.name)]]
    out: list[Level] = []
    for lv in reversed(above):
        out.append(lv)
        if not lv.bypass:
            break
    return out


def _split(
    arch: Arch, spatial: dict[str, dict[str, int]]
) -> tuple[dict[str, int], dict[str, int]]:
    """Per-dim products of the array axes and of the cores axis."""
    arr = {d: 1 for d in DIMS}
    core = {d: 1 for d in DIMS}
    for ax, dims in spatial.items():
        for d, v in dims.items():
            (core if ax == arch.cores_axis.name else arr)[d] *= v
    return arr, core


@dataclass(frozen=True)
class _Register:
    """The innermost level of one operand, as both bounds see it."""

    op: str
    level: Level
    base: tuple[int, ...]
    """Extents (in ``DIMS`` order) of the per-MVM vector held there."""
    bits: int
    bw_link: int
    """The fastest link any admissible parent offers."""
    port: str
    """The parent's name if it is certain, else a key of its own."""


def _registers(
    layer: Layer, arch: Arch, arr: dict[str, int], core: dict[str, int]
) -> list[_Register]:
    prec = arch.precision
    out = []
    for op in OPERANDS:
        lv = arch.level(arch.innermost(op))
        if lv.bypass:
            continue
        parents = _parents(arch, op, lv)
        out.append(
            _Register(
                op,
                lv,
                tuple(arr[d] * (1 if lv.per_core else core[d]) for d in DIMS),
                {"I": prec.input, "W": prec.weight, "O": prec.psum}[op],
                max(min(p.bw_bits_per_cycle, lv.bw_bits_per_cycle) for p in parents),
                parents[0].name if len(parents) == 1 else f"?{op}",
            )
        )
    return out


def _volume(layer: Layer, r: _Register, ext: tuple[int, ...]) -> int:
    return layer.volume(r.op, dict(zip(DIMS, ext, strict=True)))


def _fits(layer: Layer, r: _Register, ext: tuple[int, ...]) -> bool:
    """Whether one copy of the register's tile with extents ``ext`` fits."""
    return _volume(layer, r, ext) * r.bits <= (r.level.capacity_bits or math.inf)


def _tau(arch: Arch, r: _Register, elems: int, reads: bool) -> int:
    """Cycles of one transfer of ``elems`` into the register (τ of the evaluator);
    O's parent holds partial sums iff they are read back."""
    prec = arch.precision
    p_bits = r.bits if r.op != "O" else (prec.psum if reads else prec.output)
    return max(
        -(-elems * p_bits // r.bw_link),
        -(-elems * r.bits // r.level.bw_bits_per_cycle),
    )


def _single_only(arch: Arch, r: _Register, elems: int) -> bool:
    """Whether the register cannot double-buffer a tile of ``elems`` elements."""
    blocked = r.op == "W" and arch.macro.weight_write_blocks_compute
    cap = r.level.capacity_bits or math.inf
    return not r.level.double_buffer or blocked or 2 * elems * r.bits > cap


def _reloaded(
    layer: Layer, regs: list[_Register], d: str, f: int
) -> Iterator[tuple[_Register, int]]:
    """The registers an innermost loop of dim ``d`` and factor ``f`` (or more)
    reloads on every iteration, with their per-MVM tile's element count: those
    relevant to ``d`` that cannot hold the tile grown by ``f``."""
    for r in regs:
        grown = tuple(
            b * (f if x == d else 1) for x, b in zip(DIMS, r.base, strict=True)
        )
        if d in layer.relevant[r.op] and not _fits(layer, r, grown):
            yield r, _volume(layer, r, r.base)


def bound_for(
    layer: Layer,
    arch: Arch,
    spatial: dict[str, dict[str, int]],
    temporal: dict[str, list[int]],
    compulsory: dict[tuple[int, ...], float] | None = None,
) -> SpatialBound:
    """Latency and energy bounds of every mapping with this spatial unrolling.

    ``compulsory`` memoizes :func:`compulsory_energy` per cores split across calls."""
    arr, core = _split(arch, spatial)
    split = tuple(core[d] for d in DIMS)
    if compulsory is None:
        compulsory = {}
    if split not in compulsory:
        compulsory[split] = compulsory_energy(layer, arch, core)
    n_iter = math.prod(f for fs in temporal.values() for f in fs)
    active = math.prod(core.values())
    prec = arch.precision
    red = math.prod(f for d in layer.reduction for f in temporal.get(d, []))
    regs = _registers(layer, arch, arr, core)
    one_port = len({r.port for r in regs}) == 1
    t_mvm = arch.t_mvm
    best = math.inf if n_iter > 1 else float(t_mvm)
    for d in DIMS:
        if not temporal.get(d):
            continue
        f_min = min(temporal[d])
        single: list[float] = []
        double: list[float] = []
        busy = 0.0
        for r, elems in _reloaded(layer, regs, d, f_min):
            reads = r.op == "O" and red > 1
            t = _tau(arch, r, elems, reads)
            charge = t * (2 - 1 / red) if reads else t  # T − D = T·(1 − 1/red)
            busy += charge
            (single if _single_only(arch, r, elems) else double).append(charge)
        if one_port:
            cost = max(t_mvm + sum(single), sum(double), busy)
        else:
            cost = max(t_mvm + max(single, default=0), max(double, default=0))
        best = min(best, cost)
    latency = max(float(dram_bound(layer, arch)), n_iter * best)

    dram = arch.levels[0]
    n_mvm = n_iter * active
    i_vec = layer.volume("I", arr) * prec.input
    o_vec = layer.volume("O", arr) * prec.psum
    ireg, oreg = arch.level(arch.innermost("I")), arch.level(arch.innermost("O"))
    energy = (
        (layer.full_volume("W") * prec.weight + layer.full_volume("I") * prec.input)
        * dram.read_pj_per_bit
        + layer.full_volume("O") * prec.output * dram.write_pj_per_bit
        + compulsory[split]
        + n_mvm
        * (
            arch.macro.mvm_energy_pj
            + i_vec * ireg.read_pj_per_bit
            + o_vec * (oreg.read_pj_per_bit + oreg.write_pj_per_bit)
        )
    )
    return SpatialBound(
        spatial,
        n_iter,
        latency,
        energy + arch.leakage_pj_per_cycle * latency,
        temporal,
        energy,
    )


def compulsory_energy(layer: Layer, arch: Arch, core: dict[str, int]) -> float:
    """Energy of the transfers every mapping with cores split ``core`` makes, DRAM's
    own accesses excluded.

    Every level ``c`` an operand cannot bypass (DRAM excepted) receives all of it
    (O: sends all of it up): the evaluator's tiles of one core cover the core's
    slice, and a tile's element count (halo arithmetic included) is at least its
    share of the slice's. So ``c`` writes (O: reads) at least ``vol_c`` elements,
    ``active`` × the slice's for a per-core level and the whole operand for a
    shared one. Its parent reads (O: writes) as much when the parent is certain
    and not DRAM; when a bypassable level may sit between, the cheapest parent
    counts, and nothing when DRAM is a candidate (its reads are counted once
    already). O is counted at its narrowest precision above the register.
    """
    return sum(
        _compulsory_into(layer, arch, op, arch.level(name), core)
        for op in OPERANDS
        for name in arch.levels_for(op)[1:]
        if not arch.level(name).bypass
    )


def _compulsory_into(
    layer: Layer, arch: Arch, op: str, c: Level, core: dict[str, int]
) -> float:
    """The share of :func:`compulsory_energy` of the edge into level ``c``."""
    parents = _parents(arch, op, c)
    parent = (
        0.0
        if arch.levels[0] in parents
        else min(_one_pass(layer, arch, op, p, core, False) for p in parents)
    )
    return _one_pass(layer, arch, op, c, core, True) + parent


def _one_pass(
    layer: Layer, arch: Arch, op: str, lv: Level, core: dict[str, int], into: bool
) -> float:
    """Energy of level ``lv`` receiving all of ``op`` once (O: sending it up;
    ``into`` false: the other end of the edge), on the cores split ``core``:
    ``active`` × the core's slice for a per-core level, the whole operand for a
    shared one; O at its narrowest precision above the register."""
    prec = arch.precision
    if op != "O":
        bits = prec.input if op == "I" else prec.weight
    else:
        bits = (
            prec.psum if lv.name == arch.innermost(op) else min(prec.psum, prec.output)
        )
    if lv.per_core:
        piece = {d: n // core.get(d, 1) for d, n in layer.dims.items()}
        elems = math.prod(core.values()) * layer.volume(op, piece)
    else:
        elems = layer.full_volume(op)
    pj = lv.read_pj_per_bit if (op == "O") == into else lv.write_pj_per_bit
    return elems * bits * pj


def _edge_pj(arch: Arch, r: _Register, reads: bool) -> tuple[float, float]:
    """pJ per element of one transfer into the register (O: out of it) and of one
    O read-back, in the evaluator's terms; the parent counts when it is certain,
    per core and not DRAM (its cheapest candidate)."""
    prec = arch.precision
    parents = _parents(arch, r.op, r.level)
    certain = arch.levels[0] not in parents and all(p.per_core for p in parents)

    def parent(read: bool) -> float:
        if not certain:
            return 0.0
        return min(p.read_pj_per_bit if read else p.write_pj_per_bit for p in parents)

    lv = r.level
    if r.op != "O":
        return r.bits * (lv.write_pj_per_bit + parent(True)), 0.0
    p_bits = prec.psum if reads else min(prec.psum, prec.output)
    up = r.bits * lv.read_pj_per_bit + p_bits * parent(False)
    down = r.bits * lv.write_pj_per_bit + prec.psum * parent(True)
    return up, down


def _register_edge(
    layer: Layer,
    arch: Arch,
    r: _Register,
    ext: tuple[int, ...],
    t: int,
    back: int,
    active: int,
) -> tuple[int, int, float]:
    """``(serial, busy, moved)`` of ``t`` transfers of the tile ``ext`` into the
    register, ``back`` of them O read-backs: its single-buffered charge, its
    port's busy cycles and the energy it moves on ``active`` cores."""
    elems = _volume(layer, r, ext)
    reads = back > 0
    tau = _tau(arch, r, elems, reads)
    busy = (t + back) * tau
    serial = busy if _single_only(arch, r, elems) else 0
    up, down = _edge_pj(arch, r, reads)
    return serial, busy, active * elems * (t * up + back * down)


def suffix_latency(
    layer: Layer, arch: Arch, bound: SpatialBound, limit: float = math.inf
) -> float:
    """A latency bound of every mapping with ``bound.spatial`` (:func:`suffix_search`)."""
    return suffix_search(layer, arch, bound, lambda lat, moved, serial: lat, limit)


def suffix_serial(
    layer: Layer, arch: Arch, bound: SpatialBound, limit: float = math.inf
) -> float:
    """A bound of ``W⁰_0`` (the nest's recursion, fill and port busy time aside)
    of every mapping with ``bound.spatial``: ``n_iter·t_mvm`` plus the
    registers' single-buffered charges (:func:`suffix_search`)."""
    return suffix_search(layer, arch, bound, lambda lat, moved, serial: serial, limit)


def suffix_energy(
    layer: Layer, arch: Arch, bound: SpatialBound, limit: float = math.inf
) -> float:
    """Register transfer energy every mapping with ``bound.spatial`` spends beyond
    :func:`compulsory_energy` (:func:`suffix_search`)."""
    return suffix_search(layer, arch, bound, lambda lat, moved, serial: moved, limit)


def suffix_search(
    layer: Layer,
    arch: Arch,
    bound: SpatialBound,
    score: Callable[[float, float, float], float],
    limit: float = math.inf,
) -> float:
    """Min of ``score(latency, moved, serial)`` over the innermost loops' placements.

    The recursion gives ``Lat_0 ≥ n_iter·t_mvm + Σ T_e·charge_e`` over the
    single-buffered edges of one port (``W_i ≥ f_i·(W_{i+1} + S_i)``), and the port
    is busy ``Σ T_e·τ_e`` over all its edges; ``latency`` is the larger,
    ``serial`` the first (a bound of ``W⁰_0``). For a register edge, ``T_e`` is
    ``n_iter`` over the product of the loops inside its transfer slot: loops
    irrelevant to the operand, or relevant ones the register absorbs (its tile,
    grown by them, must fit). The edge moves ``T_e`` tiles on each active core
    (O: and ``T_e − D_e`` read-backs, ``D_e`` being ``T_e`` over the O-irrelevant
    loops outside the slot), which ``moved`` counts beyond the edge's share of
    :func:`compulsory_energy`.
    A depth-first search over the innermost loops, from the inside out, decides
    where each register's edge triggers; loops relevant to no open register go
    inside at once (that only lowers both). ``score`` must not decrease in
    any argument. Branches at or above ``limit`` are cut; the result is then
    ``limit``.
    """
    temporal, n_iter = bound.temporal, bound.n_iter
    arr, core = _split(arch, bound.spatial)
    active = math.prod(core.values())
    regs = _registers(layer, arch, arr, core)
    comp = [_compulsory_into(layer, arch, r.op, r.level, core) for r in regs]
    items = sorted({(d, f) for d, fs in temporal.items() for f in fs})
    rel = [[d in layer.relevant[r.op] for d, _ in items] for r in regs]
    red = [d not in layer.relevant["O"] for d, _ in items]
    base = n_iter * arch.t_mvm
    best = [min(limit, math.inf)]
    ports = sorted({r.port for r in regs})

    def value(acc: dict[str, tuple[int, int]], moved: list[float]) -> float:
        serial = base + max(sr for sr, _ in acc.values())
        lat = max(serial, max(bz for _, bz in acc.values()))
        extra = sum(max(0.0, m - c) for m, c in zip(moved, comp, strict=True))
        return score(lat, extra, serial)

    def rec(
        counts: list[int], inside: int, states: list, acc: dict, moved: list[float]
    ) -> None:
        open_ = [k for k, st in enumerate(states) if st is not None]
        counts = list(counts)
        for j, (_, f) in enumerate(items):
            if counts[j] and not any(rel[k][j] for k in open_):
                inside *= f ** counts[j]
                counts[j] = 0
        v = value(acc, moved)
        if v >= best[0]:
            return
        if not any(counts):
            best[0] = v
            return
        for j, (d, f) in enumerate(items):
            if not counts[j]:
                continue
            left = list(counts)
            left[j] -= 1
            # O's D = T / Π (the O-irrelevant loops outside): T − D read-backs
            # (first visits read none)
            red_out = math.prod(
                f_i**c for (_, f_i), c, r_i in zip(items, left, red, strict=True) if r_i
            )
            movers = [k for k in open_ if rel[k][j]]
            options = []
            for k in movers:
                grown = list(states[k])
                grown[DIMS.index(d)] *= f
                opts = [("trigger", None)]
                if _fits(layer, regs[k], tuple(grown)):
                    opts.append(("absorb", tuple(grown)))
                options.append(opts)
            for choice in itertools.product(*options):
                new_states = list(states)
                new_acc = dict(acc)
                new_moved = list(moved)
                for k, (kind, grown) in zip(movers, choice, strict=True):
                    if kind == "absorb":
                        new_states[k] = grown
                        continue
                    r = regs[k]
                    t = n_iter // inside
                    sr, bz, mv = _register_edge(
                        layer,
                        arch,
                        r,
                        states[k],
                        t,
                        t - t // red_out if r.op == "O" else 0,
                        active,
                    )
                    old = new_acc[r.port]
                    new_acc[r.port] = (old[0] + sr, old[1] + bz)
                    new_moved[k] = mv
                    new_states[k] = None
                rec(left, inside * f, new_states, new_acc, new_moved)

    counts = [sum(1 for f in temporal[d] if f == v) for d, v in items]
    rec(
        counts,
        1,
        [r.base for r in regs],
        {p: (0, 0) for p in ports or ["-"]},
        [0.0] * len(regs),
    )
    return best[0]


OFFCHIP_NODES = 30000
"""Search nodes :func:`offchip_search` visits per spatial unrolling; past
them, each branch left counts at its own lower bound. At 3000, the search on
layer3 conv2's best unrolling (table4) stopped just short of its end and
returned its open branches' bound, 101,824 cycles; it ends at 102,784
(0.14 s either way). With the registers' edges searched on the same loop
order, conv1's layer bound (EDP) needs more: 1.6227e13 at 10000 nodes
(2.2 s), 1.7208e13 at 30000 (3.1 s) and at 100000; the other eleven ResNet-18
layers are the same at 10000 and 30000, in the same time."""


def _children(arch: Arch, op: str, parent: Level) -> list[Level]:
    """Levels that may receive ``op`` from ``parent``: inwards to the first
    non-bypassable."""
    names = list(arch.levels_for(op))
    out: list[Level] = []
    for name in names[names.index(parent.name) + 1 :]:
        out.append(arch.level(name))
        if not out[-1].bypass:
            break
    return out


def _iteration_floor(
    layer: Layer, arch: Arch, d: str, f: int, regs: list[_Register]
) -> int:
    """A lower bound on every iteration of an innermost loop of dim ``d`` and
    (at least) factor ``f``: ``it_{n−1} ≥ max(t_mvm + S_{n−1}, D_{n−1})`` over
    the registers that loop reloads (as in :func:`bound_for`), O charged one τ
    (no read-back)."""
    single: list[int] = []
    double: list[int] = []
    for r, elems in _reloaded(layer, regs, d, f):
        t = _tau(arch, r, elems, False)
        (single if _single_only(arch, r, elems) else double).append(t)
    if len({r.port for r in regs}) == 1:
        return max(arch.t_mvm + sum(single), sum(double))
    return max(arch.t_mvm + max(single, default=0), max(double, default=0))


def _register_charge_cap(layer: Layer, arch: Arch, regs: list[_Register]) -> float:
    """``R``: the most the registers' single-buffered charges at one slot can
    total, each register's tile at its capacity (O with its read-back)."""
    total = 0.0
    for r in regs:
        cap = r.level.capacity_bits
        if cap is None:
            return math.inf
        total += _tau(arch, r, cap // r.bits, True) * (2 if r.op == "O" else 1)
    return total


def _fill(taus: list[int], body: int, t: int, cap: float) -> float:
    """The least that off-chip edges triggered at one slot (τ each, ``t``
    times) add to ``Lat_0`` beyond the registers' serial charges, over which of
    them are double-buffered: those share one ``min(body_j, D_j)``
    (``D_j ≥`` their Σ τ, ``body_j ≥ body``); the single-buffered ones raise
    ``S_j`` to their Σ τ on every trigger, beyond the at most ``cap`` cycles
    of register charges ``serial`` counts there."""
    out = math.inf
    for single in itertools.product((False, True), repeat=len(taus)):
        apart = sum(tau for tau, s in zip(taus, single, strict=True) if s)
        shared = sum(taus) - apart
        out = min(out, min(body, shared) + t * max(0, apart - cap))
    return out


def offchip_search(
    layer: Layer,
    arch: Arch,
    bound: SpatialBound,
    limit: float = math.inf,
    enough: float = 0.0,
    middle: float = 0.0,
    nodes: int = OFFCHIP_NODES,
    serial: float = 0.0,
    score: Callable[[float, float], float] | None = None,
    counted: float = 0.0,
    registers: bool = True,
) -> float:
    """Min of ``score(latency, spent)`` over the off-chip edges' placements of
    every mapping with ``bound.spatial``: the latency that off-chip traffic and
    the compute the off-chip port cannot overlap give, and ``spent``, the
    energy of that traffic beyond one pass over each operand (refetched
    tiles, partial-sum write-backs and read-backs at psum width), at DRAM and
    at the cheapest level that may receive it. Without
    ``score``, the latency bound alone (no energy is tracked). ``score`` must
    not decrease in either argument; ``limit`` and ``enough`` are in its
    units.

    In the evaluator, ``latency ≥ boot + tail + B_p + I_p`` for the outermost
    level's port p. The one-time loads and write-backs and ``B_p`` move every
    operand's off-chip tiles: ``T_λ = n_iter / Π(loops inside its trigger)``
    tiles of the size the loops inside that it absorbs give (and ``T − D``
    partial-sum read-backs for O, at psum width). ``I_p`` is at least ``X_e``
    of the edge triggered innermost, at slot j*, which no off-chip work
    inside can fill: ``X_e ≥ W_{j*+1}``, the M iterations of the loops inside
    j*, each at least the innermost loop's (:func:`_iteration_floor`) and, in
    all, M MVMs plus the single-buffered register reloads among them
    (``t_mvm`` when M = 1). An edge triggered further out, with ``Π`` loops
    inside, idles the port ``X_e − inner_p(j_e) ≥ (Π / M)·W_{j*+1} − Π·rate``
    with ``rate`` the off-chip work per innermost iteration of the edges
    inside it. And ``max(Lat_0, B_p + I_p) ≥ max(n_iter · it_{n−1}, middle)``,
    a bound of that term known otherwise (:func:`suffix_latency`).

    The pipeline's fill counts too: ``Lat_0 = W⁰_0 + Σ_i min(body_i, D_i)``,
    ``W⁰_0 ≥ serial`` (the registers' single-buffered charges,
    :func:`suffix_serial`). An off-chip edge triggered at slot j adds
    ``min(body_j, τ)`` (``body_j ≥ W_{j+1}``) when double-buffered; when
    single-buffered, it adds at least ``T·(τ − R)`` to ``W⁰_0`` beyond ``serial``:
    ``S_j`` is at least the larger of its τ and the registers' charges at j,
    at most ``R`` (:func:`_register_charge_cap`). Edges triggered at one slot
    share one ``min(body_j, D_j)``.

    A depth-first search from the inside out decides where each operand's
    off-chip edge triggers (a tile grown by a loop must fit in one of the levels
    that may receive it), once per set of operands that never trigger, the
    cheapest-looking set first; the first trigger fixes M. With ``registers``,
    the same search decides where each register's edge triggers, as
    :func:`suffix_search` does but on this loop order: ``serial`` and
    ``middle`` rise to that order's register charges and port time, and the
    energy its register transfers move beyond ``counted`` (what the caller's
    ``score`` counts already) adds to ``spent``. The order's certainly
    single-buffered register reloads also stall the off-chip port: with
    ``S_k`` their τ at slot k, ``T_k`` its executions and ``P_k`` the port's
    work (writes) triggered inside it, ``Lat_0 ≥ P_k + T_k·S_k``, so
    ``W_{j+1} ≥ (P_k + T_k·S_k)/T_j`` for every slot j outside k; a load
    triggered at j idles the port at least ``S_j`` beyond the spare time
    ``W_{j+1} − inner_p(j)``, where ``W_{j+1}`` is also at least the loops
    inside j times the innermost loop's floor; and a register no loop left
    can reload loads its tile once, in the boot (O: the tail). Loops go
    inside at once only when relevant to no open edge of either kind. A state
    no better
    than one already searched (the same loops left, tiles and ``W_{j*+1}``; no
    less traffic and idle time, no more off-chip work per iteration, no less
    register charge and energy) is cut, and so are branches scoring at or
    above ``limit`` (the result is then ``limit``).
    The search stops at the first placement at or below ``enough`` (a bound
    known otherwise) and returns its value; past ``nodes`` states, every branch
    left counts at its own lower bound, so the result stays a bound.
    """
    top = arch.levels[0]
    temporal, n_iter = bound.temporal, bound.n_iter
    if top.bypass or any(op not in top.operands for op in OPERANDS):
        return 0.0
    arr, core = _split(arch, bound.spatial)
    regs = _registers(layer, arch, arr, core)
    t_mvm = arch.t_mvm
    prec = arch.precision
    bw = top.bw_bits_per_cycle
    active = math.prod(core.values())
    kids = {op: _children(arch, op, top) for op in OPERANDS}

    def tile(t_ext: tuple[int, ...], cores: bool) -> dict[str, int]:
        return {
            d: arr[d] * (core[d] if cores else 1) * e
            for d, e in zip(DIMS, t_ext, strict=True)
        }

    @functools.cache
    def fits(op: str, t_ext: tuple[int, ...]) -> bool:
        for c in kids[op]:
            if op == "O":
                inner = c.name == arch.innermost("O")
                bits = prec.psum if inner else min(prec.psum, prec.output)
            else:
                bits = prec.input if op == "I" else prec.weight
            elems = layer.volume(op, tile(t_ext, not c.per_core))
            if elems * bits <= (c.capacity_bits or math.inf):
                return True
        return False

    def bits_of(op: str, reads: bool) -> int:
        return {"I": prec.input, "W": prec.weight}.get(
            op, prec.psum if reads else prec.output
        )

    @functools.cache
    def tau(op: str, t_ext: tuple[int, ...], reads: bool) -> int:
        return -(-layer.volume(op, tile(t_ext, True)) * bits_of(op, reads) // bw)

    tracks_energy = score is not None

    @functools.cache
    def pj(op: str, t_ext: tuple[int, ...], t: int, back: int) -> float:
        """DRAM energy of ``t`` transfers, ``back`` of them O read-backs (0
        when only the latency is searched)."""
        if not tracks_energy:
            return 0.0
        bits = layer.volume(op, tile(t_ext, True)) * bits_of(op, back > 0)
        if op != "O":
            return t * bits * top.read_pj_per_bit
        return bits * (t * top.write_pj_per_bit + back * top.read_pj_per_bit)

    if score is None:
        score = lambda lat, spent: lat  # noqa: E731
    full = tuple(math.prod(temporal.get(d, [])) for d in DIMS)
    comp = {op: tau(op, full, False) for op in OPERANDS}
    one_pass = {op: pj(op, full, 1, 0) for op in OPERANDS}  # counted in ``bound``

    @functools.cache
    def landed(op: str, t_ext: tuple[int, ...], t: int, back: int, psum: bool) -> float:
        """Energy at the receiving end of ``t`` off-chip transfers (``back`` of
        them O read-backs) beyond the one pass :func:`compulsory_energy`
        counts there, at the cheapest child. O is held at psum width in a
        child when a reduction loop is outside its trigger (``back``) or, with
        ``psum``, outside its register's trigger in the child that feeds the
        register directly."""
        if not tracks_energy:
            return 0.0
        out = math.inf
        for c in kids[op]:
            elems = layer.volume(op, tile(t_ext, not c.per_core))
            elems *= active if c.per_core else 1
            if op == "O":
                wide = back or (psum and c.name == o_feed)
                wide = wide or c.name == arch.innermost("O")
                bits = prec.psum if wide else min(prec.psum, prec.output)
                e = elems * bits * (t * c.read_pj_per_bit + back * c.write_pj_per_bit)
            else:
                e = t * elems * bits_of(op, False) * c.write_pj_per_bit
            counted = 0.0 if c.bypass else _one_pass(layer, arch, op, c, core, True)
            out = min(out, max(0.0, e - counted))
        return out

    items = sorted({(d, f) for d, fs in temporal.items() for f in fs})
    floor = [_iteration_floor(layer, arch, d, f, regs) for d, f in items]
    best = [min(limit, math.inf)]
    seen: dict[tuple, list[tuple[int, int, int, int, float]]] = {}
    r_cap = _register_charge_cap(layer, arch, regs)
    visited, cut = [0], [math.inf]
    # the registers' edges along the same loop order (as in :func:`suffix_search`)
    tracked = regs if registers else []
    r_rel = [[d in layer.relevant[r.op] for d, _ in items] for r in tracked]
    r_ports = sorted({r.port for r in tracked})
    r_comp = [
        _compulsory_into(layer, arch, r.op, r.level, core) if tracks_energy else 0.0
        for r in tracked
    ]
    base = n_iter * t_mvm

    @functools.cache
    def r_serial(acc: tuple[tuple[int, int], ...]) -> int:
        """``n_iter·t_mvm`` plus the largest port's single-buffered charges."""
        return base + max((sr for sr, _ in acc), default=0)

    @functools.cache
    def r_lat(acc: tuple[tuple[int, int], ...]) -> int:
        """The registers' latency bound: serial charges or port time."""
        return max(r_serial(acc), max((bz for _, bz in acc), default=0))

    @functools.cache
    def r_spent(r_moved: tuple[float, ...]) -> float:
        """Register transfer energy beyond ``counted`` (in the score already)."""
        extra = sum(max(0.0, m - c) for m, c in zip(r_moved, r_comp, strict=True))
        return max(0.0, extra - counted)

    @functools.cache
    def r_grow(k: int, ext: tuple[int, ...], j: int) -> list[tuple[int, ...] | None]:
        """Register ``k``'s tiles after loop ``j``: grown, if it fits, or none."""
        grown = list(ext)
        grown[DIMS.index(items[j][0])] *= items[j][1]
        fits_ = _fits(layer, tracked[k], tuple(grown))
        return [tuple(grown), None] if fits_ else [None]

    @functools.cache
    def r_edge(k: int, ext: tuple[int, ...], t: int, back: int):
        """:func:`_register_edge`, and one transfer's τ if it is certainly
        single-buffered (else 0)."""
        r = tracked[k]
        elems = _volume(layer, r, ext)
        single = _tau(arch, r, elems, False) if _single_only(arch, r, elems) else 0
        return (*_register_edge(layer, arch, r, ext, t, back, active), single)

    o_k = next((k for k, r in enumerate(tracked) if r.op == "O"), None)
    # the level that feeds O's register directly
    o_feed = None if o_k is None else _parents(arch, "O", tracked[o_k].level)[0].name
    rel_items = {
        op: [j for j, (d, _) in enumerate(items) if d in layer.relevant[op]]
        for op in OPERANDS
    }
    item_ops = [
        frozenset(op for op in OPERANDS if d in layer.relevant[op]) for d, _ in items
    ]
    reduction = layer.reduction
    item_red = [d in reduction for d, _ in items]

    @functools.cache
    def outside(op: str, left: tuple[int, ...]) -> int:
        """Π of the loops ``left`` (counts per item) irrelevant to ``op``."""
        return math.prod(
            items[j][1] ** c for j, c in enumerate(left) if c and op not in item_ops[j]
        )

    @functools.cache
    def r_once(k: int, ext: tuple[int, ...]) -> int:
        """τ of register ``k``'s one load (O: write-back) of the tile ``ext``."""
        return _tau(arch, tracked[k], _volume(layer, tracked[k], ext), False)

    def o_closed(r_st: tuple) -> bool:
        """Whether O's register has triggered (a loop placed now is above it)."""
        return o_k is not None and r_st[o_k] is None

    def r_steps(
        j: int, inside: int, left: list[int], r_st: tuple, acc: tuple, r_moved: tuple
    ) -> Iterator[tuple[tuple, tuple, tuple, int]]:
        """The registers' choices at loop ``j`` (absorb it, or trigger there),
        each with a bound of ``S_j``: the largest port's certainly
        single-buffered τ among the registers triggered there."""
        movers = [k for k, st in enumerate(r_st) if st is not None and r_rel[k][j]]
        if not movers:
            yield r_st, acc, r_moved, 0
            return
        options = [r_grow(k, r_st[k], j) for k in movers]
        for choice in itertools.product(*options):
            st, ac, mv = list(r_st), list(acc), list(r_moved)
            here = [0] * len(r_ports)
            for k, grown in zip(movers, choice, strict=True):
                st[k] = grown
                if grown is not None:
                    continue
                r = tracked[k]
                t = n_iter // inside
                back = t - t // outside("O", tuple(left)) if r.op == "O" else 0
                sr, bz, e, single = r_edge(k, r_st[k], t, back)
                u = r_ports.index(r.port)
                ac[u] = (ac[u][0] + sr, ac[u][1] + bz)
                here[u] += single
                mv[k] = e
            yield tuple(st), tuple(ac), tuple(mv), max(here, default=0)

    @functools.cache
    def reloads(
        k: int, placed: tuple[int, ...], reduced: bool
    ) -> tuple[float, tuple[int, ...] | None]:
        """Register ``k`` under the loops ``placed`` (counts per item) inside
        the first trigger, in any order: the fewest single-buffered reload
        cycles among them if it triggers there (all its irrelevant loops and
        the relevant ones it absorbs inside; O with read-backs at psum width
        when a reduction loop is outside, ``reduced``), and the tile it holds
        if it can absorb them all instead (else ``None``; the cycles are
        infinite when it cannot trigger among them)."""
        r = regs[k]
        rel = [j for j, (d, _) in enumerate(items) if d in layer.relevant[r.op]]
        m = math.prod(f**c for (_, f), c in zip(items, placed, strict=True))
        irr = m // math.prod(items[j][1] ** placed[j] for j in rel)
        back = reduced and r.op == "O"
        cheapest, absorbed = math.inf, None
        for took in itertools.product(*(range(placed[j] + 1) for j in rel)):
            ext = list(r.base)
            for j, c in zip(rel, took, strict=True):
                ext[DIMS.index(items[j][0])] *= items[j][1] ** c
            if not _fits(layer, r, tuple(ext)):
                continue
            if all(c == placed[j] for j, c in zip(rel, took, strict=True)):
                absorbed = tuple(ext)
                continue
            elems = _volume(layer, r, tuple(ext))
            inside = irr * math.prod(
                items[j][1] ** c for j, c in zip(rel, took, strict=True)
            )
            cost = 0
            if _single_only(arch, r, elems):
                cost = m // inside * _tau(arch, r, elems, back) * (1 + back)
            cheapest = min(cheapest, cost)
        return cheapest, absorbed

    @functools.cache
    def body(
        placed: tuple[int, ...], m: int, it: int, reduced: bool, j: int, load: bool
    ) -> tuple[int, int]:
        """``(W_{j*+1}, X_e)`` from below, for the first trigger at item ``j``
        with the loops ``placed`` inside (M = ``m``, their product). ``W_{j*+1}``: M
        iterations, each at least the innermost loop's floor ``it``, or in all
        M MVMs plus, per port, the single-buffered register reloads among them
        (:func:`reloads`; none for a register that can absorb them all).
        ``X_e``: ``W_{j*+1}`` for an O write-back; for a load, ``body_{j*}``,
        which adds ``S_{j*}``: a register that absorbed every loop inside and
        cannot hold the trigger loop's factor reloads at j*."""
        d, f = items[j]
        inner: dict[str, int] = {}
        with_s: dict[str, int] = {}
        for k, r in enumerate(regs):
            cheapest, absorbed = reloads(k, placed, reduced)
            cost = here = (
                0 if absorbed is not None or cheapest == math.inf else cheapest
            )
            if absorbed is not None and load and d in layer.relevant[r.op]:
                elems = _volume(layer, r, absorbed)
                grown = tuple(
                    b * (f if x == d else 1)
                    for x, b in zip(DIMS, absorbed, strict=True)
                )
                if not _fits(layer, r, grown) and _single_only(arch, r, elems):
                    here = min(cheapest, _tau(arch, r, elems, False))
            inner[r.port] = inner.get(r.port, 0) + cost
            with_s[r.port] = with_s.get(r.port, 0) + here
        if m == 1:
            return t_mvm, t_mvm + max(with_s.values(), default=0)
        w = max(m * it, m * t_mvm + max(inner.values(), default=0))
        return w, max(w, m * t_mvm + max(with_s.values(), default=0))

    def stalled(
        nxt: tuple[int, int, int, int], spare: int | None, s_here: int
    ) -> tuple[int, int, int, int]:
        """``nxt`` with a load triggered here idling the port at least
        ``S_j`` beyond ``spare`` (``W_{j+1} − inner_p(j)`` from below; ``None``
        at the first trigger): ``X_e = W_{j+1} + S_j`` and ``W_{j+1} ≥
        inner_p(j)`` (the port's work inside one iteration of slot j:
        ``W_{j+1} ≥ f_{j+1}·Q_{j+1}``)."""
        if not s_here:
            return nxt
        m, w, rate, idle = nxt
        if spare is None:  # the first trigger: X_e ≥ W_{j*+1} + S_{j*}
            return (m, w, rate, max(idle, w + s_here))
        return (m, w, rate, max(idle, s_here + max(0, spare)))

    def rec(
        counts: list[int],
        inside: int,
        states: dict,
        trig: int,
        it: int | None,
        port: tuple[int, int, int, int] | None,
        fill: int,
        spent: float,
        r_st: tuple,
        r_acc: tuple,
        r_moved: tuple,
        psum: bool,
        plain: int,
        stall: int,
    ) -> None:
        """``it``: the floor of the innermost loop (the first placed); once an
        edge has triggered, ``port = (M, W_{j*+1}, rate, idle)``: ``n_iter`` ×
        the off-chip work per innermost iteration of the edges triggered so far
        (at most; O counted with its read-backs) and the most idle time any of
        them forces. A state with no less traffic and idle time and no more
        such work than one already searched with the same loops left, tiles and
        ``W_{j*+1}`` is cut."""
        open_ = [op for op in OPERANDS if states[op] is not None]
        counts = list(counts)
        for op in open_:  # an operand left to trigger needs a loop to do so
            if not any(counts[j] for j in rel_items[op]):
                return
        r_open = [k for k, st in enumerate(r_st) if st is not None]
        if port is not None:  # loops relevant to no open operand go inside
            open_set = frozenset(open_)
            for j, (_, f) in enumerate(items):
                if (
                    counts[j]
                    and not item_ops[j] & open_set
                    and not any(r_rel[k][j] for k in r_open)
                ):
                    inside *= f ** counts[j]
                    counts[j] = 0
                    psum = psum or (item_red[j] and o_closed(r_st))
        # max(Lat_0, B_p + I_p) ≥ always; open operands move at least their
        # whole operand
        always = max(
            middle, r_lat(r_acc), stall, n_iter * (min(floor) if it is None else it)
        )
        if port is None:
            idle = inside * it if inside > 1 and it is not None else t_mvm
        else:
            idle = port[3]
        pending = sum(comp[op] for op in open_)
        w0 = max(serial, r_serial(r_acc))
        # a register no loop left can trigger loads once, in the boot (O: tail)
        once = sum(
            r_once(k, r_st[k])
            for k in r_open
            if not any(c and r_rel[k][j] for j, c in enumerate(counts))
        )
        low = score(
            booted[0] + once + max(always, w0 + fill, trig + pending + idle),
            spent + r_spent(r_moved),
        )
        if low >= best[0] or best[0] <= enough:
            return
        visited[0] += 1
        if visited[0] > nodes:  # out of budget: this branch is worth ``low``
            cut[0] = min(cut[0], low)
            return
        if not any(counts):
            best[0] = min(best[0], low)
            return
        key = (
            tuple(counts),
            tuple(states[op] for op in OPERANDS),
            it,
            None if port is None else port[:2],
            r_st,
            psum,
        )
        rate = 0 if port is None else port[2]
        front = seen.setdefault(key, [])
        r_cost = (*(x for pair in r_acc for x in pair), *r_moved)
        if any(
            t <= trig
            and i <= idle
            and r >= rate
            and fl <= fill
            and e <= spent
            and all(a <= b for a, b in zip(rc, r_cost, strict=True))
            for t, i, r, fl, e, rc in front
        ):
            return
        front.append((trig, idle, rate, fill, spent, r_cost))
        for j, (d, f) in enumerate(items):
            if not counts[j]:
                continue
            left = list(counts)
            left[j] -= 1
            movers = [op for op in open_ if op in item_ops[j]]
            options = []
            for op in movers:
                grown = list(states[op])
                grown[DIMS.index(d)] *= f
                opts: list[tuple[int, ...] | None] = [None]
                if fits(op, tuple(grown)):
                    opts.insert(0, tuple(grown))
                options.append(opts)
            for choice in itertools.product(*options):
                new = dict(states)
                moved, rate, used = trig, 0, spent
                new_plain = 0
                taus: list[int] = []
                for op, grown in zip(movers, choice, strict=True):
                    new[op] = grown
                    if grown is not None:
                        continue
                    t = n_iter // inside
                    back = t - t // outside(op, tuple(left)) if op == "O" else 0
                    cost = tau(op, states[op], back > 0)
                    used += max(0.0, pj(op, states[op], t, back) - one_pass[op])
                    used += landed(op, states[op], t, back, psum)
                    taus.append(cost)
                    moved += (t + back) * cost
                    new_plain += t * cost
                    rate += cost * (2 if back else 1) * t  # × n_iter / inside
                load = any(
                    op != "O" and g is None
                    for op, g in zip(movers, choice, strict=True)
                )
                nxt, spare = port, None
                if rate and port is None:  # the first trigger: j* is here
                    reduced = any(
                        c and d_i not in layer.relevant["O"]
                        for (d_i, _), c in zip(items, counts, strict=True)
                    )
                    placed = tuple(a - b for a, b in zip(total, counts, strict=True))
                    w, x = body(placed, inside, it or t_mvm, reduced, j, load)
                    w = max(w, stall * inside // n_iter)
                    x = max(x, w)
                    nxt = (inside, w, rate, x)
                    step = x  # body_j ≥ X_e (W_{j+1} for a write-back)
                elif rate:  # X_e ≥ W_{j+1} ≥ (Π loops in between)·W_{j*+1}
                    m, x, r0, i0 = port
                    w_j = max(
                        inside // m * x,
                        stall * inside // n_iter,
                        inside * (it or t_mvm),
                    )
                    spare = w_j + (-inside * r0 // n_iter)  # X_e − inner_p(j)
                    nxt = (m, x, r0 + rate, max(i0, spare))
                    step = w_j
                added = 0
                if taus:  # each double-buffered at this slot, or single-buffered
                    added = _fill(taus, step, n_iter // inside, r_cap)
                first = floor[j] if it is None else it
                wide = psum or (item_red[j] and o_closed(r_st))
                for *r_next, s_here in r_steps(j, inside, left, r_st, r_acc, r_moved):
                    rec(
                        left,
                        inside * f,
                        new,
                        moved,
                        first,
                        stalled(nxt, spare, s_here) if load else nxt,
                        fill + added,
                        used,
                        *r_next,
                        wide,
                        plain + new_plain,
                        max(stall, plain + n_iter // inside * s_here),
                    )

    counts = [sum(1 for f in temporal[d] if f == v) for d, v in items]
    total = tuple(counts)
    if not items:
        return 0.0
    # which operands never trigger (one-time transfers, outside the max):
    # each choice searched apart, the cheapest-looking first
    splits = []
    for k in range(len(OPERANDS) + 1):
        for boot in itertools.combinations(OPERANDS, k):
            if all(fits(op, full) for op in boot):
                c_boot = sum(comp[op] for op in boot)
                rest = sum(comp.values()) - c_boot
                low = score(c_boot + max(middle, serial, rest + t_mvm), 0.0)
                splits.append((low, c_boot, boot))
    booted = [0]
    for low, c_boot, boot in sorted(splits):
        if low >= best[0] or best[0] <= enough:
            break
        booted[0] = c_boot
        seen.clear()
        start = {op: None if op in boot else tuple(1 for _ in DIMS) for op in OPERANDS}
        rec(
            counts,
            1,
            start,
            0,
            None,
            None,
            0,
            0.0,
            tuple(r.base for r in tracked),
            tuple((0, 0) for _ in r_ports),
            tuple(0.0 for _ in tracked),
            False,
            0,
            0,
        )
    return min(best[0], cut[0])


def refined(
    layer: Layer,
    arch: Arch,
    bound: SpatialBound,
    objective: str,
    best: float,
    offchip: bool = True,
) -> SpatialBound:
    """``bound`` with :func:`suffix_latency` and :func:`suffix_energy` (and
    :func:`offchip_search`, with ``offchip``), searched only below ``best``.

    With ``offchip``, an energy or EDP bound is also searched jointly
    (:func:`offchip_search`): off-chip tiles small enough to hide the
    pipeline's fill are refetched, at DRAM energy."""
    e0, leak = bound.dynamic_energy, arch.leakage_pj_per_cycle
    limit = latency_limit(objective, best, e0, leak)
    mid = suffix_latency(layer, arch, bound, limit)
    lat = max(bound.latency, mid)
    if offchip:
        serial = suffix_serial(layer, arch, bound, limit)
        lat = max(
            lat, offchip_search(layer, arch, bound, limit, lat, mid, serial=serial)
        )
    extra = 0.0
    if objective != "latency":
        # the most extra energy a mapping below ``best`` can spend at latency ``lat``
        room = (
            best - e0 - leak * lat
            if objective == "energy"
            else best / lat - e0 - leak * lat
        )
        extra = suffix_energy(layer, arch, bound, max(0.0, room) * (1 + 1e-9))
    e = e0 + extra
    out = replace(bound, latency=lat, energy=e + leak * lat, dynamic_energy=e)
    if offchip and objective != "latency":

        def score(latency: float, spent: float) -> float:
            lat_ = max(latency, lat)
            energy = e + spent + leak * lat_
            return energy if objective == "energy" else lat_ * energy

        floor = out.objective(objective)
        joint = offchip_search(
            layer,
            arch,
            bound,
            best,
            floor,
            mid,
            serial=serial,
            score=score,
            counted=extra,
        )
        if objective == "energy":
            out = replace(out, energy=max(floor, joint))
        else:
            out = replace(out, edp_floor=max(floor, joint))
    return out


def spatial_bounds(
    layer: Layer, arch: Arch, k_min: int = 2, alpha: float = 0.1
) -> list[SpatialBound]:
    """The bound of every spatial unrolling of the model's factor space."""
    factors: dict[str, list[int]] = {d: [] for d in DIMS}
    for f in model_factors(layer, None, k_min, alpha):
        factors[f.dim].append(f.value)
    compulsory: dict[tuple[int, ...], float] = {}
    return [
        bound_for(layer, arch, sp, tm, compulsory)
        for sp, tm in spatial_unrollings(layer, arch, factors)
    ]


def mirror_key(
    layer: Layer, b: SpatialBound
) -> tuple[tuple[str, tuple[tuple[str, int], ...]], ...]:
    """``b``'s unrolling, the same for its P<->Q, R<->S mirror on a square layer."""

    def key(swap: dict[str, str]):
        return tuple(
            (ax, tuple(sorted((swap.get(d, d), f) for d, f in dims.items())))
            for ax, dims in sorted(b.spatial.items())
        )

    dims = layer.dims
    square = (
        dims["P"] == dims["Q"]
        and dims["R"] == dims["S"]
        and layer.stride[0] == layer.stride[1]
        and layer.dilation[0] == layer.dilation[1]
        and layer.in_hw is not None
        and layer.in_hw[0] == layer.in_hw[1]
    )
    plain = key({})
    return (
        min(plain, key({"P": "Q", "Q": "P", "R": "S", "S": "R"})) if square else plain
    )


RAW, REGISTERS, REFINED = range(3)
"""An unrolling's state in :class:`UnrollingQueue`: its raw bound, refined by
the register searches, then by the off-chip search too."""


class UnrollingQueue:
    """Spatial unrollings by their bound so far, refined lazily.

    Entries are ``(bound, state, index)``. :meth:`lowest` refines the lowest
    one until the lowest is fully refined: by the register searches
    (:func:`refined` without the off-chip search), then by the off-chip search
    too. Callers may push entries of their own, with a state above
    :data:`REFINED`."""

    def __init__(
        self, layer: Layer, arch: Arch, objective: str, bounds: list[SpatialBound]
    ) -> None:
        self.layer, self.arch, self.objective = layer, arch, objective
        self.raw = bounds
        self.tight = list(bounds)
        """Each unrolling's bound, refined as far as it has been."""
        self.heap = [(b.objective(objective), RAW, i) for i, b in enumerate(bounds)]
        heapq.heapify(self.heap)
        self._refined = math.inf  # the lowest fully refined bound so far
        self._mirrored: dict[tuple, SpatialBound] = {}
        """Refined bounds by (:func:`mirror_key`, state): a square layer's
        P<->Q, R<->S mirror is refined once."""

    def lowest(self, cut: float = math.inf) -> tuple[float, int, int]:
        """The lowest entry once it is fully refined (or past) or at least
        ``cut`` (``(inf, REFINED, -1)`` when there is none). The searches are
        cut at ``cut``, or without one at the lowest fully refined bound so far
        (entries pushed by callers aside)."""
        while self.heap:
            low, state, i = self.heap[0]
            if state >= REFINED or low >= cut:
                return self.heap[0]
            heapq.heappop(self.heap)
            key = (mirror_key(self.layer, self.raw[i]), state)
            twin = self._mirrored.get(key)
            if twin is not None:  # the mirror's mappings cost the same
                raw = self.raw[i]
                self.tight[i] = replace(
                    twin, spatial=raw.spatial, temporal=raw.temporal
                )
            else:
                # refine the raw bound: refining a refined one counts its extra
                # twice
                self.tight[i] = self._mirrored[key] = refined(
                    self.layer,
                    self.arch,
                    self.raw[i],
                    self.objective,
                    cut if cut < math.inf else self._refined,
                    offchip=state == REGISTERS,
                )
            value = self.tight[i].objective(self.objective)
            if state == REGISTERS:
                self._refined = min(self._refined, value)
            heapq.heappush(self.heap, (value, state + 1, i))
        return (math.inf, REFINED, -1)

    @property
    def low(self) -> float:
        """The lowest bound so far, as refined as it is: a layer bound."""
        return self.heap[0][0] if self.heap else math.inf

    def pop(self) -> tuple[float, int, int]:
        """Remove and return the lowest entry."""
        return heapq.heappop(self.heap)

    def push(self, bound: float, state: int, index: int) -> None:
        """Put unrolling ``index`` back with ``bound`` in ``state``."""
        heapq.heappush(self.heap, (bound, state, index))


def layer_bound(
    layer: Layer,
    arch: Arch,
    objective: str,
    bounds: list[SpatialBound] | None = None,
) -> float:
    """min over spatial unrollings: a lower bound on ``objective`` of any mapping.

    Unrollings (``bounds``, default :func:`spatial_bounds`) are refined
    lazily, the one with the lowest bound so far first
    (:class:`UnrollingQueue`), until the lowest is fully refined."""
    if bounds is None:
        bounds = spatial_bounds(layer, arch)
    return UnrollingQueue(layer, arch, objective, bounds).lowest()[0]


def promising(
    layer: Layer,
    arch: Arch,
    objective: str,
    incumbent: float,
    bounds: list[SpatialBound] | None = None,
) -> tuple[float, list[SpatialBound]]:
    """The unrollings (of ``bounds``, default :func:`spatial_bounds`) whose
    (refined) bound does not exceed ``incumbent``, and a lower bound on
    ``objective`` over the whole space."""
    keep: list[SpatialBound] = []
    low = math.inf
    for b in spatial_bounds(layer, arch) if bounds is None else bounds:
        if b.objective(objective) <= incumbent:
            b = refined(
                layer, arch, b, objective, incumbent * (1 + 1e-9), offchip=False
            )
            if b.objective(objective) <= incumbent:
                keep.append(b)
        low = min(low, b.objective(objective))
    return low, keep
