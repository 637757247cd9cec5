// RUN: miredo-opt %s --emit=asm | filecheck %s --check-prefix=ASM
// RUN: miredo-opt %s --emit=json | filecheck %s --check-prefix=JSON
// RUN: miredo-opt %s --emit=json -o %t && python -c "import json, sys; json.load(open(sys.argv[1]))" %t

// The flat instruction encoding of a two-core program: loops unrolled, offsets and
// ping-pong halves evaluated, one stream after the other; controller queues with
// their priorities, barriers with the buffers they protect, a multicast and a
// gather (per-core source, shifts on the shared destination).

cim.program "net" @small(%x: memref<2x8xi8, "DRAM">, %w: memref<8x4xi8, "DRAM">, %y: memref<2x4xi8, "DRAM">) arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro arg_bits [8, 4, 8] {
  %g = cim.alloc : memref<2x8xi8, "GB">
  %ib = cim.alloc "fc" halves 2 : memref<8xi8, "IReg">
  %lb = cim.alloc : memref<8x4xi8, "LB">
  %m = cim.alloc : memref<8x4xi8, "Macro">
  %acc = cim.alloc bits 24 : memref<4xi32, "OReg">
  %q = cim.alloc : memref<4xi8, "LB">
  cim.global {
    %c0 = arith.constant 0 : index
    cim.dma "fc" %x -> %g : memref<2x8xi8, "DRAM"> -> memref<2x8xi8, "GB">
    cim.dma %w -> %lb cores [0, 1] : memref<8x4xi8, "DRAM"> -> memref<8x4xi8, "LB">
    %h0 = cim.select_half %ib, %c0 : memref<8xi8, "IReg">
    cim.dma %g[0, 0] [1, 7] -> %h0[0] [7] cores [0, 1] shifts [[0, 0], [1, 1]] : memref<2x8xi8, "GB"> -> memref<8xi8, "IReg">
    cim.dma %x[0, -1] [1, 4] [1, 2] -> %g[1, 0] [1, 4] zero_pad : memref<2x8xi8, "DRAM"> -> memref<2x8xi8, "GB">
    cim.barrier 0
  }
  cim.global queue 1 priority 3 {
    cim.barrier 1 on %q, %ib : memref<4xi8, "LB">, !cim.pingpong<memref<8xi8, "IReg">>
    cim.dma %q[0] [2] -> %y[0, 0] [1, 2] cores [0, 1] shifts [[0, 0], [1, 2]] : memref<4xi8, "LB"> -> memref<2x4xi8, "DRAM">
  }
  cim.core 0 {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    cim.barrier 0
    cim.load_weights "fc" %lb -> %m : memref<8x4xi8, "LB"> -> memref<8x4xi8, "Macro">
    scf.for %i = %c0 to %c2 step %c1 {
      %h = cim.select_half %ib, %i : memref<8xi8, "IReg">
      cim.mvm "fc" %h, %m -> %acc input_bits 8 bits_per_cycle 2 acc : memref<8xi8, "IReg">, memref<8x4xi8, "Macro"> -> memref<4xi32, "OReg">
    }
    cim.simd relu ins(%acc) outs(%acc) : memref<4xi32, "OReg"> -> memref<4xi32, "OReg">
    cim.requant "fc" scale 0.5 zero_point -2 ins(%acc) outs(%q) : memref<4xi32, "OReg"> -> memref<4xi8, "LB">
    cim.send %q[0] [2] to 1 tag 3 : memref<4xi8, "LB">
    cim.barrier 1 on %q, %ib : memref<4xi8, "LB">, !cim.pingpong<memref<8xi8, "IReg">>
  }
  cim.core 1 {
    cim.barrier 0
    cim.recv %q[2] [2] from 0 tag 3 : memref<4xi8, "LB">
    cim.dma %q -> %y[1, 0] [1, 4] : memref<4xi8, "LB"> -> memref<2x4xi8, "DRAM">
  }
}

// ASM:      .program @small arch="t" cores=2 shared=DRAM,GB per_core=LB,IReg,Macro,OReg macro=Macro
// ASM-NEXT: .buffer a0 DRAM 2x8xi8 halves=1 bits=8
// ASM-NEXT: .buffer a1 DRAM 8x4xi8 halves=1 bits=4
// ASM:      .buffer b1 IReg 8xi8 halves=2 bits=8
// ASM:      .buffer b4 OReg 4xi32 halves=1 bits=24
// ASM-NEXT: .buffer b5 LB 4xi8 halves=1 bits=8
// ASM-NEXT: .queue global id=0 priority=0
// ASM-NEXT: .queue global1 id=1 priority=3
// ASM-NEXT: global: DMA a0[0,0][2,8] -> b0[0,0][2,8]                ; fc
// ASM-NEXT: global: DMA a1[0,0][8,4] -> b2[0,0][8,4] cores=0,1
// ASM-NEXT: global: DMA b0[0,0][1,7] -> b1.h0[0][7] cores=0,1 shifts=[0,0][1,1]
// ASM-NEXT: global: DMA a0[0,-1][1,4][1,2] -> b0[1,0][1,4] zero_pad=1
// ASM-NEXT: global: BARRIER id=0
// ASM-NEXT: global1: BARRIER id=1 on=b5,b1
// ASM-NEXT: global1: DMA b5[0][2] -> a2[0,0][1,2] cores=0,1 shifts=[0,0][1,2]
// ASM-NEXT: core0: BARRIER id=0
// ASM-NEXT: core0: LDW b2[0,0][8,4] -> b3[0,0][8,4]                 ; fc
// ASM-NEXT: core0: MVM b1.h0[0][8], b3[0,0][8,4] -> b4[0][4] ib=8 bpc=2 acc=1 ; fc
// ASM-NEXT: core0: MVM b1.h1[0][8], b3[0,0][8,4] -> b4[0][4] ib=8 bpc=2 acc=1 ; fc
// ASM-NEXT: core0: SIMD.relu b4[0][4] -> b4[0][4]
// ASM-NEXT: core0: REQUANT b4[0][4] -> b5[0][4] scale=0.5 zero_point=-2 ; fc
// ASM-NEXT: core0: SEND b5[0][2] peer=1 tag=3
// ASM-NEXT: core0: BARRIER id=1 on=b5,b1
// ASM-NEXT: core1: BARRIER id=0
// ASM-NEXT: core1: RECV b5[2][2] peer=0 tag=3
// ASM-NEXT: core1: DMA b5[0][4] -> a2[1,0][1,4]
// ASM-NOT:  {{.}}

