// RUN: MIREDO_ROUNDTRIP
// RUN: miredo-opt %s --split-input-file --print-op-generic | filecheck %s --check-prefix=GENERIC

// Every cim op in its custom syntax; the first RUN line prints it generically,
// parses it back and prints it custom again.

// A 3x3 conv tile on two cores: the global stream multicasts the input tile, each
// core loads its half of the output channels into its macro and runs one MVM per
// output pixel, double-buffering the input register.
cim.program "net" @conv1(%x: memref<1x4x6x6xi8, "DRAM">, %w: memref<2x36x8xi8, "DRAM">, %y: memref<1x16x4x4xi8, "DRAM">) arch "small" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro attributes {layer = 3 : i64} {
  %gb = cim.alloc "conv1" halves 2 : memref<4x6x6xi8, "GB">
  %lb = cim.alloc "conv1" : memref<4x6x6xi8, "LB">
  %wl = cim.alloc : memref<36x8xi8, "LB">
  %ib = cim.alloc halves 2 : memref<16xi8, "IReg">
  %m = cim.alloc : memref<16x8xi8, "Macro">
  %acc = cim.alloc : memref<8xi32, "OReg">
  %q = cim.alloc : memref<8xi8, "LB">
  cim.global {
    %c0 = arith.constant 0 : index
    %h = cim.select_half %gb, %c0 : memref<4x6x6xi8, "GB">
    cim.dma "conv1" %x[0, 0, 0, 0] [1, 4, 6, 6] -> %h : memref<1x4x6x6xi8, "DRAM"> -> memref<4x6x6xi8, "GB">
    cim.dma "conv1" %h -> %lb cores [0, 1] : memref<4x6x6xi8, "GB"> -> memref<4x6x6xi8, "LB">
    cim.dma "conv1" %w[0, 0, 0] [1, 36, 8] -> %wl cores [0] : memref<2x36x8xi8, "DRAM"> -> memref<36x8xi8, "LB">
    cim.dma "conv1" %w[1, 0, 0] [1, 36, 8] -> %wl cores [1] : memref<2x36x8xi8, "DRAM"> -> memref<36x8xi8, "LB">
    cim.barrier "conv1" 0 on %lb, %wl : memref<4x6x6xi8, "LB">, memref<36x8xi8, "LB">
  }
  cim.core 0 {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    cim.barrier 0 on %lb, %wl : memref<4x6x6xi8, "LB">, memref<36x8xi8, "LB">
    cim.load_weights "conv1" %wl[0, 0] [16, 8] -> %m : memref<36x8xi8, "LB"> -> memref<16x8xi8, "Macro">
    scf.for %p = %c0 to %c4 step %c1 {
      %hi = cim.select_half "conv1" %ib, %p : memref<16xi8, "IReg">
      cim.dma "conv1" %lb[0, %p, 0] [1, 3, 3] -> %hi[0] [9] : memref<4x6x6xi8, "LB"> -> memref<16xi8, "IReg">
      cim.mvm "conv1" %hi[0] [9], %m[0, 0] [9, 8] -> %acc input_bits 8 bits_per_cycle 1 : memref<16xi8, "IReg">, memref<16x8xi8, "Macro"> -> memref<8xi32, "OReg">
      cim.mvm "conv1" %hi[9] [7], %m[9, 0] [7, 8] -> %acc input_bits 8 bits_per_cycle 2 acc : memref<16xi8, "IReg">, memref<16x8xi8, "Macro"> -> memref<8xi32, "OReg">
      cim.simd "conv1" relu ins(%acc) outs(%acc) : memref<8xi32, "OReg"> -> memref<8xi32, "OReg">
      cim.requant "conv1" scale 0.0125 zero_point -3 ins(%acc) outs(%q) : memref<8xi32, "OReg"> -> memref<8xi8, "LB">
      cim.dma "conv1" %q -> %y[0, 0, %p, 0] [1, 8, 1, 1] : memref<8xi8, "LB"> -> memref<1x16x4x4xi8, "DRAM">
    }
    cim.send "conv1" %acc[0] [4] to 1 tag 2 : memref<8xi32, "OReg">
  }
  cim.core 1 {
    cim.barrier 0
    cim.recv "conv1" %acc[4] [4] from 0 tag 2 : memref<8xi32, "OReg">
  }
}

