// RUN: MIREDO_ROUNDTRIP
// RUN: miredo-opt %s --print-op-generic | filecheck %s --check-prefix=GENERIC

// Every nest op in its custom syntax; the RUN lines print it generically, parse it
// back and print it custom again.

builtin.module attributes {nest.source = "model.onnx"} {
  func.func @conv(%x: memref<1x3x8x8xf32>, %y: memref<1x4x4x4xf32>) {
    %w = nest.weight "conv1.weight.bnfold" : memref<4x3x3x3xf32>
    %b = nest.weight "conv1.bias" {note = "kept"} = dense<[1.0, 2.0, 3.0, 4.0]> : memref<4xf32>
    nest.contract "conv1" conv dims<N=1, G=1, K=4, C=3, P=4, Q=4, R=3, S=3> stride [2, 2] dilation [1, 1] pad [1, 1, 1, 1] ins(%x[n, g * 3 + c, p * 2 + r - 1, q * 2 + s - 1], %w[g * 4 + k, c, r, s]) bias(%b[g * 4 + k]) outs(%y[n, g * 4 + k, p, q]) {dataflow = #nest.dataflow<arch "tiny", mapper miredo, objective edp, spatial {cores = [K:2], rows = [C:3, R:3], cols = [K:2]}, temporal [P:4, S:3, Q:4], levels {I = [DRAM, LB, LB], W = [DRAM, DRAM, Macro], O = [DRAM, LB, OReg]}, bypass {I = [GB], W = [GB], O = [GB]}, double_buffer [LB:I], latency 1234, energy 5678.5, edp 7007269.0, status optimal, gap 0.0>, tag} : memref<1x3x8x8xf32>, memref<4x3x3x3xf32>, memref<4xf32> -> memref<1x4x4x4xf32>
    func.return
  }
// CHECK-LABEL: func.func @conv
// CHECK-NEXT:    %w = nest.weight "conv1.weight.bnfold" : memref<4x3x3x3xf32>
// CHECK-NEXT:    %b = nest.weight "conv1.bias" {note = "kept"} = dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]> : memref<4xf32>
// CHECK-NEXT:    nest.contract "conv1" conv dims<N=1, G=1, K=4, C=3, P=4, Q=4, R=3, S=3> stride [2, 2] dilation [1, 1] pad [1, 1, 1, 1] ins(%x[n, g * 3 + c, p * 2 + r - 1, q * 2 + s - 1], %w[g * 4 + k, c, r, s]) bias(%b[g * 4 + k]) outs(%y[n, g * 4 + k, p, q]) {dataflow = #nest.dataflow<arch "tiny", mapper miredo, objective edp, spatial {cores = [K:2], rows = [C:3, R:3], cols = [K:2]}, temporal [P:4, S:3, Q:4], levels {I = [DRAM, LB, LB], W = [DRAM, DRAM, Macro], O = [DRAM, LB, OReg]}, bypass {I = [GB], W = [GB], O = [GB]}, double_buffer [LB:I], latency 1234, energy 5678.5, edp 7007269.0, status optimal, gap 0.0>, tag} : memref<1x3x8x8xf32>, memref<4x3x3x3xf32>, memref<4xf32> -> memref<1x4x4x4xf32>

// GENERIC-LABEL: "func.func"() <{sym_name = "conv"
// GENERIC:       "nest.weight"() <{node = "conv1.weight.bnfold"}> : () -> memref<4x3x3x3xf32>
// GENERIC:       "nest.contract"(%x, %w, %b, %y) <{node = "conv1", kind = "conv", dims = #nest.dims<N=1, G=1, K=4, C=3, P=4, Q=4, R=3, S=3>, stride = array<i64: 2, 2>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, alpha = 1.000000e+00 : f64, beta = 1.000000e+00 : f64, map_i = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, ((d1 * 3) + d3), (((d4 * 2) + d6) + -1), (((d5 * 2) + d7) + -1))>, map_w = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (((d1 * 4) + d2), d3, d6, d7)>, map_o = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, ((d1 * 4) + d2), d4, d5)>, map_b = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (((d1 * 4) + d2))>}> {dataflow = #nest.dataflow<arch "tiny", mapper miredo, objective edp, spatial {cores = [K:2], rows = [C:3, R:3], cols = [K:2]}, temporal [P:4, S:3, Q:4], levels {I = [DRAM, LB, LB], W = [DRAM, DRAM, Macro], O = [DRAM, LB, OReg]}, bypass {I = [GB], W = [GB], O = [GB]}, double_buffer [LB:I], latency 1234, energy 5678.5, edp 7007269.0, status optimal, gap 0.0>, tag}

  func.func @depthwise_int(%xd: memref<1x8x6x6xi8>, %wd: memref<8x1x3x3xi8>, %yd: memref<1x8x2x2xi32>) {
    nest.contract "dw" conv dims<N=1, G=8, K=1, C=1, P=2, Q=2, R=3, S=3> stride [2, 2] dilation [2, 2] pad [1, 0, 0, 1] ins(%xd[n, g + c, p * 2 + r * 2 - 1, q * 2 + s * 2], %wd[g + k, c, r, s]) outs(%yd[n, g + k, p, q]) : memref<1x8x6x6xi8>, memref<8x1x3x3xi8> -> memref<1x8x2x2xi32>
    func.return
  }
// CHECK-LABEL: func.func @depthwise_int
// CHECK-NEXT:    nest.contract "dw" conv dims<N=1, G=8, K=1, C=1, P=2, Q=2, R=3, S=3> stride [2, 2] dilation [2, 2] pad [1, 0, 0, 1] ins(%xd[n, g + c, p * 2 + r * 2 - 1, q * 2 + s * 2], %wd[g + k, c, r, s]) outs(%yd[n, g + k, p, q]) : memref<1x8x6x6xi8>, memref<8x1x3x3xi8> -> memref<1x8x2x2xi32>

  func.func @gemm(%ag: memref<16x2xf32>, %yg: memref<2x10xf32>) {
    %wg = nest.weight "fc.weight" : memref<10x16xf32>
    %cg = nest.weight "c" = dense<5.000000e-01> : memref<f32>
    nest.contract "fc" gemm dims<N=1, G=1, K=10, C=16, P=2, Q=1, R=1, S=1> alpha 0.5 beta 2.0 ins(%ag[c, p], %wg[k, c]) bias(%cg[]) outs(%yg[p, k]) : memref<16x2xf32>, memref<10x16xf32>, memref<f32> -> memref<2x10xf32>
    func.return
  }
// CHECK-LABEL: func.func @gemm
// CHECK:         %cg = nest.weight "c" = dense<5.000000e-01> : memref<f32>
// CHECK-NEXT:    nest.contract "fc" gemm dims<N=1, G=1, K=10, C=16, P=2, Q=1, R=1, S=1> alpha 0.5 beta 2.0 ins(%ag[c, p], %wg[k, c]) bias(%cg[]) outs(%yg[p, k]) : memref<16x2xf32>, memref<10x16xf32>, memref<f32> -> memref<2x10xf32>

  func.func @matmul(%am: memref<1x3x4x5xf32>, %bm: memref<2x3x5x6xf32>, %ym: memref<2x3x4x6xf32>) {
    nest.contract "bmm" matmul dims<N=2, G=3, K=6, C=5, P=4, Q=1, R=1, S=1> ins(%am[0, g, p, c], %bm[n, g, c, k]) outs(%ym[n, g, p, k]) : memref<1x3x4x5xf32>, memref<2x3x5x6xf32> -> memref<2x3x4x6xf32>
    func.return
  }
// CHECK-LABEL: func.func @matmul
// CHECK-NEXT:    nest.contract "bmm" matmul dims<N=2, G=3, K=6, C=5, P=4, Q=1, R=1, S=1> ins(%am[0, g, p, c], %bm[n, g, c, k]) outs(%ym[n, g, p, k])

  func.func @simd(%xs: memref<1x4x8x8xf32>, %vs: memref<8xf32>, %es: memref<f32>, %ys: memref<1x4x8x8xf32>) {
    nest.elementwise "relu" relu ins(%xs) outs(%ys) : memref<1x4x8x8xf32> -> memref<1x4x8x8xf32>
    nest.elementwise "relu6" clip(min = 0.0, max = 6.0) ins(%xs) outs(%ys) : memref<1x4x8x8xf32> -> memref<1x4x8x8xf32>
    nest.elementwise "cap" clip(max = 1.0e+30) ins(%xs) outs(%ys) : memref<1x4x8x8xf32> -> memref<1x4x8x8xf32>
    nest.elementwise "gelu" gelu ins(%xs) outs(%ys) : memref<1x4x8x8xf32> -> memref<1x4x8x8xf32>
    nest.elementwise "gelu_tanh" gelu(tanh) ins(%xs) outs(%ys) {note} : memref<1x4x8x8xf32> -> memref<1x4x8x8xf32>
    nest.elementwise "add" add ins(%xs, %vs) outs(%ys) : memref<1x4x8x8xf32>, memref<8xf32> -> memref<1x4x8x8xf32>
    nest.elementwise "pow" pow ins(%xs, %es) outs(%ys) : memref<1x4x8x8xf32>, memref<f32> -> memref<1x4x8x8xf32>
    %ps = memref.alloc() : memref<1x4x4x4xf32>
    %qs = memref.alloc() : memref<1x4x5x4xf32>
    nest.pool "mp" max kernel [3, 3] stride [2, 2] pad [1, 1, 1, 1] dilation [1, 2] ceil_mode ins(%xs) outs(%qs) : memref<1x4x8x8xf32> -> memref<1x4x5x4xf32>
    nest.pool "ap" avg kernel [2, 2] stride [2, 2] pad [0, 0, 0, 0] count_include_pad ins(%xs) outs(%ps) : memref<1x4x8x8xf32> -> memref<1x4x4x4xf32>
    nest.softmax "sm" axis 3 ins(%xs) outs(%ys) : memref<1x4x8x8xf32> -> memref<1x4x8x8xf32>
    nest.layernorm "ln" axis 3 epsilon 1.0e-05 ins(%xs, %vs, %vs) outs(%ys) : memref<1x4x8x8xf32>, memref<8xf32>, memref<8xf32> -> memref<1x4x8x8xf32>
    nest.layernorm "ln_nobias" axis 2 epsilon 0.001 ins(%xs, %vs) outs(%ys) : memref<1x4x8x8xf32>, memref<8xf32> -> memref<1x4x8x8xf32>
    %rs = memref.alloc() : memref<1x4x1x1xf32>
    nest.reduce "gap" mean axes [2, 3] keepdims ins(%xs) outs(%rs) : memref<1x4x8x8xf32> -> memref<1x4x1x1xf32>
    %ss = memref.alloc() : memref<4x8xf32>
    nest.reduce "rs" max axes [0, 3] ins(%xs) outs(%ss) : memref<1x4x8x8xf32> -> memref<4x8xf32>
    func.return
  }
// CHECK-LABEL: func.func @simd
// CHECK-NEXT:    nest.elementwise "relu" relu ins(%xs) outs(%ys) : memref<1x4x8x8xf32> -> memref<1x4x8x8xf32>
// CHECK-NEXT:    nest.elementwise "relu6" clip(min = 0.0, max = 6.0) ins(%xs) outs(%ys)
// CHECK-NEXT:    nest.elementwise "cap" clip(max = 1.0e+30) ins(%xs) outs(%ys)
// CHECK-NEXT:    nest.elementwise "gelu" gelu ins(%xs) outs(%ys)
// CHECK-NEXT:    nest.elementwise "gelu_tanh" gelu(tanh) ins(%xs) outs(%ys) {note} : memref<1x4x8x8xf32> -> memref<1x4x8x8xf32>
// CHECK-NEXT:    nest.elementwise "add" add ins(%xs, %vs) outs(%ys) : memref<1x4x8x8xf32>, memref<8xf32> -> memref<1x4x8x8xf32>
// CHECK-NEXT:    nest.elementwise "pow" pow ins(%xs, %es) outs(%ys) : memref<1x4x8x8xf32>, memref<f32> -> memref<1x4x8x8xf32>
// CHECK-NEXT:    %ps = memref.alloc() : memref<1x4x4x4xf32>
// CHECK-NEXT:    %qs = memref.alloc() : memref<1x4x5x4xf32>
// CHECK-NEXT:    nest.pool "mp" max kernel [3, 3] stride [2, 2] pad [1, 1, 1, 1] dilation [1, 2] ceil_mode ins(%xs) outs(%qs) : memref<1x4x8x8xf32> -> memref<1x4x5x4xf32>
// CHECK-NEXT:    nest.pool "ap" avg kernel [2, 2] stride [2, 2] pad [0, 0, 0, 0] count_include_pad ins(%xs) outs(%ps)
// CHECK-NEXT:    nest.softmax "sm" axis 3 ins(%xs) outs(%ys) : memref<1x4x8x8xf32> -> memref<1x4x8x8xf32>
// CHECK-NEXT:    nest.layernorm "ln" axis 3 epsilon 1.0e-05 ins(%xs, %vs, %vs) outs(%ys) : memref<1x4x8x8xf32>, memref<8xf32>, memref<8xf32> -> memref<1x4x8x8xf32>
// CHECK-NEXT:    nest.layernorm "ln_nobias" axis 2 epsilon 0.001 ins(%xs, %vs) outs(%ys)
// CHECK-NEXT:    %rs = memref.alloc() : memref<1x4x1x1xf32>
// CHECK-NEXT:    nest.reduce "gap" mean axes [2, 3] keepdims ins(%xs) outs(%rs) : memref<1x4x8x8xf32> -> memref<1x4x1x1xf32>
// CHECK-NEXT:    %ss = memref.alloc() : memref<4x8xf32>
// CHECK-NEXT:    nest.reduce "rs" max axes [0, 3] ins(%xs) outs(%ss) : memref<1x4x8x8xf32> -> memref<4x8xf32>

// GENERIC-LABEL: "func.func"() <{sym_name = "simd"
// GENERIC:       "nest.elementwise"(%xs, %ys) <{node = "relu6", fn = "clip", min = 0.000000e+00 : f64, max = 6.000000e+00 : f64}>
// GENERIC:       "nest.pool"(%xs, %qs) <{node = "mp", kind = "max", stride = array<i64: 2, 2>, dilation = array<i64: 1, 2>, pad = array<i64: 1, 1, 1, 1>, kernel = array<i64: 3, 3>, ceil_mode}>

  func.func @layout(%xl: memref<1x8x2x16xf32>, %zl: memref<1x4x2x16xf32>) {
    %fl = memref.alloc() : memref<8x32xf32>
    nest.reshape "flat" ins(%xl) outs(%fl) : memref<1x8x2x16xf32> -> memref<8x32xf32>
    %tl = memref.alloc() : memref<1x2x8x16xf32>
    nest.transpose "t" perm [0, 2, 1, 3] ins(%xl) outs(%tl) : memref<1x8x2x16xf32> -> memref<1x2x8x16xf32>
    %cl = memref.alloc() : memref<1x12x2x16xf32>
    nest.concat "cat" axis 1 ins(%xl, %zl) outs(%cl) : memref<1x8x2x16xf32>, memref<1x4x2x16xf32> -> memref<1x12x2x16xf32>
    func.return
  }
// CHECK-LABEL: func.func @layout
// CHECK:         nest.reshape "flat" ins(%xl) outs(%fl) : memref<1x8x2x16xf32> -> memref<8x32xf32>
// CHECK:         nest.transpose "t" perm [0, 2, 1, 3] ins(%xl) outs(%tl) : memref<1x8x2x16xf32> -> memref<1x2x8x16xf32>
// CHECK:         nest.concat "cat" axis 1 ins(%xl, %zl) outs(%cl) : memref<1x8x2x16xf32>, memref<1x4x2x16xf32> -> memref<1x12x2x16xf32>
}
