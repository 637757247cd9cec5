"""The ``cim`` dialect: per-core instruction programs for a multi-core CIM accelerator.

This is the instruction level below ``nest``: what the lowering of an annotated
``nest.contract`` (and of the SIMD nests) produces, what the functional and timing
simulators execute and what ``--emit=asm|json`` prints. The machine is the one of the
MIREDO paper, section III: an off-chip memory, a shared global buffer, a distribution
network that multicasts tiles to the cores, N cores that each own a local buffer,
input/output registers and a CIM macro, and a SIMD unit for post-processing. The
instruction classes follow the ISA of CIMFlow-like digital CIM accelerators: DMA
transfers between levels, macro weight writes (memory mode), bit-serial MVMs (compute
mode), vector (SIMD) instructions and inter-core synchronisation.

Program structure
=================

::

    cim.program @conv1(%x: memref<1x16xi8, "DRAM">, %w: memref<16x8xi8, "DRAM">,
                       %y: memref<1x8xi32, "DRAM">)
        arch "small" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg]
        macro Macro {
      %gb = cim.alloc halves 2 : memref<16xi8, "GB">    // shared buffer
      %m = cim.alloc : memref<16x8xi8, "Macro">         // one per core
      ...
      cim.global { ... }                                // the shared controller
      cim.core 0 { ... }                                // one stream per core
      cim.core 1 { ... }
    }

* A host function runs programs with ``cim.launch @name(%tensors...)``: the
  operands bind in order to the program's arguments. The lowering keeps the
  model's ``func.func`` as the host: weights (``nest.weight``), DRAM tensors
  (``memref.alloc``), host-side weight packing (``nest.reshape``/``transpose`` on
  constants) and one ``cim.launch`` per lowered op (contractions, SIMD ops and
  layout ops, the last as DMA programs).
* ``cim.program`` is a symbol. Its header declares the memory hierarchy it was
  lowered for: the ``shared`` levels, outermost first, whose first entry is the
  off-chip level, the ``per_core`` levels (replicated in every core) and which
  per-core level is the ``macro``. The names are the level names of the hardware YAML
  (``solver/hardware.py``), so verifiers check spaces without loading the YAML; the
  check of capacities and port widths against the YAML belongs to a later, arch-aware
  pass. The block arguments are the off-chip tensors (inputs, pre-packed weights,
  outputs, intermediates): memrefs in the off-chip space.
* Storage width: the element type is the type of the data the functional
  simulator computes with (``f32`` for a float model); ``cim.alloc ... bits 8``
  and the program's ``arg_bits [...]`` give the width the hardware stores per
  element (8-bit activations, 32-bit partial sums) when it differs. Traffic and
  capacity are counted in these widths. A DMA between buffers of different widths
  converts (e.g. partial sums rounded to the output width on write-back).
* Buffers live in named memory spaces: a buffer is a ``memref`` whose memory space is
  the level name (``memref<16x8xi8, "Macro">``). All on-chip buffers are allocated
  with ``cim.alloc`` directly in the program body, so the memory map of every level
  is static. A buffer in a per-core level exists once in every core: a core's
  instructions address its own instance, the ``cim.global`` stream selects instances
  with ``cores [...]``.
* The program body holds the allocations and then the instruction *streams*: the
  ``cim.global`` queues of the shared controller (off-chip and global-buffer DMAs,
  multicasts over the distribution network, the shared SIMD unit) and one
  ``cim.core <id>`` per core. The controller has independent queues, ``cim.global``
  (queue 0) and ``cim.global queue <q>``, at most one stream per queue: the
  lowering gives each transfer edge its own queue, so that a prefetch into one
  ping-pong half is not held up behind the write-backs of another operand, and
  a ``priority`` for the ports the queues share. Streams run concurrently; each is a sequence of
  instructions, with ``scf.for`` loops (constant bounds), ``scf.if`` on an
  ``arith.cmpi`` of index values, and index arithmetic (``arith.constant``,
  ``arith`` integer ops, ``affine.apply``), or unrolled.
  Streams synchronise only through ``cim.barrier`` and ``cim.send``/``cim.recv``.

Execution model
===============

Functionally, each stream executes in program order and every instruction completes
before the next one starts. A timing model may overlap instructions of one stream
that run on different units (the DMA engine of each link, the macro, the SIMD unit)
as long as it respects their data dependences (read-after-write, write-after-read,
write-after-write) at the granularity of a buffer, or of one half of a ping-pong
buffer, and the macro's mode switch: ``cim.load_weights`` and ``cim.mvm`` on the same
macro never overlap when the hardware's weight writes block compute. Double
buffering is therefore expressed by allocating ``halves 2`` and alternating
``cim.select_half %buf, %i`` between iterations: the DMA into one half has no
dependence on the MVMs that read the other. Likewise a ``cim.barrier ... on
%buf`` orders only the accesses to the buffers it names, so a timing model may
let a stream run past it up to its next access of one of them.

Tiles
=====

Every data operand of an instruction is a rectangular *tile* of a buffer, written
``%buf[offsets] [sizes] [strides]`` as in ``memref.subview``; offsets are integers or
``index`` SSA values, sizes and strides are integers, strides are omitted when all 1
and a bare ``%buf`` is the whole buffer. Element ``j`` of a tile (row-major over
``sizes``) is ``buf[offsets + j * strides]``. Tiles of different ranks correspond in
row-major order, so a DMA can also reshape (e.g. gather a ``C x R x S`` conv window
into a flat input-register vector). In the generic form the offsets of all tiles of
an op are concatenated into the ``static_offsets`` property (``DYNAMIC_INDEX`` marks
an entry taken from the ``offsets`` operands), likewise ``sizes`` and ``strides``.

Ops
===

* ``cim.program``, ``cim.global``, ``cim.core``: structure (above).
* ``cim.alloc``, ``cim.select_half``: buffers and ping-pong halves.
* ``cim.dma``: copy a tile between two levels, optionally multicast; with
  ``shifts`` each core receives its own window of a shared source, and the
  network reads the union of the windows once. The converse is a gather: the
  per-core tiles of ``cores [...]`` go to their windows (``shifts``) of a shared
  destination in one transfer, the union on the shared port.
* ``cim.load_weights``: memory mode, write a weight tile into the macro.
* ``cim.mvm``: compute mode, bit-serial MVM of an input vector with the macro.
* SIMD: ``cim.simd`` (elementwise functions, psum accumulation, fill), ``cim.pool``,
  ``cim.reduce``, ``cim.softmax``, ``cim.layernorm``, ``cim.requant``.
* ``cim.send``, ``cim.recv``, ``cim.barrier``: synchronisation.
* ``cim.launch``: run a program from the host function.

SIMD design choice: one op per *instruction class*, not one op per function and not
one fully generic op. The elementwise class is a single ``cim.simd <fn>`` whose
function list is the ``nest.elementwise`` list (so the lowering maps it 1:1), and
psum accumulation is ``cim.simd add`` whose output aliases its first input, across C
tiles and across cores alike. Pooling, reductions, softmax, layer norm and
requantisation have window, axis or quantisation parameters and their own shape
rules; as separate ops these are typed properties with simple verifiers instead of
an untyped parameter bag. All six derive from ``SimdOp`` (inputs, one output, all
tiles), so the simulators and the emitter can treat the SIMD unit uniformly.

Every op has an optional ``node`` property, the ONNX node it was lowered from; it is
printed right after the op name and every verifier message starts with it (or with
the op name when there is none).

Encoding (``--emit=asm|json|asm-loops|json-loops``)
===================================================

The emitter evaluates ``scf.for`` loops, ``scf.if`` and index arithmetic, so each
stream becomes a flat list of instructions with concrete offsets and halves.
Buffers are numbered: ``a<i>`` is program argument ``i``, ``b<j>`` the ``j``-th
``cim.alloc``; ``b<j>.h<k>`` is half ``k`` of a ping-pong buffer. Every
``cim.program`` of the module is emitted, in module order; within a program the
streams follow the program body (normally ``global``, ``global1``, ... for the
controller queues, then ``core0``, ``core1``, ...), each stream complete before
the next.

* asm: per program a header ``.program @<name> arch="<arch>" cores=<n>
  shared=<l>,.. per_core=<l>,.. macro=<l>`` and one ``.buffer <id> <space>
  <shape>x<type> halves=<1|2> bits=<storage bits>`` line per buffer (arguments
  first), then one instruction per line, ``<stream>: <OPCODE> <operands>
  <attributes>``, padded to column 56 and followed by ``; <node>`` when the op has
  a node. Programs are separated by an empty line. A tile prints as
  ``buf[offsets][sizes]`` plus ``[strides]`` when not all 1; operands are
  ``src -> dst`` (DMA, LDW), ``input, weights -> output`` (MVM), ``in0, in1 -> out``
  (SIMD classes; ``-> out`` for ``fill``) and the tile (SEND, RECV); attributes
  are ``key=value``. After the buffers, one ``.queue <stream> id=<q>
  priority=<p>`` line per ``cim.global`` stream, in program order (the
  controller queue and its port priority; `` boot=<b>`` follows when its first
  transfer has a priority of its own)::

      core0: DMA b1.h0[0,0][16,8] -> b2[0,0][16,8]            ; conv1
      core0: LDW b2[0,0][16,8] -> b3[0,0][16,8]               ; conv1
      core0: MVM b4[0][16], b3[0,0][16,8] -> b5[0][8] ib=8 bpc=1 acc=0
      global: DMA a0[0,0][1,16] -> b4[0][16] cores=0,1
      global: DMA b0[0,0][1,8] -> b4[0][8] cores=0,1 shifts=[0,0][0,4]
      global: DMA a0[0,-1][4,4] -> b1[0,0][4,4] zero_pad=1
      global1: DMA b6[0][4] -> a2[0,0][1,4] cores=0,1 shifts=[0,0][0,4]
      core1: SIMD.relu b5[0][8] -> b6[0][8]
      core1: SIMD.clip b6[0][8] -> b6[0][8] min=0.0 max=6.0
      core1: SEND b6[0][4] peer=0 tag=2
      core1: BARRIER id=0
      core1: BARRIER id=3 on=b6,b1

  Opcodes and attributes: ``DMA`` (``cores=c,..``, ``shifts=[d,..][d,..]`` one
  bracket per core, ``zero_pad=1``, each only when present; a multicast when the
  destination is per-core, a gather when the source is: ``shifts`` moves the
  shared-side tile, the source's of a multicast, the destination's of a
  gather), ``LDW`` (``cores``,
  ``shifts`` when a broadcast from ``global``), ``MVM``
  (``ib`` = input_bits, ``bpc`` = bits_per_cycle, ``acc=0|1``, ``zero_pad=1``),
  ``SIMD.<fn>``
  (``min``, ``max``, ``approximate``, ``value`` when present), ``POOL.<kind>``
  (``kernel``, ``stride``, ``dilation``, ``pad``, ``count_include_pad=0|1``),
  ``REDUCE.<kind>`` (``axes``), ``SOFTMAX`` (``axis``), ``LAYERNORM`` (``axis``,
  ``epsilon``), ``REQUANT`` (``scale``, ``zero_point``), ``SEND`` and ``RECV``
  (``peer``, ``tag``), ``BARRIER`` (``id``, and ``on=<buf>,..`` the buffer ids
  it protects, both halves of a ping-pong buffer, when it names any; without
  ``on`` it is a full barrier. A consumer may run every barrier as a full one,
  which is always correct). Lists are comma-separated, floats print as
  Python's ``repr``.
* json: a list with one object per program, ``{"program", "arch", "cores",
  "levels": {"shared", "per_core", "macro"}, "buffers": [{"id", "space", "shape",
  "dtype", "halves", "bits"}], "queues": [{"stream", "id", "priority", "boot"}],
  "streams": {"global": [...], "global1": [...], "core0": [...], ...}}`` (the
  arguments are buffers ``a<i>`` too, in the off-chip space, with their
  ``arg_bits``; ``queues`` has one entry per ``cim.global`` stream, in program
  order). Every instruction is an object ``{"op", "stream", "node",
  <operands>, <attributes>}`` on a line of its own, ``op`` being the op name
  without ``cim.``. A tile operand is ``{"buf", "half", "offsets", "sizes",
  "strides"}`` (``half`` is null for a single buffer). Operand keys: ``src``,
  ``dst`` (dma); ``src``, ``macro`` (load_weights, with ``cores`` and ``shifts``
  as for dma); ``input``, ``weights``,
  ``output`` (mvm); ``inputs`` (a list) and ``output`` (the SIMD classes); ``tile``
  (send, recv). Attribute keys are the op's property names (and ``on``, a
  barrier's protected buffers), always present (null when absent), e.g. ``{"op": "dma", "src": tile, "dst": tile, "cores": [0, 1],
  "shifts": [[0, 0], [0, 4]], "zero_pad": false}``, ``{"op": "mvm", "input":
  tile, "weights": tile, "output": tile, "input_bits": 8, "bits_per_cycle": 1,
  "acc": true, "zero_pad": false}``, ``{"op": "simd", "inputs": [tile], "output": tile, "fn":
  "clip", "min": 0.0, "max": 6.0, "approximate": null, "value": null}``,
  ``{"op": "send", "tile": tile, "peer": 1, "tag": 0}``, ``{"op": "barrier",
  "id": 0, "on": ["b6", "b1"]}`` (``"on": null`` for a full barrier).
* asm-loops, json-loops: the *structured* encoding keeps each stream's loops and
  branches instead of unrolling them (as the hardware loops and address generators
  of a CIM ISA would), so its size follows the program text, not the number of
  dynamic instructions. Headers, buffers, program and stream order and the
  instructions are as in asm and json, except that a tile offset or a half may be a
  *form* over the stream's loop counters. ``scf.for`` becomes ``<stream>: LOOP <i>
  <count>`` (``LOOP <i> from <lb> to <ub> step <s>`` unless lb is 0 and step 1) ...
  ``<stream>: ENDLOOP <i>``; a counter takes the induction variable's values, and
  counters are named ``i0, i1, ...`` in order of appearance, restarting per stream;
  loop bounds must be constants. ``scf.if`` becomes ``IF <lhs><op><rhs>`` / ``ELSE``
  / ``ENDIF`` from its ``arith.cmpi`` (``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``;
  unsigned ``<u``, ``<=u``, ``>u``, ``>=u``; spaces around the operator when an
  operand has spaces); any other condition ``c`` is ``c!=0``. Bodies are indented by
  two spaces per level after ``<stream>: ``. A loop that runs once is inlined (its
  counter replaced by lb), loops and branches without instructions are left out, a
  condition decided by the counters' ranges inlines the branch taken and an empty
  then-branch is printed with the negated predicate.
  Index arithmetic (``arith.constant``, ``arith.addi/subi/muli``, ``affine.apply``,
  counters) folds to linear forms ``i0*8+i1*2-1``, constants to integers, so a
  loop-free stream prints exactly as in asm/json. ``floordiv``/``ceildiv``/``mod`` by
  a positive constant, and ``divsi/remsi/divui/remui`` of values the ranges prove
  non-negative, fold to linear forms when the result is linear over the counters'
  ranges (``(d0 * 2) mod 16`` with ``d0 < 8`` is ``i0*2``); every rewrite is exact.
  What stays non-linear prints as an expression::

      expr   ::= term (("+" | "-") term)*
      term   ::= factor (("*" | "floordiv" | "ceildiv" | "mod") factor)*
      factor ::= INT | "i" DIGITS | "-" factor | "(" expr ")"
               | FN "(" expr "," expr ")"
      FN     ::= divsi | remsi | divui | remui | min | max | minu | maxu
               | and | or | xor | eq | ne | slt | sle | sgt | sge | ult | ule
               | ugt | uge

  The ``*``/``floordiv``/``ceildiv``/``mod`` level binds tighter than ``+``/``-``,
  both associate to the left (as in affine maps and Python's ``*``, ``//``, ``%``),
  unary minus binds tightest; integers are unbounded; ``floordiv`` rounds toward
  minus infinity, ``ceildiv`` toward plus infinity, ``a mod b = a - b * (a floordiv
  b)``; the functions are the ``arith`` ops of that name (``divsi``/``remsi``
  truncate; ``divui``, ``remui``, ``minu``, ``maxu`` and the ``u`` predicates work
  modulo 2^64; a predicate is 1 or 0). In a tile, commas inside parentheses belong
  to a function call. A half prints ``.h0``/``.h1`` when constant, else
  ``.h(<form>)``: the half is the form's value mod 2 (a linear half form is printed
  reduced mod 2)::

      core0: LOOP i0 4
      core0:   IF i0==0
      core0:     SIMD.fill -> b2[0][4] value=0.0
      core0:   ENDIF
      core0:   LOOP i1 from 1 to 7 step 2
      core0:     DMA a0[(i0*2+i1) mod 5 * 24][4] -> b0.h(i0+i1)[0][4]
      core0:     MVM b0.h(i0+i1)[0][4], b1[0,0][4,4] -> b2[remui(-i0, 4)][4] ib=8 bpc=1 acc=1
      core0:   ENDLOOP i1
      core0: ENDLOOP i0

  json-loops: each stream is a list of flat objects, one per line (indented by
  nesting): json's instruction objects and ``{"op": "loop", "var": "i0", "count":
  4}`` (plus ``"lb"``, ``"ub"``, ``"step"`` unless lb is 0 and step 1), ``{"op":
  "endloop", "var": "i0"}``, ``{"op": "if", "lhs": form, "pred": "eq", "rhs":
  form}`` (``pred`` is the ``arith.cmpi`` predicate name), ``{"op": "else"}``,
  ``{"op": "endif"}``. A form is an int when constant, ``{"const": c, "i0": 2,
  "i3": 1}`` when linear (counters with a non-zero coefficient) and ``{"expr":
  "<text>"}`` in the grammar above otherwise; a tile's ``"half"`` is null, 0, 1 or a
  form (the half is its value mod 2).
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, NoReturn

from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    I64,
    AnyFloat,
    ArrayAttr,
    DenseArrayBase,
    FlatSymbolRefAttrConstr,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    MemRefType,
    Signedness,
    StringAttr,
    SymbolNameConstraint,
    SymbolRefAttr,
    UnitAttr,
    f64,
    i64,
)
from xdsl.dialects.utils.dynamic_index_list import print_dynamic_index_list
from xdsl.ir import (
    Attribute,
    Block,
    Dialect,
    Operation,
    ParametrizedAttribute,
    Region,
    SSAValue,
    TypeAttribute,
)
from xdsl.irdl import (
    AttrSizedOperandSegments,
    IRDLOperation,
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.parser import Parser, UnresolvedOperand
from xdsl.printer import Printer
from xdsl.traits import (
    IsolatedFromAbove,
    NoTerminator,
    Pure,
    SymbolOpInterface,
    SymbolTable,
)
from xdsl.utils.exceptions import VerifyException

from miredo.dialects.nest import (
    BINARY_FNS,
    GELU_APPROXIMATIONS,
    POOL_KINDS,
    REDUCE_KINDS,
    UNARY_FNS,
    broadcastable,
    pool_output_size,
)

ELEMENTWISE_FNS: tuple[str, ...] = (*UNARY_FNS, *BINARY_FNS, "fill")
"""Functions of ``cim.simd``: the ``nest.elementwise`` ones plus ``fill``."""

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def is_identifier(name: str) -> bool:
    """Whether ``name`` is a valid memory-space (level) name."""
    return _IDENT.fullmatch(name) is not None


# --------------------------------------------------------------------------- #
# Small helpers
# --------------------------------------------------------------------------- #


def _i64_array(values: Sequence[int]) -> DenseArrayBase:
    return DenseArrayBase.from_list(i64, tuple(int(v) for v in values))


def _ints(attr: DenseArrayBase) -> tuple[int, ...]:
    return tuple(int(v) for v in attr.get_values())  # pyright: ignore


def _int(attr: IntegerAttr) -> int:
    return attr.value.data


def _f64(value: float) -> FloatAttr:
    return FloatAttr(float(value), f64)


def _fmt_float(value: float) -> str:
    """A float literal the MLIR lexer reads back (always with a ``.``)."""
    text = repr(float(value))
    mantissa, sep, exponent = text.partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return mantissa + sep + exponent


def _fmt(values: Sequence[int]) -> str:
    return "[" + ", ".join(str(v) for v in values) + "]"


def _fmt_shape(shape: Sequence[int]) -> str:
    return "x".join(str(d) for d in shape) if shape else "scalar"


def space_of(value: SSAValue) -> str | None:
    """The memory space (level name) of a buffer or ping-pong buffer value."""
    t = value.type
    if isinstance(t, PingPongType):
        t = t.tile
    if isinstance(t, MemRefType) and isinstance(t.memory_space, StringAttr):
        return t.memory_space.data
    return None


def _elt(value: SSAValue) -> Attribute:
    assert isinstance(value.type, MemRefType)
    return value.type.get_element_type()


def _bitwidth(t: Attribute) -> int | None:
    if isinstance(t, IntegerType):
        return t.width.data
    if isinstance(t, AnyFloat):
        return t.bitwidth
    return None


def _int_range(t: IntegerType) -> tuple[int, int]:
    w = t.width.data
    if t.signedness.data == Signedness.UNSIGNED:
        return 0, 2**w - 1
    return -(2 ** (w - 1)), 2 ** (w - 1) - 1


# --------------------------------------------------------------------------- #
# Types
# --------------------------------------------------------------------------- #


@irdl_attr_definition
class PingPongType(ParametrizedAttribute, TypeAttribute):
    """A double-buffered allocation: two halves, each a ``tile`` buffer.

    Only ``cim.select_half`` reads it; it occupies twice the tile's size.

    ```
    !cim.pingpong<memref<16x16xi8, "LB">>
    ```
    """

    name = "cim.pingpong"

    tile: MemRefType
    """The type of one half."""


# --------------------------------------------------------------------------- #
# Tiles
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Tile:
    """A rectangular tile ``buffer[offsets] [sizes] [strides]`` of a buffer."""

    buffer: SSAValue
    """The buffer (a memref in a named memory space)."""
    offsets: tuple[int | SSAValue, ...]
    """Start index per dim: an integer or an ``index`` value."""
    sizes: tuple[int, ...]
    """Extent per dim."""
    strides: tuple[int, ...]
    """Step per dim, in elements of the buffer."""

    @staticmethod
    def of(
        buffer: SSAValue | Operation,
        offsets: Sequence[int | SSAValue | Operation] | None = None,
        sizes: Sequence[int] | None = None,
        strides: Sequence[int] | None = None,
    ) -> Tile:
        """A tile; without ``offsets``/``sizes`` the whole buffer, strides default 1."""
        buffer = SSAValue.get(buffer)
        assert isinstance(buffer.type, MemRefType), "a tile needs a memref buffer"
        shape = tuple(buffer.type.get_shape())
        offs = (
            (0,) * len(shape)
            if offsets is None
            else tuple(o if isinstance(o, int) else SSAValue.get(o) for o in offsets)
        )
        sz = shape if sizes is None else tuple(sizes)
        st = (1,) * len(sz) if strides is None else tuple(strides)
        return Tile(buffer, offs, sz, st)

    @property
    def shape(self) -> tuple[int, ...]:
        """The buffer's shape."""
        assert isinstance(self.buffer.type, MemRefType)
        return tuple(self.buffer.type.get_shape())

    @property
    def space(self) -> str | None:
        return space_of(self.buffer)

    @property
    def num_elements(self) -> int:
        return math.prod(self.sizes)

    def is_whole(self) -> bool:
        """Whether the tile is the whole buffer (printed as a bare ``%buf``)."""
        return (
            all(isinstance(o, int) and o == 0 for o in self.offsets)
            and self.sizes == self.shape
            and all(s == 1 for s in self.strides)
        )


