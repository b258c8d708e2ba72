// RUN: mstream-opt %s --mstream-fuse-preconditioners --mstream-fuse-streams --split-input-file | FileCheck %s

// A tmm substep: the step, the lookahead at its new (x, v) and the next
// pre-norm become one region named after the substep. Only what is used
// outside comes out (x', v', the next oracle's input); the lookahead stays
// inside.
// CHECK-LABEL: func.func @tmm_substep(
// CHECK: %[[R:.*]]:3 = mstream.fused "layers.0.attn" tokens [2, 8](%arg0, %arg1, %arg2, %arg3, %arg4, %arg5, %arg6, %arg7, %arg8) : ({{.*}}) -> (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x16xf32>) {
// CHECK-NEXT: ^bb0(%[[X:.*]]: tensor<1x1x16xf32>, %[[V:.*]]: tensor<1x1x16xf32>, %[[G:.*]]: tensor<1x1x16xf32>, %{{.*}}: tensor<1xf32>, %{{.*}}: tensor<1xf32>, %{{.*}}: tensor<1xf32>, %{{.*}}: tensor<16xf32>, %[[MU:.*]]: tensor<1xf32>, %[[GAIN:.*]]: tensor<16xf32>):
// CHECK-NEXT: %[[XN:.*]], %[[VN:.*]] = mstream.tmm x(%[[X]]) v(%[[V]]) grad(%[[G]]) {{.*}} : tensor<1x1x16xf32>, tensor<1xf32>, tensor<16xf32>
// CHECK-NEXT: %[[LA:.*]] = mstream.lookahead x(%[[XN]]) v(%[[VN]]) mu(%[[MU]]) : tensor<1x1x16xf32>
// CHECK-NEXT: %[[H:.*]] = mstream.layer_norm %[[LA]], %[[GAIN]] : tensor<1x1x16xf32>
// CHECK-NEXT: mstream.yield %[[XN]], %[[VN]], %[[H]]
// CHECK: return %[[R]]#0, %[[R]]#1, %[[R]]#2
func.func @tmm_substep(%x: tensor<2x8x16xf32>, %v: tensor<2x8x16xf32>, %g: tensor<2x8x16xf32>, %b: tensor<1xf32>, %c: tensor<1xf32>, %n: tensor<1xf32>, %lnv: tensor<16xf32>, %mu: tensor<1xf32>, %gain: tensor<16xf32>) -> (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x16xf32>) {
  %x1, %v1 = mstream.tmm x(%x) v(%v) grad(%g) beta(%b) gamma(%c) nu(%n) ln_v(%lnv) : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32> loc("layers.0.attn")
  %la = mstream.lookahead x(%x1) v(%v1) mu(%mu) : tensor<2x8x16xf32>, tensor<1xf32> loc("layers.0.mlp")
  %h = mstream.layer_norm %la, %gain : tensor<2x8x16xf32>, tensor<16xf32> loc("layers.0.mlp")
  return %x1, %v1, %h : tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x16xf32>
}

// -----

// The first substep's lookahead and pre-norm (after the embeddings) form
// their own region.
// CHECK-LABEL: func.func @first_lookahead(
// CHECK: mstream.fused "layers.0.attn.lookahead" tokens [2, 8]
// CHECK: mstream.lookahead
// CHECK: mstream.layer_norm
// CHECK: mstream.yield
func.func @first_lookahead(%x: tensor<2x8x16xf32>, %v: tensor<2x8x16xf32>, %mu: tensor<1xf32>, %gain: tensor<16xf32>) -> tensor<2x8x16xf32> {
  %la = mstream.lookahead x(%x) v(%v) mu(%mu) : tensor<2x8x16xf32>, tensor<1xf32> loc("layers.0.attn")
  %h = mstream.layer_norm %la, %gain : tensor<2x8x16xf32>, tensor<16xf32> loc("layers.0.attn")
  return %h : tensor<2x8x16xf32>
}

// -----

// mstream-fuse-preconditioners wraps the muon step; mstream-fuse-streams
// grows that region by the next pre-norm instead of nesting regions.
// CHECK-LABEL: func.func @muon_substep(
// CHECK: %[[R:.*]]:3 = mstream.fused "layers.1.mlp" tokens [2, 8]
// CHECK-NOT: mstream.fused
// CHECK: mstream.muon {{.*}} : tensor<1x1x16xf32>, tensor<1xf32>, tensor<16xf32>
// CHECK-NEXT: mstream.layer_norm {{.*}} : tensor<1x1x16xf32>, tensor<16xf32>
// CHECK-NEXT: mstream.yield
// CHECK-NOT: mstream.fused
// CHECK: return
func.func @muon_substep(%x: tensor<2x8x16xf32>, %m: tensor<2x8x16xf32>, %g: tensor<2x8x16xf32>, %b: tensor<1xf32>, %c: tensor<1xf32>, %lnu: tensor<16xf32>, %gain: tensor<16xf32>) -> (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x16xf32>) {
  %x1, %m1 = mstream.muon x(%x) m(%m) grad(%g) beta(%b) gamma(%c) ln_u(%lnu) {heads = 4 : i64} : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32> loc("layers.1.mlp")
  %h = mstream.layer_norm %x1, %gain : tensor<2x8x16xf32>, tensor<16xf32>
  return %x1, %m1, %h : tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x16xf32>
}

// -----

// Negative: x' is read by an op between the step and the pre-norm, before
// the place the region would take, so the substep stays unfused.
// CHECK-LABEL: func.func @used_in_between(
// CHECK-NOT: mstream.fused
// CHECK: mstream.gd
// CHECK: mstream.lookahead
// CHECK: mstream.layer_norm
func.func @used_in_between(%x: tensor<2x8x16xf32>, %g: tensor<2x8x16xf32>, %mu: tensor<1xf32>, %gain: tensor<16xf32>) -> (tensor<2x8x16xf32>, tensor<2x8x16xf32>) {
  %x1 = mstream.gd x(%x) grad(%g) : tensor<2x8x16xf32>
  %other = mstream.lookahead x(%g) v(%x1) mu(%mu) : tensor<2x8x16xf32>, tensor<1xf32>
  %h = mstream.layer_norm %x1, %gain : tensor<2x8x16xf32>, tensor<16xf32>
  return %h, %other : tensor<2x8x16xf32>, tensor<2x8x16xf32>
}
