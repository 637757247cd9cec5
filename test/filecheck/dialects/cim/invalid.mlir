// RUN: MIREDO_VERIFY_DIAG

// One case per verifier rule of the cim dialect; every message starts with the
// op's ONNX node name, or with the op name when it has none.

// program: at least one core
cim.program @p() arch "t" cores 0 shared [DRAM, GB] per_core [LB, Macro] macro Macro {
}
// CHECK: cim.program: cores must be >= 1, got 0

// -----

// program: an off-chip level is needed
cim.program @p() arch "t" cores 1 shared [] per_core [LB, Macro] macro Macro {
}
// CHECK: cim.program: shared levels must not be empty: the first is the off-chip level

// -----

// program: level names are identifiers
cim.program @p() arch "t" cores 1 shared [DRAM, "G B"] per_core [LB, Macro] macro Macro {
}
// CHECK: cim.program: level name 'G B' is not a valid identifier

// -----

// program: level names are unique
cim.program @p() arch "t" cores 1 shared [DRAM, LB] per_core [LB, Macro] macro Macro {
}
// CHECK: cim.program: level names must be unique, repeated: LB

// -----

// program: the macro is a per-core level
cim.program "net" @p() arch "t" cores 1 shared [DRAM, GB] per_core [LB, OReg] macro GB {
}
// CHECK: 'net': macro level 'GB' must be one of the per-core levels [LB, OReg]

// -----

// program: arguments are off-chip tensors
cim.program @p(%x: memref<4xi8, "GB">) arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {

}
// CHECK: cim.program: argument 0 must be a static memref in the off-chip space 'DRAM', got memref<4xi8, "GB">

// -----

// program: core ids are in range
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  cim.core 2 {
  }
}
// CHECK: cim.program: core id 2 is out of range [0, 2)

// -----

// program: one stream per core
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  cim.core 1 {
  }
  cim.core 1 {
  }
}
// CHECK: cim.program: core 1 has two cim.core streams

// -----

// program: one stream per controller queue
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  cim.global {
  }
  cim.global queue 1 {
  }
  cim.global queue 1 {
  }
}
// CHECK: cim.program: cim.global queue 1 has two streams

// -----

// global: a non-negative priority
"cim.program"() <{sym_name = "p", arch = "t", cores = 2 : i64, shared_levels = ["DRAM", "GB"], core_levels = ["LB", "IReg", "Macro", "OReg"], macro_level = "Macro"}> ({
  "cim.global"() <{priority = -1 : i64}> ({
  ^bb0:
  }) : () -> ()
}) : () -> ()
// CHECK: cim.global: priority must be >= 0, got -1

// -----

// global: a non-negative boot priority
"cim.program"() <{sym_name = "p", arch = "t", cores = 2 : i64, shared_levels = ["DRAM", "GB"], core_levels = ["LB", "IReg", "Macro", "OReg"], macro_level = "Macro"}> ({
  "cim.global"() <{priority = 1 : i64, boot = -1 : i64}> ({
  ^bb0:
  }) : () -> ()
}) : () -> ()
// CHECK: cim.global: boot must be >= 0, got -1

// -----

// program: body holds allocations and streams only
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %c = arith.constant 0 : index
}
// CHECK: cim.program: the program body holds only cim.alloc, cim.global and cim.core, found arith.constant

// -----

// program: a send needs a receive
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %lb = cim.alloc : memref<8xi8, "LB">
  cim.core 0 {
    cim.send %lb to 1 tag 0 : memref<8xi8, "LB">
  }
}
// CHECK: cim.program: cim.send core 0 -> core 1 tag 0 has no matching cim.recv

// -----

// program: a receive needs a send
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %lb = cim.alloc : memref<8xi8, "LB">
  cim.core 1 {
    cim.recv %lb from 0 tag 4 : memref<8xi8, "LB">
  }
}
// CHECK: cim.program: cim.recv core 0 -> core 1 tag 4 has no matching cim.send

// -----

// program: send and receive agree on the message
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %lb = cim.alloc : memref<8xi8, "LB">
  cim.core 0 {
    cim.send %lb to 1 tag 0 : memref<8xi8, "LB">
  }
  cim.core 1 {
    cim.recv %lb[0] [4] from 0 tag 0 : memref<8xi8, "LB">
  }
}
// CHECK: cim.program: cim.send and cim.recv core 0 -> core 1 tag 0 disagree on the message: 8 x i8 vs 4 x i8

// -----

// stream: directly inside a program
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  cim.core 0 {
    cim.core 1 {
    }
  }
}
// CHECK: cim.core: cim.core must be directly inside a cim.program

// -----

// instruction: inside a stream
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %lb = cim.alloc : memref<8xi8, "LB">
  cim.barrier 0
}
// CHECK: cim.barrier: must be inside a cim.core or cim.global region of a cim.program

// -----

// instruction: core-only instructions
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %m = cim.alloc : memref<8x8xi8, "Macro">
  %ib = cim.alloc : memref<8xi8, "IReg">
  %ob = cim.alloc : memref<8xi32, "OReg">
  cim.global {
    cim.mvm "fc" %ib, %m -> %ob input_bits 8 bits_per_cycle 1 : memref<8xi8, "IReg">, memref<8x8xi8, "Macro"> -> memref<8xi32, "OReg">
  }
}
// CHECK: 'fc': cim.mvm runs in a core: it must be inside a cim.core

// -----

// alloc: directly inside a program
func.func @f() {
  %b = cim.alloc "a" : memref<8xi8, "LB">
  func.return
}
// CHECK: 'a': cim.alloc must be directly inside a cim.program

// -----

// alloc: halves is 1 or 2
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %b = cim.alloc halves 3 : memref<8xi8, "LB">
}
// CHECK: cim.alloc: halves must be 1 or 2, got 3

// -----

// alloc: the result type follows halves
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %b = "cim.alloc"() <{halves = 2 : i64}> : () -> memref<8xi8, "LB">
}
// CHECK: cim.alloc: with halves 2 the result must be !cim.pingpong<memref<...>>, got memref<8xi8, "LB">

// -----

// alloc: static shape
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %b = cim.alloc : memref<?xi8, "LB">
}
// CHECK: cim.alloc: buffer shape must be static and positive, got memref<?xi8, "LB">

