// RUN: mstream-opt %s --mstream-fused-to-loops | FileCheck %s

// One scf.forall over the 2 x 8 tokens: per-token inputs sliced, the body
// inlined on the slices, per-token results inserted in parallel; the
// token-sum result (the gain's) is inserted as the token's row of a 16 x 16
// partial, summed over tokens after the loop, so no iteration reads what
// another writes. Shared inputs are used as they are.
// CHECK-LABEL: func.func @fused_region(
// CHECK-SAME: %[[X:[^:]*]]: tensor<2x8x16xf32>, %[[V:[^:]*]]: tensor<2x8x16xf32>, %[[MU:[^:]*]]: tensor<1xf32>, %[[GAIN:[^:]*]]: tensor<16xf32>)
// CHECK-DAG: %[[EMPTY:.*]] = tensor.empty() : tensor<2x8x16xf32>
// CHECK-DAG: %[[ROWS:.*]] = tensor.empty() : tensor<16x16xf32>
// CHECK: %[[LOOP:.*]]:2 = scf.forall (%[[I:.*]]) in (16) shared_outs(%[[H:.*]] = %[[EMPTY]], %[[P:.*]] = %[[ROWS]])
// CHECK: %[[T:.*]] = arith.remui %[[I]], %{{.*}} : index
// CHECK: %[[B:.*]] = arith.divui %[[I]], %{{.*}} : index
// CHECK: %[[TX:.*]] = tensor.extract_slice %[[X]][%[[B]], %[[T]], 0] [1, 1, 16] [1, 1, 1] : tensor<2x8x16xf32> to tensor<1x1x16xf32>
// CHECK: %[[TV:.*]] = tensor.extract_slice %[[V]][%[[B]], %[[T]], 0] [1, 1, 16] [1, 1, 1]
// CHECK: %[[LA:.*]] = mstream.lookahead x(%[[TX]]) v(%[[TV]]) mu(%[[MU]])
// CHECK: %[[N:.*]] = mstream.layer_norm %[[LA]], %[[GAIN]] : tensor<1x1x16xf32>
// CHECK: scf.forall.in_parallel {
// CHECK-NEXT: tensor.parallel_insert_slice %[[N]] into %[[H]][%[[B]], %[[T]], 0] [1, 1, 16] [1, 1, 1]
// CHECK-NEXT: tensor.parallel_insert_slice %[[GAIN]] into %[[P]][%[[I]], 0] [1, 16] [1, 1] : tensor<16xf32> into tensor<16x16xf32>
// CHECK: %[[ZERO:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<16xf32>)
// CHECK: %[[SUM:.*]] = linalg.reduce { arith.addf } ins(%[[LOOP]]#1 : tensor<16x16xf32>) outs(%[[ZERO]] : tensor<16xf32>) dimensions = [0]
// CHECK: return %[[LOOP]]#0, %[[SUM]]
// CHECK-NOT: mstream.fused
func.func @fused_region(%x: tensor<2x8x16xf32>, %v: tensor<2x8x16xf32>, %mu: tensor<1xf32>, %gain: tensor<16xf32>) -> (tensor<2x8x16xf32>, tensor<16xf32>) {
  %r:2 = mstream.fused "layers.0.attn" tokens [2, 8] (%x, %v, %mu, %gain) : (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>) -> (tensor<2x8x16xf32>, tensor<16xf32>) {
  ^bb0(%tx: tensor<1x1x16xf32>, %tv: tensor<1x1x16xf32>, %m: tensor<1xf32>, %g: tensor<16xf32>):
    %la = mstream.lookahead x(%tx) v(%tv) mu(%m) : tensor<1x1x16xf32>, tensor<1xf32>
    %h = mstream.layer_norm %la, %g : tensor<1x1x16xf32>, tensor<16xf32>
    mstream.yield %h, %g : tensor<1x1x16xf32>, tensor<16xf32>
  }
  return %r#0, %r#1 : tensor<2x8x16xf32>, tensor<16xf32>
}
