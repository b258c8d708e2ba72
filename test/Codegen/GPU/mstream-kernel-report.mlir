// RUN: mstream-opt %s --mstream-kernel-report | FileCheck %s

// One entry: a kernel launched in a host loop of 3 trips, a bf16 GEMM, and
// allocations whose most live at once (1536 bytes) add to the arguments'.
// Per thread (2 blocks of 128): the loop, block-strided (from the thread's
// index to 512 by the block size the kernel declares, 128), makes 4
// iterations that each load @k's first argument and do 2 FLOPs; of the scf.if, the dearer branch (exp and
// add, 2 FLOPs, a store) counts. Reads: 4 x 256 x 4 bytes = 4096, less than
// the 8192-byte buffer; writes: 2 x 256 x 4 = 2048, capped at the 1024-byte
// buffer. GEMM: 2 x 2 x 16 x 8 x 32 FLOPs; A (stride 0) read once and B per
// batch entry at 2 bytes, plus C read (accumulate) and written at 4 bytes.
// Arguments: tokens (64 bytes) and lr (4) are staged, the rank-0 loss (4)
// read back, the 8192-byte parameter and result resident. The launch asks
// for 4096 bytes of dynamic shared memory, which the report adds to what
// the cubin declares.

// CHECK: mstream.kernel_report = [{
// CHECK-SAME: entry = "step"
// CHECK-SAME: kernels = [{block = array<i64: 128, 1, 1>, dynamic_shared_bytes = 4096 : i64, flops = 2.560000e+03 : f64, grid = array<i64: 2, 1, 1>, kernel = "k", launches = 3 : i64, read_bytes = 4.096000e+03 : f64, written_bytes = 1.024000e+03 : f64}]
// CHECK-SAME: library = [{batch = 2 : i64, calls = 1 : i64, flops = 1.638400e+04 : f64, k = 32 : i64, m = 16 : i64, n = 8 : i64, operand_bytes = 2 : i64, read_bytes = 3.072000e+03 : f64, symbol = "mstream_cuda_gemm_bf16", written_bytes = 1.024000e+03 : f64}]
// CHECK-SAME: peak_bytes = 17992 : i64
// CHECK-SAME: readback_bytes = 4 : i64
// CHECK-SAME: resident_bytes = 16384 : i64
// CHECK-SAME: staged_bytes = 68 : i64
// CHECK-SAME: }]
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k(%p: memref<64x32xf32>, %out: memref<256xf32>) kernel attributes {known_block_size = array<i32: 128, 1, 1>} {
      %c0 = arith.constant 0 : index
      %c512 = arith.constant 512 : index
      %zero = arith.constant 0.0 : f32
      %tid = gpu.thread_id x
      %threads = gpu.block_dim x
      %sum = scf.for %i = %tid to %c512 step %threads iter_args(%acc = %zero) -> f32 {
        %v = memref.load %p[%c0, %c0] : memref<64x32xf32>
        %m = arith.mulf %v, %v : f32
        %a = arith.addf %acc, %m : f32
        scf.yield %a : f32
      }
      memref.store %sum, %out[%tid] : memref<256xf32>
      %cond = arith.cmpi eq, %tid, %c0 : index
      scf.if %cond {
        %e = math.exp %sum : f32
        %f = arith.addf %e, %sum : f32
        memref.store %f, %out[%c0] : memref<256xf32>
      } else {
        %g = arith.mulf %sum, %sum : f32
      }
      gpu.return
    }
  }
  func.func private @mstream_cuda_gemm_bf16(index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index)
  func.func @step(%tokens: memref<2x8xi32> {mstream.input = "tokens"},
                  %lr: memref<f32> {mstream.input = "lr.matrix"},
                  %w: memref<64x32xf32> {mstream.param = "w"},
                  %loss: memref<f32> {mstream.output = "loss"},
                  %new: memref<64x32xf32> {mstream.param = "w"}) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c3 = arith.constant 3 : index
    %c8 = arith.constant 8 : index
    %c16 = arith.constant 16 : index
    %c32 = arith.constant 32 : index
    %c128 = arith.constant 128 : index
    %c256 = arith.constant 256 : index
    %a = memref.alloc() : memref<256xf32>
    %b = memref.alloc() : memref<128xf32>
    %shared = arith.constant 4096 : i32
    scf.for %i = %c0 to %c3 step %c1 {
      gpu.launch_func @kernels::@k blocks in (%c2, %c1, %c1) threads in (%c128, %c1, %c1) dynamic_shared_memory_size %shared args(%w : memref<64x32xf32>, %a : memref<256xf32>)
    }
    memref.dealloc %a : memref<256xf32>
    %c = memref.alloc() : memref<64xf32>
    call @mstream_cuda_gemm_bf16(%c2, %c0, %c1, %c16, %c8, %c32, %c0, %c32, %c0, %c0, %c32, %c256, %c0, %c8, %c128, %c1) : (index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index) -> ()
    memref.dealloc %b : memref<128xf32>
    memref.dealloc %c : memref<64xf32>
    return
  }
}
