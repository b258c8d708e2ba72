// RUN: mstream-opt %s --inline --mstream-autodiff --split-input-file --verify-diagnostics | FileCheck %s

// loss_and_grads returns the loss and one gradient per parameter, named by
// mstream.grad; the backward of the tied head is two BLAS-bound matmuls and
// the cross-entropy cotangent starts from d loss = 1.
// CHECK-LABEL: func.func @loss(
// CHECK-LABEL: func.func @loss_and_grads(
// CHECK-SAME: %[[IDS:.*]]: tensor<2x4xi32>, %[[TGT:.*]]: tensor<2x4xi32>, %[[TOK:.*]]: tensor<16x8xf32> {mstream.param = "tok_emb.weight"}, %[[POS:.*]]: tensor<8x8xf32> {mstream.param = "pos_emb.weight"}
// CHECK-SAME: -> (tensor<f32>, tensor<16x8xf32> {mstream.grad = "tok_emb.weight"}, tensor<8x8xf32> {mstream.grad = "pos_emb.weight"})
// CHECK: %[[LOSS:.*]] = mstream.cross_entropy
// CHECK: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: linalg.fill ins(%[[ONE]] : f32) outs(%{{.*}} : tensor<f32>)
// CHECK: linalg.matmul{{.*}} ins(%{{.*}}, %[[TOK]] : tensor<8x16xf32>, tensor<16x8xf32>)
// CHECK: linalg.matmul{{.*}} ins(%{{.*}}, %{{.*}} : tensor<8x16xf32>, tensor<8x8xf32>)
// The embedding's scatter-add into the token table, one row per position.
// CHECK: scf.for
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[%{{.*}}, 0] [1, 8] [1, 1]
// CHECK: return %[[LOSS]],
func.func @forward(%ids: tensor<2x4xi32>, %tok: tensor<16x8xf32>, %pos: tensor<8x8xf32>) -> tensor<2x4x16xf32> {
  %x = mstream.embedding %ids, %tok, %pos : (tensor<2x4xi32>, tensor<16x8xf32>, tensor<8x8xf32>) -> tensor<2x4x8xf32>
  %l = mstream.tied_head %x, %tok : (tensor<2x4x8xf32>, tensor<16x8xf32>) -> tensor<2x4x16xf32>
  return %l : tensor<2x4x16xf32>
}
func.func @loss(%ids: tensor<2x4xi32>, %tgt: tensor<2x4xi32>, %tok: tensor<16x8xf32> {mstream.param = "tok_emb.weight"}, %pos: tensor<8x8xf32> {mstream.param = "pos_emb.weight"}) -> tensor<f32> {
  %l = call @forward(%ids, %tok, %pos) : (tensor<2x4xi32>, tensor<16x8xf32>, tensor<8x8xf32>) -> tensor<2x4x16xf32>
  %loss = mstream.cross_entropy %l, %tgt : tensor<2x4x16xf32>, tensor<2x4xi32> -> tensor<f32>
  return %loss : tensor<f32>
}

// -----

// A parameter that does not reach the loss gets a zero gradient.
// CHECK-LABEL: func.func @loss_and_grads(
// CHECK: %[[UNUSED:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<4xf32>)
// CHECK: return %{{.*}}, %{{.*}}, %[[UNUSED]]
func.func @loss(%ids: tensor<2x4xi32>, %tgt: tensor<2x4xi32>, %tok: tensor<16x8xf32> {mstream.param = "tok_emb.weight"}, %unused: tensor<4xf32> {mstream.param = "extra.weight"}) -> tensor<f32> {
  %pos = arith.constant dense<0.0> : tensor<8x8xf32>
  %x = mstream.embedding %ids, %tok, %pos : (tensor<2x4xi32>, tensor<16x8xf32>, tensor<8x8xf32>) -> tensor<2x4x8xf32>
  %l = mstream.tied_head %x, %tok : (tensor<2x4x8xf32>, tensor<16x8xf32>) -> tensor<2x4x16xf32>
  %loss = mstream.cross_entropy %l, %tgt : tensor<2x4x16xf32>, tensor<2x4xi32> -> tensor<f32>
  return %loss : tensor<f32>
}

// -----

// expected-error @below {{mstream-autodiff: the module has no 'loss' function to differentiate}}
module {
  func.func @forward() {
    return
  }
}

// -----