// CHECK-LABEL: cim.program "net" @conv1(%x: memref<1x4x6x6xi8, "DRAM">, %w: memref<2x36x8xi8, "DRAM">, %y: memref<1x16x4x4xi8, "DRAM">) arch "small" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro attributes {layer = 3 : i64} {
// CHECK-NEXT:    %gb = cim.alloc "conv1" halves 2 : memref<4x6x6xi8, "GB">
// CHECK-NEXT:    %lb = cim.alloc "conv1" : memref<4x6x6xi8, "LB">
// CHECK-NEXT:    %wl = cim.alloc : memref<36x8xi8, "LB">
// CHECK-NEXT:    %ib = cim.alloc halves 2 : memref<16xi8, "IReg">
// CHECK-NEXT:    %m = cim.alloc : memref<16x8xi8, "Macro">
// CHECK-NEXT:    %acc = cim.alloc : memref<8xi32, "OReg">
// CHECK-NEXT:    %q = cim.alloc : memref<8xi8, "LB">
// CHECK-NEXT:    cim.global {
// CHECK-NEXT:      %c0 = arith.constant 0 : index
// CHECK-NEXT:      %h = cim.select_half %gb, %c0 : memref<4x6x6xi8, "GB">
// CHECK-NEXT:      cim.dma "conv1" %x -> %h : memref<1x4x6x6xi8, "DRAM"> -> memref<4x6x6xi8, "GB">
// CHECK-NEXT:      cim.dma "conv1" %h -> %lb cores [0, 1] : memref<4x6x6xi8, "GB"> -> memref<4x6x6xi8, "LB">
// CHECK-NEXT:      cim.dma "conv1" %w[0, 0, 0] [1, 36, 8] -> %wl cores [0] : memref<2x36x8xi8, "DRAM"> -> memref<36x8xi8, "LB">
// CHECK-NEXT:      cim.dma "conv1" %w[1, 0, 0] [1, 36, 8] -> %wl cores [1] : memref<2x36x8xi8, "DRAM"> -> memref<36x8xi8, "LB">
// CHECK-NEXT:      cim.barrier "conv1" 0 on %lb, %wl : memref<4x6x6xi8, "LB">, memref<36x8xi8, "LB">
// CHECK-NEXT:    }
// CHECK-NEXT:    cim.core 0 {
// CHECK-NEXT:      %c0_1 = arith.constant 0 : index
// CHECK-NEXT:      %c1 = arith.constant 1 : index
// CHECK-NEXT:      %c4 = arith.constant 4 : index
// CHECK-NEXT:      cim.barrier 0 on %lb, %wl : memref<4x6x6xi8, "LB">, memref<36x8xi8, "LB">
// CHECK-NEXT:      cim.load_weights "conv1" %wl[0, 0] [16, 8] -> %m : memref<36x8xi8, "LB"> -> memref<16x8xi8, "Macro">
// CHECK-NEXT:      scf.for %p = %c0_1 to %c4 step %c1 {
// CHECK-NEXT:        %hi = cim.select_half "conv1" %ib, %p : memref<16xi8, "IReg">
// CHECK-NEXT:        cim.dma "conv1" %lb[0, %p, 0] [1, 3, 3] -> %hi[0] [9] : memref<4x6x6xi8, "LB"> -> memref<16xi8, "IReg">
// CHECK-NEXT:        cim.mvm "conv1" %hi[0] [9], %m[0, 0] [9, 8] -> %acc input_bits 8 bits_per_cycle 1 : memref<16xi8, "IReg">, memref<16x8xi8, "Macro"> -> memref<8xi32, "OReg">
// CHECK-NEXT:        cim.mvm "conv1" %hi[9] [7], %m[9, 0] [7, 8] -> %acc input_bits 8 bits_per_cycle 2 acc : memref<16xi8, "IReg">, memref<16x8xi8, "Macro"> -> memref<8xi32, "OReg">
// CHECK-NEXT:        cim.simd "conv1" relu ins(%acc) outs(%acc) : memref<8xi32, "OReg"> -> memref<8xi32, "OReg">
// CHECK-NEXT:        cim.requant "conv1" scale 0.0125 zero_point -3 ins(%acc) outs(%q) : memref<8xi32, "OReg"> -> memref<8xi8, "LB">
// CHECK-NEXT:        cim.dma "conv1" %q -> %y[0, 0, %p, 0] [1, 8, 1, 1] : memref<8xi8, "LB"> -> memref<1x16x4x4xi8, "DRAM">
// CHECK-NEXT:      }
// CHECK-NEXT:      cim.send "conv1" %acc[0] [4] to 1 tag 2 : memref<8xi32, "OReg">
// CHECK-NEXT:    }
// CHECK-NEXT:    cim.core 1 {
// CHECK-NEXT:      cim.barrier 0
// CHECK-NEXT:      cim.recv "conv1" %acc[4] [4] from 0 tag 2 : memref<8xi32, "OReg">
// CHECK-NEXT:    }
// CHECK-NEXT:  }

