"""Lower one annotated ``nest.contract`` to a ``cim.program``.

The program follows the dataflow attribute exactly (see
``solver/evaluator.py`` for the semantics it implements):

* every used level of every operand gets a buffer holding that operand's tile
  there (``halves 2`` when the level is double-buffered for it), laid out as in
  :mod:`miredo.passes.lowering.tiles`; the macro level is the macro itself;
* the temporal loops become ``scf.for`` loops, outermost first, in every core
  stream and, down to the innermost loop where a shared level moves data, in the
  ``cim.global`` stream;
* an edge parent -> child of an operand triggers at the innermost loop above the
  child that is relevant to the operand (or once, before/after the nest): inputs
  and weights are loaded at the start of that loop's body, outputs are written
  back at its end; a partial-sum tile is read back from its parent on every
  visit but the first, which starts from zero (``cim.simd fill``);
* transfers from a shared level into per-core buffers are issued by
  ``cim.global`` as one multicast with per-core windows (``shifts``), and the
  write-back of per-core output tiles to a shared level as one gather (each
  core's tile to its window of the parent's tile, ``shifts`` on the
  destination), one transfer on the shared port as the model prices it;
* weights reach the macro through ``cim.load_weights``, one ``rows x cols`` block
  per combination of the weight loops kept in the macro, placed on a grid of
  blocks; each innermost iteration is one ``cim.mvm`` per core;
* ``cim.global`` and the cores meet at barriers around every transfer between a
  shared and a per-core level: before the loads (the cores are done with the old
  tile), after them (the new tile has arrived), before the write-backs (the tile
  is complete) and after them (it may be overwritten). Each barrier names the
  child buffer it hands over (``cim.barrier ... on %buf``), so that a stream only
  waits for it where it next touches that buffer: a core prefetches its next
  input register and issues the next MVMs while its last output tile is still
  being written back, as the double-buffered latency model assumes;
* a double-buffered per-core output register is written back one iteration
  late (`_Emitter._deferred`): after the next iteration's loads, so that the
  core's in-order DMA engine brings in a single-buffered input first and the
  write-back runs beside the MVM; the last tile follows the loops;
* each ``cim.global`` queue gets a port ``priority`` by the slack of its edge
  (`_Emitter.priority`): one-time and single-buffered input/weight loads first,
  then the deeper the trigger loop, the higher, so a long prefetch of an outer
  tile does not slow down the per-iteration transfers of an inner one on a
  shared port (it takes the cycles they leave); the first tile of an input or
  weight load goes first (``boot``, `_Emitter.boot`): the cores wait for it,
  not for another operand's second tile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

from xdsl.dialects.builtin import MemRefType, StringAttr
from xdsl.ir import Attribute, Block, SSAValue
from xdsl.ir.affine import AffineConstantExpr, AffineDimExpr, AffineExpr, AffineMap

from miredo.dialects import cim
from miredo.dialects.nest import ContractOp
from miredo.errors import MiredoError
from miredo.passes.lowering.builder import StreamBuilder
from miredo.passes.lowering.tiles import (
    Digit,
    Expr,
    Layout,
    Piece,
    Radix,
    TensorAxis,
    build_radix,
    layout,
    offchip_layout,
    region,
    tensor_axes,
)
from miredo.solver.evaluator import output_psum_at, used_levels
from miredo.solver.hardware import Arch
from miredo.solver.mapping import Mapping
from miredo.solver.validator import macro_grid
from miredo.solver.workload import OPERANDS, Layer

PACKED_W_ORDER = ("N", "G", "C", "R", "S", "K")
"""Dim order of packed weights in off-chip memory: rows (C, R, S) before columns (K)."""


def packed_weight_shape(layer: Layer) -> tuple[str, ...]:
    """The dims of the packed weight tensor (the weight-relevant ones, in order)."""
    return tuple(d for d in PACKED_W_ORDER if d in layer.relevant["W"])


@dataclass(frozen=True)
class Edge:
    """One parent -> child edge of an operand (``solver.evaluator.Transfer``)."""

    operand: str
    parent: str
    child: str
    slot: int | None
    """Trigger slot (``None``: once, before the nest for loads, after for stores)."""


@dataclass
class _Buffer:
    value: SSAValue
    layout: Layout
    double: bool
    per_core: bool


@dataclass
class ContractLowering:
    """Everything needed to emit one contraction's program."""

    op: ContractOp
    layer: Layer
    arch: Arch
    mapping: Mapping
    radix: Radix = field(init=False)
    axes: dict[str, list[TensorAxis]] = field(init=False)
    edges: list[Edge] = field(init=False)

    def __post_init__(self) -> None:
        self.radix = build_radix(self.layer, self.arch, self.mapping)
        self.idx = self.arch.level_index
        self.loops = self.mapping.temporal
        self.active = [i for i, lp in enumerate(self.loops) if lp.factor > 1]
        self.n_cores = self.radix.active_cores
        self._check_supported()
        shapes = {
            "I": _shape(self.op.input),
            "O": _shape(self.op.output),
        }
        self.axes = {
            op: tensor_axes(self.op.access(op), shapes[op], self.layer) for op in "IO"
        }
        self.axes["W"] = [
            TensorAxis("digits", self.layer.dims[d], ((d, 1),))
            for d in packed_weight_shape(self.layer)
        ]
        self.edges = self._edges()

    # ------------------------------------------------------------------ checks
    def _check_supported(self) -> None:
        layer, arch, m = self.layer, self.arch, self.mapping
        red = layer.reduction
        for ax in arch.array_axes:
            for lp in m.spatial.get(ax.name, ()):
                if lp.factor == 1:
                    continue
                ok = lp.dim in red and lp.dim in layer.relevant["W"]
                ok = ok or (
                    lp.dim in layer.relevant["W"]
                    and lp.dim in layer.relevant["O"]
                    and lp.dim not in layer.relevant["I"]
                )
                if not ok:
                    raise MiredoError(
                        f"the macro axis '{ax.name}' unrolls {lp.dim}, which a CIM "
                        "macro cannot compute (rows hold reduction dims, columns "
                        "output channels)",
                        layer.name,
                    )

    # ------------------------------------------------------------------ model
    def _edges(self) -> list[Edge]:
        out: list[Edge] = []
        for op in OPERANDS:
            rel = self.layer.relevant[op]
            used = used_levels(self.arch, self.mapping, op)
            lvl = [self.idx[n] for n in self.mapping.level_of[op]]
            for p, c in pairwise(used):
                ci = self.idx[c]
                trig = [
                    i for i in self.active if lvl[i] < ci and self.loops[i].dim in rel
                ]
                out.append(Edge(op, p, c, max(trig) if trig else None))
        return out

    def per_core(self, level: str) -> bool:
        return self.arch.level(level).per_core

    def reduction_groups(self) -> dict[int, list[int]]:
        """Cores that compute partial sums of the same output tile (they differ
        only in the digits of reduction dims on the cores axis): root core (all
        reduction digits 0) -> the other members, in core order. Empty when no
        reduction dim is split across cores."""
        red = [
            d
            for d in self.layer.reduction
            if any(dg.kind == "core" for dg in self.radix.digits[d])
        ]
        if not red:
            return {}
        groups: dict[tuple, list[int]] = {}
        for core in range(self.n_cores):
            digits = self.radix.core_digits(core)
            key = tuple(v for d, v in sorted(digits.items()) if d not in red)
            groups.setdefault(key, []).append(core)
        return {members[0]: members[1:] for members in groups.values()}

    def varying(self, op: str, level: str) -> frozenset[Digit]:
        """Digits spanned by ``op``'s tile at ``level``."""
        m = self.idx[level]
        lvl = self.mapping.level_of[op]
        shared = not self.per_core(level)
        out: set[Digit] = set()
        for d in self.layer.relevant[op]:
            for dg in self.radix.digits[d]:
                if (
                    dg.kind == "array"
                    or (dg.kind == "core" and shared)
                    or (dg.kind == "loop" and self.idx[lvl[dg.slot]] >= m)
                ):
                    out.add(dg)
        return frozenset(out)

    def layout_of(self, op: str, level: str) -> Layout:
        if level == self.arch.outermost:
            return offchip_layout(self.radix, self.axes[op])
        return layout(self.radix, self.axes[op], self.varying(op, level), self.layer)

    def vector_layout(self, op: str) -> Layout:
        """The elements one MVM reads (I), writes (O) or one block holds (W)."""
        array = frozenset(
            dg
            for d in self.layer.relevant[op]
            for dg in self.radix.digits[d]
            if dg.kind == "array"
        )
        return layout(self.radix, self.axes[op], array, self.layer, clamp=False)

    def bits(self, op: str, level: str) -> int:
        prec = self.arch.precision
        if op == "I":
            return prec.input
        if op == "W":
            return prec.weight
        psum = output_psum_at(self.layer, self.arch, self.mapping, level)
        return prec.psum if psum else prec.output

    def macro_blocks(self) -> tuple[list[int], int, int, int]:
        """Weight loops kept in the macro, block rows/cols and the grid's rows."""
        g = macro_grid(self.layer, self.arch, self.mapping)
        if g.blocks > g.grid_rows * g.grid_cols:
            raise MiredoError(
                f"the macro holds {g.blocks} weight blocks of {g.block_rows}x"
                f"{g.block_cols} but only {g.grid_rows}x{g.grid_cols} fit on its "
                f"{self.arch.macro.rows}x{self.arch.macro.cols} array",
                self.layer.name,
            )
        w_lvl = self.mapping.level_of["W"]
        slots = [
            i
            for i in self.active
            if w_lvl[i] == self.arch.macro.level
            and self.loops[i].dim in self.layer.relevant["W"]
        ]
        return slots, g.block_rows, g.block_cols, g.grid_rows


