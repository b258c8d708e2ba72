"""`mstream train` against a float64 PyTorch reference of the same recipe
(train_reference.py): five optimizer steps from `mstream init`'s weights on
the same batches, for the Muon hybrid with the cosine schedule and for pure
AdamW with WSD.

Tolerance: after five steps every parameter and optimizer-state tensor
agrees within 1e-4 of its largest magnitude plus 1e-7. Observed: matrices,
embeddings and their state within 4e-6; the raw scalars' Adam moments up to
1e-4, because those gradients nearly cancel (a sum of thousands of terms,
see test_grads_reference.py) and their float32 rounding survives in m and
v. Losses agree to 1e-5 relative, gradient norms to 1e-4.
"""

import json

import numpy as np
import pytest
import torch

import tensor_files
import train_reference
from conftest import run, small_config

BATCH, SEQ, STEPS, SEED = 2, 16, 5, 7
LRS = {
    "hybrid": {"matrix": 0.02, "embedding": 6e-4, "ln": 6e-4, "scalar": 3e-3},
    "adamw": {"matrix": 6e-4, "embedding": 6e-4, "ln": 6e-4, "scalar": 6e-4},
}
RTOL, ATOL = 1e-4, 1e-7


def make_data(directory, vocab, n_train=SEQ * 24 + 1, n_val=SEQ * 4 + 1, seed=3):
    rng = np.random.default_rng(seed)
    directory.mkdir(exist_ok=True)
    train = rng.integers(0, vocab, n_train).astype("<u2")
    rng.integers(0, vocab, n_val).astype("<u2").tofile(directory / "val.bin")
    train.tofile(directory / "train.bin")
    return train.astype(np.int64)


def read_metrics(path):
    return [json.loads(line) for line in open(path)]


@pytest.mark.parametrize(
    "variant,recipe,schedule", [("tmm", "hybrid", "cosine"), ("vanilla", "adamw", "wsd")]
)
def test_five_steps_match_pytorch(variant, recipe, schedule, mstream_bin, workdir):
    config = small_config(variant)
    tag = f"train-{variant}-{recipe}"
    config_path = workdir / f"{tag}.json"
    config_path.write_text(json.dumps(config))
    data = make_data(workdir / f"{tag}-data", config["vocab_size"])
    init = workdir / f"{tag}-init.safetensors"
    run(mstream_bin, "init", config_path, "--seed", SEED, "-o", init)
    out = workdir / f"{tag}-run"
    run(
        mstream_bin,
        "train",
        config_path,
        "--data",
        workdir / f"{tag}-data",
        "--out",
        out,
        "--steps",
        STEPS,
        "--warmup",
        2,
        "--decay-start",
        3,
        "--schedule",
        schedule,
        "--recipe",
        recipe,
        "--batch",
        BATCH,
        "--seq",
        SEQ,
        "--seed",
        SEED,
        "--eval-every",
        100,
        "--val-batches",
        1,
    )

    state = {
        k: torch.from_numpy(v.astype(np.float64))
        for k, v in tensor_files.read_safetensors(init).items()
    }
    if schedule == "cosine":

        def multiplier(s):
            return train_reference.cosine(s, STEPS, 2)

    else:

        def multiplier(s):
            return train_reference.wsd(s, STEPS, 2, 3)

    history, params, optimizer = train_reference.train(
        config, state, data, BATCH, SEQ, SEED, STEPS, multiplier, LRS[recipe], recipe
    )

    steps = [m for m in read_metrics(out / "metrics.jsonl") if "loss" in m]
    assert [m["step"] for m in steps] == list(range(STEPS))
    for m, (loss, norm) in zip(steps, history):
        assert m["loss"] == pytest.approx(loss, rel=1e-5)
        assert m["grad_norm"] == pytest.approx(norm, rel=1e-4)
        assert m["lr_multiplier"] == pytest.approx(multiplier(m["step"]), rel=1e-9)
    got = tensor_files.read_safetensors(out / "checkpoint.safetensors")
    expected = {**params, **optimizer}
    assert sorted(got) == sorted(expected)
    for name, ref in expected.items():
        ref = ref.numpy()
        np.testing.assert_allclose(
            got[name], ref, rtol=0, atol=RTOL * np.abs(ref).max() + ATOL, err_msg=name
        )
