"""A float64 PyTorch reference of mstream's training step (docs/training.md):
the block sampler, the schedules, global-norm clipping, torch.optim.AdamW and
torch 2.11's Muon algorithm (torch 1.13 has no Muon, so it is written out
here from docs/training.md)."""

import math

import numpy as np
import torch

import reference

MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, state):
        self.state = state & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, bound):
        return self.next() % bound


def epoch_starts(n_tokens, seq, seed, epoch):
    """docs/training.md, Data: blocks at multiples of seq, shuffled per epoch, shifted
    by a random offset after the first."""
    rng = SplitMix64(seed * 0x9E3779B97F4A7C15 + epoch)
    offset = 0 if epoch == 0 else rng.below(seq)
    starts = [offset + i * seq for i in range((n_tokens - 1 - offset) // seq)]
    for i in range(len(starts) - 1, 0, -1):
        j = rng.below(i + 1)
        starts[i], starts[j] = starts[j], starts[i]
    return starts


def batches(tokens, batch, seq, seed):
    epoch, cursor = 0, 0
    starts = epoch_starts(len(tokens), seq, seed, epoch)
    while True:
        x, y = [], []
        for _ in range(batch):
            if cursor == len(starts):
                epoch, cursor = epoch + 1, 0
                starts = epoch_starts(len(tokens), seq, seed, epoch)
            s = starts[cursor]
            cursor += 1
            x.append(tokens[s : s + seq])
            y.append(tokens[s + 1 : s + seq + 1])
        yield np.array(x, dtype=np.int64), np.array(y, dtype=np.int64)


def cosine(s, steps, warmup, min_ratio=0.1):
    if s < warmup:
        return s / warmup
    progress = (s - warmup) / (steps - warmup)
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def wsd(s, steps, warmup, decay_start, min_ratio=0.1):
    if s < warmup:
        return s / warmup
    if s < decay_start:
        return 1.0
    return 1 - (1 - min_ratio) * (s - decay_start) / (steps - decay_start)


def group_of(name, shape):
    """The optimizer groups of docs/training.md, routed by name."""
    if "_raw" in name:
        return "scalar"
    if "ln" in name:
        return "ln"
    if "emb" in name:
        return "embedding"
    return "matrix" if len(shape) == 2 else "ln"


def muon_step(p, g, buf, lr, momentum=0.95, coeffs=(3.4445, -4.7750, 2.0315), eps=1e-7):
    buf.lerp_(g, 1 - momentum)
    x = g.lerp(buf, momentum)
    tall = x.size(0) > x.size(1)
    if tall:
        x = x.T
    x = x / x.norm().clamp(min=eps)
    a, b, c = coeffs
    for _ in range(5):
        gram = x @ x.T
        x = a * x + (b * gram + c * gram @ gram) @ x
    if tall:
        x = x.T
    p.add_(x, alpha=-lr * math.sqrt(max(1, p.size(0) / p.size(1))))


def train(config, state, data, batch, seq, seed, steps, multiplier, lrs, recipe, max_norm=1.0):
    """Runs `steps` optimizer steps from `state` (float64); returns the
    per-step (loss, grad norm), the parameters and the optimizer state."""
    params = {k: v.clone().requires_grad_(True) for k, v in state.items()}
    groups = {k: group_of(k, v.shape) for k, v in params.items()}
    muon = {k for k, g in groups.items() if g == "matrix" and recipe == "hybrid"}
    decay = {
        "embedding": 0.1,
        "matrix": 0.1 if recipe == "adamw" else 0.0,
        "ln": 0.0,
        "scalar": 0.0,
    }
    adam_groups = [
        {
            "params": [params[k] for k in params if groups[k] == g and k not in muon],
            "weight_decay": decay[g],
            "name": g,
        }
        for g in ("embedding", "ln", "scalar", "matrix")
    ]
    adam_groups = [g for g in adam_groups if g["params"]]
    adamw = torch.optim.AdamW(adam_groups, lr=0.0, betas=(0.9, 0.95), eps=1e-8)
    bufs = {k: torch.zeros_like(params[k]) for k in muon}
    history = []
    stream = batches(data, batch, seq, seed)
    for s in range(steps):
        x, y = next(stream)
        for p in params.values():
            p.grad = None
        loss = reference.loss(config, params, torch.from_numpy(x), torch.from_numpy(y))
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(list(params.values()), max_norm)
        mult = multiplier(s)
        for group in adamw.param_groups:
            group["lr"] = lrs[group["name"]] * mult
        adamw.step()
        with torch.no_grad():
            for k in muon:
                muon_step(params[k], params[k].grad, bufs[k], lrs["matrix"] * mult)
        history.append((float(loss), float(norm)))
    optimizer = {}
    for k, p in params.items():
        if k in muon:
            optimizer[f"{k}.momentum_buffer"] = bufs[k]
        else:
            optimizer[f"{k}.exp_avg"] = adamw.state[p]["exp_avg"]
            optimizer[f"{k}.exp_avg_sq"] = adamw.state[p]["exp_avg_sq"]
    return history, {k: v.detach() for k, v in params.items()}, optimizer
