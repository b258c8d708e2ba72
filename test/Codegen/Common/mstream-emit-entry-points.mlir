// RUN: mstream-opt %s --mstream-record-entry-shapes | FileCheck %s --check-prefix=RECORD
// RUN: mstream-opt %s --mstream-record-entry-shapes --convert-func-to-llvm --mstream-emit-entry-points | FileCheck %s

// RECORD: func.func @entry({{.*}}) attributes {mstream.entry_shapes = [array<i64: 2, 3>, array<i64>]}
// RECORD: func.func private @helper
// RECORD-NOT: mstream.entry_shapes
func.func @entry(%a: memref<2x3xf32>, %out: memref<f32>) {
  call @helper(%a) : (memref<2x3xf32>) -> ()
  return
}
func.func private @helper(%a: memref<2x3xf32>) {
  return
}
// A dynamic shape has no static descriptor: not an entry point.
func.func @dynamic(%a: memref<?xf32>) {
  return
}

// CHECK: llvm.func @mstream_entry_entry(%[[ARGV:.*]]: !llvm.ptr)
// CHECK: %[[S0:.*]] = llvm.getelementptr %[[ARGV]][0] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[P0:.*]] = llvm.load %[[S0]] : !llvm.ptr -> !llvm.ptr
// The static descriptor of memref<2x3xf32>: offset 0, sizes 2, 3, strides 3, 1.
// CHECK-NEXT: llvm.mlir.constant(0 : i64)
// CHECK-NEXT: llvm.mlir.constant(2 : i64)
// CHECK-NEXT: llvm.mlir.constant(3 : i64)
// CHECK-NEXT: llvm.mlir.constant(3 : i64)
// CHECK-NEXT: llvm.mlir.constant(1 : i64)
// CHECK-NEXT: %[[S1:.*]] = llvm.getelementptr %[[ARGV]][1]
// CHECK-NEXT: %[[P1:.*]] = llvm.load %[[S1]]
// CHECK-NEXT: llvm.mlir.constant(0 : i64)
// CHECK-NEXT: llvm.call @entry(%[[P0]], %[[P0]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[P1]], %[[P1]], %{{.*}})
// CHECK-NOT: mstream_entry_dynamic
// CHECK-NOT: mstream_entry_helper
