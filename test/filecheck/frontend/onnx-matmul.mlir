// RUN: miredo-opt %S/../inputs/matmul.onnx | filecheck %s

// matmul.onnx (miredo.frontends.testmodels.matmul_model): a MatMul with a shared
// 2-D weight, batched MatMuls, Transpose, Softmax, Concat, ReduceSum with axes as
// an input, Sigmoid.

// CHECK:      func.func @main(%x: memref<2x4x8xf32>, %out: memref<2x12xf32>) attributes {nest.inputs = ["x"], nest.outputs = ["out"]} {
// CHECK-NEXT:   %w = nest.weight "w" : memref<8x6xf32>
// The axes input of ReduceSum is a constant consumed at import: no weight for it.
// CHECK-NOT:    nest.weight

// [B, M, K] x [K, N]: the batch is N and the weight's map does not use n.
// CHECK:        nest.contract "proj" matmul dims<N=2, G=1, K=6, C=8, P=4, Q=1, R=1, S=1> ins(%x[n, p, c], %w[c, k]) outs(%proj_out[n, p, k]) : memref<2x4x8xf32>, memref<8x6xf32> -> memref<2x4x6xf32>
// CHECK:        nest.transpose "proj_t" perm [0, 2, 1] ins(%proj_out) outs(%proj_t_out) : memref<2x4x6xf32> -> memref<2x6x4xf32>
// CHECK:        nest.contract "scores" matmul dims<N=2, G=1, K=4, C=6, P=4, Q=1, R=1, S=1> ins(%proj_out[n, p, c], %proj_t_out[n, c, k]) outs(%scores_out[n, p, k])
// CHECK:        nest.softmax "softmax" axis 2 ins(%scores_out) outs(%softmax_out) : memref<2x4x4xf32> -> memref<2x4x4xf32>
// CHECK:        nest.contract "context" matmul dims<N=2, G=1, K=6, C=4, P=4, Q=1, R=1, S=1> ins(%softmax_out[n, p, c], %proj_out[n, c, k]) outs(%context_out[n, p, k])
// CHECK:        nest.concat "concat" axis 2 ins(%context_out, %proj_out) outs(%concat_out) : memref<2x4x6xf32>, memref<2x4x6xf32> -> memref<2x4x12xf32>

// CHECK:        nest.reduce "rsum" sum axes [1] ins(%concat_out) outs(%rsum_out) : memref<2x4x12xf32> -> memref<2x12xf32>
// CHECK-NEXT:   nest.elementwise "sigmoid" sigmoid ins(%rsum_out) outs(%out) : memref<2x12xf32> -> memref<2x12xf32>
// CHECK-NEXT:   func.return
