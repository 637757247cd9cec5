"""``--emit=asm|json``: flatten ``cim.program`` streams to instruction lists.

Every ``cim.program`` of a module is traced (`miredo.sim.cim_trace`: loops
unrolled, offsets and halves evaluated) and written per stream, in the program
order of the module and the body order of each program's streams, in the format of
the "Encoding" section of the ``cim`` dialect docstring:

* asm: a ``.program`` line and one ``.buffer`` line per buffer, then one line per
  instruction ``<stream>: <OPCODE> <operands> <attributes>``, padded to column 56
  and followed by ``; <node>`` when the op has a node; programs are separated by a
  blank line.
* json: a list with one object per program; every instruction object is on a line
  of its own.

Both are written as they are produced (a layer can have 10^6 instructions): into
the given stream, or for a file into a temporary file renamed over the target
once complete (`AtomicTextFile`), so a failed run leaves no partial output.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.ir import Attribute, Operation

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
    SimdOp,
    SoftmaxOp,
)
from miredo.errors import MiredoError
from miredo.sim.cim_trace import Buffer, Instr, ProgramTrace, TileRef, compile_program

FORMATS = ("asm", "json")
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


def _describe(op: Operation) -> tuple[str, str, list[str], dict[str, Any]]:
    """``(json op name, asm opcode, json tile keys, properties)`` of an op.

    The tile keys name the op's tiles in order; ``inputs`` collects a variadic
    list (SIMD inputs).
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
        return "load_weights", "LDW", ["src", "macro"], {}
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
        return "barrier", "BARRIER", [], {"id": op.id.value.data}
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


def _asm_formatter(op: Operation) -> AsmFormatter:
    _, opcode, keys, props = _describe(op)
    attrs = _asm_attrs(op, props)
    attrs = f" {attrs}" if attrs else ""
    node = _node(op)
    n_in = keys.count("inputs")

    def operands(tiles: tuple[TileRef, ...]) -> str:
        if isinstance(op, SimdOp):
            ins = ", ".join(asm_tile(t) for t in tiles[:n_in])
            return (
                f"{ins} -> {asm_tile(tiles[-1])}"
                if ins
                else f"-> {asm_tile(tiles[-1])}"
            )
        if isinstance(op, MvmOp):
            x, w, y = tiles
            return f"{asm_tile(x)}, {asm_tile(w)} -> {asm_tile(y)}"
        if len(tiles) == 2:
            return f"{asm_tile(tiles[0])} -> {asm_tile(tiles[1])}"
        return " ".join(asm_tile(t) for t in tiles)

    def fmt(ins: Instr) -> str:
        ops = operands(ins.tiles)
        text = f"{ins.stream}: {opcode}{' ' + ops if ops else ''}{attrs}"
        if node is not None:
            text = f"{text:<{NODE_COLUMN - 1}} ; {node}"
        return text

    return fmt


def _fmt_type(t: Attribute) -> str:
    return str(t)


def _asm_header(trace: ProgramTrace) -> list[str]:
    p = trace.program
    hier = p.hierarchy()
    assert hier is not None
    lines = [
        f".program @{trace.name} arch={json.dumps(p.arch.data)} cores={hier.cores} "
        f"shared={','.join(hier.shared)} per_core={','.join(hier.per_core)} "
        f"macro={hier.macro}"
    ]
    for b in trace.buffers.values():
        shape = "x".join(str(d) for d in b.shape)
        lines.append(
            f".buffer {b.id} {b.space} {shape}x{_fmt_type(b.element_type)} "
            f"halves={b.halves} bits={b.bits}"
        )
    return lines


def emit_asm_program(trace: ProgramTrace, out: IO[str]) -> int:
    """Write one program as asm; returns the number of instructions."""
    out.write("\n".join(_asm_header(trace)) + "\n")
    formatters: dict[Operation, AsmFormatter] = {}
    count = 0
    write = out.write
    for stream in trace.streams:
        for op in stream.ops:
            formatters[op] = _asm_formatter(op)
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


def _json_formatter(op: Operation, stream: str) -> Callable[[Instr], str]:
    name, _, keys, props = _describe(op)
    head = f'{{"op": "{name}", "stream": "{stream}", "node": {json.dumps(_node(op))}'
    tail = "".join(f", {json.dumps(k)}: {json.dumps(v)}" for k, v in props.items())
    tail += "}"
    n_in = keys.count("inputs")
    simd = isinstance(op, SimdOp)
    single = [k for k in keys if k != "inputs"]

    def fmt(ins: Instr) -> str:
        tiles = ins.tiles
        if simd:
            ins_text = ", ".join(json_tile(t) for t in tiles[:n_in])
            body = f', "inputs": [{ins_text}], "output": {json_tile(tiles[-1])}'
        else:
            body = "".join(
                f', "{k}": {json_tile(t)}' for k, t in zip(single, tiles, strict=True)
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


def emit_json_program(trace: ProgramTrace, out: IO[str]) -> int:
    """Write one program as a JSON object; returns the number of instructions."""
    p = trace.program
    hier = p.hierarchy()
    assert hier is not None
    head = {
        "program": trace.name,
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
    write(
        ",\n".join("  " + json.dumps(_json_buffer(b)) for b in trace.buffers.values())
    )
    write('\n ],\n "streams": {')
    count = 0
    for i, stream in enumerate(trace.streams):
        write(("," if i else "") + f'\n  "{stream.name}": [')
        formatters = {op: _json_formatter(op, stream.name) for op in stream.ops}
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
# Drivers
# --------------------------------------------------------------------------- #


def programs_of(module: ModuleOp | Operation) -> list[ProgramOp]:
    """The ``cim.program`` ops of ``module``, in order."""
    return [op for op in module.walk() if isinstance(op, ProgramOp)]


def emit(module: ModuleOp | Operation, fmt: str, out: IO[str]) -> int:
    """Write every ``cim.program`` of ``module`` in format ``fmt`` (``asm`` or
    ``json``) to ``out``; returns the number of instructions written.

    Raises `MiredoError` when the module has no ``cim.program``.
    """
    if fmt not in FORMATS:
        raise MiredoError(f"unknown emission format '{fmt}', expected asm or json")
    programs = programs_of(module)
    if not programs:
        raise MiredoError(
            f"--emit={fmt}: the module has no cim.program to emit (lower it to the "
            f"cim dialect first)"
        )
    count = 0
    if fmt == "json":
        out.write("[\n")
    for i, program in enumerate(programs):
        trace = compile_program(program)
        if fmt == "asm":
            if i:
                out.write("\n")
            count += emit_asm_program(trace, out)
        else:
            if i:
                out.write(",\n")
            count += emit_json_program(trace, out)
    if fmt == "json":
        out.write("\n]\n")
    return count


class AtomicTextFile:
    """A text file written through a temporary file in the target's directory:
    ``commit`` renames it over the target, ``discard`` (or a failure before
    ``commit``) removes it. ``close`` does nothing, so a driver that closes its
    output on failure does not publish a partial file."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        directory = self.path.parent if str(self.path.parent) else Path(".")
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=directory)
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
