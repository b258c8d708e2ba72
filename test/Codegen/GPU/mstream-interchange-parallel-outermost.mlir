// RUN: mstream-opt %s --mstream-interchange-parallel-outermost | FileCheck %s

// A sum over tokens per feature: the feature loop moves outermost, the
// input is still read as [token, feature].
// CHECK-DAG: #[[IN:.*]] = affine_map<(d0, d1) -> (d1, d0)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @per_feature
// CHECK: linalg.generic {indexing_maps = [#[[IN]], #[[OUT]]], iterator_types = ["parallel", "reduction"]}
// CHECK-SAME: ins(%{{.*}} : memref<8192x768xf32>)
func.func @per_feature(%dy: memref<8192x768xf32>, %out: memref<768xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>],
                  iterator_types = ["reduction", "parallel"]}
      ins(%dy : memref<8192x768xf32>) outs(%out : memref<768xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %sum = arith.addf %acc, %x : f32
    linalg.yield %sum : f32
  }
  return
}

// Already parallel first: unchanged.
// CHECK-LABEL: func.func @rows
// CHECK: iterator_types = ["parallel", "reduction"]
// CHECK-SAME: ins(%{{.*}} : memref<8x16xf32>)
func.func @rows(%x: memref<8x16xf32>, %out: memref<8xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<8x16xf32>) outs(%out : memref<8xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %sum = arith.addf %acc, %a : f32
    linalg.yield %sum : f32
  }
  return
}

// A fused region's token sums (linalg.reduce over dimension 0): generalized
// and interchanged, so each is one kernel, not a launch per token.
// CHECK-LABEL: func.func @token_sums
// CHECK-NOT: linalg.reduce
// CHECK: linalg.generic {indexing_maps = [#[[IN]], #[[OUT]]], iterator_types = ["parallel", "reduction"]}
// CHECK-SAME: ins(%{{.*}} : memref<2048x512xf32>) outs(%{{.*}} : memref<512xf32>)
// CHECK: arith.addf
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK-SAME: ins(%{{.*}} : memref<2048x1xf32>) outs(%{{.*}} : memref<1xf32>)
func.func @token_sums(%rows: memref<2048x512xf32>, %out: memref<512xf32>,
                      %scalars: memref<2048x1xf32>, %s: memref<1xf32>) {
  linalg.reduce ins(%rows : memref<2048x512xf32>) outs(%out : memref<512xf32>) dimensions = [0]
    (%x: f32, %acc: f32) {
      %sum = arith.addf %acc, %x : f32
      linalg.yield %sum : f32
    }
  linalg.reduce ins(%scalars : memref<2048x1xf32>) outs(%s : memref<1xf32>) dimensions = [0]
    (%x: f32, %acc: f32) {
      %sum = arith.addf %acc, %x : f32
      linalg.yield %sum : f32
    }
  return
}
