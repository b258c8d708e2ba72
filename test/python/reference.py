"""PyTorch reference of the eleven variants, written from docs/models.md.

Plain functions over a state_dict (PyTorch names, docs/models.md), so any dtype
works; tests run it in float64. Attention is written out (PyTorch 1.13 has
no scaled_dot_product_attention here).
"""

import math

import torch
import torch.nn.functional as F

VARIANTS = [
    "vanilla",
    "hb",
    "yurii",
    "tmm",
    "adam",
    "adamw",
    "rmsprop",
    "muon",
    "ortho",
    "shampoo",
    "soap",
]

# Raw scalars per substep, in state_dict order, with their init.
SCALARS = {
    "vanilla": [],
    "hb": [("beta", 0.0), ("gamma", 0.0)],
    "yurii": [("mu", 0.0), ("beta", 0.0), ("gamma", 0.0)],
    "tmm": [("mu", 0.0), ("beta", 0.0), ("gamma", 0.0), ("nu", 0.5413248)],
    "adam": [("beta1", 0.0), ("beta2", 0.0), ("gamma", 0.0)],
    "adamw": [("beta1", 0.0), ("beta2", 0.0), ("gamma", 0.0), ("lambda", -5.0)],
    "rmsprop": [("beta2", 0.0), ("gamma", 0.0)],
    "muon": [("beta", 0.0), ("gamma", 0.0)],
    "ortho": [("gamma", 0.0)],
    "shampoo": [("betaR", 0.0), ("gamma", 0.0)],
    "soap": [("beta1", 0.0), ("betaR", 0.0), ("gamma", 0.0)],
}
AUX_EMBEDDING = {
    "hb": "vel_",
    "yurii": "vel_",
    "tmm": "vel_",
    "adam": "m_",
    "adamw": "m_",
    "muon": "m_",
    "soap": "m_",
}
EXTRA_LN = {"hb": "ln_v", "yurii": "ln_v", "tmm": "ln_v"}


def extra_ln(variant):
    if variant == "vanilla":
        return None
    return EXTRA_LN.get(variant, "ln_update")


def has_aux_embedding(config):
    variant = config["variant"]
    if variant == "tmm" and config.get("vel_init", "embed") == "zero":
        return False
    return variant in AUX_EMBEDDING


def param_shapes(config):
    """(name, shape) in state_dict order."""
    V, P = config["vocab_size"], config["max_seq_len"]
    d, L = config["d_model"], config["n_layers"]
    variant = config["variant"]
    shapes = [("tok_emb.weight", (V, d)), ("pos_emb.weight", (P, d))]
    if has_aux_embedding(config):
        prefix = AUX_EMBEDDING[variant]
        shapes += [(prefix + "tok_emb.weight", (V, d)), (prefix + "pos_emb.weight", (P, d))]
    for i in range(L):
        p = f"layers.{i}."
        for sub in ("attn", "mlp"):
            for name, _ in SCALARS[variant]:
                shapes.append((f"{p}{name}_{sub}_raw", () if name == "lambda" else (1,)))
        shapes += [
            (p + "ln_attn.weight", (d,)),
            (p + "attn.qkv_proj.weight", (3 * d, d)),
            (p + "attn.out_proj.weight", (d, d)),
            (p + "ln_mlp.weight", (d,)),
            (p + "mlp.w1.weight", (4 * d, d)),
            (p + "mlp.w2.weight", (d, 4 * d)),
        ]
        if extra_ln(variant):
            shapes += [(f"{p}{extra_ln(variant)}_{sub}.weight", (d,)) for sub in ("attn", "mlp")]
    shapes.append(("final_ln.weight", (d,)))
    return shapes