// -----

// alloc: the memory space is a level name
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %b = cim.alloc : memref<8xi8>
}
// CHECK: cim.alloc: the memory space must be a level name (an identifier string), got memref<8xi8>

// -----

// alloc: off-chip tensors are arguments
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %b = cim.alloc : memref<8xi8, "DRAM">
}
// CHECK: cim.alloc: off-chip tensors ('DRAM') are program arguments, not allocations

// -----

// alloc: the level is declared
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %b = cim.alloc : memref<8xi8, "IBuf">
}
// CHECK: cim.alloc: memory space 'IBuf' is not an on-chip level of the program (shared [GB], per-core [LB, IReg, Macro, OReg])

// -----

// alloc: a macro buffer is rows x cols
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %b = cim.alloc : memref<8xi8, "Macro">
}
// CHECK: cim.alloc: a buffer in the macro level 'Macro' is a rows x cols array, got shape 8

// -----

// select_half: the result is one half
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %b = cim.alloc halves 2 : memref<8xi8, "LB">
  cim.core 0 {
    %c = arith.constant 0 : index
    %h = "cim.select_half"(%b, %c) <{node = "s"}> : (!cim.pingpong<memref<8xi8, "LB">>, index) -> memref<4xi8, "LB">
  }
}
// CHECK: 's': result type memref<4xi8, "LB"> must be the half type memref<8xi8, "LB">

// -----

// tile: static buffer shapes
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %lb = cim.alloc : memref<8xi8, "LB">
  cim.core 0 {
    %n = arith.constant 8 : index
    %d = memref.alloc(%n) : memref<?xi8, "LB">
    cim.dma %lb -> %d[0] [8] : memref<8xi8, "LB"> -> memref<?xi8, "LB">
  }
}
// CHECK: cim.dma: destination must have a static shape, got memref<?xi8, "LB">

// -----

// tile: one offset, size and stride per dim
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %lb = cim.alloc : memref<8xi8, "LB">
  cim.core 0 {
    "cim.dma"(%lb, %lb) <{static_offsets = array<i64: 0, 0>, sizes = array<i64: 8>}> : (memref<8xi8, "LB">, memref<8xi8, "LB">) -> ()
  }
}
// CHECK: cim.dma: sizes has 1 entries but the tiles have 2 dims (1 + 1)

// -----

// tile: one operand per dynamic offset
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %lb = cim.alloc : memref<8xi8, "LB">
  cim.core 0 {
    "cim.dma"(%lb, %lb) <{static_offsets = array<i64: -9223372036854775808, 0>, sizes = array<i64: 8, 8>}> : (memref<8xi8, "LB">, memref<8xi8, "LB">) -> ()
  }
}
// CHECK: cim.dma: 1 dynamic offsets in static_offsets but 0 offset operands

// -----

// tile: positive sizes
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %lb = cim.alloc : memref<8xi8, "LB">
  cim.core 0 {
    cim.dma %lb[0] [0] -> %lb[0] [0] : memref<8xi8, "LB"> -> memref<8xi8, "LB">
  }
}
// CHECK: cim.dma: source tile sizes must be >= 1, got [0]

// -----

// tile: positive strides
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %lb = cim.alloc : memref<8xi8, "LB">
  cim.core 0 {
    cim.dma %lb[0] [4] [0] -> %lb[0] [4] : memref<8xi8, "LB"> -> memref<8xi8, "LB">
  }
}
// CHECK: cim.dma: source tile strides must be >= 1, got [0]

// -----

// tile: static offsets stay inside the buffer
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %g = cim.alloc : memref<8x8xi8, "GB">
  %lb = cim.alloc : memref<8xi8, "LB">
  cim.core 0 {
    cim.dma "t" %g[6, 0] [2, 4] [2, 1] -> %lb : memref<8x8xi8, "GB"> -> memref<8xi8, "LB">
  }
}
// CHECK: 't': source tile [6, 8] in dim 0 does not fit the buffer extent 8 (buffer 8x8)

// -----

// tile: a dynamic tile must fit at least at offset 0
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %g = cim.alloc : memref<8x8xi8, "GB">
  %lb = cim.alloc : memref<8xi8, "LB">
  cim.core 0 {
    %i = arith.constant 0 : index
    cim.dma %g[0, %i] [1, 9] -> %lb[0] [9] : memref<8x8xi8, "GB"> -> memref<8xi8, "LB">
  }
}
// CHECK: cim.dma: source tile spans 9 elements in dim 1 but the buffer extent is 8 (buffer 8x8)

// -----

// tile: buffers are in declared levels
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %lb = cim.alloc : memref<8xi8, "LB">
  cim.core 0 {
    %d = memref.alloc() : memref<8xi8, "L2">
    cim.dma %lb -> %d : memref<8xi8, "LB"> -> memref<8xi8, "L2">
  }
}
// CHECK: cim.dma: destination is in memory space 'L2', which is not a level of the program

// -----

// dma: same element type
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %lb = cim.alloc : memref<8xi8, "LB">
  %o = cim.alloc : memref<8xi32, "OReg">
  cim.core 0 {
    cim.dma %o -> %lb : memref<8xi32, "OReg"> -> memref<8xi8, "LB">
  }
}
// CHECK: cim.dma: source element type i32 differs from destination element type i8

// -----

// dma: same element count
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %g = cim.alloc : memref<8x8xi8, "GB">
  %lb = cim.alloc : memref<8xi8, "LB">
  cim.core 0 {
    cim.dma %g[0, 0] [2, 8] -> %lb : memref<8x8xi8, "GB"> -> memref<8xi8, "LB">
  }
}
// CHECK: cim.dma: source tile [2, 8] has 16 elements but destination tile [8] has 8

// -----

// dma: cores only in the global stream
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %g = cim.alloc : memref<8x8xi8, "GB">
  %lb = cim.alloc : memref<8xi8, "LB">
  cim.core 0 {
    cim.dma %g[0, 0] [1, 8] -> %lb cores [0] : memref<8x8xi8, "GB"> -> memref<8xi8, "LB">
  }
}
// CHECK: cim.dma: cores [...] is only allowed in cim.global; a core addresses its own per-core buffers

// -----

// dma: the global stream does not copy core to core
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %lb = cim.alloc : memref<8xi8, "LB">
  %lc = cim.alloc : memref<8xi8, "LB">
  cim.global {
    cim.dma %lb -> %lc cores [1] : memref<8xi8, "LB"> -> memref<8xi8, "LB">
  }
}
// CHECK: cim.dma: cim.global cannot copy between two per-core buffers; use cim.send/cim.recv between cores

// -----

// dma: cores need a per-core buffer
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %g = cim.alloc : memref<8x8xi8, "GB">
  %lb = cim.alloc : memref<8xi8, "LB">
  cim.global {
    cim.dma %g[0, 0] [1, 8] -> %g[1, 0] [1, 8] cores [0] : memref<8x8xi8, "GB"> -> memref<8x8xi8, "GB">
  }
}
// CHECK: cim.dma: cores [...] needs a per-core source or destination

// -----

// dma: a per-core buffer in the global stream needs cores
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %g = cim.alloc : memref<8x8xi8, "GB">
  %lb = cim.alloc : memref<8xi8, "LB">
  cim.global {
    cim.dma %g[0, 0] [1, 8] -> %lb : memref<8x8xi8, "GB"> -> memref<8xi8, "LB">
  }
}
// CHECK: cim.dma: a per-core buffer in cim.global needs a non-empty cores [...] set

// -----

// dma: cores are distinct and in range
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %g = cim.alloc : memref<8x8xi8, "GB">
  %lb = cim.alloc : memref<8xi8, "LB">
  cim.global {
    cim.dma %g[0, 0] [1, 8] -> %lb cores [0, 2] : memref<8x8xi8, "GB"> -> memref<8xi8, "LB">
  }
}
// CHECK: cim.dma: cores [0, 2] must be distinct core ids in [0, 2)

// -----

// dma: a gather from several cores gives each its own window
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %g = cim.alloc : memref<8x8xi8, "GB">
  %lb = cim.alloc : memref<8xi8, "LB">
  cim.global {
    cim.dma %lb -> %g[0, 0] [1, 8] cores [0, 1] : memref<8xi8, "LB"> -> memref<8x8xi8, "GB">
  }
}
// CHECK: cim.dma: a gather from cores [0, 1] needs shifts [...]: each core's tile goes to its own destination window

// -----

// dma: a gather's destination windows are disjoint
cim.program @p() arch "t" cores 3 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %g = cim.alloc : memref<8x8xi8, "GB">
  %lb = cim.alloc : memref<8xi8, "LB">
  cim.global {
    cim.dma "x" %lb -> %g[0, 0] [2, 4] [1, 2] cores [0, 2, 1] shifts [[0, 0], [0, 1], [1, 0]] : memref<8xi8, "LB"> -> memref<8x8xi8, "GB">
  }
}
// CHECK: 'x': the destination windows of cores 0 (shifted by [0, 0]) and 1 (shifted by [1, 0]) overlap

// -----

// dma: a gather's shifted windows stay in the destination buffer
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %g = cim.alloc : memref<2x16xi8, "GB">
  %lb = cim.alloc : memref<8xi8, "LB">
  cim.global {
    cim.dma %lb -> %g[0, 0] [1, 8] cores [0, 1] shifts [[0, 0], [2, 0]] : memref<8xi8, "LB"> -> memref<2x16xi8, "GB">
  }
}
// CHECK: cim.dma: destination window shifted by [2, 0] leaves the buffer in dim 0 (extent 2)

// -----

// load_weights: into the macro
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %m = cim.alloc : memref<8x4xi8, "Macro">
  %w = cim.alloc : memref<32xi8, "LB">
  %w2 = cim.alloc : memref<8x4xi8, "LB">
  cim.core 0 {
    cim.load_weights "fc" %w -> %w2 : memref<32xi8, "LB"> -> memref<8x4xi8, "LB">
  }
}
// CHECK: 'fc': the destination must be in the macro level 'Macro', got 'LB'

// -----

// load_weights: not from the macro
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %m = cim.alloc : memref<8x4xi8, "Macro">
  %w = cim.alloc : memref<32xi8, "LB">
  %m2 = cim.alloc : memref<8x4xi8, "Macro">
  cim.core 0 {
    cim.load_weights %m2 -> %m : memref<8x4xi8, "Macro"> -> memref<8x4xi8, "Macro">
  }
}
// CHECK: cim.load_weights: the source must not be in the macro level

// -----

// load_weights: a contiguous macro tile
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %m = cim.alloc : memref<8x4xi8, "Macro">
  %w = cim.alloc : memref<32xi8, "LB">
  cim.core 0 {
    cim.load_weights %w[0] [8] -> %m[0, 0] [4, 2] [2, 2] : memref<32xi8, "LB"> -> memref<8x4xi8, "Macro">
  }
}
// CHECK: cim.load_weights: the macro tile must be contiguous, got strides [2, 2]

// -----

// load_weights: same element type
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %m = cim.alloc : memref<8x4xi8, "Macro">
  %w = cim.alloc : memref<32xi8, "LB">
  %f = cim.alloc : memref<32xf32, "LB">
  cim.core 0 {
    cim.load_weights %f -> %m : memref<32xf32, "LB"> -> memref<8x4xi8, "Macro">
  }
}
// CHECK: cim.load_weights: source element type f32 differs from the macro's i8

// -----

// load_weights: same element count
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %m = cim.alloc : memref<8x4xi8, "Macro">
  %w = cim.alloc : memref<32xi8, "LB">
  cim.core 0 {
    cim.load_weights %w -> %m[0, 0] [4, 4] : memref<32xi8, "LB"> -> memref<8x4xi8, "Macro">
  }
}
// CHECK: cim.load_weights: source tile [32] has 32 elements but the macro tile [4, 4] has 16

// -----

// mvm: weights in the macro
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %m = cim.alloc : memref<8x4xi8, "Macro">
  %ib = cim.alloc : memref<8xi8, "IReg">
  %ob = cim.alloc : memref<4xi32, "OReg">
  %w = cim.alloc : memref<8x4xi8, "LB">
  cim.core 0 {
    cim.mvm %ib, %w -> %ob input_bits 8 bits_per_cycle 1 : memref<8xi8, "IReg">, memref<8x4xi8, "LB"> -> memref<4xi32, "OReg">
  }
}
// CHECK: cim.mvm: weights must be in the macro level 'Macro', got 'LB'

