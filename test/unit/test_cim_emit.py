"""``--emit=asm|json``: the flat instruction encoding of cim programs."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from xdsl.context import Context
from xdsl.dialects import arith, scf
from xdsl.dialects.builtin import Builtin, ModuleOp
from xdsl.parser import Parser

from miredo.dialects.cim import Cim
from miredo.errors import MiredoError
from miredo.tools.cim_emit import emit, emit_to_path
from miredo.tools.miredo_opt import main as miredo_opt

LEVELS = "shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro"

SMALL = f"""
cim.program "net" @small(%x: memref<2x8xi8, "DRAM">, %w: memref<8x4xi8, "DRAM">, %y: memref<2x4xi8, "DRAM">) arch "t" cores 2 {LEVELS} arg_bits [8, 4, 8] {{
  %g = cim.alloc : memref<2x8xi8, "GB">
  %ib = cim.alloc "fc" halves 2 : memref<8xi8, "IReg">
  %lb = cim.alloc : memref<8x4xi8, "LB">
  %m = cim.alloc : memref<8x4xi8, "Macro">
  %acc = cim.alloc bits 24 : memref<4xi32, "OReg">
  %q = cim.alloc : memref<4xi8, "LB">
  cim.global {{
    %c0 = arith.constant 0 : index
    cim.dma "fc" %x -> %g : memref<2x8xi8, "DRAM"> -> memref<2x8xi8, "GB">
    cim.dma %w -> %lb cores [0, 1] : memref<8x4xi8, "DRAM"> -> memref<8x4xi8, "LB">
    %h0 = cim.select_half %ib, %c0 : memref<8xi8, "IReg">
    cim.dma %g[0, 0] [1, 7] -> %h0[0] [7] cores [0, 1] shifts [[0, 0], [1, 1]] : memref<2x8xi8, "GB"> -> memref<8xi8, "IReg">
    cim.dma %x[0, -1] [1, 4] [1, 2] -> %g[1, 0] [1, 4] zero_pad : memref<2x8xi8, "DRAM"> -> memref<2x8xi8, "GB">
    cim.barrier 0
  }}
  cim.core 0 {{
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    cim.barrier 0
    cim.load_weights "fc" %lb -> %m : memref<8x4xi8, "LB"> -> memref<8x4xi8, "Macro">
    scf.for %i = %c0 to %c2 step %c1 {{
      %h = cim.select_half %ib, %i : memref<8xi8, "IReg">
      cim.mvm "fc" %h, %m -> %acc input_bits 8 bits_per_cycle 2 acc : memref<8xi8, "IReg">, memref<8x4xi8, "Macro"> -> memref<4xi32, "OReg">
    }}
    cim.simd relu ins(%acc) outs(%acc) : memref<4xi32, "OReg"> -> memref<4xi32, "OReg">
    cim.requant "fc" scale 0.5 zero_point -2 ins(%acc) outs(%q) : memref<4xi32, "OReg"> -> memref<4xi8, "LB">
    cim.send %q[0] [2] to 1 tag 3 : memref<4xi8, "LB">
  }}
  cim.core 1 {{
    cim.barrier 0
    cim.recv %q[2] [2] from 0 tag 3 : memref<4xi8, "LB">
    cim.dma %q -> %y[1, 0] [1, 4] : memref<4xi8, "LB"> -> memref<2x4xi8, "DRAM">
  }}
}}
"""

SIMD = f"""
cim.program @simd(%d: memref<2x4x4xf32, "DRAM">) arch "t" cores 1 {LEVELS} {{
  %a = cim.alloc : memref<2x4x4xf32, "LB">
  %b = cim.alloc : memref<2x2x2xf32, "LB">
  %g = cim.alloc : memref<4xf32, "LB">
  cim.core 0 {{
    cim.simd fill(-2.5) ins() outs(%g) : -> memref<4xf32, "LB">
    cim.simd clip(max = 6.0) ins(%a) outs(%a) : memref<2x4x4xf32, "LB"> -> memref<2x4x4xf32, "LB">
    cim.simd "g" gelu(tanh) ins(%g) outs(%g) : memref<4xf32, "LB"> -> memref<4xf32, "LB">
    cim.simd add ins(%a, %g) outs(%a) : memref<2x4x4xf32, "LB">, memref<4xf32, "LB"> -> memref<2x4x4xf32, "LB">
    cim.pool "p" max kernel [2, 2] stride [2, 2] ins(%a) outs(%b) : memref<2x4x4xf32, "LB"> -> memref<2x2x2xf32, "LB">
    cim.pool avg kernel [3, 3] stride [2, 2] pad [1, 1, 0, 0] count_include_pad ins(%a) outs(%b) : memref<2x4x4xf32, "LB"> -> memref<2x2x2xf32, "LB">
    cim.reduce sum axes [1, 2] ins(%a) outs(%a[0, 0, 0] [2, 1, 1]) : memref<2x4x4xf32, "LB"> -> memref<2x4x4xf32, "LB">
    cim.softmax axis 2 ins(%a) outs(%a) : memref<2x4x4xf32, "LB"> -> memref<2x4x4xf32, "LB">
    cim.layernorm axis 2 epsilon 1.0e-05 ins(%a, %g) outs(%a) : memref<2x4x4xf32, "LB">, memref<4xf32, "LB"> -> memref<2x4x4xf32, "LB">
  }}
}}
"""

SMALL_ASM = """\
.program @small arch="t" cores=2 shared=DRAM,GB per_core=LB,IReg,Macro,OReg macro=Macro
.buffer a0 DRAM 2x8xi8 halves=1 bits=8
.buffer a1 DRAM 8x4xi8 halves=1 bits=4
.buffer a2 DRAM 2x4xi8 halves=1 bits=8
.buffer b0 GB 2x8xi8 halves=1 bits=8
.buffer b1 IReg 8xi8 halves=2 bits=8
.buffer b2 LB 8x4xi8 halves=1 bits=8
.buffer b3 Macro 8x4xi8 halves=1 bits=8
.buffer b4 OReg 4xi32 halves=1 bits=24
.buffer b5 LB 4xi8 halves=1 bits=8
global: DMA a0[0,0][2,8] -> b0[0,0][2,8]                ; fc
global: DMA a1[0,0][8,4] -> b2[0,0][8,4] cores=0,1
global: DMA b0[0,0][1,7] -> b1.h0[0][7] cores=0,1 shifts=[0,0][1,1]
global: DMA a0[0,-1][1,4][1,2] -> b0[1,0][1,4] zero_pad=1
global: BARRIER id=0
core0: BARRIER id=0
core0: LDW b2[0,0][8,4] -> b3[0,0][8,4]                 ; fc
core0: MVM b1.h0[0][8], b3[0,0][8,4] -> b4[0][4] ib=8 bpc=2 acc=1 ; fc
core0: MVM b1.h1[0][8], b3[0,0][8,4] -> b4[0][4] ib=8 bpc=2 acc=1 ; fc
core0: SIMD.relu b4[0][4] -> b4[0][4]
core0: REQUANT b4[0][4] -> b5[0][4] scale=0.5 zero_point=-2 ; fc
core0: SEND b5[0][2] peer=1 tag=3
core1: BARRIER id=0
core1: RECV b5[2][2] peer=0 tag=3
core1: DMA b5[0][4] -> a2[1,0][1,4]
"""

SIMD_ASM = """\
core0: SIMD.fill -> b2[0][4] value=-2.5
core0: SIMD.clip b0[0,0,0][2,4,4] -> b0[0,0,0][2,4,4] max=6.0
core0: SIMD.gelu b2[0][4] -> b2[0][4] approximate=tanh  ; g
core0: SIMD.add b0[0,0,0][2,4,4], b2[0][4] -> b0[0,0,0][2,4,4]
core0: POOL.max b0[0,0,0][2,4,4] -> b1[0,0,0][2,2,2] kernel=2,2 stride=2,2 dilation=1,1 pad=0,0,0,0 count_include_pad=0 ; p
core0: POOL.avg b0[0,0,0][2,4,4] -> b1[0,0,0][2,2,2] kernel=3,3 stride=2,2 dilation=1,1 pad=1,1,0,0 count_include_pad=1
core0: REDUCE.sum b0[0,0,0][2,4,4] -> b0[0,0,0][2,1,1] axes=1,2
core0: SOFTMAX b0[0,0,0][2,4,4] -> b0[0,0,0][2,4,4] axis=2
core0: LAYERNORM b0[0,0,0][2,4,4], b2[0][4] -> b0[0,0,0][2,4,4] axis=2 epsilon=1e-05
"""


def parse(text: str) -> ModuleOp:
    ctx = Context()
    for d in (Builtin, arith.Arith, scf.Scf, Cim):
        ctx.load_dialect(d)
    module = Parser(ctx, text).parse_module()
    module.verify()
    return module


def emitted(text: str, fmt: str) -> str:
    out = io.StringIO()
    emit(parse(text), fmt, out)
    return out.getvalue()


def test_asm_small_program() -> None:
    assert emitted(SMALL, "asm") == SMALL_ASM


def test_asm_simd_ops_and_two_programs() -> None:
    text = emitted(SMALL + SIMD, "asm")
    first, second = text.split("\n\n")
    assert first + "\n" == SMALL_ASM
    lines = second.splitlines()
    assert lines[0].startswith('.program @simd arch="t" cores=1 ')
    assert lines[1] == ".buffer a0 DRAM 2x4x4xf32 halves=1 bits=32"
    assert "\n".join(lines[5:]) + "\n" == SIMD_ASM


def test_json_small_program() -> None:
    (prog,) = json.loads(emitted(SMALL, "json"))
    assert prog["program"] == "small" and prog["arch"] == "t" and prog["cores"] == 2
    assert prog["levels"] == {
        "shared": ["DRAM", "GB"],
        "per_core": ["LB", "IReg", "Macro", "OReg"],
        "macro": "Macro",
    }
    assert [b["id"] for b in prog["buffers"]] == [
        *("a0", "a1", "a2"),
        *("b0", "b1", "b2", "b3", "b4", "b5"),
    ]
    assert prog["buffers"][1] == {
        "id": "a1",
        "space": "DRAM",
        "shape": [8, 4],
        "dtype": "i8",
        "halves": 1,
        "bits": 4,
    }
    assert prog["buffers"][4]["halves"] == 2 and prog["buffers"][7]["bits"] == 24
    streams = prog["streams"]
    assert list(streams) == ["global", "core0", "core1"]
    assert [len(s) for s in streams.values()] == [5, 7, 3]
    shifted = streams["global"][2]
    assert shifted == {
        "op": "dma",
        "stream": "global",
        "node": None,
        "src": {"buf": "b0", "half": None, "offsets": [0, 0], "sizes": [1, 7],
                "strides": [1, 1]},
        "dst": {"buf": "b1", "half": 0, "offsets": [0], "sizes": [7], "strides": [1]},
        "cores": [0, 1],
        "shifts": [[0, 0], [1, 1]],
        "zero_pad": False,
    }  # fmt: skip
    assert streams["global"][3]["src"]["strides"] == [1, 2]
    assert streams["global"][3]["zero_pad"] is True
    mvms = [i for i in streams["core0"] if i["op"] == "mvm"]
    assert [m["input"]["half"] for m in mvms] == [0, 1]
    assert mvms[0]["node"] == "fc" and mvms[0]["acc"] is True
    assert (mvms[0]["input_bits"], mvms[0]["bits_per_cycle"]) == (8, 2)
    assert set(mvms[0]) == {
        *("op", "stream", "node", "input", "weights", "output"),
        *("input_bits", "bits_per_cycle", "acc", "zero_pad"),
    }
    assert streams["core0"][-1] == {
        "op": "send",
        "stream": "core0",
        "node": None,
        "tile": {
            "buf": "b5",
            "half": None,
            "offsets": [0],
            "sizes": [2],
            "strides": [1],
        },
        "peer": 1,
        "tag": 3,
    }
    assert streams["core1"][0] == {
        "op": "barrier",
        "stream": "core1",
        "node": None,
        "id": 0,
    }
    assert streams["core0"][4]["op"] == "simd" and streams["core0"][4]["fn"] == "relu"
    assert (
        streams["core0"][5]["scale"] == 0.5 and streams["core0"][5]["zero_point"] == -2
    )


def test_json_simd_ops_and_two_programs() -> None:
    progs = json.loads(emitted(SMALL + SIMD, "json"))
    assert [p["program"] for p in progs] == ["small", "simd"]
    ops = progs[1]["streams"]["core0"]
    assert [o["op"] for o in ops] == [
        *("simd", "simd", "simd", "simd", "pool", "pool"),
        *("reduce", "softmax", "layernorm"),
    ]
    assert ops[0]["inputs"] == [] and ops[0]["value"] == -2.5
    assert ops[1]["max"] == 6.0 and ops[1]["min"] is None
    assert ops[2]["approximate"] == "tanh" and ops[2]["node"] == "g"
    assert len(ops[3]["inputs"]) == 2
    assert ops[5]["pad"] == [1, 1, 0, 0] and ops[5]["count_include_pad"] is True
    assert ops[6]["axes"] == [1, 2] and ops[6]["output"]["sizes"] == [2, 1, 1]
    assert ops[8]["epsilon"] == 1e-05 and ops[8]["axis"] == 2


def test_emit_streams_large_programs() -> None:
    text = f"""