// GENERIC-LABEL: "cim.program"() <{node = "net", sym_name = "conv1", arch = "small", cores = 2 : i64, shared_levels = ["DRAM", "GB"], core_levels = ["LB", "IReg", "Macro", "OReg"], macro_level = "Macro"}> ({
// GENERIC:         %gb = "cim.alloc"() <{node = "conv1", halves = 2 : i64}> : () -> !cim.pingpong<memref<4x6x6xi8, "GB">>
// GENERIC:         %h = "cim.select_half"(%gb, %c0) : (!cim.pingpong<memref<4x6x6xi8, "GB">>, index) -> memref<4x6x6xi8, "GB">
// GENERIC:         "cim.dma"(%h, %lb) <{node = "conv1", cores = array<i64: 0, 1>, static_offsets = array<i64: 0, 0, 0, 0, 0, 0>, sizes = array<i64: 4, 6, 6, 4, 6, 6>}>
// GENERIC:         "cim.barrier"(%lb, %wl) <{node = "conv1", id = 0 : i64}> : (memref<4x6x6xi8, "LB">, memref<36x8xi8, "LB">) -> ()
// GENERIC:         "cim.dma"(%lb, %hi, %p) <{node = "conv1", static_offsets = array<i64: 0, -9223372036854775808, 0, 0>, sizes = array<i64: 1, 3, 3, 9>}>
// GENERIC:         "cim.mvm"(%hi, %m, %acc) <{node = "conv1", input_bits = 8 : i64, bits_per_cycle = 2 : i64, acc, static_offsets = array<i64: 9, 9, 0, 0>, sizes = array<i64: 7, 7, 8, 8>}>
// GENERIC:         "cim.requant"(%acc, %q) <{node = "conv1", scale = 1.250000e-02 : f64, zero_point = -3 : i64, static_offsets = array<i64: 0, 0>, sizes = array<i64: 8, 8>, operandSegmentSizes = array<i32: 1, 1, 0>}>
// GENERIC:         "cim.send"(%acc) <{node = "conv1", peer = 1 : i64, tag = 2 : i64, static_offsets = array<i64: 0>, sizes = array<i64: 4>}>

// -----

// Data movement corner cases: strided and zero-padded tiles, a gather from one
// core's buffer, empty streams, names that must be quoted.
cim.program @moves(%a: memref<8x8xf32, "DRAM">) arch "miredo-ref" cores 4 shared [DRAM, GB] per_core [IBuf, OBuf, IReg, Macro, OReg] macro Macro {
  %g = cim.alloc : memref<8x8xf32, "GB">
  %i = cim.alloc : memref<4x4xf32, "IBuf">
  %o = cim.alloc : memref<16xf32, "OBuf">
  cim.global {
    cim.dma %a[0, 0] [4, 4] [2, 2] -> %i cores [0, 2, 3] : memref<8x8xf32, "DRAM"> -> memref<4x4xf32, "IBuf">
    cim.dma %o -> %g[0, 0] [2, 8] cores [3] : memref<16xf32, "OBuf"> -> memref<8x8xf32, "GB">
  }
  cim.core 0 {
    %k = arith.constant 3 : index
    cim.dma %a[-1, %k] [4, 4] -> %o[0] [16] zero_pad : memref<8x8xf32, "DRAM"> -> memref<16xf32, "OBuf">
  }
  cim.core 1 {
  }
  cim.core 3 {
  }
}

