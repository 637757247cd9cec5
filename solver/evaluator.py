"""The closed-form cost model: latency, energy and traffic of any mapping.

This module *is* the semantics of a mapping. The MIP (``solver/mip*.py``) encodes
exactly these rules, so that ``MIP objective == evaluate(MIP solution)``; the
heuristic baseline and the enumerator score with it. It follows paper §IV-C/D and
Table III; where the paper is silent the choices below are ours. Notation: operand
λ ∈ {I, W, O}; temporal loops i = 0 … n−1, outermost first, with factor f_i and
dim d_i; levels are compared by their position in ``arch.levels`` (smaller =
outer). "Relevant" means ``d ∈ layer.relevant[λ]``; only loops with f > 1 ever
count as relevant or as reduction loops.

Tiles (eqs. 6-7)
    *Used levels* of λ: its admissible levels (C^M) minus ``mapping.bypass[λ]``.
    Every temporal loop i is assigned, for each λ, to a used level
    ``lvl_λ(i) = mapping.level_of[λ][i]`` (non-decreasing inwards).
    Extent of dim d in λ's tile at used level m::

        ext(λ, m, d) = Π{ f_i : d_i = d, lvl_λ(i) ≥ m }            (m and inner)
                     × Π{ spatial factors of d on every ``array`` axis }
                     × Π{ spatial factors of d on the ``cores`` axis }  if m is shared

    Elements: W and O multiply the extents of their relevant dims; I multiplies
    its relevant dims other than P, Q, R, S and then the halo extents
    ``rows(ext P, ext R) × cols(ext Q, ext S)`` (:meth:`Layer.in_rows`).

Precision (bits per element) of λ at level m
    I: ``precision.input``; W: ``precision.weight``. O: ``precision.psum`` at O's
    innermost level; at any other level m, ``psum`` iff some loop with a reduction
    dim (``layer.reduction``, f > 1) has ``lvl_O(i) ≤ m`` (at m **or outer**),
    else ``precision.output``. (The brief said "strictly outer"; that under-sizes
    a level whose own reduction loop sits outside one of its O-relevant loops:
    the level then holds partial sums that are read back. "At m or outer" is
    exact or conservative, and loses nothing: trailing reduction loops of a level
    can always be moved one used level inwards for O without changing any tile or
    transfer.)

Capacity (eq. 9; checked by the validator, reported here as ``occupancy_bits``)
    Per level instance: Σ over operands using m of elems × bits × (2 if (m, λ) is
    double-buffered) ≤ ``capacity_bits``.

Transfers (edges, eq. 11)
    For consecutive used levels of λ, parent p → child c. *Above c* = the loops
    with ``lvl_λ(i) < c`` (a prefix). j = the innermost λ-relevant loop above c.

    * No such loop: the edge moves once: a *boot* load for I/W, a *tail*
      write-back for O. Count T = D = 1.
    * Else it is *triggered at slot j*: T = Π_{i ≤ j} f_i transfers, of which
      D = Π_{i ≤ j, d_i relevant to λ} f_i are distinct tiles.

    Volumes per transfer. Child side: c's tile (elements × c's precision) for each
    of the ``inst_c`` instances of c (``inst`` = number of active cores = product of
    the cores-axis factors for a per-core level, 1 for a shared one). Parent side
    (= on the port): if p is shared and c is per-core, the *union* over cores,
    i.e. c's tile computed with the cores-axis factors included (a multicast for
    irrelevant dims); otherwise c's per-instance tile. Parent-side bits use p's
    precision (for O this is where partial sums are rounded to the output width).
    The port of an edge is its parent p; per-core instances run in parallel.
    ``τ = max(ceil(parent_bits / min(bw_p, bw_c)), ceil(child_elems × bits_c /
    bw_c))``: the link carries the parent's width, and each child instance's
    port streams its own tile at its own width, the instances in parallel (for
    O, 32-bit partial sums read out of the child are rounded to an 8-bit output
    on the way to the parent, and per-core tiles are gathered into the shared
    parent by one transfer; the second term only ever matters when the child's
    width is the larger).

    O: every transfer writes c's tile back to p; when T > D, T − D transfers also
    read the partial sums back from p (the first visit of each tile starts from
    zero) at the same volume, so ``τ_read = τ``. A trigger iteration reads
    back iff some reduction loop at or above the trigger slot is past its first
    iteration: the recursion charges ``τ_O = τ + (τ if T > D else 0)`` in the
    steady state and τ alone on first visits (``W⁰`` below); traffic, energy
    and port busy time count exactly T writes and T − D reads.

Buffering
    A transfer into c of λ is double-buffered iff ``(c, λ) ∈ mapping.double_buffer``
    (for O: write-back from c overlaps the next iteration). Legality (the level
    allows it; never W into the macro when ``weight_write_blocks_compute``) is the
    validator's job.

Latency (Table III, collapsed and pipelined)
    ``W_n = t_mvm``; for i = n−1 … 0, with S_i = max over ports of the Σ of the
    single-buffered charges triggered at slot i on that port, and over operands
    of the Σ of that operand's single-buffered charges at slot i (its hops run
    one after the other: DRAM → LB, then LB → macro), D_i the max over ports for
    the double-buffered ones, ``body_i = W_{i+1} + S_i`` and::

        W_i = f_i · it_i,   it_i = max(body_i, D_i, Q_i)
        Lat_0 = W⁰_0 + Σ_i min(body_i, D_i)

    where Q_i = max over ports p of the port's work in one iteration of slot
    i: its own charges at slot i, single- and double-buffered (a
    double-buffered prefetch cannot hide behind a single-buffered load of the
    same port), plus, for each edge on p triggered at a slot k > i,
    Π_{i<l≤k} f_l times its charge; Q_i = 0 for the outermost loop (no loop
    with f > 1 outside it), which runs once: there the whole-nest busy time
    B_p + I_p below is the bound, and Q_i would also count a prefetch after its
    last iteration, which never happens. A port carries every transfer of an
    iteration, those of the loops inside included, so this is the bandwidth
    bound loop by loop: the port time a phase leaves idle cannot serve another
    phase. (The first visit of a reduction loop reads no partial sums back;
    before Q, the whole-nest busy time below let its idle port time pay for
    the read-backs of the later visits, and a layer whose O read-back and
    write-back saturate the local buffer's port in every later visit was
    predicted 7 % fast: conv1 in ResNet-18, 166,108 cycles against 178,546
    simulated.) W⁰_i is loop i run while every reduction loop outside it is in
    its first iteration, so no partial sum is read back yet: it⁰_i is it_i with
    O charged τ, W⁰_{i+1} inside (``W⁰_n = t_mvm``) and Q⁰_i (own charges of the
    first visit, plus inner_p(i) below: the read-backs inside are those of the
    reduction loops inside), and ``W⁰_i = it⁰_i + (f_i − 1)·it_i`` for a
    reduction loop (only its first iteration stays first), ``f_i·it⁰_i``
    otherwise.

    Single-buffered transfers are serial with the body; a double-buffered one
    overlaps it, and the prefetch of the next tile crosses loop boundaries (the
    next tile of slot i is fetched during the last iteration of the current
    execution of loop i, as the lowering's per-edge queues do), so every
    iteration costs ``max(body_i, D_i)`` and the pipeline is filled once: the
    very first tile is exposed (D_i) and the very last iteration only computes
    (body_i), i.e. ``D_i + body_i − max(body_i, D_i) = min(body_i, D_i)`` once
    per slot. (One level: ``D + (f − 1)·max(body, D) + body``.) Port busy time
    ``B_p = Σ_{triggered edges on p} (T·τ + (T − D)·τ_read)``; ``boot`` = Σ τ of the
    untriggered loads, ``tail`` = Σ τ of the untriggered write-backs::

        latency = boot + max(Lat_0, max_p (B_p + I_p)) + tail

    The port-busy term keeps the model from going below the bandwidth bound
    (transfers of different operands on one port cannot all overlap). I_p is
    the time port p must idle however well it is used::

        I_p = max(0, max over edges e on p of (X_e − inner_p(j_e)))

    with X_e = body_j for a load triggered at slot j (after the port's last
    load of e the last iteration of loop j still runs) and X_e = W_{j+1} for an
    O write-back (the first tile is computed before its first write-back);
    inner_p(j) is the port's own work inside one iteration of slot j, which can
    fill that time: each edge on p triggered at a slot k > j moves
    T = Π_{j<i≤k} f_i tiles there (and reads back T − D of them, for O).

Energy (pJ)
    Per edge, with T transfers: I/W: T × (parent_bits·read_p·inst_p +
    child_bits·write_c·inst_c). O: T × (child_bits·read_c·inst_c +
    parent_bits·write_p·inst_p) + (T − D) × (parent_bits·read_p·inst_p +
    child_bits·write_c·inst_c). Per MVM (n_mvm = Π_i f_i × active cores):
    ``mvm_energy_pj`` + I's per-MVM vector (I volume of the array-axis factors
    alone) × input bits × read of I's innermost level + O's per-MVM vector × psum
    bits × (read + write) of O's innermost level. Plus leakage
    ``leakage_pj_per_cycle × latency``. ``edp = latency × energy``.

Not modelled: cross-core reduction (a reduction dim on the cores axis is treated
like a multicast, as if the SIMD unit summed for free), SIMD post-ops, and
serialisation of the double-buffered hops of one operand that trigger at the
same slot on different ports (they pipeline across iterations).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from miredo.solver.hardware import Arch, Level
from miredo.solver.mapping import Mapping
from miredo.solver.workload import DIMS, OPERANDS, Layer

OBJECTIVES = ("latency", "energy", "edp")
"""Objective names accepted by :meth:`Cost.objective`."""


@dataclass(frozen=True)
class Transfer:
    """One edge (parent → child) of one operand."""

    operand: str
    """I, W or O."""
    parent: str
    """Source level (the port)."""
    child: str
    """Destination level."""
    slot: int | None
    """Trigger slot j, or ``None`` for a one-time boot load / tail write-back."""
    count: int
    """T: number of transfers."""
    distinct: int
    """D: number of distinct tiles."""
    parent_bits: int
    """Bits moved on the parent's port per transfer."""
    child_bits: int
    """Bits per child instance per transfer."""
    instances: int
    """Active child instances (cores) receiving their own tile."""
    tau: int
    """Cycles of one transfer."""
    charge: int
    """Cycles charged per trigger iteration in the recursion (2τ for O with reads)."""
    double_buffered: bool
    """Whether the child side is double-buffered."""
    psum_reads: int
    """T − D partial-sum read-backs (O only)."""
    energy_pj: float
    """Energy of all transfers of this edge."""


