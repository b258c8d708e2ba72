// RUN: mstream-opt %s --mstream-split-reductions --split-input-file | FileCheck %s
// RUN: mstream-opt %s --mstream-split-reductions=token-min-size=256 --split-input-file | FileCheck %s --check-prefix=TOKEN

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
// CHECK-NOT: tensor<1x24x32xf32>
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

// -----

// A token's row mean over 768 features, inside a token loop: left alone by
// default (under min-size); with token-min-size=256, 32 partial sums of 24
// and one over the 32.
// CHECK-LABEL: func.func @token_row_sum
// CHECK-NOT: tensor<1x24x32xf32>
// TOKEN-LABEL: func.func @token_row_sum
// TOKEN: scf.forall
// TOKEN: tensor.expand_shape {{.*}} into tensor<1x24x32xf32>
// TOKEN: linalg.generic {{.*}}iterator_types = ["parallel", "reduction", "parallel"]
// TOKEN: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// TOKEN-SAME: ins({{.*}} : tensor<1x32xf32>)
func.func @token_row_sum(%x: tensor<8x768xf32>, %out: tensor<8x1xf32>) -> tensor<8x1xf32> {
  %r = scf.forall (%t) in (8) shared_outs(%o = %out) -> tensor<8x1xf32> {
    %row = tensor.extract_slice %x[%t, 0] [1, 768] [1, 1] : tensor<8x768xf32> to tensor<1x768xf32>
    %init = tensor.empty() : tensor<1xf32>
    %sum = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                           iterator_types = ["parallel", "reduction"]}
        ins(%row : tensor<1x768xf32>) outs(%init : tensor<1xf32>) {
    ^bb0(%a: f32, %acc: f32):
      %n = arith.addf %acc, %a : f32
      linalg.yield %n : f32
    } -> tensor<1xf32>
    %s2 = tensor.expand_shape %sum [[0, 1]] output_shape [1, 1] : tensor<1xf32> into tensor<1x1xf32>
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %s2 into %o[%t, 0] [1, 1] [1, 1] : tensor<1x1xf32> into tensor<8x1xf32>
    }
  }
  return %r : tensor<8x1xf32>
}

// -----

// A token's row variance reads the row's mean once per output (broadcast
// along the reduction): the mean keeps its map in both the flattened and
// the split reduction, the 1x2x384 row becomes 32 partials of 24.
// TOKEN-DAG: #[[MEAN:map[0-9]*]] = affine_map<(d0, d1, d2) -> (d0)>
// TOKEN-DAG: #[[PARTIAL:map[0-9]*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// TOKEN-LABEL: func.func @token_row_variance
// TOKEN: scf.forall
// TOKEN: %[[FLAT:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0], [1, 2]] : tensor<1x2x384xf32> into tensor<1x768xf32>
// TOKEN: %[[SPLIT:.*]] = tensor.expand_shape %[[FLAT]] {{.*}} into tensor<1x24x32xf32>
// TOKEN: linalg.generic {indexing_maps = [#{{.*}}, #[[MEAN]], #[[PARTIAL]]], iterator_types = ["parallel", "reduction", "parallel"]}
// TOKEN-SAME: ins(%[[SPLIT]], %{{.*}} : tensor<1x24x32xf32>, tensor<1xf32>) outs(%{{.*}} : tensor<1x32xf32>)
// TOKEN: arith.subf
// TOKEN: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// TOKEN-SAME: ins({{.*}} : tensor<1x32xf32>)
func.func @token_row_variance(%x: tensor<8x2x384xf32>, %means: tensor<8xf32>,
                              %out: tensor<8xf32>) -> tensor<8xf32> {
  %r = scf.forall (%t) in (8) shared_outs(%o = %out) -> tensor<8xf32> {
    %row = tensor.extract_slice %x[%t, 0, 0] [1, 2, 384] [1, 1, 1] : tensor<8x2x384xf32> to tensor<1x2x384xf32>
    %mean = tensor.extract_slice %means[%t] [1] [1] : tensor<8xf32> to tensor<1xf32>
    %init = tensor.empty() : tensor<1xf32>
    %sum = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>,
                                            affine_map<(d0, d1, d2) -> (d0)>,
                                            affine_map<(d0, d1, d2) -> (d0)>],
                           iterator_types = ["parallel", "reduction", "reduction"]}
        ins(%row, %mean : tensor<1x2x384xf32>, tensor<1xf32>) outs(%init : tensor<1xf32>) {
    ^bb0(%a: f32, %m: f32, %acc: f32):
      %d = arith.subf %a, %m : f32
      %sq = arith.mulf %d, %d : f32
      %n = arith.addf %acc, %sq : f32
      linalg.yield %n : f32
    } -> tensor<1xf32>
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %sum into %o[%t] [1] [1] : tensor<1xf32> into tensor<8xf32>
    }
  }
  return %r : tensor<8xf32>
}

// -----

// The loss's log-sum-exp over a vocabulary of 8192 for 2048 tokens: enough
// rows for a thread each, but each row is split in 32 partials of 256, so
// that neighbouring threads read neighbouring elements of one row.
// CHECK-LABEL: func.func @long_rows
// CHECK: tensor.expand_shape {{.*}} into tensor<2048x256x32xf32>
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction", "parallel"]
// CHECK-SAME: outs(%{{.*}} : tensor<2048x32xf32>)
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK-SAME: ins({{.*}} : tensor<2048x32xf32>) outs(%{{.*}} : tensor<2048xf32>)
func.func @long_rows(%logits: tensor<2048x8192xf32>, %init: tensor<2048xf32>) -> tensor<2048xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                       iterator_types = ["parallel", "reduction"]}
      ins(%logits : tensor<2048x8192xf32>) outs(%init : tensor<2048xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %e = math.exp %x : f32
    %sum = arith.addf %acc, %e : f32
    linalg.yield %sum : f32
  } -> tensor<2048xf32>
  return %r : tensor<2048xf32>
}