// CHECK-LABEL: cim.program @moves(%a: memref<8x8xf32, "DRAM">) arch "miredo-ref" cores 4 shared [DRAM, GB] per_core [IBuf, OBuf, IReg, Macro, OReg] macro Macro {
// CHECK:           cim.dma %a[0, 0] [4, 4] [2, 2] -> %i cores [0, 2, 3] : memref<8x8xf32, "DRAM"> -> memref<4x4xf32, "IBuf">
// CHECK-NEXT:      cim.dma %o -> %g[0, 0] [2, 8] cores [3] : memref<16xf32, "OBuf"> -> memref<8x8xf32, "GB">
// CHECK:           cim.dma %a[-1, %k] [4, 4] -> %o zero_pad : memref<8x8xf32, "DRAM"> -> memref<16xf32, "OBuf">
// CHECK-NEXT:    }
// CHECK-NEXT:    cim.core 1 {
// CHECK-NEXT:    }
// CHECK-NEXT:    cim.core 3 {
// CHECK-NEXT:    }

// GENERIC-LABEL: "cim.program"() <{sym_name = "moves"
// GENERIC:         "cim.dma"(%a, %i) <{cores = array<i64: 0, 2, 3>, static_offsets = array<i64: 0, 0, 0, 0>, sizes = array<i64: 4, 4, 4, 4>, strides = array<i64: 2, 2, 1, 1>}>
// GENERIC:         "cim.dma"(%a, %o, %k) <{zero_pad, static_offsets = array<i64: -1, -9223372036854775808, 0>, sizes = array<i64: 4, 4, 16>}>

// -----

// Every SIMD instruction, in a core (per-core levels) and in the global stream
// (the shared SIMD unit on the global buffer).
cim.program @simd(%d: memref<1xf32, "DRAM">) arch "table4" cores 1 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %x = cim.alloc : memref<2x16x8x8xf32, "LB">
  %t = cim.alloc : memref<2x16x4x4xf32, "LB">
  %v = cim.alloc : memref<1x16x1x1xf32, "LB">
  %b = cim.alloc : memref<16xf32, "LB">
  %s = cim.alloc : memref<8x32xf32, "LB">
  %r = cim.alloc : memref<32xf32, "LB">
  %acc = cim.alloc : memref<32xi32, "OReg">
  %qi = cim.alloc : memref<32xui8, "LB">
  %ga = cim.alloc : memref<4x32xi32, "GB">
  %gq = cim.alloc : memref<4x32xi8, "GB">
  cim.core 0 {
    cim.simd "a" relu ins(%x) outs(%x) : memref<2x16x8x8xf32, "LB"> -> memref<2x16x8x8xf32, "LB">
    cim.simd clip(min = 0.0, max = 6.0) ins(%x[0, 0, 0, 0] [1, 16, 8, 8]) outs(%x[1, 0, 0, 0] [1, 16, 8, 8]) : memref<2x16x8x8xf32, "LB"> -> memref<2x16x8x8xf32, "LB">
    cim.simd clip(max = 1.5) ins(%b) outs(%b) : memref<16xf32, "LB"> -> memref<16xf32, "LB">
    cim.simd clip() ins(%b) outs(%b) : memref<16xf32, "LB"> -> memref<16xf32, "LB">
    cim.simd gelu(tanh) ins(%s) outs(%s) : memref<8x32xf32, "LB"> -> memref<8x32xf32, "LB">
    cim.simd add ins(%x, %v) outs(%x) : memref<2x16x8x8xf32, "LB">, memref<1x16x1x1xf32, "LB"> -> memref<2x16x8x8xf32, "LB">
    cim.simd pow ins(%b, %r[0] [1]) outs(%b) : memref<16xf32, "LB">, memref<32xf32, "LB"> -> memref<16xf32, "LB">
    cim.simd fill(-2.5) ins() outs(%t) : -> memref<2x16x4x4xf32, "LB">
    cim.pool "p" max kernel [2, 2] stride [2, 2] ins(%x) outs(%t) : memref<2x16x8x8xf32, "LB"> -> memref<2x16x4x4xf32, "LB">
    cim.pool avg kernel [3, 3] stride [2, 2] dilation [1, 1] pad [1, 1, 0, 0] count_include_pad ins(%x[0, 0, 0, 0] [2, 16, 8, 8]) outs(%t) : memref<2x16x8x8xf32, "LB"> -> memref<2x16x4x4xf32, "LB">
    cim.pool max kernel [2, 2] stride [1, 1] dilation [2, 2] ins(%x[0, 0, 0, 0] [2, 16, 6, 6]) outs(%t) : memref<2x16x8x8xf32, "LB"> -> memref<2x16x4x4xf32, "LB">
    cim.reduce "gap" mean axes [2, 3] ins(%t[0, 0, 0, 0] [1, 16, 4, 4]) outs(%v) : memref<2x16x4x4xf32, "LB"> -> memref<1x16x1x1xf32, "LB">
    cim.reduce max axes [1] ins(%s) outs(%s[0, 0] [8, 1]) : memref<8x32xf32, "LB"> -> memref<8x32xf32, "LB">
    cim.softmax "sm" axis 1 ins(%s) outs(%s) : memref<8x32xf32, "LB"> -> memref<8x32xf32, "LB">
    cim.layernorm "ln" axis 1 epsilon 1.0e-05 ins(%s, %r, %r) outs(%s) : memref<8x32xf32, "LB">, memref<32xf32, "LB">, memref<32xf32, "LB"> -> memref<8x32xf32, "LB">
    cim.layernorm axis 0 epsilon 0.001 ins(%s, %r) outs(%s) : memref<8x32xf32, "LB">, memref<32xf32, "LB"> -> memref<8x32xf32, "LB">
    cim.requant scale 0.5 zero_point 128 ins(%acc, %r) outs(%qi) : memref<32xi32, "OReg">, memref<32xf32, "LB"> -> memref<32xui8, "LB">
  }
  cim.global {
    cim.simd "psum" add ins(%ga[0, 0] [1, 32], %ga[1, 0] [1, 32]) outs(%ga[0, 0] [1, 32]) : memref<4x32xi32, "GB">, memref<4x32xi32, "GB"> -> memref<4x32xi32, "GB">
  }
  cim.global "q" queue 3 priority 2 boot 7 {
    cim.requant scale 2.0e-03 zero_point 0 ins(%ga) outs(%gq) : memref<4x32xi32, "GB"> -> memref<4x32xi8, "GB">
  }
}