@dataclass(frozen=True)
class Cost:
    """Everything the evaluator computes for one mapping."""

    latency: int
    """Cycles."""
    energy: float
    """pJ."""
    edp: float
    """latency × energy (cycles·pJ)."""
    transfers: tuple[Transfer, ...]
    """All edges."""
    lat0: int
    """Lat_0 of the recursion."""
    boot: int
    """One-time loads before the nest."""
    tail: int
    """One-time write-backs after the nest."""
    compute_cycles: int
    """Π f_i × t_mvm: the latency if nothing ever stalled."""
    port_busy: dict[str, int]
    """Busy cycles per port (triggered edges only)."""
    port_idle: dict[str, int]
    """I_p: cycles each port with triggered edges must idle (module docstring)."""
    reads_bits: dict[str, int]
    """Bits read from each level (all instances)."""
    writes_bits: dict[str, int]
    """Bits written to each level (all instances)."""
    occupancy_bits: dict[str, int]
    """Bits needed per instance of each level (×2 where double-buffered)."""
    tile_bits: dict[tuple[str, str], int] = field(default_factory=dict)
    """(level, operand) -> bits of the operand's tile at that level (one copy)."""
    n_mvm: int = 0
    """Macro activations over all cores."""
    energy_breakdown: dict[str, float] = field(default_factory=dict)
    """pJ per level (transfer energy charged to both ends), ``mvm``, ``leakage``."""
    spatial_utilization: float = 0.0
    """Used fraction of cores × rows × cols."""
    utilization: float = 0.0
    """Ideal compute cycles (MACs·t_mvm / (cores·rows·cols)) / latency."""

    def objective(self, name: str) -> float:
        """``latency``, ``energy`` or ``edp``."""
        if name == "latency":
            return float(self.latency)
        if name == "energy":
            return self.energy
        if name == "edp":
            return self.edp
        raise ValueError(f"unknown objective '{name}'; expected one of {OBJECTIVES}")


