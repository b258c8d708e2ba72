// RUN: mstream-opt %s --pass-pipeline="builtin.module(gpu.module(mstream-global-kernel-pointers))" | FileCheck %s

// A kernel's generic pointer parameters become global pointers, cast back
// right before each use (in the branch that uses them, not at the start);
// other parameters and functions that are not kernels keep their types.
// CHECK-LABEL: llvm.func @kernel
// CHECK-SAME: (%[[A:.*]]: !llvm.ptr<1>, %[[N:.*]]: i64, %[[B:.*]]: !llvm.ptr<1>)
// CHECK-NOT: llvm.addrspacecast
// CHECK: llvm.cond_br
// CHECK: ^bb1:
// CHECK-NEXT: %[[GA:.*]] = llvm.addrspacecast %[[A]] : !llvm.ptr<1> to !llvm.ptr
// CHECK-NEXT: llvm.getelementptr %[[GA]][%[[N]]]
// CHECK: ^bb2:
// CHECK-NEXT: %[[GB:.*]] = llvm.addrspacecast %[[B]] : !llvm.ptr<1> to !llvm.ptr
// CHECK-NEXT: llvm.store %{{.*}}, %[[GB]]
// CHECK-LABEL: llvm.func @helper
// CHECK-SAME: (%{{.*}}: !llvm.ptr)
gpu.module @kernels {
  llvm.func @kernel(%a: !llvm.ptr, %n: i64, %b: !llvm.ptr) attributes {gpu.kernel, nvvm.kernel} {
    %c0 = llvm.mlir.constant(0 : i64) : i64
    %one = llvm.mlir.constant(1.0 : f32) : f32
    %first = llvm.icmp "eq" %n, %c0 : i64
    llvm.cond_br %first, ^bb1, ^bb2
  ^bb1:
    %p = llvm.getelementptr %a[%n] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    llvm.store %one, %p : f32, !llvm.ptr
    llvm.return
  ^bb2:
    llvm.store %one, %b : f32, !llvm.ptr
    llvm.return
  }
  llvm.func @helper(%a: !llvm.ptr) {
    llvm.return
  }
}