// An op on the path to the loss without a VJP is a located error.
func.func @loss(%ids: tensor<2x4xi32>, %tgt: tensor<2x4xi32>, %tok: tensor<16x8xf32> {mstream.param = "tok_emb.weight"}) -> tensor<f32> {
  %pos = arith.constant dense<0.0> : tensor<8x8xf32>
  %x = mstream.embedding %ids, %tok, %pos : (tensor<2x4xi32>, tensor<16x8xf32>, tensor<8x8xf32>) -> tensor<2x4x8xf32>
  // expected-error @below {{'arith.addf' op has no vector-Jacobian product, so mstream-autodiff cannot differentiate it}}
  %y = arith.addf %x, %x : tensor<2x4x8xf32>
  %l = mstream.tied_head %y, %tok : (tensor<2x4x8xf32>, tensor<16x8xf32>) -> tensor<2x4x16xf32>
  %loss = mstream.cross_entropy %l, %tgt : tensor<2x4x16xf32>, tensor<2x4xi32> -> tensor<f32>
  return %loss : tensor<f32>
}

// -----

// The backward of a fused region is a fused region (".grad") over the same
// tokens: it takes the forward inputs and the cotangent of the result,
// rebuilds the token's forward values and returns per-token cotangents of
// x and v and token sums for the shared mu and gain.
// CHECK-LABEL: func.func @loss_and_grads(
// CHECK: %[[X:.*]] = mstream.embedding
// CHECK: %[[V:.*]] = mstream.embedding
// CHECK: %[[H:.*]] = mstream.fused "pre" tokens [2, 4](%[[X]], %[[V]], %[[MU:.*]], %[[GAIN:[^)]*]])
// CHECK: %[[BACK:.*]]:4 = mstream.fused "pre.grad" tokens [2, 4](%[[X]], %[[V]], %[[MU]], %[[GAIN]], %{{.*}}) : (tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<1xf32>, tensor<8xf32>, tensor<2x4x8xf32>) -> (tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<1xf32>, tensor<8xf32>) {
// CHECK-NEXT: ^bb0(%{{.*}}: tensor<1x1x8xf32>, %{{.*}}: tensor<1x1x8xf32>, %{{.*}}: tensor<1xf32>, %{{.*}}: tensor<8xf32>, %{{.*}}: tensor<1x1x8xf32>):
// CHECK: mstream.lookahead
// CHECK-NOT: mstream.layer_norm
// CHECK: linalg.generic
// CHECK: mstream.yield {{.*}} : tensor<1x1x8xf32>, tensor<1x1x8xf32>, tensor<1xf32>, tensor<8xf32>
// CHECK: return
func.func @loss(%ids: tensor<2x4xi32>, %tgt: tensor<2x4xi32>, %tok: tensor<16x8xf32> {mstream.param = "tok_emb.weight"}, %pos: tensor<8x8xf32> {mstream.param = "pos_emb.weight"}, %mu: tensor<1xf32> {mstream.param = "mu"}, %gain: tensor<8xf32> {mstream.param = "gain"}) -> tensor<f32> {
  %x = mstream.embedding %ids, %tok, %pos : (tensor<2x4xi32>, tensor<16x8xf32>, tensor<8x8xf32>) -> tensor<2x4x8xf32>
  %v = mstream.embedding %ids, %pos, %pos : (tensor<2x4xi32>, tensor<8x8xf32>, tensor<8x8xf32>) -> tensor<2x4x8xf32>
  %h = mstream.fused "pre" tokens [2, 4] (%x, %v, %mu, %gain) : (tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<1xf32>, tensor<8xf32>) -> tensor<2x4x8xf32> {
  ^bb0(%tx: tensor<1x1x8xf32>, %tv: tensor<1x1x8xf32>, %m: tensor<1xf32>, %g: tensor<8xf32>):
    %la = mstream.lookahead x(%tx) v(%tv) mu(%m) : tensor<1x1x8xf32>, tensor<1xf32>
    %n = mstream.layer_norm %la, %g : tensor<1x1x8xf32>, tensor<8xf32>
    mstream.yield %n : tensor<1x1x8xf32>
  }
  %l = mstream.tied_head %h, %tok : (tensor<2x4x8xf32>, tensor<16x8xf32>) -> tensor<2x4x16xf32>
  %loss = mstream.cross_entropy %l, %tgt : tensor<2x4x16xf32>, tensor<2x4xi32> -> tensor<f32>
  return %loss : tensor<f32>
}
