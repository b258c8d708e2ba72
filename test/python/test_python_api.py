"""`import mstream`: the Python API over the compiler and runtime, checked
against the float64 PyTorch reference (tolerances as in the CLI tests:
loss 1e-5 relative, gradients and trained weights 1e-4 of the largest
magnitude plus 1e-7)."""

import ctypes
import json
import os
import pydoc
import re
import sys

import numpy as np
import pytest
import torch

import reference
import train_reference
from conftest import random_inputs, run, small_config
from test_grads_reference import GRAD_ATOL, GRAD_RTOL, reference_grads
from test_train_reference import make_data

sys.path.insert(
    0,
    os.environ.get(
        "MSTREAM_PYTHON_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build", "python")
    ),
)
import mstream  # noqa: E402

BATCH, SEQ = 2, 16


@pytest.fixture(scope="module")
def tmm():
    model = mstream.Model.from_config(small_config("tmm"))
    return model, model.compile(batch=BATCH, seq=SEQ)


def test_help_lists_the_api():
    # help(mstream) shows every public class and function with its
    # signature; each has a docstring.
    text = pydoc.render_doc(mstream, renderer=pydoc.plaintext)
    for name in (
        "class Model",
        "class CompiledModel",
        "class Trainer",
        "class Error",
        "read_safetensors(path)",
        "load(",
    ):
        assert name in text, name
    for cls in (mstream.Model, mstream.CompiledModel, mstream.Trainer):
        for name, member in vars(cls).items():
            if callable(member) and not name.startswith("_"):
                assert member.__doc__, f"{cls.__name__}.{name} has no docstring"
    assert mstream.Model.phases() == ["imported", "fused", "training", "lowered", "llvm"]


def test_bad_definitions_raise_located_errors(tmp_path):
    with pytest.raises(mstream.Error, match="key 'n_heads': 5 heads do not divide d_model = 64"):
        mstream.Model.from_config(small_config("tmm", n_heads=5))
    path = tmp_path / "bad.json"
    path.write_text('{\n  "variant": "tmmm"\n}\n')
    with pytest.raises(
        mstream.Error,
        match=r"bad.json:2:14: error: key 'variant': unknown value 'tmmm' \(did you mean 'tmm'\?\)",
    ):
        mstream.Model.from_config(path)
    assert issubclass(mstream.Error, ValueError)


def test_params_follow_the_state_dict(tmm):
    model, _ = tmm
    config = small_config("tmm")
    assert [(n, s) for n, s, _ in model.params()] == [
        (n, tuple(s)) for n, s in reference.param_shapes(config)
    ]
    groups = dict((n, g) for n, _, g in model.params())
    assert groups["tok_emb.weight"] == "embedding"
    assert groups["layers.0.attn.qkv_proj.weight"] == "matrix"
    assert groups["layers.1.nu_mlp_raw"] == "scalar"


def test_ir_phases(tmm):
    model, _ = tmm
    imported = model.ir("imported", batch=BATCH, seq=SEQ)
    assert "mstream.tmm x(" in imported and "func.func @loss" in imported
    fused = model.ir("fused", batch=BATCH, seq=SEQ)
    assert 'mstream.fused "layers.1.mlp" tokens [2, 16]' in fused
    assert "mstream.fused" not in model.ir("fused", batch=BATCH, seq=SEQ, fuse=False)
    training = model.ir("training", batch=BATCH, seq=SEQ)
    assert "func.func @train_step" in training and "mstream.muon_update" in training
    assert 'mstream.fused "layers.0.attn.grad"' in training
    with pytest.raises(mstream.Error, match="unknown IR phase 'tiled'"):
        model.ir("tiled")


def test_llvm_phase_of_a_small_model():
    model = mstream.Model.from_config(small_config("vanilla", n_layers=1))
    text = model.ir("llvm", batch=1, seq=8)
    assert "define void @mstream_entry_train_step(ptr" in text