// -----

// mvm: input and output in per-core registers
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %m = cim.alloc : memref<8x4xi8, "Macro">
  %ib = cim.alloc : memref<8xi8, "IReg">
  %ob = cim.alloc : memref<4xi32, "OReg">
  %og = cim.alloc : memref<4xi32, "GB">
  cim.core 0 {
    cim.mvm %ib, %m -> %og input_bits 8 bits_per_cycle 1 : memref<8xi8, "IReg">, memref<8x4xi8, "Macro"> -> memref<4xi32, "GB">
  }
}
// CHECK: cim.mvm: output must be in a per-core level other than the macro, got 'GB'

// -----

// mvm: the macro tile is contiguous
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %m = cim.alloc : memref<8x4xi8, "Macro">
  %ib = cim.alloc : memref<8xi8, "IReg">
  %ob = cim.alloc : memref<4xi32, "OReg">
  cim.core 0 {
    cim.mvm %ib[0] [4] [2], %m[0, 0] [4, 2] [1, 2] -> %ob[0] [2] input_bits 8 bits_per_cycle 1 : memref<8xi8, "IReg">, memref<8x4xi8, "Macro"> -> memref<4xi32, "OReg">
  }
}
// CHECK: cim.mvm: the macro tile must be contiguous (all strides 1)

// -----

// mvm: the input vector matches the macro rows
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %m = cim.alloc : memref<8x4xi8, "Macro">
  %ib = cim.alloc : memref<8xi8, "IReg">
  %ob = cim.alloc : memref<4xi32, "OReg">
  cim.core 0 {
    cim.mvm %ib, %m[0, 0] [4, 4] -> %ob input_bits 8 bits_per_cycle 1 : memref<8xi8, "IReg">, memref<8x4xi8, "Macro"> -> memref<4xi32, "OReg">
  }
}
// CHECK: cim.mvm: input tile [8] has 8 elements but a 4 x 4 macro tile needs 4

// -----

// mvm: input_bits fits the input type
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %m = cim.alloc : memref<8x4xi8, "Macro">
  %ib = cim.alloc : memref<8xi8, "IReg">
  %ob = cim.alloc : memref<4xi32, "OReg">
  cim.core 0 {
    cim.mvm %ib, %m -> %ob input_bits 9 bits_per_cycle 1 : memref<8xi8, "IReg">, memref<8x4xi8, "Macro"> -> memref<4xi32, "OReg">
  }
}
// CHECK: cim.mvm: input_bits must be in [1, 8] (the input element width), got 9

// -----

// mvm: bits_per_cycle at most input_bits
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %m = cim.alloc : memref<8x4xi8, "Macro">
  %ib = cim.alloc : memref<8xi8, "IReg">
  %ob = cim.alloc : memref<4xi32, "OReg">
  cim.core 0 {
    cim.mvm %ib, %m -> %ob input_bits 4 bits_per_cycle 8 : memref<8xi8, "IReg">, memref<8x4xi8, "Macro"> -> memref<4xi32, "OReg">
  }
}
// CHECK: cim.mvm: bits_per_cycle must be in [1, 4], got 8

// -----

// mvm: integer or float throughout
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %m = cim.alloc : memref<8x4xi8, "Macro">
  %ib = cim.alloc : memref<8xi8, "IReg">
  %ob = cim.alloc : memref<4xi32, "OReg">
  %of = cim.alloc : memref<4xf32, "OReg">
  cim.core 0 {
    cim.mvm %ib, %m -> %of input_bits 8 bits_per_cycle 1 : memref<8xi8, "IReg">, memref<8x4xi8, "Macro"> -> memref<4xf32, "OReg">
  }
}
// CHECK: cim.mvm: input, weights and output must be all integers or all floats, got i8, i8, f32

// -----

// mvm: the accumulator is wide enough
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %m = cim.alloc : memref<8x4xi8, "Macro">
  %ib = cim.alloc : memref<8xi8, "IReg">
  %ob = cim.alloc : memref<4xi32, "OReg">
  %o4 = cim.alloc : memref<4xi4, "OReg">
  cim.core 0 {
    cim.mvm %ib, %m -> %o4 input_bits 8 bits_per_cycle 1 : memref<8xi8, "IReg">, memref<8x4xi8, "Macro"> -> memref<4xi4, "OReg">
  }
}
// CHECK: cim.mvm: the output (accumulator) type i4 is narrower than the inputs (i8, i8)

// -----

// simd: per-core levels in a core
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %a = cim.alloc : memref<4x8xf32, "LB">
  %b = cim.alloc : memref<8xf32, "LB">
  %g = cim.alloc : memref<4x8xf32, "GB">
  cim.core 0 {
    cim.simd relu ins(%g) outs(%a) : memref<4x8xf32, "GB"> -> memref<4x8xf32, "LB">
  }
}
// CHECK: cim.simd: input 0 must be in a per-core level other than the macro, got 'GB'

// -----

// simd: shared on-chip levels in the global stream
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %a = cim.alloc : memref<4x8xf32, "LB">
  %b = cim.alloc : memref<8xf32, "LB">
  %g = cim.alloc : memref<4x8xf32, "GB">
  cim.global {
    cim.simd relu ins(%g) outs(%a) : memref<4x8xf32, "GB"> -> memref<4x8xf32, "LB">
  }
}
// CHECK: cim.simd: output must be in a shared on-chip level (cim.global), got 'LB'

// -----

// simd: number of inputs of the instruction class
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %a = cim.alloc : memref<4x8xf32, "LB">
  %b = cim.alloc : memref<8xf32, "LB">
  %g = cim.alloc : memref<4x8xf32, "GB">
  cim.core 0 {
    cim.pool max kernel [2, 2] stride [2, 2] ins(%a, %a) outs(%a) : memref<4x8xf32, "LB">, memref<4x8xf32, "LB"> -> memref<4x8xf32, "LB">
  }
}
// CHECK: cim.pool: takes 1 input(s), got 2

