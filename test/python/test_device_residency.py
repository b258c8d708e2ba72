"""Device-resident training, checked without a GPU: a cpu artifact loaded
with MSTREAM_SIMULATE_DEVICE=1 runs its entries through the runtime's
device path (runtime/include/mstream/Runtime/Device.h) on a "device" of
separate host memory, so the transfer counters a cuda artifact reports are
the ones asserted here, and the numbers must be those of the plain CPU run
to the bit (the same host code on the same values)."""

import os
import sys

import numpy as np
import pytest

from conftest import random_inputs, small_config

sys.path.insert(
    0,
    os.environ.get(
        "MSTREAM_PYTHON_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build", "python")
    ),
)
import mstream  # noqa: E402

BATCH, SEQ = 2, 16


def nbytes(shape):
    return 4 * int(np.prod(shape, dtype=np.int64))


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    path = tmp_path_factory.mktemp("residency") / "tmm.mstream"
    mstream.Model.from_config(small_config("tmm")).compile(batch=BATCH, seq=SEQ).export(path)
    return path


def load(path, monkeypatch, simulate):
    monkeypatch.setenv("MSTREAM_SIMULATE_DEVICE", "1" if simulate else "0")
    return mstream.load(path)


def test_parameters_and_state_stay_on_the_device(artifact, monkeypatch):
    plain = load(artifact, monkeypatch, simulate=False).init(seed=3)
    net = load(artifact, monkeypatch, simulate=True).init(seed=3)
    assert net._program.on_device and not plain._program.on_device
    inputs, _ = net._program.entries()["train_step"]
    staged = sum(nbytes(s) for _, dtype, s in inputs if dtype == "int32" or s == [])
    state = sum(nbytes(s) for _, dtype, s in inputs if dtype == "float32" and s != [])
    params = sum(nbytes(s) for _, s, _ in net.model.params())
    # tokens and targets, 4 learning rates and the step count.
    assert staged == 2 * 4 * BATCH * SEQ + 5 * 4

    _, tokens, targets = random_inputs(small_config("tmm"), seed=5)
    for step in range(1, 5):
        assert net.train_step(tokens, targets, lr=1e-3) == plain.train_step(
            tokens, targets, lr=1e-3
        )
        moved = net.last_call()
        assert moved["entry"] == "train_step"
        assert moved["input_bytes_to_device"] == staged
        # The first step uploads the parameters and the zero optimizer
        # state; every later one moves no parameter or state byte, and reads
        # back the loss and gradient norm alone.
        assert moved["resident_bytes_to_device"] == (params + state if step == 1 else 0)
        assert moved["bytes_to_host"] == 8
        if step == 2:
            # Reading the parameters copies them back on demand and leaves
            # the device copy in place.
            for name, value in net.state_dict().items():
                np.testing.assert_array_equal(value, plain.state_dict()[name], err_msg=name)
    assert plain.last_call()["resident_bytes_to_device"] == 0

    # Parameters the host replaces go to the device with the next call;
    # the optimizer state (reset by load_state_dict) too.
    weights = plain.state_dict()
    net.load_state_dict(weights)
    plain.load_state_dict(weights)
    assert net.loss(tokens, targets) == plain.loss(tokens, targets)
    assert net.last_call()["resident_bytes_to_device"] == params
    assert net.train_step(tokens, targets, lr=1e-3) == plain.train_step(tokens, targets, lr=1e-3)
    assert net.last_call()["resident_bytes_to_device"] == state
    for name, value in net.state_dict().items():
        np.testing.assert_array_equal(value, plain.state_dict()[name], err_msg=name)


def test_checkpoints_and_eval_read_device_parameters(artifact, monkeypatch, tmp_path):
    net = load(artifact, monkeypatch, simulate=True).init(seed=4)
    _, tokens, targets = random_inputs(small_config("tmm"), seed=6)
    for _ in range(2):
        net.train_step(tokens, targets, lr=1e-3)
    net.save(tmp_path / "w.safetensors")
    saved = mstream.read_safetensors(tmp_path / "w.safetensors")
    live = net.state_dict()
    assert sorted(saved) == sorted(live)
    for name, value in live.items():
        np.testing.assert_array_equal(saved[name], value, err_msg=name)
    plain = load(artifact, monkeypatch, simulate=False).load_state_dict(saved)
    assert net.loss(tokens, targets) == plain.loss(tokens, targets)
    assert net.last_call()["resident_bytes_to_device"] == 0