// CHECK-LABEL: cim.program @simd
// CHECK:         cim.simd "a" relu ins(%x) outs(%x) : memref<2x16x8x8xf32, "LB"> -> memref<2x16x8x8xf32, "LB">
// CHECK-NEXT:    cim.simd clip(min = 0.0, max = 6.0) ins(%x[0, 0, 0, 0] [1, 16, 8, 8]) outs(%x[1, 0, 0, 0] [1, 16, 8, 8]) : memref<2x16x8x8xf32, "LB"> -> memref<2x16x8x8xf32, "LB">
// CHECK-NEXT:    cim.simd clip(max = 1.5) ins(%b) outs(%b) : memref<16xf32, "LB"> -> memref<16xf32, "LB">
// CHECK-NEXT:    cim.simd clip() ins(%b) outs(%b) : memref<16xf32, "LB"> -> memref<16xf32, "LB">
// CHECK-NEXT:    cim.simd gelu(tanh) ins(%s) outs(%s) : memref<8x32xf32, "LB"> -> memref<8x32xf32, "LB">
// CHECK-NEXT:    cim.simd add ins(%x, %v) outs(%x) : memref<2x16x8x8xf32, "LB">, memref<1x16x1x1xf32, "LB"> -> memref<2x16x8x8xf32, "LB">
// CHECK-NEXT:    cim.simd pow ins(%b, %r[0] [1]) outs(%b) : memref<16xf32, "LB">, memref<32xf32, "LB"> -> memref<16xf32, "LB">
// CHECK-NEXT:    cim.simd fill(-2.5) ins() outs(%t) : -> memref<2x16x4x4xf32, "LB">
// CHECK-NEXT:    cim.pool "p" max kernel [2, 2] stride [2, 2] ins(%x) outs(%t) : memref<2x16x8x8xf32, "LB"> -> memref<2x16x4x4xf32, "LB">
// CHECK-NEXT:    cim.pool avg kernel [3, 3] stride [2, 2] pad [1, 1, 0, 0] count_include_pad ins(%x) outs(%t) : memref<2x16x8x8xf32, "LB"> -> memref<2x16x4x4xf32, "LB">
// CHECK-NEXT:    cim.pool max kernel [2, 2] stride [1, 1] dilation [2, 2] ins(%x[0, 0, 0, 0] [2, 16, 6, 6]) outs(%t) : memref<2x16x8x8xf32, "LB"> -> memref<2x16x4x4xf32, "LB">
// CHECK-NEXT:    cim.reduce "gap" mean axes [2, 3] ins(%t[0, 0, 0, 0] [1, 16, 4, 4]) outs(%v) : memref<2x16x4x4xf32, "LB"> -> memref<1x16x1x1xf32, "LB">
// CHECK-NEXT:    cim.reduce max axes [1] ins(%s) outs(%s[0, 0] [8, 1]) : memref<8x32xf32, "LB"> -> memref<8x32xf32, "LB">
// CHECK-NEXT:    cim.softmax "sm" axis 1 ins(%s) outs(%s) : memref<8x32xf32, "LB"> -> memref<8x32xf32, "LB">
// CHECK-NEXT:    cim.layernorm "ln" axis 1 epsilon 1.0e-05 ins(%s, %r, %r) outs(%s) : memref<8x32xf32, "LB">, memref<32xf32, "LB">, memref<32xf32, "LB"> -> memref<8x32xf32, "LB">
// CHECK-NEXT:    cim.layernorm axis 0 epsilon 0.001 ins(%s, %r) outs(%s) : memref<8x32xf32, "LB">, memref<32xf32, "LB"> -> memref<8x32xf32, "LB">
// CHECK-NEXT:    cim.requant scale 0.5 zero_point 128 ins(%acc, %r) outs(%qi) : memref<32xi32, "OReg">, memref<32xf32, "LB"> -> memref<32xui8, "LB">
// CHECK-NEXT:  }
// CHECK-NEXT:  cim.global {
// CHECK-NEXT:    cim.simd "psum" add ins(%ga[0, 0] [1, 32], %ga[1, 0] [1, 32]) outs(%ga[0, 0] [1, 32]) : memref<4x32xi32, "GB">, memref<4x32xi32, "GB"> -> memref<4x32xi32, "GB">
// CHECK-NEXT:  }
// CHECK-NEXT:  cim.global "q" queue 3 priority 2 boot 7 {
// CHECK-NEXT:    cim.requant scale 0.002 zero_point 0 ins(%ga) outs(%gq) : memref<4x32xi32, "GB"> -> memref<4x32xi8, "GB">

