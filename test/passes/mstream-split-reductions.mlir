// RUN: mstream-opt %s --mstream-split-reductions --split-input-file | FileCheck %s

// The sum of squares of a 64x128 matrix: flattened to 8192 elements, then
// 1024 partial sums in parallel (neighbouring partials read neighbouring
// elements) and one reduction over them.
// CHECK-LABEL: func.func @sum_of_squares
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1]] : tensor<64x128xf32> into tensor<8192xf32>
// CHECK: tensor.expand_shape {{.*}} into tensor<8x1024xf32>
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction", "parallel"]
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction"]
// CHECK-SAME: ins({{.*}} : tensor<1024xf32>)
func.func @sum_of_squares(%g: tensor<64x128xf32>, %init: tensor<f32>) -> tensor<f32> {
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>],
                       iterator_types = ["reduction", "reduction"]}
      ins(%g : tensor<64x128xf32>) outs(%init : tensor<f32>) {
  ^bb0(%x: f32, %acc: f32):
    %sq = arith.mulf %x, %x : f32
    %sum = arith.addf %acc, %sq : f32
    linalg.yield %sum : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}

// -----

// Small reductions, reductions with a parallel dimension and bodies that
// read indices stay as they are.
// CHECK-LABEL: func.func @unchanged
// CHECK-NOT: tensor.collapse_shape
// CHECK-NOT: tensor.expand_shape
// CHECK-COUNT-3: linalg.generic
func.func @unchanged(%small: tensor<16x16xf32>, %rows: tensor<64x128xf32>,
                     %s: tensor<f32>, %r: tensor<64xf32>) -> (tensor<f32>, tensor<64xf32>, tensor<f32>) {
  %a = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>],
                       iterator_types = ["reduction", "reduction"]}
      ins(%small : tensor<16x16xf32>) outs(%s : tensor<f32>) {
  ^bb0(%x: f32, %acc: f32):
    %sum = arith.addf %acc, %x : f32
    linalg.yield %sum : f32
  } -> tensor<f32>
  %b = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                       iterator_types = ["parallel", "reduction"]}
      ins(%rows : tensor<64x128xf32>) outs(%r : tensor<64xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %sum = arith.addf %acc, %x : f32
    linalg.yield %sum : f32
  } -> tensor<64xf32>
  %c = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>],
                       iterator_types = ["reduction", "reduction"]}
      ins(%rows : tensor<64x128xf32>) outs(%s : tensor<f32>) {
  ^bb0(%x: f32, %acc: f32):
    %i = linalg.index 0 : index
    %j = arith.index_cast %i : index to i32
    %f = arith.sitofp %j : i32 to f32
    %y = arith.mulf %x, %f : f32
    %sum = arith.addf %acc, %y : f32
    linalg.yield %sum : f32
  } -> tensor<f32>
  return %a, %b, %c : tensor<f32>, tensor<64xf32>, tensor<f32>
}

// -----

// Muon's norms of a stack of two matrices: each 64x128 sum is split in
// 1024 partials, the stack dimension stays parallel in both stages.
// CHECK-LABEL: func.func @stacked_norms
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0], [1, 2]] : tensor<2x64x128xf32> into tensor<2x8192xf32>
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction", "parallel"]
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]{{.*}} ins(%{{.*}} : tensor<2x1024xf32>) outs(%{{.*}} : tensor<2xf32>)
func.func @stacked_norms(%g: tensor<2x64x128xf32>, %init: tensor<2xf32>) -> tensor<2xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0)>],
                       iterator_types = ["parallel", "reduction", "reduction"]}
      ins(%g : tensor<2x64x128xf32>) outs(%init : tensor<2xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %sq = arith.mulf %x, %x : f32
    %sum = arith.addf %acc, %sq : f32
    linalg.yield %sum : f32
  } -> tensor<2xf32>
  return %r : tensor<2xf32>
}
