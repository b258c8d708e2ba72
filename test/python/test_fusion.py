"""Fused against unfused (`--fuse=false`): the same math in a different
order, for every variant, forward, gradients and training steps.

Fusion changes only summation order: a token-sum (the cotangent of a raw
scalar or a LayerNorm gain) is accumulated token by token instead of in one
reduction. Forward values are computed by the same per-token formulas, but
LLVM vectorises a formula's `reassoc` reductions (LayerNorm means, row
sums) depending on its surroundings, so the two builds can add a row's
float32 terms in different orders. Tolerances: loss and logits within 1e-5
relative (observed: up to 1.5e-6 of the largest logit, muon and ortho);
gradients as in test_grads_reference.py, 1e-4 of the tensor's largest
magnitude plus 1e-7, because raw-scalar gradients are sums of thousands of
nearly cancelling terms whose float32 rounding depends on the order;
trained weights the same plus what AdamW makes of those differences
(test_fused_training_matches_unfused).
"""

import json
import os
import sys

import numpy as np
import pytest

from conftest import (
    BATCH,
    CONFIGS,
    SEQ,
    assert_trained_alike,
    evaluate,
    random_inputs,
    run,
    save_inputs,
    train_briefly,
    write_token_data,
)

sys.path.insert(
    0,
    os.environ.get(
        "MSTREAM_PYTHON_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build", "python")
    ),
)
import mstream  # noqa: E402

RTOL, ATOL = 1e-4, 1e-7
# One layer has every region kind (the first lookahead, attention and MLP
# substeps, the final pre-norm) at half the compile time of two.
ONE_LAYER = {name: dict(config, n_layers=1) for name, config in CONFIGS.items()}


def close(actual, expected, what):
    scale = np.abs(expected).max()
    np.testing.assert_allclose(actual, expected, rtol=0, atol=RTOL * scale + ATOL, err_msg=what)


def compile_and_eval(mstream_bin, workdir, config_path, tag, inputs, *flags):
    """Compiles the config for the CPU with --grads and `flags`, evaluates it
    on `inputs` (weights, tokens, targets): (loss, logits, gradients)."""
    artifact = workdir / f"{tag}.mstream"
    run(
        mstream_bin,
        "compile",
        config_path,
        "--target=cpu",
        "--grads",
        "--batch",
        BATCH,
        "--seq",
        SEQ,
        *flags,
        "-o",
        artifact,
    )
    return evaluate(mstream_bin, artifact, inputs, tag, grads=True)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_fused_matches_unfused(name, mstream_bin, workdir):
    config = ONE_LAYER[name]
    config_path = workdir / f"fusion-{name}.json"
    config_path.write_text(json.dumps(config))
    state, tokens, targets = random_inputs(config, seed=5)
    inputs = save_inputs(workdir, f"fusion-{name}", state, tokens, targets)
    loss, logits, grads = compile_and_eval(
        mstream_bin, workdir, config_path, f"fusion-{name}-true", inputs, "--fuse=true"
    )
    loss0, logits0, grads0 = compile_and_eval(
        mstream_bin, workdir, config_path, f"fusion-{name}-false", inputs, "--fuse=false"
    )
    assert loss == pytest.approx(loss0, rel=1e-5)
    np.testing.assert_allclose(logits, logits0, rtol=0, atol=1e-5 * np.abs(logits0).max())
    assert list(grads) == list(grads0)
    for param in grads0:
        close(grads[param], grads0[param], param)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_gpu_token_kernels_match_cpu(name, mstream_bin, workdir):
    """The CUDA backend's token kernels (scratch placement, distribution over
    a block, split row reductions, per-token products as loops) run on the
    CPU with a block of one thread (--emulate-gpu-kernels), against the CPU
    backend. Only summation order differs (split reductions, loops instead
    of BLAS): loss and logits within 1e-5, gradients as above. Races between
    a block's threads need a GPU (test_cuda_gpu.py)."""
    config = ONE_LAYER[name]
    config_path = workdir / f"emulated-{name}.json"
    config_path.write_text(json.dumps(config))
    state, tokens, targets = random_inputs(config, seed=6)
    inputs = save_inputs(workdir, f"emulated-{name}", state, tokens, targets)
    loss, logits, grads = compile_and_eval(
        mstream_bin, workdir, config_path, f"emulated-{name}-true", inputs, "--emulate-gpu-kernels"
    )
    loss0, logits0, grads0 = compile_and_eval(
        mstream_bin, workdir, config_path, f"emulated-{name}-false", inputs
    )
    assert loss == pytest.approx(loss0, rel=1e-5)
    np.testing.assert_allclose(logits, logits0, rtol=0, atol=1e-5 * np.abs(logits0).max())
    assert list(grads) == list(grads0)
    for param in grads0:
        close(grads[param], grads0[param], param)