// GENERIC-LABEL: "cim.program"() <{sym_name = "simd"
// GENERIC:         "cim.simd"(%x, %x) <{node = "a", fn = "relu", static_offsets = array<i64: 0, 0, 0, 0, 0, 0, 0, 0>, sizes = array<i64: 2, 16, 8, 8, 2, 16, 8, 8>, operandSegmentSizes = array<i32: 1, 1, 0>}>
// GENERIC:         "cim.simd"(%t) <{fn = "fill", value = -2.500000e+00 : f64, static_offsets = array<i64: 0, 0, 0, 0>, sizes = array<i64: 2, 16, 4, 4>, operandSegmentSizes = array<i32: 0, 1, 0>}>
// GENERIC:         "cim.pool"(%x, %t) <{node = "p", kind = "max", kernel = array<i64: 2, 2>, stride = array<i64: 2, 2>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>
// GENERIC:         "cim.layernorm"(%s, %r, %r, %s) <{node = "ln", axis = 1 : i64, epsilon = 1.000000e-05 : f64

// -----

// Storage widths (program arg_bits, alloc bits), multicast windows (shifts, also
// zero-padded), a gather (each core's tile to its window of the shared
// destination) and a host function launching the program.
cim.program @widths(%x: memref<2x16xf32, "DRAM">, %y: memref<2x8xf32, "DRAM">) arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro arg_bits [8, 16] {
  %g = cim.alloc bits 8 : memref<2x16xf32, "GB">
  %ib = cim.alloc halves 2 bits 8 : memref<8xf32, "IReg">
  %acc = cim.alloc "fc" bits 24 : memref<8xf32, "OReg">
  cim.global {
    %c0 = arith.constant 0 : index
    %h = cim.select_half %ib, %c0 : memref<8xf32, "IReg">
    cim.dma %x -> %g : memref<2x16xf32, "DRAM"> -> memref<2x16xf32, "GB">
    cim.dma %g[0, 0] [1, 8] -> %h cores [0, 1] shifts [[0, 0], [1, 8]] : memref<2x16xf32, "GB"> -> memref<8xf32, "IReg">
    cim.dma %g[0, -1] [1, 8] -> %h zero_pad cores [1, 0] shifts [[0, 2], [0, 0]] : memref<2x16xf32, "GB"> -> memref<8xf32, "IReg">
    cim.dma %acc -> %g[0, 0] [1, 8] cores [0, 1] shifts [[0, 8], [1, 0]] : memref<8xf32, "OReg"> -> memref<2x16xf32, "GB">
  }
}
func.func @host(%a: memref<2x16xf32>, %b: memref<2x8xf32>) {
  cim.launch @widths(%a, %b) : memref<2x16xf32>, memref<2x8xf32>
  func.return
}

