"""``--emit=asm|json|asm-loops|json-loops``: write ``cim.program`` streams as
instruction lists.

Flat formats: every ``cim.program`` of a module is traced (`miredo.sim.cim_trace`:
loops unrolled, offsets and halves evaluated) and written per stream, in the
program order of the module and the body order of each program's streams, in the
format of the "Encoding" section of the ``cim`` dialect docstring:

* asm: a ``.program`` line, one ``.buffer`` line per buffer and one ``.queue``
  line per controller queue (``cim.global`` stream: its queue id and port
  priority), then one line per instruction ``<stream>: <OPCODE> <operands>
  <attributes>``, padded to column 56 and followed by ``; <node>`` when the op has
  a node; programs are separated by a blank line. A barrier lists the buffers it
  protects (``on=b3,b5``); a DMA with a per-core source and ``cores`` is a gather.
* json: a list with one object per program (with ``buffers`` and ``queues``);
  every instruction object is on a line of its own.

Structured formats (``asm-loops``, ``json-loops``): the IR of each stream is
walked once instead of traced, so the output is proportional to the program text,
not to the number of dynamic instructions. Headers, buffers, programs and streams
are as in asm/json, and an instruction prints exactly as there except that a tile
offset and a half may be a *form* over the stream's loop counters:

* ``scf.for`` becomes a loop around its body. Its counter takes the values of the
  induction variable (``lb, lb+step, ...`` below ``ub``); counters are named
  ``i0, i1, ...`` in order of appearance within the stream (restarting per
  stream). Bounds must be constants (`MiredoError` otherwise). A loop that runs
  once is not printed: its body is inlined with the counter replaced by ``lb``;
  a loop that never runs and loops or branches without instructions are left out.
* ``scf.if`` becomes IF/ELSE/ENDIF on the ``arith.cmpi`` that computes its
  condition: ``lhs <pred> rhs`` with two forms; any other condition ``c`` is
  ``c ne 0``. A condition that is constant, or decided by the counters' ranges,
  inlines the branch taken; an empty then-branch is printed by negating the
  predicate.
* Forms: ``arith.constant``, ``arith.addi/subi/muli``, ``affine.apply``,
  ``arith.index_cast`` and counters combine into linear forms
  ``c + sum(k_j * i_j)``; constants fold, so a loop-free stream prints exactly
  as the flat encoding. ``floordiv``/``ceildiv``/``mod`` by a positive constant
  whose result is linear over the counters' ranges fold too (``(d0 * 2) mod 16``
  with ``d0 < 8`` is ``i0*2``; ``(d0 * 8 + d1) floordiv 8`` with ``d1 < 8`` is
  ``i0``), as do truncating or unsigned divisions and remainders of values the
  ranges prove non-negative, and ``min``/``max`` the ranges decide. Every rewrite
  is exact for every counter value; what stays non-linear prints as an
  expression:

  .. code-block:: text

      expr   ::= term (("+" | "-") term)*
      term   ::= factor (("*" | "floordiv" | "ceildiv" | "mod") factor)*
      factor ::= INT | COUNTER | "-" factor | "(" expr ")"
               | FN "(" expr "," expr ")"
      COUNTER ::= "i" DIGITS
      FN     ::= divsi | remsi | divui | remui | min | max | minu | maxu
               | and | or | xor | eq | ne | slt | sle | sgt | sge
               | ult | ule | ugt | uge

  Integers are unbounded. ``*``, ``floordiv``, ``ceildiv`` and ``mod`` bind
  tighter than ``+`` and ``-``; both levels associate to the left (as in MLIR
  affine maps, and as Python's ``*``, ``//``, ``%``); unary minus binds
  tightest. ``a floordiv b`` rounds toward minus infinity, ``a ceildiv b``
  toward plus infinity, ``a mod b = a - b * (a floordiv b)``. The functions are
  the ``arith`` ops of the same name (``divsi``/``remsi`` truncate toward zero;
  ``divui``, ``remui``, ``minu``, ``maxu`` and the ``u`` predicates take their
  operands modulo 2^64; ``and``/``or``/``xor`` are bitwise on two's complement;
  a predicate is 1 or 0). Whitespace is insignificant; the emitter prints linear
  forms without spaces (``i0*8+i1*2-1``) and puts spaces around the operators of
  an expression (``(i0*2+i1) mod 5 * 24``, ``i0 + (i0*3+i1) floordiv 4``).
* A half is the value of a form mod 2 (0 or 1). Constant halves print as in the
  flat encoding; a linear half form is printed reduced mod 2 (coefficients and
  constant 0 or 1).

asm-loops: ``<stream>: LOOP <i> <count>`` (``lb`` 0, ``step`` 1) or ``<stream>:
LOOP <i> from <lb> to <ub> step <step>``, closed by ``<stream>: ENDLOOP <i>``;
``<stream>: IF <lhs><op><rhs>`` with ``op`` one of ``==``, ``!=``, ``<``,
``<=``, ``>``, ``>=`` (signed) and ``<u``, ``<=u``, ``>u``, ``>=u`` (unsigned),
with spaces around it when an operand contains spaces, then ``ELSE`` (when the
else-branch is not empty) and ``ENDIF``. The body of a loop or branch is indented
by two spaces per level after ``<stream>: ``. A tile is ``buf[offsets][sizes]``
(plus ``[strides]``) whose offsets are comma-separated forms (a comma inside
parentheses belongs to a function call); a ping-pong half is ``.h0``/``.h1`` or
``.h(<form>)``::

    core0: LOOP i0 4
    core0:   IF i0==0
    core0:     SIMD.fill -> b2[0][4] value=0.0
    core0:   ENDIF
    core0:   LOOP i1 from 1 to 7 step 2
    core0:     DMA a0[(i0*2+i1) mod 5 * 24][4] -> b0.h(i0+i1)[0][4]
    core0:   ENDLOOP i1
    core0: ENDLOOP i0

json-loops: each stream is a list of flat objects, one per line (indented by
nesting, which JSON ignores): the instruction objects of json, and
``{"op": "loop", "var": "i0", "count": 4}`` (plus ``"lb"``, ``"ub"``, ``"step"``
unless ``lb`` is 0 and ``step`` 1) ... ``{"op": "endloop", "var": "i0"}``,
``{"op": "if", "lhs": form, "pred": "eq", "rhs": form}``, ``{"op": "else"}``,
``{"op": "endif"}`` (``pred`` is the ``arith.cmpi`` predicate name). A form is an
int when constant, ``{"const": c, "i0": 2, "i3": 1}`` when linear (the counters
with a non-zero coefficient) and ``{"expr": "<text>"}`` in the grammar above
otherwise; a tile's ``"half"`` is null, 0, 1 or a form (the half is its value
mod 2).

All formats are written as they are produced (a layer can have 10^6 dynamic
instructions): into the given stream, or for a file into a temporary file renamed
over the target once complete (`AtomicTextFile`), so a failed run leaves no partial
output.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NamedTuple

from xdsl.dialects import affine, arith, scf
from xdsl.dialects.builtin import AffineMapAttr, IntegerAttr, ModuleOp, StringAttr
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.ir.affine import (
    AffineBinaryOpExpr,
    AffineBinaryOpKind,
    AffineConstantExpr,
    AffineDimExpr,
    AffineExpr,
    AffineSymExpr,
)

from miredo.dialects.cim import (
    BarrierOp,
    CoreOp,
    DmaOp,
    GlobalOp,
    LayerNormOp,
    LoadWeightsOp,
    MvmOp,
    PoolOp,
    ProgramOp,
    RecvOp,
    ReduceOp,
    RequantOp,
    SelectHalfOp,
    SendOp,
    SimdElementwiseOp,
    SimdOp,
    SoftmaxOp,
    StreamOp,
    TileOp,
)
from miredo.errors import MiredoError
from miredo.sim.cim_trace import (
    _U64,
    Buffer,
    Instr,
    ProgramTrace,
    TileRef,
    _ceildiv,
    _divsi,
    _divui,
    _remsi,
    _remui,
    _u,
    compile_program,
    program_buffers,
    stream_name,
)

FORMATS = ("asm", "json", "asm-loops", "json-loops")
"""The values of ``--emit``."""

NODE_COLUMN = 56
"""asm: the column of ``; <node>`` after a shorter instruction."""


# --------------------------------------------------------------------------- #
# Op descriptions shared by both formats
# --------------------------------------------------------------------------- #


def _ints(attr: Any) -> list[int]:
    return [int(v) for v in attr.get_values()]


def _float(attr: Any) -> float | None:
    return None if attr is None else float(attr.value.data)


def _node(op: Operation) -> str | None:
    node = op.properties.get("node")
    return node.data if isinstance(node, StringAttr) else None


def _describe(
    op: Operation, ids: Mapping[SSAValue, str]
) -> tuple[str, str, list[str], dict[str, Any]]:
    """``(json op name, asm opcode, json tile keys, properties)`` of an op.

    The tile keys name the op's tiles in order; ``inputs`` collects a variadic
    list (SIMD inputs). ``ids`` maps the program's buffers to their ids (a
    barrier's protected buffers).
    """
    if isinstance(op, DmaOp):
        return (
            "dma",
            "DMA",
            ["src", "dst"],
            {
                "cores": None if op.cores is None else _ints(op.cores),
                "shifts": None
                if op.core_shifts() is None
                else [list(r) for r in op.core_shifts() or []],
                "zero_pad": op.zero_pad is not None,
            },
        )
    if isinstance(op, LoadWeightsOp):
        return (
            "load_weights",
            "LDW",
            ["src", "macro"],
            {
                "cores": None if op.cores is None else _ints(op.cores),
                "shifts": None
                if op.core_shifts() is None
                else [list(r) for r in op.core_shifts() or []],
            },
        )
    if isinstance(op, MvmOp):
        return (
            "mvm",
            "MVM",
            ["input", "weights", "output"],
            {
                "input_bits": op.input_bits.value.data,
                "bits_per_cycle": op.bits_per_cycle.value.data,
                "acc": op.acc is not None,
                "zero_pad": op.zero_pad is not None,
            },
        )
    if isinstance(op, SimdOp):
        keys = ["inputs"] * len(op.inputs) + ["output"]
        if isinstance(op, SimdElementwiseOp):
            return (
                "simd",
                f"SIMD.{op.fn.data}",
                keys,
                {
                    "fn": op.fn.data,
                    "min": _float(op.min),
                    "max": _float(op.max),
                    "approximate": None
                    if op.approximate is None
                    else op.approximate.data,
                    "value": _float(op.value),
                },
            )
        if isinstance(op, PoolOp):
            return (
                "pool",
                f"POOL.{op.kind.data}",
                keys,
                {
                    "kind": op.kind.data,
                    "kernel": _ints(op.kernel),
                    "stride": _ints(op.stride),
                    "dilation": _ints(op.dilation),
                    "pad": _ints(op.pad),
                    "count_include_pad": op.count_include_pad is not None,
                },
            )
        if isinstance(op, ReduceOp):
            return (
                "reduce",
                f"REDUCE.{op.kind.data}",
                keys,
                {"kind": op.kind.data, "axes": _ints(op.axes)},
            )
        if isinstance(op, SoftmaxOp):
            return "softmax", "SOFTMAX", keys, {"axis": op.axis.value.data}
        if isinstance(op, LayerNormOp):
            return (
                "layernorm",
                "LAYERNORM",
                keys,
                {"axis": op.axis.value.data, "epsilon": _float(op.epsilon)},
            )
        if isinstance(op, RequantOp):
            return (
                "requant",
                "REQUANT",
                keys,
                {"scale": _float(op.scale), "zero_point": op.zero_point.value.data},
            )
    if isinstance(op, SendOp | RecvOp):
        return (
            "send" if isinstance(op, SendOp) else "recv",
            "SEND" if isinstance(op, SendOp) else "RECV",
            ["tile"],
            {"peer": op.peer.value.data, "tag": op.tag.value.data},
        )
    if isinstance(op, BarrierOp):
        on = [ids[v] for v in op.buffers] if op.buffers else None
        return "barrier", "BARRIER", [], {"id": op.id.value.data, "on": on}
    raise MiredoError(f"cannot emit '{op.name}'")


# --------------------------------------------------------------------------- #
# asm
# --------------------------------------------------------------------------- #


def _csv(values: Iterable[int]) -> str:
    return ",".join(str(v) for v in values)


def _cached(fmt: Callable[[TileRef], str]) -> Callable[[TileRef], str]:
    """``fmt`` with a bounded cache: the tiles of a stream repeat a lot."""
    cache: dict[TileRef, str] = {}

    def cached(t: TileRef) -> str:
        text = cache.get(t)
        if text is None:
            if len(cache) > 1 << 16:
                cache.clear()
            text = cache[t] = fmt(t)
        return text

    cached.__doc__ = fmt.__doc__
    return cached


@_cached
def asm_tile(t: TileRef) -> str:
    """``buf[.h<k>][offsets][sizes]`` plus ``[strides]`` when not all 1."""
    text = (
        f"{t.buf}{'' if t.half is None else f'.h{t.half}'}"
        f"[{_csv(t.offsets)}][{_csv(t.sizes)}]"
    )
    if any(s != 1 for s in t.strides):
        text += f"[{_csv(t.strides)}]"
    return text


def _asm_value(key: str, value: Any) -> str | None:
    """``key=value`` for an asm attribute, ``None`` to leave it out."""
    if value is None:
        return None
    if isinstance(value, bool):
        return f"{key}={int(value)}"
    if isinstance(value, float):
        return f"{key}={value!r}"
    if isinstance(value, list):
        if value and isinstance(value[0], list):
            return f"{key}=" + "".join(f"[{_csv(r)}]" for r in value)
        return f"{key}={_csv(value)}"
    return f"{key}={value}"


_ASM_KEYS = {"input_bits": "ib", "bits_per_cycle": "bpc"}


def _asm_attrs(op: Operation, props: dict[str, Any]) -> str:
    parts: list[str] = []
    for key, value in props.items():
        if key in ("fn", "kind"):
            continue  # part of the opcode
        if key == "zero_pad" and not value:
            continue
        text = _asm_value(_ASM_KEYS.get(key, key), value)
        if text is not None:
            parts.append(text)
    return " ".join(parts)


AsmFormatter = Callable[[Instr], str]


def _asm_formatter(
    op: Operation,
    ids: Mapping[SSAValue, str],
    tile: Callable[[Any], str] = asm_tile,
    indent: str = "",
) -> AsmFormatter:
    """The asm line of a (dynamic) instruction of ``op``; ``ids`` maps buffers to
    their ids, ``tile`` formats a tile operand and ``indent`` goes between
    ``<stream>: `` and the opcode."""
    _, opcode, keys, props = _describe(op, ids)
    attrs = _asm_attrs(op, props)
    attrs = f" {attrs}" if attrs else ""
    node = _node(op)
    n_in = keys.count("inputs")

    def operands(tiles: tuple[TileRef, ...]) -> str:
        if isinstance(op, SimdOp):
            ins = ", ".join(tile(t) for t in tiles[:n_in])
            return f"{ins} -> {tile(tiles[-1])}" if ins else f"-> {tile(tiles[-1])}"
        if isinstance(op, MvmOp):
            x, w, y = tiles
            return f"{tile(x)}, {tile(w)} -> {tile(y)}"
        if len(tiles) == 2:
            return f"{tile(tiles[0])} -> {tile(tiles[1])}"
        return " ".join(tile(t) for t in tiles)

    def fmt(ins: Instr) -> str:
        ops = operands(ins.tiles)
        text = f"{ins.stream}: {indent}{opcode}{' ' + ops if ops else ''}{attrs}"
        if node is not None:
            text = f"{text:<{NODE_COLUMN - 1}} ; {node}"
        return text

    return fmt


def _fmt_type(t: Attribute) -> str:
    return str(t)


def _asm_header(p: ProgramOp, buffers: dict[str, Buffer]) -> list[str]:
    hier = p.hierarchy()
    assert hier is not None
    lines = [
        f".program @{p.sym_name.data} arch={json.dumps(p.arch.data)} cores={hier.cores} "
        f"shared={','.join(hier.shared)} per_core={','.join(hier.per_core)} "
        f"macro={hier.macro}"
    ]
    for b in buffers.values():
        shape = "x".join(str(d) for d in b.shape)
        lines.append(
            f".buffer {b.id} {b.space} {shape}x{_fmt_type(b.element_type)} "
            f"halves={b.halves} bits={b.bits}"
        )
    for q in _queues(p):
        boot = f" boot={q['boot']}" if q["boot"] != q["priority"] else ""
        lines.append(
            f".queue {q['stream']} id={q['id']} priority={q['priority']}{boot}"
        )
    return lines


def _queues(p: ProgramOp) -> list[dict[str, Any]]:
    """The controller queues (``cim.global`` streams) of a program, in body order:
    stream name, queue id, port priority and that of its first transfer."""
    return [
        {
            "stream": stream_name(s),
            "id": s.queue_id,
            "priority": s.priority_level,
            "boot": s.boot_level,
        }
        for s in p.body.block.ops
        if isinstance(s, GlobalOp)
    ]


def _buffer_ids(buffers: Mapping[str, Buffer]) -> dict[SSAValue, str]:
    """Buffer value -> id (``a<i>``, ``b<j>``)."""
    return {b.value: b.id for b in buffers.values()}


def emit_asm_program(trace: ProgramTrace, out: IO[str]) -> int:
    """Write one program as asm; returns the number of instructions."""
    out.write("\n".join(_asm_header(trace.program, trace.buffers)) + "\n")
    formatters: dict[Operation, AsmFormatter] = {}
    ids = _buffer_ids(trace.buffers)
    count = 0
    write = out.write
    for stream in trace.streams:
        for op in stream.ops:
            formatters[op] = _asm_formatter(op, ids)
        batch: list[str] = []
        for ins in stream:
            batch.append(formatters[ins.op](ins))
            if len(batch) >= 4096:
                write("\n".join(batch) + "\n")
                count += len(batch)
                batch = []
        if batch:
            write("\n".join(batch) + "\n")
            count += len(batch)
    return count


# --------------------------------------------------------------------------- #
# json
# --------------------------------------------------------------------------- #


def _json_ints(values: Iterable[int]) -> str:
    return "[" + ", ".join(str(v) for v in values) + "]"


@_cached
def json_tile(t: TileRef) -> str:
    """A tile operand as a JSON object (text)."""
    half = "null" if t.half is None else str(t.half)
    return (
        f'{{"buf": "{t.buf}", "half": {half}, "offsets": {_json_ints(t.offsets)}, '
        f'"sizes": {_json_ints(t.sizes)}, "strides": {_json_ints(t.strides)}}}'
    )


def _json_formatter(
    op: Operation,
    stream: str,
    ids: Mapping[SSAValue, str],
    tile: Callable[[Any], str] = json_tile,
) -> Callable[[Instr], str]:
    name, _, keys, props = _describe(op, ids)
    head = f'{{"op": "{name}", "stream": "{stream}", "node": {json.dumps(_node(op))}'
    tail = "".join(f", {json.dumps(k)}: {json.dumps(v)}" for k, v in props.items())
    tail += "}"
    n_in = keys.count("inputs")
    simd = isinstance(op, SimdOp)
    single = [k for k in keys if k != "inputs"]

    def fmt(ins: Instr) -> str:
        tiles = ins.tiles
        if simd:
            ins_text = ", ".join(tile(t) for t in tiles[:n_in])
            body = f', "inputs": [{ins_text}], "output": {tile(tiles[-1])}'
        else:
            body = "".join(
                f', "{k}": {tile(t)}' for k, t in zip(single, tiles, strict=True)
            )
        return head + body + tail

    return fmt


def _json_buffer(b: Buffer) -> dict[str, Any]:
    return {
        "id": b.id,
        "space": b.space,
        "shape": list(b.shape),
        "dtype": _fmt_type(b.element_type),
        "halves": b.halves,
        "bits": b.bits,
    }


def _json_head(p: ProgramOp, buffers: dict[str, Buffer], out: IO[str]) -> None:
    """Write a program object up to the opening of ``"streams"``."""
    hier = p.hierarchy()
    assert hier is not None
    head = {
        "program": p.sym_name.data,
        "arch": p.arch.data,
        "cores": hier.cores,
        "levels": {
            "shared": list(hier.shared),
            "per_core": list(hier.per_core),
            "macro": hier.macro,
        },
    }
    write = out.write
    write(json.dumps(head)[:-1] + ',\n "buffers": [\n')
    write(",\n".join("  " + json.dumps(_json_buffer(b)) for b in buffers.values()))
    write('\n ],\n "queues": [')
    queues = _queues(p)
    if queues:
        write("\n" + ",\n".join("  " + json.dumps(q) for q in queues) + "\n ")
    write('],\n "streams": {')


def emit_json_program(trace: ProgramTrace, out: IO[str]) -> int:
    """Write one program as a JSON object; returns the number of instructions."""
    _json_head(trace.program, trace.buffers, out)
    ids = _buffer_ids(trace.buffers)
    write = out.write
    count = 0
    for i, stream in enumerate(trace.streams):
        write(("," if i else "") + f'\n  "{stream.name}": [')
        formatters = {op: _json_formatter(op, stream.name, ids) for op in stream.ops}
        first = True
        batch: list[str] = []
        for ins in stream:
            batch.append(formatters[ins.op](ins))
            if len(batch) >= 4096:
                write(("\n   " if first else ",\n   ") + ",\n   ".join(batch))
                first = False
                count += len(batch)
                batch = []
        if batch:
            write(("\n   " if first else ",\n   ") + ",\n   ".join(batch))
            count += len(batch)
            first = False
        write("\n  ]" if not first else "]")
    write("\n }}")
    return count


# --------------------------------------------------------------------------- #
# Structured encoding (asm-loops / json-loops): affine forms
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Lin:
    """A linear form ``const + sum(coeff * counter)`` over a stream's loop counters
    (counters are numbered internally in walk order, named at print time)."""

    const: int = 0
    terms: tuple[tuple[int, int], ...] = ()
    """``(counter, coefficient)`` pairs, sorted by counter, coefficients != 0."""

    @property
    def is_const(self) -> bool:
        return not self.terms


@dataclass(frozen=True)
class Expr:
    """A non-linear form: ``kind`` is ``+`` (n-ary), ``*``, ``floordiv``,
    ``ceildiv``, ``mod`` or a function of `FUNCTIONS` / `PREDICATES`."""

    kind: str
    args: tuple[Form, ...]


Form = Lin | Expr
"""An index value of the structured encoding."""

_MUL_KINDS = ("*", "floordiv", "ceildiv", "mod")

FUNCTIONS = ("divsi", "remsi", "divui", "remui", "min", "max", "minu", "maxu")
FUNCTIONS += ("and", "or", "xor")
"""Function calls of the expression grammar (module docstring)."""

PREDICATES = ("eq", "ne", "slt", "sle", "sgt", "sge", "ult", "ule", "ugt", "uge")
"""``arith.cmpi`` predicates: conditions, and functions giving 1 or 0."""

_ASM_PRED = {
    "eq": "==",
    "ne": "!=",
    "slt": "<",
    "sle": "<=",
    "sgt": ">",
    "sge": ">=",
    "ult": "<u",
    "ule": "<=u",
    "ugt": ">u",
    "uge": ">=u",
}
_NEGATED = {
    "eq": "ne",
    "ne": "eq",
    "slt": "sge",
    "sge": "slt",
    "sle": "sgt",
    "sgt": "sle",
    "ult": "uge",
    "uge": "ult",
    "ule": "ugt",
    "ugt": "ule",
}
_I63 = 1 << 63
_DIVISIONS = ("floordiv", "ceildiv", "mod", "divsi", "remsi", "divui", "remui")


def _lin_add(a: Lin, b: Lin, sign: int = 1) -> Lin:
    coeffs = dict(a.terms)
    for v, c in b.terms:
        coeffs[v] = coeffs.get(v, 0) + sign * c
    return Lin(
        a.const + sign * b.const, tuple(sorted((v, c) for v, c in coeffs.items() if c))
    )


def _lin_scale(a: Lin, k: int) -> Lin:
    if k == 0:
        return Lin()
    return Lin(a.const * k, tuple((v, c * k) for v, c in a.terms))


def _const_value(f: Form) -> int | None:
    return f.const if isinstance(f, Lin) and f.is_const else None


def _pred_holds(pred: str, a: int, b: int) -> bool:
    if pred.startswith("u"):
        a, b = a % _U64, b % _U64
        pred = "s" + pred[1:]
    return {
        "eq": a == b,
        "ne": a != b,
        "slt": a < b,
        "sle": a <= b,
        "sgt": a > b,
        "sge": a >= b,
    }[pred]


def _apply(kind: str, args: Sequence[int]) -> int:
    """The value of ``kind`` on constants (the semantics of `miredo.sim.cim_trace`)."""
    if kind == "+":
        return sum(args)
    a, b = args
    if kind in PREDICATES:
        return int(_pred_holds(kind, a, b))
    if b == 0 and kind in _DIVISIONS:
        raise MiredoError("index division by zero")
    fns: dict[str, Callable[[int, int], int]] = {
        "*": lambda x, y: x * y,
        "floordiv": lambda x, y: x // y,
        "ceildiv": _ceildiv,
        "mod": lambda x, y: x % y,
        "divsi": _divsi,
        "remsi": _remsi,
        "divui": _divui,
        "remui": _remui,
        "min": min,
        "max": max,
        "minu": lambda x, y: min(x, y, key=_u),
        "maxu": lambda x, y: max(x, y, key=_u),
        "and": lambda x, y: x & y,
        "or": lambda x, y: x | y,
        "xor": lambda x, y: x ^ y,
    }
    return fns[kind](a, b)


class _Forms:
    """Builds simplified forms; knows the range of every loop counter, so that
    ``floordiv``/``mod`` (and unsigned or truncating divisions of non-negative
    values) whose result is linear over the counters' ranges fold to linear forms.
    Every rewrite is exact for all counter values in range."""

    def __init__(self) -> None:
        self.ranges: list[tuple[int, int]] = []

    def counter(self, lo: int, hi: int) -> Lin:
        self.ranges.append((lo, hi))
        return Lin(0, ((len(self.ranges) - 1, 1),))

    # ---- ranges ------------------------------------------------------------ #

    def interval(self, f: Form) -> tuple[int, int] | None:
        """Bounds of ``f`` over the counters' ranges (``None`` when unknown)."""
        if isinstance(f, Lin):
            lo = hi = f.const
            for v, c in f.terms:
                a, b = self.ranges[v]
                lo += min(a * c, b * c)
                hi += max(a * c, b * c)
            return lo, hi
        ivs = [self.interval(a) for a in f.args]
        if any(iv is None for iv in ivs):
            if f.kind == "mod" and (k := _const_value(f.args[1])) and k > 0:
                return 0, k - 1
            return None
        bounds = [iv for iv in ivs if iv is not None]
        if f.kind == "+":
            return sum(b[0] for b in bounds), sum(b[1] for b in bounds)
        (alo, ahi), (blo, bhi) = bounds[0], bounds[1]
        if f.kind == "*":
            p = (alo * blo, alo * bhi, ahi * blo, ahi * bhi)
            return min(p), max(p)
        if f.kind in ("floordiv", "ceildiv") and blo == bhi and blo > 0:
            return _apply(f.kind, (alo, blo)), _apply(f.kind, (ahi, blo))
        if f.kind == "mod" and blo == bhi and blo > 0:
            if alo // blo == ahi // blo:
                return alo % blo, ahi % blo
            return 0, blo - 1
        if f.kind in ("min", "max"):
            fn = min if f.kind == "min" else max
            return fn(alo, blo), fn(ahi, bhi)
        if f.kind in PREDICATES:
            return 0, 1
        return None

    def _nonneg(self, f: Form) -> bool:
        iv = self.interval(f)
        return iv is not None and iv[0] >= 0 and iv[1] < _I63

    # ---- arithmetic -------------------------------------------------------- #

    def add(self, a: Form, b: Form) -> Form:
        if isinstance(a, Lin) and isinstance(b, Lin):
            return _lin_add(a, b)
        lin = Lin()
        parts: list[Form] = []
        for f in (a, b):
            for p in f.args if isinstance(f, Expr) and f.kind == "+" else (f,):
                if isinstance(p, Lin):
                    lin = _lin_add(lin, p)
                else:
                    parts.append(p)
        if lin != Lin():
            parts.insert(0, lin)
        return parts[0] if len(parts) == 1 else Expr("+", tuple(parts))

    def mul(self, a: Form, b: Form) -> Form:
        if (k := _const_value(a)) is not None:
            a, b = b, a
        k = _const_value(b)
        if k is None:
            return Expr("*", (a, b))
        if isinstance(a, Lin):
            return _lin_scale(a, k)
        if k == 0:
            return Lin()
        if k == 1:
            return a
        if a.kind == "*" and (k0 := _const_value(a.args[1])) is not None:
            return self.mul(a.args[0], Lin(k0 * k))
        if a.kind == "+":
            result: Form = Lin()
            for p in a.args:
                result = self.add(result, self.mul(p, b))
            return result
        return Expr("*", (a, b))

    def sub(self, a: Form, b: Form) -> Form:
        return self.add(a, self.mul(b, Lin(-1)))

    def _split(self, a: Lin, k: int) -> tuple[Lin, Lin]:
        """``a = k * q + r`` with the terms of ``a`` divisible by ``k`` in ``q``."""
        q = Lin(a.const // k, tuple((v, c // k) for v, c in a.terms if c % k == 0))
        r = Lin(a.const % k, tuple((v, c) for v, c in a.terms if c % k))
        return q, r

    def div_mod(self, kind: str, a: Form, b: Form) -> Form:
        """``floordiv``, ``ceildiv`` or ``mod``."""
        if (x := _const_value(a)) is not None and (y := _const_value(b)) is not None:
            return Lin(_apply(kind, (x, y)))
        k = _const_value(b)
        if k is None:
            return Expr(kind, (a, b))
        if k == 0:
            raise MiredoError("index division by zero")
        if k < 0:
            return Expr(kind, (a, b))
        if kind == "ceildiv":
            f = self.div_mod("floordiv", self.add(a, Lin(k - 1)), b)
            return f if isinstance(f, Lin) else Expr(kind, (a, b))
        q, r = self._split(a, k) if isinstance(a, Lin) else (Lin(), a)
        iv = self.interval(r)
        if iv is not None and iv[0] // k == iv[1] // k:
            m = iv[0] // k
            if kind == "floordiv":
                return _lin_add(q, Lin(m))
            return self.sub(r, Lin(m * k))
        if kind == "floordiv":
            return self.add(q, Expr(kind, (r, b)))
        return Expr(kind, (r, b))

    def call(self, kind: str, a: Form, b: Form) -> Form:
        """A function of `FUNCTIONS` or a predicate of `PREDICATES`."""
        x, y = _const_value(a), _const_value(b)
        if x is not None and y is not None:
            return Lin(_apply(kind, (x, y)))
        k = y if y is not None else 0
        if kind in ("divsi", "remsi", "divui", "remui") and k > 0 and self._nonneg(a):
            return self.div_mod("floordiv" if "div" in kind else "mod", a, b)
        ia, ib = self.interval(a), self.interval(b)
        if kind in ("min", "max") and ia is not None and ib is not None:
            if ia[1] <= ib[0]:
                return a if kind == "min" else b
            if ib[1] <= ia[0]:
                return b if kind == "min" else a
        if kind in PREDICATES:
            signed = kind
            if kind[0] == "u" and self._nonneg(a) and self._nonneg(b):
                signed = "s" + kind[1:]
            d = self.interval(self.sub(a, b))
            if d is not None and signed[0] != "u":
                lo, hi = d
                if signed in ("eq", "ne"):
                    if lo == hi or lo > 0 or hi < 0:
                        return Lin(int(_pred_holds(signed, lo, 0)))
                elif _pred_holds(signed, lo, 0) == _pred_holds(signed, hi, 0):
                    return Lin(int(_pred_holds(signed, lo, 0)))
        return Expr(kind, (a, b))

    def half(self, f: Form) -> Form:
        """A form with the same value mod 2 (the half a ``select_half`` index picks)."""
        if isinstance(f, Lin):
            return Lin(f.const % 2, tuple((v, 1) for v, c in f.terms if c % 2))
        return f


# ---- printing --------------------------------------------------------------- #


def _render_lin(f: Lin, names: Mapping[int, str], spaced: bool) -> tuple[str, int]:
    """Text and precedence (1 sum, 2 product, 3 atom) of a linear form."""
    parts: list[tuple[int, str]] = []  # (sign, unsigned text)
    for v, c in f.terms:
        text = names[v] if abs(c) == 1 else f"{names[v]}*{abs(c)}"
        parts.append((-1 if c < 0 else 1, text))
    if f.const or not parts:
        parts.append((-1 if f.const < 0 else 1, str(abs(f.const))))
    if len(parts) == 1:
        sign, text = parts[0]
        return ("-" if sign < 0 else "") + text, 2 if "*" in text else 3
    plus, minus = (" + ", " - ") if spaced else ("+", "-")
    out = ("-" if parts[0][0] < 0 else "") + parts[0][1]
    for sign, text in parts[1:]:
        out += (minus if sign < 0 else plus) + text
    return out, 1


def _render(f: Form, names: Mapping[int, str]) -> tuple[str, int]:
    if isinstance(f, Lin):
        return _render_lin(f, names, spaced=False)
    if f.kind == "+":
        out = ""
        for p in f.args:
            if isinstance(p, Lin):
                text, _ = _render_lin(p, names, spaced=True)
                neg = text.startswith("-")
                text = text[1:] if neg else text
            else:
                k = _const_value(p.args[1]) if p.kind == "*" else None
                neg = k is not None and k < 0
                if k is not None and k < 0:
                    p = p.args[0] if k == -1 else Expr("*", (p.args[0], Lin(-k)))
                text, prec = _render(p, names)
                # ``a - x mod 5`` subtracts the product, ``-x mod 5`` does not
                if neg and prec < (2 if out else 3):
                    text = f"({text})"
            if not out:
                out = ("-" if neg else "") + text
            else:
                out += (" - " if neg else " + ") + text
        return out, 1
    a, b = f.args
    if f.kind == "*" and _const_value(b) == -1:
        ta, pa = _render(a, names)
        return f"-({ta})" if pa < 3 else f"-{ta}", 3
    if f.kind in _MUL_KINDS:
        ta, pa = _render(a, names)
        tb, pb = _render(b, names)
        if pa < 2:
            ta = f"({ta})"
        if pb < 3:
            tb = f"({tb})"
        return f"{ta} {f.kind} {tb}", 2
    return f"{f.kind}({_render(a, names)[0]}, {_render(b, names)[0]})", 3


def render_form(f: Form, names: Mapping[int, str]) -> str:
    """``f`` in the expression grammar of the module docstring."""
    return _render(f, names)[0]


def json_form(f: Form, names: Mapping[int, str]) -> Any:
    """``f`` as JSON: an int, ``{"const": c, "<counter>": coeff, ...}`` or
    ``{"expr": text}``."""
    if isinstance(f, Lin):
        if f.is_const:
            return f.const
        return {"const": f.const, **{names[v]: c for v, c in f.terms}}
    return {"expr": render_form(f, names)}


# --------------------------------------------------------------------------- #
# Structured encoding: the stream tree
# --------------------------------------------------------------------------- #


class STile(NamedTuple):
    """A tile of the structured encoding: half and offsets are forms."""

    buf: str
    half: Form | None
    """The ``select_half`` index (its value mod 2 is the half)."""
    offsets: tuple[Form, ...]
    sizes: tuple[int, ...]
    strides: tuple[int, ...]


@dataclass
class _SLoop:
    var: int
    lb: int
    ub: int
    step: int
    body: list[_SNode]

    @property
    def count(self) -> int:
        return len(range(self.lb, self.ub, self.step))


@dataclass
class _SIf:
    lhs: Form
    pred: str
    rhs: Form
    then: list[_SNode]
    other: list[_SNode]


@dataclass
class _SInstr:
    op: Operation
    tiles: tuple[STile, ...]


_SNode = _SLoop | _SIf | _SInstr

_ARITH_BINARY: dict[type[Operation], str] = {
    arith.AddiOp: "+",
    arith.SubiOp: "-",
    arith.MuliOp: "*",
    arith.FloorDivSIOp: "floordiv",
    arith.CeilDivSIOp: "ceildiv",
    arith.DivSIOp: "divsi",
    arith.RemSIOp: "remsi",
    arith.DivUIOp: "divui",
    arith.RemUIOp: "remui",
    arith.MinSIOp: "min",
    arith.MaxSIOp: "max",
    arith.MinUIOp: "minu",
    arith.MaxUIOp: "maxu",
    arith.AndIOp: "and",
    arith.OrIOp: "or",
    arith.XOrIOp: "xor",
}


class _StreamWalker:
    """Turns one stream's ops into a tree of loops, branches and instructions
    whose offsets and halves are forms (the IR is walked once, nothing is
    unrolled)."""

    def __init__(
        self, program: ProgramOp, stream: StreamOp, buffers: dict[str, Buffer]
    ):
        self.program = program
        self.name = stream_name(stream)
        self.forms = _Forms()
        self.env: dict[SSAValue, Form] = {}
        self.halves: dict[SSAValue, tuple[str, Form]] = {}
        self.buf_of = {b.value: b.id for b in buffers.values()}

    def fail(self, op: Operation, message: str) -> MiredoError:
        node = _node(op)
        where = op.name + (f" '{node}'" if node is not None else "")
        return MiredoError(
            f"@{self.program.sym_name.data} {self.name}: {message}", where=where
        )

    def value(self, op: Operation, v: SSAValue) -> Form:
        f = self.env.get(v)
        if f is None:
            owner = v.owner
            what = owner.name if isinstance(owner, Operation) else "a block argument"
            raise self.fail(op, f"cannot evaluate an index operand defined by {what}")
        return f

    def block(self, ops: Iterable[Operation]) -> list[_SNode]:
        out: list[_SNode] = []
        for op in ops:
            try:
                self.op(op, out)
            except MiredoError as e:
                if e.where is None:
                    raise self.fail(op, str(e)) from None
                raise
        return out

    def op(self, op: Operation, out: list[_SNode]) -> None:
        f = self.forms
        if isinstance(op, TileOp | BarrierOp):
            out.append(self.instruction(op))
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
            self.halves[op.result] = (buf, f.half(self.value(op, op.index)))
        elif isinstance(op, arith.ConstantOp):
            if isinstance(op.value, IntegerAttr):
                self.env[op.result] = Lin(op.value.value.data)
        elif isinstance(op, affine.ApplyOp):
            self.env[op.result] = self.affine(op)
        elif isinstance(op, arith.CmpiOp):
            pred = PREDICATES[op.predicate.value.data]
            lhs, rhs = self.value(op, op.lhs), self.value(op, op.rhs)
            self.env[op.result] = f.call(pred, lhs, rhs)
        elif isinstance(op, arith.IndexCastOp):
            self.env[op.result] = self.value(op, op.input)
        elif (kind := _ARITH_BINARY.get(type(op))) is not None:
            a = self.value(op, op.operands[0])
            b = self.value(op, op.operands[1])
            self.env[op.results[0]] = self.binary(kind, a, b)
        else:
            raise self.fail(op, f"cannot emit '{op.name}' in an instruction stream")

    def binary(self, kind: str, a: Form, b: Form) -> Form:
        f = self.forms
        if kind == "+":
            return f.add(a, b)
        if kind == "-":
            return f.sub(a, b)
        if kind == "*":
            return f.mul(a, b)
        if kind in ("floordiv", "ceildiv", "mod"):
            return f.div_mod(kind, a, b)
        return f.call(kind, a, b)

    def affine(self, op: affine.ApplyOp) -> Form:
        amap = op.map.data if isinstance(op.map, AffineMapAttr) else op.map
        args = [self.value(op, v) for v in op.mapOperands]
        dims, syms = args[: amap.num_dims], args[amap.num_dims :]
        if len(amap.results) != 1:
            raise self.fail(op, "affine.apply needs a map with one result")

        def ev(e: AffineExpr) -> Form:
            if isinstance(e, AffineConstantExpr):
                return Lin(e.value)
            if isinstance(e, AffineDimExpr):
                return dims[e.position]
            if isinstance(e, AffineSymExpr):
                return syms[e.position]
            assert isinstance(e, AffineBinaryOpExpr)
            kind = {
                AffineBinaryOpKind.Add: "+",
                AffineBinaryOpKind.Mul: "*",
                AffineBinaryOpKind.FloorDiv: "floordiv",
                AffineBinaryOpKind.CeilDiv: "ceildiv",
                AffineBinaryOpKind.Mod: "mod",
            }[e.kind]
            return self.binary(kind, ev(e.lhs), ev(e.rhs))

        return ev(amap.results[0])

    def for_(self, op: scf.ForOp, out: list[_SNode]) -> None:
        if op.iter_args:
            raise self.fail(op, "scf.for with iter_args is not supported")
        bounds: list[int] = []
        for what, v in (
            ("lower bound", op.lb),
            ("upper bound", op.ub),
            ("step", op.step),
        ):
            c = _const_value(self.value(op, v))
            if c is None:
                raise self.fail(
                    op,
                    f"the {what} of a loop is not a constant: the structured "
                    f"encoding needs constant loop bounds (use --emit=asm|json)",
                )
            bounds.append(c)
        lb, ub, step = bounds
        if step <= 0:
            raise self.fail(op, f"loop step must be positive, got {step}")
        trips = range(lb, ub, step)
        if not trips:
            return
        iv = op.body.block.args[0]
        if len(trips) == 1:  # runs once: inline with the counter at lb
            self.env[iv] = Lin(lb)
            out.extend(self.block(op.body.block.ops))
            return
        counter = self.forms.counter(lb, trips[-1])
        self.env[iv] = counter
        body = self.block(op.body.block.ops)
        if body:
            out.append(_SLoop(counter.terms[0][0], lb, ub, step, body))

    def if_(self, op: scf.IfOp, out: list[_SNode]) -> None:
        if op.results:
            raise self.fail(op, "scf.if with results is not supported")
        cond = self.value(op, op.cond)
        then = list(op.true_region.block.ops) if op.true_region.blocks else []
        other = list(op.false_region.block.ops) if op.false_region.blocks else []
        if (c := _const_value(cond)) is not None:
            out.extend(self.block(then if c else other))
            return
        if isinstance(cond, Expr) and cond.kind in PREDICATES:
            lhs, pred, rhs = cond.args[0], cond.kind, cond.args[1]
        else:
            lhs, pred, rhs = cond, "ne", Lin()
        then_nodes, other_nodes = self.block(then), self.block(other)
        if not then_nodes:
            if not other_nodes:
                return
            pred, then_nodes, other_nodes = _NEGATED[pred], other_nodes, []
        out.append(_SIf(lhs, pred, rhs, then_nodes, other_nodes))

    def instruction(self, op: TileOp | BarrierOp) -> _SInstr:
        if isinstance(op, BarrierOp):
            return _SInstr(op, ())
        try:
            tiles = op.tiles()
        except ValueError as e:
            raise self.fail(op, str(e)) from None
        refs: list[STile] = []
        for t in tiles:
            if t.buffer in self.halves:
                buf, half = self.halves[t.buffer]
            elif (b := self.buf_of.get(t.buffer)) is not None:
                buf, half = b, None
            else:
                raise self.fail(
                    op,
                    "a tile's buffer must be a program argument, a cim.alloc or a "
                    "cim.select_half",
                )
            offs = tuple(
                Lin(o) if isinstance(o, int) else self.value(op, o) for o in t.offsets
            )
            refs.append(STile(buf, half, offs, tuple(t.sizes), tuple(t.strides)))
        return _SInstr(op, tuple(refs))


def _counter_names(nodes: Sequence[_SNode]) -> dict[int, str]:
    """``i0, i1, ...`` for the loops that are printed, in order of appearance."""
    names: dict[int, str] = {}

    def visit(ns: Sequence[_SNode]) -> None:
        for n in ns:
            if isinstance(n, _SLoop):
                names[n.var] = f"i{len(names)}"
                visit(n.body)
            elif isinstance(n, _SIf):
                visit(n.then)
                visit(n.other)

    visit(nodes)
    return names


@dataclass
class StructuredStream:
    """One stream of the structured encoding: its name, its tree and the names
    of its loop counters."""

    name: str
    nodes: list[_SNode]
    names: dict[int, str]
    ids: dict[SSAValue, str]
    """Buffer value -> id."""


def structure_program(
    program: ProgramOp,
) -> tuple[dict[str, Buffer], list[StructuredStream]]:
    """The buffers and the structured streams of ``program``."""
    buffers = program_buffers(program)
    ids = _buffer_ids(buffers)
    streams: list[StructuredStream] = []
    for s in program.body.block.ops:
        if isinstance(s, GlobalOp | CoreOp):
            w = _StreamWalker(program, s, buffers)
            nodes = w.block(s.body.block.ops if s.body.blocks else [])
            streams.append(StructuredStream(w.name, nodes, _counter_names(nodes), ids))
    return buffers, streams


# ---- asm-loops / json-loops --------------------------------------------------- #

INDENT = "  "
"""asm-loops: indentation per loop/branch nesting level."""


def _asm_loops_lines(s: StructuredStream) -> Iterator[tuple[bool, str]]:
    """``(is_instruction, line)`` of one stream in asm-loops."""
    names = s.names

    def tile(t: STile) -> str:
        if t.half is None:
            half = ""
        elif (c := _const_value(t.half)) is not None:
            half = f".h{c % 2}"
        else:
            half = f".h({render_form(t.half, names)})"
        text = (
            f"{t.buf}{half}[{','.join(render_form(o, names) for o in t.offsets)}]"
            f"[{_csv(t.sizes)}]"
        )
        if any(v != 1 for v in t.strides):
            text += f"[{_csv(t.strides)}]"
        return text

    def walk(nodes: Sequence[_SNode], depth: int) -> Iterator[tuple[bool, str]]:
        pad = f"{s.name}: {INDENT * depth}"
        for n in nodes:
            if isinstance(n, _SInstr):
                fmt = _asm_formatter(n.op, s.ids, tile, INDENT * depth)
                yield True, fmt(Instr(n.op, s.name, n.tiles))  # pyright: ignore
            elif isinstance(n, _SLoop):
                var = names[n.var]
                if n.lb == 0 and n.step == 1:
                    yield False, f"{pad}LOOP {var} {n.count}"
                else:
                    yield False, f"{pad}LOOP {var} from {n.lb} to {n.ub} step {n.step}"
                yield from walk(n.body, depth + 1)
                yield False, f"{pad}ENDLOOP {var}"
            else:
                lhs, rhs = render_form(n.lhs, names), render_form(n.rhs, names)
                sep = " " if " " in lhs + rhs else ""
                cond = f"{lhs}{sep}{_ASM_PRED[n.pred]}{sep}{rhs}"
                yield False, f"{pad}IF {cond}"
                yield from walk(n.then, depth + 1)
                if n.other:
                    yield False, f"{pad}ELSE"
                    yield from walk(n.other, depth + 1)
                yield False, f"{pad}ENDIF"

    return walk(s.nodes, 0)


def _json_loops_lines(s: StructuredStream) -> Iterator[tuple[bool, str]]:
    """``(is_instruction, line)`` of one stream in json-loops (no separators)."""
    names = s.names

    def form(f: Form) -> str:
        return json.dumps(json_form(f, names))

    def tile(t: STile) -> str:
        if t.half is None:
            half = "null"
        elif (c := _const_value(t.half)) is not None:
            half = str(c % 2)
        else:
            half = form(t.half)
        offs = "[" + ", ".join(form(o) for o in t.offsets) + "]"
        return (
            f'{{"buf": "{t.buf}", "half": {half}, "offsets": {offs}, '
            f'"sizes": {_json_ints(t.sizes)}, "strides": {_json_ints(t.strides)}}}'
        )

    def walk(nodes: Sequence[_SNode], depth: int) -> Iterator[tuple[bool, str]]:
        pad = INDENT * depth
        for n in nodes:
            if isinstance(n, _SInstr):
                fmt = _json_formatter(n.op, s.name, s.ids, tile)
                yield True, pad + fmt(Instr(n.op, s.name, n.tiles))  # pyright: ignore
            elif isinstance(n, _SLoop):
                var = names[n.var]
                head: dict[str, Any] = {"op": "loop", "var": var, "count": n.count}
                if n.lb != 0 or n.step != 1:
                    head.update(lb=n.lb, ub=n.ub, step=n.step)
                yield False, pad + json.dumps(head)
                yield from walk(n.body, depth + 1)
                yield False, pad + json.dumps({"op": "endloop", "var": var})
            else:
                yield (
                    False,
                    (
                        f'{pad}{{"op": "if", "lhs": {form(n.lhs)}, "pred": "{n.pred}", '
                        f'"rhs": {form(n.rhs)}}}'
                    ),
                )
                yield from walk(n.then, depth + 1)
                if n.other:
                    yield False, pad + '{"op": "else"}'
                    yield from walk(n.other, depth + 1)
                yield False, pad + '{"op": "endif"}'

    return walk(s.nodes, 0)


def emit_asm_loops_program(program: ProgramOp, out: IO[str]) -> int:
    """Write one program in asm-loops; returns the number of instruction lines."""
    buffers, streams = structure_program(program)
    lines = _asm_header(program, buffers)
    count = 0
    for s in streams:
        for is_instr, line in _asm_loops_lines(s):
            lines.append(line)
            count += is_instr
            if len(lines) >= 4096:
                out.write("\n".join(lines) + "\n")
                lines = []
    if lines:
        out.write("\n".join(lines) + "\n")
    return count


def emit_json_loops_program(program: ProgramOp, out: IO[str]) -> int:
    """Write one program in json-loops; returns the number of instruction objects."""
    buffers, streams = structure_program(program)
    _json_head(program, buffers, out)
    write = out.write
    count = 0
    for i, s in enumerate(streams):
        write(("," if i else "") + f'\n  "{s.name}": [')
        first = True
        for is_instr, line in _json_loops_lines(s):
            write(("\n   " if first else ",\n   ") + line)
            first = False
            count += is_instr
        write("\n  ]" if not first else "]")
    write("\n }}")
    return count


# --------------------------------------------------------------------------- #
# Drivers
# --------------------------------------------------------------------------- #


def programs_of(module: ModuleOp | Operation) -> list[ProgramOp]:
    """The ``cim.program`` ops of ``module``, in order."""
    return [op for op in module.walk() if isinstance(op, ProgramOp)]


def emit(module: ModuleOp | Operation, fmt: str, out: IO[str]) -> int:
    """Write every ``cim.program`` of ``module`` in format ``fmt`` (one of
    `FORMATS`) to ``out``; returns the number of instructions written (dynamic
    instructions for ``asm``/``json``, instruction lines, without the control
    lines, for ``asm-loops``/``json-loops``).

    Raises `MiredoError` when the module has no ``cim.program``, or for the
    structured formats when a loop bound is not a constant.
    """
    if fmt not in FORMATS:
        raise MiredoError(
            f"unknown emission format '{fmt}', expected one of {', '.join(FORMATS)}"
        )
    programs = programs_of(module)
    if not programs:
        raise MiredoError(
            f"--emit={fmt}: the module has no cim.program to emit (lower it to the "
            f"cim dialect first)"
        )
    asm = fmt.startswith("asm")
    count = 0
    if not asm:
        out.write("[\n")
    for i, program in enumerate(programs):
        if i:
            out.write("\n" if asm else ",\n")
        if fmt == "asm":
            count += emit_asm_program(compile_program(program), out)
        elif fmt == "json":
            count += emit_json_program(compile_program(program), out)
        elif fmt == "asm-loops":
            count += emit_asm_loops_program(program, out)
        else:
            count += emit_json_loops_program(program, out)
    if not asm:
        out.write("\n]\n")
    return count


class AtomicTextFile:
    """A text file written through a temporary file in the target's directory:
    ``commit`` renames it over the target, ``discard`` (or a failure before
    ``commit``) removes it. ``close`` does nothing, so a driver that closes its
    output on failure does not publish a partial file."""

    def __init__(self, path: str | os.PathLike[str]):
        from miredo.tools.output import open_temporary

        self.path = Path(path)
        fd, tmp = open_temporary(self.path)
        self._tmp = Path(tmp)
        self._file: IO[str] | None = os.fdopen(fd, "w")

    def write(self, text: str) -> int:
        assert self._file is not None, "write after commit/discard"
        return self._file.write(text)

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        pass

    def commit(self) -> None:
        """Publish the content at the target path."""
        if self._file is None:
            return
        try:
            self._file.close()
            self._file = None
            os.replace(self._tmp, self.path)
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        """Drop the temporary file; the target is left untouched."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self._tmp.unlink(missing_ok=True)


def emit_to_path(
    module: ModuleOp | Operation, fmt: str, path: str | os.PathLike[str]
) -> int:
    """`emit` into ``path``, atomically."""
    out = AtomicTextFile(path)
    try:
        count = emit(module, fmt, out)  # pyright: ignore[reportArgumentType]
    except BaseException:
        out.discard()
        raise
    out.commit()
    return count
