"""Flatten the instruction streams of a ``cim.program`` into concrete instructions.

A stream (``cim.global`` or ``cim.core N``) is a sequence of ``cim`` instructions
inside ``scf.for`` loops and ``scf.if`` branches, with index arithmetic
(``arith.constant``, ``arith`` integer ops, ``affine.apply``) and
``cim.select_half`` computing tile offsets and ping-pong halves. The functional
simulator, the traffic counter and the ``--emit`` encoder all need the same thing:
the stream's instructions in program order with every offset and half evaluated.

`compile_program` does the work once per program; iterating a `StreamTrace` then
yields `Instr` tuples. Real layers run 10^5 - 10^6 dynamic instructions, so the
walk must not touch xDSL objects per iteration. Each stream is compiled to a
small Python generator function (the source is kept in `StreamTrace.source` for
debugging):

* index values become integer expressions over the loop counters: ``arith`` /
  ``affine.apply`` chains that are linear fold to coefficient vectors
  (``v0*16 + v1 + 3``), constants fold completely, and the rest (``floordiv``,
  ``mod``, ``divui``, ...) becomes a local assigned where the value is defined;
* ``scf.for`` becomes a Python ``for`` over ``range``, ``scf.if`` an ``if``;
* an instruction whose tiles are all static is built once and yielded as a
  constant; the others build only their dynamic tiles.

The same node tree also gives exact dynamic instruction counts without walking
(`StreamTrace.op_counts`): loop nests without ``scf.if`` and with bounds that do not
depend on enclosing loop counters are multiplied out.

Buffers are named as in the ``Encoding`` section of the ``cim`` dialect: ``a<i>``
is program argument ``i``, ``b<j>`` the ``j``-th ``cim.alloc``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from xdsl.dialects import affine, arith, scf
from xdsl.dialects.builtin import (
    AffineMapAttr,
    IntegerAttr,
    MemRefType,
    StringAttr,
)
from xdsl.ir import Attribute, BlockArgument, Operation, SSAValue
from xdsl.ir.affine import (
    AffineBinaryOpExpr,
    AffineBinaryOpKind,
    AffineConstantExpr,
    AffineDimExpr,
    AffineExpr,
    AffineSymExpr,
)

from miredo.dialects.cim import (
    AllocOp,
    BarrierOp,
    CoreOp,
    GlobalOp,
    ProgramOp,
    SelectHalfOp,
    StreamOp,
    TileOp,
    _bitwidth,
)
from miredo.errors import MiredoError

# --------------------------------------------------------------------------- #
# Results
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Buffer:
    """A buffer of a program: an off-chip argument or a ``cim.alloc``."""

    id: str
    """``a<i>`` for argument ``i``, ``b<j>`` for the ``j``-th allocation."""
    index: int
    """The argument or allocation number."""
    value: SSAValue
    """The block argument or the alloc's result."""
    space: str
    """The level (memory space) name."""
    shape: tuple[int, ...]
    """Shape of the buffer (of one half when double-buffered)."""
    element_type: Attribute
    """The element type the functional simulator computes with."""
    bits: int
    """Storage bits per element (``bits``/``arg_bits``, else the type's width)."""
    halves: int
    """1, or 2 for a ping-pong buffer."""
    per_core: bool
    """Whether the level is replicated in every core."""
    alloc: AllocOp | None
    """The allocation (``None`` for an argument)."""

    @property
    def num_elements(self) -> int:
        return math.prod(self.shape)


class TileRef(NamedTuple):
    """A tile with everything evaluated."""

    buf: str
    """Buffer id (``a<i>`` / ``b<j>``)."""
    half: int | None
    """Half of a ping-pong buffer, ``None`` for a single buffer."""
    offsets: tuple[int, ...]
    sizes: tuple[int, ...]
    strides: tuple[int, ...]


class Instr(NamedTuple):
    """One dynamic instruction of a stream."""

    op: Operation
    """The ``cim`` op (a ``TileOp`` or ``cim.barrier``)."""
    stream: str
    """`stream_name` of its stream."""
    tiles: tuple[TileRef, ...]
    """The op's tiles in ``TileOp.tiles()`` order (none for a barrier)."""