def _shape(value: SSAValue) -> tuple[int, ...]:
    t = value.type
    assert isinstance(t, MemRefType)
    return tuple(t.get_shape())


# --------------------------------------------------------------------------- #
# Program emission
# --------------------------------------------------------------------------- #


def lower_contract(
    low: ContractLowering, sym_name: str, arg_types: list[Attribute]
) -> cim.ProgramOp:
    """The ``cim.program`` of one contraction; args are (I, packed W, O)."""
    arch, layer = low.arch, low.layer
    shared = [lv.name for lv in arch.levels if not lv.per_core]
    per_core = [lv.name for lv in arch.levels if lv.per_core]
    dram = arch.outermost
    program = cim.ProgramOp(
        sym_name,
        arg_types,
        arch=arch.name,
        cores=arch.n_cores,
        shared=shared,
        per_core=per_core,
        macro=arch.macro.level,
        arg_bits=[low.bits("I", dram), low.bits("W", dram), low.bits("O", dram)],
        node=layer.name,
    )
    elts = {op: _elt(v) for op, v in zip("IWO", program.args, strict=True)}
    buffers: dict[tuple[str, str], _Buffer] = {}
    for op, arg in zip("IWO", program.args, strict=True):
        buffers[(dram, op)] = _Buffer(arg, low.layout_of(op, dram), False, False)
    for op in OPERANDS:
        for level in used_levels(arch, low.mapping, op)[1:]:
            double = (level, op) in low.mapping.double_buffer
            if level == arch.macro.level:
                lay = Layout(())
                shape = (arch.macro.rows, arch.macro.cols)
            else:
                lay = low.layout_of(op, level)
                shape = lay.shape
            alloc = cim.AllocOp(
                MemRefType(elts[op], shape, memory_space=StringAttr(level)),
                halves=2 if double else None,
                bits=low.bits(op, level),
                node=layer.name,
            )
            program.add(alloc)
            buffers[(level, op)] = _Buffer(
                alloc.result, lay, double, arch.level(level).per_core
            )
    emitter = _Emitter(low, buffers)
    emitter.scratch = {}
    if emitter.groups:
        for e in low.edges:
            if (
                e.operand == "O"
                and low.per_core(e.child)
                and not low.per_core(e.parent)
            ):
                buf = buffers[(e.child, "O")]
                alloc = cim.AllocOp(
                    MemRefType(
                        elts["O"], buf.layout.shape, memory_space=StringAttr(e.child)
                    ),
                    bits=low.bits("O", e.child),
                    node=layer.name,
                )
                program.add(alloc)
                emitter.scratch[e.child] = alloc.result
    for queue, edge in enumerate(emitter.queues):
        block = Block()
        emitter.emit_stream(StreamBuilder(block, None), None, edge)
        program.add(
            cim.GlobalOp(
                block,
                queue=queue,
                priority=emitter.priority(edge),
                boot=emitter.boot(edge),
                node=layer.name,
            )
        )
    for core in range(low.n_cores):
        block = Block()
        emitter.emit_stream(
            StreamBuilder(block, low.radix.core_digits(core)), core, None
        )
        program.add(cim.CoreOp(core, block, node=layer.name))
    return program


