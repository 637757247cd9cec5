"""Emitting index code into a ``cim`` stream: loops, conditions and addresses.

A :class:`StreamBuilder` appends ops to one stream (``cim.global`` or one
``cim.core``). It keeps the induction variable of every open temporal loop (by
slot) and turns an :class:`~miredo.passes.lowering.tiles.Expr` into an index:
an integer when it is constant, else one ``affine.apply`` over the loop counters
it uses (cached per block, so an address used twice is computed once).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from xdsl.dialects import affine, arith, scf
from xdsl.dialects.builtin import AffineMapAttr, IndexType, IntegerAttr
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.ir.affine import AffineConstantExpr, AffineDimExpr, AffineExpr, AffineMap

from miredo.passes.lowering.tiles import Expr


class StreamBuilder:
    """Appends ops to a stream body, tracking the open loops."""

    def __init__(self, block: Block, core_digits: Mapping[str, int] | None):
        self.block = block
        self.core_digits = core_digits
        """The core's digit of each dim (``None`` in ``cim.global``)."""
        self.ivs: dict[int, SSAValue] = {}
        self.views: dict[tuple[str, str], SSAValue] = {}
        """The current half of each double-buffered (level, operand) buffer."""
        self._cache: dict[tuple[int, object], SSAValue] = {}

    def add(self, op: Operation) -> Operation:
        self.block.add_op(op)
        return op

    def constant(self, value: int) -> SSAValue:
        key = (id(self.block), ("c", value))
        if key not in self._cache:
            op = self.add(arith.ConstantOp(IntegerAttr(value, IndexType())))
            self._cache[key] = op.results[0]
        return self._cache[key]

    def index(self, expr: Expr) -> int | SSAValue:
        """An offset operand: an int, or an ``affine.apply`` of the loop counters."""
        if self.core_digits is not None:
            expr = expr.bind_core(self.core_digits)
        elif expr.cores:
            raise ValueError(f"core-dependent address {expr} in cim.global")
        if not expr.ivs:
            return expr.const
        key = (id(self.block), ("a", expr))
        if key not in self._cache:
            terms: AffineExpr = AffineConstantExpr(expr.const)
            operands: list[SSAValue] = []
            for k, (slot, coef) in enumerate(expr.ivs):
                terms = terms + AffineDimExpr(k) * coef
                operands.append(self.ivs[slot])
            amap = AffineMap(len(operands), 0, (terms,))
            op = self.add(affine.ApplyOp(operands, AffineMapAttr(amap)))
            self._cache[key] = op.results[0]
        return self._cache[key]

    def index_value(self, expr: Expr) -> SSAValue:
        """Like :meth:`index`, always as an SSA value."""
        v = self.index(expr)
        return self.constant(v) if isinstance(v, int) else v

    def apply(self, amap: AffineMap, slots: list[int]) -> SSAValue:
        """An ``affine.apply`` of an arbitrary map over the given loop counters."""
        key = (id(self.block), ("m", str(amap), tuple(slots)))
        if key not in self._cache:
            op = self.add(
                affine.ApplyOp([self.ivs[s] for s in slots], AffineMapAttr(amap))
            )
            self._cache[key] = op.results[0]
        return self._cache[key]

    @contextmanager
    def loop(self, slot: int, trips: int) -> Iterator[None]:
        """An ``scf.for`` over ``trips`` iterations, its counter bound to ``slot``."""
        lb, ub, step = self.constant(0), self.constant(trips), self.constant(1)
        body = Block(arg_types=[IndexType()])
        self.add(scf.ForOp(lb, ub, step, [], body))
        outer, self.block = self.block, body
        self.ivs[slot] = body.args[0]
        try:
            yield
        finally:
            body.add_op(scf.YieldOp())
            del self.ivs[slot]
            self.block = outer

    @contextmanager
    def if_zero(self, expr: Expr) -> Iterator[tuple[Block, Block]]:
        """``scf.if (expr == 0)``; yields the then/else blocks (use :meth:`into`)."""
        cond = self.add(
            arith.CmpiOp(self.index_value(expr), self.constant(0), "eq")
        ).results[0]
        then_b, else_b = Block(), Block()
        yield then_b, else_b
        then_b.add_op(scf.YieldOp())
        else_b.add_op(scf.YieldOp())
        self.add(scf.IfOp(cond, [], Region(then_b), Region(else_b)))

    @contextmanager
    def shifted(self, ivs: Mapping[int, SSAValue]) -> Iterator[None]:
        """Address with other values of some loop counters (e.g. the next
        iteration's), with a fresh address cache; the counters are restored on
        exit."""
        saved, cache = dict(self.ivs), self._cache
        self.ivs.update(ivs)
        self._cache = {}
        try:
            yield
        finally:
            self.ivs, self._cache = saved, cache

    @contextmanager
    def if_any_zero(self, values: list[SSAValue]) -> Iterator[tuple[Block, Block]]:
        """``scf.if (values[0] == 0 or values[1] == 0 ...)``; yields the then/else
        blocks (use :meth:`into`)."""
        cond: SSAValue | None = None
        for v in values:
            c = self.add(arith.CmpiOp(v, self.constant(0), "eq")).results[0]
            cond = c if cond is None else self.add(arith.OrIOp(cond, c)).results[0]
        assert cond is not None
        then_b, else_b = Block(), Block()
        yield then_b, else_b
        then_b.add_op(scf.YieldOp())
        else_b.add_op(scf.YieldOp())
        self.add(scf.IfOp(cond, [], Region(then_b), Region(else_b)))

    @contextmanager
    def into(self, block: Block) -> Iterator[None]:
        """Emit into ``block`` (a region of an op being built)."""
        outer, self.block = self.block, block
        try:
            yield
        finally:
            self.block = outer