def expected_native_isa():
    """The newest host code this CPU runs, from the kernel's CPU flags."""
    if sys.platform != "linux" or os.uname().machine != "x86_64":
        return "portable"
    with open("/proc/cpuinfo") as f:
        flags = next(line for line in f if line.startswith("flags")).split()
    if not {"avx2", "fma"} <= set(flags):
        return "portable"
    if {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= set(flags):
        return "avx512"
    return "avx2"


def test_host_cpu_picks_the_instruction_set(tmm):
    # compile() builds host code for this CPU by default; "portable" for the
    # architecture's baseline. Only the vector width differs, and with it
    # the order of float32 sums: losses agree to 1e-5 relative (observed
    # 1e-7 over three tmm, muon and soap train steps).
    model, native = tmm
    portable = model.compile(batch=BATCH, seq=SEQ, host_cpu="portable")
    assert portable.host_isa == "portable"
    assert native.host_isa == expected_native_isa()
    _, tokens, targets = random_inputs(small_config("tmm"), seed=7)
    for net in (native, portable):
        net.init(seed=3)
    for _ in range(3):
        expected = portable.train_step(tokens, targets, lr=1e-3)["loss"]
        assert native.train_step(tokens, targets, lr=1e-3)["loss"] == pytest.approx(
            expected, rel=1e-5
        )
    assert "<4 x float>" in model.ir("llvm", batch=1, seq=8, host_cpu="portable")
    with pytest.raises(
        mstream.Error,
        match="unknown host CPU 'pentium'; expected all, or a comma-separated list of native",
    ):
        model.compile(batch=BATCH, seq=SEQ, host_cpu="pentium")


def test_a_fat_build_runs_the_newest_host_code(tmm):
    # host_cpu="all": host code for every instruction set, of which the
    # newest this CPU runs is loaded: native's code, so native's losses to
    # the bit.
    model, native = tmm
    fat = model.compile(batch=BATCH, seq=SEQ, host_cpu="all")
    assert fat.host_isa == native.host_isa
    _, tokens, targets = random_inputs(small_config("tmm"), seed=7)
    for net in (native, fat):
        net.init(seed=3)
    for _ in range(2):
        expected = native.train_step(tokens, targets, lr=1e-3)["loss"]
        assert fat.train_step(tokens, targets, lr=1e-3)["loss"] == expected
    with pytest.raises(mstream.Error, match="unknown host CPU 'sse9' in 'portable,sse9'"):
        model.compile(batch=BATCH, seq=SEQ, host_cpu="portable,sse9")


def test_export_and_load(mstream_bin, tmp_path):
    # An exported artifact loads as the model it was compiled from: its
    # definition (muon's ns_iters), shape and optimizer settings, and the
    # same host code, so the same numbers to the bit; `mstream eval` runs it.
    config = small_config("muon", ns_iters=3)
    net = (
        mstream.Model.from_config(config)
        .compile(batch=BATCH, seq=SEQ, recipe="adamw", max_norm=0.5, host_cpu="all")
        .init(seed=2)
    )
    path = tmp_path / "muon.mstream"
    path.write_bytes(b"an older file")
    net.export(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["muon.mstream"]
    loaded = mstream.load(path).load_state_dict(net.state_dict())
    assert loaded.model.config == config
    assert (loaded.batch, loaded.seq, loaded.host_isa) == (BATCH, SEQ, net.host_isa)
    assert loaded.peak_lr() == net.peak_lr()
    _, tokens, targets = random_inputs(config, seed=5)
    for _ in range(2):
        expected = net.train_step(tokens, targets, lr=1e-3)
        assert loaded.train_step(tokens, targets, lr=1e-3) == expected
    weights, x, y = (tmp_path / n for n in ("w.safetensors", "x.npy", "y.npy"))
    loaded.save(weights)
    np.save(x, tokens)
    np.save(y, targets)
    out = json.loads(
        run(mstream_bin, "eval", path, "--weights", weights, "--tokens", x, "--targets", y).stdout
    )
    assert out["loss"] == pytest.approx(loaded.loss(tokens, targets), rel=1e-6)
    assert out["host_isa"] == net.host_isa
    with pytest.raises(mstream.Error, match="not an mstream artifact"):
        mstream.load(weights)


def test_host_code_is_kept_for_profilers_on_request(tmm, tmp_path, monkeypatch):
    # The host code is a file only while it is being mapped, unless
    # MSTREAM_KEEP_HOST_CODE names a directory to leave it in, where it keeps
    # the kernels' symbols (functions named after their regions).
    _, net = tmm
    path = tmp_path / "tmm.mstream"
    net.export(path)
    scratch, kept = tmp_path / "scratch", tmp_path / "kept"
    scratch.mkdir()
    kept.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    mstream.load(path)
    assert list(scratch.iterdir()) == []
    monkeypatch.setenv("MSTREAM_KEEP_HOST_CODE", str(kept))
    loaded = mstream.load(path)
    files = list(kept.iterdir())
    assert len(files) == 1 and files[0].name.endswith(".so")
    code = files[0].read_bytes()
    assert code.startswith(b"\x7fELF") and b"train_step.layers.0.attn" in code
    assert loaded.init(seed=0).loss(*random_inputs(small_config("tmm"), seed=1)[1:]) > 0
    monkeypatch.setenv("MSTREAM_KEEP_HOST_CODE", str(tmp_path / "missing"))
    with pytest.raises(mstream.Error, match="missing \\(MSTREAM_KEEP_HOST_CODE\\): No such file"):
        mstream.load(path)


def test_state_dict_round_trip_with_pytorch(tmm):
    _, net = tmm
    config = small_config("tmm")
    state, tokens, targets = random_inputs(config, seed=5)
    net.load_state_dict({k: v.numpy() for k, v in state.items()})
    back = net.state_dict()
    assert list(back) == list(state)
    for name, value in state.items():
        np.testing.assert_array_equal(back[name], value.numpy().astype(np.float32))
    expected = float(
        reference.loss(config, state, torch.from_numpy(tokens), torch.from_numpy(targets))
    )
    assert net.loss(tokens, targets) == pytest.approx(expected, rel=1e-5)
    logits = net.logits(tokens)
    assert logits.shape == (BATCH, SEQ, config["vocab_size"])
    ref_logits = reference.forward(config, state, torch.from_numpy(tokens)).numpy()
    np.testing.assert_allclose(logits, ref_logits, rtol=0, atol=1e-4)


def test_load_state_dict_checks_names_and_shapes(tmm):
    _, net = tmm
    state = net.init(seed=1).state_dict()
    del state["tok_emb.weight"]
    with pytest.raises(mstream.Error, match=r"missing \['tok_emb.weight'\]"):
        net.load_state_dict(state)
    state = net.init(seed=1).state_dict()
    state["final_ln.weight"] = np.ones(3, np.float32)
    with pytest.raises(mstream.Error, match=r"'final_ln.weight' must be \[64\], got \[3\]"):
        net.load_state_dict(state)


def test_the_runtime_holds_the_parameters(tmm):
    """Parameters live in the runtime between calls: state_dict returns
    copies, and a failed step changes neither them nor the step count."""
    _, net = tmm
    config = small_config("tmm")
    _, tokens, targets = random_inputs(config, seed=5)
    before = net.init(seed=2).state_dict()
    before["tok_emb.weight"][:] = 7.0
    assert not (net.state_dict()["tok_emb.weight"] == 7.0).any()
    before = net.state_dict()
    with pytest.raises(
        mstream.Error, match=r"input 'tokens' must be int32 \[2, 16\], got int32 \[2, 3\]"
    ):
        net.train_step(tokens[:, :3], targets[:, :3], lr=1e-3)
    for name, value in net.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)
    assert net.train_step(tokens, targets, lr=1e-3)["step"] == 1
    after = net.state_dict()
    assert not np.array_equal(after["tok_emb.weight"], before["tok_emb.weight"])
    assert net.train_step(tokens, targets, lr=1e-3)["step"] == 2
    assert not np.array_equal(net.state_dict()["tok_emb.weight"], after["tok_emb.weight"])


def test_grads_match_autograd(tmm):
    _, net = tmm
    config = small_config("tmm")
    state, tokens, targets = random_inputs(config, seed=8)
    net.load_state_dict({k: v.numpy() for k, v in state.items()})
    loss, grads = net.grads(tokens, targets)
    expected_loss, expected = reference_grads(config, state, tokens, targets)
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    for name, ref in expected.items():
        np.testing.assert_allclose(
            grads[name], ref, rtol=0, atol=GRAD_RTOL * np.abs(ref).max() + GRAD_ATOL, err_msg=name
        )


def test_train_steps_match_pytorch(tmm):
    _, net = tmm
    config = small_config("tmm")
    net.init(seed=2)
    state = {k: torch.from_numpy(v.astype(np.float64)) for k, v in net.state_dict().items()}
    data = np.random.default_rng(4).integers(0, config["vocab_size"], SEQ * 8 + 1)
    stream = train_reference.batches(data, BATCH, SEQ, seed=6)
    lrs = net.peak_lr()
    reports = []
    for _ in range(3):
        x, y = next(stream)
        reports.append(net.train_step(x, y, lr=lrs))
    history, params, _ = train_reference.train(
        config, state, data, BATCH, SEQ, 6, 3, lambda s: 1.0, lrs, "hybrid"
    )
    assert [r["step"] for r in reports] == [1, 2, 3]
    for report, (loss, norm) in zip(reports, history):
        assert report["loss"] == pytest.approx(loss, rel=1e-5)
        assert report["grad_norm"] == pytest.approx(norm, rel=1e-4)
    got = net.state_dict()
    for name, ref in params.items():
        ref = ref.numpy()
        np.testing.assert_allclose(
            got[name], ref, rtol=0, atol=1e-4 * np.abs(ref).max() + 1e-7, err_msg=name
        )


def test_blas_core_is_the_kernels_openblas_runs():
    # The runtime links the system's OpenBLAS; after its selection, the
    # binding reports the kernels that library now runs.
    openblas = ctypes.CDLL("libopenblas.so.0")
    openblas.openblas_get_corename.restype = ctypes.c_char_p
    core = mstream.blas_core()
    assert core == openblas.openblas_get_corename().decode()
    assert core != "Prescott" or not _has_avx() or "OPENBLAS_CORETYPE" in os.environ


def _has_avx():
    with open("/proc/cpuinfo") as cpuinfo:
        return " avx " in cpuinfo.read()


def test_gemm_counters_count_every_product_of_a_call(tmm):
    _, net = tmm
    c = small_config("tmm")
    d, layers, heads, vocab = c["d_model"], c["n_layers"], c["n_heads"], c["vocab_size"]
    net.init(seed=0)
    tokens = np.random.default_rng(7).integers(0, vocab, (BATCH, SEQ)).astype(np.int32)

    def counted(call):
        before = mstream.gemm_counters()
        call()
        after = mstream.gemm_counters()
        return {k: after[k] - before[k] for k in before}

    forward = counted(lambda: net.logits(tokens))
    rows = BATCH * SEQ
    # Per layer: Q, K and V, the heads' scores and weighted values (the
    # flash kernel's tile products: one 64-tile at this SEQ), the output
    # projection and the MLP's two; then the tied head.
    per_layer = (
        rows * d * 3 * d
        + 2 * BATCH * heads * SEQ * SEQ * (d // heads)
        + rows * d * d
        + 2 * rows * d * 4 * d
    )
    assert forward["multiply_adds"] == layers * per_layer + rows * d * vocab
    assert forward["seconds"] > 0
    steps = [
        counted(lambda: net.train_step(tokens, np.roll(tokens, -1, 1), lr=1e-3)) for _ in range(2)
    ]
    assert steps[0]["calls"] == steps[1]["calls"]
    assert steps[0]["multiply_adds"] == steps[1]["multiply_adds"] > 3 * forward["multiply_adds"]


def test_trainer_runs_the_cli_loop_with_a_callback(tmm, tmp_path):
    _, net = tmm
    make_data(tmp_path / "data", 96)
    seen = []
    reports = mstream.Trainer(
        net, tmp_path / "data", out=tmp_path / "run", steps=6, eval_every=3, val_batches=2, seed=3
    ).run(callback=seen.append)
    assert [r["step"] for r in reports] == list(range(6)) and seen == reports
    assert [r["step"] for r in reports if "val_loss" in r] == [0, 3]
    records = [json.loads(line) for line in open(tmp_path / "run" / "metrics.jsonl")]
    assert [r["loss"] for r in records if "loss" in r] == pytest.approx(
        [r["loss"] for r in reports], rel=1e-7
    )
    saved = mstream.read_safetensors(tmp_path / "run" / "checkpoint.safetensors")
    for name, value in net.state_dict().items():
        np.testing.assert_array_equal(value, saved[name])


def test_unsupported_targets_say_so(tmm):
    model, _ = tmm
    with pytest.raises(mstream.Error, match="unknown target 'tpu'"):
        model.compile(target="tpu")
    with pytest.raises(mstream.Error, match="unsupported GPU architecture 'sm_75'"):
        model.compile(target="cuda", chip="sm_75")
    with pytest.raises(mstream.Error, match="precision must be 'fp32' or 'bf16', got 'fp16'"):
        model.compile(precision="fp16")


def test_bf16_compiles_exports_and_loads(tmm, tmp_path):
    # A bf16 build takes the same f32 parameters (the fp32 build's state
    # dict), computes a loss within bf16's 1e-2 of fp32's but not equal to
    # it (test_precision.py has the bounds), and its artifact says bf16.
    model, fp32 = tmm
    fp32.init(seed=4)
    bf16 = model.compile(batch=BATCH, seq=SEQ, precision="bf16").load_state_dict(fp32.state_dict())
    assert (fp32.precision, bf16.precision) == ("fp32", "bf16")
    assert "call @mstream_gemm_bf16" in model.ir("lowered", batch=BATCH, seq=SEQ, precision="bf16")
    assert mstream.bf16_gemm_kernel() in ("widen", "onednn")
    _, tokens, targets = random_inputs(model.config, seed=6)
    loss = bf16.loss(tokens, targets)
    assert loss == pytest.approx(fp32.loss(tokens, targets), rel=1e-2)
    assert loss != fp32.loss(tokens, targets)
    path = tmp_path / "bf16.mstream"
    bf16.export(path)
    loaded = mstream.load(path).load_state_dict(fp32.state_dict())
    assert loaded.precision == "bf16"
    assert loaded.loss(tokens, targets) == loss


def test_cuda_ir_and_loading(tmm):
    model, _ = tmm
    lowered = model.ir("lowered", batch=2, seq=16, target="cuda")
    assert "gpu.binary @forward_kernel" in lowered
    assert "llvm.call @mstream_cuda_sgemm" in lowered
    if not os.path.exists("/dev/nvidia0"):
        # Compiling works anywhere; loading needs a device.
        with pytest.raises(mstream.Error, match="no CUDA device"):
            model.compile(target="cuda", batch=2, seq=16, train=False)


def test_load_state_dict_refuses_non_finite_parameters(tmm):
    _, net = tmm
    net.init(seed=0)
    state = net.state_dict()
    name = sorted(state)[0]
    for bad, shown in ((np.nan, "nan"), (-np.inf, "-inf")):
        broken = dict(state)
        broken[name] = state[name].copy()
        broken[name].flat[3] = bad
        with pytest.raises(
            mstream.Error, match=f"parameter '{re.escape(name)}' holds {shown} at flat index 3"
        ):
            net.load_state_dict(broken)
    # The model keeps its parameters.
    assert all(np.array_equal(net.state_dict()[k], v) for k, v in state.items())


def test_trainer_refuses_a_nan_learning_rate(tmm, tmp_path):
    _, net = tmm
    make_data(tmp_path / "data", 96)
    with pytest.raises(
        mstream.Error,
        match=r"lr_matrix \(--lr-matrix\) must be a finite learning rate >= 0, got nan",
    ):
        mstream.Trainer(
            net, tmp_path / "data", out=tmp_path / "run", steps=2, lr_matrix=float("nan")
        ).run()
