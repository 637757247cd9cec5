"""A cycle-level timing simulator of ``cim`` programs.

`simulate_timing(program, arch)` schedules every dynamic instruction of a
``cim.program`` (the streams of `miredo.sim.cim_trace`) on the units, ports and
buffers of the hardware description ``arch`` and returns a `TimingReport`: the
latency in cycles, stall cycles by cause, traffic, energy, EDP and utilisations.
It is independent of the closed-form model (``solver/evaluator.py``), which it is
meant to validate: it only executes the instructions the lowering emitted, with
the rules below. Times are integer cycles; the program starts at cycle 0.

Units, ports and durations
==========================

Every instruction runs on one *unit* of its stream, for a fixed duration, and
holds a set of *resources* for that whole time. A unit executes its instructions
one at a time in program order (a decoupled engine with an in-order queue). The
units of a stream: one DMA engine per link (unordered pair of levels), the macro
write engine (``cim.load_weights``), the macro compute engine (``cim.mvm``), the
SIMD unit (per core; the shared one for each ``cim.global`` queue), and in a core a
send and a receive engine; each ``cim.global`` queue is a stream of its own. Resources are the ports (one per memory level instance: shared
levels have one instance, per-core levels one per core, each with the level's
``bw_bits_per_cycle``) and, when ``weight_write_blocks_compute``, the macro's
mode (one per core). With ``bw(l)`` a level's port width and ``width`` a
buffer's storage bits per element:

* ``cim.dma``: moves ``n_src`` elements (counted as `miredo.sim.traffic` does:
  per dim the positions the tile covers, the union of the ``shifts`` windows, at
  most the buffer's extent) in ``max(ceil(n_src x width(outer) / min(bw(src),
  bw(dst))), ceil(n_src x width(inner) / bw(inner)))`` cycles: the link carries
  the outer level's width and the inner level's port streams its own (32-bit
  partial sums read out of a core are rounded to 8-bit outputs on the way out,
  at the local buffer's port rate). It holds the port of the *outer* level of the
  two (the one closer to the off-chip level: the shared side of a shared <->
  per-core transfer, the outer per-core level of the core for per-core <->
  per-core). A multicast (``cores [...]``, with or without ``shifts``) is one
  transfer. So is a gather (a per-core source, ``cores [...]`` with ``shifts``):
  the listed cores' tiles are read in parallel, each core's port streaming its
  own ``n_src`` elements, and the shared side carries the union, ``k x n_src``
  elements for ``k`` cores, in the first term.
* ``cim.load_weights``: ``ceil(bits / min(bw(src), bw(macro)))`` cycles with
  ``bits`` the source tile's, holding the source level's port (and the mode).
* ``cim.mvm``: ``ceil(input_bits / bits_per_cycle)`` cycles (`MvmOp.cycles`) on
  the compute engine (holding the mode).
* SIMD: ``ceil(lane_ops / lanes)`` cycles. ``lane_ops`` (also the SIMD energy
  count): the output tile's elements for ``cim.simd`` (every function, ``fill``
  included) and ``cim.requant``; output elements x kernel size for ``cim.pool``
  (each output combines a window); the first input's elements for
  ``cim.reduce``, ``cim.softmax`` and ``cim.layernorm`` (one pass over the data:
  the extra passes of softmax and layer norm are not modelled).
* ``cim.send``: ``ceil(bits / bw(level of its tile))`` cycles on the core's send
  engine; the message arrives at its end. ``cim.recv`` starts no earlier than
  its message's arrival and takes ``ceil(bits / bw(level of its tile))`` cycles on
  the receive engine (draining the network buffer into its tile). Messages
  between two cores with one tag are matched in order.
* Every instruction takes at least one cycle.

The macro and ``weight_write_blocks_compute``: when true, a load and an MVM of
the same core never overlap (both hold the core's macro mode, memory vs compute);
when false, the write engine and the compute engine are independent and only the
data dependences order them, so a load into one buffer (or one half of a
``halves 2`` macro buffer) overlaps MVMs that read another. With a single macro
buffer both settings serialise load and MVMs (the load writes what the MVMs
read), except for the stall cause (below).

Issue and dependences
=====================

Each stream issues its instructions in program order, at most one per cycle: the
``k``-th is issued at ``max(issue(k-1) + 1, retire(k - window))``, where
instructions *retire* in order (``retire(k) = max(retire(k-1), end(k))``), so at
most ``window`` instructions (default 64) are in flight between the oldest not
yet retired one and the newest issued one. Issue does not wait for completion.
An instruction is *ready* at the latest of its issue cycle, the end of the
previous instruction on its unit and its data dependences; it *starts* at the
earliest cycle >= ready at which all its resources are free for its whole
duration, and reserves them (non-preemptive).

Data dependences are tracked per stream, per buffer instance (per core for a
per-core buffer; the ``cim.global`` stream addresses each core's instance
separately) and per half of a ping-pong buffer; the granularity is the whole
buffer (half), whatever the tiles. An instruction reads its source tiles (DMA
source, load source, MVM input and weights, and the output when ``acc``, SIMD
inputs, send tile) and writes its destination tiles. It starts after the end of
the last earlier writer of every buffer it reads (RAW) and of every buffer it
writes (WAW), and after the end of every reader, since that last write, of the
buffers it writes (WAR). Streams share no dependence tracking: they synchronise
only through barriers and messages, as in the functional simulator.

A ``cim.barrier`` takes an issue slot. The ``k``-th arrivals of its
participants (the streams containing that id) match, and the ``k``-th *phase*
of the barrier is released at the latest of them. Without buffers, a stream
*arrives* at it once every earlier instruction has completed (``max(issue,
retire)``) and its next instruction issues at the release cycle at the earliest.
A barrier that names the buffers it protects (``cim.barrier <id> on %b...``)
orders only the accesses to those buffers (every core instance of a per-core
buffer in a ``cim.global`` stream, the core's own in a core, both halves): the
stream arrives once its earlier instructions that access them have completed
(``max(issue, end of the last one)``) and does not stop there; each later
instruction that accesses one of them is ready no earlier than the release of
every such phase the stream has arrived at (a dependence like RAW). So a core
hands a finished output tile over and goes on prefetching and computing the
next one, and waits only where it next writes that buffer (a split arrive and
wait, as a hardware barrier with per-buffer scope or a semaphore per buffer
would do). This is sound only if the barrier names every buffer that two of its
participants access, one of them writing: the simulator checks that and raises
`MiredoError` otherwise. (The functional simulator runs every barrier as a full
one: a stricter order, with the same results.) Every participant must arrive
equally often.

Arbitration: instructions are scheduled one at a time; each takes the earliest
start its resources allow given the reservations of the instructions scheduled
before it (an idle gap is used when the whole instruction fits in it). Within a
stream they are scheduled in program order, so an older instruction has priority
over a younger one for a port or the mode. A resource used by several streams
(e.g. the off-chip port when every core loads its own tiles) is arbitrated first
come, first served: a stream's next instruction that uses one is scheduled only
once every other stream is blocked at one too (or at a barrier, a receive, or has
finished), the smallest ready cycle first (ties: ``cim.global``, then the cores in
order), so a stream never takes a shared port ahead of an earlier request of
another stream that it could not have seen yet. (Within a stream the priority is
program order, not ready time: a younger instruction that is ready first gets a
busy port's next free slot only if it fits before the older one's reservation.)
A transfer longer than ``burst`` cycles (default 8: a 64-byte burst on a 64-bit
bus) on such a shared port is arbitrated burst by burst: after each burst the
stream waits in the same queue of requests, so a long prefetch of one stream and
the short write-backs of another share the port's bandwidth instead of one
holding it for the whole transfer (as a DMA controller's channels do). The
instruction runs from its first burst's start to its last burst's end; the gaps
between bursts count as ``port`` stalls and not as busy time.
Queue priorities (``cim.global ... priority``, 0 for the cores; a queue's first
transfer has its ``boot`` priority) refine the order:
the requests for the port of the earliest request that are ready by the time that
port next frees up compete, and the highest priority among them goes first (then
the earliest, then stream order), as a DMA controller's channel priorities do.
So at every burst boundary a queue's per-iteration transfers take the port back
from a lower-priority long prefetch, which gets the cycles they leave.
This is a list scheduler, not a cycle-by-cycle one: it processes each
instruction (each burst) once, which keeps it fast (10^5 - 10^6 instructions per
second).

Stalls
======

For an instruction, ``stall = start - max(issue, end of the previous
instruction on its unit)``: the cycles its unit sat idle although the instruction
was issued. It is split into the part up to the ready cycle, charged to the
dependence that was satisfied last (``raw`` operand wait; ``war`` buffer reuse,
WAR or WAW; ``recv`` waiting for a message; ``barrier`` the release of a barrier
that protects one of its buffers; ties in this order), and the part
from ready to start, charged to ``port`` (a busy port) or ``mode_switch`` (the
macro in the other mode). With ``weight_write_blocks_compute``, an MVM's wait
for the load that wrote its weights is charged to ``mode_switch`` rather than
``raw``. ``barrier`` is also, per stream, release minus arrival at each barrier
without buffers.
Time a unit is idle because nothing was issued to it is not a stall.

Report
======

Traffic is counted with the rules of `miredo.sim.traffic` (the report's `Traffic`
equals ``count_traffic(program)``); an access is one tile operand of one
instruction in a level (a multicast to ``k`` cores writes ``k`` times). Energy
(pJ), per level: (bits read x ``read_pj_per_bit``) + (bits written x
``write_pj_per_bit``), counting all traffic directions (DMA, load, MVM, SIMD,
messages); ``mvm``: MVMs x ``mvm_energy_pj``; ``simd``: lane ops x
``energy_pj_per_op``; ``leakage``: ``leakage_pj_per_cycle`` x latency. EDP =
latency x total energy. Macro utilisation of a core: its MVM cycles / latency;
core utilisation: the cycles in which at least one unit of the core is busy /
latency.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from xdsl.ir import Operation

from miredo.dialects.cim import (
    BarrierOp,
    DmaOp,
    GlobalOp,
    Hierarchy,
    LayerNormOp,
    LoadWeightsOp,
    MvmOp,
    PoolOp,
    ProgramOp,
    RecvOp,
    ReduceOp,
    SendOp,
    SimdOp,
    SoftmaxOp,
)
from miredo.errors import MiredoError
from miredo.sim.cim_trace import (
    Buffer,
    ProgramTrace,
    StreamTrace,
    compile_program,
)
from miredo.sim.traffic import (
    MSG_READ,
    MSG_WRITE,
    READ,
    SIMD_READ,
    SIMD_WRITE,
    WRITE,
    Traffic,
    source_positions,
)
from miredo.solver.hardware import Arch

STALL_CAUSES: tuple[str, ...] = ("raw", "war", "port", "mode_switch", "barrier", "recv")
"""The causes of `TimingReport.stalls`."""

UNIT_KINDS: tuple[str, ...] = ("dma", "ldw", "mvm", "simd", "send", "recv")
"""The unit kinds of `StreamTiming.busy`."""

DEFAULT_WINDOW = 64
"""Default in-flight window per stream."""

DEFAULT_BURST = 8
"""Default burst length in cycles: a transfer on a port that several streams use
is arbitrated every ``burst`` cycles (8 cycles = a 64-byte burst on a 64-bit
off-chip bus)."""

_RAW, _WAR, _PORT, _MODE, _BARRIER, _RECV = range(6)
_K_DMA, _K_LDW, _K_MVM, _K_SIMD, _K_SEND, _K_RECV, _K_BARRIER = range(7)
_MODE_KEY = "macro mode"
"""Timeline key of a core's macro mode (not an identifier, so never a level)."""


