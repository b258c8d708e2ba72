"""The training loop around train_step: resumption, data errors, divergence,
the byte tokenizer and sampling."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

import reference
import tensor_files
from conftest import run, small_config
from test_train_reference import make_data, read_metrics

BATCH, SEQ = 2, 16


@pytest.fixture(scope="module")
def trainable(mstream_bin, workdir):
    """A small TMM compiled once with train_step, and a data directory."""
    config = small_config("tmm")
    config_path = workdir / "loop.json"
    config_path.write_text(json.dumps(config))
    artifact = workdir / "loop.mstream"
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
        "-o",
        artifact,
    )
    make_data(workdir / "loop-data", config["vocab_size"])
    return config, config_path, artifact, workdir / "loop-data"


def train(mstream_bin, artifact, data, out, *extra, check=True):
    return run(
        mstream_bin,
        "train",
        artifact,
        "--data",
        data,
        "--out",
        out,
        "--steps",
        8,
        "--eval-every",
        3,
        "--val-batches",
        2,
        "--seed",
        11,
        *extra,
        check=check,
    )


def test_resume_equals_uninterrupted(mstream_bin, trainable, workdir):
    _, _, artifact, data = trainable
    train(mstream_bin, artifact, data, workdir / "straight")
    stopped = train(mstream_bin, artifact, data, workdir / "resumed", "--stop-at", 4)
    assert "stopped after step 4" in stopped.stdout
    resumed = train(mstream_bin, artifact, data, workdir / "resumed", "--resume")
    assert "resuming" in resumed.stdout and "at step 4" in resumed.stdout
    for name in ("checkpoint.safetensors", "best.safetensors"):
        assert (workdir / "straight" / name).read_bytes() == (
            workdir / "resumed" / name
        ).read_bytes(), name

    def strip(records):
        return [{k: v for k, v in r.items() if k != "ms"} for r in records]

    assert strip(read_metrics(workdir / "straight" / "metrics.jsonl")) == strip(
        read_metrics(workdir / "resumed" / "metrics.jsonl")
    )


def test_killed_run_resumes_to_the_same_result(mstream_bin, trainable, workdir):
    """SIGKILL a run that checkpoints every step (so the kill is likely to
    land in a save), then resume: the previous checkpoint must load and the
    run must end exactly where the uninterrupted one did."""
    _, _, artifact, data = trainable
    straight = workdir / "kill-straight"
    train(mstream_bin, artifact, data, straight)
    killed = workdir / "killed"
    args = [
        mstream_bin,
        "train",
        artifact,
        "--data",
        data,
        "--out",
        killed,
        "--steps",
        8,
        "--eval-every",
        3,
        "--val-batches",
        2,
        "--seed",
        11,
        "--checkpoint-every",
        1,
    ]
    process = subprocess.Popen(
        list(map(str, args)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 60
    while time.time() < deadline and process.poll() is None:
        metrics = killed / "metrics.jsonl"
        if metrics.exists() and metrics.read_text().count('"loss"') >= 3:
            break
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL, "the run ended before it could be killed"
    train(mstream_bin, artifact, data, killed, "--resume", "--checkpoint-every", 1)
    for name in ("checkpoint.safetensors", "best.safetensors"):
        assert (straight / name).read_bytes() == (killed / name).read_bytes(), name


def test_resume_with_other_settings_is_refused(mstream_bin, trainable, workdir):
    _, _, artifact, data = trainable
    train(mstream_bin, artifact, data, workdir / "seeded", "--stop-at", 2)
    result = train(
        mstream_bin, artifact, data, workdir / "seeded", "--resume", "--seed", 12, check=False
    )
    assert result.returncode == 1
    assert "the checkpoint was written with seed = 11, this run has 12" in result.stderr


def test_artifact_shape_flags_must_agree(mstream_bin, trainable, workdir):
    _, _, artifact, data = trainable
    result = train(mstream_bin, artifact, data, workdir / "reshaped", "--batch", 4, check=False)
    assert result.returncode == 1
    assert "was compiled for batch 2, seq 16 and the hybrid recipe; recompile it" in result.stderr


def test_validation_and_metrics(mstream_bin, trainable, workdir):
    _, _, artifact, data = trainable
    result = train(mstream_bin, artifact, data, workdir / "metrics")
    records = read_metrics(workdir / "metrics" / "metrics.jsonl")
    assert [r["step"] for r in records if "val_loss" in r] == [0, 3, 6, 8]
    assert [r["step"] for r in records if "loss" in r] == list(range(8))
    best = min(r["val_loss"] for r in records if "val_loss" in r)
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["best_val_loss"] == pytest.approx(best, rel=1e-6)
    # Loss falls on this tiny run (train loss over the last steps below the first).
    losses = [r["loss"] for r in records if "loss" in r]
    assert np.mean(losses[-3:]) < losses[0]


@pytest.mark.parametrize(
    "contents,message",
    [
        (b"\x01\x00\x02", "3 bytes is an odd length"),
        (
            np.array([5, 96, 1], "<u2").tobytes(),
            "token 96 at index 1 is outside the model's vocabulary [0, 96)",
        ),
        (
            np.arange(20, dtype="<u2").tobytes(),
            "20 tokens is too short for one batch: 2 sequences of 16+1 tokens need at least 33",
        ),
    ],
)
def test_bad_data_files(contents, message, mstream_bin, trainable, workdir):
    _, _, artifact, data = trainable
    bad = workdir / f"bad-data-{len(contents)}"
    bad.mkdir(exist_ok=True)
    (bad / "train.bin").write_bytes(contents)
    (bad / "val.bin").write_bytes((data / "val.bin").read_bytes())
    result = train(mstream_bin, artifact, bad, workdir / "bad-run", check=False)
    assert result.returncode == 1
    assert message in result.stderr
    assert str(bad / "train.bin") in result.stderr


def test_missing_data_directory(mstream_bin, trainable, workdir):
    _, _, artifact, _ = trainable
    result = train(mstream_bin, artifact, workdir / "nowhere", workdir / "bad-run", check=False)
    assert result.returncode == 1
    assert "has neither train.bin nor train.npy" in result.stderr


def test_divergence_stops_with_the_step(mstream_bin, trainable, workdir):
    _, _, artifact, data = trainable
    result = train(
        mstream_bin,
        artifact,
        data,
        workdir / "diverged",
        "--lr-embedding",
        1e30,
        "--lr-matrix",
        1e30,
        "--warmup",
        0,
        check=False,
    )
    assert result.returncode == 1
    assert re.search(
        r"the training loss is -?(nan|inf) at step \d+ .*No checkpoint was written yet",
        result.stderr,
    ), result.stderr


def test_prepare_and_sample(mstream_bin, trainable, workdir):
    config, config_path, artifact, _ = trainable
    text = workdir / "text.txt"
    text.write_bytes(bytes(range(32, 96)) * 20)
    run(mstream_bin, "prepare", text, "--out", workdir / "bytes")
    train_tokens = np.fromfile(workdir / "bytes" / "train.bin", dtype="<u2")
    assert len(train_tokens) == 1152 and train_tokens[0] == 32
    assert json.loads((workdir / "bytes" / "meta.json").read_text())["tokenizer"] == "bytes"
    # Byte ids reach 95 < vocab 96, so the small model trains on them.
    train(mstream_bin, artifact, workdir / "bytes", workdir / "bytes-run")

    weights = workdir / "bytes-run" / "best.safetensors"
    result = run(
        mstream_bin,
        "sample",
        weights,
        "--model",
        config_path,
        "--prompt",
        "ABC",
        "--temperature",
        0,
        "--max-new-tokens",
        4,
    )
    out = result.stdout.rstrip("\n").encode("latin-1")
    assert out.startswith(b"ABC") and len(out) == 7
    # Greedy: the first new byte is the reference model's argmax.
    state = {
        k: torch.from_numpy(v.astype(np.float64))
        for k, v in tensor_files.read_safetensors(weights).items()
    }
    logits = reference.forward(config, state, torch.tensor([[65, 66, 67]]))
    assert out[3] == int(logits[0, -1].argmax())


def test_sample_needs_a_model_definition(mstream_bin, trainable, workdir):
    result = run(
        mstream_bin,
        "sample",
        workdir / "bytes-run" / "best.safetensors",
        "--prompt",
        "A",
        check=False,
    )
    assert result.returncode == 1
    assert "does not record its model definition; name it with --model" in result.stderr


@pytest.mark.parametrize(
    "flag,value,message",
    [
        ("--temperature", -1, "--temperature must be a finite number >= 0 (0: greedy), got -1"),
        ("--temperature", "nan", "--temperature must be a finite number >= 0"),
        ("--top-k", -2, "--top-k must be >= 0 (0: all tokens), got -2"),
        ("--max-new-tokens", -1, "--max-new-tokens must be >= 0, got -1"),
    ],
)
def test_sample_refuses_nonsensical_flags(mstream_bin, trainable, workdir, flag, value, message):
    _, config_path, _, _ = trainable
    result = run(
        mstream_bin,
        "sample",
        workdir / "bytes-run" / "best.safetensors",
        "--model",
        config_path,
        "--prompt",
        "A",
        flag,
        value,
        check=False,
    )
    assert result.returncode == 1
    assert message in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    "flag,value,message",
    [
        (
            "--lr-matrix",
            "nan",
            "--lr-matrix must be a finite number >= 0 (-1: the recipe's), got nan",
        ),
        ("--lr-ln", -0.5, "--lr-ln must be a finite number >= 0 (-1: the recipe's), got -0.5"),
        ("--max-norm", "nan", "the gradient clip max_norm (--max-norm) must be a number"),
    ],
)
def test_train_refuses_nonsensical_flags(mstream_bin, trainable, workdir, flag, value, message):
    _, config_path, _, _ = trainable
    out = workdir / f"refused{flag}"
    result = run(
        mstream_bin,
        "train",
        config_path,
        "--data",
        workdir / "bytes",
        "--out",
        out,
        "--steps",
        2,
        flag,
        value,
        check=False,
    )
    assert result.returncode == 1
    assert message in result.stderr
    assert not out.exists()


def test_a_second_run_into_the_same_out_refuses(mstream_bin, trainable, workdir):
    # While a run holds RUN/.lock (flock), another refuses and writes
    # nothing; once it is released (the holder ended), the run proceeds.
    import fcntl

    _, _, artifact, data = trainable
    out = workdir / "locked-run"
    out.mkdir()
    with open(out / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = train(mstream_bin, artifact, data, out, check=False)
        assert result.returncode == 1
        assert f"another run is writing to {out} (it holds {out}/.lock)" in result.stderr
        assert sorted(p.name for p in out.iterdir()) == [".lock"]
    train(mstream_bin, artifact, data, out)
    assert (out / "best.safetensors").exists()


# A checkpoint save that fails midway (here: a file-size limit, as a full
# disk fails the write) stops the run with an error naming the file, and
# leaves the last good checkpoint and no temporary file behind. In a
# process of its own, through the Python Trainer: the CLI's LLVM crash
# handler would print a stack dump on the SIGXFSZ it cannot ignore.
FAILED_SAVE = """
import os, resource, signal, sys
sys.path.insert(0, sys.argv[1])
import mstream
artifact, data, out, limit = sys.argv[2:6]
net = mstream.load(artifact).init(seed=11)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (int(limit), int(limit)))
try:
    mstream.Trainer(net, data, out=out, steps=8, eval_every=2, val_batches=1,
                    seed=11, resume=True).run()
