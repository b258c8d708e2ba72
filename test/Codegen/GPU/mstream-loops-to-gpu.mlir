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

// -----

// A token's shared-memory buffer becomes the launch's workgroup buffer,
// one per block, which the block's tokens use in turn.
// CHECK-LABEL: func.func @shared_buffer
// CHECK: gpu.launch
// CHECK-SAME: workgroup(%[[LOCAL:.*]] : memref<64xi8, #gpu.address_space<workgroup>>)
// CHECK: scf.for
// CHECK-NOT: memref.alloca
// CHECK: memref.memory_space_cast %[[LOCAL]]
func.func @shared_buffer(%y: memref<10xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c10 = arith.constant 10 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%t) = (%c0) to (%c10) step (%c1) {
    %local = memref.alloca() : memref<64xi8, #gpu.address_space<workgroup>>
    %slot = memref.memory_space_cast %local : memref<64xi8, #gpu.address_space<workgroup>> to memref<64xi8>
    %a = memref.view %slot[%c0][] : memref<64xi8> to memref<16xf32>
    memref.store %zero, %a[%c0] : memref<16xf32>
    %v = memref.load %a[%c0] : memref<16xf32>
    memref.store %v, %y[%t] : memref<10xf32>
    scf.reduce
  } {mstream.token_slots = 4 : i64}
  return
}

// -----

// One beyond the 48 KiB a kernel may declare is the launch's dynamic shared
// memory instead, viewed from its start.
// CHECK-LABEL: func.func @dynamic_shared_buffer
// CHECK: %[[BYTES:.*]] = arith.constant 65536 : i32
// CHECK: gpu.launch
// CHECK-SAME: dynamic_shared_memory_size %[[BYTES]]
// CHECK-NOT: workgroup(
// CHECK: %[[ALL:.*]] = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// CHECK: %[[LOCAL:.*]] = memref.view %[[ALL]][%{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<65536xi8, #gpu.address_space<workgroup>>
// CHECK: scf.for
// CHECK-NOT: memref.alloca
// CHECK: memref.memory_space_cast %[[LOCAL]]
func.func @dynamic_shared_buffer(%y: memref<10xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c10 = arith.constant 10 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%t) = (%c0) to (%c10) step (%c1) {
    %local = memref.alloca() : memref<65536xi8, #gpu.address_space<workgroup>>
    %slot = memref.memory_space_cast %local : memref<65536xi8, #gpu.address_space<workgroup>> to memref<65536xi8>
    %a = memref.view %slot[%c0][] : memref<65536xi8> to memref<16xf32>
    memref.store %zero, %a[%c0] : memref<16xf32>
    %v = memref.load %a[%c0] : memref<16xf32>
    memref.store %v, %y[%t] : memref<10xf32>
    scf.reduce
  } {mstream.token_slots = 4 : i64}
  return
}

// -----

// A merged loop's branches each read their own scalar from the host: each
// load moves into its branch, before its first use, so that a thread loads
// only its own. A scalar both branches read stays at the start, one read in
// a loop moves before the loop (past a store to another buffer), and one
// read after a store to its own buffer stays before that store.
// CHECK-LABEL: func.func @scalars_into_branches
// CHECK: gpu.launch
// CHECK: scf.if
// CHECK: %[[BOTH:.*]] = memref.load %arg2[] : memref<f32>
// CHECK-NEXT: %[[STORED:.*]] = memref.load %arg4[] : memref<f32>
// CHECK-NEXT: arith.cmpi
// CHECK-NEXT: scf.if
// CHECK-NEXT: %[[FIRST:.*]] = memref.load %arg0[] : memref<f32>
// CHECK-NEXT: arith.addf %[[FIRST]], %[[BOTH]]
// CHECK-NEXT: memref.store
// CHECK-NEXT: %[[LOOPED:.*]] = memref.load %arg3[] : memref<f32>
// CHECK-NEXT: scf.for
// CHECK-NEXT: memref.store %[[LOOPED]]
// CHECK: } else {
// CHECK-NEXT: %[[SECOND:.*]] = memref.load %arg1[] : memref<f32>
// CHECK-NEXT: arith.addf %[[SECOND]], %[[BOTH]]
// CHECK-NEXT: memref.store
// CHECK-NEXT: memref.store %{{.*}}, %arg4[] : memref<f32>
// CHECK-NEXT: memref.store %[[STORED]]
func.func @scalars_into_branches(%a: memref<f32>, %b: memref<f32>, %both: memref<f32>,
                                 %looped: memref<f32>, %stored: memref<f32>, %y: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  %first = memref.load %a[] : memref<f32>
  %second = memref.load %b[] : memref<f32>
  %shared = memref.load %both[] : memref<f32>
  %inloop = memref.load %looped[] : memref<f32>
  %late = memref.load %stored[] : memref<f32>
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %low = arith.cmpi ult, %i, %c4 : index
    scf.if %low {
      %x = arith.addf %first, %shared : f32
      memref.store %x, %y[%i] : memref<8xf32>
      scf.for %k = %c0 to %c4 step %c1 {
        memref.store %inloop, %y[%k] : memref<8xf32>
      }
    } else {
      %x = arith.addf %second, %shared : f32
      memref.store %x, %y[%i] : memref<8xf32>
      memref.store %zero, %stored[] : memref<f32>
      memref.store %late, %y[%i] : memref<8xf32>
    }
    scf.reduce
  }
  return
}

// -----

// A scalar the host would compute from 9 loads (a global norm's total over
// tensors), which two loops read: a one-thread kernel computes it once into
// a device scalar, which both loops load; the buffers it reads are freed
// after it, not before (the host's loads were their last use). A scalar of
// one load is still loaded by each thread.
// CHECK-LABEL: func.func @computed_once
// CHECK: %[[TOTAL:.*]] = memref.alloc() : memref<f32>
// CHECK: gpu.launch
// CHECK-COUNT-9: memref.load %{{.*}}[] : memref<f32>
// CHECK: memref.store %{{.*}}, %[[TOTAL]][]
// CHECK: gpu.terminator
// CHECK-NEXT: }
// CHECK-NEXT: memref.dealloc %arg0
// CHECK: gpu.launch
// CHECK: memref.load %[[TOTAL]][]
// CHECK: memref.load %arg9[]
// CHECK: gpu.launch
// CHECK: memref.load %[[TOTAL]][]
// CHECK: memref.dealloc %[[TOTAL]]
// CHECK-NEXT: return
func.func @computed_once(%p0: memref<f32>, %p1: memref<f32>, %p2: memref<f32>, %p3: memref<f32>,
                         %p4: memref<f32>, %p5: memref<f32>, %p6: memref<f32>, %p7: memref<f32>,
                         %p8: memref<f32>, %s: memref<f32>, %y: memref<8xf32>, %z: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %l0 = memref.load %p0[] : memref<f32>
  memref.dealloc %p0 : memref<f32>
  %l1 = memref.load %p1[] : memref<f32>
  %l2 = memref.load %p2[] : memref<f32>
  %l3 = memref.load %p3[] : memref<f32>
  %l4 = memref.load %p4[] : memref<f32>
  %l5 = memref.load %p5[] : memref<f32>
  %l6 = memref.load %p6[] : memref<f32>
  %l7 = memref.load %p7[] : memref<f32>
  %l8 = memref.load %p8[] : memref<f32>
  %a1 = arith.addf %l0, %l1 : f32
  %a2 = arith.addf %a1, %l2 : f32
  %a3 = arith.addf %a2, %l3 : f32
  %a4 = arith.addf %a3, %l4 : f32
  %a5 = arith.addf %a4, %l5 : f32
  %a6 = arith.addf %a5, %l6 : f32
  %a7 = arith.addf %a6, %l7 : f32
  %total = arith.addf %a7, %l8 : f32
  %scale = memref.load %s[] : memref<f32>
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %x = arith.mulf %total, %scale : f32
    memref.store %x, %y[%i] : memref<8xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    memref.store %total, %z[%i] : memref<8xf32>
    scf.reduce
  }
  return
}

// -----

// The host's load of a scalar was the last use of its buffer, so the host
// code frees it right after; the kernel that now loads it runs later, so
// the free moves after that kernel.
// CHECK-LABEL: func.func @freed_after_the_kernel
// CHECK-NOT: memref.dealloc
// CHECK: gpu.launch
// CHECK: memref.load %arg0[]
// CHECK: gpu.terminator
// CHECK-NEXT: }
// CHECK-NEXT: memref.dealloc %arg0
func.func @freed_after_the_kernel(%s: memref<f32>, %y: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %scale = memref.load %s[] : memref<f32>
  memref.dealloc %s : memref<f32>
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    memref.store %scale, %y[%i] : memref<8xf32>
    scf.reduce
  }
  return
}
