"""What the CPU train-step benchmarks (fusion/, precision/) share: the
benchmark shape, the median, the inputs, and PyTorch's train step of the
test tree's reference model (test/python/reference.py, train_reference.py:
clipping at 1, AdamW, Muon on the block matrices), timed."""

import os
import sys
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "test", "python"))

SHAPE = dict(vocab_size=8192, max_seq_len=256, d_model=512, n_layers=8, n_heads=8)
SEQ = 256
LR = 1e-3


def median(values):
    return sorted(values)[len(values) // 2]


def inputs(batch):
    """Random int32 tokens [batch, SEQ] and their next-token targets."""
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, SHAPE["vocab_size"], (batch, SEQ)).astype(np.int32)
    return tokens, np.roll(tokens, -1, axis=1)


def time_torch_step(config, tokens, targets, repeats, wrap_loss=None):
    """(median ms of `repeats` steps, seconds of the first step). `wrap_loss`
    turns the loss function of the parameters into the one to run
    (autocast, torch.compile); its backward and the optimizers run eager."""
    import torch

    import reference
    import train_reference

    # mstream's entry points flush subnormals (docs/cpu-backend.md); PyTorch
    # runs in the same mode.
    torch.set_flush_denormal(True)
    state = reference.random_state_dict(config, 0, dtype=torch.float32)
    params = {k: v.clone().requires_grad_(True) for k, v in state.items()}
    groups = {k: train_reference.group_of(k, v.shape) for k, v in params.items()}
    muon = [k for k, g in groups.items() if g == "matrix"]
    adamw = torch.optim.AdamW(
        [params[k] for k in params if k not in muon], lr=LR, betas=(0.9, 0.95), eps=1e-8
    )
    bufs = {k: torch.zeros_like(params[k]) for k in muon}
    x = torch.from_numpy(tokens.astype(np.int64))
    y = torch.from_numpy(targets.astype(np.int64))

    def loss_of(p):
        return reference.loss(config, p, x, y)

    loss_fn = wrap_loss(loss_of) if wrap_loss else loss_of

    def step():
        for p in params.values():
            p.grad = None
        loss = loss_fn(params)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(params.values()), 1.0)
        adamw.step()
        with torch.no_grad():
            for k in muon:
                train_reference.muon_step(params[k], params[k].grad, bufs[k], LR)

    start = time.perf_counter()
    step()
    first_s = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1e3)
    return median(times), first_s
