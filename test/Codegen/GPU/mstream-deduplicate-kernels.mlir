// RUN: mstream-opt %s --mstream-deduplicate-kernels | FileCheck %s

// @b is @a under another name (its locations differ): its launch launches
// @a and it is gone. @c computes another value, @d has another signature,
// @e another block size: each stays.
// CHECK-LABEL: gpu.module @kernels
// CHECK: gpu.func @a
// CHECK-NOT: gpu.func @b
// CHECK: gpu.func @c
// CHECK: gpu.func @d
// CHECK: gpu.func @e
// CHECK-LABEL: func.func @f
// CHECK: gpu.launch_func @kernels::@a
// CHECK-NEXT: gpu.launch_func @kernels::@a
// CHECK-NEXT: gpu.launch_func @kernels::@c
// CHECK-NEXT: gpu.launch_func @kernels::@d
// CHECK-NEXT: gpu.launch_func @kernels::@e
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @a(%x: memref<4xf32>) kernel attributes {known_block_size = array<i32: 256, 1, 1>} {
      %c0 = arith.constant 0 : index
      %one = arith.constant 1.0 : f32
      memref.store %one, %x[%c0] : memref<4xf32>
      gpu.return
    }
    gpu.func @b(%y: memref<4xf32>) kernel attributes {known_block_size = array<i32: 256, 1, 1>} {
      %c0 = arith.constant 0 : index loc("elsewhere":1:1)
      %one = arith.constant 1.0 : f32
      memref.store %one, %y[%c0] : memref<4xf32>
      gpu.return
    }
    gpu.func @c(%x: memref<4xf32>) kernel attributes {known_block_size = array<i32: 256, 1, 1>} {
      %c0 = arith.constant 0 : index
      %two = arith.constant 2.0 : f32
      memref.store %two, %x[%c0] : memref<4xf32>
      gpu.return
    }
    gpu.func @d(%x: memref<8xf32>) kernel attributes {known_block_size = array<i32: 256, 1, 1>} {
      %c0 = arith.constant 0 : index
      %one = arith.constant 1.0 : f32
      memref.store %one, %x[%c0] : memref<8xf32>
      gpu.return
    }
    gpu.func @e(%x: memref<4xf32>) kernel attributes {known_block_size = array<i32: 128, 1, 1>} {
      %c0 = arith.constant 0 : index
      %one = arith.constant 1.0 : f32
      memref.store %one, %x[%c0] : memref<4xf32>
      gpu.return
    }
  }
  func.func @f(%x: memref<4xf32>, %z: memref<8xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @kernels::@a blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%x : memref<4xf32>)
    gpu.launch_func @kernels::@b blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%x : memref<4xf32>)
    gpu.launch_func @kernels::@c blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%x : memref<4xf32>)
    gpu.launch_func @kernels::@d blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%z : memref<8xf32>)
    gpu.launch_func @kernels::@e blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%x : memref<4xf32>)
    return
  }
}