def random_state_dict(config, seed, dtype=torch.float64, perturb=True):
    """Random weights. With `perturb`, LN gains and raw scalars are moved off
    their init values so that every parameter matters to the loss."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for name, shape in param_shapes(config):
        if name.endswith("_raw"):
            base = dict(SCALARS[config["variant"]])[name.split(".")[-1].rsplit("_", 2)[0]]
            noise = 0.3 * torch.randn(shape, generator=g, dtype=dtype) if perturb else 0
            state[name] = torch.full(shape, base, dtype=dtype) + noise
        elif len(shape) == 1:
            noise = 0.1 * torch.randn(shape, generator=g, dtype=dtype) if perturb else 0
            state[name] = torch.ones(shape, dtype=dtype) + noise
        else:
            state[name] = 0.02 * torch.randn(shape, generator=g, dtype=dtype)
    return state


def layer_norm(x, w):
    return F.layer_norm(x, (x.shape[-1],), w, None, 1e-5)


def to_bf16(t):
    """`t` rounded to the nearest bf16 (ties to even), in t's dtype."""
    return t.to(torch.float32).to(torch.bfloat16).to(t.dtype)


class Bf16Product(torch.autograd.Function):
    """a @ b with both operands rounded to bf16, and a backward that rounds
    the incoming gradient and takes its two products from the rounded
    operands, as mstream's bf16 policy does for each product's gradients."""

    @staticmethod
    def forward(ctx, a, b):
        a, b = to_bf16(a), to_bf16(b)
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        grad = to_bf16(grad)
        grad_a = grad @ b.transpose(-2, -1)
        if b.dim() == 2 and a.dim() > 2:  # a weight shared by the batch
            grad_b = a.reshape(-1, a.shape[-1]).T @ grad.reshape(-1, grad.shape[-1])
        else:
            grad_b = a.transpose(-2, -1) @ grad
        return grad_a, grad_b


def product(a, b, precision="fp32"):
    """An oracle's product (projections, attention's two products, the
    tied head) under mstream's precision policy: "bf16" multiplies
    bf16-rounded operands (Bf16Product), in a's dtype."""
    return Bf16Product.apply(a, b) if precision == "bf16" else a @ b


def attention(x, wqkv, wo, heads, precision="fp32"):
    B, T, d = x.shape
    dh = d // heads
    q, k, v = product(x, wqkv.T, precision).split(d, dim=-1)
    q, k, v = (t.view(B, T, heads, dh).transpose(1, 2) for t in (q, k, v))
    scores = product(q, k.transpose(-2, -1), precision) / math.sqrt(dh)
    mask = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
    scores = scores.masked_fill(~mask, float("-inf"))
    out = product(scores.softmax(dim=-1), v, precision)
    return product(out.transpose(1, 2).reshape(B, T, d), wo.T, precision)


def mlp(x, w1, w2, precision="fp32"):
    return product(F.gelu(product(x, w1.T, precision)), w2.T, precision)


def newton_schulz(z, steps=5, eps=1e-12):
    a, b, c = 3.4445, -4.7750, 2.0315
    y = z / z.norm(dim=(-2, -1), keepdim=True).clamp(min=eps)
    for _ in range(steps):
        gram = y.transpose(-2, -1) @ y
        y = y @ (
            a * torch.eye(y.shape[-1], dtype=y.dtype, device=y.device) + b * gram + c * gram @ gram
        )
    return y


def inv_sqrt(r, steps=10, eps=1e-6):
    eye = torch.eye(r.shape[-1], dtype=r.dtype, device=r.device)
    ridged = r + eps * eye
    norm = ridged.norm(dim=(-2, -1), keepdim=True).clamp(min=eps)
    n = ridged / norm
    x = eye.expand_as(n).clone()
    for _ in range(steps):
        x = 0.5 * x @ (3.0 * eye - x @ n @ x)
    return x / norm.sqrt()