def _encode_tiles(tiles: Sequence[Tile]) -> tuple[list[SSAValue], dict[str, Attribute]]:
    """The ``offsets`` operands and the tile properties of an op's tiles."""
    static: list[int] = []
    dynamic: list[SSAValue] = []
    sizes: list[int] = []
    strides: list[int] = []
    for t in tiles:
        for o in t.offsets:
            if isinstance(o, int):
                static.append(o)
            else:
                static.append(DYNAMIC_INDEX)
                dynamic.append(o)
        sizes.extend(t.sizes)
        strides.extend(t.strides)
    props: dict[str, Attribute] = {
        "static_offsets": _i64_array(static),
        "sizes": _i64_array(sizes),
    }
    if any(s != 1 for s in strides):
        props["strides"] = _i64_array(strides)
    return dynamic, props


def _print_tile(printer: Printer, tile: Tile) -> None:
    printer.print_operand(tile.buffer)
    if tile.is_whole():
        return
    static = [o if isinstance(o, int) else DYNAMIC_INDEX for o in tile.offsets]
    dynamic = [o for o in tile.offsets if not isinstance(o, int)]
    print_dynamic_index_list(printer, DYNAMIC_INDEX, dynamic, static)
    printer.print_string(f" {_fmt(tile.sizes)}")
    if any(s != 1 for s in tile.strides):
        printer.print_string(f" {_fmt(tile.strides)}")


@dataclass
class _RawTile:
    """A tile as parsed, before its buffer type is known."""

    buffer: UnresolvedOperand
    offsets: list[int | UnresolvedOperand] | None
    sizes: list[int] | None
    strides: list[int] | None


def _parse_int_list(parser: Parser) -> list[int]:
    return parser.parse_comma_separated_list(
        parser.Delimiter.SQUARE, lambda: parser.parse_integer(allow_boolean=False)
    )


def _parse_tile(parser: Parser) -> _RawTile:
    buffer = parser.parse_unresolved_operand("expected a buffer operand")
    if parser.parse_optional_punctuation("[") is None:
        return _RawTile(buffer, None, None, None)
    offsets: list[int | UnresolvedOperand] = []
    if parser.parse_optional_punctuation("]") is None:
        while True:
            operand = parser.parse_optional_unresolved_operand()
            offsets.append(
                operand
                if operand is not None
                else parser.parse_integer(allow_boolean=False)
            )
            if parser.parse_optional_punctuation(",") is None:
                break
        parser.parse_punctuation("]")
    sizes = _parse_int_list(parser)
    strides = None
    if parser.parse_optional_punctuation("[") is not None:
        strides = []
        if parser.parse_optional_punctuation("]") is None:
            strides = [parser.parse_integer(allow_boolean=False)]
            while parser.parse_optional_punctuation(",") is not None:
                strides.append(parser.parse_integer(allow_boolean=False))
            parser.parse_punctuation("]")
    return _RawTile(buffer, offsets, sizes, strides)


def _resolve_tile(parser: Parser, raw: _RawTile, type: Attribute) -> Tile:
    buffer = parser.resolve_operand(raw.buffer, type)
    if not isinstance(type, MemRefType):
        parser.raise_error(f"a tile operand must be a memref, got {type}")
    if raw.offsets is None:
        return Tile.of(buffer)
    offsets = tuple(
        o if isinstance(o, int) else parser.resolve_operand(o, IndexType())
        for o in raw.offsets
    )
    assert raw.sizes is not None
    strides = tuple(raw.strides) if raw.strides is not None else (1,) * len(raw.sizes)
    return Tile(buffer, offsets, tuple(raw.sizes), strides)


def _parse_types(parser: Parser, count: int, what: str) -> list[Attribute]:
    types = parser.parse_comma_separated_list(parser.Delimiter.NONE, parser.parse_type)
    if len(types) != count:
        parser.raise_error(f"{what}: expected {count} type(s), got {len(types)}")
    return types


# --------------------------------------------------------------------------- #
# The memory hierarchy a program declares
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Hierarchy:
    """The levels a ``cim.program`` declares (see its header)."""

    cores: int
    """Number of cores."""
    shared: tuple[str, ...]
    """Shared levels, outermost first; ``shared[0]`` is the off-chip level."""
    per_core: tuple[str, ...]
    """Levels replicated in every core, outermost first."""
    macro: str
    """The per-core level that is the macro's weight array."""

    @property
    def offchip(self) -> str:
        return self.shared[0]

    def declares(self, space: str | None) -> bool:
        return space in self.shared or space in self.per_core

    def is_per_core(self, space: str | None) -> bool:
        return space in self.per_core

    def is_shared_on_chip(self, space: str | None) -> bool:
        return space in self.shared[1:]


# --------------------------------------------------------------------------- #
# Op base classes
# --------------------------------------------------------------------------- #


class CimOp(IRDLOperation, ABC):
    """Common base of the ``cim`` ops: the ``node`` property and placement queries."""

    node = opt_prop_def(StringAttr)
    """The ONNX node this op was lowered from (for diagnostics)."""

    def _who(self) -> str:
        return f"'{self.node.data}'" if self.node is not None else self.name

    def _fail(self, message: str) -> NoReturn:
        raise VerifyException(f"{self._who()}: {message}")

    def program(self) -> ProgramOp | None:
        """The enclosing ``cim.program``."""
        op = self.parent_op()
        while op is not None and not isinstance(op, ProgramOp):
            op = op.parent_op()
        return op

    def stream(self) -> StreamOp | None:
        """The enclosing ``cim.core`` or ``cim.global``."""
        op = self.parent_op()
        while op is not None and not isinstance(op, StreamOp):
            op = op.parent_op()
        return op

    def _in_stream(self) -> tuple[StreamOp, Hierarchy | None]:
        """The stream and the program's hierarchy (``None`` if it is malformed: the
        program reports that itself)."""
        stream, program = self.stream(), self.program()
        if stream is None or program is None:
            self._fail(
                "must be inside a cim.core or cim.global region of a cim.program"
            )
        return stream, program.hierarchy()

    def _in_core(self) -> tuple[CoreOp, Hierarchy | None]:
        stream, hier = self._in_stream()
        if not isinstance(stream, CoreOp):
            self._fail(f"{self.name} runs in a core: it must be inside a cim.core")
        return stream, hier


def _print_node(printer: Printer, op: CimOp) -> None:
    if op.node is not None:
        printer.print_string(" ")
        printer.print_string_literal(op.node.data)


def _parse_node(parser: Parser, props: dict[str, Attribute]) -> None:
    node = parser.parse_optional_str_literal()
    if node is not None:
        props["node"] = StringAttr(node)


