// RUN: mstream-opt %s --mstream-constants-to-fills | FileCheck %s

// A splat tensor becomes a fill (a kernel writing device memory); scalars
// and non-splat tensors stay constants.
// CHECK-LABEL: func.func @constants
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG: %[[PAIR:.*]] = arith.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[EMPTY:.*]] = tensor.empty() : tensor<2x16xf32>
// CHECK: %[[FILL:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[EMPTY]] : tensor<2x16xf32>)
// CHECK: return %[[FILL]], %[[PAIR]], %[[ONE]]
func.func @constants() -> (tensor<2x16xf32>, tensor<2xf32>, f32) {
  %zeros = arith.constant dense<0.0> : tensor<2x16xf32>
  %pair = arith.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %one = arith.constant 1.0 : f32
  return %zeros, %pair, %one : tensor<2x16xf32>, tensor<2xf32>, f32
}
