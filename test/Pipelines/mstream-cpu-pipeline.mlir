// The whole CPU pipeline on a two-layer TMMFormer: only the LLVM dialect is
// left, every GEMM calls the runtime's BLAS entry, each layer's attention
// core its flash attention kernel (no [T, T] scores), every loop nest is its own
// internal noinline function (named "loop" here: the input has no location
// names), and both entry points get packed wrappers. exp (softmax) and erf
// (GELU) are inline polynomials, not libm calls, and no fma or floor is
// left for the baseline CPU to call libm for (mstream-approximate-math).
// A backward region's per-token temporaries are slots of its token
// function's frame, not a malloc and a free per token
// (mstream-token-buffers-to-stack).
// RUN: mstream compile %S/Inputs/tmm-2layer.json --batch 2 --seq 8 | mstream-opt --mstream-cpu-pipeline | FileCheck %s
// RUN: mstream compile %S/Inputs/tmm-2layer.json --batch 2 --seq 8 | mstream-opt --mstream-cpu-pipeline | FileCheck %s --check-prefix=MATH
// RUN: mstream compile %S/Inputs/tmm-2layer.json --batch 2 --seq 8 --train | mstream-opt --mstream-cpu-pipeline | FileCheck %s --check-prefix=STACK
// RUN: mstream compile %S/Inputs/tmm-2layer.json --batch 2 --seq 8 --train | mstream-opt --mstream-cpu-pipeline | FileCheck %s --check-prefix=FLASH

// FLASH: llvm.func @mstream_flash_attention_grad(i64, i64, i64, i64, f64, {{(i64, ){26}i64\)}}
// FLASH: llvm.func @mstream_flash_attention(i64, i64, i64, i64, f64, {{(i64, ){14}i64\)}}
// FLASH: llvm.func @train_step(
// FLASH-COUNT-2: llvm.call @mstream_flash_attention(
// FLASH-COUNT-2: llvm.call @mstream_flash_attention_grad(
// FLASH-NOT: llvm.call @mstream_flash_attention
// FLASH: llvm.func internal

// STACK: llvm.func internal @train_step.layers.1.mlp.grad({{.*}}) attributes {mstream.token_range
// STACK-NOT: llvm.call @malloc
// STACK-COUNT-29: llvm.alloca
// STACK-NOT: llvm.call @malloc
// STACK: llvm.return

// MATH-NOT: llvm.intr.exp
// MATH-NOT: @erff
// MATH-NOT: llvm.intr.fma
// MATH-NOT: llvm.intr.floor

// CHECK-NOT: mstream.tmm
// CHECK-NOT: linalg.
// CHECK-NOT: memref.
// CHECK-NOT: scf.
// CHECK: llvm.func @mstream_sgemm(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)
// CHECK: llvm.func @forward(
// CHECK: llvm.call @forward.loop(
// CHECK-COUNT-9: llvm.call @mstream_sgemm
// CHECK: llvm.func internal @forward.loop({{.*}}) attributes {passthrough = ["noinline"]
// CHECK-NOT: llvm.call @mstream_sgemm
// CHECK: llvm.func @loss(
// CHECK: llvm.call @forward
// CHECK: llvm.func @mstream_entry_forward(%{{.*}}: !llvm.ptr)
// CHECK: llvm.call @forward
// CHECK: llvm.func @mstream_entry_loss(%{{.*}}: !llvm.ptr)
// CHECK: llvm.call @loss
