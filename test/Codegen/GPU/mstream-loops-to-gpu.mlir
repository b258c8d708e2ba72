// RUN: mstream-opt %s --mstream-loops-to-gpu --split-input-file --verify-diagnostics | FileCheck %s

// A parallel nest: one 256-thread kernel, one thread per point, the inner
// dimension fastest; the scalar it reads from the host is loaded inside.
// CHECK-LABEL: func.func @parallel
// CHECK-NOT: memref.load
// CHECK: %c256 = arith.constant 256
// CHECK-NEXT: %[[GRID:.*]] = arith.ceildivui %[[TOTAL:.*]], %c256
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %[[GRID]], {{.*}}) threads({{.*}}) in ({{.*}} = %c256
// CHECK: arith.cmpi ult, %{{.*}}, %[[TOTAL]]
// CHECK: scf.if
// CHECK: arith.remui
// CHECK: arith.divui
// CHECK: memref.load %{{.*}}[%c0]
// CHECK: memref.store
// CHECK: gpu.terminator
func.func @parallel(%a: memref<4x8xf32>, %s: memref<1xf32>, %b: memref<4x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %scale = memref.load %s[%c0] : memref<1xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%c4, %c8) step (%c1, %c1) {
    %x = memref.load %a[%i, %j] : memref<4x8xf32>
    %y = arith.mulf %x, %scale : f32
    memref.store %y, %b[%i, %j] : memref<4x8xf32>
    scf.reduce
  }
  return
}

// -----

// A full reduction and the scalar code after it: one one-thread kernel.
// The GEMM call stays on the host between the kernels, and the scalar the
// second kernel needs is re-read from memory inside it.
// CHECK-LABEL: func.func @serial
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c1{{.*}}, {{.*}} = %c1{{.*}}, {{.*}} = %c1{{.*}}) threads
// CHECK: scf.for
// CHECK: memref.store {{.*}} %[[ACC:.*]][]
// CHECK: gpu.terminator
// CHECK: call @gemm
// CHECK: gpu.launch
// CHECK: memref.load %[[ACC]][]
// CHECK: arith.addf
// CHECK: memref.store
func.func private @gemm()
func.func @serial(%a: memref<8xf32>, %acc: memref<f32>, %out: memref<f32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  scf.for %i = %c0 to %c8 step %c1 {
    %x = memref.load %a[%i] : memref<8xf32>
    %s = memref.load %acc[] : memref<f32>
    %t = arith.addf %s, %x : f32
    memref.store %t, %acc[] : memref<f32>
  }
  %sum = memref.load %acc[] : memref<f32>
  call @gemm() : () -> ()
  %twice = arith.addf %sum, %sum : f32
  memref.store %twice, %out[] : memref<f32>
  return
}

// -----

// Copies become parallel nests; the deallocation pipeline's bookkeeping
// buffers (i1, index) go to the host stack.
// CHECK-LABEL: func.func @copy_and_metadata
// CHECK: memref.alloca() : memref<2xi1>
// CHECK: gpu.launch
// CHECK: memref.load %arg0
// CHECK: memref.store {{.*}} %arg1
// CHECK-NOT: memref.dealloc
// CHECK: memref.load {{.*}} : memref<2xi1>
func.func @copy_and_metadata(%a: memref<4x8xf32>, %b: memref<4x8xf32>) -> i1 {
  %c0 = arith.constant 0 : index
  memref.copy %a, %b : memref<4x8xf32> to memref<4x8xf32>
  %flags = memref.alloc() : memref<2xi1>
  %flag = memref.load %flags[%c0] : memref<2xi1>
  memref.dealloc %flags : memref<2xi1>
  return %flag : i1
}

// -----

// A value computed on the device that the host branches on cannot be
// lowered: the host never reads device memory.
func.func @host_reads_device(%a: memref<f32>, %b: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  %x = memref.load %a[] : memref<f32>
  // expected-note @below {{computed here by arith.cmpf}}
  %big = arith.cmpf ogt, %x, %zero : f32
  // expected-error @below {{host code would read a value computed on the device}}
  scf.if %big {
    scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
      memref.store %zero, %b[%i] : memref<8xf32>
      scf.reduce
    }
  }
  return
}

// -----

// A token loop (mstream-distribute-token-loops): as many blocks as slots,
// block b running tokens b, b + 4, ...; its body as it is.
// CHECK-LABEL: func.func @tokens
// CHECK: %[[GRID:.*]] = arith.constant 4 : index
// CHECK: gpu.launch blocks(%[[B:.*]], %{{.*}}, %{{.*}}) in ({{.*}} = %[[GRID]], {{.*}}) threads({{.*}}) in ({{.*}} = %c256
// CHECK: %[[STEP:.*]] = arith.muli %{{.*}}, %[[GRID]]
// CHECK: %[[FIRST:.*]] = arith.muli %[[B]]
// CHECK: scf.for %[[T:.*]] = %{{.*}} to %{{.*}} step %[[STEP]]
// CHECK: gpu.thread_id x
// CHECK: memref.store %{{.*}}, %{{.*}}[%[[T]]]
func.func @tokens(%y: memref<10xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c10 = arith.constant 10 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%t) = (%c0) to (%c10) step (%c1) {
    %tid = gpu.thread_id x
    memref.store %zero, %y[%t] : memref<10xf32>
    scf.reduce
  } {mstream.token_slots = 4 : i64}
  return
}
