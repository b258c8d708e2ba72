// RUN: mstream-opt %s --mstream-merge-gpu-modules | FileCheck %s

// A kernel's shared-memory buffer gets the 64-byte alignment that views of
// it assume. Outlined kernels share their function's name; merged, each takes its
// module's name (made unique where the merged module has it: @f_kernel_0
// exists there) and the launches follow.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK: gpu.module @f_kernel {
// CHECK-NEXT: gpu.func @f_kernel() workgroup(%{{.*}} : memref<64xi8, #gpu.address_space<workgroup>> {llvm.align = 64 : i64}) kernel
// CHECK: gpu.func @f_kernel_0()
// CHECK: gpu.func @f_kernel_0_0()
// CHECK-NOT: gpu.module
// CHECK: gpu.launch_func @f_kernel::@f_kernel
// CHECK: gpu.launch_func @f_kernel::@f_kernel_0_0
module attributes {gpu.container_module} {
  gpu.module @f_kernel {
    gpu.func @f_kernel() workgroup(%local : memref<64xi8, #gpu.address_space<workgroup>>) kernel { gpu.return }
    gpu.func @f_kernel_0() kernel { gpu.return }
  }
  gpu.module @f_kernel_0 {
    gpu.func @f_kernel() kernel { gpu.return }
  }
  func.func @f() {
    %c1 = arith.constant 1 : index
    gpu.launch_func @f_kernel::@f_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    gpu.launch_func @f_kernel_0::@f_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    return
  }
}
