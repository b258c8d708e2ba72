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
import re
import shutil
import subprocess

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


CALL_LINE = re.compile(
    r"call train_step: (\d+) bytes of inputs and (\d+) resident bytes to the device, "
    r"(\d+) bytes back, (\d+) launches and (\d+) library calls( \(CUDA graph replayed\))?"
)


def test_train_steps_stay_on_the_device_and_repeat_bitwise(gpu, mstream_bin, workdir, token_data):
    """Six tmm train steps, three times: with CUDA graphs (printing each
    call's transfers), again, and without graphs. Parameters and optimizer
    state go to the device once; every later step sends the token batches
    and scalars alone and reads back the loss and gradient norm; a step's
    launches are captured once per pair of argument sets (a step's outputs
    become the next step's inputs) and replayed from the fifth step; and
    the three runs' losses and checkpoints are the same bytes."""
    model = artifact(mstream_bin, str(workdir), "tmm", "cuda", True)
    runs = {}
    for tag, env in (
        ("graphs", {"MSTREAM_CUDA_PROFILE": "calls"}),
        ("again", {}),
        ("eager", {"MSTREAM_CUDA_GRAPHS": "0"}),
    ):
        out = workdir / f"gpu-repeat-{tag}"
        result = run(
            mstream_bin,
            "train",
            model,
            "--data",
            token_data,
            "--out",
            out,
            "--steps",
            6,
            "--eval-every",
            3,
            "--seed",
            7,
            env=env,
        )
        runs[tag] = (
            (out / "metrics.jsonl").read_text(),
            (out / "checkpoint.safetensors").read_bytes(),
            [CALL_LINE.search(line) for line in result.stderr.splitlines()],
        )
    calls = [m for m in runs["graphs"][2] if m]
    assert len(calls) == 6
    staged = 2 * 4 * BATCH * SEQ + 5 * 4
    for step, call in enumerate(calls, start=1):
        inputs, resident, back, launches, library, replayed = call.groups()
        assert int(inputs) == staged
        assert (int(resident) > 0) == (step == 1)
        assert int(back) == 8
        assert int(launches) == int(calls[0].group(4)) > 0
        assert int(library) == int(calls[0].group(5)) > 0
        assert bool(replayed) == (step >= 5)
    # ms per step differs; the losses and the checkpoint may not.
    losses = {
        tag: [
            (r["step"], r.get("loss"), r.get("val_loss")) for r in map(json.loads, m.splitlines())
        ]
        for tag, (m, _, _) in runs.items()
    }
    assert losses["graphs"] == losses["again"] == losses["eager"]
    assert runs["graphs"][1] == runs["again"][1] == runs["eager"][1]
