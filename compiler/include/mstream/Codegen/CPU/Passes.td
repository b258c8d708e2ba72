//===- Passes.td - code generation for the CPU -------------*- tablegen -*-===//

#ifndef MSTREAM_CODEGEN_CPU_PASSES_TD
#define MSTREAM_CODEGEN_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def ApproximateMath : Pass<"mstream-approximate-math", "::mlir::ModuleOp"> {
  let summary = "Expand f32 exp and erf into inline polynomials of baseline-CPU instructions";
  let description = [{
    `math.exp` and `math.erf` otherwise become calls to libm's scalar
    `expf` and `erff`, which LLVM's loop vectorizer cannot widen: in the
    tiny TMMFormer's CPU train step they took 13% and 8% of the samples
    (softmax, cross-entropy and GELU with its derivative). This pass
    rewrites every f32 `math.exp` and `math.erf` into MLIR's polynomial
    approximations (Cephes' exp, relative error below 2^-22.5 and zero below
    2^-126; a rational erf of absolute error about 2.5e-7), straight-line
    code the vectorizer widens with the loop around it.

    The host code is built for a baseline CPU (x86-64: SSE2), which has
    neither a fused multiply-add nor a rounding instruction, so LLVM would
    make `math.fma` and `math.floor` calls to `fmaf` and `floorf` again.
    Each `math.fma` becomes a multiply and an add (MLIR's math expansion),
    and each f32 `math.floor` the exact truncation `t = float(int(x))`, minus 1 where
    `x < t`, kept as `x` from |x| >= 2^23 on (already integral, infinite or
    NaN) and given x's sign. Other math ops and types are left as they are.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect"];
}

def OutlineLoopNests : Pass<"mstream-outline-loop-nests", "::mlir::ModuleOp"> {
  let summary = "Move each top-level loop nest of a function into its own function";
  let description = [{
    Runs on bufferized loops: every `scf.for`, `scf.forall` or `scf.parallel` directly in a defined
    function's body becomes a call to a new private function
    `<function>.<name>` (name: the loop's location name, e.g. the fused
    region `layers.3.attn.grad`), marked `noinline` and internal. Values the
    nest uses from above become arguments; constants are cloned in.

    LLVM's loop passes (IndVarSimplify, LoopRotate) take time superlinear
    in the size of the function they run on, so one train_step function
    holding every loop of a deep model took minutes at -O2; small functions
    make the optimiser's time linear in depth. The names also make each
    kernel visible to profilers.

    A bufferized token loop (an `scf.forall` from mstream-fused-to-loops)
    becomes a function `(begin, end, values...)` that runs tokens
    [begin, end) in an `scf.for`, marked `mstream.token_range` for
    mstream-dispatch-token-ranges. So does an `scf.parallel` (the parallel
    dimensions of an op outside the token loops: the cross-entropy, the
    embedding, the weight optimizer's elementwise updates) over its first
    dimension when the nest runs at least 2^16 operations (static trip
    counts); its other dimensions stay an `scf.parallel` inside. A smaller
    one runs on the calling thread, where waking the runtime's threads
    would cost more than they save.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::LLVM::LLVMDialect"];
}

def TokenBuffersToStack : Pass<"mstream-token-buffers-to-stack", "::mlir::ModuleOp"> {
  let summary = "Place each token-range function's per-token buffers in its stack frame";
  let description = [{
    Runs after mstream-outline-loop-nests. In a function marked
    `mstream.token_range`, which runs its tokens one after another on one
    thread, a statically shaped `memref.alloc` that a `memref.dealloc` in
    the same block frees, with no alias outliving that block (the test of
    mstream-free-after-last-use), becomes a `memref.alloca` at the
    function's entry and its dealloc goes: every token, and every
    iteration of a loop inside, reuses the same slot of the frame instead
    of a malloc and a free. Buffers are taken in order until they would
    exceed `max-bytes` in one function; the rest stay on the heap, so a
    frame stays far below a thread's stack.
  }];
  let options = [
    Option<"maxBytes", "max-bytes", "int64_t", /*default=*/"262144",
           "Largest total of a function's buffers placed in its frame">,
  ];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def DispatchTokenRanges : Pass<"mstream-dispatch-token-ranges", "::mlir::ModuleOp"> {
  let summary = "Run every token-range function's calls on the runtime's threads";
  let description = [{
    Runs on the LLVM dialect, after mstream-outline-loop-nests: each call of
    a function marked `mstream.token_range`, `@k(begin, end, values...)`,
    becomes `mstream_parallel_for(begin, end, @k.task, context)`. The
    values are stored in a stack array of 8-byte slots; `@k.task(context,
    begin, end)` loads them and calls `@k` on its share of the range. The
    runtime (runtime/lib/cpu/Parallel.cpp) splits the range over its
    threads and keeps each thread's BLAS calls single-threaded meanwhile.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // MSTREAM_CODEGEN_CPU_PASSES_TD
