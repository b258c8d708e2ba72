// RUN: mstream-opt %s --mstream-hoist-parallel-loops --split-input-file | FileCheck %s

// The embedding gradient's scatter-add: a sequential loop over positions,
// each adding its row into the table row of its id. Every column is its own:
// one parallel loop over columns, each running the positions in order.
// CHECK-LABEL: func.func @scatter_add
// CHECK: scf.parallel (%[[D:.*]]) = (%c0) to (%c64) step (%c1) {
// CHECK-NEXT: scf.for %[[P:.*]] = %c0 to %c32 step %c1 {
// CHECK-NEXT: %[[ID:.*]] = memref.load %{{.*}}[%[[P]]] : memref<32xi32>
// CHECK-NEXT: %[[ROW:.*]] = arith.index_cast %[[ID]]
// CHECK-NEXT: %[[T:.*]] = memref.subview %{{.*}}[%[[ROW]], 0] [1, 64] [1, 1]
// CHECK-NEXT: %[[U:.*]] = memref.subview %{{.*}}[%[[P]], 0] [1, 64] [1, 1]
// CHECK-NEXT: memref.load %[[T]][%[[D]]]
// CHECK-NEXT: memref.load %[[U]][%[[D]]]
// CHECK-NEXT: arith.addf
// CHECK-NEXT: memref.store %{{.*}}, %[[T]][%[[D]]]
// CHECK-NEXT: }
// CHECK-NEXT: scf.reduce
// CHECK-NOT: scf.for
func.func @scatter_add(%ids: memref<32xi32>, %dy: memref<32x64xf32>, %table: memref<96x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  scf.for %p = %c0 to %c32 step %c1 {
    %id = memref.load %ids[%p] : memref<32xi32>
    %row = arith.index_cast %id : i32 to index
    %t = memref.subview %table[%row, 0] [1, 64] [1, 1] : memref<96x64xf32> to memref<64xf32, strided<[1], offset: ?>>
    %u = memref.subview %dy[%p, 0] [1, 64] [1, 1] : memref<32x64xf32> to memref<64xf32, strided<[1], offset: ?>>
    scf.parallel (%d) = (%c0) to (%c64) step (%c1) {
      %a = memref.load %t[%d] : memref<64xf32, strided<[1], offset: ?>>
      %b = memref.load %u[%d] : memref<64xf32, strided<[1], offset: ?>>
      %s = arith.addf %a, %b : f32
      memref.store %s, %t[%d] : memref<64xf32, strided<[1], offset: ?>>
      scf.reduce
    }
  }
  return
}

// -----

// Nests whose parallel iterations may touch one element, or that read what
// they write before the parallel loop, stay as they are.
// CHECK-LABEL: func.func @unchanged
// CHECK: scf.for
// CHECK-NEXT: scf.parallel
// CHECK: scf.for
// CHECK-NEXT: memref.load
// CHECK-NEXT: scf.parallel
// CHECK: scf.for
// CHECK-NEXT: memref.subview
// CHECK-NEXT: scf.parallel
// CHECK: scf.for
// CHECK-NEXT: scf.parallel
// CHECK: scf.for
// CHECK-NEXT: scf.parallel
func.func @unchanged(%x: memref<32x64xf32>, %acc: memref<64xf32>, %sum: memref<1xf32>,
                     %grid: memref<32x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  // Every column adds into one element.
  scf.for %p = %c0 to %c32 step %c1 {
    scf.parallel (%d) = (%c0) to (%c64) step (%c1) {
      %a = memref.load %x[%p, %d] : memref<32x64xf32>
      %s = memref.load %sum[%c0] : memref<1xf32>
      %n = arith.addf %a, %s : f32
      memref.store %n, %sum[%c0] : memref<1xf32>
      scf.reduce
    }
  }
  // Reads what the parallel loop writes before it.
  scf.for %p = %c0 to %c32 step %c1 {
    %first = memref.load %acc[%c0] : memref<64xf32>
    scf.parallel (%d) = (%c0) to (%c64) step (%c1) {
      %a = memref.load %acc[%d] : memref<64xf32>
      %n = arith.addf %a, %first : f32
      memref.store %n, %acc[%d] : memref<64xf32>
      scf.reduce
    }
  }
  // The subview moves along the parallel dimension with each position, so
  // one element is touched by different columns.
  scf.for %p = %c0 to %c32 step %c1 {
    %row = memref.subview %acc[%p] [32] [1] : memref<64xf32> to memref<32xf32, strided<[1], offset: ?>>
    scf.parallel (%d) = (%c0) to (%c32) step (%c1) {
      %a = memref.load %row[%d] : memref<32xf32, strided<[1], offset: ?>>
      %n = arith.addf %a, %a : f32
      memref.store %n, %row[%d] : memref<32xf32, strided<[1], offset: ?>>
      scf.reduce
    }
  }
  // Reads a neighbour's element that another column writes.
  scf.for %p = %c0 to %c32 step %c1 {
    scf.parallel (%d) = (%c1) to (%c64) step (%c1) {
      %left = arith.subi %d, %c1 : index
      %a = memref.load %acc[%left] : memref<64xf32>
      memref.store %a, %acc[%d] : memref<64xf32>
      scf.reduce
    }
  }
  // Two parallel dimensions: left alone.
  scf.for %p = %c0 to %c32 step %c1 {
    scf.parallel (%i, %d) = (%c0, %c0) to (%c32, %c64) step (%c1, %c1) {
      %a = memref.load %grid[%i, %d] : memref<32x64xf32>
      %n = arith.addf %a, %a : f32
      memref.store %n, %grid[%i, %d] : memref<32x64xf32>
      scf.reduce
    }
  }
  return
}

// -----

// A buffer an enclosing loop carries starts as its initial value: the
// nest writes %b while it reads %acc, one buffer under two names, so it
// stays as it is.
// CHECK-LABEL: func.func @carried
// CHECK: scf.for
// CHECK-NEXT: scf.for
// CHECK-NEXT: scf.parallel
func.func @carried(%acc: memref<64xf32>) -> memref<64xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  %r = scf.for %o = %c0 to %c2 step %c1 iter_args(%b = %acc) -> memref<64xf32> {
    scf.for %p = %c0 to %c32 step %c1 {
      scf.parallel (%d) = (%c1) to (%c64) step (%c1) {
        %left = arith.subi %d, %c1 : index
        %a = memref.load %acc[%left] : memref<64xf32>
        memref.store %a, %b[%d] : memref<64xf32>
        scf.reduce
      }
    }
    scf.yield %b : memref<64xf32>
  }
  return %r : memref<64xf32>
}