// JSON:      [
// JSON-NEXT: {"program": "small", "arch": "t", "cores": 2, "levels": {"shared": ["DRAM", "GB"], "per_core": ["LB", "IReg", "Macro", "OReg"], "macro": "Macro"},
// JSON-NEXT:  "buffers": [
// JSON-NEXT:   {"id": "a0", "space": "DRAM", "shape": [2, 8], "dtype": "i8", "halves": 1, "bits": 8},
// JSON-NEXT:   {"id": "a1", "space": "DRAM", "shape": [8, 4], "dtype": "i8", "halves": 1, "bits": 4},
// JSON:        {"id": "b5", "space": "LB", "shape": [4], "dtype": "i8", "halves": 1, "bits": 8}
// JSON-NEXT:  ],
// JSON-NEXT:  "queues": [
// JSON-NEXT:   {"stream": "global", "id": 0, "priority": 0, "boot": 0},
// JSON-NEXT:   {"stream": "global1", "id": 1, "priority": 3, "boot": 3}
// JSON-NEXT:  ],
// JSON-NEXT:  "streams": {
// JSON-NEXT:   "global": [
// JSON-NEXT:    {"op": "dma", "stream": "global", "node": "fc", "src": {"buf": "a0", "half": null, "offsets": [0, 0], "sizes": [2, 8], "strides": [1, 1]}, "dst": {"buf": "b0", "half": null, "offsets": [0, 0], "sizes": [2, 8], "strides": [1, 1]}, "cores": null, "shifts": null, "zero_pad": false},
// JSON-NEXT:    {"op": "dma", {{.*}} "cores": [0, 1], "shifts": null, "zero_pad": false},
// JSON-NEXT:    {"op": "dma", {{.*}} "dst": {"buf": "b1", "half": 0, "offsets": [0], "sizes": [7], "strides": [1]}, "cores": [0, 1], "shifts": [[0, 0], [1, 1]], "zero_pad": false},
// JSON-NEXT:    {"op": "dma", {{.*}} "offsets": [0, -1], "sizes": [1, 4], "strides": [1, 2]}, {{.*}} "zero_pad": true},
// JSON-NEXT:    {"op": "barrier", "stream": "global", "node": null, "id": 0, "on": null}
// JSON-NEXT:   ],
// JSON-NEXT:   "global1": [
// JSON-NEXT:    {"op": "barrier", "stream": "global1", "node": null, "id": 1, "on": ["b5", "b1"]},
// JSON-NEXT:    {"op": "dma", "stream": "global1", "node": null, "src": {"buf": "b5", "half": null, "offsets": [0], "sizes": [2], "strides": [1]}, "dst": {"buf": "a2", "half": null, "offsets": [0, 0], "sizes": [1, 2], "strides": [1, 1]}, "cores": [0, 1], "shifts": [[0, 0], [1, 2]], "zero_pad": false}
// JSON-NEXT:   ],
// JSON-NEXT:   "core0": [
// JSON-NEXT:    {"op": "barrier", "stream": "core0", "node": null, "id": 0, "on": null},
// JSON-NEXT:    {"op": "load_weights", "stream": "core0", "node": "fc", "src": {"buf": "b2", {{.*}}}, "macro": {"buf": "b3", {{.*}}}, "cores": null, "shifts": null},
// JSON-NEXT:    {"op": "mvm", "stream": "core0", "node": "fc", "input": {"buf": "b1", "half": 0, {{.*}}, "input_bits": 8, "bits_per_cycle": 2, "acc": true, "zero_pad": false},
// JSON-NEXT:    {"op": "mvm", "stream": "core0", "node": "fc", "input": {"buf": "b1", "half": 1, {{.*}}, "input_bits": 8, "bits_per_cycle": 2, "acc": true, "zero_pad": false},
// JSON-NEXT:    {"op": "simd", "stream": "core0", "node": null, "inputs": [{"buf": "b4", {{.*}}], "output": {"buf": "b4", {{.*}}, "fn": "relu", "min": null, "max": null, "approximate": null, "value": null},
// JSON-NEXT:    {"op": "requant", {{.*}} "scale": 0.5, "zero_point": -2},
// JSON-NEXT:    {"op": "send", "stream": "core0", "node": null, "tile": {"buf": "b5", "half": null, "offsets": [0], "sizes": [2], "strides": [1]}, "peer": 1, "tag": 3},
// JSON-NEXT:    {"op": "barrier", "stream": "core0", "node": null, "id": 1, "on": ["b5", "b1"]}
// JSON-NEXT:   ],
// JSON-NEXT:   "core1": [
// JSON-NEXT:    {"op": "barrier", "stream": "core1", "node": null, "id": 0, "on": null},
// JSON-NEXT:    {"op": "recv", {{.*}} "peer": 0, "tag": 3},
// JSON-NEXT:    {"op": "dma", "stream": "core1", {{.*}}}
// JSON-NEXT:   ]
// JSON-NEXT:  }}
// JSON-NEXT: ]