def _weights(low: ContractLowering, slots: list[int]) -> list[int]:
    """The weight of each loop's counter in the mixed-radix count over ``slots``
    (outermost first; the innermost counts 1)."""
    out: list[int] = []
    w = 1
    for i in reversed(slots):
        out.append(w)
        w *= low.loops[i].factor
    return out[::-1]


def _affine_count(weights: list[int]) -> AffineExpr:
    """``Σ d_k · weights[k]``: the mixed-radix count of an ``affine.apply`` whose
    operands are the counters the weights belong to (see :func:`_weights`)."""
    count: AffineExpr = AffineConstantExpr(0)
    for k, w in enumerate(weights):
        count = count + AffineDimExpr(k) * w
    return count


def _elt(value: SSAValue) -> Attribute:
    t = value.type
    assert isinstance(t, MemRefType)
    return t.element_type


def _disjoint(shifts: list[list[int]] | None, piece: Piece) -> bool:
    """Whether a piece's tile moved by each of ``shifts`` gives pairwise disjoint
    windows (what a gather ``cim.dma`` needs)."""
    if shifts is None:
        return False
    return all(
        cim.windows_disjoint(a, b, piece.sizes, piece.strides)
        for i, a in enumerate(shifts)
        for b in shifts[i + 1 :]
    )


@dataclass
class _Role:
    """What one stream does: the edges whose transfers it issues (``own``), the
    edges whose child buffer it reads or writes and whose transfers it therefore
    waits for (``consumed``), and how deep its loop nest goes (``None``: all the
    way, with the MVMs)."""

    own: list[Edge]
    consumed: list[Edge]
    depth: int | None