def forward(config, state, tokens, precision="fp32"):
    """Logits [B, T, V] for int64 tokens [B, T]; `precision` "bf16" rounds
    the oracles' product operands to bf16 (mstream's bf16 policy)."""
    variant, H = config["variant"], config["n_heads"]
    L = config["n_layers"]
    B, T = tokens.shape
    d = config["d_model"]
    dh = d // H
    dtype = state["tok_emb.weight"].dtype
    pos = torch.arange(T, device=tokens.device)

    def embed(prefix):
        return state[prefix + "tok_emb.weight"][tokens] + state[prefix + "pos_emb.weight"][pos]

    sig, soft = torch.sigmoid, F.softplus
    x = embed("")
    v = m = s = r = None
    if variant in ("hb", "yurii", "tmm"):
        v = embed("vel_") if has_aux_embedding(config) else torch.zeros_like(x)
    if variant in ("adam", "adamw", "muon", "soap"):
        m = embed("m_")
    if variant in ("adam", "adamw", "rmsprop"):
        s = torch.ones_like(x)
    if variant in ("shampoo", "soap"):
        r = torch.eye(dh, dtype=dtype, device=x.device).expand(B, T, dh, dh).clone()

    for i in range(L):
        p = f"layers.{i}."
        for sub in ("attn", "mlp"):

            def c(name):
                return state[f"{p}{name}_{sub}_raw"]

            def oracle(point):
                h = layer_norm(point, state[f"{p}ln_{sub}.weight"])
                if sub == "attn":
                    return attention(
                        h,
                        state[p + "attn.qkv_proj.weight"],
                        state[p + "attn.out_proj.weight"],
                        H,
                        precision,
                    )
                return mlp(h, state[p + "mlp.w1.weight"], state[p + "mlp.w2.weight"], precision)

            ln_extra = state.get(f"{p}{extra_ln(variant)}_{sub}.weight")
            if variant == "vanilla":
                x = x + oracle(x)
            elif variant in ("hb", "yurii", "tmm"):
                point = x + sig(c("mu")) * v if variant != "hb" else x
                g = oracle(point)
                v = layer_norm(sig(c("beta")) * v + soft(c("gamma")) * g, ln_extra)
                x = x + (soft(c("nu")) if variant == "tmm" else 1.0) * v
            elif variant in ("adam", "adamw"):
                g = oracle(x)
                b1, b2 = sig(c("beta1")), sig(c("beta2"))
                m = b1 * m + (1 - b1) * g
                s = b2 * s + (1 - b2) * g * g
                keep = 1 - sig(c("lambda")) if variant == "adamw" else 1.0
                x = keep * x + soft(c("gamma")) * layer_norm(m / (s.sqrt() + 1e-8), ln_extra)
            elif variant == "rmsprop":
                g = oracle(x)
                b2 = sig(c("beta2"))
                s = b2 * s + (1 - b2) * g * g
                x = x + soft(c("gamma")) * layer_norm(g / (s.sqrt() + 1e-8), ln_extra)
            elif variant in ("muon", "ortho"):
                g = oracle(x)
                if variant == "muon":
                    b = sig(c("beta"))
                    m = b * m + (1 - b) * g
                    g = m
                u = newton_schulz(g.view(B, T, H, dh), config.get("ns_iters", 5)).reshape(B, T, d)
                x = x + soft(c("gamma")) * layer_norm(u, ln_extra)
            else:  # shampoo, soap
                g = oracle(x)
                G = g.view(B, T, H, dh)
                br = sig(c("betaR"))
                r = br * r + (1 - br) * (G.transpose(-2, -1) @ G)
                lhs = G
                if variant == "soap":
                    b1 = sig(c("beta1"))
                    m = b1 * m + (1 - b1) * g
                    lhs = m.view(B, T, H, dh)
                u = (lhs @ inv_sqrt(r)).reshape(B, T, d)
                x = x + soft(c("gamma")) * layer_norm(u, ln_extra)
    return product(layer_norm(x, state["final_ln.weight"]), state["tok_emb.weight"].T, precision)


def loss(config, state, tokens, targets, precision="fp32"):
    logits = forward(config, state, tokens, precision)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
