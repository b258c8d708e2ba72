//===- Passes.td - mstream passes ---------------------------*- tablegen -*-===//

#ifndef MSTREAM_PASSES_PASSES_TD
#define MSTREAM_PASSES_PASSES_TD

include "mlir/Pass/PassBase.td"

def LowerToLinalg : Pass<"mstream-lower-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Lower every mstream op to linalg, tensor, arith, math and scf";
  let description = [{
    Step ops are decomposed into their stream math (one elementwise
    `linalg.generic` per formula), LayerNorms, per-token Newton-Schulz and
    inverse square roots; oracle ops become GEMMs (`linalg.matmul`,
    `linalg.batch_matmul`, later routed to the runtime's BLAS entry) plus
    generated reductions (LayerNorm statistics, causal softmax, logsumexp).
    The per-token matrix iterations stay `linalg.generic` contractions in an
    `scf.for`, so they are generated code, not library calls.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def GemmToBlas : Pass<"mstream-gemm-to-blas", "::mlir::ModuleOp"> {
  let summary = "Route f32 linalg.matmul / batch_matmul on memrefs to the runtime's BLAS entry";
  let description = [{
    Replaces each bufferized `linalg.matmul` and `linalg.batch_matmul` (with
    plain or transposed operand maps, unit inner strides, f32) by a call to

      void mstream_sgemm(i64 batch, i64 transA, i64 transB, i64 M, i64 N,
                         i64 K, i64 a, i64 lda, i64 strideA, i64 b, i64 ldb,
                         i64 strideB, i64 c, i64 ldc, i64 strideC,
                         i64 accumulate)

    which the runtime implements with a real BLAS as `C += op(A) op(B)` per
    batch entry, or `C = op(A) op(B)` when `accumulate` is 0; `a`, `b`, `c`
    are byte addresses. A zero `linalg.fill` of C right before the matmul
    (how every GEMM's accumulator starts) is dropped for `accumulate` 0:
    the library's overwrite is one pass over C fewer than a fill and an
    accumulation, and on the GPU one kernel fewer. Anything else stays a
    linalg op and becomes generated loops.
  }];
  let options = [
    Option<"symbol", "symbol", "std::string", "\"mstream_sgemm\"",
           "The runtime function the GEMMs call (mstream_cuda_sgemm for CUDA)">,
    Option<"inTokenLoops", "in-token-loops", "bool", "true",
           "Also route the GEMMs inside token loops (scf.forall). The CUDA "
           "pipeline keeps those as loops: they run inside a kernel">
  ];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect"];
}

def ConstantsToFills : Pass<"mstream-constants-to-fills", "::mlir::ModuleOp"> {
  let summary = "Replace splat tensor constants by linalg.fill";
  let description = [{
    Bufferized, a tensor constant is a host global that kernels cannot read.
    A splat constant (zeros for accumulators, for instance) becomes a
    `linalg.fill` of a `tensor.empty`, which the GPU backend runs as a
    kernel into device memory. Other constants are left alone.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def PrivateFillInits : Pass<"mstream-private-fill-inits", "::mlir::ModuleOp"> {
  let summary = "Give every op that accumulates into a fill its own fill, next to it";
  let description = [{
    CSE merges the identical zero fills that GEMMs and reductions accumulate
    into, and hoists them out of loops: one fill at the top of a function
    then initialises dozens of ops. Bufferized, each of those ops writes
    into a copy of the shared buffer, a read and a write of the whole
    output where a fill is only a write, and a loop that yields such an
    op's result copies it once more per iteration. This pass, run just
    before bufferization, clones the fill (and its `tensor.empty`) right
    before each destination-passing op that uses it as an init, so that
    every op writes in place into a fresh buffer, and the fill is the op
    right before it (which `mstream-gemm-to-blas` folds into the call).
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def SplitReductions : Pass<"mstream-split-reductions", "::mlir::ModuleOp"> {
  let summary = "Split large reductions with few results into a parallel and a final stage";
  let description = [{
    A `linalg.generic` that reduces whole tensors to a scalar (the global
    gradient norm, the loss mean), or a few large tensors to one value each
    (Muon's norms of a stack of matrices), has almost no parallel
    dimension, so the GPU backend would run it in one or a few threads.
    This pass collapses the reduced dimensions to one and splits the
    reduction (`linalg::splitReduction`, inner-parallel so that
    neighbouring threads read neighbouring elements): `max-ratio` partial
    results per output in parallel, then one short reduction over them.
    Each input is read element by element or, like the mean in a
    LayerNorm's variance, once per output. With `max-ratio` outputs or
    more, each of at least `min-size` elements (the loss's log-sum-exp over
    the vocabulary for every token) gets 32 partials, so that a warp reads
    a row's consecutive elements.
    Reductions of fewer than `min-size` elements each, whose parallel
    dimensions do not lead, whose body reads indices, or whose size has no
    power-of-two factor of at least 32 stay as they are. Inside a token
    loop (a fused region, one GPU block per token) the thresholds are
    `token-min-size` and `token-max-ratio`, and a factor of 8 is enough: a
    LayerNorm's mean over 768 features becomes 32 partial sums of 24 in
    parallel, then one of 32, instead of one thread adding 768 numbers.
  }];
  let options = [
    Option<"minSize", "min-size", "int64_t", "4096",
           "The smallest reduction to split">,
    Option<"maxRatio", "max-ratio", "int64_t", "1024",
           "The largest number of partial results (a power of two)">,
    Option<"tokenMinSize", "token-min-size", "int64_t", "0",
           "The smallest reduction to split inside a token loop (scf.forall), "
           "whose block of threads shares it; 0: none">,
    Option<"tokenMaxRatio", "token-max-ratio", "int64_t", "32",
           "The largest number of partial results inside a token loop">
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def ParallelDimsFirst : Pass<"mstream-parallel-dims-first", "::mlir::ModuleOp"> {
  let summary = "Interchange linalg.generic loops so that parallel ones are outermost";
  let description = [{
    `convert-linalg-to-parallel-loops` keeps the loop order, so a generic
    whose reduction dimension comes first (a sum over the batch or the
    tokens per feature) becomes a sequential loop around a parallel one: on
    the GPU, one kernel launch per reduction step. Interchanging puts the
    parallel dimensions outermost, so the whole op is one kernel with the
    reduction inside each thread; the indexing maps (and so the memory
    order) are unchanged. A `linalg.reduce` (a fused region's sum over its
    tokens) becomes a `linalg.generic` first.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def HoistParallelLoops : Pass<"mstream-hoist-parallel-loops", "::mlir::ModuleOp"> {
  let summary = "Run a sequential loop inside the parallel loop it wraps when each parallel iteration owns its elements";
  let description = [{
    On the GPU a host-level `scf.for` around an `scf.parallel` launches a
    kernel per iteration: the embedding gradient's scatter-add
    (`dtok[ids[p], :] += dy[p, :]` for each of the B x T positions p) is
    one launch per token. Where the parallel loop's iterations touch
    disjoint elements of every buffer the nest writes, the loops swap: one
    parallel loop whose every iteration runs the sequential loop, in the
    same order, over its own elements. The pass requires:
    - an `scf.for` without results, outside token loops and parallel
      loops, whose body is pure ops and loads, then a one-dimensional
      `scf.parallel` without reductions, bounded by values from outside;
    - inside the parallel loop, only loads, stores and pure ops;
    - no load before the parallel loop from a buffer the nest stores to;
    - every access to such a buffer indexing one dimension with the
      parallel induction variable, the buffer itself or a unit-stride
      `memref.subview` of it whose offset in that dimension is defined
      outside the `scf.for`, the same dimension and offset for all accesses
      to that buffer (so two parallel iterations never touch one element).
    Buffers are told apart by their allocation or entry-point argument; a
    nest that reaches a buffer otherwise (one an enclosing loop carries,
    which may be its initial value under another name) stays as it is.
  }];
}

def LoopsToGpu : Pass<"mstream-loops-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Run every host-level loop nest and memory access as a GPU kernel";
  let description = [{
    After `convert-linalg-to-parallel-loops`, host functions hold parallel
    loop nests, plain loops and loads/stores over buffers the CUDA runtime
    allocates on the device. This pass leaves only orchestration on the host:
    - each `scf.parallel` becomes a `gpu.launch` of 256-thread blocks, one
      thread per iteration point (the innermost dimension varies fastest, so
      neighbouring threads touch neighbouring elements);
    - each `memref.copy` becomes such a parallel copy;
    - a run of loads, stores and loops without calls or parallel loops (a
      0-d update, a full reduction) becomes a one-thread `gpu.launch`.
    Host loops and calls (the GEMMs) stay on the host and are visited
    recursively. A host operation that would read a value computed on the
    device is an error.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect"];
}

def TokenScratch : Pass<"mstream-token-scratch", "::mlir::ModuleOp"> {
  let summary = "Place a token loop's allocations in one scratch buffer";
  let description = [{
    For the CUDA backend, which runs a token loop (the `scf.forall` of a
    fused region, bufferized) as one kernel that cannot allocate. Each
    `memref.alloc` in the loop's body becomes a `memref.view` into one
    scratch buffer allocated before the loop: `slots` slots of the body's
    total size, token t in slot t mod slots, one copy of an allocation per
    iteration of each loop around it (which must have a static trip count),
    so that a matrix iteration's fresh buffers never overwrite the last
    ones. Fewer slots are used where `slots` of them would exceed
    `max-bytes` (at least one). The loop gets `mstream.token_slots`, the
    number of tokens that may run at once.
  }];
  let options = [
    Option<"slots", "slots", "int64_t", "1024",
           "How many tokens run at once (the kernel's blocks)">,
    Option<"maxBytes", "max-bytes", "int64_t", "1073741824",
           "The most scratch memory one token loop may use">
  ];
  let dependentDialects = ["::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def DistributeTokenLoops : Pass<"mstream-distribute-token-loops",
                                "::mlir::ModuleOp"> {
  let summary = "Run each token loop as one GPU block per token";
  let description = [{
    After `mstream-token-scratch` and `convert-linalg-to-parallel-loops`, a
    token loop's body is one token's work: parallel loop nests over the
    token's features or matrices, reductions and scalar code in between.
    The token loop becomes an `scf.parallel` over tokens marked
    `mstream.token_slots`, which `mstream-loops-to-gpu` launches as that
    many blocks, each running tokens in turn. Inside, every parallel nest is
    spread over the block's threads, code that writes memory outside one
    runs in thread 0, loops around parallel nests run in every thread, and
    a `gpu.barrier` orders each of these steps against the others. A call
    inside a token loop is an error. With `one-thread`, the block is one
    thread and there are no barriers: the CPU pipeline's emulation of the
    kernels (`mstream-cpu-pipeline{gpu-token-kernels}`).
  }];
  let options = [
    Option<"oneThread", "one-thread", "bool", "false",
           "A block of one thread, without GPU ops (CPU emulation)">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect"];
}

def MergeParallelLoops : Pass<"mstream-merge-parallel-loops",
                              "::mlir::ModuleOp"> {
  let summary = "Run neighbouring independent parallel loops as one loop";
  let description = [{
    Horizontal fusion for the GPU, where each `scf.parallel` is a kernel
    launch: the weight optimizer updates dozens of tensors with one small
    elementwise loop each, and reductions over many tensors (the global
    gradient norm, Muon's norms) are chains of small loops per tensor. A
    run of loops in one block becomes one 1-D loop over their concatenated
    iteration spaces; a balanced tree of `scf.if` on the flat index picks
    the loop whose body runs.

    A run starts at a loop and gathers every later loop (up to an operation
    with unknown effects, such as a call) that depends on nothing before it
    in the run: no loop of the run writes a buffer it reads or writes, or
    reads one it writes. Operations that depend on the run (a host read of
    its output, the next loop of a chain), and everything that depends on
    those, move after the merged loop in their order, as do deallocations;
    the others stay before it. The next run starts at the moved operations,
    so each level of a set of independent chains becomes one loop. Buffers
    are told apart by their root allocation or function argument, through
    views and the memrefs an `scf.for` carries (entry points' arguments do
    not alias, as One-Shot Bufferize assumes). Loops with reductions, token
    loops (`mstream.token_slots`), and loops that allocate or have unknown
    effects are not merged.

    A kernel takes what it reads from outside as parameters, a memref as
    its descriptor's fields, and `ptxas` refuses more than 32 KiB of them
    (PTX 8.1). A loop that would take the merged loop's estimate past
    `max-argument-bytes` starts the next run instead.
  }];
  let options = [
    Option<"maxArgumentBytes", "max-argument-bytes", "int64_t", "16384",
           "The most parameter bytes a merged loop's kernel may take">
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect"];
}

def MergeGpuModules : Pass<"mstream-merge-gpu-modules", "::mlir::ModuleOp"> {
  let summary = "Move every outlined kernel into one gpu.module";
  let description = [{
    `gpu-kernel-outlining` makes one `gpu.module` per kernel. A train step
    has hundreds of kernels; one module is one NVPTX compilation, one
    `ptxas` run and one cubin to load, inspect and embed. Launches are
    retargeted to the merged module.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def FusePreconditioners : Pass<"mstream-fuse-preconditioners", "::mlir::ModuleOp"> {
  let summary = "Run each per-token matrix iteration as one per-token region";
  let description = [{
    Wraps every op whose lowering iterates on per-token matrices (the
    muon, ortho, shampoo and soap steps; newton_schulz and inv_sqrt) in an
    `mstream.fused` region that computes one token. All iterations of
    Newton-Schulz (5 quintic steps, on the smaller H x H Gram side when
    H < Dh) or of the inverse square root (10 coupled steps on Dh x Dh)
    then work on that token's matrices while they stay in cache, instead of
    streaming every token's matrices through memory once per product.
    Ops already inside a region are left alone; mstream-fuse-streams grows
    these regions into whole substeps.
  }];
}

def FuseStreams : Pass<"mstream-fuse-streams", "::mlir::ModuleOp"> {
  let summary = "Fuse each substep's stream math into one per-token region";
  let description = [{
    Groups every step op (or a region from mstream-fuse-preconditioners
    holding one) with the lookahead at its new (x, v) and the pre-norm
    `layer_norm` of the next oracle, and moves the group into one
    `mstream.fused` region named after the substep (`layers.3.attn`). The
    first substep's lookahead and pre-norm form a region of their own. A
    region reads the streams and the oracle output once and writes the new
    streams and the next oracle's input once; the values it used to pass
    between ops stay inside. mstream-autodiff turns each region into a
    backward region (`.grad`) that recomputes the token's forward values.
  }];
}

def FusedToLoops : Pass<"mstream-fused-to-loops", "::mlir::ModuleOp"> {
  let summary = "Run each mstream.fused region once per token in an scf.forall";
  let description = [{
    Replaces every fused region by a parallel loop over its tokens
    (`scf.forall`): per-token inputs are sliced (`tensor.extract_slice`),
    the body is inlined, per-token results are inserted
    (`tensor.parallel_insert_slice`), and a token-sum result is inserted as
    the token's row of a `[tokens, ...]` partial that a `linalg.reduce`
    sums after the loop, in token order. No iteration reads what another
    writes, and bufferization gives each its own scratch buffers. Runs
    before mstream-lower-to-linalg, which then lowers the body's ops on one
    token's tensors.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect"];
}

def Autodiff : Pass<"mstream-autodiff", "::mlir::ModuleOp"> {
  let summary = "Build loss_and_grads from loss by reverse-mode differentiation";
  let description = [{
    Clones `loss(tokens, targets, params...) -> loss` into
    `loss_and_grads(tokens, targets, params...) -> (loss, d params...)`.
    The backward sweep visits the ops in reverse and asks each for its
    vector-Jacobian product (`VjpOpInterface`); cotangents reaching a value
    twice are summed. Calls must be inlined first (`--inline`). A parameter
    that does not reach the loss gets a zero gradient.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def BuildTrainStep : Pass<"mstream-build-train-step", "::mlir::ModuleOp"> {
  let summary = "Build train_step: loss, gradients, clipping and the weight optimizers";
  let description = [{
    From `loss_and_grads` (run mstream-autodiff first), builds

      train_step(tokens, targets, lr.matrix, lr.embedding, lr.ln, lr.scalar,
                 step, state..., params...)
          -> (loss, grad_norm, new params..., new state...)

    The gradients are clipped by their global norm
    (`mstream.clip_by_global_norm`), then each parameter group (its
    `mstream.group` mark) is updated by one optimizer op: with the `hybrid`
    recipe (SPEC.md §5.2) the block matrices by `mstream.muon_update` and the
    embeddings, LayerNorm gains and raw scalars by `mstream.adamw_update`;
    with the `adamw` recipe (§5.6) every group by AdamW. Learning rates and
    the step count (from 1) are runtime scalars, so one artifact serves a
    whole schedule. With `group-updates=false` each parameter gets its own
    optimizer op instead, as eager frameworks update them one tensor at a
    time (the unfused build). State tensors are named like PyTorch's
    optimizer state (`<param>.exp_avg`, `<param>.exp_avg_sq`,
    `<param>.momentum_buffer`).
    Only embeddings and (with `adamw`) matrices decay; the paper's Muon and
    the LN / scalar groups use no weight decay.
  }];
  let options = [
    Option<"recipe", "recipe", "std::string", "\"hybrid\"",
           "hybrid (Muon on block matrices) or adamw (AdamW everywhere)">,
    Option<"maxNorm", "max-norm", "double", "1.0",
           "global gradient-norm clipping threshold (<= 0: off)">,
    Option<"beta1", "beta1", "double", "0.9", "AdamW beta1">,
    Option<"beta2", "beta2", "double", "0.95", "AdamW beta2">,
    Option<"eps", "eps", "double", "1e-8", "AdamW eps">,
    Option<"momentum", "momentum", "double", "0.95", "Muon momentum">,
    Option<"embeddingDecay", "embedding-decay", "double", "0.1",
           "AdamW weight decay of the embeddings">,
    Option<"matrixDecay", "matrix-decay", "double", "0.1",
           "AdamW weight decay of the block matrices (adamw recipe)">,
    Option<"groupUpdates", "group-updates", "bool", "true",
           "one optimizer op per parameter group (false: one per parameter)">
  ];
  let dependentDialects = ["::mstream::MStreamDialect"];
}

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

def FreeAfterLastUse : Pass<"mstream-free-after-last-use", "::mlir::ModuleOp"> {
  let summary = "Move each buffer's dealloc up to right after its last use";
  let description = [{
    MLIR's ownership-based buffer deallocation frees a buffer at the end of
    the block that allocates it, so every temporary of a straight-line
    function lives until the function returns: a d=512 train step held
    1 GiB of them at its end (forward activations, gradients, each
    Newton-Schulz iterate of the weight optimizer) where far fewer are ever
    live at once. This pass, run after the deallocation pipeline, moves an
    unconditional `memref.dealloc` of a `memref.alloc` in the same block up
    to right after the last op of that block that uses the buffer or an
    alias of it (a memref or pointer result of any op that uses it,
    nested uses counted at their ancestor in the block). A buffer an alias
    of which reaches the block's terminator, or that another dealloc
    frees, is left alone. The allocator then reuses the memory, still in
    cache, for the next temporary.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
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
    mstream-parallel-token-loops. So does an `scf.parallel` (the parallel
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

def ParallelTokenLoops : Pass<"mstream-parallel-token-loops", "::mlir::ModuleOp"> {
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

def RecordEntryShapes : Pass<"mstream-record-entry-shapes", "::mlir::ModuleOp"> {
  let summary = "Record the static memref argument shapes of every entry point";
  let description = [{
    Runs on bufferized IR, before the conversion to the LLVM dialect
    expands memref arguments into descriptors: each defined public function
    whose arguments are all statically shaped, identity-layout memrefs gets
    `mstream.entry_shapes`, one `array<i64>` per argument.
  }];
}

def EmitEntryPoints : Pass<"mstream-emit-entry-points", "::mlir::ModuleOp"> {
  let summary = "Give every entry point a packed `void mstream_entry_<name>(void **args)` wrapper";
  let description = [{
    Runs on the LLVM dialect: for each `llvm.func` carrying
    `mstream.entry_shapes`, emits a wrapper that loads one data pointer per
    argument from an array and rebuilds the static, row-major memref
    descriptors. The runtime calls every entry point the same way, whatever
    the model's parameter count.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // MSTREAM_PASSES_PASSES_TD