# --------------------------------------------------------------------------- #
# Results
# --------------------------------------------------------------------------- #


@dataclass
class StreamTiming:
    """What one stream did."""

    name: str
    instructions: int = 0
    """Dynamic instructions (barriers included)."""
    finish: int = 0
    """Cycle at which its last instruction completed (or its last barrier opened)."""
    busy: dict[str, int] = field(default_factory=dict)
    """Cycles each unit kind was busy (sum of durations), by `UNIT_KINDS`."""
    active: int = 0
    """Cycles in which at least one of its units was busy."""
    stalls: dict[str, int] = field(default_factory=dict)
    """Stall cycles by cause (`STALL_CAUSES`)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "instructions": self.instructions,
            "finish_cycles": self.finish,
            "busy_cycles": dict(self.busy),
            "active_cycles": self.active,
            "stall_cycles": dict(self.stalls),
        }


class Scheduled(NamedTuple):
    """One scheduled instruction (see ``simulate_timing(record=...)``)."""

    stream: str
    index: int
    """Position in the stream's dynamic instruction sequence."""
    op: str
    """The op name (``cim.dma``, ...)."""
    issue: int
    start: int
    """For a barrier: the cycle the stream arrived."""
    end: int
    """For a barrier: the cycle it opened (for one with buffers, which does not
    hold the stream: the arrival)."""
    unit: str
    """The unit kind (`UNIT_KINDS`, or ``barrier``)."""