class TileOp(CimOp, ABC):
    """An instruction whose data operands are tiles (see the module docstring).

    Subclasses declare their buffer operands and then ``offsets``; ``TILE_ROLES``
    names the buffers in order, for messages.
    """

    static_offsets = prop_def(DenseArrayBase[I64])
    """Offsets of all tiles, concatenated; ``DYNAMIC_INDEX`` takes an ``offsets`` operand."""
    sizes = prop_def(DenseArrayBase[I64])
    """Sizes of all tiles, concatenated."""
    strides = opt_prop_def(DenseArrayBase[I64])
    """Strides of all tiles, concatenated (absent: all 1)."""

    TILE_ROLES: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def tile_buffers(self) -> list[SSAValue]:
        """The buffers of the tiles, in tile order."""

    def tile_roles(self) -> list[str]:
        return list(self.TILE_ROLES)

    def tiles(self) -> list[Tile]:
        """Decode the tiles (``ValueError`` when the properties do not fit)."""
        buffers = self.tile_buffers()
        ranks: list[int] = []
        for role, b in zip(self.tile_roles(), buffers, strict=True):
            if not isinstance(b.type, MemRefType):
                raise ValueError(f"{role} must be a memref, got {b.type}")
            shape = b.type.get_shape()
            if any(d < 1 for d in shape):
                raise ValueError(f"{role} must have a static shape, got {b.type}")
            ranks.append(len(shape))
        total = sum(ranks)
        static, sizes = _ints(self.static_offsets), _ints(self.sizes)
        strides = _ints(self.strides) if self.strides is not None else (1,) * total
        for what, values in (
            ("static_offsets", static),
            ("sizes", sizes),
            ("strides", strides),
        ):
            if len(values) != total:
                raise ValueError(
                    f"{what} has {len(values)} entries but the tiles have "
                    f"{total} dims ({' + '.join(str(r) for r in ranks) or '0'})"
                )
        dynamic = list(self.offsets)  # pyright: ignore[reportAttributeAccessIssue]
        if static.count(DYNAMIC_INDEX) != len(dynamic):
            raise ValueError(
                f"{static.count(DYNAMIC_INDEX)} dynamic offsets in static_offsets but "
                f"{len(dynamic)} offset operands"
            )
        tiles: list[Tile] = []
        pos, dyn = 0, iter(dynamic)
        for b, r in zip(buffers, ranks, strict=True):
            offs = tuple(
                next(dyn) if o == DYNAMIC_INDEX else o for o in static[pos : pos + r]
            )
            tiles.append(
                Tile(b, offs, sizes[pos : pos + r], tuple(strides[pos : pos + r]))
            )
            pos += r
        return tiles

    def _verify_tiles(self, zero_pad: Sequence[str] = ()) -> list[Tile]:
        """Check the tiles fit their buffers; roles in ``zero_pad`` may leave them."""
        try:
            tiles = self.tiles()
        except ValueError as e:
            self._fail(str(e))
        for role, t in zip(self.tile_roles(), tiles, strict=True):
            if any(s < 1 for s in t.sizes):
                self._fail(f"{role} tile sizes must be >= 1, got {_fmt(t.sizes)}")
            if any(s < 1 for s in t.strides):
                self._fail(f"{role} tile strides must be >= 1, got {_fmt(t.strides)}")
            if role in zero_pad:
                continue
            for d, (o, size, step, extent) in enumerate(
                zip(t.offsets, t.sizes, t.strides, t.shape, strict=True)
            ):
                span = (size - 1) * step + 1
                if not isinstance(o, int):
                    if span > extent:
                        self._fail(
                            f"{role} tile spans {span} elements in dim {d} but the "
                            f"buffer extent is {extent} (buffer {_fmt_shape(t.shape)})"
                        )
                elif o < 0 or o + span > extent:
                    self._fail(
                        f"{role} tile [{o}, {o + span - 1}] in dim {d} does not fit "
                        f"the buffer extent {extent} (buffer {_fmt_shape(t.shape)})"
                    )
        return tiles

    def _check_declared(self, tiles: Sequence[Tile], hier: Hierarchy | None) -> None:
        if hier is None:
            return
        for role, t in zip(self.tile_roles(), tiles, strict=True):
            if not hier.declares(t.space):
                self._fail(
                    f"{role} is in memory space {_space_text(t.space)}, which is not "
                    f"a level of the program"
                )

    def _print_tiles_or_generic(self, printer: Printer) -> list[Tile] | None:
        """The tiles, or ``None`` after printing the op generically (malformed op,
        e.g. inside a diagnostic)."""
        try:
            return self.tiles()
        except ValueError:
            printer.print_op_with_default_format(self)
            return None


def _space_text(space: str | None) -> str:
    return "(none)" if space is None else f"'{space}'"


# --------------------------------------------------------------------------- #
# Structure
# --------------------------------------------------------------------------- #


@irdl_op_definition
class ProgramOp(CimOp):
    """A whole CIM program: the memory hierarchy, the allocations and the streams.

    The block arguments are the off-chip tensors. The body holds ``cim.alloc`` ops,
    then at most one ``cim.global`` and any number of ``cim.core`` streams.

    ```
    cim.program @fc(%x: memref<1x16xi8, "DRAM">, %y: memref<1x8xi32, "DRAM">)
        arch "small" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg]
        macro Macro {
      %lb = cim.alloc : memref<16xi8, "LB">
      cim.core 0 {
        cim.dma %x[0, 0] [1, 16] -> %lb : memref<1x16xi8, "DRAM"> -> memref<16xi8, "LB">
      }
    }
    ```
    """

    name = "cim.program"

    sym_name = prop_def(SymbolNameConstraint())
    """The program's symbol."""
    arch = prop_def(StringAttr)
    """Name of the hardware description it was lowered for (e.g. ``table4``)."""
    cores = prop_def(IntegerAttr[I64])
    """Number of cores of the hardware."""
    shared_levels = prop_def(ArrayAttr[StringAttr])
    """Shared levels, outermost first; the first is the off-chip level."""
    core_levels = prop_def(ArrayAttr[StringAttr])
    """Per-core levels, outermost first."""
    macro_level = prop_def(StringAttr)
    """The per-core level that is the CIM macro."""
    arg_bits = opt_prop_def(DenseArrayBase[I64])
    """Storage bits per element of each argument in off-chip memory, when they
    differ from the element types' widths (see ``cim.alloc``'s ``bits``)."""

    body = region_def("single_block")
    """Allocations, then the streams."""

    traits = traits_def(IsolatedFromAbove(), NoTerminator(), SymbolOpInterface())

    def __init__(
        self,
        sym_name: str,
        arg_types: Sequence[Attribute],
        *,
        arch: str,
        cores: int,
        shared: Sequence[str],
        per_core: Sequence[str],
        macro: str,
        arg_bits: Sequence[int] | None = None,
        node: str | None = None,
        attributes: Mapping[str, Attribute] | None = None,
    ):
        super().__init__(
            properties={
                "arg_bits": None if arg_bits is None else _i64_array(arg_bits),
                "sym_name": StringAttr(sym_name),
                "arch": StringAttr(arch),
                "cores": IntegerAttr(cores, i64),
                "shared_levels": ArrayAttr(StringAttr(s) for s in shared),
                "core_levels": ArrayAttr(StringAttr(s) for s in per_core),
                "macro_level": StringAttr(macro),
                "node": None if node is None else StringAttr(node),
            },
            regions=[Region(Block(arg_types=arg_types))],
            attributes=attributes,
        )

    @property
    def args(self) -> tuple[SSAValue, ...]:
        """The off-chip tensors."""
        return tuple(self.body.block.args)

    def arg_element_bits(self) -> tuple[int, ...]:
        """Storage bits per element of each argument (see ``arg_bits``)."""
        if self.arg_bits is not None:
            return _ints(self.arg_bits)
        return tuple(
            _bitwidth(a.type.element_type) or 0  # pyright: ignore
            for a in self.args
        )

    def add(self, *ops: Operation) -> None:
        """Append ops to the body."""
        for op in ops:
            self.body.block.add_op(op)

    def hierarchy(self) -> Hierarchy | None:
        """The declared levels, or ``None`` if the header is malformed (the
        program's own verifier reports that; the ops inside skip their level
        checks)."""
        try:
            hier = self._read_hierarchy()
            self._check_hierarchy(hier)
        except (AttributeError, TypeError, VerifyException):
            return None
        return hier

    def _read_hierarchy(self) -> Hierarchy:
        return Hierarchy(
            cores=_int(self.cores),
            shared=tuple(s.data for s in self.shared_levels.data),
            per_core=tuple(s.data for s in self.core_levels.data),
            macro=self.macro_level.data,
        )

    def streams(self) -> list[StreamOp]:
        return [op for op in self.body.block.ops if isinstance(op, StreamOp)]

    def core_stream(self, core: int) -> CoreOp | None:
        return next(
            (
                s
                for s in self.streams()
                if isinstance(s, CoreOp) and _int(s.core) == core
            ),
            None,
        )

    def global_streams(self) -> list[GlobalOp]:
        return [s for s in self.streams() if isinstance(s, GlobalOp)]

    def allocs(self) -> list[AllocOp]:
        return [op for op in self.body.block.ops if isinstance(op, AllocOp)]

    def _check_hierarchy(self, hier: Hierarchy) -> None:
        if hier.cores < 1:
            self._fail(f"cores must be >= 1, got {hier.cores}")
        if not hier.shared:
            self._fail(
                "shared levels must not be empty: the first is the off-chip level"
            )
        names = (*hier.shared, *hier.per_core)
        for n in names:
            if not is_identifier(n):
                self._fail(f"level name '{n}' is not a valid identifier")
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            self._fail(f"level names must be unique, repeated: {', '.join(dup)}")
        if hier.macro not in hier.per_core:
            self._fail(
                f"macro level '{hier.macro}' must be one of the per-core levels "
                f"{_fmt_names(hier.per_core)}"
            )

    def verify_(self) -> None:
        hier = self._read_hierarchy()
        self._check_hierarchy(hier)
        for i, arg in enumerate(self.args):
            t = arg.type
            if (
                not isinstance(t, MemRefType)
                or space_of(arg) != hier.offchip
                or any(d < 1 for d in t.get_shape())
            ):
                self._fail(
                    f"argument {i} must be a static memref in the off-chip space "
                    f"'{hier.offchip}', got {t}"
                )
        if self.arg_bits is not None:
            bits = _ints(self.arg_bits)
            if len(bits) != len(self.args) or any(b < 1 for b in bits):
                self._fail(
                    f"arg_bits {_fmt(bits)} must give one width >= 1 per argument "
                    f"({len(self.args)})"
                )
        seen_cores: set[int] = set()
        queues: set[int] = set()
        for op in self.body.block.ops:
            if isinstance(op, CoreOp):
                core = _int(op.core)
                if not 0 <= core < hier.cores:
                    self._fail(f"core id {core} is out of range [0, {hier.cores})")
                if core in seen_cores:
                    self._fail(f"core {core} has two cim.core streams")
                seen_cores.add(core)
            elif isinstance(op, GlobalOp):
                if op.queue_id in queues:
                    self._fail(f"cim.global queue {op.queue_id} has two streams")
                queues.add(op.queue_id)
            elif not isinstance(op, AllocOp):
                self._fail(
                    f"the program body holds only cim.alloc, cim.global and cim.core, "
                    f"found {op.name}"
                )
        self._verify_messages()

    def _verify_messages(self) -> None:
        """Every ``cim.send`` has a matching ``cim.recv`` (same cores, tag, element
        count and type) and vice versa. (The dynamic count is the simulator's.)"""
        sends: dict[tuple[int, int, int], list[tuple[int, Attribute]]] = {}
        recvs: dict[tuple[int, int, int], list[tuple[int, Attribute]]] = {}
        for op in self.walk():
            if isinstance(op, SendOp | RecvOp):
                stream = op.stream()
                if not isinstance(stream, CoreOp):
                    continue
                me, peer = _int(stream.core), _int(op.peer)
                key = (me, peer, _int(op.tag))
                table = sends
                if isinstance(op, RecvOp):
                    key, table = (peer, me, _int(op.tag)), recvs
                try:
                    (tile,) = op.tiles()
                except ValueError:
                    continue
                table.setdefault(key, []).append((tile.num_elements, _elt(tile.buffer)))
        for key in sorted(set(sends) | set(recvs)):
            src, dst, tag = key
            what = f"core {src} -> core {dst} tag {tag}"
            if key not in recvs:
                self._fail(f"cim.send {what} has no matching cim.recv")
            if key not in sends:
                self._fail(f"cim.recv {what} has no matching cim.send")
            if set(sends[key]) != set(recvs[key]):
                self._fail(
                    f"cim.send and cim.recv {what} disagree on the message: "
                    + ", ".join(
                        f"{n} x {t}" for n, t in sorted(set(sends[key]), key=str)
                    )
                    + " vs "
                    + ", ".join(
                        f"{n} x {t}" for n, t in sorted(set(recvs[key]), key=str)
                    )
                )

    def print(self, printer: Printer) -> None:
        _print_node(printer, self)
        printer.print_string(" ")
        printer.print_symbol_name(self.sym_name.data)
        printer.print_string("(")
        printer.print_list(self.args, printer.print_block_argument)
        printer.print_string(") arch ")
        printer.print_string_literal(self.arch.data)
        printer.print_string(f" cores {_int(self.cores)} shared ")
        _print_names(printer, [s.data for s in self.shared_levels.data])
        printer.print_string(" per_core ")
        _print_names(printer, [s.data for s in self.core_levels.data])
        printer.print_string(" macro ")
        printer.print_identifier_or_string_literal(self.macro_level.data)
        if self.arg_bits is not None:
            printer.print_string(f" arg_bits {_fmt(_ints(self.arg_bits))}")
        printer.print_op_attributes(self.attributes, print_keyword=True)
        printer.print_string(" ")
        printer.print_region(
            self.body, print_entry_block_args=False, print_empty_block=False
        )

    @classmethod
    def parse(cls, parser: Parser) -> ProgramOp:
        props: dict[str, Attribute] = {}
        _parse_node(parser, props)
        props["sym_name"] = parser.parse_symbol_name()
        args = parser.parse_comma_separated_list(
            parser.Delimiter.PAREN, parser.parse_argument
        )
        parser.parse_keyword("arch")
        props["arch"] = StringAttr(parser.parse_str_literal("hardware name"))
        parser.parse_keyword("cores")
        props["cores"] = IntegerAttr(parser.parse_integer(allow_boolean=False), i64)
        parser.parse_keyword("shared")
        props["shared_levels"] = _parse_names(parser)
        parser.parse_keyword("per_core")
        props["core_levels"] = _parse_names(parser)
        parser.parse_keyword("macro")
        props["macro_level"] = StringAttr(_parse_name(parser))
        if parser.parse_optional_keyword("arg_bits") is not None:
            props["arg_bits"] = _i64_array(_parse_int_list(parser))
        attrs = parser.parse_optional_attr_dict_with_keyword()
        region = parser.parse_region(args)
        if not region.blocks:
            region.add_block(Block())
        return cls.create(
            properties=props,
            attributes=attrs.data if attrs is not None else {},
            regions=[region],
        )


def _fmt_names(names: Sequence[str]) -> str:
    return "[" + ", ".join(names) + "]"


