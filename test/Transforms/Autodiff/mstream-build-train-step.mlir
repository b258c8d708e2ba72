// RUN: mstream-opt %s --mstream-build-train-step --split-input-file --verify-diagnostics | FileCheck %s
// RUN: mstream-opt %s --mstream-build-train-step="recipe=adamw max-norm=0.5" --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=ADAMW
// RUN: mstream-opt %s --mstream-build-train-step="group-updates=false" --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=ONE

// One embedding, one LN gain, one raw scalar and two block matrices. The
// hybrid recipe sends the matrices to one muon_update and each other group
// to its own adamw_update; only embeddings decay.
// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: %arg0: tensor<2x4xi32> {mstream.input = "tokens"}, %arg1: tensor<2x4xi32> {mstream.input = "targets"}
// CHECK-SAME: {mstream.input = "lr.matrix"}, %{{.*}}: tensor<f32> {mstream.input = "lr.embedding"}, %{{.*}}: tensor<f32> {mstream.input = "lr.ln"}, %{{.*}}: tensor<f32> {mstream.input = "lr.scalar"}, %[[T:.*]]: tensor<f32> {mstream.input = "step"}
// CHECK-SAME: {mstream.state = "emb.weight.exp_avg"}
// CHECK-SAME: {mstream.state = "emb.weight.exp_avg_sq"}
// CHECK-SAME: {mstream.state = "ln.weight.exp_avg"}
// CHECK-SAME: {mstream.state = "layers.0.w1.weight.momentum_buffer"}
// CHECK-SAME: {mstream.state = "layers.0.w2.weight.momentum_buffer"}
// CHECK-SAME: {mstream.state = "layers.0.mu_raw.exp_avg_sq"}
// CHECK-SAME: -> (tensor<f32> {mstream.output = "loss"}, tensor<f32> {mstream.output = "grad_norm"}, tensor<16x8xf32> {mstream.group = "embedding", mstream.param = "emb.weight"}
// CHECK: %[[R:.*]]:6 = call @loss_and_grads(%arg0, %arg1,
// Attributes at their defaults (max_norm 1, betas 0.9/0.95, eps 1e-8, no
// decay, momentum 0.95) are not printed.
// CHECK: %[[N:.*]], %[[S:.*]] = mstream.clip_by_global_norm %[[R]]#1, %[[R]]#2, %[[R]]#3, %[[R]]#4, %[[R]]#5 : tensor
// CHECK: mstream.adamw_update params({{.*}}) grads(%[[R]]#1) {{.*}} step(%[[T]]) scale(%[[S]]) {weight_decay = 1.000000e-01 : f64} : tensor<16x8xf32>
// CHECK: mstream.adamw_update params({{.*}}) grads(%[[R]]#2) {{.*}} scale(%[[S]]) : tensor<8xf32>
// CHECK: mstream.adamw_update params({{.*}}) grads(%[[R]]#5) {{.*}} scale(%[[S]]) : tensor<1xf32>
// CHECK: mstream.muon_update params({{.*}}) grads(%[[R]]#3, %[[R]]#4) {{.*}} scale(%[[S]]) : tensor<32x8xf32>, tensor<8x32xf32>
// CHECK: return %[[R]]#0, %[[N]],

// The adamw recipe: every group is AdamW, matrices decay as well.
// ADAMW-LABEL: func.func @train_step(
// ADAMW-SAME: {mstream.state = "layers.0.w1.weight.exp_avg"}
// ADAMW-NOT: momentum_buffer
// ADAMW: mstream.clip_by_global_norm {{.*}}{max_norm = 5.000000e-01 : f64}
// ADAMW-COUNT-3: mstream.adamw_update
// ADAMW: mstream.adamw_update params({{.*}}) {{.*}}weight_decay = 1.000000e-01 : f64} : tensor<32x8xf32>, tensor<8x32xf32>
// ADAMW-NOT: mstream.muon_update

// group-updates=false (the unfused build): one op per parameter, each
// result returned where the grouped op's would be.
// ONE-LABEL: func.func @train_step(
// ONE: %[[R:.*]]:6 = call @loss_and_grads(
// ONE: %[[N:.*]], %[[S:.*]] = mstream.clip_by_global_norm
// ONE: %[[E:[^,]+]], %[[EM:[^,]+]], %[[EV:[^ ]+]] = mstream.adamw_update params({{.*}}) grads(%[[R]]#1) {{.*}} : tensor<16x8xf32>
// ONE: %[[L:[^,]+]], %[[LM:[^,]+]], %[[LV:[^ ]+]] = mstream.adamw_update params({{.*}}) grads(%[[R]]#2) {{.*}} : tensor<8xf32>
// ONE: %[[M:[^,]+]], %[[MM:[^,]+]], %[[MV:[^ ]+]] = mstream.adamw_update params({{.*}}) grads(%[[R]]#5) {{.*}} : tensor<1xf32>
// ONE: %[[W1:[^,]+]], %[[B1:[^ ]+]] = mstream.muon_update params({{.*}}) grads(%[[R]]#3) {{.*}} : tensor<32x8xf32>
// ONE: %[[W2:[^,]+]], %[[B2:[^ ]+]] = mstream.muon_update params({{.*}}) grads(%[[R]]#4) {{.*}} : tensor<8x32xf32>
// ONE: return %[[R]]#0, %[[N]], %[[E]], %[[L]], %[[W1]], %[[W2]], %[[M]], %[[EM]], %[[EV]], %[[LM]], %[[LV]], %[[B1]], %[[B2]], %[[MM]], %[[MV]] :
func.func @loss_and_grads(%tokens: tensor<2x4xi32> {mstream.input = "tokens"},
                          %targets: tensor<2x4xi32> {mstream.input = "targets"},
                          %emb: tensor<16x8xf32> {mstream.param = "emb.weight", mstream.group = "embedding"},
                          %ln: tensor<8xf32> {mstream.param = "ln.weight", mstream.group = "ln"},
                          %w1: tensor<32x8xf32> {mstream.param = "layers.0.w1.weight", mstream.group = "matrix"},
                          %w2: tensor<8x32xf32> {mstream.param = "layers.0.w2.weight", mstream.group = "matrix"},
                          %mu: tensor<1xf32> {mstream.param = "layers.0.mu_raw", mstream.group = "scalar"})
    -> (tensor<f32> {mstream.output = "loss"}, tensor<16x8xf32>, tensor<8xf32>, tensor<32x8xf32>, tensor<8x32xf32>, tensor<1xf32>) {
  %loss = arith.constant dense<1.0> : tensor<f32>
  return %loss, %emb, %ln, %w1, %w2, %mu : tensor<f32>, tensor<16x8xf32>, tensor<8xf32>, tensor<32x8xf32>, tensor<8x32xf32>, tensor<1xf32>
}

// -----

// expected-error @+1 {{mstream-build-train-step: no 'loss_and_grads' function (run mstream-autodiff first)}}
module {
  func.func @loss() {
    return
  }
}

// -----

module {
  // expected-error @+1 {{parameter 'w' needs an mstream.group of scalar, ln, embedding or matrix}}
  func.func @loss_and_grads(%w: tensor<4x4xf32> {mstream.param = "w"}) -> (tensor<f32>, tensor<4x4xf32>) {
    %loss = arith.constant dense<1.0> : tensor<f32>
    return %loss, %w : tensor<f32>, tensor<4x4xf32>
  }
}
