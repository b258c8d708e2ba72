// RUN: mstream-opt %s --mstream-apply-precision=precision=bf16 --split-input-file | FileCheck %s
// RUN: mstream-opt %s --mstream-apply-precision --split-input-file | FileCheck %s --check-prefix=FP32
// RUN: not mstream-opt %s --mstream-apply-precision=precision=fp16 --split-input-file 2>&1 | FileCheck %s --check-prefix=BAD

// An oracle's product reads both operands rounded to bf16 and accumulates
// into its f32 result; the unmarked product (a per-token iteration, the
// weight optimizer's) stays f32. fp32 changes nothing.
// CHECK-LABEL: func.func @oracle_products
// CHECK: %[[A:.*]] = linalg.generic {{.*}} ins(%arg0 : tensor<8x16xf32>) outs(%{{.*}} : tensor<8x16xbf16>)
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// CHECK: %[[W:.*]] = linalg.generic {{.*}} ins(%arg1 : tensor<32x16xf32>) outs(%{{.*}} : tensor<32x16xbf16>)
// CHECK: linalg.matmul indexing_maps = [{{.*}}] {mstream.oracle_product} ins(%[[A]], %[[W]] : tensor<8x16xbf16>, tensor<32x16xbf16>) outs(%{{.*}} : tensor<8x32xf32>)
// CHECK: linalg.batch_matmul {{.*}}ins(%{{.*}}, %{{.*}} : tensor<2x4x4xbf16>, tensor<2x4x4xbf16>)
// CHECK: linalg.matmul ins(%arg5, %arg5 : tensor<32x32xf32>, tensor<32x32xf32>)
// FP32-LABEL: func.func @oracle_products
// FP32-NOT: bf16
// BAD: unknown precision 'fp16' (expected fp32 or bf16)
#a = affine_map<(m, n, k) -> (m, k)>
#bt = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @oracle_products(%x: tensor<8x16xf32>, %w: tensor<32x16xf32>, %q: tensor<2x4x4xf32>, %acc: tensor<8x32xf32>, %bacc: tensor<2x4x4xf32>, %g: tensor<32x32xf32>) -> (tensor<8x32xf32>, tensor<2x4x4xf32>, tensor<32x32xf32>) {
  %y = linalg.matmul indexing_maps = [#a, #bt, #c] {mstream.oracle_product} ins(%x, %w : tensor<8x16xf32>, tensor<32x16xf32>) outs(%acc : tensor<8x32xf32>) -> tensor<8x32xf32>
  %s = linalg.batch_matmul {mstream.oracle_product} ins(%q, %q : tensor<2x4x4xf32>, tensor<2x4x4xf32>) outs(%bacc : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %n = linalg.matmul ins(%g, %g : tensor<32x32xf32>, tensor<32x32xf32>) outs(%g : tensor<32x32xf32>) -> tensor<32x32xf32>
  return %y, %s, %n : tensor<8x32xf32>, tensor<2x4x4xf32>, tensor<32x32xf32>
}

// -----

// A value two products read is rounded once. An elementwise producer that
// only the rounding reads writes bf16 itself (the logit gradient, GELU's
// output): no f32 tensor, no separate rounding pass. A producer whose f32
// result is read elsewhere too keeps it, and its rounding stays separate.
// CHECK-LABEL: func.func @rounded_once_and_fused
// CHECK: %[[G:.*]] = linalg.generic {{.*}} ins(%arg0 : tensor<8x16xf32>) outs(%{{.*}} : tensor<8x16xbf16>)
// CHECK: math.exp
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// CHECK-NOT: linalg.generic
// CHECK: linalg.matmul {{.*}}ins(%[[G]], %[[G]] : tensor<8x16xbf16>, tensor<8x16xbf16>)
// CHECK: linalg.matmul {{.*}}ins(%[[G]], %[[G]] : tensor<8x16xbf16>, tensor<8x16xbf16>)
// CHECK: %[[H:.*]] = linalg.generic {{.*}} ins(%arg0 : tensor<8x16xf32>) outs(%{{.*}} : tensor<8x16xf32>)
// CHECK: math.tanh
// CHECK: %[[R:.*]] = linalg.generic {{.*}} ins(%[[H]] : tensor<8x16xf32>) outs(%{{.*}} : tensor<8x16xbf16>)
// CHECK: linalg.matmul {{.*}}ins(%[[R]], %[[R]] : tensor<8x16xbf16>, tensor<8x16xbf16>)
// CHECK: return {{.*}}, %[[H]]
// FP32-LABEL: func.func @rounded_once_and_fused
// FP32-NOT: bf16
#id = affine_map<(i, j) -> (i, j)>
#a2 = affine_map<(m, n, k) -> (m, k)>
#bt2 = affine_map<(m, n, k) -> (n, k)>
#c2 = affine_map<(m, n, k) -> (m, n)>
func.func @rounded_once_and_fused(%x: tensor<8x16xf32>, %acc: tensor<8x8xf32>) -> (tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x16xf32>) {
  %e0 = tensor.empty() : tensor<8x16xf32>
  %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<8x16xf32>) outs(%e0 : tensor<8x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %v = math.exp %in : f32
    linalg.yield %v : f32
  } -> tensor<8x16xf32>
  %y = linalg.matmul indexing_maps = [#a2, #bt2, #c2] {mstream.oracle_product} ins(%g, %g : tensor<8x16xf32>, tensor<8x16xf32>) outs(%acc : tensor<8x8xf32>) -> tensor<8x8xf32>
  %z = linalg.matmul indexing_maps = [#a2, #bt2, #c2] {mstream.oracle_product} ins(%g, %g : tensor<8x16xf32>, tensor<8x16xf32>) outs(%acc : tensor<8x8xf32>) -> tensor<8x8xf32>
  %e1 = tensor.empty() : tensor<8x16xf32>
  %h = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<8x16xf32>) outs(%e1 : tensor<8x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %v = math.tanh %in : f32
    linalg.yield %v : f32
  } -> tensor<8x16xf32>
  %w = linalg.matmul indexing_maps = [#a2, #bt2, #c2] {mstream.oracle_product} ins(%h, %h : tensor<8x16xf32>, tensor<8x16xf32>) outs(%acc : tensor<8x8xf32>) -> tensor<8x8xf32>
  return %y, %z, %w, %h : tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x16xf32>
}

// -----

// Flash attention reads q, k, v (and, for its gradient, dout) rounded to
// bf16, each value once; its out and lse stay f32 and are not rounded for
// the gradient.
// CHECK-LABEL: func.func @flash_attention
// CHECK: %[[Q:.*]] = linalg.generic {{.*}} ins(%arg0 : tensor<4x8x2xf32>) outs(%{{.*}} : tensor<4x8x2xbf16>)
// CHECK: %[[O:.*]]:2 = mstream.flash_attention ins(%[[Q]], %[[Q]], %[[Q]] : tensor<4x8x2xbf16>, tensor<4x8x2xbf16>, tensor<4x8x2xbf16>) outs(%{{.*}}, %{{.*}} : tensor<4x8x2xf32>, tensor<4x8xf32>)
// CHECK: %[[D:.*]] = linalg.generic {{.*}} ins(%arg1 : tensor<4x8x2xf32>) outs(%{{.*}} : tensor<4x8x2xbf16>)
// CHECK: mstream.flash_attention_grad ins(%[[Q]], %[[Q]], %[[Q]], %[[O]]#0, %[[D]], %[[O]]#1 : tensor<4x8x2xbf16>, tensor<4x8x2xbf16>, tensor<4x8x2xbf16>, tensor<4x8x2xf32>, tensor<4x8x2xbf16>, tensor<4x8xf32>)
// FP32-LABEL: func.func @flash_attention
// FP32-NOT: bf16
func.func @flash_attention(%q: tensor<4x8x2xf32>, %dout: tensor<4x8x2xf32>) -> tensor<4x8x2xf32> {
  %o = tensor.empty() : tensor<4x8x2xf32>
  %l = tensor.empty() : tensor<4x8xf32>
  %0:2 = mstream.flash_attention ins(%q, %q, %q : tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8x2xf32>) outs(%o, %l : tensor<4x8x2xf32>, tensor<4x8xf32>) {scale = 0.5 : f64} -> tensor<4x8x2xf32>, tensor<4x8xf32>
  %1:3 = mstream.flash_attention_grad ins(%q, %q, %q, %0#0, %dout, %0#1 : tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8xf32>) outs(%o, %o, %o : tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8x2xf32>) {scale = 0.5 : f64} -> tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8x2xf32>
  return %1#0 : tensor<4x8x2xf32>
}
