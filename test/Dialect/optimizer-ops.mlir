// RUN: mstream-opt %s | mstream-opt | FileCheck %s

// The weight-optimizer ops print and parse back unchanged; one op serves a
// whole parameter group.

// CHECK-LABEL: func.func @clip
// CHECK: %[[N:.*]], %[[S:.*]] = mstream.clip_by_global_norm %arg0, %arg1 {max_norm = 5.000000e-01 : f64} : tensor<4x8xf32>, tensor<8xf32>
func.func @clip(%g0: tensor<4x8xf32>, %g1: tensor<8xf32>) -> (tensor<f32>, tensor<f32>) {
  %norm, %scale = mstream.clip_by_global_norm %g0, %g1 {max_norm = 0.5} : tensor<4x8xf32>, tensor<8xf32>
  return %norm, %scale : tensor<f32>, tensor<f32>
}

// CHECK-LABEL: func.func @adamw
// CHECK: mstream.adamw_update params(%arg0, %arg1) grads(%arg2, %arg3) m(%arg4, %arg5) v(%arg6, %arg7) lr(%arg8) step(%arg9) scale(%arg10) {weight_decay = 1.000000e-01 : f64} : tensor<16x8xf32>, tensor<8xf32>
func.func @adamw(%p0: tensor<16x8xf32>, %p1: tensor<8xf32>, %g0: tensor<16x8xf32>, %g1: tensor<8xf32>,
                 %m0: tensor<16x8xf32>, %m1: tensor<8xf32>, %v0: tensor<16x8xf32>, %v1: tensor<8xf32>,
                 %lr: tensor<f32>, %t: tensor<f32>, %s: tensor<f32>) -> tensor<8xf32> {
  %p:2, %m:2, %v:2 = mstream.adamw_update params(%p0, %p1) grads(%g0, %g1) m(%m0, %m1) v(%v0, %v1)
      lr(%lr) step(%t) scale(%s) {weight_decay = 0.1} : tensor<16x8xf32>, tensor<8xf32>
  return %v#1 : tensor<8xf32>
}

// CHECK-LABEL: func.func @muon
// CHECK: mstream.muon_update params(%arg0) grads(%arg1) bufs(%arg2) lr(%arg3) scale(%arg4) {nesterov = false} : tensor<24x8xf32>
func.func @muon(%p: tensor<24x8xf32>, %g: tensor<24x8xf32>, %b: tensor<24x8xf32>, %lr: tensor<f32>, %s: tensor<f32>) -> tensor<24x8xf32> {
  %p1, %b1 = mstream.muon_update params(%p) grads(%g) bufs(%b) lr(%lr) scale(%s) {nesterov = false} : tensor<24x8xf32>
  return %p1 : tensor<24x8xf32>
}