// -----

// simd: contiguous output tile
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %a = cim.alloc : memref<4x8xf32, "LB">
  %b = cim.alloc : memref<8xf32, "LB">
  %g = cim.alloc : memref<4x8xf32, "GB">
  cim.core 0 {
    cim.simd relu ins(%a[0, 0] [2, 8]) outs(%a[0, 0] [2, 8] [2, 1]) : memref<4x8xf32, "LB"> -> memref<4x8xf32, "LB">
  }
}
// CHECK: cim.simd: the output tile must be contiguous (all strides 1)

// -----

// simd: known function
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %a = cim.alloc : memref<4x8xf32, "LB">
  %b = cim.alloc : memref<8xf32, "LB">
  %g = cim.alloc : memref<4x8xf32, "GB">
  cim.core 0 {
    cim.simd "x" softplus ins(%a) outs(%a) : memref<4x8xf32, "LB"> -> memref<4x8xf32, "LB">
  }
}
// CHECK: 'x': unknown SIMD function 'softplus', expected one of relu, clip, sigmoid, tanh, erf, exp, sqrt, neg, abs, reciprocal, gelu, add, sub, mul, div, pow, max, min, fill

// -----

// simd: function arity
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %a = cim.alloc : memref<4x8xf32, "LB">
  %b = cim.alloc : memref<8xf32, "LB">
  %g = cim.alloc : memref<4x8xf32, "GB">
  cim.core 0 {
    cim.simd relu ins(%a, %a) outs(%a) : memref<4x8xf32, "LB">, memref<4x8xf32, "LB"> -> memref<4x8xf32, "LB">
  }
}
// CHECK: cim.simd: 'relu' takes 1 input(s), got 2

// -----

// simd: same element types
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %a = cim.alloc : memref<4x8xf32, "LB">
  %b = cim.alloc : memref<8xf32, "LB">
  %g = cim.alloc : memref<4x8xf32, "GB">
  %i = cim.alloc : memref<8xi32, "LB">
  cim.core 0 {
    cim.simd add ins(%a, %i) outs(%a) : memref<4x8xf32, "LB">, memref<8xi32, "LB"> -> memref<4x8xf32, "LB">
  }
}
// CHECK: cim.simd: input 1 element type i32 differs from the output element type f32

// -----

// simd: inputs broadcast to the output
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %a = cim.alloc : memref<4x8xf32, "LB">
  %b = cim.alloc : memref<8xf32, "LB">
  %g = cim.alloc : memref<4x8xf32, "GB">
  cim.core 0 {
    cim.simd add ins(%a, %b[0] [4]) outs(%a) : memref<4x8xf32, "LB">, memref<8xf32, "LB"> -> memref<4x8xf32, "LB">
  }
}
// CHECK: cim.simd: input 1 tile [4] does not broadcast to the output tile [4, 8]

// -----

// simd: min/max only on clip
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %a = cim.alloc : memref<4x8xf32, "LB">
  %b = cim.alloc : memref<8xf32, "LB">
  %g = cim.alloc : memref<4x8xf32, "GB">
  cim.core 0 {
    "cim.simd"(%a, %a) <{fn = "relu", min = 0.0 : f64, static_offsets = array<i64: 0, 0, 0, 0>, sizes = array<i64: 4, 8, 4, 8>, operandSegmentSizes = array<i32: 1, 1, 0>}> : (memref<4x8xf32, "LB">, memref<4x8xf32, "LB">) -> ()
  }
}
// CHECK: cim.simd: min/max are only allowed on 'clip', not on 'relu'

// -----

// simd: approximate only on gelu
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %a = cim.alloc : memref<4x8xf32, "LB">
  %b = cim.alloc : memref<8xf32, "LB">
  %g = cim.alloc : memref<4x8xf32, "GB">
  cim.core 0 {
    cim.simd tanh(tanh) ins(%a) outs(%a) : memref<4x8xf32, "LB"> -> memref<4x8xf32, "LB">
  }
}
// CHECK: cim.simd: 'approximate' is only allowed on 'gelu', not on 'tanh'

// -----

// simd: gelu approximations
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %a = cim.alloc : memref<4x8xf32, "LB">
  %b = cim.alloc : memref<8xf32, "LB">
  %g = cim.alloc : memref<4x8xf32, "GB">
  cim.core 0 {
    cim.simd gelu(fast) ins(%a) outs(%a) : memref<4x8xf32, "LB"> -> memref<4x8xf32, "LB">
  }
}
// CHECK: cim.simd: gelu approximate must be none or tanh, got 'fast'

// -----

// simd: fill takes a value
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %a = cim.alloc : memref<4x8xf32, "LB">
  %b = cim.alloc : memref<8xf32, "LB">
  %g = cim.alloc : memref<4x8xf32, "GB">
  cim.core 0 {
    "cim.simd"(%a) <{fn = "fill", static_offsets = array<i64: 0, 0>, sizes = array<i64: 4, 8>, operandSegmentSizes = array<i32: 0, 1, 0>}> : (memref<4x8xf32, "LB">) -> ()
  }
}
// CHECK: cim.simd: 'fill' and only 'fill' takes a value

// -----

// pool: known kind
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %a = cim.alloc : memref<4x8xf32, "LB">
  %b = cim.alloc : memref<8xf32, "LB">
  %g = cim.alloc : memref<4x8xf32, "GB">
  cim.core 0 {
    cim.pool min kernel [2, 2] stride [2, 2] ins(%a) outs(%a[0, 0] [2, 4]) : memref<4x8xf32, "LB"> -> memref<4x8xf32, "LB">
  }
}
// CHECK: cim.pool: unknown pool kind 'min', expected max or avg

// -----

// pool: window parameters
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %a = cim.alloc : memref<4x8xf32, "LB">
  %b = cim.alloc : memref<8xf32, "LB">
  %g = cim.alloc : memref<4x8xf32, "GB">
  cim.core 0 {
    cim.pool max kernel [2, 2] stride [0, 2] ins(%a) outs(%a[0, 0] [2, 4]) : memref<4x8xf32, "LB"> -> memref<4x8xf32, "LB">
  }
}
// CHECK: cim.pool: stride needs 2 values >= 1, got [0, 2]

