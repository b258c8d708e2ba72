"""mstream: compile, inspect, train and evaluate optimizer-inspired Transformers.

The models are those of "Momentum Streams for Optimizer-Inspired
Transformers" (arXiv 2605.24425): vanilla, hb, yurii, tmm (TMMFormer), adam,
adamw, rmsprop, muon, ortho, shampoo and soap. A model definition is a dict
(or a JSON file) like

    {"variant": "tmm", "vocab_size": 256, "max_seq_len": 128,
     "d_model": 128, "n_layers": 4, "n_heads": 4}

Typical use:

    import mstream
    model = mstream.Model.from_config("examples/configs/tmm-tiny.json")
    print(model.ir("imported")[:2000])           # the mstream dialect
    net = model.compile(batch=8, seq=128)        # a CPU artifact with train_step
    net.init(seed=0)
    loss = net.loss(tokens, targets)             # numpy int arrays [8, 128]
    stats = net.train_step(tokens, targets, lr=1.0)
    weights = net.state_dict()                   # PyTorch state_dict names
    mstream.Trainer(net, data="DATA/", steps=500).run(callback=print)
    net.export("tmm.mstream")                    # the artifact, for mstream.load()

Errors from the compiler and the runtime raise mstream.Error (a ValueError)
with the located message, e.g. "cfg.json:4:14: error: key 'n_heads': ...".
"""

import functools
import json
import os
import threading

import numpy as np

from . import _mstream

__all__ = [
    "Error",
    "Model",
    "CompiledModel",
    "Trainer",
    "bf16_gemm_kernel",
    "blas_core",
    "gemm_counters",
    "load",
    "read_safetensors",
    "write_safetensors",
]

Error = _mstream.Error

# The runtime may switch OpenBLAS to other kernels before its first product
# (blas_core below); doing it at import, rather than inside a first train
# step that releases the GIL, keeps it clear of other threads' numpy calls.
_mstream.blas_core()


def blas_core():
    """The OpenBLAS kernels ("SkylakeX", "Haswell", ...) the CPU runtime's
    matrix products run on. OPENBLAS_CORETYPE chooses them; unset, the
    runtime replaces OpenBLAS's generic fallback for a CPU model it does not
    know by the kernels the CPU's vector extensions allow."""
    return _mstream.blas_core()


def bf16_gemm_kernel():
    """How the CPU runtime runs a bf16 model's products (precision="bf16"):
    "onednn" (oneDNN's bf16 matmul, chosen where the CPU has AMX) or
    "widen" (the bf16 operands widened to f32, exactly, for OpenBLAS: a
    CPU without AMX does bf16 arithmetic no faster than f32).
    MSTREAM_BF16_GEMM=onednn|widen, set before the first product, chooses."""
    return _mstream.bf16_gemm_kernel()


def gemm_counters():
    """Totals over the CPU runtime's matrix products since the process
    started: {"calls", "multiply_adds", "seconds"} (wall time inside them).
    The difference across a call is the part of it spent in GEMMs (the
    flash attention kernels included); products inside a fused region's
    token loop count as the region's, not here."""
    return _mstream.gemm_counters()


def read_safetensors(path):
    """{name: float32 array} from a safetensors file (F32/F64/F16/BF16)."""
    return _mstream.read_safetensors(os.fspath(path))


def write_safetensors(path, tensors):
    """Writes {name: array} as F32 safetensors, atomically."""
    _mstream.write_safetensors(os.fspath(path), tensors)


