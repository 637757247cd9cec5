// RUN: miredo-opt %s --convert-nest-to-cim=arch=tiny | filecheck %s
// RUN: miredo-opt %s --convert-nest-to-cim=arch=tiny | miredo-opt | filecheck %s
// RUN: not miredo-opt %s --convert-nest-to-cim=arch=small 2>&1 | filecheck %s --check-prefix=WRONGARCH
// RUN: sed -e 's/dataflow = #nest.dataflow<[^>]*>//' -e 's/ {}//' %s | not miredo-opt --convert-nest-to-cim=arch=tiny 2>&1 | filecheck %s --check-prefix=NOATTR

// A 1x1 conv, K=2 C=2 P=4 Q=4, mapped on the tiny arch: P split over the 2 cores
// below a temporal P loop, C on the macro rows, K on its columns; I and O bypass
// the global buffer, O keeps partial tiles of P2 x Q2 in LB.

func.func @conv(%x: memref<1x2x4x4xf32>, %w: memref<2x2x1x1xf32>, %y: memref<1x2x4x4xf32>) {
  nest.contract "conv1" conv dims<N=1, G=1, K=2, C=2, P=4, Q=4, R=1, S=1> stride [1, 1] dilation [1, 1] pad [0, 0, 0, 0] ins(%x[n, g * 2 + c, p, q], %w[g * 2 + k, c, r, s]) outs(%y[n, g * 2 + k, p, q]) {dataflow = #nest.dataflow<arch "tiny", mapper miredo, objective latency, spatial {cores = [P:2], rows = [C:2], cols = [K:2]}, temporal [Q:2, Q:2, P:2], levels {I = [DRAM, DRAM, DRAM], W = [Macro, Macro, Macro], O = [DRAM, LB, LB]}, bypass {I = [GB], W = [GB], O = [GB]}, double_buffer [LB:I, LB:O, IReg:I, OReg:O], latency 36, energy 3916.0, edp 140976.0, status optimal, gap 0.0>} : memref<1x2x4x4xf32>, memref<2x2x1x1xf32> -> memref<1x2x4x4xf32>
  func.return
}

// Host: weights packed to G, C, R, S, K, then one launch.
// CHECK:      nest.reshape "conv1.pack" ins(%w) outs(%[[R:.*]]) : memref<2x2x1x1xf32> -> memref<1x2x2x1x1xf32>
// CHECK-NEXT: %[[P:.*]] = memref.alloc() : memref<1x2x1x1x2xf32>
// CHECK-NEXT: nest.transpose "conv1.pack" perm [0, 2, 3, 4, 1] ins(%[[R]]) outs(%[[P]])
// CHECK-NEXT: cim.launch @conv1(%x, %[[P]], %y)

// One buffer per used level and operand; ping-pong where double-buffered.
// CHECK:      cim.program "conv1" @conv1({{.*}}) arch "tiny" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro arg_bits [4, 4, 4] {{[{]$}}
// CHECK-NEXT:   %[[LBI:.*]] = cim.alloc "conv1" halves 2 bits 4 : memref<1x2x1x1xf32, "LB">
// CHECK-NEXT:   %[[IREG:.*]] = cim.alloc "conv1" halves 2 bits 4 : memref<1x2x1x1xf32, "IReg">
// CHECK-NEXT:   %[[LBW:.*]] = cim.alloc "conv1" bits 4 : memref<1x2x1x1x2xf32, "LB">
// CHECK-NEXT:   %[[MACRO:.*]] = cim.alloc "conv1" bits 4 : memref<2x2xf32, "Macro">
// CHECK-NEXT:   %[[LBO:.*]] = cim.alloc "conv1" halves 2 bits 4 : memref<1x2x2x2xf32, "LB">
// CHECK-NEXT:   %[[OREG:.*]] = cim.alloc "conv1" halves 2 bits 8 : memref<1x2x1x1xf32, "OReg">

// The shared controller: one queue per edge out of a shared level, so the
// input prefetch, the weight load and the output gathers do not wait for one
// another. Queue 0 multicasts the inputs per (Q, Q, P) iteration with each
// core's own window; the tiles are ping-pong buffers, so there is no barrier
// before the multicast (the previous iteration's barrier orders the reuse of a
// half), only the one after it. Every barrier names the buffer it hands over, so
// a stream waits for it only where it next touches that buffer. Port priorities
// by slack: the one-time weight load first (12), then the per-P input tiles (3),
// then the per-outer-Q output gathers (1); the first input tile has no slack
// and follows the one-time loads (boot 9).
// CHECK:      cim.global "conv1" priority 3 boot 9 {{[{]$}}
// CHECK:        scf.for
// CHECK:          scf.for
// CHECK:            scf.for
// CHECK:              cim.select_half "conv1" %[[LBI]]
// CHECK-NOT:          cim.barrier
// CHECK:              cim.dma "conv1" %{{.*}}[0, 0, %{{.*}}, %{{.*}}] [1, 2, 1, 1] -> %{{.*}} cores [0, 1] shifts {{\[\[}}0, 0, 0, 0], [0, 0, 1, 0]]
// CHECK-NEXT:         cim.barrier "conv1" 0 on %[[LBI]] : !cim.pingpong<memref<1x2x1x1xf32, "LB">>
// Queue 1: the weights, once; the weight buffer is single: barriers on both sides.
// CHECK:      cim.global "conv1" queue 1 priority 12 {{[{]$}}
// CHECK-NEXT:   cim.barrier "conv1" 1 on %[[LBW]] : memref<1x2x1x1x2xf32, "LB">
// CHECK-NEXT:   cim.dma "conv1" %{{.*}} -> %[[LBW]] cores [0, 1]
// CHECK-NEXT:   cim.barrier "conv1" 2 on %[[LBW]] : memref<1x2x1x1x2xf32, "LB">
// CHECK-NEXT: }
// Queue 2: the outputs, gathered per outer Q: one DMA reads both cores' tiles
// and writes each to its window of the output (the cores' P rows interleave).
// CHECK:      cim.global "conv1" queue 2 priority 1 {{[{]$}}
// CHECK:        scf.for
// CHECK:          cim.select_half "conv1" %[[LBO]], %{{.*}}
// CHECK-NEXT:     cim.barrier "conv1" 3 on %[[LBO]] : !cim.pingpong<memref<1x2x2x2xf32, "LB">>
// CHECK:          cim.dma "conv1" %{{.*}} -> %{{.*}}[0, 0, 0, %{{.*}}] [1, 2, 2, 2] [1, 1, 2, 1] cores [0, 1] shifts {{\[\[}}0, 0, 0, 0], [0, 0, 1, 0]]
// CHECK-NEXT:   }

// Each core: weights into the macro once; per innermost iteration: wait for the
// input tile, input to the register, a zeroed accumulator, the write-back of the
// previous iteration's accumulator (double-buffered; deferred past this
// iteration's loads, none on the first) into the LB partial-sum tile (which needs
// no zeroing: every element is written before it is read), MVM; after the loops
// the last accumulator's write-back, then the tile is handed to queue 2 per outer Q.
// CHECK:      cim.core "conv1" 0 {{[{]$}}
// CHECK-NEXT:   cim.barrier "conv1" 1
// CHECK-NEXT:   cim.barrier "conv1" 2
// CHECK-NEXT:   cim.load_weights "conv1" %[[LBW]] -> %[[MACRO]]
// CHECK:        scf.for
// CHECK-NOT:      cim.simd
// CHECK:              cim.barrier "conv1" 0
// CHECK-NEXT:         cim.dma "conv1" %{{.*}} -> %{{.*}} : memref<1x2x1x1xf32, "LB"> -> memref<1x2x1x1xf32, "IReg">
// CHECK-NEXT:         cim.simd "conv1" fill(0.0) ins() outs(%{{.*}}) : -> memref<1x2x1x1xf32, "OReg">
// CHECK:              scf.if
// CHECK-NEXT:         } else {
// CHECK:                cim.dma "conv1" %{{.*}} -> %{{.*}}[0, 0, %{{.*}}, %{{.*}}] [1, 2, 1, 1] : memref<1x2x1x1xf32, "OReg"> -> memref<1x2x2x2xf32, "LB">
// CHECK-NEXT:         }
// CHECK-NEXT:         cim.mvm "conv1" %{{.*}}, %[[MACRO]] -> %{{.*}} input_bits 4 bits_per_cycle 2 acc
// CHECK-NEXT:       }
// CHECK-NEXT:     }
// CHECK:          cim.dma "conv1" %{{.*}} -> %{{.*}}[0, 0, %{{.*}}, %{{.*}}] [1, 2, 1, 1] : memref<1x2x1x1xf32, "OReg"> -> memref<1x2x2x2xf32, "LB">
// CHECK-NEXT:     cim.barrier "conv1" 3 on %[[LBO]]
// CHECK:      cim.core "conv1" 1

// WRONGARCH: miredo-opt: node 'conv1': error: the dataflow was solved for arch 'tiny' but the lowering targets 'small'
// NOATTR: miredo-opt: node 'conv1': error: contraction has no dataflow attribute; run --miredo-dataflow first