class _Emitter:
    """Emits the streams of one contraction program."""

    def __init__(self, low: ContractLowering, buffers: dict[tuple[str, str], _Buffer]):
        self.low = low
        self.buffers = buffers
        self.node = low.layer.name
        arch = low.arch
        self.macro = arch.macro.level
        # one cim.global queue per edge out of a shared level; the consumer of an
        # edge's child buffer is the cores (per-core child) or the queue of the
        # operand's next edge (shared child)
        self.queues = [e for e in low.edges if not low.per_core(e.parent)]
        self.upstream: dict[Edge, Edge] = {
            e: u
            for e in self.queues
            for u in self.queues
            if u.operand == e.operand and u.child == e.parent
        }
        self.cross = [e for e in self.queues if low.per_core(e.child)]
        self.groups = low.reduction_groups()
        """Cross-core reduction: root core -> members (see ``_reduce``)."""
        self.member_of = {m: r for r, ms in self.groups.items() for m in ms}
        self.barrier_ids: dict[tuple[str, Edge], int] = {}

    def boot(self, e: Edge) -> int:
        """The port priority of the first transfer of ``e``'s queue (``cim.global
        ... boot``). An input or weight load's first tile has no slack: nothing
        is prefetched yet and the cores wait for it. So it goes after the
        one-time loads and ahead of every later transfer (another queue's
        prefetch of its second tile included), the outer trigger loop first: the
        first tiles arrive one after the other, not interleaved burst by burst,
        so the hop behind each can start as soon as it is in."""
        if e.operand == "O" or e.slot is None:
            return self.priority(e)
        n = len(self.low.active)
        return 3 * n + 2 - self.low.active.index(e.slot)

    def priority(self, e: Edge) -> int:
        """The port priority of the queue of ``e`` (``cim.global ... priority``),
        by slack, the time between issuing a transfer and the cores needing it:
        none for a one-time transfer (boot load, tail write-back; above every
        first tile, `boot`) or a single-buffered input or weight load (the cores
        wait for it); one iteration of the trigger loop for any other, the
        shorter the deeper the loop. So a prefetch of the next outer tile yields
        the port to the inner tiles the cores need sooner, and still takes every
        cycle they leave."""
        active = self.low.active
        n = len(active)
        if e.slot is None:
            return 3 * n + 3
        depth = 1 + active.index(e.slot)
        if e.operand != "O" and self._single(e):
            return n + 1 + depth
        return depth

    # ------------------------------------------------------------------ helpers
    def _barrier(self, b: StreamBuilder, kind: str, e: Edge) -> None:
        """A barrier of the hand-over of ``e``'s child buffer, which it names: the
        buffer is the only data the participants (the edge's issuing stream and
        the consumer of its child) share, so instructions that do not touch it
        need not wait (the next tile's prefetch and MVMs run on)."""
        key = (kind, e)
        if key not in self.barrier_ids:
            self.barrier_ids[key] = len(self.barrier_ids)
        child = self.buffers[(e.child, e.operand)].value
        b.add(cim.BarrierOp(self.barrier_ids[key], [child], node=self.node))

    def _loads(self, e: Edge) -> bool:
        """Whether ``e`` moves data inwards (always for I and W; partial-sum
        read-back for O)."""
        return e.operand != "O" or self._may_read_back(e)

    def _single(self, e: Edge) -> bool:
        return (e.child, e.operand) not in self.low.mapping.double_buffer

    def _sync_loads(self, b: StreamBuilder, edges: list[Edge], *, after: bool) -> None:
        """The barriers that bracket loads of ``edges`` into their child buffers:
        before (the consumer is done with a single-buffered child) or after (the
        new tile has arrived)."""
        for e in edges:
            if self._loads(e) and (after or self._single(e)):
                self._barrier(b, "after-load" if after else "before-load", e)

    def _sync_stores(self, b: StreamBuilder, edges: list[Edge], *, after: bool) -> None:
        """The barriers that bracket write-backs of ``edges``: before (the tile is
        complete) or after (a single-buffered child may be overwritten)."""
        for e in edges:
            if e.operand == "O" and (not after or self._single(e)):
                self._barrier(b, "after-store" if after else "before-store", e)

    def _may_read_back(self, e: Edge) -> bool:
        return bool(self._irrelevant_above(e))

    def _irrelevant_above(self, e: Edge) -> list[int]:
        """Active loops at or above the trigger that the operand ignores (a tile
        revisited across them: partial sums for O)."""
        if e.slot is None:
            return []
        rel = self.low.layer.relevant[e.operand]
        return [
            i
            for i in self.low.active
            if i <= e.slot and self.low.loops[i].dim not in rel
        ]

    def _view(self, b: StreamBuilder, level: str, op: str) -> SSAValue:
        buf = self.buffers[(level, op)]
        if not buf.double:
            return buf.value
        return b.views[(level, op)]

    def _select_halves(
        self, b: StreamBuilder, slot: int | None, edges: list[Edge]
    ) -> None:
        """At a trigger slot, pick the current half of every double-buffered child
        of ``edges`` (those the stream touches)."""
        for e in edges:
            if e.slot != slot:
                continue
            buf = self.buffers[(e.child, e.operand)]
            if not buf.double:
                continue
            half = b.add(
                cim.SelectHalfOp(
                    buf.value, b.index_value(self._counter(slot)), node=self.node
                )
            )
            b.views[(e.child, e.operand)] = half.results[0]

    def _windows(
        self, offsets: tuple[Expr, ...], cores: list[int]
    ) -> tuple[tuple[Expr, ...], list[list[int]] | None]:
        """A multicast's source offsets without the core terms, and each core's
        window shift (``None`` when every core reads the same window)."""
        shifts = [
            [o.core_part(self.low.radix.core_digits(c)) for o in offsets] for c in cores
        ]
        base = tuple(o.without_cores() for o in offsets)
        return base, (shifts if any(any(r) for r in shifts) else None)

    def _tile(
        self, b: StreamBuilder, value: SSAValue, offsets: tuple[Expr, ...], piece
    ) -> cim.Tile:
        return cim.Tile.of(
            value, [b.index(o) for o in offsets], piece.sizes, piece.strides
        )

    # ------------------------------------------------------------------ streams
    def emit_stream(
        self, b: StreamBuilder, core: int | None, queue: Edge | None
    ) -> None:
        """Core ``core``'s stream, or (``core`` None) the queue of edge ``queue``."""
        if queue is None:
            role = _Role(
                own=[e for e in self.low.edges if self.low.per_core(e.parent)],
                consumed=self.cross,
                depth=None,
            )
        else:
            up = self.upstream.get(queue)
            consumed = [up] if up is not None else []
            slots = [e.slot for e in (queue, *consumed) if e.slot is not None]
            role = _Role([queue], consumed, max(slots) if slots else -1)
        self._load_phase(b, None, core, role)
        self._nest(b, 0, core, role)
        self._store_phase(b, None, core, role)

    def _nest(self, b: StreamBuilder, k: int, core: int | None, role: _Role) -> None:
        active = self.low.active
        if role.depth is not None and (k >= len(active) or active[k] > role.depth):
            return
        if k == len(active):
            self._mvm(b)
            return
        slot = active[k]
        with b.loop(slot, self.low.loops[slot].factor):
            self._load_phase(b, slot, core, role)
            self._nest(b, k + 1, core, role)
            self._store_phase(b, slot, core, role)
        for e in role.own:  # the last tile of a deferred write-back range
            inner = self._deferred(e, core)
            if inner and inner[0] == slot:
                last = {i: b.constant(self.low.loops[i].factor - 1) for i in inner}
                self._store_at(b, e, core, last)

    # ------------------------------------------------------------------ phases
    def _load_phase(
        self, b: StreamBuilder, slot: int | None, core: int | None, role: _Role
    ) -> None:
        """Wait for the tiles this stream consumes, then issue its own loads."""
        self._select_halves(b, slot, role.own + role.consumed)
        consumed = [e for e in role.consumed if e.slot == slot]
        self._sync_loads(b, consumed, after=False)
        self._sync_loads(b, consumed, after=True)
        if core is not None:
            for e in consumed:  # first visits of a partial-sum tile: zero
                if e.operand == "O":
                    self._load(b, e, core)
        own = [e for e in role.own if e.slot == slot]
        if core is None:
            self._sync_loads(b, own, after=False)
        for e in own:
            self._load(b, e, core)
        if core is None:
            self._sync_loads(b, own, after=True)
        for e in own:
            if self._deferred(e, core):
                self._store_previous(b, e, core)

    def _store_phase(
        self, b: StreamBuilder, slot: int | None, core: int | None, role: _Role
    ) -> None:
        """Issue this stream's write-backs, then hand over the tiles it consumed."""
        own = [e for e in reversed(role.own) if e.slot == slot and e.operand == "O"]
        consumed = [e for e in role.consumed if e.slot == slot and e.operand == "O"]
        if core is None:
            self._sync_stores(b, own, after=False)
        for e in own:
            self._prefetch(b, e, core)
            if not self._deferred(e, core):
                self._store(b, e, core)
        if core is None:
            self._sync_stores(b, own, after=True)
        if core is not None and self.groups:
            for e in consumed:
                self._reduce(b, e, core)
        self._sync_stores(b, consumed, after=False)
        self._sync_stores(b, consumed, after=True)

    # ------------------------------------------------------------------ transfers
    def _load(self, b: StreamBuilder, e: Edge, core: int | None) -> None:
        """Issue this stream's part of a load of edge ``e``."""
        if e.operand == "W" and e.child == self.macro:
            self._load_weights(b, e, core)
            return
        if e.operand != "O":
            self._dma_down(b, e, core)
            return
        # partial sums: zero on the first visit, read back on the others
        irrelevant = self._irrelevant_above(e)
        child_stream_is_me = self.low.per_core(e.child) == (core is not None)
        dma_stream_is_me = self.low.per_core(e.parent) == (core is not None)
        boundary = not self.low.per_core(e.parent) and self.low.per_core(e.child)
        if boundary and core in self.member_of:
            irrelevant = []  # a group member always starts from zero
        # Only the level the MVMs accumulate into needs zeros: on a first visit
        # every element of an outer level's tile is written back from inside
        # before it is read (a later visit of an inner tile reads back what an
        # earlier one wrote), so zeroing it would be dead work.
        fill = child_stream_is_me and e.child == self.low.arch.innermost("O")
        if not fill and not dma_stream_is_me:
            return
        if not irrelevant:
            if fill:
                self._fill(b, e)
            return
        first = Expr()
        for i in irrelevant:
            first = first + Expr.iv(i)
        inner = self._prefetched(e, core)
        with b.if_zero(first) as (then_b, else_b):
            if fill:
                with b.into(then_b):
                    self._fill(b, e)
            if dma_stream_is_me:
                with b.into(else_b):
                    if not inner:
                        self._dma_down(b, e, core)
                    else:  # read back here only if the last iteration did not
                        start = Expr()
                        for i, w in zip(inner, _weights(self.low, inner), strict=True):
                            start = start + Expr.iv(i, w)
                        with b.if_zero(start) as (first_b, _), b.into(first_b):
                            self._dma_down(b, e, core)

    def _prefetched(self, e: Edge, core: int | None) -> list[int]:
        """The loops across which a core reads back the next partial-sum tile of
        ``e`` ahead (empty: it does not): a per-core -> per-core edge into a
        double-buffered child, whose read-back the core issues after the MVMs of
        the current tile and before its write-back (`_prefetch`), so that it
        overlaps them on the link's in-order DMA engine, as the double-buffered
        latency model assumes. The read-back and the write-back use the parent
        buffer, so in the opposite order the read-back of the next tile would
        wait for the write-back of the current one, which waits for its MVMs.
        The prefetch stays within one iteration of the parent's trigger loop (the
        parent tile changes there)."""
        return self._deferred(e, core) if self._may_read_back(e) else []

    def _prefetch(self, b: StreamBuilder, e: Edge, core: int | None) -> None:
        """Read back the partial sums of the next iteration's tile of ``e`` into
        the other half of its child (see `_prefetched`), unless that is a first
        visit (zeroed by its own load phase) or the last iteration of the range."""
        inner = self._prefetched(e, core)
        if not inner:
            return
        low = self.low
        weights = _weights(low, inner)
        n = len(inner)
        count = _affine_count(weights)

        def at_next(slot: int) -> AffineExpr:
            w = weights[inner.index(slot)]
            return ((count + 1) // w) % low.loops[slot].factor

        nxt = {
            slot: b.apply(AffineMap(n, 0, (at_next(slot),)), inner) for slot in inner
        }
        total = 1
        for i in inner:
            total *= low.loops[i].factor
        # skip the last iteration of the range and a first visit of the next tile
        # (every loop the operand ignores at its first iteration there)
        irrelevant = self._irrelevant_above(e)
        outer = [i for i in irrelevant if i not in inner]
        visits: AffineExpr = AffineConstantExpr(0)
        for i in irrelevant:
            visits = visits + (
                at_next(i) if i in inner else AffineDimExpr(n + outer.index(i))
            )
        cond = [
            b.apply(AffineMap(n, 0, (count - (total - 1),)), inner),
            b.apply(AffineMap(n + len(outer), 0, (visits,)), inner + outer),
        ]
        counter = self._counter(e.slot)
        with b.if_any_zero(cond) as (_, else_b), b.into(else_b):
            buf = self.buffers[(e.child, "O")]
            half = b.add(
                cim.SelectHalfOp(buf.value, b.index_value(counter + 1), node=self.node)
            )
            key = (e.child, "O")
            view = b.views[key]
            b.views[key] = half.results[0]
            with b.shifted(nxt):
                self._dma_down(b, e, core)
            b.views[key] = view

    def _deferred(self, e: Edge, core: int | None) -> list[int]:
        """The loops across which a core writes back ``e``'s output tile one
        iteration late (empty: it does not): a per-core -> per-core edge into a
        double-buffered child. The write-back of tile i - 1 then follows the loads
        of iteration i on the link's in-order DMA engine, so a single-buffered
        input load that MVM i waits for is not queued behind it, and the
        write-back runs beside MVM i, as the double-buffered latency model
        assumes. The range is the loops below the parent's trigger (the parent
        tile changes there); its last tile is written back after them."""
        low = self.low
        if (
            core is None
            or e.operand != "O"
            or e.slot is None
            or not low.per_core(e.parent)
            or not low.per_core(e.child)
            or self._single(e)
        ):
            return []
        up = [u for u in low.edges if u.operand == "O" and u.child == e.parent]
        lo = up[0].slot if up and up[0].slot is not None else -1
        return [i for i in low.active if lo < i <= e.slot]

    def _counter(self, slot: int | None) -> Expr:
        """The linear iteration count of the active loops down to ``slot`` (none
        above the first: 0), which selects the current half of a double-buffered
        child triggered there."""
        slots = [s for s in self.low.active if slot is not None and s <= slot]
        counter = Expr()
        for i, w in zip(slots, _weights(self.low, slots), strict=True):
            counter = counter + Expr.iv(i, w)
        return counter

    def _store_previous(self, b: StreamBuilder, e: Edge, core: int | None) -> None:
        """Write back the previous iteration's tile of ``e`` (see `_deferred`),
        unless this is the first iteration of the range."""
        inner = self._deferred(e, core)
        weights = _weights(self.low, inner)
        n = len(inner)
        count = _affine_count(weights)
        prev = {
            slot: b.apply(
                AffineMap(n, 0, (((count - 1) // w) % self.low.loops[slot].factor,)),
                inner,
            )
            for slot, w in zip(inner, weights, strict=True)
        }
        first = b.apply(AffineMap(n, 0, (count,)), inner)
        with b.if_any_zero([first]) as (_, else_b), b.into(else_b):
            self._store_at(b, e, core, prev)

    def _store_at(
        self, b: StreamBuilder, e: Edge, core: int | None, ivs: dict[int, SSAValue]
    ) -> None:
        """Write back ``e``'s tile at loop counters ``ivs``, from the half of its
        child those counters select."""
        key = (e.child, "O")
        view = b.views.get(key)
        with b.shifted(ivs):
            half = b.add(
                cim.SelectHalfOp(
                    self.buffers[key].value,
                    b.index_value(self._counter(e.slot)),
                    node=self.node,
                )
            )
            b.views[key] = half.results[0]
            self._store(b, e, core)
        if view is None:
            b.views.pop(key, None)
        else:
            b.views[key] = view

    def _fill(self, b: StreamBuilder, e: Edge) -> None:
        view = self._view(b, e.child, "O")
        b.add(
            cim.SimdElementwiseOp(
                "fill", [], cim.Tile.of(view), value=0.0, node=self.node
            )
        )

    def _dma_down(self, b: StreamBuilder, e: Edge, core: int | None) -> None:
        """Parent -> child copy of ``e``'s tile (a multicast from cim.global when
        the child is per-core and the parent shared)."""
        low = self.low
        src = self.buffers[(e.parent, e.operand)]
        dst = self.buffers[(e.child, e.operand)]
        src_v, dst_v = (
            self._view(b, e.parent, e.operand),
            self._view(b, e.child, e.operand),
        )
        pieces = region(src.layout, dst.layout)
        multicast = core is None and dst.per_core
        pad = e.operand == "I" and any(a.axis.kind == "halo" for a in dst.layout.axes)
        for piece in pieces:
            dst_tile = cim.Tile.of(dst_v, list(piece.small_offsets), piece.small_sizes)
            if not multicast:
                b.add(
                    cim.DmaOp(
                        self._tile(b, src_v, piece.offsets, piece),
                        dst_tile,
                        zero_pad=pad,
                        node=self.node,
                    )
                )
                continue
            cores = [
                c
                for c in range(low.n_cores)
                if e.operand != "O" or c not in self.member_of
            ]
            base, shifts = self._windows(piece.offsets, cores)
            b.add(
                cim.DmaOp(
                    self._tile(b, src_v, base, piece),
                    dst_tile,
                    cores=cores,
                    shifts=shifts,
                    zero_pad=pad,
                    node=self.node,
                )
            )

    def _store(self, b: StreamBuilder, e: Edge, core: int | None) -> None:
        """Child -> parent write-back of an output tile."""
        low = self.low
        src = self.buffers[(e.child, "O")]
        dst = self.buffers[(e.parent, "O")]
        src_v, dst_v = self._view(b, e.child, "O"), self._view(b, e.parent, "O")
        pieces = region(dst.layout, src.layout)
        gather = core is None and src.per_core
        for piece in pieces:
            src_tile = cim.Tile.of(src_v, list(piece.small_offsets), piece.small_sizes)
            if not gather:
                b.add(
                    cim.DmaOp(
                        src_tile,
                        self._tile(b, dst_v, piece.offsets, piece),
                        node=self.node,
                    )
                )
                continue
            # a group member's partial sums went to its group's root
            cores = [c for c in range(low.n_cores) if c not in self.member_of]
            base, shifts = self._windows(piece.offsets, cores)
            if len(cores) > 1 and _disjoint(shifts, piece):
                b.add(
                    cim.DmaOp(
                        src_tile,
                        self._tile(b, dst_v, base, piece),
                        cores=cores,
                        shifts=shifts,
                        node=self.node,
                    )
                )
                continue
            for c in cores:
                digits = low.radix.core_digits(c)
                offs = tuple(o.bind_core(digits) for o in piece.offsets)
                b.add(
                    cim.DmaOp(
                        src_tile,
                        self._tile(b, dst_v, offs, piece),
                        cores=[c],
                        node=self.node,
                    )
                )

    def _reduce(self, b: StreamBuilder, e: Edge, core: int | None) -> None:
        """Cross-core partial-sum accumulation before the write-back of ``e``:
        each group member sends its tile to the root, which adds them up."""
        assert core is not None
        view = self._view(b, e.child, "O")
        tag = self.low.edges.index(e)
        if core in self.member_of:
            b.add(
                cim.SendOp(
                    cim.Tile.of(view), self.member_of[core], tag=tag, node=self.node
                )
            )
            return
        scratch = self.scratch[e.child]
        for member in self.groups.get(core, []):
            b.add(cim.RecvOp(cim.Tile.of(scratch), member, tag=tag, node=self.node))
            b.add(
                cim.SimdElementwiseOp(
                    "add",
                    [cim.Tile.of(view), cim.Tile.of(scratch)],
                    cim.Tile.of(view),
                    node=self.node,
                )
            )

    # ------------------------------------------------------------------ macro
    def _block_offsets(
        self, b: StreamBuilder, slots: list[int], ru: int, cu: int, nr: int
    ) -> tuple[int | SSAValue, int | SSAValue]:
        """Row and column of the current block on the macro's block grid."""
        if not slots:
            return 0, 0
        index: AffineExpr = AffineConstantExpr(0)
        weight = 1
        for k in reversed(range(len(slots))):
            index = index + AffineDimExpr(k) * weight
            weight *= self.low.loops[slots[k]].factor
        if weight <= nr:
            row = AffineMap(len(slots), 0, (index * ru,))
            return b.apply(row, slots), 0
        row = AffineMap(len(slots), 0, ((index % nr) * ru,))
        col = AffineMap(len(slots), 0, ((index // nr) * cu,))
        return b.apply(row, slots), b.apply(col, slots)

    def _load_weights(self, b: StreamBuilder, e: Edge, core: int | None) -> None:
        """Weight blocks into the macro: by each core from a per-core level, or
        broadcast by ``cim.global`` from a shared one (each core its window)."""
        low = self.low
        broadcast = core is None
        slots, ru, cu, nr = self.low.macro_blocks()
        src = self.buffers[(e.parent, "W")]
        src_v = self._view(b, e.parent, "W")
        macro = self.buffers[(self.macro, "W")].value
        vec = self.low.vector_layout("W")

        def body(k: int) -> None:
            if k < len(slots):
                with b.loop(slots[k], self.low.loops[slots[k]].factor):
                    body(k + 1)
                return
            (piece,) = region(src.layout, vec)
            r0, c0 = self._block_offsets(b, slots, ru, cu, nr)
            dst = cim.Tile.of(macro, [r0, c0], [ru, cu])
            if not broadcast:
                b.add(
                    cim.LoadWeightsOp(
                        self._tile(b, src_v, piece.offsets, piece), dst, node=self.node
                    )
                )
                return
            cores = list(range(low.n_cores))
            base, shifts = self._windows(piece.offsets, cores)
            b.add(
                cim.LoadWeightsOp(
                    self._tile(b, src_v, base, piece),
                    dst,
                    cores=cores,
                    shifts=shifts,
                    node=self.node,
                )
            )

        body(0)

    def _mvm(self, b: StreamBuilder) -> None:
        low = self.low
        arch = low.arch
        slots, ru, cu, nr = low.macro_blocks()
        i_lvl, o_lvl = arch.innermost("I"), arch.innermost("O")
        ibuf, obuf = self.buffers[(i_lvl, "I")], self.buffers[(o_lvl, "O")]
        (ip,) = region(ibuf.layout, low.vector_layout("I"))
        (op_,) = region(obuf.layout, low.vector_layout("O"))
        r0, c0 = self._block_offsets(b, slots, ru, cu, nr)
        macro = self.buffers[(self.macro, "W")].value
        b.add(
            cim.MvmOp(
                self._tile(b, self._view(b, i_lvl, "I"), ip.offsets, ip),
                cim.Tile.of(macro, [r0, c0], [ru, cu]),
                self._tile(b, self._view(b, o_lvl, "O"), op_.offsets, op_),
                input_bits=arch.precision.input,
                bits_per_cycle=arch.macro.input_bits_per_cycle,
                acc=True,
                zero_pad=any(a.axis.kind == "halo" for a in ibuf.layout.axes),
                node=self.node,
            )
        )
