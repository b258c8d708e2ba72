// RUN: mstream-opt %s --mstream-dispatch-token-ranges --split-input-file --verify-diagnostics | FileCheck %s

// A call of a token-range function becomes a dispatch to the runtime's
// parallel-for: its values go to a stack array of 8-byte slots, and a task
// function loads them back and calls the kernel on its share of the range.
// CHECK: llvm.func @mstream_parallel_for(i64, i64, !llvm.ptr, !llvm.ptr)
// CHECK-LABEL: llvm.func @step(
// CHECK-SAME: %[[P:[^:]*]]: !llvm.ptr, %[[N:[^:]*]]: i64, %[[S:[^:]*]]: f32)
// CHECK-DAG: %[[BEGIN:.*]] = llvm.mlir.constant(0 : index) : i64
// CHECK-DAG: %[[END:.*]] = llvm.mlir.constant(16 : index) : i64
// CHECK: %[[THREE:.*]] = llvm.mlir.constant(3 : i64) : i64
// CHECK: %[[SLOTS:.*]] = llvm.alloca %[[THREE]] x i64 : (i64) -> !llvm.ptr
// CHECK: %[[A0:.*]] = llvm.getelementptr %[[SLOTS]][0] : (!llvm.ptr) -> !llvm.ptr, i64
// CHECK: llvm.store %[[P]], %[[A0]] : !llvm.ptr, !llvm.ptr
// CHECK: %[[A1:.*]] = llvm.getelementptr %[[SLOTS]][1] : (!llvm.ptr) -> !llvm.ptr, i64
// CHECK: llvm.store %[[N]], %[[A1]] : i64, !llvm.ptr
// CHECK: %[[A2:.*]] = llvm.getelementptr %[[SLOTS]][2] : (!llvm.ptr) -> !llvm.ptr, i64
// CHECK: llvm.store %[[S]], %[[A2]] : f32, !llvm.ptr
// CHECK: %[[TASK:.*]] = llvm.mlir.addressof @kernel.task : !llvm.ptr
// CHECK: llvm.call @mstream_parallel_for(%[[BEGIN]], %[[END]], %[[TASK]], %[[SLOTS]])
// CHECK-NOT: llvm.call @kernel(
// CHECK: llvm.return

// CHECK-LABEL: llvm.func internal @kernel(
// CHECK-LABEL: llvm.func internal @kernel.task(
// CHECK-SAME: %[[CTX:[^:]*]]: !llvm.ptr, %[[B:[^:]*]]: i64, %[[E:[^:]*]]: i64)
// CHECK: %[[L0:.*]] = llvm.load %{{.*}} : !llvm.ptr -> !llvm.ptr
// CHECK: %[[L1:.*]] = llvm.load %{{.*}} : !llvm.ptr -> i64
// CHECK: %[[L2:.*]] = llvm.load %{{.*}} : !llvm.ptr -> f32
// CHECK: llvm.call @kernel(%[[B]], %[[E]], %[[L0]], %[[L1]], %[[L2]])
llvm.func @step(%p: !llvm.ptr, %n: i64, %s: f32) {
  %begin = llvm.mlir.constant(0 : index) : i64
  %end = llvm.mlir.constant(16 : index) : i64
  llvm.call @kernel(%begin, %end, %p, %n, %s) : (i64, i64, !llvm.ptr, i64, f32) -> ()
  llvm.return
}
llvm.func internal @kernel(%begin: i64, %end: i64, %p: !llvm.ptr, %n: i64, %s: f32) attributes {mstream.token_range} {
  llvm.return
}

// -----

// expected-error @below {{token-range function 'wide' must take (i64 begin, i64 end) and values of at most 8 bytes}}
llvm.func internal @wide(%begin: i64, %end: i64, %v: vector<4xf32>) attributes {mstream.token_range} {
  llvm.return
}
