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

import json
import shutil
import subprocess

import numpy as np
import pytest

from conftest import (
    CONFIGS,
    assert_trained_alike,
    random_inputs,
    run,
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


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_eval_matches_cpu(gpu, mstream_bin, workdir, name):
    state, tokens, targets = random_inputs(CONFIGS[name], seed=11)
    weights, x, y = save_inputs(workdir, f"gpu-{name}", state, tokens, targets)
    results = {}
    for target in ("cpu", "cuda"):
        path = artifact(mstream_bin, str(workdir), name, target, False)
        logits = workdir / f"gpu-{name}-{target}-logits.npy"
        out = run(
            mstream_bin,
            "eval",
            path,
            "--weights",
            weights,
            "--tokens",
            x,
            "--targets",
            y,
            "--logits",
            logits,
        )
        results[target] = (json.loads(out.stdout)["loss"], np.load(logits))
    (cpu_loss, cpu_logits), (gpu_loss, gpu_logits) = results["cpu"], results["cuda"]
    assert np.isfinite(gpu_logits).all()
    assert gpu_loss == pytest.approx(cpu_loss, rel=1e-5)
    assert np.abs(gpu_logits - cpu_logits).max() <= 1e-5 * np.abs(cpu_logits).max()


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_bf16_eval_matches_cpu_bf16(gpu, mstream_bin, workdir, name):
    state, tokens, targets = random_inputs(CONFIGS[name], seed=13)
    weights, x, y = save_inputs(workdir, f"gpu-bf16-{name}", state, tokens, targets)
    results = {}
    for target in ("cpu", "cuda"):
        path = artifact(mstream_bin, str(workdir), name, target, False, "bf16")
        logits = workdir / f"gpu-bf16-{name}-{target}-logits.npy"
        out = run(
            mstream_bin,
            "eval",
            path,
            "--weights",
            weights,
            "--tokens",
            x,
            "--targets",
            y,
            "--logits",
            logits,
        )
        results[target] = (json.loads(out.stdout)["loss"], np.load(logits))
    (cpu_loss, cpu_logits), (gpu_loss, gpu_logits) = results["cpu"], results["cuda"]
    assert np.isfinite(gpu_logits).all()
    assert gpu_loss == pytest.approx(cpu_loss, rel=1e-4)
    assert np.abs(gpu_logits - cpu_logits).max() <= 1e-3 * np.abs(cpu_logits).max()


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