// CHECK-LABEL: cim.program @widths(%x: memref<2x16xf32, "DRAM">, %y: memref<2x8xf32, "DRAM">) arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro arg_bits [8, 16] {
// CHECK-NEXT:    %g = cim.alloc bits 8 : memref<2x16xf32, "GB">
// CHECK-NEXT:    %ib = cim.alloc halves 2 bits 8 : memref<8xf32, "IReg">
// CHECK-NEXT:    %acc = cim.alloc "fc" bits 24 : memref<8xf32, "OReg">
// CHECK:           cim.dma %g[0, 0] [1, 8] -> %h cores [0, 1] shifts {{\[}}[0, 0], [1, 8]] : memref<2x16xf32, "GB"> -> memref<8xf32, "IReg">
// CHECK-NEXT:      cim.dma %g[0, -1] [1, 8] -> %h zero_pad cores [1, 0] shifts {{\[}}[0, 2], [0, 0]] : memref<2x16xf32, "GB"> -> memref<8xf32, "IReg">
// CHECK-NEXT:      cim.dma %acc -> %g[0, 0] [1, 8] cores [0, 1] shifts {{\[}}[0, 8], [1, 0]] : memref<8xf32, "OReg"> -> memref<2x16xf32, "GB">
// CHECK:         func.func @host(%a: memref<2x16xf32>, %b: memref<2x8xf32>) {
// CHECK-NEXT:      cim.launch @widths(%a, %b) : memref<2x16xf32>, memref<2x8xf32>
// CHECK-NEXT:      func.return

// GENERIC-LABEL: "cim.program"() <{sym_name = "widths", {{.*}}, macro_level = "Macro", arg_bits = array<i64: 8, 16>}> ({
// GENERIC:         %g = "cim.alloc"() <{bits = 8 : i64}> : () -> memref<2x16xf32, "GB">
// GENERIC-NEXT:    %ib = "cim.alloc"() <{halves = 2 : i64, bits = 8 : i64}> : () -> !cim.pingpong<memref<8xf32, "IReg">>
// GENERIC:         "cim.dma"(%g, %h) <{cores = array<i64: 0, 1>, shifts = array<i64: 0, 0, 1, 8>, static_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 1, 8, 8>}>
// GENERIC-NEXT:    "cim.dma"(%g, %h) <{zero_pad, cores = array<i64: 1, 0>, shifts = array<i64: 0, 2, 0, 0>, static_offsets = array<i64: 0, -1, 0>, sizes = array<i64: 1, 8, 8>}>
// GENERIC-NEXT:    "cim.dma"(%acc, %g) <{cores = array<i64: 0, 1>, shifts = array<i64: 0, 8, 1, 0>, static_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 8, 1, 8>}>
// GENERIC:         "cim.launch"(%a, %b) <{callee = @widths}> : (memref<2x16xf32>, memref<2x8xf32>) -> ()
