// RUN: not miredo-opt %s --emit=asm-loops 2>&1 | filecheck %s

// The structured encoding needs constant loop bounds (the flat one unrolls any).
cim.program @tri(%x: memref<8xi8, "DRAM">) arch "t" cores 1 shared [DRAM, GB] per_core [LB, IReg, Macro, OReg] macro Macro {
  %l = cim.alloc : memref<1xi8, "LB">
  cim.core 0 {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    scf.for %i = %c0 to %c4 step %c1 {
      scf.for %j = %c0 to %i step %c1 {
        cim.dma "t" %x[%j] [1] -> %l : memref<8xi8, "DRAM"> -> memref<1xi8, "LB">
      }
    }
  }
}

// CHECK:      miredo-opt: scf.for: error: @tri core0: the upper bound of a loop is not a constant: the structured encoding needs constant loop bounds (use --emit=asm|json)
// CHECK-NOT:  {{.}}
