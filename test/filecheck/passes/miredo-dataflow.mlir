// RUN: miredo-opt %s '--miredo-dataflow=arch=tiny objective=latency time-limit=60 workers=1 gap-limit=0' | filecheck %s
// RUN: xdsl-opt %s -p 'miredo-dataflow{arch=tiny mapper=heuristic}' | filecheck %s --check-prefix=HEUR
// RUN: not miredo-opt %s '--miredo-dataflow=arch=nonexistent' 2>&1 | filecheck %s --check-prefix=BADARCH

func.func @conv(%x: memref<1x2x4x4xf32>, %w: memref<2x2x1x1xf32>, %y: memref<1x2x4x4xf32>) {
  nest.contract "conv1" conv dims<N=1, G=1, K=2, C=2, P=4, Q=4, R=1, S=1> stride [1, 1] dilation [1, 1] pad [0, 0, 0, 0] ins(%x[n, g * 2 + c, p, q], %w[g * 2 + k, c, r, s]) outs(%y[n, g * 2 + k, p, q]) : memref<1x2x4x4xf32>, memref<2x2x1x1xf32> -> memref<1x2x4x4xf32>
  func.return
}

// CHECK:      nest.contract "conv1"
// CHECK-SAME: dataflow = #nest.dataflow<arch "tiny", mapper miredo, objective latency,
// CHECK-SAME: spatial {cores = [{{[A-Za-z0-9:, ]*}}], rows = [{{[A-Za-z0-9:, ]*}}], cols = [{{[A-Za-z0-9:, ]*}}]},
// CHECK-SAME: temporal [{{[A-Za-z0-9:, ]*}}],
// CHECK-SAME: levels {I = [{{[A-Za-z0-9:, ]*}}], W = [{{[A-Za-z0-9:, ]*}}], O = [{{[A-Za-z0-9:, ]*}}]},
// CHECK-SAME: latency 37,
// CHECK-SAME: status optimal, gap 0.0>

// HEUR:       dataflow = #nest.dataflow<arch "tiny", mapper heuristic, objective edp,
// HEUR-SAME:  status heuristic

// BADARCH: miredo-opt: nonexistent: error:
