// RUN: mstream-opt %s --split-input-file --mstream-wrap-serial-runs | FileCheck %s

// A gradient norm's shape: each tensor's sum of squares goes to a 0-d
// buffer, added to a running total on the way. The loads and additions of
// the total sink to the end, the next buffer's allocation moves before its
// run, so each tensor's fill and sum is a run of its own in a loop of one
// point (which mstream-merge-parallel-loops can merge); the total joins the
// last run.
// CHECK-LABEL: func.func @norm
// CHECK: %[[A:.*]] = memref.alloc() : memref<f32>
// CHECK: scf.parallel (%{{.*}}) = (%{{.*}}) to (%[[ONE:.*]]) step
// CHECK-NEXT: memref.store %{{.*}}, %[[A]][]
// CHECK-NEXT: scf.for
// CHECK: scf.reduce
// CHECK: scf.parallel
// CHECK-NEXT: memref.store %{{.*}}, %arg1
// CHECK: %[[B:.*]] = memref.alloc() : memref<f32>
// CHECK: scf.parallel
// CHECK-NEXT: memref.store %{{.*}}, %[[B]][]
// CHECK-NEXT: scf.for
// CHECK-NOT: scf.reduce
// CHECK-DAG: memref.load %[[A]][]
// CHECK-DAG: memref.load %[[B]][]
// CHECK: memref.store %{{.*}}, %arg2[]
// CHECK-NEXT: scf.reduce
// CHECK: memref.dealloc %[[A]]
// CHECK: memref.dealloc %[[B]]
func.func @norm(%x: memref<4xf32>, %y: memref<8xf32>, %out: memref<f32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  %a = memref.alloc() : memref<f32>
  memref.store %zero, %a[] : memref<f32>
  scf.for %i = %c0 to %c4 step %c1 {
    %v = memref.load %x[%i] : memref<4xf32>
    %s = memref.load %a[] : memref<f32>
    %t = arith.addf %s, %v : f32
    memref.store %t, %a[] : memref<f32>
  }
  %sa = memref.load %a[] : memref<f32>
  %total = arith.addf %zero, %sa : f32
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    memref.store %zero, %y[%i] : memref<8xf32>
    scf.reduce
  }
  %b = memref.alloc() : memref<f32>
  memref.store %zero, %b[] : memref<f32>
  scf.for %i = %c0 to %c8 step %c1 {
    %v = memref.load %y[%i] : memref<8xf32>
    %s = memref.load %b[] : memref<f32>
    %t = arith.addf %s, %v : f32
    memref.store %t, %b[] : memref<f32>
  }
  %sb = memref.load %b[] : memref<f32>
  %total2 = arith.addf %total, %sb : f32
  memref.store %total2, %out[] : memref<f32>
  memref.dealloc %a : memref<f32>
  memref.dealloc %b : memref<f32>
  return
}

// -----

// A value the host reads (here, returns) keeps its run as it is:
// mstream-loops-to-gpu recomputes it.
// CHECK-LABEL: func.func @host_reads
// CHECK-NOT: scf.parallel
// CHECK: return
func.func @host_reads(%acc: memref<f32>) -> i32 {
  %zero = arith.constant 0.0 : f32
  memref.store %zero, %acc[] : memref<f32>
  %v = memref.load %acc[] : memref<f32>
  %i = arith.fptosi %v : f32 to i32
  return %i : i32
}

// -----

// A load does not sink past a call, which may write its buffer; the store
// after the call is a run of its own.
// CHECK-LABEL: func.func @call_blocks_sinking
// CHECK: %[[V:.*]] = memref.load %arg0[]
// CHECK-NEXT: call @gemm
// CHECK: scf.parallel
// CHECK-NEXT: memref.store %[[V]], %arg1[]
func.func private @gemm(index)
func.func @call_blocks_sinking(%buf: memref<f32>, %out: memref<f32>) {
  %c0 = arith.constant 0 : index
  %v = memref.load %buf[] : memref<f32>
  call @gemm(%c0) : (index) -> ()
  memref.store %v, %out[] : memref<f32>
  return
}

// -----

// A store to the loaded buffer stops the load from sinking past it.
// CHECK-LABEL: func.func @store_blocks_sinking
// CHECK: scf.parallel
// CHECK-NEXT: %[[V:.*]] = memref.load %arg0[]
// CHECK-NEXT: memref.store %{{.*}}, %arg0[]
// CHECK-NEXT: memref.store %[[V]], %arg1[]
func.func @store_blocks_sinking(%buf: memref<f32>, %out: memref<f32>) {
  %one = arith.constant 1.0 : f32
  %v = memref.load %buf[] : memref<f32>
  memref.store %one, %buf[] : memref<f32>
  memref.store %v, %out[] : memref<f32>
  return
}