def output_psum_at(layer: Layer, arch: Arch, mapping: Mapping, level: str) -> bool:
    """Whether O is held as partial sums at ``level`` (see the module docstring)."""
    if level == arch.innermost("O"):
        return True
    idx = arch.level_index
    m = idx[level]
    red = layer.reduction
    return any(
        lp.factor > 1 and lp.dim in red and idx[lv] <= m
        for lp, lv in zip(mapping.temporal, mapping.level_of["O"], strict=True)
    )


def psum_port_may_bind(arch: Arch, parent: Level, child: Level) -> bool:
    """Whether the second term of τ can exceed the first for an O write-back
    ``child -> parent``: partial sums streamed by the child's port at psum width
    are slower than the link at output width. (For I and W, and whenever this is
    false, τ is the link term alone; the MIP backends add the child-port term
    only where it may bind.)"""
    link = min(parent.bw_bits_per_cycle, child.bw_bits_per_cycle)
    return arch.precision.psum * link > arch.precision.output * child.bw_bits_per_cycle


def _iteration(
    single: dict[str, int],
    double: dict[str, int],
    chain: dict[str, int],
    inner: int,
    work: int,
) -> tuple[int, int, int]:
    """One iteration of a slot: ``(max(body, D, Q), body, D)`` with ``body =
    inner + S`` and Q the busiest port's ``work`` (see the module docstring)."""
    s = max(max(single.values(), default=0), max(chain.values(), default=0))
    dd = max(double.values(), default=0)
    body = inner + s
    return max(body, dd, work), body, dd


