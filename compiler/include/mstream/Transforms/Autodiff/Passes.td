//===- Passes.td - reverse-mode autodiff and the train step *- tablegen -*-===//

#ifndef MSTREAM_TRANSFORMS_AUTODIFF_PASSES_TD
#define MSTREAM_TRANSFORMS_AUTODIFF_PASSES_TD

include "mlir/Pass/PassBase.td"

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
    recipe (docs/training.md) the block matrices by `mstream.muon_update` and the
    embeddings, LayerNorm gains and raw scalars by `mstream.adamw_update`;
    with the `adamw` recipe every group by AdamW. Learning rates and
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

#endif // MSTREAM_TRANSFORMS_AUTODIFF_PASSES_TD
