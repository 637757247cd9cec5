"""``--emit``: the flat (asm, json) and structured (asm-loops, json-loops) encodings
of cim programs."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from xdsl.context import Context
from xdsl.dialects import affine, arith, scf
from xdsl.dialects.builtin import Builtin, ModuleOp
from xdsl.parser import Parser

from miredo.dialects.cim import Cim
from miredo.errors import MiredoError
from miredo.tools.cim_emit import emit, emit_to_path, programs_of
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
  cim.global queue 1 priority 3 boot 5 {{
    cim.barrier 1 on %q, %ib : memref<4xi8, "LB">, !cim.pingpong<memref<8xi8, "IReg">>
    cim.dma %q[0] [2] -> %y[0, 0] [1, 2] cores [0, 1] shifts [[0, 0], [1, 2]] : memref<4xi8, "LB"> -> memref<2x4xi8, "DRAM">
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
    cim.barrier 1 on %q, %ib : memref<4xi8, "LB">, !cim.pingpong<memref<8xi8, "IReg">>
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
.queue global id=0 priority=0
.queue global1 id=1 priority=3 boot=5
global: DMA a0[0,0][2,8] -> b0[0,0][2,8]                ; fc
global: DMA a1[0,0][8,4] -> b2[0,0][8,4] cores=0,1
global: DMA b0[0,0][1,7] -> b1.h0[0][7] cores=0,1 shifts=[0,0][1,1]
global: DMA a0[0,-1][1,4][1,2] -> b0[1,0][1,4] zero_pad=1
global: BARRIER id=0
global1: BARRIER id=1 on=b5,b1
global1: DMA b5[0][2] -> a2[0,0][1,2] cores=0,1 shifts=[0,0][1,2]
core0: BARRIER id=0
core0: LDW b2[0,0][8,4] -> b3[0,0][8,4]                 ; fc
core0: MVM b1.h0[0][8], b3[0,0][8,4] -> b4[0][4] ib=8 bpc=2 acc=1 ; fc
core0: MVM b1.h1[0][8], b3[0,0][8,4] -> b4[0][4] ib=8 bpc=2 acc=1 ; fc
core0: SIMD.relu b4[0][4] -> b4[0][4]
core0: REQUANT b4[0][4] -> b5[0][4] scale=0.5 zero_point=-2 ; fc
core0: SEND b5[0][2] peer=1 tag=3
core0: BARRIER id=1 on=b5,b1
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
    for d in (Builtin, arith.Arith, scf.Scf, affine.Affine, Cim):
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
    assert prog["queues"] == [
        {"stream": "global", "id": 0, "priority": 0, "boot": 0},
        {"stream": "global1", "id": 1, "priority": 3, "boot": 5},
    ]
    streams = prog["streams"]
    assert list(streams) == ["global", "global1", "core0", "core1"]
    assert [len(s) for s in streams.values()] == [5, 2, 8, 3]
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
    # a gather: each core's tile to its window of the shared destination
    assert streams["global1"][1] == {
        "op": "dma",
        "stream": "global1",
        "node": None,
        "src": {"buf": "b5", "half": None, "offsets": [0], "sizes": [2],
                "strides": [1]},
        "dst": {"buf": "a2", "half": None, "offsets": [0, 0], "sizes": [1, 2],
                "strides": [1, 1]},
        "cores": [0, 1],
        "shifts": [[0, 0], [1, 2]],
        "zero_pad": False,
    }  # fmt: skip
    assert streams["global1"][0]["on"] == ["b5", "b1"]
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
        "op": "barrier",
        "stream": "core0",
        "node": None,
        "id": 1,
        "on": ["b5", "b1"],
    }
    assert streams["core0"][-2] == {
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
        "on": None,
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
    assert emit_to_path(parse(SMALL), "asm", target) == 18
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


# --------------------------------------------------------------------------- #
# Structured encoding: asm-loops, json-loops
# --------------------------------------------------------------------------- #

LOOPS = f"""
cim.program @loops(%x: memref<256xi8, "DRAM">, %w: memref<4x4xi8, "DRAM">) arch "t" cores 2 {LEVELS} {{
  %ib = cim.alloc halves 2 : memref<4xi8, "IReg">
  %m = cim.alloc : memref<4x4xi8, "Macro">
  %o = cim.alloc : memref<4xi8, "OReg">
  cim.global {{
    %c0 = arith.constant 0 : index
    %c8 = arith.constant 8 : index
    %c16 = arith.constant 16 : index
    scf.for %i = %c0 to %c16 step %c8 {{
      %a = affine.apply affine_map<(d0) -> ((d0 * 2) mod 64)>(%i)
      %b = affine.apply affine_map<(d0) -> (d0 floordiv 8)>(%i)
      cim.dma %x[%a] [2] -> %o[%b] [2] cores [0, 1] : memref<256xi8, "DRAM"> -> memref<4xi8, "OReg">
    }}
    cim.barrier 0
  }}
  cim.core 0 {{
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c4 = arith.constant 4 : index
    %c7 = arith.constant 7 : index
    cim.barrier 0
    %h0 = cim.select_half %ib, %c0 : memref<4xi8, "IReg">
    cim.dma %x[0] [4] -> %h0 : memref<256xi8, "DRAM"> -> memref<4xi8, "IReg">
    cim.load_weights "fc" %w -> %m : memref<4x4xi8, "DRAM"> -> memref<4x4xi8, "Macro">
    scf.for %i = %c0 to %c4 step %c1 {{
      %z = arith.cmpi eq, %i, %c0 : index
      scf.if %z {{
        cim.simd fill(0.0) ins() outs(%o) : -> memref<4xi8, "OReg">
      }}
      scf.for %j = %c1 to %c7 step %c2 {{
        %a = affine.apply affine_map<(d0, d1) -> (((d0 * 2 + d1) mod 5) * 24)>(%i, %j)
        %b = affine.apply affine_map<(d0, d1) -> ((d0 * 8 + d1) floordiv 8 + (d0 * 3 + d1) floordiv 4)>(%i, %j)
        %s = arith.addi %i, %j : index
        %h = cim.select_half %ib, %s : memref<4xi8, "IReg">
        cim.dma %x[%a] [4] -> %h : memref<256xi8, "DRAM"> -> memref<4xi8, "IReg">
        scf.for %k = %c0 to %c1 step %c1 {{
          %n = arith.subi %k, %i : index
          %r = arith.remui %n, %c4 : index
          cim.mvm "fc" %h, %m -> %o[%r] [4] input_bits 8 bits_per_cycle 1 acc : memref<4xi8, "IReg">, memref<4x4xi8, "Macro"> -> memref<4xi8, "OReg">
        }}
        %p = affine.apply affine_map<(d0, d1) -> (d0 * 3 + d1 * 2 - 1)>(%i, %j)
        %hp = cim.select_half %ib, %p : memref<4xi8, "IReg">
        cim.dma %hp -> %x[%p] [4] : memref<4xi8, "IReg"> -> memref<256xi8, "DRAM">
        %t = arith.cmpi ult, %b, %c2 : index
        scf.if %t {{
        }} else {{
          cim.dma %o[%b] [1] -> %x[%s] [1] : memref<4xi8, "OReg"> -> memref<256xi8, "DRAM">
        }}
      }}
      scf.for %k = %c4 to %c4 step %c1 {{
        cim.barrier 9
      }}
    }}
  }}
  cim.core 1 {{
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c3 = arith.constant 3 : index
    %c9 = arith.constant 9 : index
    cim.barrier 0
    scf.for %i = %c0 to %c3 step %c1 {{
      scf.for %j = %c0 to %c3 step %c1 {{
        %md = affine.apply affine_map<(d0, d1) -> ((d0 * 2 + d1) mod 5)>(%i, %j)
        %e = arith.subi %c9, %md : index
        %n = arith.subi %c0, %md : index
        %d = arith.divsi %n, %c3 : index
        %p = arith.muli %i, %j : index
        %q = arith.addi %p, %d : index
        %h = cim.select_half %ib, %q : memref<4xi8, "IReg">
        cim.dma %x[%e] [4] -> %h : memref<256xi8, "DRAM"> -> memref<4xi8, "IReg">
        cim.dma %o[0] [1] -> %x[%n] [1] : memref<4xi8, "OReg"> -> memref<256xi8, "DRAM">
      }}
    }}
  }}
}}
"""

LOOPS_ASM = """\
global: LOOP i0 from 0 to 16 step 8
global:   DMA a0[i0*2][2] -> b2[i0 floordiv 8][2] cores=0,1
global: ENDLOOP i0
global: BARRIER id=0
core0: BARRIER id=0
core0: DMA a0[0][4] -> b0.h0[0][4]
core0: LDW a1[0,0][4,4] -> b1[0,0][4,4]                 ; fc
core0: LOOP i0 4
core0:   IF i0==0
core0:     SIMD.fill -> b2[0][4] value=0.0
core0:   ENDIF
core0:   LOOP i1 from 1 to 7 step 2
core0:     DMA a0[(i0*2+i1) mod 5 * 24][4] -> b0.h(i0+i1)[0][4]
core0:     MVM b0.h(i0+i1)[0][4], b1[0,0][4,4] -> b2[remui(-i0, 4)][4] ib=8 bpc=1 acc=1 ; fc
core0:     DMA b0.h(i0+1)[0][4] -> a0[i0*3+i1*2-1][4]
core0:     IF i0 + (i0*3+i1) floordiv 4 >=u 2
core0:       DMA b2[i0 + (i0*3+i1) floordiv 4][1] -> a0[i0+i1][1]
core0:     ENDIF
core0:   ENDLOOP i1
core0: ENDLOOP i0
core1: BARRIER id=0
core1: LOOP i0 3
core1:   LOOP i1 3
core1:     DMA a0[9 - (i0*2+i1) mod 5][4] -> b0.h(i0 * i1 + divsi(-((i0*2+i1) mod 5), 3))[0][4]
core1:     DMA b2[0][1] -> a0[-((i0*2+i1) mod 5)][1]
core1:   ENDLOOP i1
core1: ENDLOOP i0
"""


def test_asm_loops_program() -> None:
    """Loops, branches, halves and forms: ``(d0 * 2) mod 64`` and ``(d0 * 8 + d1)
    floordiv 8`` fold over the counters' ranges, the rest prints as expressions;
    the loop that runs once is inlined, the one that never runs left out, the
    empty then-branch negated; counters restart per stream."""
    lines = emitted(LOOPS, "asm-loops").splitlines()
    assert lines[0].startswith(".program @loops ") and lines[5].startswith(".buffer b2")
    assert lines[6] == ".queue global id=0 priority=0"
    assert "\n".join(lines[7:]) + "\n" == LOOPS_ASM


def test_json_loops_program() -> None:
    (prog,) = json.loads(emitted(LOOPS, "json-loops"))
    (flat,) = json.loads(emitted(LOOPS, "json"))
    assert {k: v for k, v in prog.items() if k != "streams"} == {
        k: v for k, v in flat.items() if k != "streams"
    }
    glob, core0, core1 = prog["streams"].values()
    assert glob[0] == {"op": "loop", "var": "i0", "count": 2, "lb": 0, "ub": 16,
                       "step": 8}  # fmt: skip
    assert glob[1]["src"]["offsets"] == [{"const": 0, "i0": 2}]
    assert glob[1]["dst"]["offsets"] == [{"expr": "i0 floordiv 8"}]
    assert glob[2] == {"op": "endloop", "var": "i0"}
    assert [o["op"] for o in core0] == [
        *("barrier", "dma", "load_weights", "loop", "if", "simd", "endif"),
        *("loop", "dma", "mvm", "dma", "if", "dma", "endif", "endloop"),
        "endloop",
    ]
    assert core0[3] == {"op": "loop", "var": "i0", "count": 4}
    assert core0[4] == {"op": "if", "lhs": {"const": 0, "i0": 1}, "pred": "eq",
                        "rhs": 0}  # fmt: skip
    assert core0[7] == {"op": "loop", "var": "i1", "count": 3, "lb": 1, "ub": 7,
                        "step": 2}  # fmt: skip
    dma = core0[8]
    assert dma["src"]["offsets"] == [{"expr": "(i0*2+i1) mod 5 * 24"}]
    assert dma["dst"]["half"] == {"const": 0, "i0": 1, "i1": 1}
    assert core0[1]["dst"]["half"] == 0
    assert core0[10]["src"]["half"] == {"const": 1, "i0": 1}
    assert core0[11] == {"op": "if", "lhs": {"expr": "i0 + (i0*3+i1) floordiv 4"},
                         "pred": "uge", "rhs": 2}  # fmt: skip
    assert core1[1] == {"op": "loop", "var": "i0", "count": 3}
    # instruction objects keep the json keys
    assert set(core0[9]) == set(flat["streams"]["core0"][5])


def test_loop_free_programs_match_flat() -> None:
    for fmt in ("asm", "json"):
        assert emitted(SIMD, f"{fmt}-loops") == emitted(SIMD, fmt)
    # SMALL's only loop alternates halves
    text = emitted(SMALL, "asm-loops")
    assert (
        text.replace(
            "core0: LOOP i0 2\n"
            "core0:   MVM b1.h(i0)[0][8], b3[0,0][8,4] -> b4[0][4] ib=8 bpc=2 acc=1 ; fc\n"
            "core0: ENDLOOP i0\n",
            "core0: MVM b1.h0[0][8], b3[0,0][8,4] -> b4[0][4] ib=8 bpc=2 acc=1 ; fc\n"
            "core0: MVM b1.h1[0][8], b3[0,0][8,4] -> b4[0][4] ib=8 bpc=2 acc=1 ; fc\n",
        )
        == SMALL_ASM
    )


def test_loops_need_constant_bounds() -> None:
    text = f"""
