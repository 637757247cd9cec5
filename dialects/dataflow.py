"""The ``#nest.dataflow`` attribute: the MIREDO result attached to a contraction.

It records one layer's mapping onto the CIM accelerator, as chosen by the
``miredo-dataflow`` pass, and the predicted cost of that mapping:

```
#nest.dataflow<arch "table4", mapper miredo, objective edp,
  spatial {cores = [K:8], rows = [C:16, R:3, S:3], cols = [K:8]},
  temporal [P:2, Q:4, P:2, Q:2, C:4],
  levels {I = [dram, lb, lb, lb, lb], W = [dram, dram, dram, lb, lb], O = [dram, dram, lb, lb, lb]},
  bypass {I = [gb], W = [gb], O = [gb]},
  double_buffer [lb:I, oreg:O],
  latency 120344, energy 1.52e+07, edp 1.83e+12, status optimal, gap 0.0>
```

* ``spatial``: the loops unrolled on each hardware axis (``dim:factor``);
* ``temporal``: the temporal loops, outermost first;
* ``levels``: for each operand, the memory level that holds each temporal loop
  (the uneven loop blocks of the paper, one entry per temporal loop);
* ``bypass``: the levels each operand skips;
* ``double_buffer``: the ``level:operand`` pairs that run ping-pong;
* ``latency`` (cycles), ``energy`` (pJ) and ``edp`` as predicted by the
  closed-form evaluator for this mapping, and the solve's ``status`` and ``gap``.

``verify()`` checks the attribute's internal consistency; the contraction op
checks it against its own bounds (factor products equal the dims).
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import ArrayAttr, FloatData, IntAttr, StringAttr
from xdsl.ir import ParametrizedAttribute
from xdsl.irdl import irdl_attr_definition
from xdsl.parser import AttrParser
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException

DIMS = ("N", "G", "K", "C", "P", "Q", "R", "S")
OPERANDS = ("I", "W", "O")
STATUSES = ("optimal", "feasible", "heuristic")

Loops = ArrayAttr[ArrayAttr[StringAttr | IntAttr]]


def _loops(pairs: Sequence[tuple[str, int]]) -> ArrayAttr:
    return ArrayAttr(ArrayAttr((StringAttr(d), IntAttr(f))) for d, f in pairs)


def _names(names: Sequence[str]) -> ArrayAttr[StringAttr]:
    return ArrayAttr(StringAttr(n) for n in names)


@irdl_attr_definition
class DataflowAttr(ParametrizedAttribute):
    """The dataflow chosen for one contraction and its predicted cost."""

    name = "nest.dataflow"

    arch: StringAttr
    """Name of the hardware description the mapping targets."""
    mapper: StringAttr
    """``miredo``, ``ws`` or ``heuristic``."""
    objective: StringAttr
    """``latency``, ``energy`` or ``edp``."""
    axes: ArrayAttr[StringAttr]
    """Spatial axis names, in the order of ``spatial``."""
    spatial: ArrayAttr[ArrayAttr]
    """Per axis, the ``(dim, factor)`` loops unrolled on it."""
    temporal: ArrayAttr[ArrayAttr]
    """Temporal ``(dim, factor)`` loops, outermost first."""
    levels: ArrayAttr[ArrayAttr[StringAttr]]
    """Per operand I, W, O: the memory level of every temporal loop."""
    bypass: ArrayAttr[ArrayAttr[StringAttr]]
    """Per operand I, W, O: the levels it bypasses."""
    double_buffer: ArrayAttr[ArrayAttr[StringAttr]]
    """``(level, operand)`` pairs that are double-buffered."""
    latency: IntAttr
    """Predicted latency in cycles."""
    energy: FloatData
    """Predicted energy in pJ."""
    edp: FloatData
    """Predicted energy-delay product in cycles·pJ."""
    status: StringAttr
    """``optimal``, ``feasible`` (time limit, incumbent) or ``heuristic`` (fallback)."""
    gap: FloatData
    """Relative optimality gap of the solve."""

    @staticmethod
    def build(
        *,
        arch: str,
        mapper: str,
        objective: str,
        spatial: Sequence[tuple[str, Sequence[tuple[str, int]]]],
        temporal: Sequence[tuple[str, int]],
        levels: Sequence[Sequence[str]],
        bypass: Sequence[Sequence[str]],
        double_buffer: Sequence[tuple[str, str]],
        latency: int,
        energy: float,
        edp: float,
        status: str,
        gap: float,
    ) -> DataflowAttr:
        return DataflowAttr(
            StringAttr(arch),
            StringAttr(mapper),
            StringAttr(objective),
            _names([a for a, _ in spatial]),
            ArrayAttr(_loops(loops) for _, loops in spatial),
            _loops(temporal),
            ArrayAttr(_names(lv) for lv in levels),
            ArrayAttr(_names(b) for b in bypass),
            ArrayAttr(_names(p) for p in double_buffer),
            IntAttr(latency),
            FloatData(float(energy)),
            FloatData(float(edp)),
            StringAttr(status),
            FloatData(float(gap)),
        )

    # ----------------------------------------------------------- accessors
    @staticmethod
    def _pairs(loops: ArrayAttr) -> list[tuple[str, int]]:
        out = []
        for pair in loops.data:
            d, f = pair.data  # type: ignore[attr-defined]
            out.append((d.data, f.data))  # type: ignore[union-attr]
        return out

    def spatial_loops(self) -> dict[str, list[tuple[str, int]]]:
        return {
            a.data: self._pairs(lp)
            for a, lp in zip(self.axes.data, self.spatial.data, strict=True)
        }

    def temporal_loops(self) -> list[tuple[str, int]]:
        return self._pairs(self.temporal)

    def level_of(self) -> dict[str, list[str]]:
        return {
            op: [s.data for s in lv.data]
            for op, lv in zip(OPERANDS, self.levels.data, strict=True)
        }

    def bypassed(self) -> dict[str, list[str]]:
        return {
            op: [s.data for s in b.data]
            for op, b in zip(OPERANDS, self.bypass.data, strict=True)
        }

    def double_buffered(self) -> list[tuple[str, str]]:
        return [(p.data[0].data, p.data[1].data) for p in self.double_buffer.data]

    def factor_products(self) -> dict[str, int]:
        """Product of the temporal and spatial factors of every dim."""
        prod = dict.fromkeys(DIMS, 1)
        for loops in [self.temporal_loops(), *self.spatial_loops().values()]:
            for d, f in loops:
                prod[d] *= f
        return prod

    # --------------------------------------------------------------- verify
    def verify(self) -> None:
        for what, pairs in [
            ("temporal", self.temporal),
            *(("spatial", s) for s in self.spatial.data),
        ]:
            for pair in pairs.data:
                if not isinstance(pair, ArrayAttr) or len(pair.data) != 2:
                    raise VerifyException(
                        f"dataflow: {what} loops must be dim:factor pairs"
                    )
                d, f = pair.data
                if not isinstance(d, StringAttr) or d.data not in DIMS:
                    raise VerifyException(
                        f"dataflow: unknown dim in {what} loops, expected one of {' '.join(DIMS)}"
                    )
                if not isinstance(f, IntAttr) or f.data < 1:
                    raise VerifyException(
                        f"dataflow: {what} factor of {d.data} must be a positive integer"
                    )
        if len(self.axes.data) != len(self.spatial.data):
            raise VerifyException("dataflow: one loop list per spatial axis expected")
        if len(set(self.axes.data)) != len(self.axes.data):
            raise VerifyException("dataflow: spatial axes must be distinct")
        n = len(self.temporal.data)
        if len(self.levels.data) != 3 or len(self.bypass.data) != 3:
            raise VerifyException(
                "dataflow: levels and bypass need one entry per operand I, W, O"
            )
        for op, lv in zip(OPERANDS, self.levels.data, strict=True):
            if len(lv.data) != n:
                raise VerifyException(
                    f"dataflow: operand {op} assigns {len(lv.data)} loops to levels, but there are {n} temporal loops"
                )
            names = [s.data for s in lv.data]
            # loop blocks: each level's loops are contiguous (monotone nesting)
            seen: list[str] = []
            for name in names:
                if seen and seen[-1] == name:
                    continue
                if name in seen:
                    raise VerifyException(
                        f"dataflow: operand {op} returns to level '{name}' after leaving it"
                    )
                seen.append(name)
            bypassed = {s.data for s in self.bypass.data[OPERANDS.index(op)].data}
            for name in names:
                if name in bypassed:
                    raise VerifyException(
                        f"dataflow: operand {op} has a loop at bypassed level '{name}'"
                    )
        for pair in self.double_buffer.data:
            if len(pair.data) != 2 or pair.data[1].data not in OPERANDS:
                raise VerifyException(
                    "dataflow: double_buffer entries are level:operand"
                )
        if self.objective.data not in ("latency", "energy", "edp"):
            raise VerifyException("dataflow: objective must be latency, energy or edp")
        if self.status.data not in STATUSES:
            raise VerifyException(
                f"dataflow: status must be one of {', '.join(STATUSES)}"
            )
        if self.latency.data < 0 or self.energy.data < 0 or self.edp.data < 0:
            raise VerifyException(
                "dataflow: latency, energy and edp must be non-negative"
            )
        if not 0.0 <= self.gap.data <= 1.0:
            raise VerifyException("dataflow: gap must lie in [0, 1]")

    def verify_bounds(self, bounds: dict[str, int]) -> None:
        """Check the factor products against a contraction's bounds."""
        prod = self.factor_products()
        for d in DIMS:
            if prod[d] != bounds.get(d, 1):
                raise VerifyException(
                    f"dataflow: factors of {d} multiply to {prod[d]}, but the bound of {d} is {bounds.get(d, 1)}"
                )

    # --------------------------------------------------------------- syntax
    @staticmethod
    def _print_loops(printer: Printer, loops: list[tuple[str, int]]) -> None:
        printer.print_string("[" + ", ".join(f"{d}:{f}" for d, f in loops) + "]")

    def print_parameters(self, printer: Printer) -> None:
        p = printer.print_string
        p(
            f'<arch "{self.arch.data}", mapper {self.mapper.data}, objective {self.objective.data}, spatial {{'
        )
        for i, (axis, loops) in enumerate(self.spatial_loops().items()):
            p(", " if i else "")
            p(f"{axis} = ")
            self._print_loops(printer, loops)
        p("}, temporal ")
        self._print_loops(printer, self.temporal_loops())
        p(
            ", levels {"
            + ", ".join(
                f"{op} = [{', '.join(lv)}]" for op, lv in self.level_of().items()
            )
            + "}"
        )
        p(
            ", bypass {"
            + ", ".join(f"{op} = [{', '.join(b)}]" for op, b in self.bypassed().items())
            + "}"
        )
        p(
            ", double_buffer ["
            + ", ".join(f"{lv}:{op}" for lv, op in self.double_buffered())
            + "]"
        )
        p(
            f", latency {self.latency.data}, energy {self.energy.data!r}, edp {self.edp.data!r}"
        )
        p(f", status {self.status.data}, gap {self.gap.data!r}>")

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence:
        def loop() -> tuple[str, int]:
            d = parser.parse_identifier("dim name")
            parser.parse_punctuation(":")
            return d, parser.parse_integer(allow_boolean=False, allow_negative=False)

        def loops() -> list[tuple[str, int]]:
            return parser.parse_comma_separated_list(parser.Delimiter.SQUARE, loop)

        def names() -> list[str]:
            return parser.parse_comma_separated_list(
                parser.Delimiter.SQUARE, lambda: parser.parse_identifier()
            )

        def keyed(value):  # {key = value, ...}
            def entry():
                k = parser.parse_identifier()
                parser.parse_punctuation("=")
                return k, value()

            return parser.parse_comma_separated_list(parser.Delimiter.BRACES, entry)

        def field(name: str) -> None:
            parser.parse_keyword(name)

        start = parser.pos
        with parser.in_angle_brackets():
            field("arch")
            arch = parser.parse_str_literal()
            parser.parse_punctuation(",")
            field("mapper")
            mapper = parser.parse_identifier()
            parser.parse_punctuation(",")
            field("objective")
            objective = parser.parse_identifier()
            parser.parse_punctuation(",")
            field("spatial")
            spatial = keyed(loops)
            parser.parse_punctuation(",")
            field("temporal")
            temporal = loops()
            parser.parse_punctuation(",")
            field("levels")
            levels = dict(keyed(names))
            parser.parse_punctuation(",")
            field("bypass")
            bypass = dict(keyed(names))
            parser.parse_punctuation(",")
            field("double_buffer")

            def db() -> tuple[str, str]:
                lv = parser.parse_identifier()
                parser.parse_punctuation(":")
                return lv, parser.parse_identifier()

            double = parser.parse_comma_separated_list(parser.Delimiter.SQUARE, db)
            parser.parse_punctuation(",")
            field("latency")
            latency = parser.parse_integer(allow_boolean=False, allow_negative=False)
            parser.parse_punctuation(",")
            field("energy")
            energy = parser.parse_number()
            parser.parse_punctuation(",")
            field("edp")
            edp = parser.parse_number()
            parser.parse_punctuation(",")
            field("status")
            status = parser.parse_identifier()
            parser.parse_punctuation(",")
            field("gap")
            gap = parser.parse_number()
        for op in OPERANDS:
            if op not in levels or op not in bypass:
                parser.raise_error(
                    f"dataflow: levels and bypass need an entry for operand {op}"
                )
        try:
            attr = cls.build(
                arch=arch,
                mapper=mapper,
                objective=objective,
                spatial=spatial,
                temporal=temporal,
                levels=[levels[op] for op in OPERANDS],
                bypass=[bypass[op] for op in OPERANDS],
                double_buffer=double,
                latency=latency,
                energy=float(energy),
                edp=float(edp),
                status=status,
                gap=float(gap),
            )
        except VerifyException as e:
            parser.raise_error(str(e), start, parser.pos)
        return attr.parameters
