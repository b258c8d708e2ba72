"""The CUDA backend on a GPU: cuda artifacts compute what the CPU backend
computes. Every test reports "skipped: no GPU" where there is none (CI);
on a GPU machine without the compiler, set MSTREAM_ARTIFACTS (see
cuda_artifacts.py).

Tolerances: both backends are float32 and differ only in summation order
(cuBLAS against OpenBLAS, per-thread against loop-nest reductions), so the
loss agrees to 1e-5 relative and logits to 1e-5 of their largest magnitude.
Training compounds that through clipping, Adam's division by sqrt(v) and
Newton-Schulz, so four steps are held to 1e-4 relative (losses) and every
weight and state tensor to 1e-4 of its largest magnitude plus 1e-7, as
test_train_reference.py holds mstream to PyTorch: the raw scalars'
gradients nearly cancel, leaving values near 1e-6 whose float32 rounding is
absolute.

bf16 builds (docs/precision.md) on both backends sum the same exact products
of the same bf16 operands in float32, in other orders; an operand that the
two backends' float32 values round to neighbouring bf16 values adds one bf16
step (2^-8 relative) to a few products. The loss agrees to 1e-4 relative
and logits to 1e-3 of their largest magnitude, 10x the fp32 bounds."""

import shutil
import subprocess

import numpy as np
import pytest

from conftest import (
    CONFIGS,
    assert_trained_alike,
    evaluate,
    random_inputs,
    save_inputs,
    train_briefly,
    write_token_data,
)
from cuda_artifacts import artifact

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="session")
def gpu():
    smi = shutil.which("nvidia-smi")
    listed = smi and subprocess.run([smi, "-L"], capture_output=True, text=True)
    if not listed or listed.returncode != 0 or "GPU 0" not in listed.stdout:
        pytest.skip("skipped: no GPU")
    return listed.stdout.strip()


# (loss rtol, logits tolerance relative to their largest magnitude)
EVAL_TOLERANCES = {"fp32": (1e-5, 1e-5), "bf16": (1e-4, 1e-3)}


def eval_on_both(mstream_bin, workdir, name, precision, seed):
    """(cpu, cuda) results of `evaluate` on the same inputs."""
    state, tokens, targets = random_inputs(CONFIGS[name], seed=seed)
    tag = f"gpu-{precision}-{name}"
    inputs = save_inputs(workdir, tag, state, tokens, targets)
    return [
        evaluate(
            mstream_bin,
            artifact(mstream_bin, str(workdir), name, target, False, precision),
            inputs,
            f"{tag}-{target}",
        )
        for target in ("cpu", "cuda")
    ]


def check_eval(cpu, gpu_result, precision):
    (cpu_loss, cpu_logits, _), (gpu_loss, gpu_logits, _) = cpu, gpu_result
    loss_rtol, logits_tol = EVAL_TOLERANCES[precision]
    assert np.isfinite(gpu_logits).all()
    assert gpu_loss == pytest.approx(cpu_loss, rel=loss_rtol)
    assert np.abs(gpu_logits - cpu_logits).max() <= logits_tol * np.abs(cpu_logits).max()


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_eval_matches_cpu(gpu, mstream_bin, workdir, name):
    check_eval(*eval_on_both(mstream_bin, workdir, name, "fp32", seed=11), "fp32")


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_bf16_eval_matches_cpu_bf16(gpu, mstream_bin, workdir, name):
    check_eval(*eval_on_both(mstream_bin, workdir, name, "bf16", seed=13), "bf16")


@pytest.fixture(scope="session")
def token_data(workdir):
    return write_token_data(workdir / "gpu-data", 20000, 4000)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_training_matches_cpu(gpu, mstream_bin, workdir, token_data, name):
    runs = {
        target: train_briefly(
            mstream_bin,
            artifact(mstream_bin, str(workdir), name, target, True),
            token_data,
            workdir / f"gpu-run-{name}-{target}",
        )
        for target in ("cpu", "cuda")
    }
    assert_trained_alike(runs["cuda"], runs["cpu"])
