"""Reverse-mode gradients (mstream-autodiff, `eval --grads`) against PyTorch
autograd in float64.

Tolerance: per parameter, max |mstream - reference| <= 1e-4 * max |reference|
+ 1e-7. The relative part covers float32 arithmetic through two layers of
GEMMs and reductions (observed below 5e-5). The absolute floor, float32's
epsilon times the O(1) loss, covers raw scalars whose true gradient nearly
cancels: the last layer's nu gradient is a sum of 2048 terms that comes to
~1e-6, where float32 summation leaves ~1e-9 of error.
"""

import numpy as np
import pytest
import torch

import reference
import tensor_files
from conftest import CONFIGS, random_inputs, run, save_inputs

GRAD_RTOL = 1e-4
GRAD_ATOL = 1e-7
DIFFERENTIABLE = sorted(CONFIGS)


def reference_grads(config, state, tokens, targets):
    params = {k: v.clone().requires_grad_(True) for k, v in state.items()}
    loss = reference.loss(config, params, torch.from_numpy(tokens), torch.from_numpy(targets))
    loss.backward()
    return float(loss), {k: p.grad.numpy() for k, p in params.items()}


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_gradients_match_autograd(name, mstream_bin, workdir):
    config = CONFIGS[name]
    config_path = workdir / f"grads-{name}.json"
    config_path.write_text(__import__("json").dumps(config))
    state, tokens, targets = random_inputs(config, seed=21)
    weights, x, y = save_inputs(workdir, f"grads-{name}", state, tokens, targets)
    grads_path = workdir / f"grads-{name}-out.safetensors"
    out = run(
        mstream_bin,
        "eval",
        config_path,
        "--weights",
        weights,
        "--tokens",
        x,
        "--targets",
        y,
        "--grads",
        grads_path,
    )
    expected_loss, expected = reference_grads(config, state, tokens, targets)
    assert __import__("json").loads(out.stdout)["loss"] == pytest.approx(expected_loss, rel=1e-5)
    grads = tensor_files.read_safetensors(grads_path)
    assert list(grads) == [n for n, _ in reference.param_shapes(config)]
    for param, ref in expected.items():
        # Zero where the parameter cannot matter (TMM-zerovel's first mu).
        scale = np.abs(ref).max()
        np.testing.assert_allclose(
            grads[param], ref, rtol=0, atol=GRAD_RTOL * scale + GRAD_ATOL, err_msg=param
        )


def test_artifact_without_gradients(mstream_bin, compiled, workdir):
    config, _, artifact = compiled("vanilla")
    state, tokens, targets = random_inputs(config, seed=1)
    weights, x, y = save_inputs(workdir, "nograds", state, tokens, targets)
    result = run(
        mstream_bin,
        "eval",
        artifact,
        "--weights",
        weights,
        "--tokens",
        x,
        "--targets",
        y,
        "--grads",
        workdir / "g.safetensors",
        check=False,
    )
    assert result.returncode == 1
    assert "has no loss_and_grads entry: compile it with" in result.stderr