cim.program @tri(%x: memref<8xi8, "DRAM">) arch "t" cores 1 {LEVELS} {{
  %l = cim.alloc : memref<1xi8, "LB">
  cim.core 0 {{
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    scf.for %i = %c0 to %c4 step %c1 {{
      scf.for %j = %i to %c4 step %c1 {{
        cim.dma %x[%j] [1] -> %l : memref<8xi8, "DRAM"> -> memref<1xi8, "LB">
      }}
    }}
  }}
}}
"""
    assert emit(parse(text), "asm", io.StringIO()) == 10  # the flat form copes
    for fmt in ("asm-loops", "json-loops"):
        with pytest.raises(MiredoError, match="lower bound of a loop is not a const"):
            emit(parse(text), fmt, io.StringIO())


# ---- a reference interpreter of json-loops ----------------------------------- #

_U64 = 1 << 64


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


_PREDS: dict[str, Callable[[int, int], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "slt": lambda a, b: a < b,
    "sle": lambda a, b: a <= b,
    "sgt": lambda a, b: a > b,
    "sge": lambda a, b: a >= b,
    "ult": lambda a, b: a % _U64 < b % _U64,
    "ule": lambda a, b: a % _U64 <= b % _U64,
    "ugt": lambda a, b: a % _U64 > b % _U64,
    "uge": lambda a, b: a % _U64 >= b % _U64,
}
_FNS: dict[str, Callable[[int, int], int]] = {
    "divsi": _trunc_div,
    "remsi": lambda a, b: a - b * _trunc_div(a, b),
    "divui": lambda a, b: (a % _U64) // (b % _U64),
    "remui": lambda a, b: (a % _U64) % (b % _U64),
    "min": min,
    "max": max,
    "minu": lambda a, b: min(a, b, key=lambda v: v % _U64),
    "maxu": lambda a, b: max(a, b, key=lambda v: v % _U64),
    "and": lambda a, b: a & b,
    "or": lambda a, b: a | b,
    "xor": lambda a, b: a ^ b,
}
_FNS.update({p: (lambda a, b, f=f: int(f(a, b))) for p, f in _PREDS.items()})
_MUL: dict[str, Callable[[int, int], int]] = {
    "*": lambda a, b: a * b,
    "floordiv": lambda a, b: a // b,
    "ceildiv": lambda a, b: -(-a // b),
    "mod": lambda a, b: a % b,
}


def eval_expr(text: str, env: dict[str, int]) -> int:
    """Evaluate ``text`` in the expression grammar of `miredo.tools.cim_emit`."""
    tokens = re.findall(r"\d+|[A-Za-z_]\w*|[-+*(),]|\S", text)
    pos = 0

    def take(expected: str | None = None) -> str:
        nonlocal pos
        tok = tokens[pos]
        assert expected is None or tok == expected, (text, pos, tok)
        pos += 1
        return tok

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def expr() -> int:
        v = term()
        while peek() in ("+", "-"):
            v = v + term() if take() == "+" else v - term()
        return v

    def term() -> int:
        v = factor()
        while peek() in _MUL:
            v = _MUL[take()](v, factor())
        return v

    def factor() -> int:
        tok = take()
        if tok == "-":
            return -factor()
        if tok == "(":
            v = expr()
            take(")")
            return v
        if tok.isdigit():
            return int(tok)
        if tok in _FNS:
            take("(")
            a = expr()
            take(",")
            b = expr()
            take(")")
            return _FNS[tok](a, b)
        assert re.fullmatch(r"i\d+", tok), tok
        return env[tok]

    value = expr()
    assert pos == len(tokens), text
    return value


def eval_form(form: Any, env: dict[str, int]) -> int:
    if isinstance(form, int):
        return form
    if "expr" in form:
        return eval_expr(form["expr"], env)
    return form["const"] + sum(c * env[v] for v, c in form.items() if v != "const")


def _concrete(value: Any, env: dict[str, int]) -> Any:
    """An instruction object with its tiles evaluated."""
    if isinstance(value, list):
        return [_concrete(v, env) for v in value]
    if not isinstance(value, dict):
        return value
    if "buf" in value:
        half = value["half"]
        return {
            **value,
            "half": None if half is None else eval_form(half, env) % 2,
            "offsets": [eval_form(o, env) for o in value["offsets"]],
        }
    return {k: _concrete(v, env) for k, v in value.items()}


def expand(stream: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The dynamic instructions of a json-loops stream."""
    out: list[dict[str, Any]] = []
    pos = 0

    def block(env: dict[str, int], run: bool) -> str:
        """Run (or skip) items from ``pos`` up to the closing item; returns it."""
        nonlocal pos
        while pos < len(stream):
            item = stream[pos]
            pos += 1
            op = item["op"]
            if op in ("endloop", "else", "endif"):
                return op
            if op == "loop":
                lb, step = item.get("lb", 0), item.get("step", 1)
                values = range(lb, item.get("ub", item["count"]), step)
                assert len(values) == item["count"] and item["var"] not in env
                start = pos
                go = run and bool(values)
                for v in values if go else [lb]:  # once, not running, to skip it
                    pos = start
                    assert block({**env, item["var"]: v}, go) == "endloop"
            elif op == "if":
                taken = run and _PREDS[item["pred"]](
                    eval_form(item["lhs"], env), eval_form(item["rhs"], env)
                )
                end = block(env, taken)
                if end == "else":
                    end = block(env, run and not taken)
                assert end == "endif"
            elif run:
                out.append(_concrete(item, env))
        return "end"

    assert block({}, True) == "end"
    return out


