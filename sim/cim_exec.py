"""A functional simulator of ``cim`` programs on numpy buffers.

`run_program(program, args)` executes a ``cim.program`` with its off-chip arguments
bound to ``args`` (written in place, as ``cim.launch`` does on the host's tensors).
Every ``cim.alloc`` becomes numpy arrays: one per core for a per-core level, one for
a shared level, times two for ``halves 2``; the dtype is the memref's element type
(`numpy_dtype`), initialised to zeros (``poison=True`` fills floats with NaN and
integers with their minimum, to catch reads of data never written).

Streams run concurrently. A deterministic cooperative scheduler runs each stream
(``cim.global`` first, then the cores in program order) until it blocks, round
robin, until all have finished:

* ``cim.barrier <id>``: the participants are the streams that contain a barrier
  with that id anywhere; a stream's ``k``-th arrival waits until every participant
  has arrived ``k`` times. The buffers a barrier names (``on %b``) do not matter
  here: every barrier is a full one, the strictest order the timing simulator's
  per-buffer barriers allow, so the results are the same.
* ``cim.send`` never blocks: the tile is copied into an unbounded FIFO per
  (sender, receiver, tag). ``cim.recv`` blocks until that FIFO is not empty.
* When no stream can make progress, `MiredoError` names the program and every stuck
  stream with what it waits for.

Numerics (per the ``cim`` docstrings):

* DMA: elements correspond in row-major order (tiles may differ in rank);
  ``zero_pad`` reads 0 outside the source buffer; a multicast writes each listed
  core's instance (its window of the source with ``shifts``), a gather writes
  each listed core's tile to its window of the destination (core order; the
  verifier makes the windows disjoint); values are converted to the
  destination dtype by numpy assignment. Storage widths (``bits``) are not
  emulated: they count traffic, the element type is what is computed with.
* MVM: ``y = (acc ? y : 0) + x @ M``. Integer data is exact modulo the output
  width: the product is computed in float64 when every partial sum provably fits
  in 53 bits (BLAS; e.g. int8 x int8 for any realistic row count), else in int64,
  and the sum with ``y`` in int64, then cast (wrapping) to the output type. Float
  data is computed in float64 and rounded once to the output type per MVM; this is
  at least as accurate as the float32 BLAS reference of `miredo.sim.kernels`, so
  tiled results agree with it to about 1e-6 relative.
* SIMD: the kernels of `miredo.sim.kernels` (the ``nest`` interpreter's), applied to
  the tiles as arrays of the tile sizes. ``cim.requant`` computes
  ``x * scale [* s]`` in float64, rounds half to even, adds the zero point and
  saturates to the output type.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from types import EllipsisType

import numpy as np
from xdsl.dialects.builtin import DenseArrayBase, IntegerType, MemRefType, StringAttr
from xdsl.ir import Attribute, Operation, SSAValue

from miredo.dialects.cim import (
    BarrierOp,
    DmaOp,
    LayerNormOp,
    LoadWeightsOp,
    MvmOp,
    PoolOp,
    ProgramOp,
    RecvOp,
    ReduceOp,
    RequantOp,
    SendOp,
    SimdElementwiseOp,
    SoftmaxOp,
)
from miredo.errors import MiredoError
from miredo.sim import kernels
from miredo.sim.cim_trace import (
    Buffer,
    Instr,
    ProgramTrace,
    StreamTrace,
    TileRef,
    compile_program,
)
from miredo.sim.nest_interpreter import numpy_dtype

Handler = Callable[[Instr, int | None], None]
"""Executes one instruction in the stream of a core (its id) or global (None)."""


_INDEX_CACHE = 1 << 16
"""Tile indices cached per buffer before the cache starts over."""


class _Fault(Exception):
    """An execution error, turned into a `MiredoError` naming the instruction."""


# --------------------------------------------------------------------------- #
# Tiles as numpy arrays
# --------------------------------------------------------------------------- #


def tile_view(
    array: np.ndarray,
    offsets: Sequence[int],
    sizes: Sequence[int],
    strides: Sequence[int],
) -> np.ndarray:
    """The tile as a (writeable) view of shape ``sizes``; it must fit ``array``."""
    return array[_slices(array.shape, offsets, sizes, strides)]


def read_padded(
    array: np.ndarray,
    offsets: Sequence[int],
    sizes: Sequence[int],
    strides: Sequence[int],
) -> np.ndarray:
    """The tile's elements (shape ``sizes``), reading 0 outside ``array``."""
    if len(offsets) != array.ndim:
        raise _Fault(f"a rank-{len(offsets)} tile of a rank-{array.ndim} buffer")
    src: list[slice] = []
    dst: list[slice] = []
    for o, n, s, extent in zip(offsets, sizes, strides, array.shape, strict=True):
        # In-bounds k: 0 <= o + k*s < extent.
        k_lo = max(0, -(o // s)) if o < 0 else 0
        k_hi = min(n, (extent - 1 - o) // s + 1) if o <= extent - 1 else 0
        if k_hi <= k_lo:
            return np.zeros(tuple(sizes), dtype=array.dtype)
        src.append(slice(o + k_lo * s, o + (k_hi - 1) * s + 1, s))
        dst.append(slice(k_lo, k_hi))
    inside = array[tuple(src)]
    if inside.shape == tuple(sizes):
        return inside
    out = np.zeros(tuple(sizes), dtype=array.dtype)
    out[tuple(dst)] = inside
    return out


def _fmt_tile(
    offsets: Sequence[int], sizes: Sequence[int], strides: Sequence[int]
) -> str:
    text = f"[{','.join(map(str, offsets))}][{','.join(map(str, sizes))}]"
    if any(s != 1 for s in strides):
        text += f"[{','.join(map(str, strides))}]"
    return text


def describe(ins: Instr) -> str:
    """``<stream>: <op> '<node>'`` for messages."""
    node = ins.op.properties.get("node")
    name = f" '{node.data}'" if isinstance(node, StringAttr) else ""
    tiles = ", ".join(
        f"{t.buf}{'' if t.half is None else f'.h{t.half}'}"
        f"{_fmt_tile(t.offsets, t.sizes, t.strides)}"
        for t in ins.tiles
    )
    return f"{ins.stream}: {ins.op.name}{name} {tiles}".rstrip()


# --------------------------------------------------------------------------- #
# Scheduling
# --------------------------------------------------------------------------- #


@dataclass
class ExecStats:
    """What a run executed."""

    instructions: dict[str, int] = field(default_factory=dict)
    """Dynamic instructions per stream."""

    @property
    def total(self) -> int:
        return sum(self.instructions.values())


@dataclass
class _Wait:
    """Why a stream is blocked; ``ready`` says whether it may continue."""

    ready: Callable[[], bool]
    what: Callable[[], str]


@dataclass
class _Stream:
    trace: StreamTrace
    runner: Iterator[_Wait]
    wait: _Wait | None = None
    done: bool = False


class CimMachine:
    """The functional state of one program: its buffers and message queues."""

    def __init__(
        self,
        program: ProgramOp,
        trace: ProgramTrace | None = None,
        *,
        poison: bool = False,
    ):
        self.program = program
        self.trace = trace if trace is not None else compile_program(program)
        hier = program.hierarchy()
        if hier is None:
            raise MiredoError(f"@{program.sym_name.data} has a malformed header")
        self.hier = hier
        self.poison = poison
        self.mem: dict[str, list[list[np.ndarray]]] = {}
        """Per buffer id: per core instance (one for shared levels), per half."""
        self.fifos: dict[tuple[int, int, int], deque[np.ndarray]] = {}
        self._wide: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._per_core = {b.id: b.per_core for b in self.trace.buffers.values()}
        self._indices: dict[str, dict[TileRef, tuple[slice, ...]]] = {
            b: {} for b in self.trace.buffers
        }
        self._views: list[dict[TileRef, np.ndarray]] = [
            {} for _ in range(hier.cores + 1)
        ]
        """Tile views: index 0 for shared buffers, ``1 + c`` for core ``c``'s."""
        self._handlers: dict[Operation, Handler] = {}
        for s in self.trace.streams:
            for op in s.ops:
                if op not in self._handlers:
                    self._handlers[op] = self._prepare(op)

    # ---- buffers ----------------------------------------------------------- #

    def _allocate(self, args: Sequence[np.ndarray]) -> None:
        params = self.program.args
        name = self.program.sym_name.data
        if len(args) != len(params):
            raise MiredoError(f"@{name} takes {len(params)} tensors, got {len(args)}")
        self.mem = {}
        for i, (arr, param) in enumerate(zip(args, params, strict=True)):
            t = param.type
            assert isinstance(t, MemRefType)
            shape, dtype = tuple(t.get_shape()), numpy_dtype(t.get_element_type())
            if not isinstance(arr, np.ndarray) or arr.shape != shape:
                got = getattr(arr, "shape", type(arr).__name__)
                raise MiredoError(
                    f"@{name}: argument {i} must be an array of shape {list(shape)}, "
                    f"got {list(got) if isinstance(got, tuple) else got}"
                )
            if arr.dtype != dtype:
                raise MiredoError(
                    f"@{name}: argument {i} must have dtype {dtype}, got {arr.dtype}"
                )
            if not arr.flags.writeable:
                raise MiredoError(f"@{name}: argument {i} is not writeable")
            self.mem[f"a{i}"] = [[arr]]
        for buf in self.trace.buffers.values():
            if buf.alloc is None:
                continue
            copies = self.hier.cores if buf.per_core else 1
            self.mem[buf.id] = [
                [self._fresh(buf) for _ in range(buf.halves)] for _ in range(copies)
            ]
        self.fifos = {}
        self._wide = {}
        for cache in self._indices.values():
            cache.clear()
        for views in self._views:
            views.clear()

    def _fresh(self, buf: Buffer) -> np.ndarray:
        dtype = numpy_dtype(buf.element_type)
        if not self.poison:
            return np.zeros(buf.shape, dtype=dtype)
        if np.issubdtype(dtype, np.floating):
            fill: object = np.nan
        elif np.issubdtype(dtype, np.integer):
            fill = np.iinfo(dtype).min
        else:
            fill = 0
        return np.full(buf.shape, fill, dtype=dtype)

    def buffer(
        self, buf: str, core: int | None = None, half: int | None = None
    ) -> np.ndarray:
        """The array of buffer ``buf`` (in ``core`` for a per-core level; ``half``
        of a ping-pong buffer). Valid after (and during) `run`."""
        info = self.trace.buffers[buf]
        if info.per_core:
            if core is None:
                raise MiredoError(
                    f"{buf} is in the per-core level {info.space}: which core?"
                )
            copies = self.mem[buf][core]
        else:
            copies = self.mem[buf][0]
        if (half is None) != (info.halves == 1):
            raise MiredoError(
                f"{buf} has {info.halves} half(s), addressed with half {half}"
            )
        return copies[half or 0]

    def _array(self, t: TileRef, core: int | None) -> np.ndarray:
        """The array a tile addresses from a stream of ``core``."""
        if self._per_core[t.buf]:
            if core is None:
                raise _Fault(f"{t.buf} is a per-core buffer: which core?")
            return self.mem[t.buf][core][t.half or 0]
        return self.mem[t.buf][0][t.half or 0]

    def _index(self, t: TileRef, array: np.ndarray) -> tuple[slice, ...]:
        """The (bounds-checked) numpy index of a tile, cached per buffer."""
        cache = self._indices[t.buf]
        index = cache.get(t)
        if index is None:
            if len(cache) > _INDEX_CACHE:
                cache.clear()
            index = cache[t] = _slices(array.shape, t.offsets, t.sizes, t.strides)
        return index

    def _view(self, t: TileRef, core: int | None) -> np.ndarray:
        """The tile as a view of its buffer, cached per (core, tile)."""
        if self._per_core[t.buf]:
            if core is None:
                raise _Fault(f"{t.buf} is a per-core buffer: which core?")
            cache = self._views[core + 1]
            view = cache.get(t)
            if view is not None:
                return view
            array = self.mem[t.buf][core][t.half or 0]
        else:
            cache = self._views[0]
            view = cache.get(t)
            if view is not None:
                return view
            array = self.mem[t.buf][0][t.half or 0]
        if len(cache) > _INDEX_CACHE:
            cache.clear()
        view = cache[t] = array[_slices(array.shape, t.offsets, t.sizes, t.strides)]
        return view

    def _write(self, t: TileRef, core: int | None, data: np.ndarray) -> None:
        """Store ``data`` (any shape, row-major) into a tile."""
        view = self._view(t, core)
        if data.shape != view.shape:
            if data.size != view.size:
                raise _Fault(
                    f"{data.size} elements do not fill the tile {t.buf}"
                    f"{_fmt_tile(t.offsets, t.sizes, t.strides)} ({view.size})"
                )
            data = data.reshape(view.shape)
        view[...] = data
        if self._wide:
            self._wide.pop(id(view.base), None)

    # ---- per-op handlers --------------------------------------------------- #

    def _prepare(self, op: Operation) -> Handler:
        if isinstance(op, DmaOp):
            return self._prepare_dma(op)
        if isinstance(op, LoadWeightsOp):
            return self._prepare_ldw(op)
        if isinstance(op, MvmOp):
            return self._prepare_mvm(op)
        if isinstance(op, SimdElementwiseOp):
            return self._prepare_elementwise(op)
        if isinstance(op, PoolOp):
            return self._simd(op, self._pool_fn(op))
        if isinstance(op, ReduceOp):
            kind, axes = op.kind.data, _ints(op.axes)
            return self._simd(op, lambda xs: kernels.reduce(xs[0], kind, axes, True))
        if isinstance(op, SoftmaxOp):
            axis = op.axis.value.data
            return self._simd(op, lambda xs: kernels.softmax(xs[0], axis))
        if isinstance(op, LayerNormOp):
            axis, eps = op.axis.value.data, op.epsilon.value.data
            return self._simd(
                op,
                lambda xs: kernels.layernorm(
                    xs[0], xs[1], xs[2] if len(xs) > 2 else None, axis, eps
                ),
            )
        if isinstance(op, RequantOp):
            return self._simd(op, self._requant_fn(op))
        if isinstance(op, BarrierOp):
            return _barrier  # the scheduler handles these three
        if isinstance(op, SendOp):
            return _send
        if isinstance(op, RecvOp):
            return _recv
        raise MiredoError(f"the cim simulator cannot execute '{op.name}'")

    def _prepare_dma(self, op: DmaOp) -> Handler:
        cores = op.core_set
        shifts = op.core_shifts()
        zero_pad = op.zero_pad is not None
        per_core = self._per_core

        def read(
            tile: TileRef, core: int | None, delta: Sequence[int] = ()
        ) -> np.ndarray:
            """The source tile (moved by ``delta``) read from ``core``'s view."""
            if not zero_pad and not delta:
                return self._view(tile, core)
            offs = tile.offsets
            if delta:
                offs = tuple(o + d for o, d in zip(offs, delta, strict=True))
            array = self._array(tile, core)
            if zero_pad:
                return read_padded(array, offs, tile.sizes, tile.strides)
            return tile_view(array, offs, tile.sizes, tile.strides)

        def dma(ins: Instr, core: int | None) -> None:
            src, dst = ins.tiles
            if core is not None or cores is None:
                self._write(dst, core, read(src, core))
            elif per_core[src.buf]:  # gather: each core's tile to its window
                if shifts is None:
                    self._write(dst, None, read(src, cores[0]))
                    return
                for c, delta in zip(cores, shifts, strict=True):
                    offs = tuple(o + d for o, d in zip(dst.offsets, delta, strict=True))
                    self._write(dst._replace(offsets=offs), None, read(src, c))
            elif shifts is None:  # multicast
                data = read(src, None)
                for c in cores:
                    self._write(dst, c, data)
            else:  # multicast of per-core windows
                for c, delta in zip(cores, shifts, strict=True):
                    self._write(dst, c, read(src, None, delta))

        return dma

    def _prepare_ldw(self, op: LoadWeightsOp) -> Handler:
        cores = op.core_set
        shifts = op.core_shifts()

        def ldw(ins: Instr, core: int | None) -> None:
            src, mac = ins.tiles
            if core is not None or cores is None:
                self._write(mac, core, self._view(src, core))
                return
            array = self._array(src, None)
            for k, c in enumerate(cores):
                offs = src.offsets
                if shifts is not None:
                    offs = tuple(o + d for o, d in zip(offs, shifts[k], strict=True))
                self._write(mac, c, tile_view(array, offs, src.sizes, src.strides))

        return ldw

    def _prepare_mvm(self, op: MvmOp) -> Handler:
        acc = op.acc is not None
        zero_pad = op.zero_pad is not None
        x_elt = _memref_elt(op.input)
        w_elt = _memref_elt(op.weights)
        y_dtype = numpy_dtype(_memref_elt(op.output))
        integer = bool(np.issubdtype(y_dtype, np.integer))
        wide = np.dtype(np.float64)
        if integer:
            assert isinstance(x_elt, IntegerType) and isinstance(w_elt, IntegerType)
            rows_max = max(1, math.prod(self._shape(op.input)))
            bound = rows_max * 2**x_elt.width.data * 2**w_elt.width.data
            if bound >= 2**53:
                wide = np.dtype(np.int64)

        def mvm(ins: Instr, core: int | None) -> None:
            x_t, w_t, y_t = ins.tiles
            rows, cols = w_t.sizes
            if zero_pad:
                x = read_padded(
                    self._array(x_t, core), x_t.offsets, x_t.sizes, x_t.strides
                ).reshape(rows)
            else:
                x = self._view(x_t, core).reshape(rows)
            macro = self._array(w_t, core)
            w = self._wide_macro(macro, wide)[self._index(w_t, macro)]
            y = self._view(y_t, core)
            prod = x.astype(wide) @ w
            if integer and wide.kind == "f":
                prod = prod.astype(np.int64)
            if acc:
                prod += y.reshape(cols)
            # Assignment casts (an int64 sum wraps to the output width).
            y[...] = prod if y.ndim == 1 else prod.reshape(y.shape)

        return mvm

    def _wide_macro(self, array: np.ndarray, wide: np.dtype) -> np.ndarray:
        """The macro array converted to ``wide``, cached until the macro is written."""
        hit = self._wide.get(id(array))
        if hit is not None and hit[0] is array and hit[1].dtype == wide:
            return hit[1]
        converted = array.astype(wide)
        self._wide[id(array)] = (array, converted)
        return converted

    def _shape(self, value: SSAValue) -> tuple[int, ...]:
        t = value.type
        assert isinstance(t, MemRefType)
        return tuple(t.get_shape())

    def _simd(
        self, op: Operation, fn: Callable[[list[np.ndarray]], np.ndarray]
    ) -> Handler:
        def simd(ins: Instr, core: int | None) -> None:
            *ins_t, out_t = ins.tiles
            xs = [self._view(t, core) for t in ins_t]
            out = self._view(out_t, core)
            result = np.asarray(fn(xs))
            try:
                out[...] = result
            except ValueError as e:
                raise _Fault(
                    f"result of shape {list(result.shape)} does not fit the output "
                    f"tile {list(out_t.sizes)}: {e}"
                ) from None

        return simd

    def _prepare_elementwise(self, op: SimdElementwiseOp) -> Handler:
        fn = op.fn.data
        if fn == "fill":
            assert op.value is not None
            value = op.value.value.data
            dtype = numpy_dtype(_memref_elt(op.output))
            filled = np.asarray(value).astype(dtype)
            return self._simd(op, lambda xs: filled)
        lo = None if op.min is None else op.min.value.data
        hi = None if op.max is None else op.max.value.data
        approx = "none" if op.approximate is None else op.approximate.data
        return self._simd(
            op,
            lambda xs: kernels.elementwise(
                fn, xs, min_value=lo, max_value=hi, approximate=approx
            ),
        )

    @staticmethod
    def _pool_fn(op: PoolOp) -> Callable[[list[np.ndarray]], np.ndarray]:
        kind, kernel = op.kind.data, _ints(op.kernel)
        stride, dilation, pad = _ints(op.stride), _ints(op.dilation), _ints(op.pad)
        include = op.count_include_pad is not None
        return lambda xs: kernels.pool(
            xs[0],
            kind,
            kernel=kernel,
            strides=stride,
            pads=pad,
            dilations=dilation,
            ceil_mode=False,
            count_include_pad=include,
        )

    @staticmethod
    def _requant_fn(op: RequantOp) -> Callable[[list[np.ndarray]], np.ndarray]:
        scale, zp = op.scale.value.data, op.zero_point.value.data
        dtype = numpy_dtype(_memref_elt(op.output))

        def requant(xs: list[np.ndarray]) -> np.ndarray:
            return requantize(xs[0], scale, zp, dtype, xs[1] if len(xs) > 1 else None)

        return requant

    # ---- streams ----------------------------------------------------------- #

    def _runner(self, stream: StreamTrace, stats: ExecStats) -> Iterator[_Wait]:
        """Execute one stream; yields whenever it must wait."""
        core = stream.core
        handlers = self._handlers
        name = stream.name
        count = 0
        ins: Instr | None = None
        try:
            for ins in stream:
                count += 1
                handler = handlers[ins.op]
                if handler is _barrier:
                    wait = self._arrive(ins.op, name)  # pyright: ignore
                    if wait is not None:
                        yield wait
                elif handler is _recv:
                    op = ins.op
                    assert isinstance(op, RecvOp) and core is not None
                    key = (op.peer.value.data, core, op.tag.value.data)
                    fifo = self.fifos.setdefault(key, deque())
                    if not fifo:
                        yield _Wait(
                            lambda fifo=fifo: bool(fifo),
                            lambda key=key: (
                                f"{name} waits in cim.recv from core {key[0]} tag "
                                f"{key[2]} (no message)"
                            ),
                        )
                    self._write(ins.tiles[0], core, fifo.popleft())
                elif handler is _send:
                    op = ins.op
                    assert isinstance(op, SendOp) and core is not None
                    key = (core, op.peer.value.data, op.tag.value.data)
                    data = self._view(ins.tiles[0], core).copy()
                    self.fifos.setdefault(key, deque()).append(data)
                else:
                    handler(ins, core)
        except _Fault as e:
            assert ins is not None
            raise MiredoError(
                f"@{self.program.sym_name.data}: {e}", where=describe(ins)
            ) from None
        except (ValueError, TypeError, IndexError, FloatingPointError) as e:
            if ins is None:
                raise
            raise MiredoError(
                f"@{self.program.sym_name.data}: {type(e).__name__}: {e}",
                where=describe(ins),
            ) from e
        stats.instructions[name] = count

    def _arrive(self, op: BarrierOp, name: str) -> _Wait | None:
        """Record an arrival at a barrier; the wait, unless it is already open."""
        bid = op.id.value.data
        counts = self._arrivals[bid]
        counts[name] += 1
        wait = self._barrier_wait(bid, name, counts[name])
        return None if wait.ready() else wait

    def _barrier_wait(self, bid: int, name: str, arrival: int) -> _Wait:
        counts = self._arrivals[bid]
        members = self._participants[bid]

        def ready() -> bool:
            return all(counts[p] >= arrival for p in members)

        def what() -> str:
            missing = ", ".join(
                p + (" (finished)" if p in self._finished else "")
                for p in members
                if counts[p] < arrival
            )
            return (
                f"{name} waits at cim.barrier {bid} (arrival {arrival}; missing "
                f"{missing})"
            )

        return _Wait(ready, what)

    def run(self, args: Sequence[np.ndarray]) -> ExecStats:
        """Execute the program on ``args`` (written in place)."""
        self._allocate(args)
        stats = ExecStats()
        self._participants: dict[int, list[str]] = {}
        for s in self.trace.streams:
            for b in s.barrier_ids:
                self._participants.setdefault(b, []).append(s.name)
        self._arrivals: dict[int, dict[str, int]] = {
            b: dict.fromkeys(members, 0) for b, members in self._participants.items()
        }
        self._finished: set[str] = set()
        order = sorted(self.trace.streams, key=lambda s: s.core is not None)
        streams = [_Stream(s, self._runner(s, stats)) for s in order]
        live = list(streams)
        while live:
            progress = False
            for s in live:
                if s.wait is not None and not s.wait.ready():
                    continue
                progress = True
                try:
                    s.wait = next(s.runner)
                except StopIteration:
                    s.done = True
                    s.wait = None
                    self._finished.add(s.trace.name)
            live = [s for s in live if not s.done]
            if live and not progress:
                stuck = "; ".join(s.wait.what() for s in live if s.wait is not None)
                raise MiredoError(
                    f"cim.program @{self.program.sym_name.data} deadlocks: {stuck}"
                )
        leftover = {k: len(q) for k, q in self.fifos.items() if q}
        if leftover:
            (src, dst, tag), n = next(iter(leftover.items()))
            raise MiredoError(
                f"cim.program @{self.program.sym_name.data} finished with {n} "
                f"undelivered message(s) from core {src} to core {dst} tag {tag}"
            )
        return stats


def _barrier(ins: Instr, core: int | None) -> None:
    raise AssertionError("cim.barrier is handled by the scheduler")


def _send(ins: Instr, core: int | None) -> None:
    raise AssertionError("cim.send is handled by the scheduler")


def _recv(ins: Instr, core: int | None) -> None:
    raise AssertionError("cim.recv is handled by the scheduler")


def _slices(
    shape: Sequence[int],
    offsets: Sequence[int],
    sizes: Sequence[int],
    strides: Sequence[int],
) -> tuple[slice, ...] | tuple[EllipsisType]:
    """The numpy index of a tile of a buffer of ``shape``; the tile must fit."""
    if len(offsets) != len(shape):
        raise _Fault(f"a rank-{len(offsets)} tile of a rank-{len(shape)} buffer")
    index = []
    for o, n, s, extent in zip(offsets, sizes, strides, shape, strict=True):
        end = o + (n - 1) * s + 1
        if o < 0 or end > extent:
            raise _Fault(
                f"tile {_fmt_tile(offsets, sizes, strides)} leaves the buffer of "
                f"shape {'x'.join(map(str, shape))}"
            )
        index.append(slice(o, end, s))
    # a rank-0 buffer: ``...`` keeps a writeable 0-d view instead of a scalar
    return tuple(index) if index else (Ellipsis,)


def _ints(attr: DenseArrayBase) -> tuple[int, ...]:
    return tuple(int(v) for v in attr.get_values())  # pyright: ignore


def _memref_elt(value: SSAValue) -> Attribute:
    t = value.type
    assert isinstance(t, MemRefType)
    return t.get_element_type()


def requantize(
    x: np.ndarray,
    scale: float,
    zero_point: int,
    dtype: np.dtype,
    channel_scale: np.ndarray | None = None,
) -> np.ndarray:
    """``saturate(round_half_even(x * scale [* s]) + zero_point)`` in ``dtype``."""
    y = x.astype(np.float64) * scale
    if channel_scale is not None:
        y = y * channel_scale.astype(np.float64)
    y = np.rint(y) + zero_point
    info = np.iinfo(dtype)
    return np.clip(y, info.min, info.max).astype(dtype)


def run_program(
    program: ProgramOp,
    args: list[np.ndarray],
    *,
    trace: ProgramTrace | None = None,
    poison: bool = False,
) -> None:
    """Execute ``program`` with its arguments bound to ``args`` (mutated in place).

    ``args`` must have the shapes and the dtypes (`numpy_dtype`) of the program's
    arguments. ``trace`` reuses a `compile_program` result. Raises `MiredoError` on a
    deadlock, a tile leaving its buffer or an undelivered message.
    """
    CimMachine(program, trace, poison=poison).run(args)
