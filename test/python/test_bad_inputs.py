"""Malformed artifacts, safetensors and .npy arrays each get a clear error
and a non-zero exit, never a crash (a signal gives a negative returncode)."""

import re
import struct

import numpy as np
import pytest

import tensor_files
from conftest import random_inputs, run, save_inputs


@pytest.fixture(scope="module")
def setup(mstream_bin, compiled, workdir):
    config, config_path, artifact = compiled("shampoo")
    state, tokens, targets = random_inputs(config, seed=9)
    weights, x, y = save_inputs(workdir, "bad", state, tokens, targets)
    return dict(
        config=config,
        artifact=artifact,
        weights=weights,
        x=x,
        y=y,
        state=state,
        tokens=tokens,
        dir=workdir,
    )


def eval_error(mstream_bin, setup, **overrides):
    args = dict(
        model=setup["artifact"], weights=setup["weights"], tokens=setup["x"], targets=setup["y"]
    )
    args.update(overrides)
    result = run(
        mstream_bin,
        "eval",
        args["model"],
        "--weights",
        args["weights"],
        "--tokens",
        args["tokens"],
        "--targets",
        args["targets"],
        check=False,
    )
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert result.stdout == ""
    return result.stderr


def edited_artifact(setup, name, edit, reseal=True):
    raw = setup["artifact"].read_bytes()
    raw = edit(raw)
    if reseal:
        raw = tensor_files.reseal_artifact(raw)
    path = setup["dir"] / name
    path.write_bytes(raw)
    return path


# -- artifacts ---------------------------------------------------------------