@dataclass
class TimingReport:
    """The timing simulation of one program (see the module docstring)."""

    program: str
    arch: str
    latency: int
    """Cycles until every stream is done."""
    instructions: int
    """Dynamic instructions of all streams."""
    stalls: dict[str, int]
    """Stall cycles by cause (`STALL_CAUSES`), summed over the streams."""
    traffic: Traffic
    """Bits per level and instruction counts (== ``count_traffic(program)``)."""
    accesses: dict[str, dict[str, int]]
    """Per level: ``{"reads": n, "writes": n}`` tile accesses."""
    energy_pj: dict[str, float]
    """Energy by component: one entry per level, ``mvm``, ``simd``, ``leakage``."""
    macro_utilization: dict[int, float]
    """Per core: MVM cycles / latency."""
    core_utilization: dict[int, float]
    """Per core: cycles with a busy unit / latency."""
    streams: dict[str, StreamTiming]
    """Per stream, in program order."""
    simd_lane_ops: int = 0
    window: int = DEFAULT_WINDOW
    burst: int = DEFAULT_BURST
    seconds: float = 0.0
    """Wall time of the simulation."""
    schedule: list[Scheduled] = field(default_factory=list)
    """The first ``record`` instructions of each stream (see `simulate_timing`)."""

    @property
    def energy(self) -> float:
        """Total energy in pJ."""
        return sum(self.energy_pj.values())

    @property
    def edp(self) -> float:
        """latency x energy (cycles x pJ)."""
        return self.latency * self.energy

    @property
    def mean_macro_utilization(self) -> float:
        u = self.macro_utilization
        return sum(u.values()) / len(u) if u else 0.0

    @property
    def mean_core_utilization(self) -> float:
        u = self.core_utilization
        return sum(u.values()) / len(u) if u else 0.0

    @property
    def total_stalls(self) -> int:
        return sum(self.stalls.values())

    @property
    def instructions_per_second(self) -> float:
        return self.instructions / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        """A JSON-able summary (the ``timing`` section of ``report.json``)."""
        t = self.traffic
        levels = sorted(
            set(t.reads_bits)
            | set(t.writes_bits)
            | set(t.simd_reads_bits)
            | set(t.simd_writes_bits)
            | set(t.msg_reads_bits)
            | set(t.msg_writes_bits)
        )
        traffic = {
            lv: {
                "reads_bits": t.reads_bits.get(lv, 0),
                "writes_bits": t.writes_bits.get(lv, 0),
                "simd_reads_bits": t.simd_reads_bits.get(lv, 0),
                "simd_writes_bits": t.simd_writes_bits.get(lv, 0),
                "msg_reads_bits": t.msg_reads_bits.get(lv, 0),
                "msg_writes_bits": t.msg_writes_bits.get(lv, 0),
                **{f"{k}_accesses": v for k, v in self.accesses.get(lv, {}).items()},
            }
            for lv in levels
        }
        return {
            "program": self.program,
            "arch": self.arch,
            "latency_cycles": self.latency,
            "energy_pj": self.energy,
            "edp": self.edp,
            "instructions": self.instructions,
            "stall_cycles": dict(self.stalls),
            "energy_breakdown_pj": dict(self.energy_pj),
            "macro_utilization": {str(c): u for c, u in self.macro_utilization.items()},
            "mean_macro_utilization": self.mean_macro_utilization,
            "core_utilization": {str(c): u for c, u in self.core_utilization.items()},
            "mean_core_utilization": self.mean_core_utilization,
            "counts": {
                "dmas": t.dmas,
                "load_weights": t.load_weights,
                "mvms": t.mvms,
                "simd_ops": t.simd_ops,
                "simd_lane_ops": self.simd_lane_ops,
                "sends": t.sends,
                "recvs": t.recvs,
                "barriers": t.barriers,
            },
            "traffic": traffic,
            "streams": {n: s.to_json() for n, s in self.streams.items()},
            "window": self.window,
            "burst": self.burst,
        }


# --------------------------------------------------------------------------- #
# Resources
# --------------------------------------------------------------------------- #


class _Timeline:
    """The reservations of one resource: sorted, disjoint ``[start, end)``
    intervals (adjacent ones merged); intervals that end before every future
    request are dropped."""

    __slots__ = ("ends", "is_mode", "name", "shared", "starts", "users")

    def __init__(self, name: str, is_mode: bool):
        self.name = name
        self.is_mode = is_mode
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.shared = False
        self.users: set[int] = set()

    def fit(self, t: int, d: int) -> int:
        """The earliest ``t' >= t`` with ``[t', t' + d)`` free."""
        ends = self.ends
        if not ends or t >= ends[-1]:
            return t
        starts = self.starts
        i = bisect_right(ends, t)
        n = len(ends)
        while i < n:
            if starts[i] >= t + d:
                return t
            if ends[i] > t:
                t = ends[i]
            i += 1
        return t

    def reserve(self, t: int, d: int, horizon: int) -> None:
        """Reserve ``[t, t + d)`` (free); forget intervals ending by ``horizon``."""
        starts, ends = self.starts, self.ends
        e = t + d
        if not ends or t >= ends[-1]:
            if ends and ends[-1] == t:
                ends[-1] = e
            else:
                starts.append(t)
                ends.append(e)
        else:
            i = bisect_right(starts, t)
            if i > 0 and ends[i - 1] == t:
                if starts[i] == e:  # fills the gap exactly
                    ends[i - 1] = ends[i]
                    del starts[i], ends[i]
                else:
                    ends[i - 1] = e
            elif starts[i] == e:
                starts[i] = t
            else:
                starts.insert(i, t)
                ends.insert(i, e)
        if len(ends) > 64:
            cut = bisect_right(ends, horizon)
            if cut > 32:
                del starts[:cut], ends[:cut]


def _fit(res: Sequence[_Timeline], t: int, d: int) -> tuple[int, _Timeline | None]:
    """Earliest start >= ``t`` free on every resource, and the resource that
    delayed it last (``None`` if none did)."""
    last: _Timeline | None = None
    moved = True
    while moved:
        moved = False
        for r in res:
            u = r.fit(t, d)
            if u != t:
                t, last, moved = u, r, True
    return t, last


# --------------------------------------------------------------------------- #
# Instruction templates
# --------------------------------------------------------------------------- #


@dataclass
class _Template:
    """What the scheduler needs about one static op of one stream."""

    index: int
    kind: int
    unit: int
    duration: int
    res: tuple[_Timeline, ...]
    reads: tuple[tuple[int, int], ...]
    """``(slot, tile index)``: the slot, plus that tile's half (index >= 0) for
    a ping-pong buffer."""
    writes: tuple[tuple[int, int], ...]
    weight_read: tuple[int, int] | None
    """MVM with ``weight_write_blocks_compute``: the weights' slot spec."""
    msg: tuple[int, int, int] | None
    """Send/recv: ``(src core, dst core, tag)``."""
    barrier: int
    bits: tuple[tuple[str, str, int], ...]
    """Traffic of one execution: ``(level, direction, bits)``."""
    accesses: tuple[tuple[str, int, int], ...]
    """``(level, reads, writes)`` of one execution."""
    lane_ops: int = 0
    shared: bool = False
    scope: tuple[int, ...] = ()
    """A barrier with buffers: the slots (every half) of the buffers it protects."""

    def packed(self) -> tuple[Any, ...]:
        static = all(ti < 0 for _, ti in self.reads + self.writes)
        return (
            self.index,
            self.kind,
            self.unit,
            self.duration,
            self.res,
            self.shared,
            static,
            tuple(s for s, _ in self.reads) if static else self.reads,
            tuple(s for s, _ in self.writes) if static else self.writes,
            self.weight_read,
            self.msg,
            self.barrier,
            self.scope,
        )


