"""mstream's CPU backend against the float64 PyTorch reference.

Parameters are float32 values (the runtime's precision) held in float64, so
the comparison isolates mstream's float32 arithmetic. Tolerances: the loss
to 1e-5 relative and the logits to 1e-4 absolute (|logits| <= ~3 here):
float32 accumulation over d = 64 .. 256 terms gives errors near 1e-6, and
the issue asks for 1e-4 relative on the loss.
"""

import json

import numpy as np
import pytest
import torch

import reference
from conftest import CONFIGS, random_inputs, reference_loss, run, save_inputs

LOSS_RTOL = 1e-5
LOGITS_ATOL = 1e-4


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_loss_and_logits_match_reference(name, mstream_bin, compiled, workdir):
    config, _, artifact = compiled(name)
    state, tokens, targets = random_inputs(config, seed=11)
    weights, x, y = save_inputs(workdir, f"ref-{name}", state, tokens, targets)
    logits_path = workdir / f"ref-{name}-logits.npy"
    out = run(
        mstream_bin,
        "eval",
        artifact,
        "--weights",
        weights,
        "--tokens",
        x,
        "--targets",
        y,
        "--logits",
        logits_path,
    )
    result = json.loads(out.stdout)
    expected = reference_loss(config, state, tokens, targets)
    assert result["loss"] == pytest.approx(expected, rel=LOSS_RTOL)
    assert result["variant"] == config["variant"]

    logits = np.load(logits_path)
    expected_logits = reference.forward(config, state, torch.from_numpy(tokens)).numpy()
    assert logits.dtype == np.float32
    assert logits.shape == expected_logits.shape
    np.testing.assert_allclose(logits, expected_logits, rtol=0, atol=LOGITS_ATOL)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_causality(name, mstream_bin, compiled, workdir):
    """Changing tokens at t >= k leaves the logits before k bit-identical."""
    config, _, artifact = compiled(name)
    state, tokens, targets = random_inputs(config, seed=5)
    k = 7
    changed = tokens.copy()
    changed[:, k:] = (changed[:, k:] + 1 + np.arange(changed.shape[1] - k)) % config["vocab_size"]
    logits = []
    for tag, toks in (("a", tokens), ("b", changed)):
        weights, x, y = save_inputs(workdir, f"causal-{name}-{tag}", state, toks, targets)
        path = workdir / f"causal-{name}-{tag}.npy"
        run(
            mstream_bin,
            "eval",
            artifact,
            "--weights",
            weights,
            "--tokens",
            x,
            "--targets",
            y,
            "--logits",
            path,
        )
        logits.append(np.load(path))
    np.testing.assert_array_equal(logits[0][:, :k], logits[1][:, :k])
    assert not np.array_equal(logits[0][:, k:], logits[1][:, k:])


def test_eval_compiles_a_definition(mstream_bin, compiled, workdir):
    """Given a config, eval compiles for the arrays' shape itself."""
    config, config_path, artifact = compiled("tmm")
    state, tokens, targets = random_inputs(config, seed=3, batch=3, seq=5)
    weights, x, y = save_inputs(workdir, "direct", state, tokens, targets)
    result = json.loads(
        run(
            mstream_bin, "eval", config_path, "--weights", weights, "--tokens", x, "--targets", y
        ).stdout
    )
    assert (result["batch"], result["seq"]) == (3, 5)
    assert result["loss"] == pytest.approx(
        reference_loss(config, state, tokens, targets), rel=LOSS_RTOL
    )


def test_init_follows_spec(mstream_bin, compiled, workdir):
    """Names, shapes, the two init stds, LN gains and raw scalar inits."""
    import tensor_files

    config, config_path, artifact = compiled("adamw")
    out = workdir / "init.safetensors"
    run(mstream_bin, "init", config_path, "--seed", 7, "-o", out)
    params = tensor_files.read_safetensors(out)
    assert list(params) == [n for n, _ in reference.param_shapes(config)]
    for name, shape in reference.param_shapes(config):
        assert params[name].shape == tuple(shape), name
    L = config["n_layers"]
    emb = params["tok_emb.weight"]
    assert emb.std() == pytest.approx(0.02, rel=0.05)
    w2 = np.concatenate([params[f"layers.{i}.mlp.w2.weight"].ravel() for i in range(L)])
    assert w2.std() == pytest.approx(0.02 / np.sqrt(2 * L), rel=0.05)
    assert abs(w2.mean()) < 1e-3
    assert np.all(params["layers.1.ln_update_mlp.weight"] == 1.0)
    assert params["layers.0.lambda_attn_raw"].shape == ()
    assert float(params["layers.0.lambda_attn_raw"]) == -5.0
    assert np.all(params["layers.1.beta1_mlp_raw"] == 0.0)

    again = workdir / "init-again.safetensors"
    run(mstream_bin, "init", artifact, "--seed", 7, "-o", again)
    assert again.read_bytes() == out.read_bytes(), "init is deterministic in the seed"
    other = workdir / "init-other.safetensors"
    run(mstream_bin, "init", config_path, "--seed", 8, "-o", other)
    assert other.read_bytes() != out.read_bytes()


def test_tmm_init_nu(mstream_bin, compiled, workdir):
    import tensor_files

    _, config_path, _ = compiled("tmm")
    out = workdir / "tmm-init.safetensors"
    run(mstream_bin, "init", config_path, "-o", out)
    nu = tensor_files.read_safetensors(out)["layers.1.nu_attn_raw"]
    assert nu.shape == (1,)
    assert float(nu[0]) == pytest.approx(0.5413248, abs=1e-7)


def test_state_dict_with_compile_prefix_loads(mstream_bin, compiled, workdir):
    """torch.compile's '_orig_mod.' prefix is stripped, as the reference loaders do."""
    config, _, artifact = compiled("vanilla")
    state, tokens, targets = random_inputs(config, seed=2)
    prefixed = {"_orig_mod." + k: v for k, v in state.items()}
    weights, x, y = save_inputs(workdir, "prefixed", prefixed, tokens, targets)
    result = json.loads(
        run(
            mstream_bin, "eval", artifact, "--weights", weights, "--tokens", x, "--targets", y
        ).stdout
    )
    assert result["loss"] == pytest.approx(
        reference_loss(config, state, tokens, targets), rel=LOSS_RTOL
    )


def test_float64_safetensors_load(mstream_bin, compiled, workdir):
    import tensor_files

    config, _, artifact = compiled("vanilla")
    state, tokens, targets = random_inputs(config, seed=4)
    weights = workdir / "f64.safetensors"
    tensor_files.write_safetensors(weights, {k: v.numpy() for k, v in state.items()}, dtype="F64")
    _, x, y = save_inputs(workdir, "f64", state, tokens, targets)
    result = json.loads(
        run(
            mstream_bin, "eval", artifact, "--weights", weights, "--tokens", x, "--targets", y
        ).stdout
    )
    assert result["loss"] == pytest.approx(
        reference_loss(config, state, tokens, targets), rel=LOSS_RTOL
    )