class Model:
    """A parsed model definition. Build one with Model.from_config."""

    def __init__(self, definition):
        self._definition = definition

    @classmethod
    def from_config(cls, config):
        """Parses a definition: a dict of config keys, or a path to a JSON
        file. Raises mstream.Error naming the key (and, for files, the
        file:line:col) of anything invalid."""
        if isinstance(config, dict):
            return cls(_mstream.Definition.parse(json.dumps(config, indent=1), "<dict>"))
        path = os.fspath(config)
        with open(path) as f:
            return cls(_mstream.Definition.parse(f.read(), path))

    @property
    def config(self):
        """The definition as a dict."""
        return json.loads(self._definition.text)

    def params(self):
        """[(state_dict name, shape, optimizer group)] in state_dict order."""
        return [(n, tuple(s), g) for n, s, g in self._definition.params()]

    @staticmethod
    def phases():
        """The phases ir() can print, in pipeline order."""
        return list(_mstream.Definition.phases())

    def ir(
        self,
        phase="imported",
        batch=1,
        seq=0,
        recipe="hybrid",
        max_norm=1.0,
        target="cpu",
        chip="sm_90",
        fuse=True,
        host_cpu="native",
        precision="fp32",
    ):
        """The module at `phase` as text: "imported" (the mstream dialect:
        forward and loss), "fused" (each substep and per-token matrix
        iteration in an mstream.fused region; fuse=False or target="cuda"
        leave it unfused), "training" (plus loss_and_grads and train_step,
        with the backward regions),
        "lowered" (LLVM dialect after the target's pipeline, with train_step;
        for target="cuda" the kernels are in an embedded cubin) or "llvm"
        (optimised host LLVM IR, for `host_cpu` as compile() takes it).
        seq=0 means max_seq_len; `precision` as compile() takes it."""
        return self._definition.ir(
            phase,
            batch,
            seq,
            False,
            phase != "imported",
            recipe,
            max_norm,
            target,
            chip,
            fuse,
            host_cpu,
            precision,
        )

    def compile(
        self,
        target="cpu",
        batch=1,
        seq=0,
        precision="fp32",
        train=True,
        recipe="hybrid",
        max_norm=1.0,
        chip="sm_90",
        fuse=True,
        host_cpu="native",
    ):
        """Compiles to a CompiledModel for one step shape [batch, seq].
        target="cuda" builds GPU kernels for `chip` (sm_80 or sm_90) and
        needs a CUDA device to load. With train=True the artifact has
        train_step (gradients, clipping at max_norm, the recipe's
        optimizers: "hybrid" or "adamw"). fuse=False compiles the unfused
        graph (the same math, one kernel per op). host_cpu: the instruction
        set of the generated host code; "native" (this CPU's newest: it
        runs here), "portable" (the architecture's baseline, as `mstream
        compile` builds by default), or "avx2" / "avx512" on x86-64; a
        comma-separated list, or "all", builds host code for each and
        loads the newest this CPU runs. precision: "fp32", or "bf16": the
        oracles' products (projections, attention's products, the tied
        head, their gradients) multiply bf16-rounded operands and
        accumulate in f32, while weights, optimizer state, streams,
        LayerNorm, softmax, the loss and the weight update stay f32
        (docs/precision.md); parameters are f32 arrays either way."""
        if precision not in ("fp32", "bf16"):
            raise Error(f"precision must be 'fp32' or 'bf16', got {precision!r}")
        options = dict(
            batch=batch,
            seq=seq,
            recipe=recipe,
            max_norm=max_norm,
            fuse=fuse,
            target=target,
            chip=chip,
            host_cpu=host_cpu,
            precision=precision,
        )
        raw = self._definition.compile(
            batch, seq, False, train, recipe, max_norm, target, chip, fuse, host_cpu, precision
        )
        return CompiledModel(self, raw, "<compiled>", options)