def used_levels(arch: Arch, mapping: Mapping, operand: str) -> list[str]:
    """Admissible levels of ``operand`` minus the bypassed ones, outermost first."""
    skip = mapping.bypass.get(operand, frozenset())
    return [lv for lv in arch.levels_for(operand) if lv not in skip]


def evaluate(layer: Layer, arch: Arch, mapping: Mapping) -> Cost:
    """Latency, energy, traffic and breakdown of ``mapping`` (assumed valid)."""
    loops = mapping.temporal
    n = len(loops)
    f = [lp.factor for lp in loops]
    idx = arch.level_index
    levels = arch.levels
    cores = arch.cores_axis.name
    arr = {d: 1 for d in DIMS}
    core = {d: 1 for d in DIMS}
    for ax, sp_loops in mapping.spatial.items():
        target = core if ax == cores else arr
        for lp in sp_loops:
            target[lp.dim] *= lp.factor
    active = math.prod(core.values())
    prec = arch.precision
    red = layer.reduction
    lvl_o = [idx[name] for name in mapping.level_of["O"]]
    red_pos = [i for i in range(n) if f[i] > 1 and loops[i].dim in red]
    inner_o = idx[arch.innermost("O")]

    def bits_at(op: str, m: int) -> int:
        if op == "I":
            return prec.input
        if op == "W":
            return prec.weight
        if m == inner_o:
            return prec.psum
        return prec.psum if any(lvl_o[i] <= m for i in red_pos) else prec.output

    reads: dict[str, int] = {lv.name: 0 for lv in levels}
    writes: dict[str, int] = {lv.name: 0 for lv in levels}
    e_level: dict[str, float] = {lv.name: 0.0 for lv in levels}
    occupancy: dict[str, int] = {lv.name: 0 for lv in levels}
    tile_bits: dict[tuple[str, str], int] = {}
    # charges per slot and port, [every visit, first visit (no psum read-back)]
    single: list[list[dict[str, int]]] = [[{} for _ in range(n)] for _ in range(2)]
    double: list[list[dict[str, int]]] = [[{} for _ in range(n)] for _ in range(2)]
    chain: list[list[dict[str, int]]] = [[{} for _ in range(n)] for _ in range(2)]
    busy: dict[str, int] = {}
    boot = tail = 0
    transfers: list[Transfer] = []

    for op in OPERANDS:
        rel = layer.relevant[op]
        used = used_levels(arch, mapping, op)
        lvl = [idx[name] for name in mapping.level_of[op]]

        def ext(m: int, with_cores: bool, lvl: list[int] = lvl) -> dict[str, int]:
            e = {d: arr[d] * (core[d] if with_cores else 1) for d in DIMS}
            for i in range(n):
                if lvl[i] >= m:
                    e[loops[i].dim] *= f[i]
            return e

        for name in used:
            m = idx[name]
            lv = levels[m]
            tb = layer.volume(op, ext(m, not lv.per_core)) * bits_at(op, m)
            tile_bits[(name, op)] = tb
            occupancy[name] += tb * (2 if (name, op) in mapping.double_buffer else 1)

        for k in range(1, len(used)):
            p, c = idx[used[k - 1]], idx[used[k]]
            lp_, lc = levels[p], levels[c]
            above = [i for i in range(n) if lvl[i] < c]
            trig = [i for i in above if f[i] > 1 and loops[i].dim in rel]
            j = max(trig) if trig else None
            if j is None:
                count = distinct = 1
            else:
                count = math.prod(f[: j + 1])
                distinct = math.prod(f[i] for i in range(j + 1) if loops[i].dim in rel)
            child_ext = ext(c, not lc.per_core)
            child_elems = layer.volume(op, child_ext)
            if not lp_.per_core and lc.per_core:
                parent_elems = layer.volume(op, ext(c, True))
            else:
                parent_elems = child_elems
            inst_c = active if lc.per_core else 1
            inst_p = active if lp_.per_core else 1
            pbits = parent_elems * bits_at(op, p)
            cbits = child_elems * bits_at(op, c)
            bw = min(lp_.bw_bits_per_cycle, lc.bw_bits_per_cycle)
            tau = max(
                -(-pbits // bw),
                -(-child_elems * bits_at(op, c) // lc.bw_bits_per_cycle),
            )
            reads_back = count - distinct if op == "O" else 0
            charge = tau * (2 if reads_back > 0 else 1)
            dbuf = (lc.name, op) in mapping.double_buffer
            # energy and traffic
            if op == "O":
                down_r, down_w = pbits * inst_p, cbits * inst_c  # psum read-back
                up_r, up_w = cbits * inst_c, pbits * inst_p  # write-back
                reads[lc.name] += count * up_r
                writes[lp_.name] += count * up_w
                reads[lp_.name] += reads_back * down_r
                writes[lc.name] += reads_back * down_w
                e_c = (
                    count * up_r * lc.read_pj_per_bit
                    + reads_back * down_w * lc.write_pj_per_bit
                )
                e_p = (
                    count * up_w * lp_.write_pj_per_bit
                    + reads_back * down_r * lp_.read_pj_per_bit
                )
            else:
                r_p, w_c = pbits * inst_p, cbits * inst_c
                reads[lp_.name] += count * r_p
                writes[lc.name] += count * w_c
                e_p = count * r_p * lp_.read_pj_per_bit
                e_c = count * w_c * lc.write_pj_per_bit
            e_level[lp_.name] += e_p
            e_level[lc.name] += e_c
            # latency
            if j is None:
                if op == "O":
                    tail += tau
                else:
                    boot += tau
            else:
                for k, ch in enumerate((charge, tau if op == "O" else charge)):
                    table = (double if dbuf else single)[k][j]
                    table[lp_.name] = table.get(lp_.name, 0) + ch
                    if not dbuf:
                        chain[k][j][op] = chain[k][j].get(op, 0) + ch
                busy[lp_.name] = busy.get(lp_.name, 0) + (count + reads_back) * tau
            transfers.append(
                Transfer(
                    operand=op,
                    parent=lp_.name,
                    child=lc.name,
                    slot=j,
                    count=count,
                    distinct=distinct,
                    parent_bits=pbits,
                    child_bits=cbits,
                    instances=inst_c,
                    tau=tau,
                    charge=charge,
                    double_buffered=dbuf,
                    psum_reads=reads_back,
                    energy_pj=e_p + e_c,
                )
            )

    on_port: dict[str, list[Transfer]] = {}  # triggered edges per port
    for e in transfers:
        if e.slot is not None:
            on_port.setdefault(e.parent, []).append(e)

    def inner(edges: list[Transfer], j: int) -> int:
        """Port work of one iteration of slot j: the edges triggered inside it,
        T = Π_{j<i≤slot} f_i transfers each, T − D of them O read-backs."""
        work = 0
        for e in edges:
            if e.slot > j:
                t = math.prod(f[j + 1 : e.slot + 1])
                d = math.prod(
                    f[i] for i in range(j + 1, e.slot + 1) if loops[i].dim not in red
                )
                work += e.tau * (t + (t - d if e.operand == "O" else 0))
        return work

    # Q_i, Q⁰_i: the busiest port's work in one iteration of slot i, every
    # visit and first visit, below the outermost loop
    work = [[0] * n for _ in range(2)]
    for q, edges in on_port.items():
        nested = 0  # the port's work in one (every-visit) iteration of slot i
        for i in range(n - 1, -1, -1):
            own = [single[k][i].get(q, 0) + double[k][i].get(q, 0) for k in range(2)]
            if math.prod(f[:i]) > 1:
                work[0][i] = max(work[0][i], own[0] + nested)
                work[1][i] = max(work[1][i], own[1] + inner(edges, i))
            nested = f[i] * (own[0] + nested)

    # latency recursion; w[i] = W_i, w0[i] = W⁰_i, w[n] = w0[n] = t_mvm
    t_mvm = arch.t_mvm
    w = [0] * n + [t_mvm]
    w0 = [0] * n + [t_mvm]
    fill = 0
    body = [0] * n
    for i in range(n - 1, -1, -1):
        it, body[i], dd = _iteration(
            single[0][i], double[0][i], chain[0][i], w[i + 1], work[0][i]
        )
        it0, _, _ = _iteration(
            single[1][i], double[1][i], chain[1][i], w0[i + 1], work[1][i]
        )
        w[i] = f[i] * it
        w0[i] = it0 + (f[i] - 1) * it if i in red_pos else f[i] * it0
        fill += min(body[i], dd)
    lat0 = w0[0] + fill

    idle = {
        port: max(
            0,
            *(
                (w[e.slot + 1] if e.operand == "O" else body[e.slot])
                - inner(edges, e.slot)
                for e in edges
            ),
        )
        for port, edges in on_port.items()
    }
    latency = boot + max([lat0, *(b + idle[p] for p, b in busy.items())]) + tail

    # compute energy
    prod_f = math.prod(f)
    n_mvm = prod_f * active
    i_vec = layer.volume("I", arr) * prec.input
    o_vec = layer.volume("O", arr) * prec.psum
    ireg, oreg = arch.level(arch.innermost("I")), arch.level(arch.innermost("O"))
    reads[ireg.name] += n_mvm * i_vec
    reads[oreg.name] += n_mvm * o_vec
    writes[oreg.name] += n_mvm * o_vec
    e_level[ireg.name] += n_mvm * i_vec * ireg.read_pj_per_bit
    e_level[oreg.name] += n_mvm * o_vec * (oreg.read_pj_per_bit + oreg.write_pj_per_bit)
    e_mvm = n_mvm * arch.macro.mvm_energy_pj
    e_leak = arch.leakage_pj_per_cycle * latency
    energy = sum(e_level.values()) + e_mvm + e_leak
    breakdown = dict(e_level)
    breakdown["mvm"] = e_mvm
    breakdown["leakage"] = e_leak

    sizes = math.prod(ax.size for ax in arch.spatial)
    used_pe = math.prod(arr.values()) * active
    ideal = layer.macs * t_mvm / (arch.n_cores * arch.macro.rows * arch.macro.cols)
    return Cost(
        latency=latency,
        energy=energy,
        edp=latency * energy,
        transfers=tuple(transfers),
        lat0=lat0,
        boot=boot,
        tail=tail,
        compute_cycles=prod_f * t_mvm,
        port_busy=busy,
        port_idle=idle,
        reads_bits=reads,
        writes_bits=writes,
        occupancy_bits=occupancy,
        tile_bits=tile_bits,
        n_mvm=n_mvm,
        energy_breakdown=breakdown,
        spatial_utilization=used_pe / sizes,
        utilization=ideal / latency if latency else 0.0,
    )