def test_truncated_artifact(mstream_bin, setup):
    path = edited_artifact(setup, "trunc.mstream", lambda r: r[: len(r) // 2], reseal=False)
    assert "checksum mismatch: the artifact is corrupted or truncated" in eval_error(
        mstream_bin, setup, model=path
    )


def test_corrupted_artifact(mstream_bin, setup):
    def flip(raw):
        raw = bytearray(raw)
        raw[len(raw) // 2] ^= 0xFF
        return bytes(raw)

    path = edited_artifact(setup, "flip.mstream", flip, reseal=False)
    assert "checksum mismatch" in eval_error(mstream_bin, setup, model=path)


def test_version_mismatch(mstream_bin, setup):
    versions = []

    def edit(raw):
        versions.append(re.search(rb"compiler (\S+)", raw).group(1).decode())
        return re.sub(rb"compiler \S+", b"compiler 9.9.9", raw, count=1)

    path = edited_artifact(setup, "version.mstream", edit)
    assert f"compiled by mstream 9.9.9 but this runtime is {versions[0]}; recompile" in eval_error(
        mstream_bin, setup, model=path
    )


def test_format_mismatch(mstream_bin, setup):
    path = edited_artifact(setup, "format.mstream", lambda r: r[:8] + struct.pack("<I", 7) + r[12:])
    assert "artifact format 7, but this runtime reads format 3" in eval_error(
        mstream_bin, setup, model=path
    )


def test_target_mismatch(mstream_bin, setup):
    path = edited_artifact(
        setup, "target.mstream", lambda r: r.replace(b"target cpu-x86_64", b"target cpu-arm_64")
    )  # same length: sizes stay valid
    assert "compiled for target cpu-arm_64 but this runtime executes cpu-x86_64" in eval_error(
        mstream_bin, setup, model=path
    )


def test_not_an_artifact_nor_a_config(mstream_bin, setup):
    path = setup["dir"] / "garbage.bin"
    path.write_bytes(b"\x00\x01garbage")
    assert "invalid JSON" in eval_error(mstream_bin, setup, model=path)


def test_missing_model_file(mstream_bin, setup):
    assert "cannot open '/nonexistent.mstream'" in eval_error(
        mstream_bin, setup, model="/nonexistent.mstream"
    )


# -- safetensors -------------------------------------------------------------


def write_weights(setup, name, tensors, **kwargs):
    path = setup["dir"] / name
    tensor_files.write_safetensors(path, tensors, **kwargs)
    return path


def arrays(setup):
    return {k: v.numpy() for k, v in setup["state"].items()}


def test_missing_parameter(mstream_bin, setup):
    tensors = arrays(setup)
    del tensors["layers.1.betaR_mlp_raw"]
    path = write_weights(setup, "missing.safetensors", tensors)
    assert "missing parameter 'layers.1.betaR_mlp_raw' [1]" in eval_error(
        mstream_bin, setup, weights=path
    )


def test_extra_tensor(mstream_bin, setup):
    tensors = arrays(setup)
    tensors["lm_head.weight"] = np.zeros((2, 2))
    path = write_weights(setup, "extra.safetensors", tensors)
    assert "unexpected tensor 'lm_head.weight' [2, 2]: not a parameter of this model" in eval_error(
        mstream_bin, setup, weights=path
    )


def test_wrong_shape(mstream_bin, setup):
    tensors = arrays(setup)
    tensors["layers.0.attn.qkv_proj.weight"] = tensors["layers.0.attn.qkv_proj.weight"].T
    path = write_weights(setup, "shape.safetensors", tensors)
    assert (
        "tensor 'layers.0.attn.qkv_proj.weight' has shape [64, 192] but the model "
        "expects [192, 64]"
    ) in eval_error(mstream_bin, setup, weights=path)


def test_truncated_safetensors(mstream_bin, setup):
    raw = setup["weights"].read_bytes()
    path = setup["dir"] / "trunc.safetensors"
    path.write_bytes(raw[:-100])
    assert "(truncated file?)" in eval_error(mstream_bin, setup, weights=path)


def test_safetensors_bad_header(mstream_bin, setup):
    path = setup["dir"] / "header.safetensors"
    path.write_bytes(struct.pack("<Q", 5) + b"{oops")
    assert "not a valid safetensors file: invalid JSON" in eval_error(
        mstream_bin, setup, weights=path
    )


def test_safetensors_header_length_too_large(mstream_bin, setup):
    path = setup["dir"] / "huge.safetensors"
    path.write_bytes(struct.pack("<Q", 1 << 40) + b"{}")
    assert "header of 1099511627776 bytes but the file has 10" in eval_error(
        mstream_bin, setup, weights=path
    )


def test_safetensors_integer_dtype(mstream_bin, setup):
    tensors = {k: v.astype(np.int32) for k, v in arrays(setup).items()}
    path = write_weights(setup, "int.safetensors", tensors, dtype="I32")
    assert "dtype I32 is not a floating-point type" in eval_error(mstream_bin, setup, weights=path)


# -- npy ---------------------------------------------------------------------


def test_tokens_out_of_vocabulary(mstream_bin, setup):
    tokens = setup["tokens"].copy()
    tokens[1, 3] = setup["config"]["vocab_size"]
    path = setup["dir"] / "oov.npy"
    np.save(path, tokens)
    assert "tokens: value 96 at [1, 3] is outside the vocabulary [0, 96)" in eval_error(
        mstream_bin, setup, tokens=path
    )


def test_negative_target(mstream_bin, setup):
    targets = setup["tokens"].copy()
    targets[0, 0] = -1
    path = setup["dir"] / "neg.npy"
    np.save(path, targets)
    assert "targets: value -1 at [0, 0] is outside the vocabulary" in eval_error(
        mstream_bin, setup, targets=path
    )


def test_float_tokens(mstream_bin, setup):
    path = setup["dir"] / "float.npy"
    np.save(path, setup["tokens"].astype(np.float32))
    assert "tokens and targets must be integer arrays" in eval_error(
        mstream_bin, setup, tokens=path
    )


def test_tokens_wrong_shape_for_artifact(mstream_bin, setup):
    path = setup["dir"] / "shape.npy"
    np.save(path, setup["tokens"][:, :5])
    np.save(setup["dir"] / "shape-y.npy", setup["tokens"][:, :5])
    error = eval_error(mstream_bin, setup, tokens=path, targets=setup["dir"] / "shape-y.npy")
    assert "input 'tokens' must be int32 [2, 16], got int32 [2, 5]" in error


def test_truncated_npy(mstream_bin, setup):
    raw = setup["x"].read_bytes()
    path = setup["dir"] / "trunc.npy"
    path.write_bytes(raw[:-3])
    assert "(truncated?)" in eval_error(mstream_bin, setup, tokens=path)


def test_not_npy(mstream_bin, setup):
    path = setup["dir"] / "text.npy"
    path.write_text("1 2 3")
    assert "missing the \\x93NUMPY magic" in eval_error(mstream_bin, setup, tokens=path)


def test_fortran_order(mstream_bin, setup):
    path = setup["dir"] / "fortran.npy"
    np.save(path, np.asfortranarray(setup["tokens"]))
    assert "Fortran-ordered arrays are not supported" in eval_error(mstream_bin, setup, tokens=path)


def test_unsupported_dtype(mstream_bin, setup):
    path = setup["dir"] / "u8.npy"
    np.save(path, setup["tokens"].astype(np.uint8))
    assert "dtype '|u1' is not one of int32, int64, float32, float64" in eval_error(
        mstream_bin, setup, tokens=path
    )


def test_missing_flag(mstream_bin, setup):
    result = run(
        mstream_bin,
        "eval",
        setup["artifact"],
        "--weights",
        setup["weights"],
        "--tokens",
        setup["x"],
        check=False,
    )
    assert result.returncode == 1
    assert "eval needs --targets" in result.stderr