@pytest.mark.parametrize("name", ["tmm", "muon"])
def test_gpu_row_reductions_match_cpu(name, mstream_bin, workdir):
    """At 256 features a token's row reductions are long enough to split
    (mstream-split-reductions): 256 partials, combined on the GPU with warp
    shuffles in two rounds, in the emulation by one thread in the order of
    lane 0's butterflies. Against the CPU backend: loss and logits within
    1e-5, as above; gradients within 1e-3 of each one's largest element,
    because Muon's one-element ones (a layer's beta) sum longer rows in
    another order and differ by up to 1.2e-4 of their value (2026-12-07),
    as much when the emulation adds the 256 partials in a loop.
    A wrong partial index, or a first round's result stored over a partial
    still to be read, changes the loss itself."""
    config = dict(ONE_LAYER[name], d_model=256, n_heads=16)
    config_path = workdir / f"emulated-rows-{name}.json"
    config_path.write_text(json.dumps(config))
    state, tokens, targets = random_inputs(config, seed=7)
    inputs = save_inputs(workdir, f"emulated-rows-{name}", state, tokens, targets)
    loss, logits, grads = compile_and_eval(
        mstream_bin,
        workdir,
        config_path,
        f"emulated-rows-{name}-true",
        inputs,
        "--emulate-gpu-kernels",
    )
    loss0, logits0, grads0 = compile_and_eval(
        mstream_bin, workdir, config_path, f"emulated-rows-{name}-false", inputs
    )
    assert loss == pytest.approx(loss0, rel=1e-5)
    np.testing.assert_allclose(logits, logits0, rtol=0, atol=1e-5 * np.abs(logits0).max())
    assert list(grads) == list(grads0)
    for param in grads0:
        scale = np.abs(grads0[param]).max()
        np.testing.assert_allclose(
            grads[param], grads0[param], rtol=0, atol=1e-3 * scale + ATOL, err_msg=param
        )


@pytest.mark.parametrize("name", ["tmm", "soap"])
def test_gpu_kernels_train_like_cpu(name, mstream_bin, workdir):
    """Four emulated train steps (--emulate-gpu-kernels: the token kernels,
    and the weight optimizer's updates merged into a few loops by
    mstream-merge-parallel-loops) against the CPU backend, held to what
    test_cuda_gpu.py holds the GPU to (assert_trained_alike). The hybrid
    recipe runs both weight optimizers (Muon on the block matrices, AdamW
    on the rest)."""
    config_path = workdir / f"emulated-train-{name}.json"
    config_path.write_text(json.dumps(ONE_LAYER[name]))
    data = write_token_data(workdir / "emulated-train-data", 4000, 1000)
    results = []
    for tag, flags in (("emulated", ["--emulate-gpu-kernels"]), ("cpu", [])):
        artifact = workdir / f"emulated-train-{name}-{tag}.mstream"
        run(
            mstream_bin,
            "compile",
            config_path,
            "--target=cpu",
            "--train",
            "--batch",
            BATCH,
            "--seq",
            SEQ,
            *flags,
            "-o",
            artifact,
        )
        results.append(
            train_briefly(mstream_bin, artifact, data, workdir / f"emulated-train-{name}-{tag}")
        )
    assert_trained_alike(*results)


def test_emulating_gpu_kernels_needs_cpu(mstream_bin, workdir):
    config_path = workdir / "emulated-cuda.json"
    config_path.write_text(json.dumps(ONE_LAYER["tmm"]))
    result = run(
        mstream_bin,
        "compile",
        config_path,
        "--target=cuda",
        "--emulate-gpu-kernels",
        "-o",
        workdir / "emulated-cuda.mstream",
        check=False,
    )
    assert result.returncode != 0
    assert "emulating the GPU kernels needs the cpu target" in result.stderr