def assert_equivalent(module: ModuleOp, skip: Sequence[str] = ()) -> int:
    """json-loops expands to json, program by program (but those named in
    ``skip``); returns the number of dynamic instructions compared."""
    count = 0
    for program in programs_of(module):
        if program.sym_name.data in skip:
            continue
        flat_text, loops_text = io.StringIO(), io.StringIO()
        emit(program, "json", flat_text)
        emit(program, "json-loops", loops_text)
        (flat,) = json.loads(flat_text.getvalue())
        (loops,) = json.loads(loops_text.getvalue())
        assert list(loops["streams"]) == list(flat["streams"])
        for name, items in loops["streams"].items():
            assert expand(items) == flat["streams"][name], (flat["program"], name)
            count += len(flat["streams"][name])
        loops.pop("streams")
        flat.pop("streams")
        assert loops == flat
    return count


def test_json_loops_expands_to_json() -> None:
    """Nested loops, scf.if, select_half, affine mod/floordiv, remui/divsi."""
    module = parse(LOOPS + SMALL + SIMD)
    # LOOPS: global 2 + 1, core0 3 + 1 + 4 * 3 * 3 + 9 (the else-branch runs for
    # 9 of the 12 (i0, i1)), core1 1 + 9 * 2; SMALL 18; SIMD 9
    assert assert_equivalent(module) == 3 + 49 + 19 + 18 + 9


def test_json_loops_expands_to_json_on_a_lowered_conv() -> None:
    from miredo.frontends import testmodels
    from miredo.frontends.onnx import import_onnx_model
    from miredo.passes.convert_nest_to_cim import ConvertNestToCimPass
    from miredo.passes.miredo_dataflow import annotate
    from miredo.solver.hardware import load_arch

    m = import_onnx_model(testmodels.resnet_block(), source="x")
    annotate(m, load_arch("small"), mapper="heuristic")
    ConvertNestToCimPass(arch="small").apply(Context(), m)
    # conv2 and conv3 have conv1's loop nest with larger trip counts (37k instead
    # of 10k instructions per core): left out to keep the test fast
    assert assert_equivalent(m, skip=("conv2", "conv3")) > 20_000
    sizes = {}
    for fmt in ("asm", "asm-loops"):
        out = io.StringIO()
        emit(m, fmt, out)
        sizes[fmt] = len(out.getvalue())
    assert sizes["asm-loops"] * 100 < sizes["asm"]
