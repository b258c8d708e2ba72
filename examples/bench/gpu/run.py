#!/usr/bin/env python3
"""Train-step throughput on one GPU: mstream's CUDA backend against PyTorch
eager and torch.compile, in one run.

    # where the compiler is: compile the train steps (and their kernel
    # reports, ARTIFACT.report.json)
    python3 examples/bench/gpu/run.py --prebuild DIR [--size paper]
    # on the GPU machine (the runtime alone is enough)
    python3 examples/bench/gpu/run.py --artifacts DIR --mstream BIN [--steps 8]

The model is the paper's (docs/models.md: 12 layers, d=768, 12 heads, T=1024,
batch 8) or --size small. Every side runs the same step: forward, loss,
backward, global-norm clipping at 1.0 and the hybrid recipe (Muon on the
block matrices, AdamW elsewhere; torch.optim.Muon and torch.optim.AdamW on
the PyTorch side). PyTorch runs the test tree's reference model
(test/python/reference.py) in float32 and under bf16 autocast; mstream
runs `mstream train` on the compiled artifacts: --precision=bf16 and fp32
fused (token kernels), and fp32 --fuse=false. Its per-step times come from
metrics.jsonl: the whole step as the trainer sees it, with the token batch
going to the device and the loss coming back (parameters and optimizer
state stay there). Medians after warm-up. --mstream-modes and
--torch-variants trim the run (scripts/gpu-check.sh runs every variant in
bf16 and PyTorch on tmm alone, to fit its time). Also prints the
device-to-device copy bandwidth (bytes read + written).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "test", "python"))

VARIANTS = ["vanilla", "tmm", "muon", "soap"]
SIZES = {
    "paper": (
        dict(vocab_size=50304, max_seq_len=1024, d_model=768, n_layers=12, n_heads=12),
        8,
        1024,
    ),
    "small": (dict(vocab_size=8192, max_seq_len=256, d_model=512, n_layers=8, n_heads=8), 8, 256),
}


def median(values):
    return sorted(values)[len(values) // 2]


# (column, precision, fused)
MSTREAM_MODES = {
    "bf16": ("mstream bf16", "bf16", True),
    "fp32": ("mstream fp32", "fp32", True),
    "unfused": ("mstream fp32 unfused", "fp32", False),
}


def artifact_name(variant, size, precision, fused):
    return f"{variant}-{size}-cuda-train-{precision}{'' if fused else '-unfused'}.mstream"


def prebuild(args):
    config, batch, seq = SIZES[args.size]
    os.makedirs(args.prebuild, exist_ok=True)
    for variant in args.variants:
        path = os.path.join(args.prebuild, f"{variant}-{args.size}.json")
        with open(path, "w") as f:
            json.dump(dict(config, variant=variant), f)
        for mode in args.mstream_modes:
            _, precision, fused = MSTREAM_MODES[mode]
            out = os.path.join(args.prebuild, artifact_name(variant, args.size, precision, fused))
            command = [args.mstream, "compile", path, "--target=cuda", "--train"]
            command += ["--batch", str(batch), "--seq", str(seq), f"--precision={precision}"]
            command += [f"--fuse={'true' if fused else 'false'}", "--print-kernel-report=json"]
            with open(out + ".report.json", "w") as report:
                subprocess.run(command + ["-o", out], check=True, stdout=report)
            print(out, flush=True)


def copy_bandwidth(torch):
    x = torch.empty(1 << 28, device="cuda")
    y = torch.empty_like(x)
    times = []
    for _ in range(10):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        y.copy_(x)
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return 2 * x.numel() * 4 / (median(times[2:]) * 1e-3) / 1e9


def time_torch(torch, config, batch, seq, steps, compiled, bf16):
    import reference

    state = {
        k: v.to("cuda").requires_grad_()
        for k, v in reference.random_state_dict(config, 0, dtype=torch.float32).items()
    }
    return time_torch_step(torch, reference, state, config, batch, seq, steps, compiled, bf16)


def time_torch_step(torch, reference, state, config, batch, seq, steps, compiled, bf16):
    matrices = [p for k, p in state.items() if k.startswith("layers.") and p.ndim == 2]
    others = [p for k, p in state.items() if not (k.startswith("layers.") and p.ndim == 2)]
    muon = torch.optim.Muon(matrices, lr=0.02, momentum=0.95, nesterov=True)
    adamw = torch.optim.AdamW(others, lr=1e-3, betas=(0.9, 0.95), weight_decay=0.0)

    def loss_fn(tokens, targets):
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
            return reference.loss(config, state, tokens, targets)

    fn = torch.compile(loss_fn) if compiled else loss_fn
    tokens = torch.randint(0, config["vocab_size"], (batch, seq), device="cuda")
    times = []
    for step in range(steps + 3):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        loss = fn(tokens, tokens)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(state.values()), 1.0)
        muon.step()
        adamw.step()
        muon.zero_grad(set_to_none=True)
        adamw.zero_grad(set_to_none=True)
        end.record()
        torch.cuda.synchronize()
        if step >= 3:
            times.append(start.elapsed_time(end))
    del state, muon, adamw
    torch.cuda.empty_cache()
    return median(times)


def time_mstream(args, variant, precision, fused, data):
    artifact = os.path.join(args.artifacts, artifact_name(variant, args.size, precision, fused))
    if not os.path.exists(artifact):
        return None, "not built"
    out = tempfile.mkdtemp(prefix=f"mstream-gpu-{variant}-")
    result = subprocess.run(
        [
            args.mstream,
            "train",
            artifact,
            "--data",
            data,
            "--out",
            out,
            "--steps",
            str(args.steps + 2),
            "--eval-every",
            str(args.steps + 2),
            "--val-batches",
            "2",
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        output = (result.stderr + result.stdout).strip().splitlines()
        return None, f"exit {result.returncode}: " + " / ".join(output[-3:])
    records = [json.loads(line) for line in open(os.path.join(out, "metrics.jsonl"))]
    ms = [r["ms"] for r in records if "ms" in r and r["step"] >= 2]
    shutil.rmtree(out, ignore_errors=True)
    return median(ms), ""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="paper")
    parser.add_argument("--variants", nargs="+", default=VARIANTS)
    parser.add_argument("--steps", type=int, default=8, help="timed steps per measurement")
    parser.add_argument("--mstream", default=os.path.join(ROOT, "build", "bin", "mstream"))
    parser.add_argument("--prebuild", help="compile the artifacts into this directory and exit")
    parser.add_argument("--artifacts", help="directory of prebuilt artifacts")
    parser.add_argument("--skip-torch-compile", action="store_true")
    parser.add_argument(
        "--mstream-modes", nargs="+", choices=sorted(MSTREAM_MODES), default=list(MSTREAM_MODES)
    )
    parser.add_argument(
        "--torch-variants", nargs="*", help="variants PyTorch runs (default: --variants)"
    )
    args = parser.parse_args()
    if args.prebuild:
        return prebuild(args)

    import numpy as np
    import torch

    if not torch.cuda.is_available():
        print("skipped: no GPU")
        return
    config, batch, seq = SIZES[args.size]
    data = tempfile.mkdtemp(prefix="mstream-gpu-data-")
    rng = np.random.default_rng(0)
    rng.integers(0, config["vocab_size"], 4 * batch * seq + 1).astype(np.uint16).tofile(
        os.path.join(data, "train.bin")
    )
    rng.integers(0, config["vocab_size"], batch * seq + 1).astype(np.uint16).tofile(
        os.path.join(data, "val.bin")
    )

    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    print(f"copy bandwidth (read + write): {copy_bandwidth(torch):.0f} GB/s")
    print(f"size {args.size}: {config}, batch {batch}, seq {seq}; medians of {args.steps} steps")
    modes = [("eager fp32", False, False), ("eager bf16", False, True)]
    if not args.skip_torch_compile:
        modes += [("compile fp32", True, False), ("compile bf16", True, True)]
    rows = []
    for variant in args.variants:
        cfg = dict(config, variant=variant)
        row = {"variant": variant}
        for mode in args.mstream_modes:
            name, precision, fused = MSTREAM_MODES[mode]
            row[name], error = time_mstream(args, variant, precision, fused, data)
            print(f"{name} {variant}: {row[name]} ms {error}", flush=True)
        torch_variants = args.variants if args.torch_variants is None else args.torch_variants
        for name, compiled, bf16 in modes:
            if variant not in torch_variants:
                row[name] = None
                continue
            row[name] = time_torch(torch, cfg, batch, seq, args.steps, compiled, bf16)
            print(f"{name} {variant}: {row[name]:.1f} ms", flush=True)
        rows.append(row)
        print(json.dumps(row), flush=True)

    tokens = batch * seq
    columns = [MSTREAM_MODES[m][0] for m in args.mstream_modes] + [m[0] for m in modes]
    print("\ntrain step, ms (tokens/s)")
    print("| variant | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for row in rows:
        cells = []
        for column in columns:
            ms = row[column]
            cells.append("-" if ms is None else f"{ms:.1f} ({tokens / ms * 1e3:,.0f})")
        print(f"| {row['variant']} | " + " | ".join(cells) + " |")
    for row in rows:
        if row.get("mstream bf16") and row.get("compile bf16"):
            print(
                f"{row['variant']}: mstream bf16 runs "
                f"{row['compile bf16'] / row['mstream bf16']:.2f}x torch.compile bf16's tokens/s"
            )
    base = {r["variant"]: r for r in rows}.get("vanilla")
    if base:
        print("\nstep cost relative to vanilla")
        for row in rows:
            print(
                f"  {row['variant']}: "
                + ", ".join(
                    f"{c} {row[c] / base[c]:.2f}x"
                    for c in columns
                    if row[c] is not None and base[c] is not None
                )
            )


if __name__ == "__main__":
    main()