except mstream.Error as error:
    print("error:", error)
"""


def test_a_failed_checkpoint_save_keeps_the_last_good_one(mstream_bin, trainable, workdir):
    _, _, artifact, data = trainable
    out = workdir / "failed-save"
    train(mstream_bin, artifact, data, out, "--stop-at", 4)
    checkpoint = out / "checkpoint.safetensors"
    good = checkpoint.read_bytes()
    python_dir = os.environ.get(
        "MSTREAM_PYTHON_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build", "python")
    )
    result = subprocess.run(
        [sys.executable, "-c", FAILED_SAVE, python_dir, artifact, data, out, str(len(good) // 2)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert re.search(
        rf"error: cannot write '{re.escape(str(checkpoint))}\.tmp\.\d+': File too large",
        result.stdout,
    ), (
        result.stdout + result.stderr
    )
    assert checkpoint.read_bytes() == good
    assert not [p for p in out.iterdir() if ".tmp." in p.name]


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_at_a_step_boundary_and_resume_continues(
    mstream_bin, trainable, workdir, stop
):
    _, _, artifact, data = trainable
    straight = workdir / "signal-straight"
    if not straight.exists():
        train(mstream_bin, artifact, data, straight)
    stopped = workdir / f"stopped-{stop.name}"
    args = [mstream_bin, "train", artifact, "--data", data, "--out", stopped]
    args += ["--steps", 8, "--eval-every", 3, "--val-batches", 2, "--seed", 11]
    process = subprocess.Popen(
        list(map(str, args)), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    deadline = time.time() + 60
    metrics = stopped / "metrics.jsonl"
    while time.time() < deadline and process.poll() is None:
        if metrics.exists() and metrics.read_text().count('"loss"') >= 2:
            break
        time.sleep(0.005)
    process.send_signal(stop)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1, stderr
    found = re.search(rf"stopped by {stop.name} after step (\d+): (\S+) holds it", stderr)
    assert found, stderr
    step = int(found.group(1))
    assert 2 <= step < 8 and found.group(2) == str(stopped / "checkpoint.safetensors")
    # The metrics end at that step's line; --resume finishes the run as if
    # it had not stopped.
    assert max(r["step"] for r in read_metrics(metrics) if "loss" in r) == step - 1
    train(mstream_bin, artifact, data, stopped, "--resume")
    for name in ("checkpoint.safetensors", "best.safetensors"):
        assert (straight / name).read_bytes() == (stopped / name).read_bytes(), name
