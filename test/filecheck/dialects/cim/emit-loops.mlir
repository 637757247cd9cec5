// RUN: miredo-opt %s --emit=asm-loops | filecheck %s --check-prefix=ASM
// RUN: miredo-opt %s --emit=json-loops | filecheck %s --check-prefix=JSON
// RUN: miredo-opt %s --emit=json-loops -o %t && python -c "import json, sys; json.load(open(sys.argv[1]))" %t

// The structured encoding keeps loops and branches: offsets and halves are forms
// over the loop counters. (d0 * 8 + d1) floordiv 8 folds to i0 over the counters'
// ranges, the mod that does not fold prints as an expression, the half index
// i0 * 3 + i1 * 2 prints mod 2. A barrier lists the buffers it protects.

cim.program @tiles(%x: memref<64xi8, "DRAM">, %y: memref<4x8xi8, "DRAM">) arch "t" cores 1 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %ib = cim.alloc "fc" halves 2 : memref<8xi8, "IReg">
  %o = cim.alloc : memref<8xi8, "OReg">
  cim.core 0 {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %c8 = arith.constant 8 : index
    scf.for %i = %c0 to %c4 step %c1 {
      scf.for %j = %c0 to %c8 step %c4 {
        %row = affine.apply affine_map<(d0, d1) -> ((d0 * 8 + d1) floordiv 8)>(%i, %j)
        %off = affine.apply affine_map<(d0, d1) -> (((d0 * 3 + d1) mod 5) * 8)>(%i, %j)
        %p = affine.apply affine_map<(d0, d1) -> (d0 * 3 + d1 * 2)>(%i, %j)
        %h = cim.select_half %ib, %p : memref<8xi8, "IReg">
        cim.dma "fc" %x[%off] [8] -> %h : memref<64xi8, "DRAM"> -> memref<8xi8, "IReg">
        %first = arith.cmpi eq, %j, %c0 : index
        scf.if %first {
          cim.simd fill(0.0) ins() outs(%o) : -> memref<8xi8, "OReg">
        } else {
          cim.dma %o -> %y[%row, 0] [1, 8] : memref<8xi8, "OReg"> -> memref<4x8xi8, "DRAM">
        }
      }
    }
    cim.barrier 0 on %o : memref<8xi8, "OReg">
  }
}

// ASM:      .program @tiles arch="t" cores=1 shared=DRAM,GB per_core=LB,IReg,Macro,OReg macro=Macro
// ASM-NEXT: .buffer a0 DRAM 64xi8 halves=1 bits=8
// ASM-NEXT: .buffer a1 DRAM 4x8xi8 halves=1 bits=8
// ASM-NEXT: .buffer b0 IReg 8xi8 halves=2 bits=8
// ASM-NEXT: .buffer b1 OReg 8xi8 halves=1 bits=8
// ASM-NEXT: core0: LOOP i0 4
// ASM-NEXT: core0:   LOOP i1 from 0 to 8 step 4
// ASM-NEXT: core0:     DMA a0[(i0*3+i1) mod 5 * 8][8] -> b0.h(i0)[0][8] ; fc
// ASM-NEXT: core0:     IF i1==0
// ASM-NEXT: core0:       SIMD.fill -> b1[0][8] value=0.0
// ASM-NEXT: core0:     ELSE
// ASM-NEXT: core0:       DMA b1[0][8] -> a1[i0,0][1,8]
// ASM-NEXT: core0:     ENDIF
// ASM-NEXT: core0:   ENDLOOP i1
// ASM-NEXT: core0: ENDLOOP i0
// ASM-NEXT: core0: BARRIER id=0 on=b1
// ASM-NOT:  {{.}}

// JSON:      "queues": [],
// JSON-NEXT:  "streams": {
// JSON-NEXT:   "core0": [
// JSON-NEXT:    {"op": "loop", "var": "i0", "count": 4},
// JSON-NEXT:      {"op": "loop", "var": "i1", "count": 2, "lb": 0, "ub": 8, "step": 4},
// JSON-NEXT:        {"op": "dma", "stream": "core0", "node": "fc", "src": {"buf": "a0", "half": null, "offsets": [{"expr": "(i0*3+i1) mod 5 * 8"}], {{.*}} "dst": {"buf": "b0", "half": {"const": 0, "i0": 1}, "offsets": [0], {{.*}}},
// JSON-NEXT:        {"op": "if", "lhs": {"const": 0, "i1": 1}, "pred": "eq", "rhs": 0},
// JSON-NEXT:          {"op": "simd", {{.*}}},
// JSON-NEXT:        {"op": "else"},
// JSON-NEXT:          {"op": "dma", {{.*}} "dst": {"buf": "a1", "half": null, "offsets": [{"const": 0, "i0": 1}, 0], {{.*}}},
// JSON-NEXT:        {"op": "endif"},
// JSON-NEXT:      {"op": "endloop", "var": "i1"},
// JSON-NEXT:    {"op": "endloop", "var": "i0"},
// JSON-NEXT:    {"op": "barrier", "stream": "core0", "node": null, "id": 0, "on": ["b1"]}
// JSON-NEXT:   ]
// JSON-NEXT:  }}
// JSON-NEXT: ]
