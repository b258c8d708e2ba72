// RUN: mstream-opt %s --mstream-expand-flash-attention --split-input-file -cse | FileCheck %s

// The forward becomes the [N, T, T] scores, their causal softmax and the
// product with v, all products marked for the precision policy. Its lse
// is built here because the return reads it: max + log(sum).
// CHECK-LABEL: func.func @forward
// CHECK-NOT: mstream.flash_attention
// CHECK: linalg.batch_matmul {{.*}}{mstream.oracle_product} ins(%{{.*}}, %{{.*}} : tensor<4x8x2xf32>, tensor<4x8x2xf32>) outs(%{{.*}} : tensor<4x8x8xf32>)
// CHECK: arith.cmpi ule
// CHECK: math.exp
// CHECK: %[[CONTEXT:.*]] = linalg.batch_matmul {mstream.oracle_product} ins(%{{.*}}, %{{.*}} : tensor<4x8x8xf32>, tensor<4x8x2xf32>)
// CHECK: %[[LSE:.*]] = linalg.generic
// CHECK: math.log
// CHECK: arith.addf
// CHECK: return %[[CONTEXT]], %[[LSE]]
func.func @forward(%q: tensor<4x8x2xf32>, %k: tensor<4x8x2xf32>, %v: tensor<4x8x2xf32>) -> (tensor<4x8x2xf32>, tensor<4x8xf32>) {
  %o = tensor.empty() : tensor<4x8x2xf32>
  %l = tensor.empty() : tensor<4x8xf32>
  %0:2 = mstream.flash_attention ins(%q, %k, %v : tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8x2xf32>) outs(%o, %l : tensor<4x8x2xf32>, tensor<4x8xf32>) {scale = 0.5 : f64} -> tensor<4x8x2xf32>, tensor<4x8xf32>
  return %0#0, %0#1 : tensor<4x8x2xf32>, tensor<4x8xf32>
}

// -----

// With the gradient expanded as well nothing reads the lse: no log is
// computed. The gradient recomputes the scores and probabilities, which
// CSE shares with the forward's; its products: dP = dout vᵀ, dv = Pᵀ dout,
// dq = dS k, dk = dSᵀ q.
// CHECK-LABEL: func.func @forward_and_grad
// CHECK-NOT: mstream.flash_attention
// CHECK-NOT: math.log
// CHECK-COUNT-6: linalg.batch_matmul
// CHECK-NOT: linalg.batch_matmul
// CHECK: return
func.func @forward_and_grad(%q: tensor<4x8x2xf32>, %k: tensor<4x8x2xf32>, %v: tensor<4x8x2xf32>, %dout: tensor<4x8x2xf32>) -> (tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8x2xf32>) {
  %o = tensor.empty() : tensor<4x8x2xf32>
  %l = tensor.empty() : tensor<4x8xf32>
  %0:2 = mstream.flash_attention ins(%q, %k, %v : tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8x2xf32>) outs(%o, %l : tensor<4x8x2xf32>, tensor<4x8xf32>) {scale = 0.5 : f64} -> tensor<4x8x2xf32>, tensor<4x8xf32>
  %1:3 = mstream.flash_attention_grad ins(%q, %k, %v, %0#0, %dout, %0#1 : tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8xf32>) outs(%o, %o, %o : tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8x2xf32>) {scale = 0.5 : f64} -> tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8x2xf32>
  return %0#0, %1#0, %1#1, %1#2 : tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8x2xf32>
}