def stream_name(stream: StreamOp) -> str:
    """``global`` (queue 0), ``global<q>`` or ``core<id>``."""
    if isinstance(stream, CoreOp):
        return f"core{stream.core_id}"
    assert isinstance(stream, GlobalOp)
    return f"global{stream.queue_id or ''}"


def program_buffers(program: ProgramOp) -> dict[str, Buffer]:
    """The buffers of ``program`` by id: arguments first, then allocations."""
    hier = program.hierarchy()
    if hier is None:
        raise MiredoError(
            f"cim.program @{program.sym_name.data} has a malformed header"
        )
    buffers: dict[str, Buffer] = {}
    arg_bits = program.arg_element_bits()
    for i, arg in enumerate(program.args):
        t = arg.type
        assert isinstance(t, MemRefType)
        buffers[f"a{i}"] = Buffer(
            id=f"a{i}",
            index=i,
            value=arg,
            space=hier.offchip,
            shape=tuple(t.get_shape()),
            element_type=t.get_element_type(),
            bits=arg_bits[i] if i < len(arg_bits) else 0,
            halves=1,
            per_core=False,
            alloc=None,
        )
    for j, alloc in enumerate(program.allocs()):
        t = alloc.tile_type
        space = t.memory_space
        assert isinstance(space, StringAttr)
        buffers[f"b{j}"] = Buffer(
            id=f"b{j}",
            index=j,
            value=alloc.result,
            space=space.data,
            shape=tuple(t.get_shape()),
            element_type=t.get_element_type(),
            bits=alloc.element_bits,
            halves=alloc.num_halves,
            per_core=hier.is_per_core(space.data),
            alloc=alloc,
        )
    return buffers


# --------------------------------------------------------------------------- #
# Index expressions
# --------------------------------------------------------------------------- #

_U64 = 1 << 64


def _u(x: int) -> int:
    return x % _U64


def _divui(a: int, b: int) -> int:
    return _u(a) // _u(b)


def _remui(a: int, b: int) -> int:
    return _u(a) % _u(b)