// -----

// pool: count_include_pad only on avg
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %a = cim.alloc : memref<4x8xf32, "LB">
  %b = cim.alloc : memref<8xf32, "LB">
  %g = cim.alloc : memref<4x8xf32, "GB">
  cim.core 0 {
    cim.pool max kernel [2, 2] stride [2, 2] count_include_pad ins(%a) outs(%a[0, 0] [2, 4]) : memref<4x8xf32, "LB"> -> memref<4x8xf32, "LB">
  }
}
// CHECK: cim.pool: count_include_pad is only allowed on avg pools

// -----

// pool: tiles of the same rank >= 2
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %a = cim.alloc : memref<4x8xf32, "LB">
  %b = cim.alloc : memref<8xf32, "LB">
  %g = cim.alloc : memref<4x8xf32, "GB">
  cim.core 0 {
    cim.pool max kernel [2, 2] stride [2, 2] ins(%a) outs(%b[0] [2]) : memref<4x8xf32, "LB"> -> memref<8xf32, "LB">
  }
}
// CHECK: cim.pool: input and output tiles need the same rank >= 2, got [4, 8] and [2]

// -----

// pool: output tile sizes
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %a = cim.alloc : memref<4x8xf32, "LB">
  %b = cim.alloc : memref<8xf32, "LB">
  %g = cim.alloc : memref<4x8xf32, "GB">
  cim.core 0 {
    cim.pool avg kernel [2, 2] stride [2, 2] pad [1, 0, 1, 0] ins(%a) outs(%a[0, 0] [2, 4]) : memref<4x8xf32, "LB"> -> memref<4x8xf32, "LB">
  }
}
// CHECK: cim.pool: output tile [2, 4] does not match pooling the input tile [4, 8]: expected [3, 4]

// -----

// reduce: known kind
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %a = cim.alloc : memref<4x8xf32, "LB">
  %b = cim.alloc : memref<8xf32, "LB">
  %g = cim.alloc : memref<4x8xf32, "GB">
  cim.core 0 {
    cim.reduce prod axes [1] ins(%a) outs(%a[0, 0] [4, 1]) : memref<4x8xf32, "LB"> -> memref<4x8xf32, "LB">
  }
}
// CHECK: cim.reduce: unknown reduction 'prod', expected one of mean, sum, max

// -----

// reduce: valid axes
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %a = cim.alloc : memref<4x8xf32, "LB">
  %b = cim.alloc : memref<8xf32, "LB">
  %g = cim.alloc : memref<4x8xf32, "GB">
  cim.core 0 {
    cim.reduce sum axes [1, 1] ins(%a) outs(%a[0, 0] [4, 1]) : memref<4x8xf32, "LB"> -> memref<4x8xf32, "LB">
  }
}
// CHECK: cim.reduce: axes [1, 1] must be non-empty, increasing and in [0, 2)

// -----

// reduce: output tile sizes
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %a = cim.alloc : memref<4x8xf32, "LB">
  %b = cim.alloc : memref<8xf32, "LB">
  %g = cim.alloc : memref<4x8xf32, "GB">
  cim.core 0 {
    cim.reduce sum axes [0] ins(%a) outs(%a[0, 0] [4, 1]) : memref<4x8xf32, "LB"> -> memref<4x8xf32, "LB">
  }
}
// CHECK: cim.reduce: output tile [4, 1] must be the input tile [4, 8] reduced over axes [0]: [1, 8]

// -----

// softmax: float data
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %a = cim.alloc : memref<4x8xf32, "LB">
  %b = cim.alloc : memref<8xf32, "LB">
  %g = cim.alloc : memref<4x8xf32, "GB">
  %i = cim.alloc : memref<8xi32, "LB">
  cim.core 0 {
    cim.softmax axis 0 ins(%i) outs(%i) : memref<8xi32, "LB"> -> memref<8xi32, "LB">
  }
}
// CHECK: cim.softmax: softmax needs float data, got i32

// -----

// softmax: axis in range
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %a = cim.alloc : memref<4x8xf32, "LB">
  %b = cim.alloc : memref<8xf32, "LB">
  %g = cim.alloc : memref<4x8xf32, "GB">
  cim.core 0 {
    cim.softmax axis 2 ins(%a) outs(%a) : memref<4x8xf32, "LB"> -> memref<4x8xf32, "LB">
  }
}
// CHECK: cim.softmax: axis 2 is out of range for a rank-2 tile

// -----

// softmax: same tile sizes
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %a = cim.alloc : memref<4x8xf32, "LB">
  %b = cim.alloc : memref<8xf32, "LB">
  %g = cim.alloc : memref<4x8xf32, "GB">
  cim.core 0 {
    cim.softmax axis 1 ins(%a) outs(%a[0, 0] [2, 8]) : memref<4x8xf32, "LB"> -> memref<4x8xf32, "LB">
  }
}
// CHECK: cim.softmax: input tile [4, 8] and output tile [2, 8] differ

// -----

// layernorm: float data
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %a = cim.alloc : memref<4x8xf32, "LB">
  %b = cim.alloc : memref<8xf32, "LB">
  %g = cim.alloc : memref<4x8xf32, "GB">
  %i = cim.alloc : memref<8xi32, "LB">
  cim.core 0 {
    cim.layernorm axis 0 epsilon 1.0e-05 ins(%i, %i) outs(%i) : memref<8xi32, "LB">, memref<8xi32, "LB"> -> memref<8xi32, "LB">
  }
}
// CHECK: cim.layernorm: layernorm needs float data, got i32

// -----

// layernorm: axis in range
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %a = cim.alloc : memref<4x8xf32, "LB">
  %b = cim.alloc : memref<8xf32, "LB">
  %g = cim.alloc : memref<4x8xf32, "GB">
  cim.core 0 {
    cim.layernorm axis 2 epsilon 1.0e-05 ins(%a, %b) outs(%a) : memref<4x8xf32, "LB">, memref<8xf32, "LB"> -> memref<4x8xf32, "LB">
  }
}
// CHECK: cim.layernorm: axis 2 is out of range for a rank-2 tile

// -----

// layernorm: positive epsilon
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %a = cim.alloc : memref<4x8xf32, "LB">
  %b = cim.alloc : memref<8xf32, "LB">
  %g = cim.alloc : memref<4x8xf32, "GB">
  cim.core 0 {
    cim.layernorm axis 1 epsilon 0.0 ins(%a, %b) outs(%a) : memref<4x8xf32, "LB">, memref<8xf32, "LB"> -> memref<4x8xf32, "LB">
  }
}
// CHECK: cim.layernorm: epsilon must be > 0, got 0.0

// -----

// layernorm: same tile sizes
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %a = cim.alloc : memref<4x8xf32, "LB">
  %b = cim.alloc : memref<8xf32, "LB">
  %g = cim.alloc : memref<4x8xf32, "GB">
  cim.core 0 {
    cim.layernorm axis 1 epsilon 1.0e-05 ins(%a, %b) outs(%a[0, 0] [1, 8]) : memref<4x8xf32, "LB">, memref<8xf32, "LB"> -> memref<4x8xf32, "LB">
  }
}
// CHECK: cim.layernorm: input tile [4, 8] and output tile [1, 8] differ

// -----

// layernorm: scale and bias broadcast to the normalised dims
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %a = cim.alloc : memref<4x8xf32, "LB">
  %b = cim.alloc : memref<8xf32, "LB">
  %g = cim.alloc : memref<4x8xf32, "GB">
  cim.core 0 {
    cim.layernorm axis 1 epsilon 1.0e-05 ins(%a, %b[0] [4]) outs(%a) : memref<4x8xf32, "LB">, memref<8xf32, "LB"> -> memref<4x8xf32, "LB">
  }
}
// CHECK: cim.layernorm: input 1 tile [4] does not broadcast to the normalised sizes [8]

// -----

// requant: integer output
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %a = cim.alloc : memref<4x8xf32, "LB">
  %b = cim.alloc : memref<8xf32, "LB">
  %g = cim.alloc : memref<4x8xf32, "GB">
  %acc = cim.alloc : memref<8xi32, "OReg">
  %q = cim.alloc : memref<8xi8, "LB">
  cim.core 0 {
    cim.requant scale 0.5 zero_point 0 ins(%acc) outs(%b) : memref<8xi32, "OReg"> -> memref<8xf32, "LB">
  }
}
// CHECK: cim.requant: the output must be an integer type, got f32

// -----

// requant: integer or float input
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %a = cim.alloc : memref<4x8xf32, "LB">
  %b = cim.alloc : memref<8xf32, "LB">
  %g = cim.alloc : memref<4x8xf32, "GB">
  %acc = cim.alloc : memref<8xi32, "OReg">
  %q = cim.alloc : memref<8xi8, "LB">
  %x = cim.alloc : memref<8xindex, "LB">
  cim.core 0 {
    cim.requant scale 0.5 zero_point 0 ins(%x) outs(%q) : memref<8xindex, "LB"> -> memref<8xi8, "LB">
  }
}
// CHECK: cim.requant: input 0 must be integer or float, got index

// -----

// requant: positive scale
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %a = cim.alloc : memref<4x8xf32, "LB">
  %b = cim.alloc : memref<8xf32, "LB">
  %g = cim.alloc : memref<4x8xf32, "GB">
  %acc = cim.alloc : memref<8xi32, "OReg">
  %q = cim.alloc : memref<8xi8, "LB">
  cim.core 0 {
    cim.requant scale -0.5 zero_point 0 ins(%acc) outs(%q) : memref<8xi32, "OReg"> -> memref<8xi8, "LB">
  }
}
// CHECK: cim.requant: scale must be > 0, got -0.5

// -----

// requant: zero point in the output range
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %a = cim.alloc : memref<4x8xf32, "LB">
  %b = cim.alloc : memref<8xf32, "LB">
  %g = cim.alloc : memref<4x8xf32, "GB">
  %acc = cim.alloc : memref<8xi32, "OReg">
  %q = cim.alloc : memref<8xi8, "LB">
  cim.core 0 {
    cim.requant scale 0.5 zero_point 128 ins(%acc) outs(%q) : memref<8xi32, "OReg"> -> memref<8xi8, "LB">
  }
}
// CHECK: cim.requant: zero_point 128 is outside the range [-128, 127] of i8

// -----

// requant: input broadcasts to the output
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %a = cim.alloc : memref<4x8xf32, "LB">
  %b = cim.alloc : memref<8xf32, "LB">
  %g = cim.alloc : memref<4x8xf32, "GB">
  %acc = cim.alloc : memref<8xi32, "OReg">
  %q = cim.alloc : memref<8xi8, "LB">
  cim.core 0 {
    cim.requant scale 0.5 zero_point 0 ins(%acc[0] [4]) outs(%q) : memref<8xi32, "OReg"> -> memref<8xi8, "LB">
  }
}
// CHECK: cim.requant: input tile [4] does not broadcast to the output tile [8]

// -----

// requant: float per-channel scales
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %a = cim.alloc : memref<4x8xf32, "LB">
  %b = cim.alloc : memref<8xf32, "LB">
  %g = cim.alloc : memref<4x8xf32, "GB">
  %acc = cim.alloc : memref<8xi32, "OReg">
  %q = cim.alloc : memref<8xi8, "LB">
  cim.core 0 {
    cim.requant scale 0.5 zero_point 0 ins(%acc, %acc) outs(%q) : memref<8xi32, "OReg">, memref<8xi32, "OReg"> -> memref<8xi8, "LB">
  }
}
// CHECK: cim.requant: per-channel scales must be floats, got i32

// -----

// requant: per-channel scales broadcast
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %a = cim.alloc : memref<4x8xf32, "LB">
  %b = cim.alloc : memref<8xf32, "LB">
  %g = cim.alloc : memref<4x8xf32, "GB">
  %acc = cim.alloc : memref<8xi32, "OReg">
  %q = cim.alloc : memref<8xi8, "LB">
  cim.core 0 {
    cim.requant scale 0.5 zero_point 0 ins(%acc, %b[0] [2]) outs(%q) : memref<8xi32, "OReg">, memref<8xf32, "LB"> -> memref<8xi8, "LB">
  }
}
// CHECK: cim.requant: scale tile [2] does not broadcast to [8]

