"""The ``nest`` dialect: DNN operators as loop nests on memrefs.

An imported ONNX model is a ``func.func`` in destination-passing style: graph inputs
and outputs are memref arguments (outputs last), intermediates are ``memref.alloc``
buffers and every operator writes its result into an ``outs`` operand. Ops have no
results, except ``nest.weight`` which materialises a constant buffer.

Every op carries a ``node`` property, the name of the ONNX node it comes from (our
stand-in for a source location). It is printed right after the op name and every
verifier message starts with it::

    %w = nest.weight "conv1.weight.bnfold" : memref<16x3x3x3xf32>
    nest.contract "conv1" conv dims<N=1, G=1, K=16, C=3, P=32, Q=32, R=3, S=3>
        stride [1, 1] dilation [1, 1] pad [1, 1, 1, 1]
        ins(%x[n, c, p + r - 1, q + s - 1], %w[k, c, r, s]) bias(%b[k])
        outs(%t[n, k, p, q]) : memref<1x3x32x32xf32>, memref<16x3x3x3xf32>,
        memref<16xf32> -> memref<1x16x32x32xf32>

(``nest.contract`` is printed on one line; it is wrapped here for reading.)

* ``nest.contract`` holds every contraction (Conv, grouped/depthwise Conv, Gemm,
  MatMul, batched MatMul). Its iteration space has the eight dims of the MIREDO
  paper, ``N, G, K, C, P, Q, R, S``, and every operand has an explicit affine access
  map over ``(n, g, k, c, p, q, r, s)``. These are the ops the dataflow pass maps
  onto CIM macros.
* ``nest.elementwise``, ``nest.pool``, ``nest.softmax``, ``nest.layernorm`` and
  ``nest.reduce`` run on the SIMD unit.
* ``nest.reshape``, ``nest.transpose`` and ``nest.concat`` move data.

Weights are referenced by name by default (``nest.weight "name" : memref<...>``); the
name resolves in the weight table of the module's ``nest.source`` model, see
``miredo.frontends.onnx.load_weight_table``. Small constants are inline
(``nest.weight "k" = dense<...> : memref<...>``).

Element types: floats are ``f16``/``bf16``/``f32``/``f64``; integers are signless for
signed ONNX types (``i8``, ``i32``, ``i64``) and ``ui*`` for unsigned ones.
"""

from __future__ import annotations

import math
from abc import ABC
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, NoReturn