def _print_names(printer: Printer, names: Sequence[str]) -> None:
    printer.print_string("[")
    printer.print_list(names, printer.print_identifier_or_string_literal)
    printer.print_string("]")


def _parse_name(parser: Parser) -> str:
    name = parser.parse_optional_identifier_or_str_literal()
    if name is None:
        parser.raise_error("expected a level name")
    return name


def _parse_names(parser: Parser) -> ArrayAttr[StringAttr]:
    names = parser.parse_comma_separated_list(
        parser.Delimiter.SQUARE, lambda: _parse_name(parser)
    )
    return ArrayAttr(StringAttr(n) for n in names)


class StreamOp(CimOp, ABC):
    """An instruction stream: ``cim.global`` or ``cim.core``."""

    body = region_def("single_block")
    """The instructions, in program order."""

    traits = traits_def(NoTerminator())

    def add(self, *ops: Operation) -> None:
        """Append ops to the stream."""
        for op in ops:
            self.body.block.add_op(op)

    def _check_parent(self) -> None:
        if not isinstance(self.parent_op(), ProgramOp):
            self._fail(f"{self.name} must be directly inside a cim.program")

    @staticmethod
    def _body(body: Sequence[Operation] | Block | Region) -> Region:
        if isinstance(body, Region):
            return body
        if isinstance(body, Block):
            return Region(body)
        return Region(Block(body))

    @staticmethod
    def _parse_body(parser: Parser) -> Region:
        region = parser.parse_region()
        if not region.blocks:
            region.add_block(Block())
        return region


@irdl_op_definition
class GlobalOp(StreamOp):
    """A queue of the shared controller: off-chip and global-buffer DMAs,
    multicasts to the cores, the shared SIMD unit and barriers. Queues are
    independent streams (each with its own DMA engines and SIMD issue); they
    share the memory ports. A queue's ``priority`` (default 0) ranks its
    requests for a port that several streams use: when the port frees up, the
    highest-priority request present is served first (equal priorities: the
    earliest), as the channel priorities of a DMA controller do. ``boot``
    (default: ``priority``) is the priority of the queue's first transfer: a
    queue that prefetches the next tile has slack on every transfer but its
    first, which the consumers wait for (as a descriptor's own QoS field
    overrides its channel's). Both change timing only.

    ```
    cim.global {
      cim.dma %x[0, 0] [1, 16] -> %lb cores [0, 1] : ...
    }
    cim.global queue 1 priority 2 boot 6 {
      cim.dma %lb -> %y[0, 0] [1, 8] cores [0] : ...
    }
    ```
    """

    name = "cim.global"

    queue = opt_prop_def(IntegerAttr[I64])
    """The controller queue (absent: 0)."""
    priority = opt_prop_def(IntegerAttr[I64])
    """Port arbitration priority of the queue, higher first (absent: 0)."""
    boot = opt_prop_def(IntegerAttr[I64])
    """Port arbitration priority of the queue's first transfer (absent: the
    queue's priority)."""

    def __init__(
        self,
        body: Sequence[Operation] | Block | Region = (),
        *,
        queue: int = 0,
        priority: int = 0,
        boot: int | None = None,
        node: str | None = None,
        attributes: Mapping[str, Attribute] | None = None,
    ):
        super().__init__(
            properties={
                "node": None if node is None else StringAttr(node),
                "queue": IntegerAttr(queue, i64) if queue else None,
                "priority": IntegerAttr(priority, i64) if priority else None,
                "boot": None
                if boot is None or boot == priority
                else IntegerAttr(boot, i64),
            },
            regions=[self._body(body)],
            attributes=attributes,
        )

    @property
    def queue_id(self) -> int:
        return 0 if self.queue is None else _int(self.queue)

    @property
    def priority_level(self) -> int:
        return 0 if self.priority is None else _int(self.priority)

    @property
    def boot_level(self) -> int:
        """The priority of the queue's first transfer."""
        return self.priority_level if self.boot is None else _int(self.boot)

    def verify_(self) -> None:
        self._check_parent()
        if self.queue_id < 0:
            self._fail(f"queue must be >= 0, got {self.queue_id}")
        if self.priority_level < 0:
            self._fail(f"priority must be >= 0, got {self.priority_level}")
        if self.boot_level < 0:
            self._fail(f"boot must be >= 0, got {self.boot_level}")

    def print(self, printer: Printer) -> None:
        _print_node(printer, self)
        if self.queue_id:
            printer.print_string(f" queue {self.queue_id}")
        if self.priority_level:
            printer.print_string(f" priority {self.priority_level}")
        if self.boot is not None:
            printer.print_string(f" boot {self.boot_level}")
        printer.print_op_attributes(self.attributes, print_keyword=True)
        printer.print_string(" ")
        printer.print_region(self.body, print_empty_block=False)

    @classmethod
    def parse(cls, parser: Parser) -> GlobalOp:
        props: dict[str, Attribute] = {}
        _parse_node(parser, props)
        for key in ("queue", "priority", "boot"):
            if parser.parse_optional_keyword(key) is not None:
                props[key] = IntegerAttr(
                    parser.parse_integer(allow_boolean=False, allow_negative=False),
                    i64,
                )
        attrs = parser.parse_optional_attr_dict_with_keyword()
        return cls.create(
            properties=props,
            attributes=attrs.data if attrs is not None else {},
            regions=[cls._parse_body(parser)],
        )


@irdl_op_definition
class CoreOp(StreamOp):
    """The instruction stream of one core.

    ```
    cim.core 1 {
      cim.mvm %in, %m -> %acc input_bits 8 bits_per_cycle 1 : ...
    }
    ```
    """

    name = "cim.core"

    core = prop_def(IntegerAttr[I64])
    """The core id, in ``[0, cores)``."""

    def __init__(
        self,
        core: int,
        body: Sequence[Operation] | Block | Region = (),
        *,
        node: str | None = None,
        attributes: Mapping[str, Attribute] | None = None,
    ):
        super().__init__(
            properties={
                "core": IntegerAttr(core, i64),
                "node": None if node is None else StringAttr(node),
            },
            regions=[self._body(body)],
            attributes=attributes,
        )

    @property
    def core_id(self) -> int:
        return _int(self.core)

    def verify_(self) -> None:
        self._check_parent()

    def print(self, printer: Printer) -> None:
        _print_node(printer, self)
        printer.print_string(f" {_int(self.core)}")
        printer.print_op_attributes(self.attributes, print_keyword=True)
        printer.print_string(" ")
        printer.print_region(self.body, print_empty_block=False)

    @classmethod
    def parse(cls, parser: Parser) -> CoreOp:
        props: dict[str, Attribute] = {}
        _parse_node(parser, props)
        props["core"] = IntegerAttr(parser.parse_integer(allow_boolean=False), i64)
        attrs = parser.parse_optional_attr_dict_with_keyword()
        return cls.create(
            properties=props,
            attributes=attrs.data if attrs is not None else {},
            regions=[cls._parse_body(parser)],
        )


# --------------------------------------------------------------------------- #
# Buffers
# --------------------------------------------------------------------------- #


@irdl_op_definition
class AllocOp(CimOp):
    """Allocate a buffer in an on-chip level, once or (``halves 2``) double-buffered.

    The memory space of the result type is the level. A buffer in a per-core level
    exists in every core. With ``halves 2`` the result is a ``!cim.pingpong`` of two
    such buffers (twice the capacity); the custom syntax shows the type of one half.
    Buffers in the macro level are ``rows x cols`` weight arrays.

    ```
    %lb = cim.alloc "conv1" : memref<16x16xi8, "LB">
    %ib = cim.alloc halves 2 : memref<16xi8, "IReg">    // !cim.pingpong<memref<...>>
    ```
    """

    name = "cim.alloc"

    halves = opt_prop_def(IntegerAttr[I64])
    """1 (single buffer, the default) or 2 (ping-pong)."""
    bits = opt_prop_def(IntegerAttr[I64])
    """Storage width of one element in the hardware, when it differs from the
    element type's width (e.g. ``f32`` data held as 8-bit activations)."""

    result = result_def(MemRefType | PingPongType)

    def __init__(
        self,
        type: MemRefType,
        *,
        halves: int | None = None,
        bits: int | None = None,
        node: str | None = None,
        attributes: Mapping[str, Attribute] | None = None,
    ):
        result_type: Attribute = (
            PingPongType(type) if halves is not None and halves > 1 else type
        )
        super().__init__(
            result_types=[result_type],
            properties={
                "halves": None if halves is None else IntegerAttr(halves, i64),
                "bits": None if bits is None else IntegerAttr(bits, i64),
                "node": None if node is None else StringAttr(node),
            },
            attributes=attributes,
        )

    @property
    def num_halves(self) -> int:
        return 1 if self.halves is None else _int(self.halves)

    @property
    def element_bits(self) -> int:
        """Storage bits per element: ``bits``, else the element type's width."""
        if self.bits is not None:
            return _int(self.bits)
        return _bitwidth(self.tile_type.element_type) or 0

    @property
    def tile_type(self) -> MemRefType:
        """The type of the buffer (of one half when double-buffered)."""
        t = self.result.type
        return t.tile if isinstance(t, PingPongType) else t  # pyright: ignore

    def verify_(self) -> None:
        program = self.parent_op()
        if not isinstance(program, ProgramOp):
            self._fail("cim.alloc must be directly inside a cim.program")
        halves = self.num_halves
        if halves not in (1, 2):
            self._fail(f"halves must be 1 or 2, got {halves}")
        want = "!cim.pingpong<memref<...>>" if halves == 2 else "a memref"
        if isinstance(self.result.type, PingPongType) != (halves == 2):
            self._fail(
                f"with halves {halves} the result must be {want}, got "
                f"{self.result.type}"
            )
        t = self.tile_type
        if any(d < 1 for d in t.get_shape()):
            self._fail(f"buffer shape must be static and positive, got {t}")
        if self.bits is not None and _int(self.bits) < 1:
            self._fail(f"bits must be >= 1, got {_int(self.bits)}")
        space = t.memory_space
        if not isinstance(space, StringAttr) or not is_identifier(space.data):
            self._fail(
                f"the memory space must be a level name (an identifier string), got {t}"
            )
        hier = program.hierarchy()
        if hier is None:
            return
        if space.data == hier.offchip:
            self._fail(
                f"off-chip tensors ('{hier.offchip}') are program arguments, not "
                f"allocations"
            )
        if not hier.declares(space.data):
            self._fail(
                f"memory space '{space.data}' is not an on-chip level of the program "
                f"(shared {_fmt_names(hier.shared[1:])}, per-core "
                f"{_fmt_names(hier.per_core)})"
            )
        if space.data == hier.macro and len(t.get_shape()) != 2:
            self._fail(
                f"a buffer in the macro level '{hier.macro}' is a rows x cols array, "
                f"got shape {_fmt_shape(t.get_shape())}"
            )

    def print(self, printer: Printer) -> None:
        _print_node(printer, self)
        if self.halves is not None:
            printer.print_string(f" halves {_int(self.halves)}")
        if self.bits is not None:
            printer.print_string(f" bits {_int(self.bits)}")
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        printer.print_attribute(self.tile_type)

    @classmethod
    def parse(cls, parser: Parser) -> AllocOp:
        props: dict[str, Attribute] = {}
        _parse_node(parser, props)
        halves = 1
        if parser.parse_optional_keyword("halves") is not None:
            halves = parser.parse_integer(allow_boolean=False)
            props["halves"] = IntegerAttr(halves, i64)
        if parser.parse_optional_keyword("bits") is not None:
            props["bits"] = IntegerAttr(parser.parse_integer(allow_boolean=False), i64)
        attrs = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        pos = parser.pos
        t = parser.parse_type()
        if not isinstance(t, MemRefType):
            parser.raise_error("cim.alloc: expected a memref type", pos, parser.pos)
        result: Attribute = PingPongType(t) if halves == 2 else t
        return cls.create(result_types=[result], properties=props, attributes=attrs)


@irdl_op_definition
class SelectHalfOp(CimOp):
    """One half of a ping-pong buffer: half ``index mod 2``.

    Passing the loop counter alternates the halves between iterations.

    ```
    %h = cim.select_half %ib, %i : memref<16xi8, "IReg">
    ```
    """

    name = "cim.select_half"

    buffer = operand_def(PingPongType)
    """The ping-pong buffer."""
    index = operand_def(IndexType)
    """Selects half ``index mod 2``."""
    result = result_def(MemRefType)

    traits = traits_def(Pure())

    def __init__(
        self,
        buffer: SSAValue | Operation,
        index: SSAValue | Operation,
        *,
        node: str | None = None,
    ):
        t = SSAValue.get(buffer).type
        assert isinstance(t, PingPongType)
        super().__init__(
            operands=[buffer, index],
            result_types=[t.tile],
            properties={"node": None if node is None else StringAttr(node)},
        )

    def verify_(self) -> None:
        t = self.buffer.type
        assert isinstance(t, PingPongType)
        if self.result.type != t.tile:
            self._fail(f"result type {self.result.type} must be the half type {t.tile}")

    def print(self, printer: Printer) -> None:
        _print_node(printer, self)
        printer.print_string(" ")
        printer.print_operand(self.buffer)
        printer.print_string(", ")
        printer.print_operand(self.index)
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        printer.print_attribute(self.result.type)

    @classmethod
    def parse(cls, parser: Parser) -> SelectHalfOp:
        props: dict[str, Attribute] = {}
        _parse_node(parser, props)
        buffer = parser.parse_unresolved_operand()
        parser.parse_punctuation(",")
        index = parser.parse_unresolved_operand()
        attrs = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        pos = parser.pos
        t = parser.parse_type()
        if not isinstance(t, MemRefType):
            parser.raise_error(
                "cim.select_half: expected a memref type", pos, parser.pos
            )
        return cls.create(
            operands=[
                parser.resolve_operand(buffer, PingPongType(t)),
                parser.resolve_operand(index, IndexType()),
            ],
            result_types=[t],
            properties=props,
            attributes=attrs,
        )


def _core_shifts(cores: DenseArrayBase | None, shifts: DenseArrayBase | None):
    """Per-core source offset deltas, one tuple per entry of ``cores``."""
    if shifts is None or cores is None:
        return None
    flat, n = _ints(shifts), len(_ints(cores))
    rank = len(flat) // n if n else 0
    return [flat[k * rank : (k + 1) * rank] for k in range(n)]


def windows_disjoint(
    a: Sequence[int], b: Sequence[int], sizes: Sequence[int], strides: Sequence[int]
) -> bool:
    """Whether one tile moved by the offset deltas ``a`` and by ``b`` covers
    disjoint elements: iff in some dim the difference is not a multiple of the
    stride or exceeds the tile's span (per dim the positions are ``delta + k *
    stride``; a tile is the product of its dims)."""
    return any(
        (db - da) % step or abs(db - da) > (size - 1) * step
        for da, db, size, step in zip(a, b, sizes, strides, strict=True)
    )


def _print_multicast(printer: Printer, op: DmaOp | LoadWeightsOp) -> None:
    """`` cores [..] shifts [[..], ..]`` when present."""
    if op.cores is not None:
        printer.print_string(f" cores {_fmt(_ints(op.cores))}")
    rows = op.core_shifts()
    if rows is not None:
        printer.print_string(" shifts [" + ", ".join(_fmt(r) for r in rows) + "]")