def load(path):
    """The CompiledModel of an artifact file (`mstream compile -o`,
    CompiledModel.export): its model definition, step shape, target and
    optimizer settings come from the file; parameters from init() or
    load_state_dict(). Refuses, with the reason, an artifact this runtime or
    CPU cannot run (another version, target or instruction set)."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        raw = f.read()
    program = _mstream.Program.from_bytes(raw, path)
    config = {
        key: int(value) if value.lstrip("-").isdigit() else value for key, value in program.model
    }
    optimizer = dict(program.optimizer)
    options = dict(
        batch=program.batch,
        seq=program.seq,
        recipe=optimizer.get("recipe", "hybrid"),
        max_norm=float(optimizer.get("max_norm", 1.0)),
        fuse=True,
        target="cuda" if program.chip else "cpu",
        chip=program.chip or "sm_90",
        host_cpu="native",
        precision=program.precision,
    )
    return CompiledModel(Model.from_config(config), raw, path, options, program)


def _locked(method):
    """Runs a CompiledModel method under its lock: the runtime updates the
    parameters in place with the GIL released, so two threads must not use
    them at once."""

    @functools.wraps(method)
    def run(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)

    return run


class CompiledModel:
    """A compiled step shape with its parameters (and optimizer state), held
    by the runtime: a train step updates them in place."""

    def __init__(self, model, raw, name, options, program=None):
        self.model = model
        self._raw = raw
        self._program = program or _mstream.Program.from_bytes(raw, name)
        self._options = options
        self._names = [n for n, _, _ in self._program.params()]
        self._params = None  # _mstream.Tensors
        self._state = None
        self._step = 0
        self._grads = None
        self._lock = threading.RLock()

    @property
    def batch(self):
        return self._program.batch

    @property
    def seq(self):
        return self._program.seq

    @property
    def host_isa(self):
        """The instruction set of the loaded host code: "portable", "avx2"
        or "avx512" (compile()'s host_cpu, "native" resolved; of a list,
        the newest this CPU runs)."""
        return self._program.host_isa

    @property
    def precision(self):
        """ "fp32" or "bf16", as compiled (the artifact's manifest says it)."""
        return self._program.precision

    def last_call(self):
        """What the last train_step (or other entry call) moved between the
        host and the device, and launched: {"entry",
        "input_bytes_to_device", "resident_bytes_to_device",
        "bytes_to_host", "launches", "library_calls", "graph_replay"}
        (docs/cuda-backend.md). Parameters and optimizer state stay on the
        device between steps, so a step after the first moves no resident
        bytes. All zero for a CPU artifact."""
        return self._program.last_call()

    def save(self, path):
        """Writes the parameters to a safetensors file."""
        write_safetensors(os.fspath(path), self.state_dict())

    def export(self, path):
        """Writes the compiled artifact (without parameters) to `path`, as
        `mstream compile -o` would, for mstream.load() or `mstream eval`
        elsewhere; atomically: an interrupted write leaves what was there.
        Host code built for "native" runs only on CPUs like this one;
        compile with host_cpu="all" to export an artifact for any."""
        _mstream.write_file(os.fspath(path), self._raw)

    @_locked
    def init(self, seed=0):
        """The initialisation of docs/models.md (as `mstream init --seed`); resets the
        optimizer state."""
        self._params = self._program.init_params(seed)
        self._reset_optimizer()
        return self

    @_locked
    def load_state_dict(self, state):
        """Loads a dict of arrays (PyTorch names; torch tensors work through
        numpy()) or a safetensors path; every parameter must be present with
        its shape and finite. Resets the optimizer state."""
        if not isinstance(state, dict):
            state = read_safetensors(os.fspath(state))
        state = {
            k[len("_orig_mod.") :] if k.startswith("_orig_mod.") else k: v for k, v in state.items()
        }
        missing = [n for n in self._names if n not in state]
        extra = [n for n in state if n not in self._names]
        if missing or extra:
            raise Error(f"state_dict mismatch: missing {missing}, unexpected {extra}")
        params = []
        for name, shape, _ in self._program.params():
            value = np.asarray(state[name], dtype=np.float32)
            if tuple(value.shape) != tuple(shape):
                raise Error(f"parameter '{name}' must be {list(shape)}, got {list(value.shape)}")
            bad = np.flatnonzero(~np.isfinite(value))
            if bad.size:
                raise Error(
                    f"parameter '{name}' holds {value.flat[bad[0]]} at flat index {bad[0]}: "
                    "parameters must be finite"
                )
            params.append(value)
        self._params = _mstream.Tensors(params, "params")
        self._reset_optimizer()
        return self

    @_locked
    def state_dict(self):
        """{state_dict name: float32 array} (copies)."""
        self._need_params()
        return dict(zip(self._names, self._params.arrays()))

    @_locked
    def logits(self, tokens):
        """Logits [batch, seq, vocab] of int tokens [batch, seq]."""
        self._need_params()
        return self._program.run("forward", [tokens], self._params)[0]

    @_locked
    def loss(self, tokens, targets):
        """Mean next-token cross-entropy (nats) of targets given tokens."""
        self._need_params()
        return float(self._program.run("loss", [tokens, targets], self._params)[0])

    @_locked
    def grads(self, tokens, targets):
        """(loss, {name: d loss / d param}) by reverse-mode autodiff; the
        first call compiles the gradient entry."""
        self._need_params()
        if self._grads is None:
            o = self._options
            raw = self.model._definition.compile(
                o["batch"],
                o["seq"],
                True,
                False,
                o["recipe"],
                o["max_norm"],
                o["target"],
                o["chip"],
                o["fuse"],
                o["host_cpu"],
                o["precision"],
            )
            self._grads = _mstream.Program.from_bytes(raw, "<gradients>")
        out = self._grads.run("loss_and_grads", [tokens, targets], self._params)
        return float(out[0]), dict(zip(self._names, out[1:]))

    @_locked
    def train_step(self, tokens, targets, lr):
        """One optimizer step in place. `lr` is the learning rate of every
        group (a float) or a dict {"matrix", "embedding", "ln", "scalar"}.
        Returns {"loss", "grad_norm", "step"} (loss before the update)."""
        self._need_params()
        if "train_step" not in self._program.entries():
            raise Error("compiled with train=False: there is no train_step")
        if not isinstance(lr, dict):
            lr = {g: lr for g in self.peak_lr()}
        loss, norm = self._program.train_step(
            tokens, targets, lr, self._step + 1, self._state, self._params
        )
        self._step += 1
        return {"loss": loss, "grad_norm": norm, "step": self._step}

    def peak_lr(self):
        """The recipe's peak learning rates per group (docs/training.md)."""
        return _mstream.peak_learning_rates(self._options["recipe"])

    def _reset_optimizer(self):
        self._step = 0
        self._state = self._program.zero_optimizer_state()

    def _need_params(self):
        if self._params is None:
            raise Error("no parameters yet: call init(seed) or load_state_dict(...)")


class Trainer:
    """The CLI's training loop (`mstream train`) on a CompiledModel: data
    directory, sampler, schedule, validation, checkpoints in `out`. It
    starts from the model's current parameters (docs/models.md's init from `seed`
    when it has none) with fresh optimizer state. Keyword
    options are those of `mstream train` (steps, warmup, schedule,
    decay_start, eval_every, val_batches, checkpoint_every, seed, resume,
    stop_at, lr_matrix, lr_embedding, lr_ln, lr_scalar)."""

    def __init__(self, model, data, out="run", steps=1000, **options):
        self.model = model
        self.options = {
            "data": os.fspath(data),
            "out": os.fspath(out),
            "steps": steps,
            "config_text": model.model._definition.text,
            **options,
        }

    def run(self, callback=None):
        """Trains; `callback(report)` gets a dict per step (step, loss,
        lr_multiplier, grad_norm, ms_per_step, tokens_per_second, and
        val_loss on validation steps). Afterwards the model holds the final
        parameters. Returns the list of reports."""
        reports = []

        def on_step(report):
            reports.append(report)
            if callback:
                callback(report)

        options = dict(self.options)
        net = self.model
        with net._lock:
            if net._params is not None and not options.get("resume"):
                options["params"] = net._params
            net._params = _mstream.train(net._program, options, on_step)
            net._reset_optimizer()
        return reports
