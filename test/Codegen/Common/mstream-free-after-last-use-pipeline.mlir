// RUN: mstream-opt %s --one-shot-bufferize="bufferize-function-boundaries" --buffer-deallocation-pipeline --mstream-free-after-last-use | FileCheck %s

// After MLIR's deallocation pipeline, which frees every temporary at the
// end of the function: each is freed right after the op that reads it
// last, before the next one is allocated.
// CHECK-LABEL: func.func @pipeline
// CHECK: %[[A:.*]] = memref.alloc() {{.*}}: memref<16xf32>
// CHECK: %[[B:.*]] = memref.alloc() {{.*}}: memref<16xf32>
// CHECK-NEXT: linalg.generic {{.*}} ins(%[[A]] : memref<16xf32>) outs(%[[B]] : memref<16xf32>)
// CHECK-NOT: memref.alloc
// CHECK: memref.dealloc %[[A]]
// CHECK-NEXT: %[[C:.*]] = memref.alloc() {{.*}}: memref<16xf32>
// CHECK-NEXT: linalg.generic {{.*}} ins(%[[B]] : memref<16xf32>) outs(%[[C]] : memref<16xf32>)
// CHECK-NOT: memref.alloc
// CHECK: memref.dealloc %[[B]]
// CHECK-NEXT: return %[[C]]
#id = affine_map<(i) -> (i)>
func.func @pipeline(%x: tensor<16xf32>) -> tensor<16xf32> {
  %e1 = tensor.empty() : tensor<16xf32>
  %a = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%x : tensor<16xf32>) outs(%e1 : tensor<16xf32>) {
  ^bb0(%in: f32, %o: f32):
    %r = arith.mulf %in, %in : f32
    linalg.yield %r : f32
  } -> tensor<16xf32>
  %e2 = tensor.empty() : tensor<16xf32>
  %b = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%a : tensor<16xf32>) outs(%e2 : tensor<16xf32>) {
  ^bb0(%in: f32, %o: f32):
    %r = arith.addf %in, %in : f32
    linalg.yield %r : f32
  } -> tensor<16xf32>
  %e3 = tensor.empty() : tensor<16xf32>
  %c = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%b : tensor<16xf32>) outs(%e3 : tensor<16xf32>) {
  ^bb0(%in: f32, %o: f32):
    %r = arith.mulf %in, %in : f32
    linalg.yield %r : f32
  } -> tensor<16xf32>
  return %c : tensor<16xf32>
}