def _parse_multicast(parser: Parser, props: dict[str, Attribute]) -> None:
    if parser.parse_optional_keyword("cores") is not None:
        props["cores"] = _i64_array(_parse_int_list(parser))
    if parser.parse_optional_keyword("shifts") is not None:
        rows = parser.parse_comma_separated_list(
            parser.Delimiter.SQUARE, lambda: _parse_int_list(parser)
        )
        props["shifts"] = _i64_array([v for r in rows for v in r])


# --------------------------------------------------------------------------- #
# Data movement
# --------------------------------------------------------------------------- #


@irdl_op_definition
class DmaOp(TileOp):
    """Copy a tile from one buffer to another (any two levels, bypass included).

    Source and destination tiles have the same element type and number of elements;
    elements correspond in row-major order. With ``zero_pad``, source elements
    outside the source buffer (negative or too large indices, e.g. a conv halo)
    read as zero. In a core stream the per-core buffers are the core's own. In the
    ``cim.global`` stream a per-core buffer needs ``cores [...]``, the cores whose
    instances it addresses:

    * a per-core destination: a *multicast*, the (shared) source tile is sent to
      each listed core's instance over the distribution network; with ``shifts``
      core ``cores[k]`` receives the source tile moved by ``shifts[k]``, and the
      network reads the union of the windows once;
    * a per-core source: a *gather*, each listed core's instance of the source
      tile is written to the (shared) destination tile moved by ``shifts[k]``
      (no ``shifts``: one core, its tile goes to the destination tile as
      written). The windows must be disjoint. The cores' buffers are read in
      parallel and the shared port carries the union in one transfer, e.g. the
      per-core output tiles of one step written back to the global buffer.

    So ``shifts`` always moves the tile on the shared side, one delta per dim of
    that tile and core.

    ```
    cim.dma "conv1" %x[0, %c, 0, 0] [1, 16, 4, 4] -> %lb[0, 0] [16, 16]
        : memref<1x64x8x8xi8, "DRAM"> -> memref<16x16xi8, "LB">
    cim.dma %gb -> %ib cores [0, 1] : memref<16xi8, "GB"> -> memref<16xi8, "IReg">
    cim.dma %ob -> %gb[0, 0] [1, 8] cores [0, 1] shifts [[0, 0], [0, 8]]
        : memref<8xi8, "OBuf"> -> memref<2x16xi8, "GB">
    ```
    """

    name = "cim.dma"

    source = operand_def(MemRefType)
    """The source buffer."""
    dest = operand_def(MemRefType)
    """The destination buffer."""
    offsets = var_operand_def(IndexType)
    """Dynamic offsets of both tiles."""

    cores = opt_prop_def(DenseArrayBase[I64])
    """``cim.global`` only: the cores whose per-core instance is addressed."""
    shifts = opt_prop_def(DenseArrayBase[I64])
    """Per-core windows of the shared-side tile (flattened core-major, one offset
    delta per dim of that tile): a multicast sends core ``cores[k]`` the source
    tile moved by ``shifts[k]`` (the network reads the union of the windows
    once); a gather writes core ``cores[k]``'s source tile to the destination
    tile moved by ``shifts[k]``."""
    zero_pad = opt_prop_def(UnitAttr)
    """Source reads outside the source buffer yield zero."""

    TILE_ROLES: ClassVar[tuple[str, ...]] = ("source", "destination")

    def __init__(
        self,
        source: Tile,
        dest: Tile,
        *,
        cores: Sequence[int] | None = None,
        shifts: Sequence[Sequence[int]] | None = None,
        zero_pad: bool = False,
        node: str | None = None,
        attributes: Mapping[str, Attribute] | None = None,
    ):
        dynamic, props = _encode_tiles([source, dest])
        super().__init__(
            operands=[source.buffer, dest.buffer, dynamic],
            properties={
                **props,
                "cores": None if cores is None else _i64_array(cores),
                "shifts": (
                    None
                    if shifts is None
                    else _i64_array([v for row in shifts for v in row])
                ),
                "zero_pad": UnitAttr() if zero_pad else None,
                "node": None if node is None else StringAttr(node),
            },
            attributes=attributes,
        )

    def tile_buffers(self) -> list[SSAValue]:
        return [self.source, self.dest]

    @property
    def core_set(self) -> tuple[int, ...] | None:
        return None if self.cores is None else _ints(self.cores)

    def core_shifts(self) -> list[tuple[int, ...]] | None:
        """Per-core offset deltas of the shared-side tile (the source of a
        multicast, the destination of a gather), one tuple per entry of
        ``cores``."""
        return _core_shifts(self.cores, self.shifts)

    def verify_(self) -> None:
        stream, hier = self._in_stream()
        src, dst = self._verify_tiles(("source",) if self.zero_pad else ())
        self._check_declared([src, dst], hier)
        if _elt(self.source) != _elt(self.dest):
            self._fail(
                f"source element type {_elt(self.source)} differs from destination "
                f"element type {_elt(self.dest)}"
            )
        if src.num_elements != dst.num_elements:
            self._fail(
                f"source tile {_fmt(src.sizes)} has {src.num_elements} elements but "
                f"destination tile {_fmt(dst.sizes)} has {dst.num_elements}"
            )
        cores = self.core_set
        if isinstance(stream, CoreOp):
            if cores is not None:
                self._fail(
                    "cores [...] is only allowed in cim.global; a core addresses its "
                    "own per-core buffers"
                )
            self._verify_shifts(src, None)
            return
        if hier is None:
            return
        src_pc, dst_pc = hier.is_per_core(src.space), hier.is_per_core(dst.space)
        if src_pc and dst_pc:
            self._fail(
                "cim.global cannot copy between two per-core buffers; use "
                "cim.send/cim.recv between cores"
            )
        if not (src_pc or dst_pc):
            if cores is not None:
                self._fail("cores [...] needs a per-core source or destination")
            self._verify_shifts(src, None)
            return
        if not cores:
            self._fail(
                "a per-core buffer in cim.global needs a non-empty cores [...] set"
            )
        if any(not 0 <= c < hier.cores for c in cores) or len(set(cores)) != len(cores):
            self._fail(
                f"cores {_fmt(cores)} must be distinct core ids in [0, {hier.cores})"
            )
        if not src_pc:
            self._verify_shifts(src, "source")
            return
        if len(cores) > 1 and self.shifts is None:
            self._fail(
                f"a gather from cores {_fmt(cores)} needs shifts [...]: each core's "
                "tile goes to its own destination window"
            )
        self._verify_shifts(dst, "destination")
        self._verify_disjoint(dst)

    def _verify_shifts(self, tile: Tile, side: str | None) -> None:
        """``shifts`` of the shared-side ``tile`` (``side``: which one, ``None``
        when the op is neither a multicast nor a gather)."""
        if self.shifts is None:
            return
        if side is None or self.cores is None:
            self._fail(
                "shifts [...] needs a multicast or a gather: cim.global, cores [...] "
                "and one per-core side"
            )
        flat, n = _ints(self.shifts), len(_ints(self.cores))
        if len(flat) != n * len(tile.sizes):
            self._fail(
                f"shifts has {len(flat)} entries; expected one delta per {side} dim "
                f"({len(tile.sizes)}) for each of the {n} cores"
            )
        if side == "source" and self.zero_pad is not None:
            return
        if not all(isinstance(o, int) for o in tile.offsets):
            return
        for row in self.core_shifts() or []:
            for d, (o, sh, size, step, extent) in enumerate(
                zip(
                    tile.offsets, row, tile.sizes, tile.strides, tile.shape, strict=True
                )
            ):
                lo = o + sh  # pyright: ignore[reportOperatorIssue]
                if lo < 0 or lo + (size - 1) * step + 1 > extent:
                    self._fail(
                        f"{side} window shifted by {_fmt(row)} leaves the buffer in "
                        f"dim {d} (extent {extent})"
                    )

    def _verify_disjoint(self, dst: Tile) -> None:
        """A gather's destination windows do not overlap."""
        rows = self.core_shifts() or []
        cores = self.core_set or ()
        for a in range(len(rows)):
            for b in range(a + 1, len(rows)):
                if not windows_disjoint(rows[a], rows[b], dst.sizes, dst.strides):
                    self._fail(
                        f"the destination windows of cores {cores[a]} (shifted by "
                        f"{_fmt(rows[a])}) and {cores[b]} (shifted by "
                        f"{_fmt(rows[b])}) overlap"
                    )

    def print(self, printer: Printer) -> None:
        _print_node(printer, self)
        tiles = self._print_tiles_or_generic(printer)
        if tiles is None:
            return
        printer.print_string(" ")
        _print_tile(printer, tiles[0])
        printer.print_string(" -> ")
        _print_tile(printer, tiles[1])
        if self.zero_pad is not None:
            printer.print_string(" zero_pad")
        _print_multicast(printer, self)
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        printer.print_attribute(self.source.type)
        printer.print_string(" -> ")
        printer.print_attribute(self.dest.type)

    @classmethod
    def parse(cls, parser: Parser) -> DmaOp:
        props: dict[str, Attribute] = {}
        _parse_node(parser, props)
        raw_src = _parse_tile(parser)
        parser.parse_punctuation("->")
        raw_dst = _parse_tile(parser)
        if parser.parse_optional_keyword("zero_pad") is not None:
            props["zero_pad"] = UnitAttr()
        _parse_multicast(parser, props)
        attrs = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        src_t = parser.parse_type()
        parser.parse_punctuation("->")
        dst_t = parser.parse_type()
        src = _resolve_tile(parser, raw_src, src_t)
        dst = _resolve_tile(parser, raw_dst, dst_t)
        dynamic, tile_props = _encode_tiles([src, dst])
        return cls.create(
            operands=[src.buffer, dst.buffer, *dynamic],
            properties={**props, **tile_props},
            attributes=attrs,
        )


# --------------------------------------------------------------------------- #
# Macro
# --------------------------------------------------------------------------- #


@irdl_op_definition
class LoadWeightsOp(TileOp):
    """Memory mode: write a ``rows x cols`` weight tile into the macro.

    The source tile's elements fill ``macro[r0 : r0 + rows, c0 : c0 + cols]`` in
    row-major order: weights are expected pre-packed so that macro row ``r`` holds
    reduction index ``r`` (a flattened ``c, r, s``) and column ``j`` output channel
    ``j``. On hardware whose weight writes block compute, no MVM on this macro
    overlaps the write (the mode-switch stall of paper Fig. 2a).

    In a core stream it writes the core's own macro. In ``cim.global`` it is a
    weight broadcast over the distribution network from a shared level into the
    macros of ``cores [...]``, with ``shifts`` (as in ``cim.dma``) giving each core
    its own window of the source; the source is read once.

    ```
    cim.load_weights "conv1" %lb[0, 0] [27, 16] -> %m[0, 0] [27, 16]
        : memref<27x16xi8, "LB"> -> memref<128x32xi8, "Macro">
    cim.load_weights %gb[0, 0] [8, 4] -> %m[0, 0] [8, 4] cores [0, 1]
        shifts [[0, 0], [0, 4]] : memref<8x8xi8, "GB"> -> memref<8x4xi8, "Macro">
    ```
    """

    name = "cim.load_weights"

    source = operand_def(MemRefType)
    """Where the weights come from (any non-macro level)."""
    macro = operand_def(MemRefType)
    """A buffer in the macro level."""
    offsets = var_operand_def(IndexType)
    """Dynamic offsets of both tiles."""
    cores = opt_prop_def(DenseArrayBase[I64])
    """``cim.global`` only: the cores whose macros receive the weights."""
    shifts = opt_prop_def(DenseArrayBase[I64])
    """Per-core source windows (flattened core-major), as in ``cim.dma``."""

    TILE_ROLES: ClassVar[tuple[str, ...]] = ("source", "macro")

    def __init__(
        self,
        source: Tile,
        macro: Tile,
        *,
        cores: Sequence[int] | None = None,
        shifts: Sequence[Sequence[int]] | None = None,
        node: str | None = None,
        attributes: Mapping[str, Attribute] | None = None,
    ):
        dynamic, props = _encode_tiles([source, macro])
        super().__init__(
            operands=[source.buffer, macro.buffer, dynamic],
            properties={
                **props,
                "cores": None if cores is None else _i64_array(cores),
                "shifts": (
                    None
                    if shifts is None
                    else _i64_array([v for row in shifts for v in row])
                ),
                "node": None if node is None else StringAttr(node),
            },
            attributes=attributes,
        )

    def tile_buffers(self) -> list[SSAValue]:
        return [self.source, self.macro]

    @property
    def core_set(self) -> tuple[int, ...] | None:
        return None if self.cores is None else _ints(self.cores)

    def core_shifts(self) -> list[tuple[int, ...]] | None:
        """Per-core source offset deltas, one tuple per entry of ``cores``."""
        return _core_shifts(self.cores, self.shifts)

    def verify_(self) -> None:
        stream, hier = self._in_stream()
        src, mac = self._verify_tiles()
        self._check_declared([src, mac], hier)
        cores = self.core_set
        if isinstance(stream, CoreOp):
            if cores is not None or self.shifts is not None:
                self._fail(
                    "cores [...] and shifts [...] are only allowed in cim.global; a "
                    "core writes its own macro"
                )
        else:
            if not cores:
                self._fail("in cim.global a weight broadcast needs cores [...]")
            if hier is not None:
                if hier.is_per_core(src.space):
                    self._fail(
                        "a broadcast from cim.global reads a shared level, got "
                        f"{_space_text(src.space)}"
                    )
                if any(not 0 <= c < hier.cores for c in cores) or len(
                    set(cores)
                ) != len(cores):
                    self._fail(
                        f"cores {_fmt(cores)} must be distinct core ids in "
                        f"[0, {hier.cores})"
                    )
            if self.shifts is not None and len(_ints(self.shifts)) != len(cores) * len(
                src.sizes
            ):
                self._fail(
                    f"shifts has {len(_ints(self.shifts))} entries; expected one "
                    f"delta per source dim ({len(src.sizes)}) for each of the "
                    f"{len(cores)} cores"
                )
        if hier is not None:
            if mac.space != hier.macro:
                self._fail(
                    f"the destination must be in the macro level '{hier.macro}', got "
                    f"{_space_text(mac.space)}"
                )
            if src.space == hier.macro:
                self._fail("the source must not be in the macro level")
        if any(s != 1 for s in mac.strides):
            self._fail(
                f"the macro tile must be contiguous, got strides {_fmt(mac.strides)}"
            )
        if _elt(self.source) != _elt(self.macro):
            self._fail(
                f"source element type {_elt(self.source)} differs from the macro's "
                f"{_elt(self.macro)}"
            )
        if src.num_elements != mac.num_elements:
            self._fail(
                f"source tile {_fmt(src.sizes)} has {src.num_elements} elements but "
                f"the macro tile {_fmt(mac.sizes)} has {mac.num_elements}"
            )

    def print(self, printer: Printer) -> None:
        _print_node(printer, self)
        tiles = self._print_tiles_or_generic(printer)
        if tiles is None:
            return
        printer.print_string(" ")
        _print_tile(printer, tiles[0])
        printer.print_string(" -> ")
        _print_tile(printer, tiles[1])
        _print_multicast(printer, self)
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        printer.print_attribute(self.source.type)
        printer.print_string(" -> ")
        printer.print_attribute(self.macro.type)

    @classmethod
    def parse(cls, parser: Parser) -> LoadWeightsOp:
        props: dict[str, Attribute] = {}
        _parse_node(parser, props)
        raw_src = _parse_tile(parser)
        parser.parse_punctuation("->")
        raw_mac = _parse_tile(parser)
        _parse_multicast(parser, props)
        attrs = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        src_t = parser.parse_type()
        parser.parse_punctuation("->")
        mac_t = parser.parse_type()
        tiles = [
            _resolve_tile(parser, raw_src, src_t),
            _resolve_tile(parser, raw_mac, mac_t),
        ]
        dynamic, tile_props = _encode_tiles(tiles)
        return cls.create(
            operands=[tiles[0].buffer, tiles[1].buffer, *dynamic],
            properties={**props, **tile_props},
            attributes=attrs,
        )


