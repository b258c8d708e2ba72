"""Shared fixtures: the mstream binary, small model definitions, compiled
artifacts (cached per session) and random inputs."""

import json
import glob
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

sys.path.insert(0, os.path.dirname(__file__))

import reference  # noqa: E402
import tensor_files  # noqa: E402

BATCH, SEQ = 2, 16


def small_config(variant, **overrides):
    """A model small enough to compile in seconds; n_heads=4 keeps the
    per-token H x Dh matrices non-trivial (4 x 16)."""
    config = {
        "variant": variant,
        "vocab_size": 96,
        "max_seq_len": 32,
        "d_model": 64,
        "n_layers": 2,
        "n_heads": 4,
    }
    config.update(overrides)
    return config


# Every variant plus TMM-zerovel, by test id.
CONFIGS = {v: small_config(v) for v in reference.VARIANTS}
CONFIGS["tmm-zerovel"] = small_config("tmm", vel_init="zero")


@pytest.fixture(scope="session")
def mstream_bin():
    path = os.environ.get(
        "MSTREAM_BIN",
        os.path.join(os.path.dirname(__file__), "..", "..", "build", "bin", "mstream"),
    )
    assert os.path.exists(path), f"build mstream first (looked for {path})"
    return path


@pytest.fixture(scope="session")
def cuobjdump(mstream_bin):
    """NVIDIA's cuobjdump, nvdisasm beside it: scripts/setup.sh installs
    both from PyPI into the build directory's cuda-tools-venv."""
    build = os.path.dirname(os.path.dirname(os.path.abspath(mstream_bin)))
    found = glob.glob(
        os.path.join(
            build,
            "cuda-tools-venv",
            "lib",
            "python3*",
            "site-packages",
            "nvidia",
            "cu13",
            "bin",
            "cuobjdump",
        )
    )
    assert found, f"no cuobjdump under {build}/cuda-tools-venv: run scripts/setup.sh"
    return found[0]


def run(mstream_bin, *args, check=True, env=None):
    """`mstream ARGS`; `env` adds to the environment."""
    result = subprocess.run(
        [mstream_bin, *map(str, args)],
        capture_output=True,
        text=True,
        env=dict(os.environ, **env) if env else None,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"mstream {' '.join(map(str, args))} failed:\n{result.stderr}")
    return result


@pytest.fixture(scope="session")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("mstream")


@pytest.fixture(scope="session")
def compiled(mstream_bin, workdir):
    """Compiles a config once per session: name -> (config, config path, artifact path)."""
    cache = {}

    def get(name):
        if name not in cache:
            config = CONFIGS[name]
            config_path = workdir / f"{name}.json"
            config_path.write_text(json.dumps(config))
            artifact = workdir / f"{name}.mstream"
            run(
                mstream_bin,
                "compile",
                config_path,
                "--target=cpu",
                "--batch",
                BATCH,
                "--seq",
                SEQ,
                "-o",
                artifact,
            )
            cache[name] = (config, config_path, artifact)
        return cache[name]

    return get


def random_inputs(config, seed, batch=BATCH, seq=SEQ):
    """Random parameters (float32-representable, as float64) and int64 tokens."""
    state = reference.random_state_dict(config, seed)
    state = {k: v.float().double() for k, v in state.items()}
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, config["vocab_size"], (batch, seq))
    targets = rng.integers(0, config["vocab_size"], (batch, seq))
    return state, tokens, targets


def save_inputs(directory, tag, state, tokens, targets):
    weights = directory / f"{tag}.safetensors"
    tensor_files.write_safetensors(weights, {k: v.numpy() for k, v in state.items()})
    np.save(directory / f"{tag}-x.npy", tokens)
    np.save(directory / f"{tag}-y.npy", targets)
    return weights, directory / f"{tag}-x.npy", directory / f"{tag}-y.npy"


def evaluate(mstream_bin, model, inputs, tag, *flags, grads=False):
    """`mstream eval` of `model` (an artifact, or a definition it compiles
    with `flags`) on `inputs` (save_inputs' weights, tokens, targets), the
    logits and, with `grads`, the gradients written next to `inputs` under
    `tag`: (loss, logits, gradients or None)."""
    weights, x, y = inputs
    logits = weights.parent / f"{tag}-logits.npy"
    args = ["eval", model, *flags, "--weights", weights, "--tokens", x, "--targets", y]
    args += ["--logits", logits]
    grads_path = weights.parent / f"{tag}-grads.safetensors"
    if grads:
        args += ["--grads", grads_path]
    out = run(mstream_bin, *args)
    return (
        json.loads(out.stdout)["loss"],
        np.load(logits),
        tensor_files.read_safetensors(grads_path) if grads else None,
    )


def write_token_data(data, train_tokens, val_tokens):
    """A data directory of random tokens below 96 (every small config's
    vocabulary): `train_tokens` to train on, `val_tokens` to validate."""
    data.mkdir(exist_ok=True)
    rng = np.random.default_rng(5)
    rng.integers(0, 96, train_tokens).astype(np.uint16).tofile(data / "train.bin")
    rng.integers(0, 96, val_tokens).astype(np.uint16).tofile(data / "val.bin")
    return data


def train_briefly(mstream_bin, artifact, data, out):
    """Four train steps of `artifact` with validation every two: the
    [(step, loss, val_loss)] records and the final checkpoint's tensors."""
    run(
        mstream_bin,
        "train",
        artifact,
        "--data",
        data,
        "--out",
        out,
        "--steps",
        4,
        "--eval-every",
        2,
        "--seed",
        7,
    )
    records = [json.loads(line) for line in open(out / "metrics.jsonl")]
    return (
        [(r["step"], r.get("loss"), r.get("val_loss")) for r in records],
        tensor_files.read_safetensors(out / "checkpoint.safetensors"),
    )


def assert_trained_alike(actual, expected):
    """Two train_briefly results agree: the same records, losses within 1e-4
    relative, every weight and state tensor within 1e-4 of its largest
    magnitude plus 1e-7 (the raw scalars' near-cancelling gradients leave
    values near 1e-6 whose float32 rounding is absolute)."""
    (losses, state), (losses0, state0) = actual, expected
    assert [r[0] for r in losses] == [r[0] for r in losses0]
    assert any(loss is not None for _, loss, _ in losses0)
    for (_, loss, val), (_, loss0, val0) in zip(losses, losses0):
        for mine, theirs in ((loss, loss0), (val, val0)):
            assert (mine is None) == (theirs is None)
            if theirs is not None:
                assert mine == pytest.approx(theirs, rel=1e-4)
    assert state.keys() == state0.keys()
    for key, value in state0.items():
        assert np.abs(state[key] - value).max() <= 1e-4 * np.abs(value).max() + 1e-7, key


def reference_loss(config, state, tokens, targets):
    return float(reference.loss(config, state, torch.from_numpy(tokens), torch.from_numpy(targets)))


def pytest_configure(config):
    config.addinivalue_line("markers", "gpu: needs a CUDA GPU (the python_gpu test)")


def pytest_sessionfinish(session, exitstatus):
    """With MSTREAM_SKIPPED_EXIT set, a session whose every test skipped
    exits with that code, so that CTest counts it as skipped."""
    code = os.environ.get("MSTREAM_SKIPPED_EXIT")
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    stats = reporter.stats if reporter else {}
    if (
        code
        and stats.get("skipped")
        and not any(stats.get(k) for k in ("passed", "failed", "error"))
    ):
        session.exitstatus = int(code)