from xdsl.dialects.builtin import (
    I64,
    AffineMapAttr,
    AnyFloat,
    ArrayAttr,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IntAttr,
    IntegerAttr,
    IntegerType,
    MemRefType,
    StringAttr,
    UnitAttr,
    f64,
    i64,
)
from xdsl.ir import Attribute, Dialect, ParametrizedAttribute, SSAValue
from xdsl.ir.affine import (
    AffineBinaryOpExpr,
    AffineBinaryOpKind,
    AffineConstantExpr,
    AffineDimExpr,
    AffineExpr,
    AffineMap,
)
from xdsl.irdl import (
    IRDLOperation,
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.parser import AttrParser, Parser, UnresolvedOperand
from xdsl.printer import Printer
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from miredo.dialects.dataflow import DataflowAttr

if TYPE_CHECKING:
    import numpy as np

DIMS: tuple[str, ...] = ("N", "G", "K", "C", "P", "Q", "R", "S")
"""The iteration dims of ``nest.contract``, in their fixed order."""

INDEX_NAMES: tuple[str, ...] = tuple(d.lower() for d in DIMS)
"""The names of the iteration variables in access maps: ``n, g, k, c, p, q, r, s``."""

REDUCTION_DIMS: frozenset[str] = frozenset({"C", "R", "S"})
"""Dims summed over by a contraction."""

CONTRACT_KINDS = ("conv", "gemm", "matmul")
UNARY_FNS = (
    "relu",
    "clip",
    "sigmoid",
    "tanh",
    "erf",
    "exp",
    "sqrt",
    "neg",
    "abs",
    "reciprocal",
    "gelu",
)
BINARY_FNS = ("add", "sub", "mul", "div", "pow", "max", "min")
ELEMENTWISE_FNS = UNARY_FNS + BINARY_FNS
POOL_KINDS = ("max", "avg")
REDUCE_KINDS = ("mean", "sum", "max")
GELU_APPROXIMATIONS = ("none", "tanh")


# --------------------------------------------------------------------------- #
# Linear access expressions
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Lin:
    """A linear expression ``sum(coeff[d] * d) + const`` over ``n, g, k, c, p, q, r, s``.

    Access maps of ``nest.contract`` are linear; this class builds them in a
    canonical form, prints them with named dims and evaluates their ranges::

        n, g, k, c, p, q, r, s = Lin.dims()
        expr = p * 2 + r - 1          # printed as "p * 2 + r - 1"
    """

    coeffs: tuple[int, ...] = (0,) * 8
    """One coefficient per iteration dim, in ``DIMS`` order."""
    const: int = 0
    """The constant term."""

    @staticmethod
    def dims() -> tuple[Lin, ...]:
        """The eight iteration variables, in ``DIMS`` order."""
        return _DIM_LINS

    @staticmethod
    def constant(value: int) -> Lin:
        return Lin((0,) * 8, value)

    @staticmethod
    def of(value: Lin | int) -> Lin:
        return value if isinstance(value, Lin) else Lin.constant(value)

    def __add__(self, other: Lin | int) -> Lin:
        o = Lin.of(other)
        return Lin(
            tuple(a + b for a, b in zip(self.coeffs, o.coeffs, strict=True)),
            self.const + o.const,
        )

    __radd__ = __add__

    def __neg__(self) -> Lin:
        return Lin(tuple(-a for a in self.coeffs), -self.const)

    def __sub__(self, other: Lin | int) -> Lin:
        return self + (-Lin.of(other))

    def __rsub__(self, other: Lin | int) -> Lin:
        return Lin.of(other) - self

    def __mul__(self, factor: int) -> Lin:
        if not isinstance(factor, int):
            return NotImplemented
        return Lin(tuple(a * factor for a in self.coeffs), self.const * factor)

    __rmul__ = __mul__

    @property
    def is_constant(self) -> bool:
        return not any(self.coeffs)

    def depends_on(self) -> frozenset[str]:
        """The names (``N`` ... ``S``) of the dims with a non-zero coefficient."""
        return frozenset(d for d, a in zip(DIMS, self.coeffs, strict=True) if a)

    def range(self, bounds: Sequence[int]) -> tuple[int, int]:
        """Minimum and maximum over the box ``0 <= d < bounds[d]``."""
        lo = hi = self.const
        for a, b in zip(self.coeffs, bounds, strict=True):
            lo += min(0, a * (b - 1))
            hi += max(0, a * (b - 1))
        return lo, hi

    def eval(self, point: Sequence[int]) -> int:
        return self.const + sum(a * x for a, x in zip(self.coeffs, point, strict=True))

    def to_expr(self) -> AffineExpr:
        """The canonical affine expression: terms in dim order, constant last."""
        expr: AffineExpr | None = None
        for i, a in enumerate(self.coeffs):
            if not a:
                continue
            term: AffineExpr = AffineDimExpr(i)
            if a != 1:
                term = AffineBinaryOpExpr(
                    AffineBinaryOpKind.Mul, term, AffineConstantExpr(a)
                )
            expr = (
                term
                if expr is None
                else AffineBinaryOpExpr(AffineBinaryOpKind.Add, expr, term)
            )
        if expr is None:
            return AffineConstantExpr(self.const)
        if self.const:
            expr = AffineBinaryOpExpr(
                AffineBinaryOpKind.Add, expr, AffineConstantExpr(self.const)
            )
        return expr

    @staticmethod
    def from_expr(expr: AffineExpr) -> Lin:
        """Linearise ``expr``; raises ``ValueError`` if it is not linear in the dims."""
        match expr:
            case AffineConstantExpr(value=v):
                return Lin.constant(v)
            case AffineDimExpr(position=i) if 0 <= i < 8:
                return Lin.dims()[i]
            case AffineBinaryOpExpr(kind=AffineBinaryOpKind.Add, lhs=a, rhs=b):
                return Lin.from_expr(a) + Lin.from_expr(b)
            case AffineBinaryOpExpr(kind=AffineBinaryOpKind.Mul, lhs=a, rhs=b):
                la, lb = Lin.from_expr(a), Lin.from_expr(b)
                if la.is_constant:
                    return lb * la.const
                if lb.is_constant:
                    return la * lb.const
        raise ValueError(f"'{expr}' is not linear in (n, g, k, c, p, q, r, s)")

    def __str__(self) -> str:
        parts: list[str] = []
        for name, a in zip(INDEX_NAMES, self.coeffs, strict=True):
            if not a:
                continue
            term = name if abs(a) == 1 else f"{name} * {abs(a)}"
            if not parts:
                parts.append(f"-{term}" if a < 0 else term)
            else:
                parts.append(f"{'-' if a < 0 else '+'} {term}")
        if not parts:
            return str(self.const)
        if self.const:
            parts.append(f"{'-' if self.const < 0 else '+'} {abs(self.const)}")
        return " ".join(parts)


_DIM_LINS: tuple[Lin, ...] = tuple(
    Lin(tuple(int(i == j) for j in range(8)), 0) for i in range(8)
)


def access_map(results: Sequence[Lin | int]) -> AffineMap:
    """An ``(n, g, k, c, p, q, r, s) -> (results...)`` map in canonical form."""
    return AffineMap(8, 0, tuple(Lin.of(r).to_expr() for r in results))


def map_results(amap: AffineMap) -> tuple[Lin, ...]:
    """The results of an access map as linear expressions (``ValueError`` if not)."""
    if amap.num_dims != 8 or amap.num_symbols != 0:
        raise ValueError(
            f"access map must have 8 dims (n, g, k, c, p, q, r, s) and no symbols, "
            f"got {amap.num_dims} dims and {amap.num_symbols} symbols"
        )
    return tuple(Lin.from_expr(e) for e in amap.results)


def _parse_lin(parser: AttrParser) -> Lin:
    """``lin ::= [-] term ((+|-) term)*``, ``term ::= factor (* factor)*``."""
    neg = parser.parse_optional_punctuation("-") is not None
    acc = _parse_term(parser)
    if neg:
        acc = -acc
    while True:
        if parser.parse_optional_punctuation("+") is not None:
            acc = acc + _parse_term(parser)
        elif parser.parse_optional_punctuation("-") is not None:
            acc = acc - _parse_term(parser)
        else:
            return acc


def _parse_term(parser: AttrParser) -> Lin:
    acc = _parse_factor(parser)
    while parser.parse_optional_punctuation("*") is not None:
        pos = parser.pos
        f = _parse_factor(parser)
        if acc.is_constant:
            acc = f * acc.const
        elif f.is_constant:
            acc = acc * f.const
        else:
            parser.raise_error("access expression must be linear", pos, parser.pos)
    return acc


def _parse_factor(parser: AttrParser) -> Lin:
    if parser.parse_optional_punctuation("(") is not None:
        inner = _parse_lin(parser)
        parser.parse_punctuation(")")
        return inner
    value = parser.parse_optional_integer(allow_boolean=False, allow_negative=False)
    if value is not None:
        return Lin.constant(value)
    pos = parser.pos
    name = parser.parse_optional_identifier()
    if name is None or name not in INDEX_NAMES:
        parser.raise_error(
            "expected an integer or one of n, g, k, c, p, q, r, s", pos, parser.pos
        )
    return Lin.dims()[INDEX_NAMES.index(name)]


# --------------------------------------------------------------------------- #
# Small helpers shared by the ops
# --------------------------------------------------------------------------- #


def _i64_array(values: Sequence[int]) -> DenseArrayBase:
    return DenseArrayBase.from_list(i64, tuple(int(v) for v in values))


def _ints(attr: DenseArrayBase) -> tuple[int, ...]:
    return tuple(int(v) for v in attr.get_values())  # pyright: ignore


def _f64(value: float) -> FloatAttr:
    return FloatAttr(float(value), f64)


def _fmt_float(value: float) -> str:
    """A float literal the MLIR lexer accepts back (always with a ``.``)."""
    text = repr(float(value))
    mantissa, sep, exponent = text.partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return mantissa + sep + exponent


def _shape(value: SSAValue) -> tuple[int, ...]:
    assert isinstance(value.type, MemRefType)
    return tuple(value.type.get_shape())


def _elt(value: SSAValue) -> Attribute:
    assert isinstance(value.type, MemRefType)
    return value.type.get_element_type()


def _fmt_shape(shape: Sequence[int]) -> str:
    return "x".join(str(d) for d in shape) if shape else "scalar"


def broadcastable(shape: Sequence[int], to: Sequence[int]) -> bool:
    """Whether ``shape`` broadcasts (numpy rules, right-aligned) to exactly ``to``."""
    if len(shape) > len(to):
        return False
    return all(a in (1, b) for a, b in zip(reversed(shape), reversed(to), strict=False))


def pool_output_size(
    size: int,
    kernel: int,
    stride: int,
    dilation: int,
    pad_begin: int,
    pad_end: int,
    ceil_mode: bool = False,
) -> int:
    """The ONNX conv/pool output extent of one spatial dim.

    ``floor((size + pads - ((kernel - 1) * dilation + 1)) / stride) + 1``; with
    ``ceil_mode`` rounded up instead, minus one if the last window would start in the
    end padding (as ONNX does).
    """
    span = dilation * (kernel - 1) + 1
    num = size + pad_begin + pad_end - span
    if not ceil_mode:
        return num // stride + 1
    out = -(-num // stride) + 1
    if (out - 1) * stride >= size + pad_begin:
        out -= 1
    return out


class NestOp(IRDLOperation, ABC):
    """Common base of the ``nest`` ops: the ``node`` property and shared checks."""

    node = prop_def(StringAttr)
    """The ONNX node name (for ``nest.weight``: the weight name)."""

    def _fail(self, message: str) -> NoReturn:
        raise VerifyException(f"'{self.node.data}': {message}")

    def _check_memrefs(self, values: Sequence[tuple[str, SSAValue]]) -> None:
        for what, v in values:
            if not isinstance(v.type, MemRefType):
                self._fail(f"{what} must be a memref, got {v.type}")
            if any(d < 1 for d in v.type.get_shape()):
                self._fail(
                    f"{what} must have a static shape with positive dims, got {v.type}"
                )

    def _check_same_type(self, values: Sequence[tuple[str, SSAValue]]) -> None:
        first_what, first = values[0]
        for what, v in values[1:]:
            if _elt(v) != _elt(first):
                self._fail(
                    f"{what} element type {_elt(v)} differs from {first_what} "
                    f"element type {_elt(first)}"
                )

    def _check_ints(
        self, what: str, values: Sequence[int], count: int, minimum: int
    ) -> None:
        if len(values) != count:
            self._fail(f"{what} needs {count} values, got {list(values)}")
        if any(v < minimum for v in values):
            self._fail(f"{what} values must be >= {minimum}, got {list(values)}")


# ---- custom syntax building blocks ---------------------------------------- #


def _print_node(printer: Printer, op: NestOp) -> None:
    printer.print_string(" ")
    printer.print_string_literal(op.node.data)


def _print_int_list(printer: Printer, keyword: str, values: Sequence[int]) -> None:
    printer.print_string(f" {keyword} [{', '.join(str(v) for v in values)}]")


def _parse_int_list(parser: AttrParser) -> list[int]:
    return parser.parse_comma_separated_list(
        parser.Delimiter.SQUARE, lambda: parser.parse_integer(allow_boolean=False)
    )


def _print_ins_outs(
    printer: Printer, ins: Sequence[SSAValue], outs: Sequence[SSAValue], op: NestOp
) -> None:
    printer.print_string(" ins(")
    printer.print_list(ins, printer.print_operand)
    printer.print_string(") outs(")
    printer.print_list(outs, printer.print_operand)
    printer.print_string(")")
    printer.print_op_attributes(op.attributes)
    printer.print_string(" : ")
    printer.print_list([v.type for v in ins], printer.print_attribute)
    printer.print_string(" -> ")
    printer.print_list([v.type for v in outs], printer.print_attribute)


def _parse_ins_outs(
    parser: Parser,
) -> tuple[list[SSAValue], list[SSAValue], dict[str, Attribute]]:
    parser.parse_keyword("ins")
    ins = parser.parse_comma_separated_list(
        parser.Delimiter.PAREN, parser.parse_unresolved_operand
    )
    parser.parse_keyword("outs")
    outs = parser.parse_comma_separated_list(
        parser.Delimiter.PAREN, parser.parse_unresolved_operand
    )
    attrs = parser.parse_optional_attr_dict()
    parser.parse_punctuation(":")
    in_types = parser.parse_comma_separated_list(
        parser.Delimiter.NONE, parser.parse_type
    )
    parser.parse_punctuation("->")
    out_types = parser.parse_comma_separated_list(
        parser.Delimiter.NONE, parser.parse_type
    )
    return (
        _resolve(parser, ins, in_types, "ins"),
        _resolve(parser, outs, out_types, "outs"),
        attrs,
    )


def _resolve(
    parser: Parser,
    operands: Sequence[UnresolvedOperand],
    types: Sequence[Attribute],
    what: str,
) -> list[SSAValue]:
    if len(operands) != len(types):
        parser.raise_error(
            f"{len(operands)} {what} operands but {len(types)} types were given"
        )
    return [parser.resolve_operand(o, t) for o, t in zip(operands, types, strict=True)]


# --------------------------------------------------------------------------- #
# Attributes
# --------------------------------------------------------------------------- #


@irdl_attr_definition
class DimsAttr(ParametrizedAttribute):
    """The bounds of the eight iteration dims of a contraction.

    ```
    #nest.dims<N=1, G=1, K=16, C=3, P=32, Q=32, R=3, S=3>
    ```
    """

    name = "nest.dims"

    bounds: ArrayAttr[IntAttr]
    """One trip count per dim, in the order ``N, G, K, C, P, Q, R, S``."""

    @staticmethod
    def get(bounds: Mapping[str, int] | Sequence[int]) -> DimsAttr:
        values = (
            [int(bounds[d]) for d in DIMS]
            if isinstance(bounds, Mapping)
            else [int(b) for b in bounds]
        )
        return DimsAttr(ArrayAttr(IntAttr(v) for v in values))

    def values(self) -> tuple[int, ...]:
        return tuple(b.data for b in self.bounds.data)

    def as_dict(self) -> dict[str, int]:
        return dict(zip(DIMS, self.values(), strict=True))

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        values: list[int] = []
        with parser.in_angle_brackets():
            for i, dim in enumerate(DIMS):
                if i:
                    parser.parse_punctuation(",")
                parser.parse_characters(dim, f" (dims are {', '.join(DIMS)})")
                parser.parse_punctuation("=")
                values.append(parser.parse_integer(allow_boolean=False))
        return (ArrayAttr(IntAttr(v) for v in values),)

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string(
            "<"
            + ", ".join(f"{d}={b}" for d, b in zip(DIMS, self.values(), strict=True))
            + ">"
        )

    def verify(self) -> None:
        if len(self.bounds.data) != len(DIMS):
            raise VerifyException(
                f"#nest.dims needs {len(DIMS)} bounds ({', '.join(DIMS)}), "
                f"got {len(self.bounds.data)}"
            )


# --------------------------------------------------------------------------- #
# Ops
# --------------------------------------------------------------------------- #


@irdl_op_definition
class WeightOp(NestOp):
    """A constant buffer: a model weight (initializer or derived constant).

    By default the data is not in the IR: ``node`` names an entry of the weight table
    of the module's ``nest.source`` model (``frontends.onnx.load_weight_table``).
    Small constants carry their data inline in ``value``.

    ```
    %w = nest.weight "conv1.weight.bnfold" : memref<16x3x3x3xf32>
    %c = nest.weight "k" = dense<[1.0, 2.0]> : memref<2xf32>
    ```
    """

    name = "nest.weight"

    value = opt_prop_def(DenseIntOrFPElementsAttr)
    """The data, when printed inline; otherwise looked up by name."""

    result = result_def(MemRefType)

    traits = traits_def(Pure())

    def __init__(
        self,
        name: str,
        type: MemRefType,
        value: DenseIntOrFPElementsAttr | None = None,
    ):
        super().__init__(
            result_types=[type],
            properties={"node": StringAttr(name), "value": value},
        )

    def array(self) -> np.ndarray | None:
        """The inline data as a numpy array (``None`` for a by-name weight)."""
        if self.value is None:
            return None
        import numpy as np

        values = self.value.get_values()
        return np.asarray(values).reshape(_shape(self.result))

    def verify_(self) -> None:
        if not self.node.data:
            self._fail("weight name must not be empty")
        self._check_memrefs([("result", self.result)])
        if self.value is not None and self.value.type != self.result.type:
            self._fail(
                f"inline value has type {self.value.type} but the result is "
                f"{self.result.type}"
            )

    def print(self, printer: Printer) -> None:
        _print_node(printer, self)
        printer.print_op_attributes(self.attributes)
        if self.value is not None:
            printer.print_string(" = ")
            printer.print_attribute(self.value)
        else:
            printer.print_string(" : ")
            printer.print_attribute(self.result.type)

    @classmethod
    def parse(cls, parser: Parser) -> WeightOp:
        name = parser.parse_str_literal("weight name")
        attrs = parser.parse_optional_attr_dict()
        props: dict[str, Attribute] = {"node": StringAttr(name)}
        if parser.parse_optional_punctuation("=") is not None:
            pos = parser.pos
            value = parser.parse_attribute()
            if not isinstance(value, DenseIntOrFPElementsAttr):
                parser.raise_error("expected a dense<...> : memref<...> value", pos)
            props["value"] = value
            type = value.type
        else:
            parser.parse_punctuation(":")
            type = parser.parse_type()
        return cls.create(result_types=[type], properties=props, attributes=attrs)


@irdl_op_definition
class ContractOp(NestOp):
    """A contraction over the MIREDO dims ``N, G, K, C, P, Q, R, S``.

    Conv (any stride/dilation/padding/groups, incl. depthwise), Gemm and (batched)
    MatMul all become this op. For every point ``it = (n, g, k, c, p, q, r, s)`` of the
    box ``0 <= d < dims[d]``::

        O[map_o(it)] = alpha * sum_{c, r, s} I[map_i(it)] * W[map_w(it)]
                       + beta * B[map_b(it)]          (bias term only with a bias)

    ``O`` is overwritten (its previous contents are ignored). ``C``, ``R`` and ``S``
    are the reduction dims. Reads of ``I`` outside its bounds yield 0 (zero padding;
    only the two spatial results of a conv input may leave the bounds, and only by
    ``pad``). Integer operands are widened and accumulated in ``O``'s element type.

    Conventions per ``kind``:

    * ``conv``: ``I`` is NCHW, ``W`` is ``(G*K) x C x R x S``, ``O`` is NKPQ;
      ``I[n, g*C + c, p*sh + r*dh - pt, q*sw + s*dw - pl]``,
      ``W[g*K + k, c, r, s]``, ``O[n, g*K + k, p, q]``.
    * ``gemm``: ``P`` = M, ``C`` = reduction, ``K`` = N (``N = G = Q = R = S = 1``);
      the maps of ``I`` and ``W`` follow transA/transB, e.g. ``I[p, c]``, ``W[c, k]``,
      ``O[p, k]``, bias broadcast with constant-0 results.
    * ``matmul``: batch dims are ``N`` (one batch dim) or ``N, G`` (two), ``P`` = M,
      ``C`` = reduction, ``K`` = N; an operand's size-1 broadcast batch dim is
      indexed by the constant 0 and a missing one has no result, e.g.
      ``I[0, g, p, c]`` or ``W[c, k]``, so its map does not depend on that dim.

    ```
    nest.contract "fc" gemm dims<N=1, G=1, K=10, C=16, P=1, Q=1, R=1, S=1> alpha 0.5
        ins(%a[p, c], %w[k, c]) bias(%b[k]) outs(%y[p, k])
        : memref<1x16xf32>, memref<10x16xf32>, memref<10xf32> -> memref<1x10xf32>
    ```
    """

    name = "nest.contract"

    input = operand_def(MemRefType)
    """``I``: the activations (zero-padded outside their bounds)."""
    weight = operand_def(MemRefType)
    """``W``: the weights (or the right-hand side of a MatMul)."""
    bias = opt_operand_def(MemRefType)
    """``B``: the optional bias, added once per output element."""
    output = operand_def(MemRefType)
    """``O``: the destination, overwritten."""

    kind = prop_def(StringAttr)
    """``conv``, ``gemm`` or ``matmul``: the source operator class."""
    dims = prop_def(DimsAttr)
    """Trip counts of ``N, G, K, C, P, Q, R, S``."""
    stride = prop_def(DenseArrayBase[I64])
    """``[sh, sw]``: conv strides (``[1, 1]`` for gemm/matmul)."""
    dilation = prop_def(DenseArrayBase[I64])
    """``[dh, dw]``: conv dilations (``[1, 1]`` for gemm/matmul)."""
    pad = prop_def(DenseArrayBase[I64])
    """``[top, left, bottom, right]`` zero padding of ``I`` (conv only)."""
    map_i = prop_def(AffineMapAttr)
    """Access map of ``I`` over ``(n, g, k, c, p, q, r, s)``."""
    map_w = prop_def(AffineMapAttr)
    """Access map of ``W``."""
    map_o = prop_def(AffineMapAttr)
    """Access map of ``O``; must not use the reduction dims ``c, r, s``."""
    map_b = opt_prop_def(AffineMapAttr)
    """Access map of ``B``; present iff there is a bias."""
    alpha = prop_def(FloatAttr)
    """Scale of the sum of products (Gemm ``alpha``)."""
    beta = prop_def(FloatAttr)
    """Scale of the bias (Gemm ``beta``)."""

    OPERANDS: ClassVar[tuple[str, ...]] = ("I", "W", "O", "B")

    def __init__(
        self,
        node: str,
        kind: str,
        dims: Mapping[str, int] | Sequence[int],
        input: SSAValue,
        weight: SSAValue,
        output: SSAValue,
        maps: Mapping[str, AffineMap],
        *,
        bias: SSAValue | None = None,
        stride: Sequence[int] = (1, 1),
        dilation: Sequence[int] = (1, 1),
        pad: Sequence[int] = (0, 0, 0, 0),
        alpha: float = 1.0,
        beta: float = 1.0,
        attributes: Mapping[str, Attribute] | None = None,
    ):
        props: dict[str, Attribute | None] = {
            "node": StringAttr(node),
            "kind": StringAttr(kind),
            "dims": DimsAttr.get(dims),
            "stride": _i64_array(stride),
            "dilation": _i64_array(dilation),
            "pad": _i64_array(pad),
            "map_i": AffineMapAttr(maps["I"]),
            "map_w": AffineMapAttr(maps["W"]),
            "map_o": AffineMapAttr(maps["O"]),
            "map_b": AffineMapAttr(maps["B"]) if "B" in maps else None,
            "alpha": _f64(alpha),
            "beta": _f64(beta),
        }
        super().__init__(
            operands=[input, weight, bias, output],
            properties=props,
            attributes=attributes,
        )

    # ---- queries used by the dataflow solver and the interpreter ---------- #

    def bounds(self) -> dict[str, int]:
        """The trip count of every dim, ``{"N": .., "G": .., ..., "S": ..}``."""
        return self.dims.as_dict()

    def operand(self, name: str) -> SSAValue | None:
        """The SSA value of operand ``I``, ``W``, ``O`` or ``B`` (``None``: no bias)."""
        return {
            "I": self.input,
            "W": self.weight,
            "O": self.output,
            "B": self.bias,
        }[name]

    def access_map(self, name: str) -> AffineMap | None:
        """The access map of operand ``I``, ``W``, ``O`` or ``B``."""
        attr = {
            "I": self.map_i,
            "W": self.map_w,
            "O": self.map_o,
            "B": self.map_b,
        }[name]
        return None if attr is None else attr.data

    def access(self, name: str) -> tuple[Lin, ...]:
        """The results of an operand's access map as linear expressions."""
        amap = self.access_map(name)
        return () if amap is None else map_results(amap)

    def relevant_dims(self, operand: str) -> frozenset[str]:
        """The dims (``"N"`` ... ``"S"``) that operand ``I``/``W``/``O``/``B`` depends on."""
        result: frozenset[str] = frozenset()
        for e in self.access(operand):
            result |= e.depends_on()
        return result

    def strides(self) -> tuple[int, int]:
        sh, sw = _ints(self.stride)
        return sh, sw

    def dilations(self) -> tuple[int, int]:
        dh, dw = _ints(self.dilation)
        return dh, dw

    def pads(self) -> tuple[int, int, int, int]:
        """``(top, left, bottom, right)``."""
        top, left, bottom, right = _ints(self.pad)
        return top, left, bottom, right

    def input_extent(self) -> tuple[int, int]:
        """``(H, W)`` of the unpadded input for a conv; ``(P, Q)`` otherwise."""
        shape = _shape(self.input)
        if self.kind.data == "conv" and len(shape) == 4:
            return shape[2], shape[3]
        b = self.bounds()
        return b["P"], b["Q"]

    def element_types(self) -> dict[str, Attribute]:
        """The element type of every present operand."""
        return {
            name: _elt(v)
            for name in self.OPERANDS
            if (v := self.operand(name)) is not None
        }

    # ---- verification ------------------------------------------------------ #

    def verify_(self) -> None:
        self._verify_dataflow()
        kind = self.kind.data
        if kind not in CONTRACT_KINDS:
            self._fail(
                f"unknown kind '{kind}', expected one of {', '.join(CONTRACT_KINDS)}"
            )
        bounds = self.dims.values()
        if any(b < 1 for b in bounds):
            self._fail(f"all dims must be >= 1, got {self._dims_text()}")
        stride, dilation, pad = (
            _ints(self.stride),
            _ints(self.dilation),
            _ints(self.pad),
        )
        self._check_ints("stride", stride, 2, 1)
        self._check_ints("dilation", dilation, 2, 1)
        self._check_ints("pad", pad, 4, 0)
        present = [(n, v) for n in self.OPERANDS if (v := self.operand(n)) is not None]
        self._check_memrefs(present)
        if (self.bias is None) != (self.map_b is None):
            self._fail("a bias operand and a bias map ('map_b') go together")

        maps: dict[str, tuple[Lin, ...]] = {}
        for name, v in present:
            amap = self.access_map(name)
            assert amap is not None
            try:
                maps[name] = map_results(amap)
            except ValueError as e:
                self._fail(f"{name} map: {e}")
            if len(maps[name]) != len(_shape(v)):
                self._fail(
                    f"{name} map has {len(maps[name])} results but {name} has rank "
                    f"{len(_shape(v))}"
                )

        for name in ("O", "B"):
            if name in maps:
                used = (
                    set().union(*(e.depends_on() for e in maps[name])) & REDUCTION_DIMS
                )
                if used:
                    self._fail(
                        f"{name} map must not use the reduction dims, uses "
                        f"{', '.join(sorted(used))}"
                    )

        if kind != "conv" and (stride != (1, 1) or dilation != (1, 1) or any(pad)):
            self._fail(f"{kind} must have unit stride and dilation and no padding")

        self._verify_kind(kind, bounds, stride, dilation, pad)
        self._verify_types()

        # Every access stays inside its memref (I only leaves it by the padding).
        for name, exprs in maps.items():
            shape = _shape(self.operand(name))  # type: ignore[arg-type]
            slack = [(0, 0)] * len(shape)
            if name == "I" and kind == "conv" and len(shape) == 4:
                slack[2] = (pad[0], pad[2])
                slack[3] = (pad[1], pad[3])
            for i, (e, size) in enumerate(zip(exprs, shape, strict=True)):
                lo, hi = e.range(bounds)
                if lo < -slack[i][0] or hi > size - 1 + slack[i][1]:
                    extra = " (after padding)" if any(slack[i]) else ""
                    self._fail(
                        f"{name} access '{e}' (dim {i}) spans [{lo}, {hi}] but {name} "
                        f"has extent {size}{extra}; the dims {self._dims_text()} "
                        f"do not fit {name}'s shape {_fmt_shape(shape)}"
                    )

        # The output is covered exactly once.
        o_exprs, o_shape = maps["O"], _shape(self.output)
        for i, (e, size) in enumerate(zip(o_exprs, o_shape, strict=True)):
            lo, hi = e.range(bounds)
            if (lo, hi) != (0, size - 1):
                self._fail(
                    f"O access '{e}' (dim {i}) spans [{lo}, {hi}], must cover the "
                    f"output extent {size} exactly"
                )
        o_dims = frozenset().union(*(e.depends_on() for e in o_exprs))
        points = math.prod(b for d, b in zip(DIMS, bounds, strict=True) if d in o_dims)
        if points != math.prod(o_shape):
            self._fail(
                f"the output dims {self._dims_text()} give {points} output points but "
                f"O has shape {_fmt_shape(o_shape)} ({math.prod(o_shape)} elements)"
            )

    def _verify_dataflow(self) -> None:
        """A ``dataflow`` attribute, if present, must tile exactly this op's bounds."""
        df = self.attributes.get("dataflow")
        if df is None:
            return
        if not isinstance(df, DataflowAttr):
            self._fail("'dataflow' must be a #nest.dataflow attribute")
        try:
            df.verify_bounds(self.bounds())
        except VerifyException as e:
            self._fail(str(e))

    def _dims_text(self) -> str:
        return "<" + ", ".join(f"{d}={b}" for d, b in self.bounds().items()) + ">"

    def _verify_kind(
        self,
        kind: str,
        bounds: Sequence[int],
        stride: Sequence[int],
        dilation: Sequence[int],
        pad: Sequence[int],
    ) -> None:
        b = dict(zip(DIMS, bounds, strict=True))
        i_shape, w_shape, o_shape = (
            _shape(self.input),
            _shape(self.weight),
            _shape(self.output),
        )
        if kind == "conv":
            for what, shape in (
                ("input", i_shape),
                ("weight", w_shape),
                ("output", o_shape),
            ):
                if len(shape) != 4:
                    self._fail(f"conv {what} must have rank 4, got {_fmt_shape(shape)}")
            if i_shape[1] != b["G"] * b["C"]:
                self._fail(
                    f"input has {i_shape[1]} channels, not G*C = {b['G']}*{b['C']} "
                    f"(channels must divide into G groups)"
                )
            if o_shape[1] != b["G"] * b["K"]:
                self._fail(
                    f"output has {o_shape[1]} channels, not G*K = {b['G']}*{b['K']} "
                    f"(output channels must divide into G groups)"
                )
            expect_w = (b["G"] * b["K"], b["C"], b["R"], b["S"])
            if w_shape != expect_w:
                self._fail(
                    f"weight shape {_fmt_shape(w_shape)} does not match dims, expected "
                    f"{_fmt_shape(expect_w)} (G*K x C x R x S)"
                )
            expect_o = (b["N"], b["G"] * b["K"], b["P"], b["Q"])
            if o_shape != expect_o:
                self._fail(
                    f"output shape {_fmt_shape(o_shape)} does not match dims, expected "
                    f"{_fmt_shape(expect_o)} (N x G*K x P x Q)"
                )
            if i_shape[0] != b["N"]:
                self._fail(f"input batch {i_shape[0]} differs from N={b['N']}")
            spatial = (
                ("P", i_shape[2], b["R"], stride[0], dilation[0], pad[0], pad[2]),
                ("Q", i_shape[3], b["S"], stride[1], dilation[1], pad[1], pad[3]),
            )
            for dim, size, k, s, d, p0, p1 in spatial:
                expect = pool_output_size(size, k, s, d, p0, p1)
                if b[dim] != expect:
                    self._fail(
                        f"{dim}={b[dim]} but input extent {size}, kernel {k}, "
                        f"stride {s}, dilation {d}, pads {p0}+{p1} give {expect}"
                    )
        else:
            for d in ("Q", "R", "S"):
                if b[d] != 1:
                    self._fail(f"{kind} must have {d}=1, got {self._dims_text()}")
            if kind == "gemm":
                if b["N"] != 1 or b["G"] != 1:
                    self._fail(f"gemm must have N=1 and G=1, got {self._dims_text()}")
                for what, shape in (
                    ("input", i_shape),
                    ("weight", w_shape),
                    ("output", o_shape),
                ):
                    if len(shape) != 2:
                        self._fail(
                            f"gemm {what} must have rank 2, got {_fmt_shape(shape)}"
                        )
                if o_shape != (b["P"], b["K"]):
                    self._fail(
                        f"output shape {_fmt_shape(o_shape)} does not match dims, "
                        f"expected {b['P']}x{b['K']} (P x K)"
                    )

    def _verify_types(self) -> None:
        it, wt, ot = _elt(self.input), _elt(self.weight), _elt(self.output)
        if (
            isinstance(it, AnyFloat)
            or isinstance(wt, AnyFloat)
            or isinstance(ot, AnyFloat)
        ):
            types = [("I", it), ("W", wt), ("O", ot)]
            if self.bias is not None:
                types.append(("B", _elt(self.bias)))
            if any(t != it for _, t in types):
                self._fail(
                    "float operands must share one element type, got "
                    + ", ".join(f"{n}: {t}" for n, t in types)
                )
            return
        if not all(isinstance(t, IntegerType) for t in (it, wt, ot)):
            self._fail(f"unsupported element types I: {it}, W: {wt}, O: {ot}")
        assert isinstance(it, IntegerType) and isinstance(wt, IntegerType)
        assert isinstance(ot, IntegerType)
        if ot.width.data < max(it.width.data, wt.width.data):
            self._fail(
                f"integer output type {ot} is narrower than the inputs ({it}, {wt})"
            )
        if self.bias is not None and _elt(self.bias) != ot:
            self._fail(
                f"integer bias type {_elt(self.bias)} must equal the output type {ot}"
            )

    # ---- custom syntax ---------------------------------------------------- #

    def print(self, printer: Printer) -> None:
        _print_node(printer, self)
        printer.print_string(f" {self.kind.data} dims")
        self.dims.print_parameters(printer)
        stride, dilation, pad = (
            _ints(self.stride),
            _ints(self.dilation),
            _ints(self.pad),
        )
        conv = self.kind.data == "conv"
        if conv or stride != (1, 1):
            _print_int_list(printer, "stride", stride)
        if conv or dilation != (1, 1):
            _print_int_list(printer, "dilation", dilation)
        if conv or any(pad):
            _print_int_list(printer, "pad", pad)
        if self.alpha.value.data != 1.0:
            printer.print_string(f" alpha {_fmt_float(self.alpha.value.data)}")
        if self.beta.value.data != 1.0:
            printer.print_string(f" beta {_fmt_float(self.beta.value.data)}")

        def access(value: SSAValue, attr: AffineMapAttr) -> None:
            printer.print_operand(value)
            try:
                text = ", ".join(str(e) for e in map_results(attr.data))
            except ValueError:  # not linear: print what we have; the verifier complains
                text = ", ".join(str(e) for e in attr.data.results)
            printer.print_string(f"[{text}]")

        printer.print_string(" ins(")
        access(self.input, self.map_i)
        printer.print_string(", ")
        access(self.weight, self.map_w)
        printer.print_string(")")
        if self.bias is not None and self.map_b is not None:
            printer.print_string(" bias(")
            access(self.bias, self.map_b)
            printer.print_string(")")
        printer.print_string(" outs(")
        access(self.output, self.map_o)
        printer.print_string(")")
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        ins = [self.input, self.weight] + ([self.bias] if self.bias is not None else [])
        printer.print_list([v.type for v in ins], printer.print_attribute)
        printer.print_string(" -> ")
        printer.print_attribute(self.output.type)

    @classmethod
    def parse(cls, parser: Parser) -> ContractOp:
        node = parser.parse_str_literal("ONNX node name")
        kind = parser.parse_identifier("contraction kind")
        parser.parse_keyword("dims")
        (bounds,) = DimsAttr.parse_parameters(parser)
        props: dict[str, Attribute] = {
            "node": StringAttr(node),
            "kind": StringAttr(kind),
            "dims": DimsAttr(bounds),  # pyright: ignore[reportArgumentType]
            "stride": _i64_array((1, 1)),
            "dilation": _i64_array((1, 1)),
            "pad": _i64_array((0, 0, 0, 0)),
            "alpha": _f64(1.0),
            "beta": _f64(1.0),
        }
        while (
            key := parser.parse_optional_keyword_in(
                ("stride", "dilation", "pad", "alpha", "beta")
            )
        ) is not None:
            if key in ("alpha", "beta"):
                props[key] = _f64(float(parser.parse_number()))
            else:
                props[key] = _i64_array(_parse_int_list(parser))

        def access() -> tuple[UnresolvedOperand, AffineMap]:
            operand = parser.parse_unresolved_operand()
            exprs = parser.parse_comma_separated_list(
                parser.Delimiter.SQUARE, lambda: _parse_lin(parser)
            )
            return operand, access_map(exprs)

        parser.parse_keyword("ins")
        ins = parser.parse_comma_separated_list(parser.Delimiter.PAREN, access)
        if len(ins) != 2:
            parser.raise_error("nest.contract takes two ins: the input and the weight")
        bias = None
        if parser.parse_optional_keyword("bias") is not None:
            parser.parse_punctuation("(")
            bias = access()
            parser.parse_punctuation(")")
        parser.parse_keyword("outs")
        parser.parse_punctuation("(")
        out = access()
        parser.parse_punctuation(")")
        attrs = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        in_types = parser.parse_comma_separated_list(
            parser.Delimiter.NONE, parser.parse_type
        )
        parser.parse_punctuation("->")
        out_type = parser.parse_type()

        accesses = [*ins, *([bias] if bias else [])]
        values = _resolve(parser, [a[0] for a in accesses], in_types, "ins and bias")
        output = parser.resolve_operand(out[0], out_type)
        props["map_i"] = AffineMapAttr(ins[0][1])
        props["map_w"] = AffineMapAttr(ins[1][1])
        props["map_o"] = AffineMapAttr(out[1])
        operands = [values[0], values[1]]
        if bias is not None:
            props["map_b"] = AffineMapAttr(bias[1])
            operands.append(values[2])
        operands.append(output)
        return cls.create(operands=operands, properties=props, attributes=attrs)


@irdl_op_definition
class ElementwiseOp(NestOp):
    """An elementwise function on the SIMD unit, with numpy-style broadcasting.

    ``O[idx] = fn(I0[idx'], I1[idx'])`` where every input is broadcast (right-aligned,
    size-1 dims repeated) to ``O``'s shape. Unary ``fn``: ``relu``, ``clip`` (with
    optional ``min``/``max``: ``min(max(x, min), max)``, so ``max`` wins when
    ``min > max`` as in ONNX; an absent bound does not clip), ``sigmoid``, ``tanh``,
    ``erf``, ``exp``, ``sqrt``, ``neg``, ``abs``, ``reciprocal``, ``gelu`` (with
    ``approximate`` = ``none`` (erf form) or ``tanh``). Binary ``fn``: ``add``, ``sub``,
    ``mul``, ``div``, ``pow``, ``max``, ``min``. The numerics are those of the ONNX
    operator of the same name. All operands share an element type, except the
    exponent of ``pow``.

    ```
    nest.elementwise "relu1" relu ins(%a) outs(%b) : memref<1x16xf32> -> memref<1x16xf32>
    nest.elementwise "relu6" clip(min = 0.0, max = 6.0) ins(%a) outs(%b) : ...
    nest.elementwise "add1" add ins(%a, %bias) outs(%c)
        : memref<1x16x8x8xf32>, memref<16x1x1xf32> -> memref<1x16x8x8xf32>
    ```
    """

    name = "nest.elementwise"

    inputs = var_operand_def(MemRefType)
    """One input for a unary ``fn``, two for a binary one."""
    output = operand_def(MemRefType)
    """The destination; its shape is the broadcast shape."""

    fn = prop_def(StringAttr)
    """The function, see the op description."""
    min = opt_prop_def(FloatAttr)
    """Lower bound of ``clip`` (absent: none)."""
    max = opt_prop_def(FloatAttr)
    """Upper bound of ``clip`` (absent: none)."""
    approximate = opt_prop_def(StringAttr)
    """``gelu`` only: ``none`` or ``tanh`` (absent means ``none``)."""

    def __init__(
        self,
        node: str,
        fn: str,
        inputs: Sequence[SSAValue],
        output: SSAValue,
        *,
        min: float | None = None,
        max: float | None = None,
        approximate: str | None = None,
        attributes: Mapping[str, Attribute] | None = None,
    ):
        super().__init__(
            operands=[list(inputs), output],
            properties={
                "node": StringAttr(node),
                "fn": StringAttr(fn),
                "min": None if min is None else _f64(min),
                "max": None if max is None else _f64(max),
                "approximate": None if approximate is None else StringAttr(approximate),
            },
            attributes=attributes,
        )

    def verify_(self) -> None:
        fn = self.fn.data
        if fn not in ELEMENTWISE_FNS:
            self._fail(
                f"unknown elementwise function '{fn}', expected one of "
                f"{', '.join(ELEMENTWISE_FNS)}"
            )
        arity = 1 if fn in UNARY_FNS else 2
        if len(self.inputs) != arity:
            self._fail(f"'{fn}' takes {arity} input(s), got {len(self.inputs)}")
        values = [(f"input {i}", v) for i, v in enumerate(self.inputs)]
        self._check_memrefs([*values, ("output", self.output)])
        same = values if fn != "pow" else values[:1]
        self._check_same_type([("output", self.output), *same])
        out_shape = _shape(self.output)
        for what, v in values:
            if not broadcastable(_shape(v), out_shape):
                self._fail(
                    f"{what} of shape {_fmt_shape(_shape(v))} does not broadcast to "
                    f"the output shape {_fmt_shape(out_shape)}"
                )
        if fn != "clip" and (self.min is not None or self.max is not None):
            self._fail(f"min/max are only allowed on 'clip', not on '{fn}'")
        if self.approximate is not None:
            if fn != "gelu":
                self._fail(f"'approximate' is only allowed on 'gelu', not on '{fn}'")
            if self.approximate.data not in GELU_APPROXIMATIONS:
                self._fail(
                    f"gelu approximate must be none or tanh, got "
                    f"'{self.approximate.data}'"
                )

    def print(self, printer: Printer) -> None:
        _print_node(printer, self)
        printer.print_string(f" {self.fn.data}")
        if self.fn.data == "clip":
            bounds = [
                f"{k} = {_fmt_float(a.value.data)}"
                for k, a in (("min", self.min), ("max", self.max))
                if a is not None
            ]
            printer.print_string(f"({', '.join(bounds)})")
        elif self.approximate is not None:
            printer.print_string(f"({self.approximate.data})")
        _print_ins_outs(printer, list(self.inputs), [self.output], self)

    @classmethod
    def parse(cls, parser: Parser) -> ElementwiseOp:
        node = parser.parse_str_literal("ONNX node name")
        fn = parser.parse_identifier("elementwise function")
        props: dict[str, Attribute] = {"node": StringAttr(node), "fn": StringAttr(fn)}
        if parser.parse_optional_punctuation("(") is not None:
            if fn == "clip":
                if parser.parse_optional_punctuation(")") is None:
                    while True:
                        key = parser.parse_keyword_in(("min", "max"))
                        parser.parse_punctuation("=")
                        props[key] = _f64(float(parser.parse_number()))
                        if parser.parse_optional_punctuation(",") is None:
                            break
                    parser.parse_punctuation(")")
            else:
                props["approximate"] = StringAttr(
                    parser.parse_identifier("gelu approximation")
                )
                parser.parse_punctuation(")")
        ins, outs, attrs = _parse_ins_outs(parser)
        return cls.create(operands=[*ins, *outs], properties=props, attributes=attrs)


class _UnaryNestOp(NestOp, ABC):
    """Shared plumbing of the one-input, one-output ops."""

    input = operand_def(MemRefType)
    """The source buffer."""
    output = operand_def(MemRefType)
    """The destination buffer."""

    def _print_props(self, printer: Printer) -> None:
        pass

    @classmethod
    def _parse_props(cls, parser: Parser, props: dict[str, Attribute]) -> None:
        pass

    def print(self, printer: Printer) -> None:
        _print_node(printer, self)
        self._print_props(printer)
        _print_ins_outs(printer, [self.input], [self.output], self)

    @classmethod
    def parse(cls, parser: Parser):
        node = parser.parse_str_literal("ONNX node name")
        props: dict[str, Attribute] = {"node": StringAttr(node)}
        cls._parse_props(parser, props)
        ins, outs, attrs = _parse_ins_outs(parser)
        if len(ins) != 1 or len(outs) != 1:
            parser.raise_error(f"{cls.name} takes one input and one output")
        return cls.create(operands=[*ins, *outs], properties=props, attributes=attrs)

    def _io(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        self._check_memrefs([("input", self.input), ("output", self.output)])
        self._check_same_type([("input", self.input), ("output", self.output)])
        return _shape(self.input), _shape(self.output)


@irdl_op_definition
class PoolOp(_UnaryNestOp):
    """2-D max or average pooling of an NCHW buffer on the SIMD unit.

    ``O[n, c, y, x]`` reduces the window ``I[n, c, y*sh + i*dh - pt, x*sw + j*dw - pl]``
    for ``0 <= i < kh``, ``0 <= j < kw`` (ONNX MaxPool/AveragePool with explicit pads).
    Padding never wins a max; an average divides by the number of in-bounds elements,
    or by ``kh*kw`` with ``count_include_pad``. With ``ceil_mode`` the output extent is
    rounded up as in ONNX (``ceil((H + pt + pb - ((kh-1)*dh + 1)) / sh) + 1``, minus one
    if that last window would start beyond ``H + pt``; see ``pool_output_size``).
    GlobalAveragePool/GlobalMaxPool are pools whose kernel is the whole ``H x W``.

    ```
    nest.pool "pool1" max kernel [3, 3] stride [2, 2] pad [1, 1, 1, 1] ins(%a) outs(%b)
        : memref<1x16x32x32xf32> -> memref<1x16x16x16xf32>
    ```
    """

    name = "nest.pool"

    kind = prop_def(StringAttr)
    """``max`` or ``avg``."""
    kernel = prop_def(DenseArrayBase[I64])
    """``[kh, kw]``."""
    stride = prop_def(DenseArrayBase[I64])
    """``[sh, sw]``."""
    dilation = prop_def(DenseArrayBase[I64])
    """``[dh, dw]``."""
    pad = prop_def(DenseArrayBase[I64])
    """``[top, left, bottom, right]``."""
    ceil_mode = opt_prop_def(UnitAttr)
    """Round the output extent up instead of down."""
    count_include_pad = opt_prop_def(UnitAttr)
    """``avg`` only: divide by the full window size, padding included."""

    def __init__(
        self,
        node: str,
        kind: str,
        input: SSAValue,
        output: SSAValue,
        *,
        kernel: Sequence[int],
        stride: Sequence[int] = (1, 1),
        dilation: Sequence[int] = (1, 1),
        pad: Sequence[int] = (0, 0, 0, 0),
        ceil_mode: bool = False,
        count_include_pad: bool = False,
        attributes: Mapping[str, Attribute] | None = None,
    ):
        super().__init__(
            operands=[input, output],
            properties={
                "node": StringAttr(node),
                "kind": StringAttr(kind),
                "kernel": _i64_array(kernel),
                "stride": _i64_array(stride),
                "dilation": _i64_array(dilation),
                "pad": _i64_array(pad),
                "ceil_mode": UnitAttr() if ceil_mode else None,
                "count_include_pad": UnitAttr() if count_include_pad else None,
            },
            attributes=attributes,
        )

    def verify_(self) -> None:
        if self.kind.data not in POOL_KINDS:
            self._fail(f"unknown pool kind '{self.kind.data}', expected max or avg")
        kernel, stride = _ints(self.kernel), _ints(self.stride)
        dilation, pad = _ints(self.dilation), _ints(self.pad)
        self._check_ints("kernel", kernel, 2, 1)
        self._check_ints("stride", stride, 2, 1)
        self._check_ints("dilation", dilation, 2, 1)
        self._check_ints("pad", pad, 4, 0)
        if self.count_include_pad is not None and self.kind.data != "avg":
            self._fail("count_include_pad is only allowed on avg pools")
        i_shape, o_shape = self._io()
        if len(i_shape) != 4 or len(o_shape) != 4:
            self._fail(
                f"pool needs rank-4 (NCHW) buffers, got {_fmt_shape(i_shape)} -> "
                f"{_fmt_shape(o_shape)}"
            )
        expect = [
            i_shape[0],
            i_shape[1],
            *(
                pool_output_size(
                    i_shape[2 + a],
                    kernel[a],
                    stride[a],
                    dilation[a],
                    pad[a],
                    pad[2 + a],
                    self.ceil_mode is not None,
                )
                for a in range(2)
            ),
        ]
        if tuple(expect) != o_shape:
            self._fail(
                f"output shape {_fmt_shape(o_shape)} does not match the pooling of "
                f"{_fmt_shape(i_shape)} with kernel {list(kernel)}, stride "
                f"{list(stride)}, dilation {list(dilation)}, pad {list(pad)}"
                f"{', ceil_mode' if self.ceil_mode else ''}: expected "
                f"{_fmt_shape(expect)}"
            )

    def _print_props(self, printer: Printer) -> None:
        printer.print_string(f" {self.kind.data}")
        _print_int_list(printer, "kernel", _ints(self.kernel))
        _print_int_list(printer, "stride", _ints(self.stride))
        _print_int_list(printer, "pad", _ints(self.pad))
        if _ints(self.dilation) != (1, 1):
            _print_int_list(printer, "dilation", _ints(self.dilation))
        if self.ceil_mode is not None:
            printer.print_string(" ceil_mode")
        if self.count_include_pad is not None:
            printer.print_string(" count_include_pad")

    @classmethod
    def _parse_props(cls, parser: Parser, props: dict[str, Attribute]) -> None:
        props["kind"] = StringAttr(parser.parse_identifier("pool kind"))
        props["stride"] = _i64_array((1, 1))
        props["dilation"] = _i64_array((1, 1))
        props["pad"] = _i64_array((0, 0, 0, 0))
        keys = ("kernel", "stride", "pad", "dilation", "ceil_mode", "count_include_pad")
        while (key := parser.parse_optional_keyword_in(keys)) is not None:
            if key in ("ceil_mode", "count_include_pad"):
                props[key] = UnitAttr()
            else:
                props[key] = _i64_array(_parse_int_list(parser))
        if "kernel" not in props:
            parser.raise_error("nest.pool needs a kernel")


@irdl_op_definition
class SoftmaxOp(_UnaryNestOp):
    """Softmax along one axis: ``O = exp(I - max) / sum(exp(I - max))`` over ``axis``.

    ```
    nest.softmax "sm" axis 3 ins(%a) outs(%b) : memref<1x2x8x8xf32> -> memref<1x2x8x8xf32>
    ```
    """

    name = "nest.softmax"

    axis = prop_def(IntegerAttr[I64])
    """The (non-negative) axis normalised over."""

    def __init__(
        self,
        node: str,
        input: SSAValue,
        output: SSAValue,
        axis: int,
        attributes: Mapping[str, Attribute] | None = None,
    ):
        super().__init__(
            operands=[input, output],
            properties={"node": StringAttr(node), "axis": IntegerAttr(axis, i64)},
            attributes=attributes,
        )

    def verify_(self) -> None:
        i_shape, o_shape = self._io()
        axis = self.axis.value.data
        if not 0 <= axis < len(i_shape):
            self._fail(f"axis {axis} is out of range for rank {len(i_shape)}")
        if i_shape != o_shape:
            self._fail(
                f"output shape {_fmt_shape(o_shape)} differs from input shape "
                f"{_fmt_shape(i_shape)}"
            )
        if not isinstance(_elt(self.input), AnyFloat):
            self._fail(f"softmax needs a float type, got {_elt(self.input)}")

    def _print_props(self, printer: Printer) -> None:
        printer.print_string(f" axis {self.axis.value.data}")

    @classmethod
    def _parse_props(cls, parser: Parser, props: dict[str, Attribute]) -> None:
        parser.parse_keyword("axis")
        props["axis"] = IntegerAttr(parser.parse_integer(allow_boolean=False), i64)


@irdl_op_definition
class LayerNormOp(NestOp):
    """Layer normalisation over the trailing dims ``axis .. rank-1``.

    ``O = (I - mean) / sqrt(var + epsilon) * scale + bias`` with mean and (biased)
    variance over the dims from ``axis`` on; ``scale`` and ``bias`` broadcast to ``I``
    (ONNX LayerNormalization, computed in the element type).

    ```
    nest.layernorm "ln" axis 2 epsilon 1.0e-05 ins(%x, %gamma, %beta) outs(%y)
        : memref<1x8x32xf32>, memref<32xf32>, memref<32xf32> -> memref<1x8x32xf32>
    ```
    """

    name = "nest.layernorm"

    input = operand_def(MemRefType)
    """``I``: the data."""
    scale = operand_def(MemRefType)
    """Per-element scale (gamma), broadcast to ``I``."""
    bias = opt_operand_def(MemRefType)
    """Optional shift (beta), broadcast to ``I``."""
    output = operand_def(MemRefType)
    """The destination, same shape as ``I``."""

    axis = prop_def(IntegerAttr[I64])
    """First normalised axis (non-negative)."""
    epsilon = prop_def(FloatAttr)
    """Added to the variance."""

    def __init__(
        self,
        node: str,
        input: SSAValue,
        scale: SSAValue,
        bias: SSAValue | None,
        output: SSAValue,
        *,
        axis: int,
        epsilon: float,
        attributes: Mapping[str, Attribute] | None = None,
    ):
        super().__init__(
            operands=[input, scale, bias, output],
            properties={
                "node": StringAttr(node),
                "axis": IntegerAttr(axis, i64),
                "epsilon": _f64(epsilon),
            },
            attributes=attributes,
        )

    def verify_(self) -> None:
        values = [("input", self.input), ("scale", self.scale)]
        if self.bias is not None:
            values.append(("bias", self.bias))
        self._check_memrefs([*values, ("output", self.output)])
        self._check_same_type([*values, ("output", self.output)])
        shape = _shape(self.input)
        axis = self.axis.value.data
        if not 0 <= axis < len(shape):
            self._fail(f"axis {axis} is out of range for rank {len(shape)}")
        if _shape(self.output) != shape:
            self._fail(
                f"output shape {_fmt_shape(_shape(self.output))} differs from input "
                f"shape {_fmt_shape(shape)}"
            )
        for what, v in values[1:]:
            if not broadcastable(_shape(v), shape):
                self._fail(
                    f"{what} of shape {_fmt_shape(_shape(v))} does not broadcast to "
                    f"the input shape {_fmt_shape(shape)}"
                )
        if self.epsilon.value.data <= 0:
            self._fail(f"epsilon must be positive, got {self.epsilon.value.data}")
        if not isinstance(_elt(self.input), AnyFloat):
            self._fail(f"layernorm needs a float type, got {_elt(self.input)}")

    def print(self, printer: Printer) -> None:
        _print_node(printer, self)
        printer.print_string(
            f" axis {self.axis.value.data} epsilon {_fmt_float(self.epsilon.value.data)}"
        )
        ins = [self.input, self.scale] + ([self.bias] if self.bias is not None else [])
        _print_ins_outs(printer, ins, [self.output], self)

    @classmethod
    def parse(cls, parser: Parser) -> LayerNormOp:
        node = parser.parse_str_literal("ONNX node name")
        parser.parse_keyword("axis")
        axis = parser.parse_integer(allow_boolean=False)
        parser.parse_keyword("epsilon")
        epsilon = float(parser.parse_number())
        ins, outs, attrs = _parse_ins_outs(parser)
        if len(ins) not in (2, 3) or len(outs) != 1:
            parser.raise_error(
                "nest.layernorm takes ins(input, scale[, bias]) and one output"
            )
        return cls.create(
            operands=[*ins, *outs],
            properties={
                "node": StringAttr(node),
                "axis": IntegerAttr(axis, i64),
                "epsilon": _f64(epsilon),
            },
            attributes=attrs,
        )


@irdl_op_definition
class ReduceOp(_UnaryNestOp):
    """Reduction (``mean``, ``sum`` or ``max``) over a set of axes.

    ``O`` has ``I``'s shape with the reduced axes removed, or kept with extent 1
    under ``keepdims``.

    ```
    nest.reduce "rm" mean axes [2] keepdims ins(%x) outs(%m)
        : memref<1x8x32xf32> -> memref<1x8x1xf32>
    ```
    """

    name = "nest.reduce"

    kind = prop_def(StringAttr)
    """``mean``, ``sum`` or ``max``."""
    axes = prop_def(DenseArrayBase[I64])
    """The reduced axes: non-negative, strictly increasing, not empty."""
    keepdims = opt_prop_def(UnitAttr)
    """Keep the reduced axes with extent 1."""

    def __init__(
        self,
        node: str,
        kind: str,
        input: SSAValue,
        output: SSAValue,
        *,
        axes: Sequence[int],
        keepdims: bool,
        attributes: Mapping[str, Attribute] | None = None,
    ):
        super().__init__(
            operands=[input, output],
            properties={
                "node": StringAttr(node),
                "kind": StringAttr(kind),
                "axes": _i64_array(axes),
                "keepdims": UnitAttr() if keepdims else None,
            },
            attributes=attributes,
        )

    def verify_(self) -> None:
        if self.kind.data not in REDUCE_KINDS:
            self._fail(
                f"unknown reduction '{self.kind.data}', expected one of "
                f"{', '.join(REDUCE_KINDS)}"
            )
        i_shape, o_shape = self._io()
        axes = _ints(self.axes)
        if not axes:
            self._fail("axes must not be empty")
        if any(a < 0 or a >= len(i_shape) for a in axes) or list(axes) != sorted(
            set(axes)
        ):
            self._fail(
                f"axes {list(axes)} must be increasing, unique and in [0, "
                f"{len(i_shape)})"
            )
        if self.keepdims is not None:
            expect = tuple(1 if i in axes else d for i, d in enumerate(i_shape))
        else:
            expect = tuple(d for i, d in enumerate(i_shape) if i not in axes)
        if o_shape != expect:
            self._fail(
                f"output shape {_fmt_shape(o_shape)} does not match reducing "
                f"{_fmt_shape(i_shape)} over axes {list(axes)}"
                f"{' with keepdims' if self.keepdims else ''}: expected "
                f"{_fmt_shape(expect)}"
            )

    def _print_props(self, printer: Printer) -> None:
        printer.print_string(f" {self.kind.data}")
        _print_int_list(printer, "axes", _ints(self.axes))
        if self.keepdims is not None:
            printer.print_string(" keepdims")

    @classmethod
    def _parse_props(cls, parser: Parser, props: dict[str, Attribute]) -> None:
        props["kind"] = StringAttr(parser.parse_identifier("reduction kind"))
        parser.parse_keyword("axes")
        props["axes"] = _i64_array(_parse_int_list(parser))
        if parser.parse_optional_keyword("keepdims") is not None:
            props["keepdims"] = UnitAttr()


@irdl_op_definition
class ReshapeOp(_UnaryNestOp):
    """Copy ``I`` into ``O`` in row-major order (ONNX Reshape, Flatten, Squeeze,
    Unsqueeze; also a plain copy when the shapes are equal).

    ```
    nest.reshape "flat" ins(%x) outs(%y) : memref<1x16x1x1xf32> -> memref<1x16xf32>
    ```
    """

    name = "nest.reshape"

    def __init__(
        self,
        node: str,
        input: SSAValue,
        output: SSAValue,
        attributes: Mapping[str, Attribute] | None = None,
    ):
        super().__init__(
            operands=[input, output],
            properties={"node": StringAttr(node)},
            attributes=attributes,
        )

    def verify_(self) -> None:
        i_shape, o_shape = self._io()
        if math.prod(i_shape) != math.prod(o_shape):
            self._fail(
                f"cannot reshape {_fmt_shape(i_shape)} ({math.prod(i_shape)} elements) "
                f"into {_fmt_shape(o_shape)} ({math.prod(o_shape)} elements)"
            )


@irdl_op_definition
class TransposeOp(_UnaryNestOp):
    """Permute the axes: ``O[i_0, ..., i_k] = I[j]`` with ``j[perm[a]] = i_a``, i.e.
    ``O.shape[a] = I.shape[perm[a]]`` (numpy ``transpose(I, perm)``).

    ```
    nest.transpose "t" perm [0, 2, 1, 3] ins(%x) outs(%y)
        : memref<1x8x2x16xf32> -> memref<1x2x8x16xf32>
    ```
    """

    name = "nest.transpose"

    perm = prop_def(DenseArrayBase[I64])
    """A permutation of ``0 .. rank-1``."""

    def __init__(
        self,
        node: str,
        input: SSAValue,
        output: SSAValue,
        perm: Sequence[int],
        attributes: Mapping[str, Attribute] | None = None,
    ):
        super().__init__(
            operands=[input, output],
            properties={"node": StringAttr(node), "perm": _i64_array(perm)},
            attributes=attributes,
        )

    def verify_(self) -> None:
        i_shape, o_shape = self._io()
        perm = _ints(self.perm)
        if sorted(perm) != list(range(len(i_shape))):
            self._fail(
                f"perm {list(perm)} is not a permutation of the {len(i_shape)} axes"
            )
        expect = tuple(i_shape[p] for p in perm)
        if o_shape != expect:
            self._fail(
                f"output shape {_fmt_shape(o_shape)} does not match transposing "
                f"{_fmt_shape(i_shape)} by {list(perm)}: expected {_fmt_shape(expect)}"
            )

    def _print_props(self, printer: Printer) -> None:
        _print_int_list(printer, "perm", _ints(self.perm))

    @classmethod
    def _parse_props(cls, parser: Parser, props: dict[str, Attribute]) -> None:
        parser.parse_keyword("perm")
        props["perm"] = _i64_array(_parse_int_list(parser))


@irdl_op_definition
class ConcatOp(NestOp):
    """Concatenate the inputs along ``axis``, in operand order.

    ```
    nest.concat "cat" axis 1 ins(%a, %b) outs(%c)
        : memref<1x8x4x4xf32>, memref<1x4x4x4xf32> -> memref<1x12x4x4xf32>
    ```
    """

    name = "nest.concat"

    inputs = var_operand_def(MemRefType)
    """The pieces, at least one."""
    output = operand_def(MemRefType)
    """The destination."""

    axis = prop_def(IntegerAttr[I64])
    """The (non-negative) concatenation axis."""

    def __init__(
        self,
        node: str,
        inputs: Sequence[SSAValue],
        output: SSAValue,
        axis: int,
        attributes: Mapping[str, Attribute] | None = None,
    ):
        super().__init__(
            operands=[list(inputs), output],
            properties={"node": StringAttr(node), "axis": IntegerAttr(axis, i64)},
            attributes=attributes,
        )

    def verify_(self) -> None:
        if not self.inputs:
            self._fail("concat needs at least one input")
        values = [(f"input {i}", v) for i, v in enumerate(self.inputs)]
        self._check_memrefs([*values, ("output", self.output)])
        self._check_same_type([("output", self.output), *values])
        o_shape = _shape(self.output)
        axis = self.axis.value.data
        if not 0 <= axis < len(o_shape):
            self._fail(f"axis {axis} is out of range for rank {len(o_shape)}")
        total = 0
        for what, v in values:
            shape = _shape(v)
            if len(shape) != len(o_shape) or any(
                a != b
                for i, (a, b) in enumerate(zip(shape, o_shape, strict=True))
                if i != axis
            ):
                self._fail(
                    f"{what} of shape {_fmt_shape(shape)} does not match the output "
                    f"shape {_fmt_shape(o_shape)} outside axis {axis}"
                )
            total += shape[axis]
        if total != o_shape[axis]:
            self._fail(
                f"the inputs add up to {total} along axis {axis} but the output has "
                f"{o_shape[axis]}"
            )

    def print(self, printer: Printer) -> None:
        _print_node(printer, self)
        printer.print_string(f" axis {self.axis.value.data}")
        _print_ins_outs(printer, list(self.inputs), [self.output], self)

    @classmethod
    def parse(cls, parser: Parser) -> ConcatOp:
        node = parser.parse_str_literal("ONNX node name")
        parser.parse_keyword("axis")
        axis = parser.parse_integer(allow_boolean=False)
        ins, outs, attrs = _parse_ins_outs(parser)
        return cls.create(
            operands=[*ins, *outs],
            properties={"node": StringAttr(node), "axis": IntegerAttr(axis, i64)},
            attributes=attrs,
        )


SIMD_OPS: tuple[type[NestOp], ...] = (
    ElementwiseOp,
    PoolOp,
    SoftmaxOp,
    LayerNormOp,
    ReduceOp,
)
"""Ops that run on the SIMD unit."""

LAYOUT_OPS: tuple[type[NestOp], ...] = (ReshapeOp, TransposeOp, ConcatOp)
"""Ops that only move data."""

Nest = Dialect(
    "nest",
    [
        WeightOp,
        ContractOp,
        ElementwiseOp,
        PoolOp,
        SoftmaxOp,
        LayerNormOp,
        ReduceOp,
        ReshapeOp,
        TransposeOp,
        ConcatOp,
    ],
    [DimsAttr, DataflowAttr],
)