@irdl_op_definition
class MvmOp(TileOp):
    """Compute mode: a bit-serial matrix-vector multiply on the macro.

    With ``rows x cols`` the macro tile's sizes, ``x`` the input vector (the
    ``rows`` elements of the input tile in row-major order: the register's address
    generator may gather a strided window, e.g. a ``C x R x S`` conv window out of
    a halo'd input tile) and ``y`` the output vector (the ``cols`` elements of the
    output tile in row-major order)::

        y[j] = (acc ? y[j] : 0) + sum_{r < rows} x[r] * macro[r0 + r, c0 + j]

    Products and sums are exact in the output (accumulator) element type. The input
    is streamed ``bits_per_cycle`` bits at a time, so one MVM takes
    ``ceil(input_bits / bits_per_cycle)`` cycles; ``input_bits`` (at most the input
    element width) is the precision the hardware processes.

    ```
    cim.mvm "conv1" %in[0] [27], %m[0, 0] [27, 16] -> %acc[0] [16] input_bits 8
        bits_per_cycle 1 acc
        : memref<128xi8, "IReg">, memref<128x32xi8, "Macro"> -> memref<32xi32, "OReg">
    ```
    """

    name = "cim.mvm"

    input = operand_def(MemRefType)
    """The input vector's buffer (an input register)."""
    weights = operand_def(MemRefType)
    """The macro."""
    output = operand_def(MemRefType)
    """The accumulator's buffer (an output register)."""
    offsets = var_operand_def(IndexType)
    """Dynamic offsets of the three tiles."""

    input_bits = prop_def(IntegerAttr[I64])
    """Input precision processed bit-serially."""
    bits_per_cycle = prop_def(IntegerAttr[I64])
    """Input bits consumed per cycle."""
    acc = opt_prop_def(UnitAttr)
    """Accumulate into the output instead of overwriting it."""
    zero_pad = opt_prop_def(UnitAttr)
    """Input positions outside the input buffer read as zero (their rows are not
    driven), e.g. the padding of a conv window held in a clamped register tile."""

    TILE_ROLES: ClassVar[tuple[str, ...]] = ("input", "weights", "output")

    def __init__(
        self,
        input: Tile,
        weights: Tile,
        output: Tile,
        *,
        input_bits: int,
        bits_per_cycle: int = 1,
        acc: bool = False,
        zero_pad: bool = False,
        node: str | None = None,
        attributes: Mapping[str, Attribute] | None = None,
    ):
        dynamic, props = _encode_tiles([input, weights, output])
        super().__init__(
            operands=[input.buffer, weights.buffer, output.buffer, dynamic],
            properties={
                **props,
                "input_bits": IntegerAttr(input_bits, i64),
                "bits_per_cycle": IntegerAttr(bits_per_cycle, i64),
                "acc": UnitAttr() if acc else None,
                "zero_pad": UnitAttr() if zero_pad else None,
                "node": None if node is None else StringAttr(node),
            },
            attributes=attributes,
        )

    def tile_buffers(self) -> list[SSAValue]:
        return [self.input, self.weights, self.output]

    @property
    def rows(self) -> int:
        """Macro rows used (the reduction length)."""
        return self.tiles()[1].sizes[0]

    @property
    def cols(self) -> int:
        """Macro columns used (the number of outputs)."""
        return self.tiles()[1].sizes[1]

    @property
    def cycles(self) -> int:
        """Bit-serial cycles of one MVM."""
        return -(-_int(self.input_bits) // _int(self.bits_per_cycle))

    def verify_(self) -> None:
        _, hier = self._in_core()
        x, w, y = self._verify_tiles(("input",) if self.zero_pad else ())
        self._check_declared([x, w, y], hier)
        if hier is not None:
            if w.space != hier.macro:
                self._fail(
                    f"weights must be in the macro level '{hier.macro}', got "
                    f"{_space_text(w.space)}"
                )
            for role, t in (("input", x), ("output", y)):
                if not hier.is_per_core(t.space) or t.space == hier.macro:
                    self._fail(
                        f"{role} must be in a per-core level other than the macro, "
                        f"got {_space_text(t.space)}"
                    )
        rows, cols = w.sizes
        if any(s != 1 for s in w.strides):
            self._fail("the macro tile must be contiguous (all strides 1)")
        for role, t, n in (("input", x, rows), ("output", y, cols)):
            if t.num_elements != n:
                self._fail(
                    f"{role} tile {_fmt(t.sizes)} has {t.num_elements} elements but "
                    f"a {rows} x {cols} macro tile needs {n}"
                )
        bits, per_cycle = _int(self.input_bits), _int(self.bits_per_cycle)
        xt, wt, yt = _elt(self.input), _elt(self.weights), _elt(self.output)
        width = _bitwidth(xt)
        if width is None or not 1 <= bits <= width:
            self._fail(
                f"input_bits must be in [1, {width}] (the input element width), "
                f"got {bits}"
            )
        if not 1 <= per_cycle <= bits:
            self._fail(f"bits_per_cycle must be in [1, {bits}], got {per_cycle}")
        ints = [isinstance(t, IntegerType) for t in (xt, wt, yt)]
        floats = [isinstance(t, AnyFloat) for t in (xt, wt, yt)]
        wx, ww, wy = (_bitwidth(t) or 0 for t in (xt, wt, yt))
        if not (all(ints) or all(floats)):
            self._fail(
                f"input, weights and output must be all integers or all floats, got "
                f"{xt}, {wt}, {yt}"
            )
        if wy < max(wx, ww):
            self._fail(
                f"the output (accumulator) type {yt} is narrower than the inputs "
                f"({xt}, {wt})"
            )

    def print(self, printer: Printer) -> None:
        _print_node(printer, self)
        tiles = self._print_tiles_or_generic(printer)
        if tiles is None:
            return
        printer.print_string(" ")
        _print_tile(printer, tiles[0])
        printer.print_string(", ")
        _print_tile(printer, tiles[1])
        printer.print_string(" -> ")
        _print_tile(printer, tiles[2])
        printer.print_string(
            f" input_bits {_int(self.input_bits)} "
            f"bits_per_cycle {_int(self.bits_per_cycle)}"
        )
        if self.acc is not None:
            printer.print_string(" acc")
        if self.zero_pad is not None:
            printer.print_string(" zero_pad")
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        printer.print_list(
            [self.input.type, self.weights.type], printer.print_attribute
        )
        printer.print_string(" -> ")
        printer.print_attribute(self.output.type)

    @classmethod
    def parse(cls, parser: Parser) -> MvmOp:
        props: dict[str, Attribute] = {}
        _parse_node(parser, props)
        raw_x = _parse_tile(parser)
        parser.parse_punctuation(",")
        raw_w = _parse_tile(parser)
        parser.parse_punctuation("->")
        raw_y = _parse_tile(parser)
        parser.parse_keyword("input_bits")
        props["input_bits"] = IntegerAttr(
            parser.parse_integer(allow_boolean=False), i64
        )
        parser.parse_keyword("bits_per_cycle")
        props["bits_per_cycle"] = IntegerAttr(
            parser.parse_integer(allow_boolean=False), i64
        )
        if parser.parse_optional_keyword("acc") is not None:
            props["acc"] = UnitAttr()
        if parser.parse_optional_keyword("zero_pad") is not None:
            props["zero_pad"] = UnitAttr()
        attrs = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        xt, wt = _parse_types(parser, 2, "cim.mvm input and weights")
        parser.parse_punctuation("->")
        yt = parser.parse_type()
        tiles = [
            _resolve_tile(parser, raw_x, xt),
            _resolve_tile(parser, raw_w, wt),
            _resolve_tile(parser, raw_y, yt),
        ]
        dynamic, tile_props = _encode_tiles(tiles)
        return cls.create(
            operands=[*(t.buffer for t in tiles), *dynamic],
            properties={**props, **tile_props},
            attributes=attrs,
        )


# --------------------------------------------------------------------------- #
# SIMD unit
# --------------------------------------------------------------------------- #


class SimdOp(TileOp, ABC):
    """Common base of the SIMD instructions: input tiles, one output tile.

    In a core stream the tiles are in the core's per-core levels (not the macro); in
    ``cim.global`` they are in shared on-chip levels (the shared SIMD unit next to
    the global buffer). The output may alias an input (in-place update).
    """

    inputs = var_operand_def(MemRefType)
    """The input buffers."""
    output = operand_def(MemRefType)
    """The output buffer."""
    offsets = var_operand_def(IndexType)
    """Dynamic offsets of all tiles."""

    irdl_options = (AttrSizedOperandSegments(as_property=True),)

    ARITY: ClassVar[tuple[int, ...]] = (1,)
    """Allowed numbers of inputs."""

    def tile_buffers(self) -> list[SSAValue]:
        return [*self.inputs, self.output]

    def tile_roles(self) -> list[str]:
        return [*(f"input {i}" for i in range(len(self.inputs))), "output"]

    @classmethod
    def _make(
        cls,
        inputs: Sequence[Tile],
        output: Tile,
        props: Mapping[str, Attribute | None],
        node: str | None,
    ) -> tuple[list[object], dict[str, Attribute | None]]:
        dynamic, tile_props = _encode_tiles([*inputs, output])
        return (
            [[t.buffer for t in inputs], output.buffer, dynamic],
            {
                **tile_props,
                **props,
                "node": None if node is None else StringAttr(node),
            },
        )

    def _verify_simd(self) -> tuple[list[Tile], Tile]:
        """Placement, tiles and arity; returns the input tiles and the output tile."""
        stream, hier = self._in_stream()
        tiles = self._verify_tiles()
        self._check_declared(tiles, hier)
        roles = self.tile_roles()
        if hier is not None:
            for role, t in zip(roles, tiles, strict=True):
                if isinstance(stream, CoreOp):
                    ok = hier.is_per_core(t.space) and t.space != hier.macro
                    where = "a per-core level other than the macro"
                else:
                    ok = hier.is_shared_on_chip(t.space)
                    where = "a shared on-chip level (cim.global)"
                if not ok:
                    self._fail(f"{role} must be in {where}, got {_space_text(t.space)}")
        if len(self.inputs) not in self.ARITY:
            self._fail(
                f"takes {' or '.join(str(a) for a in self.ARITY)} input(s), got "
                f"{len(self.inputs)}"
            )
        if any(s != 1 for s in tiles[-1].strides):
            self._fail("the output tile must be contiguous (all strides 1)")
        return tiles[:-1], tiles[-1]

    def _check_same_elt(self, count: int | None = None) -> None:
        out = _elt(self.output)
        for i, v in enumerate(list(self.inputs)[:count]):
            if _elt(v) != out:
                self._fail(
                    f"input {i} element type {_elt(v)} differs from the output "
                    f"element type {out}"
                )

    def _print_ins_outs(self, printer: Printer, tiles: Sequence[Tile]) -> None:
        printer.print_string(" ins(")
        printer.print_list(tiles[:-1], lambda t: _print_tile(printer, t))
        printer.print_string(") outs(")
        _print_tile(printer, tiles[-1])
        printer.print_string(")")
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        if len(self.inputs):
            printer.print_list([v.type for v in self.inputs], printer.print_attribute)
            printer.print_string(" ")
        printer.print_string("-> ")
        printer.print_attribute(self.output.type)

    @classmethod
    def _parse_ins_outs(cls, parser: Parser, props: dict[str, Attribute]) -> SimdOp:
        parser.parse_keyword("ins")
        raw_ins = parser.parse_comma_separated_list(
            parser.Delimiter.PAREN, lambda: _parse_tile(parser)
        )
        parser.parse_keyword("outs")
        parser.parse_punctuation("(")
        raw_out = _parse_tile(parser)
        parser.parse_punctuation(")")
        attrs = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        in_types: list[Attribute] = []
        if parser.parse_optional_punctuation("->") is None:
            in_types = _parse_types(parser, len(raw_ins), f"{cls.name} inputs")
            parser.parse_punctuation("->")
        elif raw_ins:
            parser.raise_error(f"{cls.name}: expected {len(raw_ins)} input type(s)")
        out_t = parser.parse_type()
        ins = [
            _resolve_tile(parser, r, t) for r, t in zip(raw_ins, in_types, strict=True)
        ]
        out = _resolve_tile(parser, raw_out, out_t)
        dynamic, tile_props = _encode_tiles([*ins, out])
        return cls.build(
            operands=[[t.buffer for t in ins], out.buffer, dynamic],
            properties={**props, **tile_props},
            attributes=attrs,
        )


@irdl_op_definition
class SimdElementwiseOp(SimdOp):
    """An elementwise function on the SIMD unit, with broadcasting.

    ``out[idx] = fn(in0[idx'], in1[idx'])``: each input tile broadcasts (numpy rules,
    right-aligned) to the output tile's sizes. The functions and their numerics are
    those of ``nest.elementwise`` (unary ``relu``, ``clip(min, max)``, ``sigmoid``,
    ``tanh``, ``erf``, ``exp``, ``sqrt``, ``neg``, ``abs``, ``reciprocal``,
    ``gelu(none|tanh)``; binary ``add``, ``sub``, ``mul``, ``div``, ``pow``, ``max``,
    ``min``), plus ``fill(value)`` without inputs. Partial-sum accumulation, across C
    tiles or across cores, is ``add`` with the output aliasing input 0.

    ```
    cim.simd "relu1" relu ins(%acc) outs(%acc) : memref<32xi32, "OReg"> -> memref<32xi32, "OReg">
    cim.simd add ins(%lb[0, 0] [1, 16], %acc[0] [16]) outs(%lb[0, 0] [1, 16]) : ...
    cim.simd fill(0.0) ins() outs(%lb) : -> memref<1x16xf32, "LB">
    ```
    """

    name = "cim.simd"

    fn = prop_def(StringAttr)
    """The function."""
    min = opt_prop_def(FloatAttr)
    """``clip`` lower bound (absent: none)."""
    max = opt_prop_def(FloatAttr)
    """``clip`` upper bound (absent: none)."""
    approximate = opt_prop_def(StringAttr)
    """``gelu``: ``none`` or ``tanh``."""
    value = opt_prop_def(FloatAttr)
    """``fill``: the value (converted to the output element type)."""

    ARITY: ClassVar[tuple[int, ...]] = (0, 1, 2)

    def __init__(
        self,
        fn: str,
        inputs: Sequence[Tile],
        output: Tile,
        *,
        min: float | None = None,
        max: float | None = None,
        approximate: str | None = None,
        value: float | None = None,
        node: str | None = None,
        attributes: Mapping[str, Attribute] | None = None,
    ):
        operands, props = self._make(
            inputs,
            output,
            {
                "fn": StringAttr(fn),
                "min": None if min is None else _f64(min),
                "max": None if max is None else _f64(max),
                "approximate": None if approximate is None else StringAttr(approximate),
                "value": None if value is None else _f64(value),
            },
            node,
        )
        super().__init__(
            operands=operands,  # pyright: ignore[reportArgumentType]
            properties=props,
            attributes=attributes,
        )

    def verify_(self) -> None:
        ins, out = self._verify_simd()
        fn = self.fn.data
        if fn not in ELEMENTWISE_FNS:
            self._fail(
                f"unknown SIMD function '{fn}', expected one of "
                f"{', '.join(ELEMENTWISE_FNS)}"
            )
        arity = 0 if fn == "fill" else 1 if fn in UNARY_FNS else 2
        if len(ins) != arity:
            self._fail(f"'{fn}' takes {arity} input(s), got {len(ins)}")
        self._check_same_elt(1 if fn == "pow" else None)
        for i, t in enumerate(ins):
            if not broadcastable(t.sizes, out.sizes):
                self._fail(
                    f"input {i} tile {_fmt(t.sizes)} does not broadcast to the output "
                    f"tile {_fmt(out.sizes)}"
                )
        if fn != "clip" and (self.min is not None or self.max is not None):
            self._fail(f"min/max are only allowed on 'clip', not on '{fn}'")
        if self.approximate is not None and fn != "gelu":
            self._fail(f"'approximate' is only allowed on 'gelu', not on '{fn}'")
        if self.approximate is not None and (
            self.approximate.data not in GELU_APPROXIMATIONS
        ):
            self._fail(
                f"gelu approximate must be none or tanh, got '{self.approximate.data}'"
            )
        if (self.value is not None) != (fn == "fill"):
            self._fail("'fill' and only 'fill' takes a value")

    def print(self, printer: Printer) -> None:
        _print_node(printer, self)
        tiles = self._print_tiles_or_generic(printer)
        if tiles is None:
            return
        fn = self.fn.data
        printer.print_string(f" {fn}")
        if fn == "clip":
            bounds = [
                f"{k} = {_fmt_float(a.value.data)}"
                for k, a in (("min", self.min), ("max", self.max))
                if a is not None
            ]
            printer.print_string(f"({', '.join(bounds)})")
        elif self.approximate is not None:
            printer.print_string(f"({self.approximate.data})")
        elif self.value is not None:
            printer.print_string(f"({_fmt_float(self.value.value.data)})")
        self._print_ins_outs(printer, tiles)

    @classmethod
    def parse(cls, parser: Parser) -> SimdOp:
        props: dict[str, Attribute] = {}
        _parse_node(parser, props)
        fn = parser.parse_identifier("SIMD function")
        props["fn"] = StringAttr(fn)
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
            elif fn == "fill":
                props["value"] = _f64(float(parser.parse_number()))
                parser.parse_punctuation(")")
            else:
                props["approximate"] = StringAttr(
                    parser.parse_identifier("gelu approximation")
                )
                parser.parse_punctuation(")")
        return cls._parse_ins_outs(parser, props)


@irdl_op_definition
class PoolOp(SimdOp):
    """Max or average pooling over the last two dims of a tile.

    The numerics are those of ``nest.pool`` (padding never wins a max; an average
    divides by the in-bounds count unless ``count_include_pad``); the leading dims of
    input and output tiles are equal and the output's last two sizes follow from the
    window (floor mode).

    ```
    cim.pool "pool1" max kernel [2, 2] stride [2, 2] ins(%lb) outs(%lb2)
        : memref<16x8x8xi8, "LB"> -> memref<16x4x4xi8, "LB">
    ```
    """

    name = "cim.pool"

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
    count_include_pad = opt_prop_def(UnitAttr)
    """``avg`` only: divide by ``kh * kw``."""

    def __init__(
        self,
        kind: str,
        input: Tile,
        output: Tile,
        *,
        kernel: Sequence[int],
        stride: Sequence[int] = (1, 1),
        dilation: Sequence[int] = (1, 1),
        pad: Sequence[int] = (0, 0, 0, 0),
        count_include_pad: bool = False,
        node: str | None = None,
        attributes: Mapping[str, Attribute] | None = None,
    ):
        operands, props = self._make(
            [input],
            output,
            {
                "kind": StringAttr(kind),
                "kernel": _i64_array(kernel),
                "stride": _i64_array(stride),
                "dilation": _i64_array(dilation),
                "pad": _i64_array(pad),
                "count_include_pad": UnitAttr() if count_include_pad else None,
            },
            node,
        )
        super().__init__(
            operands=operands,  # pyright: ignore[reportArgumentType]
            properties=props,
            attributes=attributes,
        )

    def verify_(self) -> None:
        (x,), y = self._verify_simd()
        if self.kind.data not in POOL_KINDS:
            self._fail(f"unknown pool kind '{self.kind.data}', expected max or avg")
        for what, values, count, low in (
            ("kernel", _ints(self.kernel), 2, 1),
            ("stride", _ints(self.stride), 2, 1),
            ("dilation", _ints(self.dilation), 2, 1),
            ("pad", _ints(self.pad), 4, 0),
        ):
            if len(values) != count or any(v < low for v in values):
                self._fail(f"{what} needs {count} values >= {low}, got {_fmt(values)}")
        if self.count_include_pad is not None and self.kind.data != "avg":
            self._fail("count_include_pad is only allowed on avg pools")
        self._check_same_elt()
        if len(x.sizes) < 2 or len(x.sizes) != len(y.sizes):
            self._fail(
                f"input and output tiles need the same rank >= 2, got {_fmt(x.sizes)} "
                f"and {_fmt(y.sizes)}"
            )
        kernel, stride = _ints(self.kernel), _ints(self.stride)
        dilation, pad = _ints(self.dilation), _ints(self.pad)
        expect = (
            *x.sizes[:-2],
            *(
                pool_output_size(
                    x.sizes[-2 + a],
                    kernel[a],
                    stride[a],
                    dilation[a],
                    pad[a],
                    pad[a + 2],
                )
                for a in range(2)
            ),
        )
        if y.sizes != expect:
            self._fail(
                f"output tile {_fmt(y.sizes)} does not match pooling the input tile "
                f"{_fmt(x.sizes)}: expected {_fmt(expect)}"
            )

    def print(self, printer: Printer) -> None:
        _print_node(printer, self)
        tiles = self._print_tiles_or_generic(printer)
        if tiles is None:
            return
        printer.print_string(f" {self.kind.data}")
        printer.print_string(f" kernel {_fmt(_ints(self.kernel))}")
        printer.print_string(f" stride {_fmt(_ints(self.stride))}")
        if any(d != 1 for d in _ints(self.dilation)):
            printer.print_string(f" dilation {_fmt(_ints(self.dilation))}")
        if any(_ints(self.pad)):
            printer.print_string(f" pad {_fmt(_ints(self.pad))}")
        if self.count_include_pad is not None:
            printer.print_string(" count_include_pad")
        self._print_ins_outs(printer, tiles)

    @classmethod
    def parse(cls, parser: Parser) -> SimdOp:
        props: dict[str, Attribute] = {}
        _parse_node(parser, props)
        props["kind"] = StringAttr(parser.parse_identifier("pool kind"))
        parser.parse_keyword("kernel")
        props["kernel"] = _i64_array(_parse_int_list(parser))
        parser.parse_keyword("stride")
        props["stride"] = _i64_array(_parse_int_list(parser))
        props["dilation"] = _i64_array((1, 1))
        props["pad"] = _i64_array((0, 0, 0, 0))
        if parser.parse_optional_keyword("dilation") is not None:
            props["dilation"] = _i64_array(_parse_int_list(parser))
        if parser.parse_optional_keyword("pad") is not None:
            props["pad"] = _i64_array(_parse_int_list(parser))
        if parser.parse_optional_keyword("count_include_pad") is not None:
            props["count_include_pad"] = UnitAttr()
        return cls._parse_ins_outs(parser, props)


@irdl_op_definition
class ReduceOp(SimdOp):
    """Reduce (``sum``, ``mean`` or ``max``) a tile over some of its dims.

    The output tile has the input tile's sizes with the reduced dims set to 1.

    ```
    cim.reduce "gap" mean axes [1, 2] ins(%lb) outs(%v)
        : memref<16x4x4xf32, "LB"> -> memref<16x1x1xf32, "LB">
    ```
    """

    name = "cim.reduce"

    kind = prop_def(StringAttr)
    """``sum``, ``mean`` or ``max``."""
    axes = prop_def(DenseArrayBase[I64])
    """The reduced dims of the tile: increasing, unique, not empty."""

    def __init__(
        self,
        kind: str,
        input: Tile,
        output: Tile,
        *,
        axes: Sequence[int],
        node: str | None = None,
        attributes: Mapping[str, Attribute] | None = None,
    ):
        operands, props = self._make(
            [input],
            output,
            {"kind": StringAttr(kind), "axes": _i64_array(axes)},
            node,
        )
        super().__init__(
            operands=operands,  # pyright: ignore[reportArgumentType]
            properties=props,
            attributes=attributes,
        )

    def verify_(self) -> None:
        (x,), y = self._verify_simd()
        if self.kind.data not in REDUCE_KINDS:
            self._fail(
                f"unknown reduction '{self.kind.data}', expected one of "
                f"{', '.join(REDUCE_KINDS)}"
            )
        self._check_same_elt()
        axes = _ints(self.axes)
        rank = len(x.sizes)
        if (
            not axes
            or list(axes) != sorted(set(axes))
            or not all(0 <= a < rank for a in axes)
        ):
            self._fail(
                f"axes {_fmt(axes)} must be non-empty, increasing and in [0, {rank})"
            )
        expect = tuple(1 if i in axes else s for i, s in enumerate(x.sizes))
        if y.sizes != expect:
            self._fail(
                f"output tile {_fmt(y.sizes)} must be the input tile {_fmt(x.sizes)} "
                f"reduced over axes {_fmt(axes)}: {_fmt(expect)}"
            )

    def print(self, printer: Printer) -> None:
        _print_node(printer, self)
        tiles = self._print_tiles_or_generic(printer)
        if tiles is None:
            return
        printer.print_string(f" {self.kind.data} axes {_fmt(_ints(self.axes))}")
        self._print_ins_outs(printer, tiles)

    @classmethod
    def parse(cls, parser: Parser) -> SimdOp:
        props: dict[str, Attribute] = {}
        _parse_node(parser, props)
        props["kind"] = StringAttr(parser.parse_identifier("reduction kind"))
        parser.parse_keyword("axes")
        props["axes"] = _i64_array(_parse_int_list(parser))
        return cls._parse_ins_outs(parser, props)


@irdl_op_definition
class SoftmaxOp(SimdOp):
    """Softmax of a tile along one dim (numerics of ``nest.softmax``).

    ```
    cim.softmax "sm" axis 1 ins(%s) outs(%s) : memref<8x8xf32, "LB"> -> memref<8x8xf32, "LB">
    ```
    """

    name = "cim.softmax"

    axis = prop_def(IntegerAttr[I64])
    """The tile dim normalised over."""

    def __init__(
        self,
        input: Tile,
        output: Tile,
        *,
        axis: int,
        node: str | None = None,
        attributes: Mapping[str, Attribute] | None = None,
    ):
        operands, props = self._make(
            [input], output, {"axis": IntegerAttr(axis, i64)}, node
        )
        super().__init__(
            operands=operands,  # pyright: ignore[reportArgumentType]
            properties=props,
            attributes=attributes,
        )

    def verify_(self) -> None:
        (x,), y = self._verify_simd()
        self._check_same_elt()
        if not isinstance(_elt(self.output), AnyFloat):
            self._fail(f"softmax needs float data, got {_elt(self.output)}")
        axis = _int(self.axis)
        if not 0 <= axis < len(x.sizes):
            self._fail(f"axis {axis} is out of range for a rank-{len(x.sizes)} tile")
        if x.sizes != y.sizes:
            self._fail(
                f"input tile {_fmt(x.sizes)} and output tile {_fmt(y.sizes)} differ"
            )

    def print(self, printer: Printer) -> None:
        _print_node(printer, self)
        tiles = self._print_tiles_or_generic(printer)
        if tiles is None:
            return
        printer.print_string(f" axis {_int(self.axis)}")
        self._print_ins_outs(printer, tiles)

    @classmethod
    def parse(cls, parser: Parser) -> SimdOp:
        props: dict[str, Attribute] = {}
        _parse_node(parser, props)
        parser.parse_keyword("axis")
        props["axis"] = IntegerAttr(parser.parse_integer(allow_boolean=False), i64)
        return cls._parse_ins_outs(parser, props)


@irdl_op_definition
class LayerNormOp(SimdOp):
    """Layer normalisation of a tile over its dims from ``axis`` on.

    ``out = (x - mean) / sqrt(var + epsilon) * scale (+ bias)`` with the statistics
    over dims ``axis ..``; scale and bias tiles broadcast to the input tile (numerics
    of ``nest.layernorm``).

    ```
    cim.layernorm "ln" axis 1 epsilon 1.0e-05 ins(%x, %g, %b) outs(%y)
        : memref<8x32xf32, "LB">, memref<32xf32, "LB">, memref<32xf32, "LB">
        -> memref<8x32xf32, "LB">
    ```
    """

    name = "cim.layernorm"

    axis = prop_def(IntegerAttr[I64])
    """First normalised dim of the tile."""
    epsilon = prop_def(FloatAttr)
    """Added to the variance."""

    ARITY: ClassVar[tuple[int, ...]] = (2, 3)

    def __init__(
        self,
        inputs: Sequence[Tile],
        output: Tile,
        *,
        axis: int,
        epsilon: float,
        node: str | None = None,
        attributes: Mapping[str, Attribute] | None = None,
    ):
        operands, props = self._make(
            inputs,
            output,
            {"axis": IntegerAttr(axis, i64), "epsilon": _f64(epsilon)},
            node,
        )
        super().__init__(
            operands=operands,  # pyright: ignore[reportArgumentType]
            properties=props,
            attributes=attributes,
        )

    def verify_(self) -> None:
        ins, y = self._verify_simd()
        self._check_same_elt()
        if not isinstance(_elt(self.output), AnyFloat):
            self._fail(f"layernorm needs float data, got {_elt(self.output)}")
        x = ins[0]
        axis = _int(self.axis)
        if not 0 <= axis < len(x.sizes):
            self._fail(f"axis {axis} is out of range for a rank-{len(x.sizes)} tile")
        if self.epsilon.value.data <= 0:
            self._fail(f"epsilon must be > 0, got {self.epsilon.value.data}")
        if x.sizes != y.sizes:
            self._fail(
                f"input tile {_fmt(x.sizes)} and output tile {_fmt(y.sizes)} differ"
            )
        for i, t in enumerate(ins[1:], start=1):
            if not broadcastable(t.sizes, x.sizes[axis:]):
                self._fail(
                    f"input {i} tile {_fmt(t.sizes)} does not broadcast to the "
                    f"normalised sizes {_fmt(x.sizes[axis:])}"
                )

    def print(self, printer: Printer) -> None:
        _print_node(printer, self)
        tiles = self._print_tiles_or_generic(printer)
        if tiles is None:
            return
        printer.print_string(
            f" axis {_int(self.axis)} epsilon {_fmt_float(self.epsilon.value.data)}"
        )
        self._print_ins_outs(printer, tiles)

    @classmethod
    def parse(cls, parser: Parser) -> SimdOp:
        props: dict[str, Attribute] = {}
        _parse_node(parser, props)
        parser.parse_keyword("axis")
        props["axis"] = IntegerAttr(parser.parse_integer(allow_boolean=False), i64)
        parser.parse_keyword("epsilon")
        props["epsilon"] = _f64(float(parser.parse_number()))
        return cls._parse_ins_outs(parser, props)


@irdl_op_definition
class RequantOp(SimdOp):
    """Requantise to an integer type.

    ``out = saturate(round_half_even(x * scale [* s]) + zero_point)`` into the output
    integer type's range, where ``x`` and the optional second input ``s``, a float
    tile of per-channel scales, broadcast to the output tile (ONNX QuantizeLinear
    rounding).

    ```
    cim.requant "conv1" scale 0.0125 zero_point 0 ins(%acc) outs(%q)
        : memref<32xi32, "OReg"> -> memref<32xi8, "LB">
    ```
    """

    name = "cim.requant"

    scale = prop_def(FloatAttr)
    """The (per-tensor) multiplier."""
    zero_point = prop_def(IntegerAttr[I64])
    """Added after rounding; in the output type's range."""

    ARITY: ClassVar[tuple[int, ...]] = (1, 2)

    def __init__(
        self,
        inputs: Sequence[Tile],
        output: Tile,
        *,
        scale: float,
        zero_point: int = 0,
        node: str | None = None,
        attributes: Mapping[str, Attribute] | None = None,
    ):
        operands, props = self._make(
            inputs,
            output,
            {"scale": _f64(scale), "zero_point": IntegerAttr(zero_point, i64)},
            node,
        )
        super().__init__(
            operands=operands,  # pyright: ignore[reportArgumentType]
            properties=props,
            attributes=attributes,
        )

    def verify_(self) -> None:
        ins, y = self._verify_simd()
        ot = _elt(self.output)
        if not isinstance(ot, IntegerType):
            self._fail(f"the output must be an integer type, got {ot}")
        xt = _elt(self.inputs[0])
        if not isinstance(xt, IntegerType | AnyFloat):
            self._fail(f"input 0 must be integer or float, got {xt}")
        if self.scale.value.data <= 0:
            self._fail(f"scale must be > 0, got {self.scale.value.data}")
        lo, hi = _int_range(ot)
        zp = _int(self.zero_point)
        if not lo <= zp <= hi:
            self._fail(f"zero_point {zp} is outside the range [{lo}, {hi}] of {ot}")
        if not broadcastable(ins[0].sizes, y.sizes):
            self._fail(
                f"input tile {_fmt(ins[0].sizes)} does not broadcast to the output "
                f"tile {_fmt(y.sizes)}"
            )
        if len(ins) == 2:
            st = _elt(self.inputs[1])
            if not isinstance(st, AnyFloat):
                self._fail(f"per-channel scales must be floats, got {st}")
            if not broadcastable(ins[1].sizes, y.sizes):
                self._fail(
                    f"scale tile {_fmt(ins[1].sizes)} does not broadcast to "
                    f"{_fmt(y.sizes)}"
                )

    def print(self, printer: Printer) -> None:
        _print_node(printer, self)
        tiles = self._print_tiles_or_generic(printer)
        if tiles is None:
            return
        printer.print_string(
            f" scale {_fmt_float(self.scale.value.data)} "
            f"zero_point {_int(self.zero_point)}"
        )
        self._print_ins_outs(printer, tiles)

    @classmethod
    def parse(cls, parser: Parser) -> SimdOp:
        props: dict[str, Attribute] = {}
        _parse_node(parser, props)
        parser.parse_keyword("scale")
        props["scale"] = _f64(float(parser.parse_number()))
        parser.parse_keyword("zero_point")
        props["zero_point"] = IntegerAttr(
            parser.parse_integer(allow_boolean=False), i64
        )
        return cls._parse_ins_outs(parser, props)


# --------------------------------------------------------------------------- #
# Synchronisation
# --------------------------------------------------------------------------- #


class _MessageOp(TileOp, ABC):
    """``cim.send``/``cim.recv``: one tile of a per-core buffer, a peer core, a tag."""

    buffer = operand_def(MemRefType)
    """The per-core buffer."""
    offsets = var_operand_def(IndexType)
    """Dynamic offsets of the tile."""

    peer = prop_def(IntegerAttr[I64])
    """The other core."""
    tag = prop_def(IntegerAttr[I64])
    """Distinguishes message streams between the same two cores."""

    KEYWORD: ClassVar[str] = ""
    TILE_ROLES: ClassVar[tuple[str, ...]] = ("tile",)

    def __init__(
        self,
        tile: Tile,
        peer: int,
        *,
        tag: int = 0,
        node: str | None = None,
        attributes: Mapping[str, Attribute] | None = None,
    ):
        dynamic, props = _encode_tiles([tile])
        super().__init__(
            operands=[tile.buffer, dynamic],
            properties={
                **props,
                "peer": IntegerAttr(peer, i64),
                "tag": IntegerAttr(tag, i64),
                "node": None if node is None else StringAttr(node),
            },
            attributes=attributes,
        )

    def tile_buffers(self) -> list[SSAValue]:
        return [self.buffer]

    def verify_(self) -> None:
        core, hier = self._in_core()
        (tile,) = self._verify_tiles()
        self._check_declared([tile], hier)
        peer = _int(self.peer)
        if hier is not None:
            if not 0 <= peer < hier.cores or peer == core.core_id:
                self._fail(
                    f"peer {peer} must be another core in [0, {hier.cores}) (this is "
                    f"core {core.core_id})"
                )
            if not hier.is_per_core(tile.space) or tile.space == hier.macro:
                self._fail(
                    f"the tile must be in a per-core level other than the macro, got "
                    f"{_space_text(tile.space)}"
                )
        if _int(self.tag) < 0:
            self._fail(f"tag must be >= 0, got {_int(self.tag)}")

    def print(self, printer: Printer) -> None:
        _print_node(printer, self)
        tiles = self._print_tiles_or_generic(printer)
        if tiles is None:
            return
        printer.print_string(" ")
        _print_tile(printer, tiles[0])
        printer.print_string(f" {self.KEYWORD} {_int(self.peer)} tag {_int(self.tag)}")
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        printer.print_attribute(self.buffer.type)

    @classmethod
    def parse(cls, parser: Parser):
        props: dict[str, Attribute] = {}
        _parse_node(parser, props)
        raw = _parse_tile(parser)
        parser.parse_keyword(cls.KEYWORD)
        props["peer"] = IntegerAttr(parser.parse_integer(allow_boolean=False), i64)
        parser.parse_keyword("tag")
        props["tag"] = IntegerAttr(parser.parse_integer(allow_boolean=False), i64)
        attrs = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        tile = _resolve_tile(parser, raw, parser.parse_type())
        dynamic, tile_props = _encode_tiles([tile])
        return cls.create(
            operands=[tile.buffer, *dynamic],
            properties={**props, **tile_props},
            attributes=attrs,
        )


@irdl_op_definition
class SendOp(_MessageOp):
    """Send a tile to another core; pairs with a ``cim.recv`` there (same tag).

    Messages between two cores with one tag are delivered in order; a send never
    blocks (the network buffers it), a receive waits for its message. The
    program verifier checks that a matching receive of the same size and type
    exists; every message must be received before the program ends.

    ```
    cim.send "conv1" %acc[0] [16] to 1 tag 0 : memref<32xi32, "OReg">
    ```
    """

    name = "cim.send"
    KEYWORD: ClassVar[str] = "to"


@irdl_op_definition
class RecvOp(_MessageOp):
    """Receive a tile from another core into a per-core buffer (see ``cim.send``).

    ```
    cim.recv "conv1" %lb[0, 0] [1, 16] from 0 tag 0 : memref<2x16xi32, "LB">
    ```
    """

    name = "cim.recv"
    KEYWORD: ClassVar[str] = "from"


@irdl_op_definition
class BarrierOp(CimOp):
    """Wait until every stream that contains a barrier with this id reaches it.

    The ``k``-th arrival of one stream matches the ``k``-th arrival of the others.

    The optional ``on`` list names the buffers the barrier *protects*: the
    program arguments or ``cim.alloc`` results (both halves of a ping-pong
    buffer) whose hand-over between the participating streams it orders. Without
    it the barrier orders everything: functionally the two are the same (every
    stream executes in program order and waits at the barrier), but a timing model
    may let a stream run on past a barrier with buffers up to its first access of
    one of them (see ``miredo.sim.timing``): a core computes the next tile while
    the controller still writes the last one back. Every buffer that the
    participants hand over (one writes, another accesses it) must be named.

    ```
    cim.barrier "conv1" 0
    cim.barrier "conv1" 3 on %lb_o : !cim.pingpong<memref<16xi8, "LB">>
    ```
    """

    name = "cim.barrier"

    buffers = var_operand_def(MemRefType | PingPongType)
    """The protected buffers (empty: the barrier orders every instruction)."""

    id = prop_def(IntegerAttr[I64])
    """The barrier id; its participants are the streams that contain it."""

    def __init__(
        self,
        id: int,
        buffers: Sequence[SSAValue | Operation] = (),
        *,
        node: str | None = None,
    ):
        super().__init__(
            operands=[list(buffers)],
            properties={
                "id": IntegerAttr(id, i64),
                "node": None if node is None else StringAttr(node),
            },
        )

    def verify_(self) -> None:
        self._in_stream()
        if _int(self.id) < 0:
            self._fail(f"barrier id must be >= 0, got {_int(self.id)}")
        program = self.program()
        assert program is not None
        seen: set[SSAValue] = set()
        for v in self.buffers:
            owner = v.owner
            is_arg = isinstance(owner, Block) and owner is program.body.block
            if not (is_arg or isinstance(owner, AllocOp)):
                self._fail(
                    "a protected buffer must be a program argument or a cim.alloc "
                    "result"
                )
            if v in seen:
                self._fail("a protected buffer is named twice")
            seen.add(v)

    def print(self, printer: Printer) -> None:
        _print_node(printer, self)
        printer.print_string(f" {_int(self.id)}")
        if self.buffers:
            printer.print_string(" on ")
            printer.print_list(self.buffers, printer.print_operand)
        printer.print_op_attributes(self.attributes)
        if self.buffers:
            printer.print_string(" : ")
            printer.print_list((v.type for v in self.buffers), printer.print_attribute)

    @classmethod
    def parse(cls, parser: Parser) -> BarrierOp:
        props: dict[str, Attribute] = {}
        _parse_node(parser, props)
        props["id"] = IntegerAttr(parser.parse_integer(allow_boolean=False), i64)
        names: list[UnresolvedOperand] = []
        if parser.parse_optional_keyword("on") is not None:
            names = parser.parse_comma_separated_list(
                parser.Delimiter.NONE, parser.parse_unresolved_operand
            )
        attrs = parser.parse_optional_attr_dict()
        operands: list[SSAValue] = []
        if names:
            parser.parse_punctuation(":")
            types = _parse_types(parser, len(names), "cim.barrier buffers")
            operands = [
                parser.resolve_operand(n, t) for n, t in zip(names, types, strict=True)
            ]
        return cls.create(operands=operands, properties=props, attributes=attrs)


@irdl_op_definition
class LaunchOp(IRDLOperation):
    """Run a ``cim.program`` on host-side tensors (in a ``func.func``).

    The operands bind, in order, to the program's off-chip arguments: same shapes
    and element types (the host memrefs carry no memory space). The launch
    completes when every stream of the program has finished.

    ```
    cim.launch @conv1(%x, %w, %y) : memref<1x3x8x8xf32>, memref<1x3x3x3x8xf32>,
        memref<1x8x8x8xf32>
    ```
    """

    name = "cim.launch"

    callee = prop_def(FlatSymbolRefAttrConstr)
    """The program."""
    args = var_operand_def(MemRefType)
    """The tensors bound to the program's arguments."""

    def __init__(self, callee: str, args: Sequence[SSAValue | Operation]):
        super().__init__(operands=[args], properties={"callee": SymbolRefAttr(callee)})

    def program(self) -> ProgramOp | None:
        found = SymbolTable.lookup_symbol(self, self.callee)
        return found if isinstance(found, ProgramOp) else None

    def verify_(self) -> None:
        name = self.callee.root_reference.data
        program = self.program()
        if program is None:
            raise VerifyException(f"cim.launch: no cim.program named @{name}")
        params = program.args
        if len(params) != len(self.args):
            raise VerifyException(
                f"cim.launch: @{name} takes {len(params)} tensors, got {len(self.args)}"
            )
        for i, (arg, param) in enumerate(zip(self.args, params, strict=True)):
            at, pt = arg.type, param.type
            assert isinstance(at, MemRefType) and isinstance(pt, MemRefType)
            if (
                tuple(at.get_shape()) != tuple(pt.get_shape())
                or at.element_type != pt.element_type
            ):
                raise VerifyException(
                    f"cim.launch: argument {i} of @{name} is {pt}, got {at}"
                )

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_symbol_name(self.callee.root_reference.data)
        printer.print_string("(")
        printer.print_list(self.args, printer.print_operand)
        printer.print_string(")")
        printer.print_op_attributes(self.attributes)
        if self.args:
            printer.print_string(" : ")
            printer.print_list([a.type for a in self.args], printer.print_attribute)

    @classmethod
    def parse(cls, parser: Parser) -> LaunchOp:
        callee = parser.parse_symbol_name()
        args = parser.parse_comma_separated_list(
            parser.Delimiter.PAREN, parser.parse_unresolved_operand
        )
        attrs = parser.parse_optional_attr_dict()
        types: list[Attribute] = []
        if args:
            parser.parse_punctuation(":")
            types = _parse_types(parser, len(args), "cim.launch arguments")
        return cls.create(
            operands=[
                parser.resolve_operand(a, t) for a, t in zip(args, types, strict=True)
            ],
            properties={"callee": SymbolRefAttr(callee)},
            attributes=attrs,
        )


SIMD_OPS: tuple[type[SimdOp], ...] = (
    SimdElementwiseOp,
    PoolOp,
    ReduceOp,
    SoftmaxOp,
    LayerNormOp,
    RequantOp,
)
"""The instructions of the SIMD unit."""

Cim = Dialect(
    "cim",
    [
        ProgramOp,
        GlobalOp,
        CoreOp,
        AllocOp,
        SelectHalfOp,
        DmaOp,
        LoadWeightsOp,
        MvmOp,
        *SIMD_OPS,
        SendOp,
        RecvOp,
        BarrierOp,
        LaunchOp,
    ],
    [PingPongType],
)