def _lane_ops(op: SimdOp, tiles: Sequence[Any]) -> int:
    out = math.prod(tiles[-1].sizes)
    if isinstance(op, PoolOp):
        return out * math.prod(int(v) for v in op.kernel.get_values())  # pyright: ignore
    if isinstance(op, ReduceOp | SoftmaxOp | LayerNormOp):
        return math.prod(tiles[0].sizes)
    return out


class _Builder:
    """Builds the templates of a program's streams."""

    def __init__(self, trace: ProgramTrace, arch: Arch, hier: Hierarchy):
        self.trace = trace
        self.arch = arch
        self.hier = hier
        self.name = trace.name
        for lv in (*hier.shared, *hier.per_core):
            if lv not in arch.level_index:
                raise MiredoError(
                    f"@{self.name} uses level '{lv}', which the hardware description "
                    f"'{arch.name}' does not have"
                )
        self.blocks = arch.macro.weight_write_blocks_compute
        self.timelines: dict[tuple[str, int | None], _Timeline] = {}

    def bw(self, level: str) -> int:
        return self.arch.level(level).bw_bits_per_cycle

    def timeline(self, key: tuple[str, int | None], si: int) -> _Timeline:
        tl = self.timelines.get(key)
        if tl is None:
            lv, core = key
            name = lv if core is None else f"{lv}[{core}]"
            is_mode = lv == _MODE_KEY
            if is_mode:
                name = f"macro[{core}]"
            tl = self.timelines[key] = _Timeline(name, is_mode)
        tl.users.add(si)
        return tl

    def port(self, level: str, core: int | None, si: int) -> _Timeline:
        per_core = self.hier.is_per_core(level)
        return self.timeline((level, core if per_core else None), si)

    def stream(
        self, si: int, stream: StreamTrace
    ) -> tuple[list[_Template], list[str], list[tuple[str, int | None]]]:
        """The templates (in `StreamTrace.ops` order), the kind of each unit and the
        buffer instance (id, core or ``None``) of each buffer slot of one stream."""
        core = stream.core
        slots: dict[tuple[str, int | None], int] = {}
        keys: list[tuple[str, int | None]] = []
        units: dict[tuple[Any, ...], int] = {}
        unit_kinds: list[str] = []

        def slot(buf: Buffer, c: int | None) -> int:
            key = (buf.id, c if buf.per_core else None)
            s = slots.get(key)
            if s is None:
                s = slots[key] = len(keys)
                keys.extend([key] * buf.halves)
            return s

        def unit(key: tuple[Any, ...], kind: str) -> int:
            u = units.get(key)
            if u is None:
                u = units[key] = len(unit_kinds)
                unit_kinds.append(kind)
            return u

        templates = [
            self.template(si, k, op, stream, core, slot, unit)
            for k, op in enumerate(stream.ops)
        ]
        return templates, unit_kinds, keys

    def template(
        self,
        si: int,
        k: int,
        op: Operation,
        stream: StreamTrace,
        core: int | None,
        slot: Callable[[Buffer, int | None], int],
        unit: Callable[[tuple[Any, ...], str], int],
    ) -> _Template:
        buffers = self.trace.buffers
        lvl_index = self.arch.level_index
        if isinstance(op, BarrierOp):
            scope: list[int] = []
            for b in stream.op_buffers[k]:
                buf = buffers[b]
                every = core is None and buf.per_core
                for c in range(self.hier.cores) if every else [core]:
                    base = slot(buf, c)
                    scope.extend(range(base, base + buf.halves))
            return _Template(
                k,
                _K_BARRIER,
                -1,
                0,
                (),
                (),
                (),
                None,
                None,
                op.id.value.data,
                (),
                (),
                scope=tuple(scope),
            )
        tiles = op.tiles()  # pyright: ignore[reportAttributeAccessIssue]
        bufs = [buffers[b] for b in stream.op_buffers[k]]

        def spec(i: int, c: int | None) -> tuple[int, int]:
            b = bufs[i]
            return (slot(b, c), i if b.halves > 1 else -1)

        def nbits(i: int, n: int | None = None) -> int:
            return (tiles[i].num_elements if n is None else n) * bufs[i].bits

        def lvl(i: int) -> str:
            return bufs[i].space

        def dur(bits: int, bw: int) -> int:
            return max(1, -(-bits // bw))

        if isinstance(op, DmaOp):
            src, _dst = tiles
            cores = op.core_set
            gather = core is None and cores is not None and bufs[0].per_core
            shifts = None if gather else op.core_shifts()
            n_src = source_positions(
                tuple(src.sizes),
                tuple(src.strides),
                tuple(map(tuple, shifts)) if shifts is not None else None,
                tuple(src.shape),
            )
            s_lvl, d_lvl = lvl(0), lvl(1)
            if core is not None or cores is None:
                src_cores: list[int | None] = [core]
                dst_cores: list[int | None] = [core]
            else:
                src_cores = list(cores) if bufs[0].per_core else [None]
                dst_cores = list(cores) if bufs[1].per_core else [None]
            copies = len(dst_cores) if core is None and bufs[1].per_core else 1
            # a gather reads every core's tile (in parallel, each on its own
            # port) and moves the union through the shared side
            reads = len(src_cores) if gather else 1
            read_bits = reads * nbits(0, n_src)
            outer, inner = sorted((s_lvl, d_lvl), key=lambda lv: lvl_index[lv])
            port_core = core
            if core is None and self.hier.is_per_core(outer):
                port_core = (src_cores if outer == s_lvl else dst_cores)[0]
            res = (self.port(outer, port_core, si),)
            o = 0 if outer == s_lvl else 1
            union = reads if self.hier.is_per_core(inner) else 1
            cycles = max(
                dur(union * nbits(o, n_src), min(self.bw(s_lvl), self.bw(d_lvl))),
                dur(nbits(1 - o, n_src), self.bw(inner)),
            )
            return _Template(
                k,
                _K_DMA,
                unit(("dma", outer, inner), "dma"),
                cycles,
                res,
                tuple(spec(0, c) for c in src_cores),
                tuple(spec(1, c) for c in dst_cores),
                None,
                None,
                -1,
                ((s_lvl, READ, read_bits), (d_lvl, WRITE, reads * copies * nbits(1))),
                ((s_lvl, reads, 0), (d_lvl, 0, reads * copies)),
            )
        if isinstance(op, LoadWeightsOp):
            s_lvl, m_lvl = lvl(0), lvl(1)
            read_bits = nbits(0)
            res = [self.port(s_lvl, core, si)]
            if self.blocks:
                res.append(self.timeline((_MODE_KEY, core), si))
            return _Template(
                k,
                _K_LDW,
                unit(("ldw",), "ldw"),
                dur(read_bits, min(self.bw(s_lvl), self.bw(m_lvl))),
                tuple(res),
                (spec(0, core),),
                (spec(1, core),),
                None,
                None,
                -1,
                ((s_lvl, READ, read_bits), (m_lvl, WRITE, nbits(1))),
                ((s_lvl, 1, 0), (m_lvl, 0, 1)),
            )
        if isinstance(op, MvmOp):
            x = tiles[0]
            n_in = source_positions(
                tuple(x.sizes), tuple(x.strides), None, tuple(x.shape)
            )
            acc = op.acc is not None
            reads = [spec(0, core), spec(1, core)] + ([spec(2, core)] if acc else [])
            res = (self.timeline((_MODE_KEY, core), si),) if self.blocks else ()
            out_bits = nbits(2)
            return _Template(
                k,
                _K_MVM,
                unit(("mvm",), "mvm"),
                max(1, op.cycles),
                res,
                tuple(reads),
                (spec(2, core),),
                spec(1, core) if self.blocks else None,
                None,
                -1,
                (
                    (lvl(0), READ, nbits(0, n_in)),
                    (lvl(2), READ, out_bits),
                    (lvl(2), WRITE, out_bits),
                ),
                ((lvl(0), 1, 0), (lvl(2), 1, 1)),
            )
        if isinstance(op, SimdOp):
            n = len(tiles)
            ops = _lane_ops(op, tiles)
            return _Template(
                k,
                _K_SIMD,
                unit(("simd",), "simd"),
                dur(ops, self.arch.simd.lanes),
                (),
                tuple(spec(i, core) for i in range(n - 1)),
                (spec(n - 1, core),),
                None,
                None,
                -1,
                (
                    *((lvl(i), SIMD_READ, nbits(i)) for i in range(n - 1)),
                    (lvl(n - 1), SIMD_WRITE, nbits(n - 1)),
                ),
                (*((lvl(i), 1, 0) for i in range(n - 1)), (lvl(n - 1), 0, 1)),
                lane_ops=ops,
            )
        if isinstance(op, SendOp | RecvOp):
            assert core is not None
            peer, tag = op.peer.value.data, op.tag.value.data
            send = isinstance(op, SendOp)
            b = nbits(0)
            return _Template(
                k,
                _K_SEND if send else _K_RECV,
                unit(("send",) if send else ("recv",), "send" if send else "recv"),
                dur(b, self.bw(lvl(0))),
                (),
                (spec(0, core),) if send else (),
                () if send else (spec(0, core),),
                None,
                (core, peer, tag) if send else (peer, core, tag),
                -1,
                ((lvl(0), MSG_READ if send else MSG_WRITE, b),),
                ((lvl(0), 1, 0),) if send else ((lvl(0), 0, 1),),
            )
        raise MiredoError(f"@{self.name}: the timing simulator cannot run '{op.name}'")


# --------------------------------------------------------------------------- #
# The scheduler
# --------------------------------------------------------------------------- #

_SHARED, _AT_BARRIER, _AT_RECV = range(3)


@dataclass
class _Stream:
    """The state of one stream during the simulation."""

    index: int
    trace: StreamTrace
    templates: list[_Template]
    by_id: dict[int, tuple[Any, ...]]
    unit_kinds: list[str]
    slot_keys: list[tuple[str, int | None]]
    """The buffer instance (id, core or ``None``) of each buffer slot."""
    issue: int = -1
    finish: int = 0
    instructions: int = 0
    counts: list[int] = field(default_factory=list)
    stalls: list[int] = field(default_factory=lambda: [0] * len(STALL_CAUSES))
    busy: list[int] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    done: bool = False
    wait: str = ""
    barrier: int = -1
    """The barrier the stream waits at (-1: none)."""
    phase: int = -1
    """The phase of `barrier` it waits for."""
    priority: int = 0
    """Arbitration priority of its shared-port requests (higher first); the
    queue's ``boot`` priority until its first one is served."""
    steady: int = 0
    """The priority after the first shared-port transfer."""

    @property
    def nslots(self) -> int:
        return len(self.slot_keys)


class _Simulator:
    def __init__(
        self,
        program: ProgramOp,
        arch: Arch,
        window: int,
        trace: ProgramTrace | None,
        record: int = 0,
        burst: int = DEFAULT_BURST,
    ):
        if window < 1:
            raise MiredoError(f"the issue window must be >= 1, got {window}")
        if burst < 1:
            raise MiredoError(f"the burst length must be >= 1, got {burst}")
        self.burst = burst
        self.program = program
        self.arch = arch
        self.window = window
        self.trace = trace if trace is not None else compile_program(program)
        hier = program.hierarchy()
        if hier is None:
            raise MiredoError(f"@{program.sym_name.data} has a malformed header")
        self.hier = hier
        self.name = program.sym_name.data
        builder = _Builder(self.trace, arch, hier)
        order = sorted(self.trace.streams, key=lambda s: s.core is not None)
        self.streams: list[_Stream] = []
        for si, st in enumerate(order):
            templates, kinds, keys = builder.stream(si, st)
            self.streams.append(
                _Stream(
                    si,
                    st,
                    templates,
                    {},
                    kinds,
                    keys,
                    counts=[0] * len(templates),
                    busy=[0] * len(kinds),
                )
            )
        for tl in builder.timelines.values():
            tl.shared = len(tl.users) > 1
        for s in self.streams:
            for tp in s.templates:
                tp.shared = any(r.shared for r in tp.res)
                s.by_id[id(s.trace.ops[tp.index])] = tp.packed()
        self.timelines = builder.timelines
        for s in self.streams:
            if isinstance(s.trace.stream, GlobalOp):
                s.priority = s.trace.stream.boot_level
                s.steady = s.trace.stream.priority_level
        self.prioritised = (
            len({p for s in self.streams for p in (s.priority, s.steady)}) > 1
        )
        self.participants: dict[int, list[int]] = {}
        for s in self.streams:
            for b in s.trace.barrier_ids:
                self.participants.setdefault(b, []).append(s.index)
        self._check_scopes()
        self.arrived: dict[int, dict[int, deque[int]]] = {
            b: {si: deque() for si in members}
            for b, members in self.participants.items()
        }
        """Per barrier and participant: its arrival cycles at the phases that are
        not released yet."""
        self.arrivals: dict[tuple[int, int], int] = {}
        """(barrier, stream) -> number of arrivals so far."""
        self.releases: dict[int, list[int]] = {b: [] for b in self.participants}
        """Per barrier: the release cycle of each phase so far."""
        self.waiters: dict[tuple[int, int], list[int]] = {}
        """(barrier, phase) -> the streams waiting for its release."""
        self.send: list[int | None] = [None] * len(self.streams)
        """The value each stream's generator is resumed with."""
        self.fifos: dict[tuple[int, int, int], deque[int]] = {}
        self.recv_wait: dict[tuple[int, int, int], int] = {}
        self.runnable: deque[int] = deque()
        self.horizon = -1
        self.record = record
        self.schedule: list[Scheduled] = []

    # ---- one stream -------------------------------------------------------- #

    def _run(self, s: _Stream) -> Generator[tuple[Any, ...], int | None, None]:
        by_id = s.by_id
        counts = s.counts
        stalls = s.stalls
        busy = s.busy
        starts, ends = s.starts, s.ends
        unit_free = [0] * len(s.unit_kinds)
        w_end = [0] * s.nslots
        r_end = [0] * s.nslots
        # barriers with buffers: per slot, the phases arrived at and not yet
        # resolved (barrier -> phase), and the latest release resolved
        pend: list[dict[int, int] | None] = [None] * s.nslots
        b_end = [0] * s.nslots
        npend = 0
        scoped = any(tp.scope for tp in s.templates)
        window = self.window
        burst = self.burst
        ring = [0] * window
        k = 0
        issue = -1
        retire = 0
        fifos = self.fifos
        n = 0
        record = self.record
        kinds = s.unit_kinds
        name = s.trace.name
        for ins in s.trace:
            (
                idx,
                kind,
                unit,
                dur,
                res,
                shared,
                static,
                reads,
                writes,
                wspec,
                msg,
                bid,
                scope,
            ) = by_id[id(ins.op)]
            counts[idx] += 1
            n += 1
            issue += 1
            r = ring[k]
            if r > issue:
                issue = r
            s.issue = issue
            if kind == _K_BARRIER and scope:
                # arrive once the earlier accesses of its buffers are done; wait
                # only at the next access of one of them
                arrival = issue
                for sl in scope:
                    x = w_end[sl]
                    if x > arrival:
                        arrival = x
                    x = r_end[sl]
                    if x > arrival:
                        arrival = x
                phase = self._arrive(s.index, bid, arrival)
                for sl in scope:
                    p = pend[sl]
                    if p is None:
                        pend[sl] = {bid: phase}
                        npend += 1
                    else:
                        p[bid] = phase
                if n <= record:
                    self.schedule.append(
                        Scheduled(
                            name, n - 1, ins.op.name, issue, arrival, arrival, "barrier"
                        )
                    )
                ring[k] = retire
                k += 1
                if k == window:
                    k = 0
                continue
            if kind == _K_BARRIER:
                arrival = issue if issue > retire else retire
                phase = self._arrive(s.index, bid, arrival)
                release = self._release(bid, phase)
                if release is None:
                    s.wait = f"{name} waits at cim.barrier {bid}"
                    release = yield (_AT_BARRIER, bid, phase)
                assert release is not None
                stalls[_BARRIER] += release - arrival
                if n <= record:
                    self.schedule.append(
                        Scheduled(
                            name, n - 1, ins.op.name, issue, arrival, release, "barrier"
                        )
                    )
                retire = release
                ring[k] = release
                k += 1
                if k == window:
                    k = 0
                if release - 1 > issue:
                    issue = release - 1
                continue
            base = unit_free[unit]
            if issue > base:
                base = issue
            # ---- dependences
            t_raw = 0
            t_war = 0
            if static:
                for sl in reads:
                    x = w_end[sl]
                    if x > t_raw:
                        t_raw = x
                for sl in writes:
                    x = w_end[sl]
                    if x > t_war:
                        t_war = x
                    x = r_end[sl]
                    if x > t_war:
                        t_war = x
                rs, ws = reads, writes
            else:
                tiles = ins.tiles
                rs = [sl if ti < 0 else sl + tiles[ti].half for sl, ti in reads]
                ws = [sl if ti < 0 else sl + tiles[ti].half for sl, ti in writes]
                for sl in rs:
                    x = w_end[sl]
                    if x > t_raw:
                        t_raw = x
                for sl in ws:
                    x = w_end[sl]
                    if x > t_war:
                        t_war = x
                    x = r_end[sl]
                    if x > t_war:
                        t_war = x
            t_bar = 0
            if scoped:
                if npend:
                    for sl in (*rs, *ws):
                        p = pend[sl]
                        if p is None:
                            continue
                        pend[sl] = None
                        npend -= 1
                        for b2, ph in p.items():
                            rel = self._release(b2, ph)
                            if rel is None:
                                s.wait = (
                                    f"{name} waits at cim.barrier {b2} to access "
                                    f"a buffer it protects"
                                )
                                rel = yield (_AT_BARRIER, b2, ph)
                                assert rel is not None
                            if rel > b_end[sl]:
                                b_end[sl] = rel
                for sl in rs:
                    x = b_end[sl]
                    if x > t_bar:
                        t_bar = x
                for sl in ws:
                    x = b_end[sl]
                    if x > t_bar:
                        t_bar = x
            t_msg = 0
            if msg is not None and kind == _K_RECV:
                fifo = fifos.get(msg)
                while not fifo:
                    self.recv_wait[msg] = s.index
                    s.wait = (
                        f"{s.trace.name} waits in cim.recv from core {msg[0]} "
                        f"tag {msg[2]} (no message)"
                    )
                    yield (_AT_RECV, msg)
                    fifo = fifos.get(msg)
                t_msg = fifo.popleft()
            ready = base
            if t_raw > ready:
                ready = t_raw
            if t_war > ready:
                ready = t_war
            if t_msg > ready:
                ready = t_msg
            if t_bar > ready:
                ready = t_bar
            # ---- resources
            start_busy = -1
            if shared:
                s.wait = f"{s.trace.name} waits for a shared port"
                yield (_SHARED, ready, next(r for r in res if r.shared))
            if res:
                if shared and dur > burst and len(res) == 1:
                    # a long transfer on a shared port: one burst at a time, each
                    # arbitrated against the other streams' requests
                    tl = res[0]
                    left = dur
                    t = start = -1
                    while left:
                        d = left if left < burst else burst
                        b0 = tl.fit(ready if t < 0 else t, d)
                        if t < 0:
                            start = b0
                        tl.reserve(b0, d, self.horizon)
                        t = b0 + d
                        left -= d
                        if left:
                            starts.append(b0)  # the unit is busy burst by burst
                            ends.append(t)
                            yield (_SHARED, t, tl)
                    start_busy = b0
                    last = tl if t - ready > dur else None
                    end = t
                else:
                    if len(res) == 1:
                        tl = res[0]
                        tl_ends = tl.ends
                        if not tl_ends or ready >= tl_ends[-1]:
                            start = ready
                            last = None
                        else:
                            start = tl.fit(ready, dur)
                            last = tl if start != ready else None
                    else:
                        start, last = _fit(res, ready, dur)
                    h = self.horizon
                    for tl in res:
                        tl.reserve(start, dur, h if tl.shared else issue)
                    end = start + dur
            else:
                start = ready
                last = None
                end = start + dur
            if shared:
                s.priority = s.steady
            # ---- stalls
            if start_busy < 0:
                start_busy = start
            if start > base:
                dep = ready - base
                if dep:
                    if t_raw == ready:
                        if wspec is not None:
                            sl, ti = wspec
                            if ti >= 0:
                                sl += ins.tiles[ti].half
                            stalls[_MODE if w_end[sl] == ready else _RAW] += dep
                        else:
                            stalls[_RAW] += dep
                    elif t_war == ready:
                        stalls[_WAR] += dep
                    elif t_msg == ready:
                        stalls[_RECV] += dep
                    else:
                        stalls[_BARRIER] += dep
            if end - dur > ready:
                assert last is not None
                stalls[_MODE if last.is_mode else _PORT] += end - dur - ready
            # ---- commit
            unit_free[unit] = end
            for sl in rs:
                if r_end[sl] < end:
                    r_end[sl] = end
            for sl in ws:
                w_end[sl] = end
                r_end[sl] = 0
            if kind == _K_SEND:
                assert msg is not None
                fifo = fifos.get(msg)
                if fifo is None:
                    fifo = fifos[msg] = deque()
                fifo.append(end)
                waiter = self.recv_wait.pop(msg, None)
                if waiter is not None:
                    self.runnable.append(waiter)
            busy[unit] += dur
            if n <= record:
                self.schedule.append(
                    Scheduled(name, n - 1, ins.op.name, issue, start, end, kinds[unit])
                )
            starts.append(start_busy)
            ends.append(end)
            if end > retire:
                retire = end
            ring[k] = retire
            k += 1
            if k == window:
                k = 0
        s.instructions = n
        s.finish = retire

    # ---- all streams ------------------------------------------------------- #

    def run(self) -> None:
        streams = self.streams
        procs = [self._run(s) for s in streams]
        send = self.send
        pending: dict[int, tuple[int, _Timeline]] = {}
        runnable = self.runnable
        runnable.extend(range(len(streams)))
        live = len(streams)
        while True:
            while runnable:
                si = runnable.popleft()
                s = streams[si]
                try:
                    req = procs[si].send(send[si])
                except StopIteration:
                    s.done = True
                    s.issue = 1 << 62
                    live -= 1
                    continue
                send[si] = None
                tag = req[0]
                if tag == _SHARED:
                    pending[si] = (req[1], req[2])
                elif tag == _AT_BARRIER:
                    bid, phase = req[1], req[2]
                    s.barrier, s.phase = bid, phase
                    self.waiters.setdefault((bid, phase), []).append(si)
            if pending:
                si = self._arbitrate(pending)
                del pending[si]
                self.horizon = min(s.issue for s in streams)
                runnable.append(si)
                continue
            if not live:
                break
            stuck = "; ".join(self._waiting(s) for s in streams if not s.done)
            raise MiredoError(f"cim.program @{self.name} deadlocks: {stuck}")
        leftover = {key: len(q) for key, q in self.fifos.items() if q}
        if leftover:
            (src, dst, tag), n = next(iter(leftover.items()))
            raise MiredoError(
                f"cim.program @{self.name} finished with {n} undelivered message(s) "
                f"from core {src} to core {dst} tag {tag}"
            )
        for bid, members in self.participants.items():
            counts = {si: self.arrivals.get((bid, si), 0) for si in members}
            if len(set(counts.values())) > 1:
                what = ", ".join(
                    f"{streams[si].trace.name} {n}" for si, n in counts.items()
                )
                raise MiredoError(
                    f"cim.program @{self.name}: the participants of cim.barrier "
                    f"{bid} arrive at it unequally often ({what})"
                )

    def _arbitrate(self, pending: dict[int, tuple[int, _Timeline]]) -> int:
        """The stream whose shared-port request is served next: the earliest
        request, unless requests of higher-priority streams for the same port are
        also present when that port next frees up (the highest priority first,
        then the earliest, then stream order)."""
        first = min(pending, key=lambda i: (pending[i][0], i))
        if not self.prioritised:
            return first
        ready, port = pending[first]
        at = port.fit(ready, 1)
        streams = self.streams
        return min(
            (i for i, (r, tl) in pending.items() if tl is port and r <= at),
            key=lambda i: (-streams[i].priority, pending[i][0], i),
        )

    def _arrive(self, si: int, bid: int, cycle: int) -> int:
        """Record stream ``si``'s arrival at barrier ``bid`` at ``cycle``; release
        the phases every participant has now reached (waking their waiters).
        Returns the phase the stream arrived at."""
        key = (bid, si)
        phase = self.arrivals.get(key, 0)
        self.arrivals[key] = phase + 1
        arrived = self.arrived[bid]
        arrived[si].append(cycle)
        releases = self.releases[bid]
        while all(arrived.values()):
            release = max(q.popleft() for q in arrived.values())
            for w in self.waiters.pop((bid, len(releases)), ()):
                self.send[w] = release
                self.streams[w].barrier = -1
                self.runnable.append(w)
            releases.append(release)
        return phase

    def _release(self, bid: int, phase: int) -> int | None:
        """The release cycle of a phase of barrier ``bid`` (``None``: not yet)."""
        releases = self.releases[bid]
        return releases[phase] if phase < len(releases) else None

    def _waiting(self, s: _Stream) -> str:
        if s.barrier < 0:
            return s.wait
        missing = ", ".join(
            self.streams[i].trace.name + (" (finished)" if self.streams[i].done else "")
            for i in self.participants[s.barrier]
            if self.arrivals.get((s.barrier, i), 0) <= s.phase
        )
        return f"{s.wait} (missing {missing})"

    def _check_scopes(self) -> None:
        """A barrier with buffers must name every buffer instance that two of its
        participants access, one of them writing: the others are not ordered by it
        (see the module docstring)."""
        access: list[dict[tuple[str, int | None], bool]] = []
        for s in self.streams:
            written: dict[tuple[str, int | None], bool] = {}
            for tp in s.templates:
                for sl, _ in tp.reads:
                    written.setdefault(s.slot_keys[sl], False)
                for sl, _ in tp.writes:
                    written[s.slot_keys[sl]] = True
            access.append(written)
        for s in self.streams:
            for tp in s.templates:
                if not tp.scope:
                    continue
                named = {s.slot_keys[sl] for sl in tp.scope}
                mine = access[s.index]
                for t in self.participants[tp.barrier]:
                    if t == s.index:
                        continue
                    theirs = access[t]
                    both = (mine.keys() & theirs.keys()) - named
                    for key in sorted(both, key=str):
                        if mine[key] or theirs[key]:
                            buf, core = key
                            where = "" if core is None else f" (core {core})"
                            raise MiredoError(
                                f"@{self.name}: cim.barrier {tp.barrier} in "
                                f"{s.trace.name} does not protect buffer {buf}"
                                f"{where}, which {s.trace.name} and "
                                f"{self.streams[t].trace.name} both access; name "
                                f"it too (or no buffer, for a full barrier)"
                            )

    # ---- the report -------------------------------------------------------- #

    def report(self, seconds: float) -> TimingReport:
        traffic = Traffic()
        accesses: dict[str, dict[str, int]] = {}
        lane_ops = 0
        counters = {
            _K_DMA: "dmas",
            _K_LDW: "load_weights",
            _K_MVM: "mvms",
            _K_SIMD: "simd_ops",
            _K_SEND: "sends",
            _K_RECV: "recvs",
            _K_BARRIER: "barriers",
        }
        stalls = [0] * len(STALL_CAUSES)
        streams: dict[str, StreamTiming] = {}
        latency = max((s.finish for s in self.streams), default=0)
        macro_busy: dict[int, int] = {}
        core_active: dict[int, int] = {}
        for s in sorted(self.streams, key=lambda s: _body_index(self.trace, s.trace)):
            mine: dict[tuple[str, str], int] = {}
            for tp, n in zip(s.templates, s.counts, strict=True):
                if not n:
                    continue
                name = counters[tp.kind]
                setattr(traffic, name, getattr(traffic, name) + n)
                if tp.kind == _K_MVM:
                    traffic.mvm_cycles += n * tp.duration
                lane_ops += n * tp.lane_ops
                for level, direction, b in tp.bits:
                    table = traffic.by_direction(direction)
                    table[level] = table.get(level, 0) + n * b
                    mine[(level, direction)] = mine.get((level, direction), 0) + n * b
                for level, r, w in tp.accesses:
                    acc = accesses.setdefault(level, {"reads": 0, "writes": 0})
                    acc["reads"] += n * r
                    acc["writes"] += n * w
            traffic.per_stream[s.trace.name] = mine
            traffic.instructions[s.trace.name] = s.instructions
            busy = dict.fromkeys(UNIT_KINDS, 0)
            for kind, b in zip(s.unit_kinds, s.busy, strict=True):
                busy[kind] += b
            active = _union_length(s.starts, s.ends)
            streams[s.trace.name] = StreamTiming(
                name=s.trace.name,
                instructions=s.instructions,
                finish=s.finish,
                busy=busy,
                active=active,
                stalls=dict(zip(STALL_CAUSES, s.stalls, strict=True)),
            )
            for i, v in enumerate(s.stalls):
                stalls[i] += v
            core = s.trace.core
            if core is not None:
                macro_busy[core] = busy["mvm"]
                core_active[core] = active
        arch = self.arch
        cores = range(self.hier.cores)
        energy: dict[str, float] = {}
        for lv in arch.levels:
            rd = (
                traffic.reads_bits.get(lv.name, 0)
                + traffic.simd_reads_bits.get(lv.name, 0)
                + traffic.msg_reads_bits.get(lv.name, 0)
            )
            wr = (
                traffic.writes_bits.get(lv.name, 0)
                + traffic.simd_writes_bits.get(lv.name, 0)
                + traffic.msg_writes_bits.get(lv.name, 0)
            )
            if rd or wr:
                energy[lv.name] = rd * lv.read_pj_per_bit + wr * lv.write_pj_per_bit
        energy["mvm"] = traffic.mvms * arch.macro.mvm_energy_pj
        energy["simd"] = lane_ops * arch.simd.energy_pj_per_op
        energy["leakage"] = latency * arch.leakage_pj_per_cycle

        def util(table: dict[int, int]) -> dict[int, float]:
            return {c: (table.get(c, 0) / latency if latency else 0.0) for c in cores}

        return TimingReport(
            program=self.name,
            arch=arch.name,
            latency=latency,
            instructions=sum(s.instructions for s in self.streams),
            stalls=dict(zip(STALL_CAUSES, stalls, strict=True)),
            traffic=traffic,
            accesses=accesses,
            energy_pj=energy,
            macro_utilization=util(macro_busy),
            core_utilization=util(core_active),
            streams=streams,
            simd_lane_ops=lane_ops,
            window=self.window,
            burst=self.burst,
            seconds=seconds,
            schedule=self.schedule,
        )


def _body_index(trace: ProgramTrace, stream: StreamTrace) -> int:
    return next(i for i, s in enumerate(trace.streams) if s is stream)


def _union_length(starts: list[int], ends: list[int]) -> int:
    """Cycles covered by the union of ``[start, end)`` intervals."""
    if not starts:
        return 0
    import numpy as np

    s = np.asarray(starts, dtype=np.int64)
    e = np.asarray(ends, dtype=np.int64)
    order = np.argsort(s, kind="stable")
    s, e = s[order], e[order]
    reach = np.maximum.accumulate(e)
    prev = np.concatenate(([s[0]], reach[:-1]))
    return int(np.maximum(0, e - np.maximum(s, prev)).sum())


def simulate_timing(
    program: ProgramOp,
    arch: Arch,
    *,
    window: int = DEFAULT_WINDOW,
    trace: ProgramTrace | None = None,
    record: int = 0,
    burst: int = DEFAULT_BURST,
) -> TimingReport:
    """Simulate the timing of ``program`` on ``arch`` (see the module docstring).

    ``window`` is the per-stream in-flight limit; ``trace`` reuses a
    `compile_program` result; ``record`` keeps the schedule of the first
    ``record`` instructions of every stream in `TimingReport.schedule`;
    ``burst`` is the arbitration granularity of shared ports in cycles. Raises
    `MiredoError` on a deadlock, an undelivered message or a level the hardware
    does not have.
    """
    t0 = time.perf_counter()
    sim = _Simulator(program, arch, window, trace, record, burst)
    sim.run()
    return sim.report(time.perf_counter() - t0)


def iter_programs(module: Operation) -> Iterator[ProgramOp]:
    """The programs of ``module`` in launch order (each once), then any program
    that is never launched, in module order."""
    from miredo.dialects.cim import LaunchOp

    seen: set[int] = set()
    for op in module.walk():
        if isinstance(op, LaunchOp):
            p = op.program()
            if p is not None and id(p) not in seen:
                seen.add(id(p))
                yield p
    for op in module.walk():
        if isinstance(op, ProgramOp) and id(op) not in seen:
            seen.add(id(op))
            yield op
