// RUN: miredo-opt %S/../inputs/conv_bn.onnx | filecheck %s

// conv_bn.onnx (miredo.frontends.testmodels.conv_bn_model): a strided padded Conv
// followed by BatchNormalization (folded into the conv), ReLU, a depthwise Conv with
// bias, a standalone BatchNormalization (a per-channel mul + add), Flatten and a
// Gemm with transB, alpha and beta.

// CHECK:      builtin.module attributes {nest.source = "{{.*}}inputs/conv_bn.onnx"} {
// CHECK-NEXT:   func.func @main(%x: memref<1x2x6x6xf32>, %y: memref<1x3xf32>) attributes {nest.inputs = ["x"], nest.outputs = ["y"]} {

// Large weights are referenced by name, small ones (<= 16 elements) are inline.
// CHECK-NEXT:     %conv.weight.bnfold = nest.weight "conv.weight.bnfold" : memref<4x2x3x3xf32>
// CHECK-NEXT:     %conv.bias.bnfold = nest.weight "conv.bias.bnfold" = dense<[{{.*}}]> : memref<4xf32>
// CHECK-NEXT:     %dw.weight = nest.weight "dw.weight" : memref<4x1x3x3xf32>
// CHECK-NEXT:     %dw.bias = nest.weight "dw.bias" = dense<[{{.*}}]> : memref<4xf32>
// CHECK-NEXT:     %bn_alone.scale = nest.weight "bn_alone.scale" = dense<{{.*}}> : memref<4x1x1xf32>
// CHECK-NEXT:     %bn_alone.shift = nest.weight "bn_alone.shift" = dense<{{.*}}> : memref<4x1x1xf32>
// CHECK-NEXT:     %fc.weight = nest.weight "fc.weight" : memref<3x36xf32>
// CHECK-NEXT:     %fc.bias = nest.weight "fc.bias" = dense<[{{.*}}]> : memref<3xf32>

// The BN is folded: the conv writes the BN's output tensor with the folded weights.
// CHECK-NEXT:     %bn_out = memref.alloc() : memref<1x4x3x3xf32>
// CHECK-NEXT:     nest.contract "conv" conv dims<N=1, G=1, K=4, C=2, P=3, Q=3, R=3, S=3> stride [2, 2] dilation [1, 1] pad [1, 1, 1, 1] ins(%x[n, g * 2 + c, p * 2 + r - 1, q * 2 + s - 1], %conv.weight.bnfold[g * 4 + k, c, r, s]) bias(%conv.bias.bnfold[g * 4 + k]) outs(%bn_out[n, g * 4 + k, p, q]) : memref<1x2x6x6xf32>, memref<4x2x3x3xf32>, memref<4xf32> -> memref<1x4x3x3xf32>
// CHECK-NOT:      nest.{{.*}}"bn"
// CHECK:          nest.elementwise "relu" relu ins(%bn_out) outs(%relu_out)

// Depthwise: G = 4 groups of one channel.
// CHECK:          nest.contract "dw" conv dims<N=1, G=4, K=1, C=1, P=3, Q=3, R=3, S=3> stride [1, 1] dilation [1, 1] pad [1, 1, 1, 1] ins(%relu_out[n, g + c, p + r - 1, q + s - 1], %dw.weight[g + k, c, r, s]) bias(%dw.bias[g + k]) outs(%dw_out[n, g + k, p, q])

// A standalone BN is a broadcast multiply-add with folded per-channel constants.
// CHECK:          nest.elementwise "bn_alone" mul ins(%relu_dw_out, %bn_alone.scale) outs(%bn_alone_out.scaled) : memref<1x4x3x3xf32>, memref<4x1x1xf32> -> memref<1x4x3x3xf32>
// CHECK-NEXT:     %bn_alone_out = memref.alloc() : memref<1x4x3x3xf32>
// CHECK-NEXT:     nest.elementwise "bn_alone" add ins(%bn_alone_out.scaled, %bn_alone.shift) outs(%bn_alone_out)

// CHECK-NEXT:     %flatten_out = memref.alloc() : memref<1x36xf32>
// CHECK-NEXT:     nest.reshape "flatten" ins(%bn_alone_out) outs(%flatten_out) : memref<1x4x3x3xf32> -> memref<1x36xf32>

// Gemm: P = M, C = reduction, K = N; transB swaps W's map; the output is the graph
// output argument (destination-passing style).
// CHECK-NEXT:     nest.contract "fc" gemm dims<N=1, G=1, K=3, C=36, P=1, Q=1, R=1, S=1> alpha 0.5 beta 2.0 ins(%flatten_out[p, c], %fc.weight[k, c]) bias(%fc.bias[k]) outs(%y[p, k]) : memref<1x36xf32>, memref<3x36xf32>, memref<3xf32> -> memref<1x3xf32>
// CHECK-NEXT:     func.return
