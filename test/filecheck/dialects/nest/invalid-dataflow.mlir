// RUN: not miredo-opt %s 2>&1 | filecheck %s

// A #nest.dataflow that fails its own checks is a parse error at the attribute,
// with the file, line and column.

func.func @dataflow_bad_levels(%x: memref<1x3x8x8xf32>, %w: memref<4x3x3x3xf32>, %y: memref<1x4x4x4xf32>) {
  nest.contract "conv1" conv dims<N=1, G=1, K=4, C=3, P=4, Q=4, R=3, S=3> stride [2, 2] dilation [1, 1] pad [1, 1, 1, 1] ins(%x[n, g * 3 + c, p * 2 + r - 1, q * 2 + s - 1], %w[g * 4 + k, c, r, s]) outs(%y[n, g * 4 + k, p, q]) {dataflow = #nest.dataflow<arch "tiny", mapper miredo, objective edp, spatial {cores = [K:2], rows = [C:3, R:3], cols = [K:2]}, temporal [P:4, S:3, Q:4], levels {I = [DRAM, LB, DRAM], W = [DRAM, DRAM, Macro], O = [DRAM, LB, OReg]}, bypass {I = [GB], W = [GB], O = [GB]}, double_buffer [LB:I], latency 1234, energy 5678.5, edp 7007269.0, status optimal, gap 0.0>} : memref<1x3x8x8xf32>, memref<4x3x3x3xf32> -> memref<1x4x4x4xf32>
  func.return
}

// CHECK: miredo-opt: {{.*}}invalid-dataflow.mlir:{{[0-9]+}}:{{[0-9]+}}: error: dataflow: operand I returns to level 'DRAM' after leaving it