# AdamW's eps (docs/training.md) and a bound on how much its step
# m_hat / (sqrt(v_hat) + eps) moves per unit relative change of one of its
# gradients over the first steps: at most 1.7 with betas (0.9, 0.95),
# taken twice; the step itself stays below 2 in size.
ADAM_EPS, ADAM_SENSITIVITY = 1e-8, 4.0


@pytest.mark.parametrize("name", ["tmm", "muon", "soap"])
def test_fused_training_matches_unfused(name):
    """Three train steps of both builds from the same weights, compared after
    every step: losses within 1e-5 relative; weights within close()'s 1e-4
    of the largest plus what the optimizer makes of the step's gradients,
    which differ by rounding. AdamW normalises each element's gradient, so
    an element whose gradient is near zero (6e-8 against a largest 0.06 and
    eps 1e-8 in muon's pos_emb) turns a rounding difference into a
    different step: the allowance grows each step by lr times the
    sensitivity times that element's relative difference between the two
    runs' gradients, at most lr times the sensitivity. Those gradients are
    taken at each run's own weights, so they include what the previous
    steps' rounding did to the weights (AVX-512 host code sums in other
    orders than SSE2 and drifts further); checking every step keeps that
    sound: a wrong update fails the step it happens in, before it can widen
    the next step's allowance. A 1% larger lr in the fused run fails 12 of
    muon's 17 tensors at the first step (checked 2026-12-03, AVX-512)."""
    model = mstream.Model.from_config(ONE_LAYER[name])
    runs = [model.compile(batch=BATCH, seq=SEQ, fuse=fuse).init(seed=7) for fuse in (True, False)]
    rng = np.random.default_rng(3)
    lr = 1e-2
    allowance = {}
    for step in range(3):
        tokens = rng.integers(0, ONE_LAYER[name]["vocab_size"], (BATCH, SEQ)).astype(np.int32)
        targets = np.roll(tokens, -1, axis=1)
        (_, grads), (_, grads0) = (r.grads(tokens, targets) for r in runs)
        for param, g0 in grads0.items():
            relative = np.abs(grads[param] - g0) / (np.abs(g0) + ADAM_EPS)
            allowance[param] = allowance.get(param, 0) + lr * ADAM_SENSITIVITY * np.minimum(
                relative, 1
            )
        fused, unfused = (r.train_step(tokens, targets, lr) for r in runs)
        assert fused["loss"] == pytest.approx(unfused["loss"], rel=1e-5), step
        after, after0 = (r.state_dict() for r in runs)
        for param, value0 in after0.items():
            excess = np.abs(after[param] - value0) - allowance[param]
            assert excess.max() <= RTOL * np.abs(value0).max() + ATOL, (step, param)


def test_fused_ir_and_report(mstream_bin, workdir):
    """The fused phase shows one region per substep; the report lists them."""
    config_path = workdir / "fusion-report-tmm.json"
    config_path.write_text(json.dumps(CONFIGS["tmm"]))
    out = run(
        mstream_bin,
        "compile",
        config_path,
        "--compile-to=training",
        "--train",
        "--batch",
        BATCH,
        "--seq",
        SEQ,
        "--print-fusion-report",
    )
    # 2 layers x 2 substeps plus the first lookahead: 5 regions in forward,
    # in loss, and in train_step with their 5 backward regions.
    assert out.stdout.count('mstream.fused "layers.') == 5 + 5 + 10
    assert 'mstream.fused "layers.1.mlp.grad"' in out.stdout
    report = out.stderr
    assert "fusion report: @train_step, 10 fused kernels" in report
    assert "layers.0.attn.lookahead" in report and "layers.1.mlp.grad" in report
    unfused = run(
        mstream_bin,
        "compile",
        config_path,
        "--compile-to=fused",
        "--fuse=false",
        "--print-fusion-report",
    )
    assert "mstream.fused" not in unfused.stdout
    assert "no fused kernels (--fuse=false)" in unfused.stderr