cim.program @big(%x: memref<4096x4xf32, "DRAM">) arch "t" cores 1 {LEVELS} {{
  %l = cim.alloc : memref<4xf32, "LB">
  cim.core 0 {{
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %cN = arith.constant 4096 : index
    scf.for %i = %c0 to %cN step %c1 {{
      cim.dma %x[%i, 0] [1, 4] -> %l : memref<4096x4xf32, "DRAM"> -> memref<4xf32, "LB">
      cim.dma %l -> %x[%i, 0] [1, 4] : memref<4xf32, "LB"> -> memref<4096x4xf32, "DRAM">
    }}
  }}
}}
"""
    module = parse(text)

    class Recorder(io.StringIO):
        sizes: list[int] = []

        def write(self, s: str) -> int:
            self.sizes.append(len(s))
            return super().write(s)

    for fmt in ("asm", "json"):
        out = Recorder()
        out.sizes = []
        assert emit(module, fmt, out) == 8192
        # written in pieces, none of them close to the whole output
        assert len(out.sizes) > 2 and max(out.sizes) < len(out.getvalue()) * 0.75
    lines = emitted(text, "asm").splitlines()
    assert lines[3] == "core0: DMA a0[0,0][1,4] -> b0[0][4]"
    assert lines[-1] == "core0: DMA b0[0][4] -> a0[4095,0][1,4]"
    (prog,) = json.loads(emitted(text, "json"))
    assert prog["streams"]["core0"][-2]["src"]["offsets"] == [4095, 0]


EMPTY = "builtin.module {\n}\n"


def test_emit_without_program_fails() -> None:
    module = parse(EMPTY)
    with pytest.raises(MiredoError, match=r"has no cim\.program"):
        emit(module, "asm", io.StringIO())
    with pytest.raises(MiredoError, match="unknown emission format 'bin'"):
        emit(parse(SMALL), "bin", io.StringIO())


def test_emit_to_path_is_atomic(tmp_path: Path) -> None:
    target = tmp_path / "out.s"
    assert emit_to_path(parse(SMALL), "asm", target) == 15
    assert target.read_text() == SMALL_ASM
    with pytest.raises(MiredoError):
        emit_to_path(parse(EMPTY), "asm", target)
    assert target.read_text() == SMALL_ASM  # untouched
    assert [p.name for p in tmp_path.iterdir()] == ["out.s"]  # no temporary left


def test_miredo_opt_emit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "small.mlir"
    src.write_text(SMALL)
    out = tmp_path / "small.json"
    miredo_opt([str(src), "--emit=json", "-o", str(out)])
    assert json.loads(out.read_text())[0]["program"] == "small"
    miredo_opt([str(src), "--emit", "asm"])
    assert capsys.readouterr().out == SMALL_ASM
    # no cim.program: one error line, non-zero exit, the output file untouched
    empty = tmp_path / "empty.mlir"
    empty.write_text(EMPTY)
    with pytest.raises(SystemExit) as info:
        miredo_opt([str(empty), "--emit=json", "-o", str(out)])
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(
        "miredo-opt: error: --emit=json: the module has no cim.program"
    )
    assert json.loads(out.read_text())[0]["program"] == "small"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "empty.mlir",
        "small.json",
        "small.mlir",
    ]