def _divsi(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def _remsi(a: int, b: int) -> int:
    return a - b * _divsi(a, b)


def _ceildiv(a: int, b: int) -> int:
    return -((-a) // b)


_HELPERS: dict[str, Callable[..., int]] = {
    "_u": _u,
    "_divui": _divui,
    "_remui": _remui,
    "_divsi": _divsi,
    "_remsi": _remsi,
    "_ceildiv": _ceildiv,
}


@dataclass(frozen=True)
class Ix:
    """An integer (or i1) value at compile time: linear in the loop counters, or
    a Python expression (``code``) over the generated function's locals."""

    const: int = 0
    terms: tuple[tuple[int, int], ...] = ()
    """``(loop slot, coefficient)`` pairs, sorted by slot, coefficients != 0."""
    code: str | None = None

    @property
    def is_const(self) -> bool:
        return self.code is None and not self.terms

    @property
    def is_linear(self) -> bool:
        return self.code is None

    def render(self) -> str:
        if self.code is not None:
            return self.code
        parts = [f"v{s}" if c == 1 else f"v{s}*{c}" for s, c in self.terms]
        if self.const or not parts:
            parts.append(str(self.const))
        return parts[0] if len(parts) == 1 else "(" + " + ".join(parts) + ")"


def _const(v: int) -> Ix:
    return Ix(int(v))


def _loop(slot: int) -> Ix:
    return Ix(0, ((slot, 1),))


def _lin_add(a: Ix, b: Ix, sign: int = 1) -> Ix:
    coeffs: dict[int, int] = dict(a.terms)
    for s, c in b.terms:
        coeffs[s] = coeffs.get(s, 0) + sign * c
    return Ix(
        a.const + sign * b.const,
        tuple(sorted((s, c) for s, c in coeffs.items() if c)),
    )


def _scale(a: Ix, k: int) -> Ix:
    if k == 0:
        return _const(0)
    return Ix(a.const * k, tuple((s, c * k) for s, c in a.terms))


def _code(text: str) -> Ix:
    return Ix(code=text)


def ix_add(a: Ix, b: Ix) -> Ix:
    if a.is_linear and b.is_linear:
        return _lin_add(a, b)
    return _code(f"({a.render()} + {b.render()})")


def ix_sub(a: Ix, b: Ix) -> Ix:
    if a.is_linear and b.is_linear:
        return _lin_add(a, b, -1)
    return _code(f"({a.render()} - {b.render()})")


def ix_mul(a: Ix, b: Ix) -> Ix:
    if b.is_const and a.is_linear:
        return _scale(a, b.const)
    if a.is_const and b.is_linear:
        return _scale(b, a.const)
    return _code(f"({a.render()} * {b.render()})")


def _divisible(a: Ix, k: int) -> bool:
    return a.is_linear and a.const % k == 0 and all(c % k == 0 for _, c in a.terms)


def ix_floordiv(a: Ix, b: Ix) -> Ix:
    if b.is_const:
        if b.const == 0:
            raise MiredoError("index division by zero")
        if a.is_const:
            return _const(a.const // b.const)
        if _divisible(a, b.const):
            return Ix(a.const // b.const, tuple((s, c // b.const) for s, c in a.terms))
    return _code(f"({a.render()} // {b.render()})")


def ix_mod(a: Ix, b: Ix) -> Ix:
    if b.is_const:
        if b.const == 0:
            raise MiredoError("index remainder by zero")
        if a.is_linear and all(c % b.const == 0 for _, c in a.terms):
            return _const(a.const % b.const)
    return _code(f"({a.render()} % {b.render()})")


def ix_ceildiv(a: Ix, b: Ix) -> Ix:
    return ix_call("_ceildiv", a, b)


def ix_call(fn: str, *args: Ix) -> Ix:
    """``fn(args)`` with a helper of `_HELPERS` or a builtin (``min``/``max``)."""
    if all(a.is_const for a in args):
        f = _HELPERS.get(fn) or {"min": min, "max": max}[fn]
        try:
            return _const(f(*(a.const for a in args)))
        except ZeroDivisionError:
            raise MiredoError("index division by zero") from None
    return _code(f"{fn}({', '.join(a.render() for a in args)})")


_CMP: dict[str, str] = {
    "eq": "==",
    "ne": "!=",
    "slt": "<",
    "sle": "<=",
    "sgt": ">",
    "sge": ">=",
    "ult": "<",
    "ule": "<=",
    "ugt": ">",
    "uge": ">=",
}
_CMP_NAMES = ("eq", "ne", "slt", "sle", "sgt", "sge", "ult", "ule", "ugt", "uge")


def ix_cmp(pred: str, a: Ix, b: Ix) -> Ix:
    op = _CMP[pred]
    if pred.startswith("u"):
        if a.is_const and b.is_const:
            return _const(int(eval(f"{_u(a.const)} {op} {_u(b.const)}")))
        return _code(f"(_u({a.render()}) {op} _u({b.render()}))")
    if a.is_const and b.is_const:
        return _const(int(eval(f"{a.const} {op} {b.const}")))
    return _code(f"({a.render()} {op} {b.render()})")


# --------------------------------------------------------------------------- #
# The node tree of a compiled stream
# --------------------------------------------------------------------------- #


@dataclass
class _Stmt:
    """``name = expr`` (a non-linear index value materialised as a local)."""

    line: str


@dataclass
class _Emit:
    """Yield instruction number ``k`` (built by ``expr``)."""

    k: int
    expr: str


@dataclass
class _For:
    slot: int
    lb: Ix
    ub: Ix
    step: Ix
    body: list[_Node]


@dataclass
class _If:
    cond: Ix
    then: list[_Node]
    other: list[_Node]


_Node = _Stmt | _Emit | _For | _If


class _Compiler:
    """Turns one stream's ops into a node tree plus the constants it refers to."""

    def __init__(
        self, program: ProgramOp, stream: StreamOp, buffers: dict[str, Buffer]
    ):
        self.program = program
        self.stream = stream
        self.name = stream_name(stream)
        self.env: dict[SSAValue, Ix] = {}
        self.halves: dict[SSAValue, tuple[str, Ix]] = {}
        self.buf_of: dict[SSAValue, str] = {b.value: b.id for b in buffers.values()}
        self.buffers = buffers
        self.namespace: dict[str, object] = {
            "_Instr": Instr,
            "_Tile": TileRef,
            "_new": tuple.__new__,
            **_HELPERS,
        }
        self.ops: list[Operation] = []
        self.op_buffers: list[tuple[str, ...]] = []
        self.slots = 0
        self.temps = 0
        self.consts = 0

    def fail(self, op: Operation, message: str) -> MiredoError:
        node = op.properties.get("node")
        where = f"{op.name}" + (
            f" '{node.data}'" if isinstance(node, StringAttr) else ""
        )
        return MiredoError(
            f"@{self.program.sym_name.data} {self.name}: {message}", where=where
        )

    def constant(self, value: object, prefix: str = "K") -> str:
        name = f"{prefix}{self.consts}"
        self.consts += 1
        self.namespace[name] = value
        return name

    def value(self, op: Operation, v: SSAValue) -> Ix:
        ix = self.env.get(v)
        if ix is None:
            owner = v.owner
            what = owner.name if isinstance(owner, Operation) else "a block argument"
            raise self.fail(op, f"cannot evaluate an index operand defined by {what}")
        return ix

    def define(self, v: SSAValue, ix: Ix, out: list[_Node]) -> None:
        """Bind ``v``; a non-linear expression is computed once into a local."""
        if ix.code is not None and not ix.code.isidentifier():
            name = f"t{self.temps}"
            self.temps += 1
            out.append(_Stmt(f"{name} = {ix.code}"))
            ix = _code(name)
        self.env[v] = ix

    # ---- ops --------------------------------------------------------------- #

    def block(self, ops: Sequence[Operation]) -> list[_Node]:
        out: list[_Node] = []
        for op in ops:
            self.op(op, out)
        return out

    def op(self, op: Operation, out: list[_Node]) -> None:
        if isinstance(op, TileOp | BarrierOp):
            self.instruction(op, out)
        elif isinstance(op, scf.ForOp):
            self.for_(op, out)
        elif isinstance(op, scf.IfOp):
            self.if_(op, out)
        elif isinstance(op, scf.YieldOp):
            if op.operands:
                raise self.fail(op, "loops and branches must not yield values")
        elif isinstance(op, SelectHalfOp):
            buf = self.buf_of.get(op.buffer)
            if buf is None:
                raise self.fail(op, "the ping-pong buffer must be a cim.alloc")
            self.halves[op.result] = (buf, ix_mod(self.value(op, op.index), _const(2)))
        elif isinstance(op, arith.ConstantOp):
            value = op.value
            if isinstance(value, IntegerAttr):
                self.env[op.result] = _const(value.value.data)
        elif isinstance(op, affine.ApplyOp):
            self.define(op.result, self.affine(op), out)
        elif isinstance(op, arith.CmpiOp):
            pred = _CMP_NAMES[op.predicate.value.data]
            self.define(
                op.result,
                ix_cmp(pred, self.value(op, op.lhs), self.value(op, op.rhs)),
                out,
            )
        elif isinstance(op, arith.IndexCastOp):
            self.env[op.result] = self.value(op, op.input)
        elif type(op) in _BINARY:
            a = self.value(op, op.operands[0])
            b = self.value(op, op.operands[1])
            self.define(op.results[0], _BINARY[type(op)](a, b), out)
        else:
            raise self.fail(op, f"cannot trace '{op.name}' in an instruction stream")

    def affine(self, op: affine.ApplyOp) -> Ix:
        amap = op.map.data if isinstance(op.map, AffineMapAttr) else op.map
        args = [self.value(op, v) for v in op.mapOperands]
        dims, syms = args[: amap.num_dims], args[amap.num_dims :]
        (expr,) = amap.results

        def ev(e: AffineExpr) -> Ix:
            if isinstance(e, AffineConstantExpr):
                return _const(e.value)
            if isinstance(e, AffineDimExpr):
                return dims[e.position]
            if isinstance(e, AffineSymExpr):
                return syms[e.position]
            assert isinstance(e, AffineBinaryOpExpr)
            lhs, rhs = ev(e.lhs), ev(e.rhs)
            match e.kind:
                case AffineBinaryOpKind.Add:
                    return ix_add(lhs, rhs)
                case AffineBinaryOpKind.Mul:
                    return ix_mul(lhs, rhs)
                case AffineBinaryOpKind.FloorDiv:
                    return ix_floordiv(lhs, rhs)
                case AffineBinaryOpKind.CeilDiv:
                    return ix_ceildiv(lhs, rhs)
                case AffineBinaryOpKind.Mod:
                    return ix_mod(lhs, rhs)
            raise self.fail(op, f"unsupported affine expression {e}")

        return ev(expr)

    def for_(self, op: scf.ForOp, out: list[_Node]) -> None:
        if op.iter_args:
            raise self.fail(op, "scf.for with iter_args is not supported")
        lb, ub, step = (self.value(op, v) for v in (op.lb, op.ub, op.step))
        if step.is_const and step.const <= 0:
            raise self.fail(op, f"loop step must be positive, got {step.const}")
        slot = self.slots
        self.slots += 1
        self.env[op.body.block.args[0]] = _loop(slot)
        out.append(_For(slot, lb, ub, step, self.block(op.body.block.ops)))

    def if_(self, op: scf.IfOp, out: list[_Node]) -> None:
        if op.results:
            raise self.fail(op, "scf.if with results is not supported")
        cond = self.value(op, op.cond)
        then = list(op.true_region.block.ops) if op.true_region.blocks else []
        other = list(op.false_region.block.ops) if op.false_region.blocks else []
        if cond.is_const:
            # Statically known: inline the branch taken (it still gets its own
            # scope of SSA values, which the dominance rules keep apart).
            out.extend(self.block(then if cond.const else other))
            return
        out.append(_If(cond, self.block(then), self.block(other)))

    def instruction(self, op: TileOp | BarrierOp, out: list[_Node]) -> None:
        k = len(self.ops)
        self.ops.append(op)
        self.op_buffers.append(())
        opname = self.constant(op, "OP")
        if isinstance(op, BarrierOp):
            self.op_buffers[k] = tuple(self.buffer(op, v)[0] for v in op.buffers)
            instr = Instr(op, self.name, ())
            out.append(_Emit(k, self.constant(instr, "I")))
            return
        try:
            tiles = op.tiles()
        except ValueError as e:
            raise self.fail(op, str(e)) from None
        parts: list[str] = []
        static: list[TileRef] = []
        dynamic = False
        self.op_buffers[k] = tuple(self.buffer(op, t.buffer)[0] for t in tiles)
        for t in tiles:
            buf, half = self.buffer(op, t.buffer)
            offs = [o if isinstance(o, int) else self.value(op, o) for o in t.offsets]
            offs_ix = [_const(o) if isinstance(o, int) else o for o in offs]
            if (half is None or half.is_const) and all(o.is_const for o in offs_ix):
                ref = TileRef(
                    buf,
                    None if half is None else half.const,
                    tuple(o.const for o in offs_ix),
                    tuple(t.sizes),
                    tuple(t.strides),
                )
                static.append(ref)
                parts.append(self.constant(ref, "T"))
                continue
            dynamic = True
            h = "None" if half is None else half.render()
            off = "(" + "".join(o.render() + ", " for o in offs_ix) + ")"
            sizes = self.constant(tuple(t.sizes), "S")
            strides = self.constant(tuple(t.strides), "S")
            parts.append(f"_new(_Tile, ({buf!r}, {h}, {off}, {sizes}, {strides}))")
        if not dynamic:
            instr = Instr(op, self.name, tuple(static))
            out.append(_Emit(k, self.constant(instr, "I")))
            return
        tiles_code = "(" + "".join(p + ", " for p in parts) + ")"
        out.append(_Emit(k, f"_new(_Instr, ({opname}, {self.name!r}, {tiles_code}))"))

    def buffer(self, op: Operation, v: SSAValue) -> tuple[str, Ix | None]:
        if v in self.halves:
            return self.halves[v]
        buf = self.buf_of.get(v)
        if buf is None:
            owner = v.owner
            what = owner.name if isinstance(owner, Operation) else "a block argument"
            if isinstance(v, BlockArgument) and v.owner is self.program.body.block:
                what = "a program argument"
            raise self.fail(
                op,
                f"a tile's buffer must be a program argument, a cim.alloc or a "
                f"cim.select_half, got a value defined by {what}",
            )
        return buf, None


_BINARY: dict[type[Operation], Callable[[Ix, Ix], Ix]] = {
    arith.AddiOp: ix_add,
    arith.SubiOp: ix_sub,
    arith.MuliOp: ix_mul,
    arith.FloorDivSIOp: ix_floordiv,
    arith.CeilDivSIOp: ix_ceildiv,
    arith.DivUIOp: lambda a, b: ix_call("_divui", a, b),
    arith.RemUIOp: lambda a, b: ix_call("_remui", a, b),
    arith.DivSIOp: lambda a, b: ix_call("_divsi", a, b),
    arith.RemSIOp: lambda a, b: ix_call("_remsi", a, b),
    arith.MinSIOp: lambda a, b: ix_call("min", a, b),
    arith.MaxSIOp: lambda a, b: ix_call("max", a, b),
    arith.MinUIOp: lambda a, b: (
        _code(f"min({a.render()}, {b.render()}, key=_u)")
        if not (a.is_const and b.is_const)
        else _const(min(a.const, b.const, key=_u))
    ),
    arith.MaxUIOp: lambda a, b: (
        _code(f"max({a.render()}, {b.render()}, key=_u)")
        if not (a.is_const and b.is_const)
        else _const(max(a.const, b.const, key=_u))
    ),
    arith.AndIOp: lambda a, b: (
        _const(a.const & b.const)
        if a.is_const and b.is_const
        else _code(f"({a.render()} & {b.render()})")
    ),
    arith.OrIOp: lambda a, b: (
        _const(a.const | b.const)
        if a.is_const and b.is_const
        else _code(f"({a.render()} | {b.render()})")
    ),
    arith.XOrIOp: lambda a, b: (
        _const(a.const ^ b.const)
        if a.is_const and b.is_const
        else _code(f"({a.render()} ^ {b.render()})")
    ),
}


# --------------------------------------------------------------------------- #
# Code generation
# --------------------------------------------------------------------------- #


def _trip(lb: int, ub: int, step: int) -> int:
    return len(range(lb, ub, step))


def _static_counts(nodes: Sequence[_Node]) -> dict[int, int] | None:
    """Dynamic count per instruction number of a node list that has no ``scf.if``
    and only constant loop bounds; ``None`` otherwise."""
    counts: dict[int, int] = {}
    for n in nodes:
        if isinstance(n, _Emit):
            counts[n.k] = counts.get(n.k, 0) + 1
        elif isinstance(n, _For):
            if not (n.lb.is_const and n.ub.is_const and n.step.is_const):
                return None
            inner = _static_counts(n.body)
            if inner is None:
                return None
            trips = _trip(n.lb.const, n.ub.const, n.step.const)
            for k, c in inner.items():
                counts[k] = counts.get(k, 0) + c * trips
        elif isinstance(n, _If):
            return None
    return counts


def _gen(nodes: Sequence[_Node], lines: list[str], depth: int, count: bool) -> None:
    pad = "    " * depth
    if count:
        static = _static_counts(nodes)
        if static is not None:
            lines.extend(f"{pad}c[{k}] += {c}" for k, c in static.items() if c)
            return
    for n in nodes:
        if isinstance(n, _Stmt):
            lines.append(pad + n.line)
        elif isinstance(n, _Emit):
            lines.append(f"{pad}c[{n.k}] += 1" if count else f"{pad}yield {n.expr}")
        elif isinstance(n, _For):
            args = f"{n.lb.render()}, {n.ub.render()}"
            if not (n.step.is_const and n.step.const == 1):
                args += f", {n.step.render()}"
            inner = _static_counts(n.body) if count else None
            if inner is not None:  # dynamic bounds, static body: multiply
                trips = f"len(range({args}))"
                lines.extend(f"{pad}c[{k}] += {c} * {trips}" for k, c in inner.items())
                continue
            lines.append(f"{pad}for v{n.slot} in range({args}):")
            before = len(lines)
            _gen(n.body, lines, depth + 1, count)
            if len(lines) == before:
                lines.append(pad + "    pass")
        else:
            lines.append(f"{pad}if {n.cond.render()}:")
            before = len(lines)
            _gen(n.then, lines, depth + 1, count)
            if len(lines) == before:
                lines.append(pad + "    pass")
            if n.other:
                lines.append(f"{pad}else:")
                before = len(lines)
                _gen(n.other, lines, depth + 1, count)
                if len(lines) == before:
                    lines.append(pad + "    pass")


@dataclass
class StreamTrace:
    """One compiled stream; iterate it for its instructions in program order."""

    name: str
    """``global`` or ``core<id>``."""
    stream: StreamOp
    program: ProgramOp
    ops: list[Operation]
    """The instruction ops in static program order; ``Instr.op`` is one of them."""
    op_buffers: list[tuple[str, ...]]
    """Per op of `ops`: the buffer id of each tile (halves are not static); for a
    ``cim.barrier``, of each buffer it protects."""
    source: str
    """The generated Python source of the walk (for debugging)."""
    count_source: str
    """The generated Python source of `op_counts`."""
    barrier_ids: frozenset[int]
    """The ids of the barriers the stream contains (it participates in them)."""
    _walk: Callable[[], Iterator[Instr]] = field(repr=False)
    _count: Callable[[list[int]], None] = field(repr=False)

    @property
    def core(self) -> int | None:
        """The core id, ``None`` for ``cim.global``."""
        return self.stream.core_id if isinstance(self.stream, CoreOp) else None

    def __iter__(self) -> Iterator[Instr]:
        try:
            yield from self._walk()
        except (ZeroDivisionError, ValueError) as e:
            raise MiredoError(
                f"@{self.program.sym_name.data} {self.name}: index arithmetic "
                f"failed: {e}"
            ) from None

    def op_counts(self) -> list[int]:
        """How often each op of `ops` executes (same index)."""
        counts = [0] * len(self.ops)
        try:
            self._count(counts)
        except (ZeroDivisionError, ValueError) as e:
            raise MiredoError(
                f"@{self.program.sym_name.data} {self.name}: index arithmetic "
                f"failed: {e}"
            ) from None
        return counts

    def num_instructions(self) -> int:
        """The number of dynamic instructions."""
        return sum(self.op_counts())


def compile_stream(
    program: ProgramOp,
    stream: StreamOp,
    buffers: dict[str, Buffer] | None = None,
) -> StreamTrace:
    """Compile one stream of ``program`` (see the module docstring)."""
    if buffers is None:
        buffers = program_buffers(program)
    comp = _Compiler(program, stream, buffers)
    nodes = comp.block(list(stream.body.block.ops) if stream.body.blocks else [])
    walk_lines = ["def _walk():"]
    _gen(nodes, walk_lines, 1, count=False)
    walk_lines.append("    return")
    walk_lines.append("    yield")
    count_lines = ["def _count(c):"]
    _gen(nodes, count_lines, 1, count=True)
    count_lines.append("    return")
    source = "\n".join(walk_lines) + "\n"
    count_source = "\n".join(count_lines) + "\n"
    namespace = dict(comp.namespace)
    exec(compile(source, f"<cim trace {comp.name}>", "exec"), namespace)
    exec(compile(count_source, f"<cim count {comp.name}>", "exec"), namespace)
    barriers = frozenset(
        op.id.value.data for op in stream.walk() if isinstance(op, BarrierOp)
    )
    return StreamTrace(
        name=comp.name,
        stream=stream,
        program=program,
        ops=comp.ops,
        op_buffers=comp.op_buffers,
        source=source,
        count_source=count_source,
        barrier_ids=barriers,
        _walk=namespace["_walk"],  # pyright: ignore[reportArgumentType]
        _count=namespace["_count"],  # pyright: ignore[reportArgumentType]
    )


@dataclass
class ProgramTrace:
    """A compiled program: its buffers and one `StreamTrace` per stream."""

    program: ProgramOp
    buffers: dict[str, Buffer]
    """By id: ``a<i>`` then ``b<j>``."""
    streams: list[StreamTrace]
    """In the order of the program body."""

    @property
    def name(self) -> str:
        return self.program.sym_name.data

    def stream(self, name: str) -> StreamTrace:
        for s in self.streams:
            if s.name == name:
                return s
        raise KeyError(name)

    def buffer_of(self, value: SSAValue) -> Buffer:
        for b in self.buffers.values():
            if b.value is value:
                return b
        raise KeyError(value)


def compile_program(program: ProgramOp) -> ProgramTrace:
    """Compile every stream of ``program``."""
    buffers = program_buffers(program)
    streams = [
        compile_stream(program, s, buffers)
        for s in program.body.block.ops
        if isinstance(s, GlobalOp | CoreOp)
    ]
    return ProgramTrace(program, buffers, streams)


def trace_stream(program: ProgramOp, stream: StreamOp) -> Iterator[Instr]:
    """The concrete instructions of one stream, in program order."""
    return iter(compile_stream(program, stream))


def element_bits(t: Attribute) -> int:
    """Width of an element type in bits (0 when it has none)."""
    return _bitwidth(t) or 0