// -----

// send: the peer is another core
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %lb = cim.alloc : memref<8xi8, "LB">
  cim.core 1 {
    cim.send "s" %lb to 1 tag 0 : memref<8xi8, "LB">
  }
}
// CHECK: 's': peer 1 must be another core in [0, 2) (this is core 1)

// -----

// recv: a per-core tile
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %g = cim.alloc : memref<8xi8, "GB">
  cim.core 1 {
    cim.recv %g from 0 tag 0 : memref<8xi8, "GB">
  }
}
// CHECK: cim.recv: the tile must be in a per-core level other than the macro, got 'GB'

// -----

// send: non-negative tag
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %lb = cim.alloc : memref<8xi8, "LB">
  cim.core 0 {
    cim.send %lb to 1 tag -1 : memref<8xi8, "LB">
  }
}
// CHECK: cim.send: tag must be >= 0, got -1

// -----

// barrier: non-negative id
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  cim.global {
    cim.barrier -2
  }
}
// CHECK: cim.barrier: barrier id must be >= 0, got -2

// -----

// barrier: a protected buffer is an allocation (a half is not one)
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %lb = cim.alloc halves 2 : memref<8xi8, "LB">
  cim.global {
    %c0 = arith.constant 0 : index
    %h = cim.select_half %lb, %c0 : memref<8xi8, "LB">
    cim.barrier 1 on %h : memref<8xi8, "LB">
  }
}
// CHECK: cim.barrier: a protected buffer must be a program argument or a cim.alloc result

// -----

// barrier: each protected buffer once
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %lb = cim.alloc : memref<8xi8, "LB">
  cim.core 0 {
    cim.barrier "n" 1 on %lb, %lb : memref<8xi8, "LB">, memref<8xi8, "LB">
  }
}
// CHECK: 'n': a protected buffer is named twice

// -----

// program: one storage width per argument
cim.program @p(%x: memref<4xi8, "DRAM">, %y: memref<4xi8, "DRAM">) arch "t" cores 1 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro arg_bits [8] {
}
// CHECK: cim.program: arg_bits [8] must give one width >= 1 per argument (2)

// -----

// program: storage widths are positive
cim.program @p(%x: memref<4xi8, "DRAM">) arch "t" cores 1 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro arg_bits [0] {
}
// CHECK: cim.program: arg_bits [0] must give one width >= 1 per argument (1)

// -----

// alloc: storage width is positive
cim.program @p() arch "t" cores 1 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %lb = cim.alloc "b" bits 0 : memref<8xi8, "LB">
}
// CHECK: 'b': bits must be >= 1, got 0

// -----

// dma: shifts only on a multicast or a gather from cim.global
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %g = cim.alloc : memref<16xi8, "GB">
  %lb = cim.alloc : memref<8xi8, "LB">
  cim.core 0 {
    cim.dma %g[0] [8] -> %lb shifts [[1]] : memref<16xi8, "GB"> -> memref<8xi8, "LB">
  }
}
// CHECK: cim.dma: shifts [...] needs a multicast or a gather: cim.global, cores [...] and one per-core side

// -----

// dma: no shifts between shared levels
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %g = cim.alloc : memref<16xi8, "GB">
  %h = cim.alloc : memref<16xi8, "GB">
  cim.global {
    cim.dma %g[0] [8] -> %h[0] [8] shifts [[0]] : memref<16xi8, "GB"> -> memref<16xi8, "GB">
  }
}
// CHECK: cim.dma: shifts [...] needs a multicast or a gather: cim.global, cores [...] and one per-core side

// -----

// dma: a gather's shifts have one delta per destination dim and core
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %g = cim.alloc : memref<2x16xi8, "GB">
  %lb = cim.alloc : memref<8xi8, "LB">
  cim.global {
    cim.dma %lb -> %g[0, 0] [1, 8] cores [0, 1] shifts [[0], [8]] : memref<8xi8, "LB"> -> memref<2x16xi8, "GB">
  }
}
// CHECK: cim.dma: shifts has 2 entries; expected one delta per destination dim (2) for each of the 2 cores

// -----

// dma: one shift per source dim and core
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %g = cim.alloc : memref<2x16xi8, "GB">
  %lb = cim.alloc : memref<8xi8, "LB">
  cim.global {
    cim.dma %g[0, 0] [1, 8] -> %lb cores [0, 1] shifts [[0, 1], [2]] : memref<2x16xi8, "GB"> -> memref<8xi8, "LB">
  }
}
// CHECK: cim.dma: shifts has 3 entries; expected one delta per source dim (2) for each of the 2 cores

// -----

// dma: shifted windows stay in the source buffer (without zero_pad)
cim.program @p() arch "t" cores 2 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %g = cim.alloc : memref<2x16xi8, "GB">
  %lb = cim.alloc : memref<8xi8, "LB">
  cim.global {
    cim.dma "x" %g[0, 0] [1, 8] -> %lb cores [0, 1] shifts [[0, 0], [0, 9]] : memref<2x16xi8, "GB"> -> memref<8xi8, "LB">
  }
}
// CHECK: 'x': source window shifted by [0, 9] leaves the buffer in dim 1 (extent 16)

// -----

// launch: the callee is a cim.program
func.func @host(%a: memref<4xi8>) {
  cim.launch @nope(%a) : memref<4xi8>
  func.return
}
// CHECK: cim.launch: no cim.program named @nope

// -----

// launch: one tensor per program argument
cim.program @p(%x: memref<4xi8, "DRAM">, %y: memref<4xi8, "DRAM">) arch "t" cores 1 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
}
func.func @host(%a: memref<4xi8>) {
  cim.launch @p(%a) : memref<4xi8>
  func.return
}
// CHECK: cim.launch: @p takes 2 tensors, got 1

// -----

// launch: shapes and element types match the program's arguments
cim.program @p(%x: memref<4xi8, "DRAM">) arch "t" cores 1 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
}
func.func @host(%a: memref<4xi32>) {
  cim.launch @p(%a) : memref<4xi32>
  func.return
}
// CHECK: cim.launch: argument 0 of @p is memref<4xi8, "DRAM">, got memref<4xi32>
