"""A dataflow mapping: the decision variables S_v of the MIREDO model, decoded.

A :class:`Mapping` says, for one layer on one accelerator:

* which loops are unrolled on each spatial axis (the paper's X^U);
* the temporal loop nest, outermost first (X^L, one loop per slot);
* for each operand, the memory level each temporal loop belongs to (X^M / X^Z: the
  operand's *loop blocks*, which may differ per operand = uneven mapping);
* the levels each operand bypasses (1 - psi^U) and the double-buffered
  (level, operand) pairs (psi^DM).

Mappings are immutable and hashable, round-trip through JSON, and print compactly::

    cores[K2] rows[C16] cols[K8] | K2 C4 P7 | I: DRAM K2 | LB C4 | IReg P7 ...
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from miredo.solver.workload import OPERANDS


@dataclass(frozen=True)
class Loop:
    """One loop: ``factor`` iterations of dim ``dim``."""

    dim: str
    """One of ``N, G, K, C, P, Q, R, S``."""
    factor: int
    """Trip count (1 is allowed and means nothing)."""

    def __str__(self) -> str:
        return f"{self.dim}{self.factor}"


@dataclass(frozen=True)
class Mapping:
    """A complete spatial/temporal mapping with per-operand memory levels."""

    spatial: dict[str, tuple[Loop, ...]]
    """Axis name -> loops unrolled on it."""
    temporal: tuple[Loop, ...]
    """Temporal loops, outermost first."""
    level_of: dict[str, tuple[str, ...]]
    """Operand -> the level name of each temporal loop (non-decreasing inwards)."""
    bypass: dict[str, frozenset[str]]
    """Operand -> admissible levels it skips."""
    double_buffer: frozenset[tuple[str, str]]
    """Double-buffered ``(level, operand)`` pairs."""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "spatial", {k: tuple(v) for k, v in sorted(self.spatial.items())})
        set_(self, "temporal", tuple(self.temporal))
        set_(self, "level_of", {op: tuple(self.level_of[op]) for op in OPERANDS})
        set_(
            self,
            "bypass",
            {op: frozenset(self.bypass.get(op, ())) for op in OPERANDS},
        )
        set_(self, "double_buffer", frozenset(tuple(p) for p in self.double_buffer))

    def _key(self) -> tuple[Any, ...]:
        return (
            tuple(self.spatial.items()),
            self.temporal,
            tuple(self.level_of.items()),
            tuple((op, tuple(sorted(self.bypass[op]))) for op in OPERANDS),
            tuple(sorted(self.double_buffer)),
        )

    def __hash__(self) -> int:
        return hash(self._key())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and self._key() == other._key()

    # ------------------------------------------------------------------ queries
    def spatial_factor(self, axis: str, dim: str) -> int:
        """Product of the factors of ``dim`` unrolled on ``axis``."""
        out = 1
        for lp in self.spatial.get(axis, ()):
            if lp.dim == dim:
                out *= lp.factor
        return out

    # --------------------------------------------------------------------- json
    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON-compatible)."""
        return {
            "spatial": {
                ax: [[lp.dim, lp.factor] for lp in loops]
                for ax, loops in self.spatial.items()
            },
            "temporal": [[lp.dim, lp.factor] for lp in self.temporal],
            "level_of": {op: list(lv) for op, lv in self.level_of.items()},
            "bypass": {op: sorted(b) for op, b in self.bypass.items()},
            "double_buffer": [list(p) for p in sorted(self.double_buffer)],
        }

    def to_json(self) -> str:
        """Canonical JSON text."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Mapping:
        """Inverse of :meth:`to_dict`."""
        return Mapping(
            spatial={
                ax: tuple(Loop(str(d), int(f)) for d, f in loops)
                for ax, loops in data["spatial"].items()
            },
            temporal=tuple(Loop(str(d), int(f)) for d, f in data["temporal"]),
            level_of={op: tuple(lv) for op, lv in data["level_of"].items()},
            bypass={op: frozenset(b) for op, b in data.get("bypass", {}).items()},
            double_buffer=frozenset(
                (str(lv), str(op)) for lv, op in data.get("double_buffer", [])
            ),
        )

    @staticmethod
    def from_json(text: str) -> Mapping:
        """Inverse of :meth:`to_json`."""
        return Mapping.from_dict(json.loads(text))

    # ------------------------------------------------------------------ display
    def __str__(self) -> str:
        sp = " ".join(
            f"{ax}[{' '.join(map(str, loops))}]" for ax, loops in self.spatial.items()
        )
        tm = " ".join(map(str, self.temporal)) or "-"
        parts = [sp or "-", tm]
        for op in OPERANDS:
            blocks: list[str] = []
            for lp, lv in zip(self.temporal, self.level_of[op], strict=False):
                if blocks and blocks[-1].startswith(lv + " "):
                    blocks[-1] += f" {lp}"
                else:
                    blocks.append(f"{lv} {lp}")
            text = f"{op}: " + " / ".join(blocks)
            if self.bypass[op]:
                text += f" (bypass {','.join(sorted(self.bypass[op]))})"
            parts.append(text)
        if self.double_buffer:
            parts.append(
                "db " + ",".join(f"{lv}.{op}" for lv, op in sorted(self.double_buffer))
            )
        return " | ".join(parts)
