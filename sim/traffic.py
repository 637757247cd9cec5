"""Count the memory traffic of a ``cim`` program without executing it.

`count_traffic(program)` sums, over every dynamic instruction of every stream, the
bits each instruction moves, per memory level. The rules are those of the
analytical model, so they must stay exact:

* ``cim.dma`` reads ``n_src x width(src)`` bits from the source level, where
  ``n_src`` counts every source position once: along each dim of the source
  buffer, the positions the tile covers (with ``shifts``: the union over all
  cores' windows; a plain ``cores [...]`` multicast reads the tile once), at most
  the buffer's extent along that dim; ``n_src`` is the product over the dims.
  Zero-padded positions inside that count are charged like reads, so a tile is
  charged the same wherever it sits (the analytical model's tile sizes: a halo
  window is clamped to the input extent, never to what is in bounds). It writes
  ``n x width(dst)`` bits to the destination level in each destination core (a
  multicast to 4 cores writes 4 tiles). A gather (``cim.global``, per-core
  source, ``cores [...]``) reads the source tile (counted as above, without
  ``shifts``) in each listed core and writes one destination tile per core (its
  windows are disjoint).
* ``cim.load_weights`` reads the source tile from its level (a broadcast from
  ``cim.global``: the windows of all its cores, counted as for a DMA) and writes
  the macro tile to the macro level of each receiving core.
* ``cim.mvm`` reads the input tile (``rows x width(input)``, counted per dim at
  most the buffer's extent, as for a DMA source) from its level and
  reads and writes the output tile (``cols x width(output)``) in its level,
  accumulating or not; the macro read is not counted.
* SIMD instructions count their input tiles in ``simd_reads_bits`` and their output
  tile in ``simd_writes_bits``; ``cim.send`` counts its tile in ``msg_reads_bits``,
  ``cim.recv`` in ``msg_writes_bits``. None of these enter ``reads_bits`` /
  ``writes_bits``.

Widths are storage widths: a buffer's ``cim.alloc`` ``bits`` (else its element
type's width), a program argument's ``arg_bits`` entry. The cost of one execution
of an op does not depend on its offsets or halves (a ``shifts`` union is
translation invariant), so each op is costed once and multiplied by its dynamic
count (`StreamTrace.op_counts`), which loop nests of constant bounds give without
walking them.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from xdsl.ir import Operation

from miredo.dialects.cim import (
    BarrierOp,
    DmaOp,
    LoadWeightsOp,
    MvmOp,
    ProgramOp,
    RecvOp,
    SendOp,
    SimdOp,
)
from miredo.sim.cim_trace import ProgramTrace, StreamTrace, compile_program

READ = "read"
WRITE = "write"
SIMD_READ = "simd_read"
SIMD_WRITE = "simd_write"
MSG_READ = "msg_read"
MSG_WRITE = "msg_write"
DIRECTIONS = (READ, WRITE, SIMD_READ, SIMD_WRITE, MSG_READ, MSG_WRITE)
"""The directions of `Traffic.per_stream`."""


@dataclass
class Traffic:
    """Bits moved per memory level, and instruction counts."""

    reads_bits: dict[str, int] = field(default_factory=dict)
    """DMA, load_weights and MVM reads, per level."""
    writes_bits: dict[str, int] = field(default_factory=dict)
    """DMA, load_weights and MVM writes, per level."""
    simd_reads_bits: dict[str, int] = field(default_factory=dict)
    """SIMD input tiles, per level."""
    simd_writes_bits: dict[str, int] = field(default_factory=dict)
    """SIMD output tiles, per level."""
    msg_reads_bits: dict[str, int] = field(default_factory=dict)
    """``cim.send`` tiles, per level."""
    msg_writes_bits: dict[str, int] = field(default_factory=dict)
    """``cim.recv`` tiles, per level."""
    dmas: int = 0
    load_weights: int = 0
    mvms: int = 0
    mvm_cycles: int = 0
    """Sum of ``MvmOp.cycles`` over the executed MVMs."""
    simd_ops: int = 0
    sends: int = 0
    recvs: int = 0
    barriers: int = 0
    instructions: dict[str, int] = field(default_factory=dict)
    """Dynamic instructions per stream."""
    per_stream: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)
    """Per stream: bits per ``(level, direction)``, directions of `DIRECTIONS`."""

    def by_direction(self, direction: str) -> dict[str, int]:
        """The per-level totals of one of `DIRECTIONS`."""
        return {
            READ: self.reads_bits,
            WRITE: self.writes_bits,
            SIMD_READ: self.simd_reads_bits,
            SIMD_WRITE: self.simd_writes_bits,
            MSG_READ: self.msg_reads_bits,
            MSG_WRITE: self.msg_writes_bits,
        }[direction]


@dataclass(frozen=True)
class _OpCost:
    """What one execution of an op costs."""

    bits: tuple[tuple[str, str, int], ...]
    """``(level, direction, bits)``."""
    counter: str | None
    """The `Traffic` instruction counter it increments."""
    cycles: int = 0


@lru_cache(maxsize=4096)
def window_union_size(
    sizes: tuple[int, ...],
    strides: tuple[int, ...],
    shifts: tuple[tuple[int, ...], ...],
) -> int:
    """Distinct elements of the union of a tile's windows moved by each shift.

    A window is ``{shift + k * strides : 0 <= k < sizes}`` (per dim). Exact for any
    shifts: the union is swept one dim at a time, grouping the coordinates of a
    dim by the set of windows that cover them.
    """
    windows = tuple(dict.fromkeys(shifts))  # identical shifts read once
    if len(windows) <= 1:
        return math.prod(sizes)
    rank = len(sizes)
    memo: dict[tuple[int, frozenset[int]], int] = {}

    def union(dim: int, members: frozenset[int]) -> int:
        if dim == rank:
            return 1
        key = (dim, members)
        hit = memo.get(key)
        if hit is not None:
            return hit
        if len(members) == 1:
            result = math.prod(sizes[dim:])
        else:
            cover: dict[int, set[int]] = {}
            step = strides[dim]
            for w in members:
                base = windows[w][dim]
                for k in range(sizes[dim]):
                    cover.setdefault(base + k * step, set()).add(w)
            groups = Counter(frozenset(ws) for ws in cover.values())
            result = sum(n * union(dim + 1, ws) for ws, n in groups.items())
        memo[key] = result
        return result

    return union(0, frozenset(range(len(windows))))


def source_positions(
    sizes: tuple[int, ...],
    strides: tuple[int, ...],
    shifts: tuple[tuple[int, ...], ...] | None,
    extents: tuple[int, ...],
) -> int:
    """Source elements a DMA reads (see the module docstring): per dim, the
    positions covered by the windows (moved by each shift), at most the extent."""
    count = 1
    for d, (size, step, extent) in enumerate(zip(sizes, strides, extents, strict=True)):
        if shifts is None or len({sh[d] for sh in shifts}) == 1:
            n = size
        else:
            n = len({sh[d] + k * step for sh in shifts for k in range(size)})
        count *= min(n, extent)
    return count


def _op_cost(trace: ProgramTrace, stream: StreamTrace, k: int) -> _OpCost:
    op = stream.ops[k]
    bufs = [trace.buffers[b] for b in stream.op_buffers[k]]
    if isinstance(op, BarrierOp):
        return _OpCost((), "barriers")
    tiles = op.tiles()  # pyright: ignore[reportAttributeAccessIssue]

    def bits(i: int, n: int | None = None) -> int:
        count = tiles[i].num_elements if n is None else n
        return count * bufs[i].bits

    def lvl(i: int) -> str:
        return bufs[i].space

    if isinstance(op, DmaOp):
        src = tiles[0]
        cores = op.core_set
        gather = stream.core is None and cores is not None and bufs[0].per_core
        shifts = None if gather else op.core_shifts()
        n_src = source_positions(
            tuple(src.sizes),
            tuple(src.strides),
            tuple(map(tuple, shifts)) if shifts is not None else None,
            tuple(src.shape),
        )
        copies = 1
        if stream.core is None and cores is not None:
            copies = len(cores)
        reads = copies * bits(0, n_src) if gather else bits(0, n_src)
        return _OpCost(
            ((lvl(0), READ, reads), (lvl(1), WRITE, copies * bits(1))),
            "dmas",
        )
    if isinstance(op, LoadWeightsOp):
        src = tiles[0]
        shifts = op.core_shifts()
        n_src = source_positions(
            tuple(src.sizes),
            tuple(src.strides),
            tuple(map(tuple, shifts)) if shifts is not None else None,
            tuple(src.shape),
        )
        copies = len(op.core_set or ()) if stream.core is None else 1
        return _OpCost(
            ((lvl(0), READ, bits(0, n_src)), (lvl(1), WRITE, max(copies, 1) * bits(1))),
            "load_weights",
        )
    if isinstance(op, MvmOp):
        x = tiles[0]
        n_in = source_positions(tuple(x.sizes), tuple(x.strides), None, tuple(x.shape))
        return _OpCost(
            (
                (lvl(0), READ, bits(0, n_in)),
                (lvl(2), READ, bits(2)),
                (lvl(2), WRITE, bits(2)),
            ),
            "mvms",
            op.cycles,
        )
    if isinstance(op, SimdOp):
        n = len(tiles)
        return _OpCost(
            (
                *((lvl(i), SIMD_READ, bits(i)) for i in range(n - 1)),
                (lvl(n - 1), SIMD_WRITE, bits(n - 1)),
            ),
            "simd_ops",
        )
    if isinstance(op, SendOp):
        return _OpCost(((lvl(0), MSG_READ, bits(0)),), "sends")
    if isinstance(op, RecvOp):
        return _OpCost(((lvl(0), MSG_WRITE, bits(0)),), "recvs")
    raise AssertionError(f"unexpected instruction {op.name}")


def count_traffic(
    program: ProgramOp | ProgramTrace,
    streams: Sequence[str] | None = None,
) -> Traffic:
    """The traffic of every stream (or of the named ``streams``) of ``program``."""
    trace = program if isinstance(program, ProgramTrace) else compile_program(program)
    result = Traffic()
    costs: dict[Operation, _OpCost] = {}
    for stream in trace.streams:
        if streams is not None and stream.name not in streams:
            continue
        mine: dict[tuple[str, str], int] = {}
        counts = stream.op_counts()
        result.instructions[stream.name] = sum(counts)
        for k, n in enumerate(counts):
            if not n:
                continue
            op = stream.ops[k]
            cost = costs.get(op)
            if cost is None:
                cost = costs[op] = _op_cost(trace, stream, k)
            if cost.counter is not None:
                setattr(result, cost.counter, getattr(result, cost.counter) + n)
            result.mvm_cycles += n * cost.cycles
            for level, direction, b in cost.bits:
                table = result.by_direction(direction)
                table[level] = table.get(level, 0) + n * b
                mine[(level, direction)] = mine.get((level, direction), 0) + n * b
        result.per_stream[stream.name] = mine
    return result
