#!/usr/bin/env python3
"""Train-step time of mstream's CPU backend in fp32 and bf16 against
PyTorch 2.x eager and torch.compile in fp32 and bf16 autocast.

    /usr/bin/python3 examples/bench/precision/run.py [--variants tmm,vanilla,muon,soap]
        [--repeats R] [--threads N] [--batch B] [--layers L] [--torch-python PY]

One invocation measures everything at d=512, L=8, 8 heads, T=256, batch 4
(--batch and --layers change those), each system in its own process (idle
OpenMP and OpenBLAS threads spin after each call, and those of one system
would take cores from the other):

- mstream: the fused train step (hybrid recipe: Muon on the block
  matrices, AdamW elsewhere, clipping at 1) compiled with
  precision="fp32" and "bf16" for this CPU (host_cpu="native"), both in
  one process, alternating step by step so that both see the same machine;
  bf16/fp32 is the median of the step pairs' ratios. GEMM: the part of a
  step spent in the runtime's matrix products (mstream.gemm_counters), and
  bf16's kernel (mstream.bf16_gemm_kernel: "onednn" on AMX, else "widen").
- PyTorch: the same model, loss and optimizers (test/python/reference.py,
  train_reference.py), eager and torch.compile (the loss and its backward
  compiled; the optimizers eager), fp32 and under
  torch.autocast("cpu", dtype=torch.bfloat16), each in its own process,
  with N intra-op threads. PyTorch comes from PyPI, in the benchmark's own
  virtual environment (setup.sh, beside this file; Debian's 1.13 has no
  torch.compile worth comparing).

Prints a table: median step ms of each, and mstream bf16's speed-up over
mstream fp32 and over torch.compile bf16.
"""

import argparse
import json
import os
import subprocess
import sys
import time


HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from torch_train_step import LR, ROOT, SEQ, SHAPE, inputs, median, time_torch_step  # noqa: E402


def time_mstream(config, tokens, targets, repeats):
    sys.path.insert(0, os.path.join(ROOT, "build", "python"))
    import mstream

    model = mstream.Model.from_config(config)
    runs, compile_s = {}, {}
    for precision in ("fp32", "bf16"):
        start = time.perf_counter()
        runs[precision] = model.compile(batch=len(tokens), seq=SEQ, precision=precision).init(
            seed=0
        )
        compile_s[precision] = time.perf_counter() - start
        runs[precision].train_step(tokens, targets, LR)
    times = {p: [] for p in runs}
    gemm = {p: [] for p in runs}
    for i in range(repeats):
        for precision in ("fp32", "bf16") if i % 2 == 0 else ("bf16", "fp32"):
            before = mstream.gemm_counters()
            start = time.perf_counter()
            runs[precision].train_step(tokens, targets, LR)
            times[precision].append((time.perf_counter() - start) * 1e3)
            after = mstream.gemm_counters()
            gemm[precision].append((after["seconds"] - before["seconds"]) * 1e3)
    ratios = [f / b for f, b in zip(times["fp32"], times["bf16"])]
    return {
        "fp32_ms": median(times["fp32"]),
        "bf16_ms": median(times["bf16"]),
        "speedup": median(ratios),
        "gemm_ms": [median(gemm["fp32"]), median(gemm["bf16"])],
        "compile_s": [compile_s["fp32"], compile_s["bf16"]],
        "bf16_kernel": mstream.bf16_gemm_kernel(),
        "host_isa": runs["fp32"].host_isa,
    }


def time_torch(config, tokens, targets, repeats, threads, mode, precision):
    import torch

    torch.set_num_threads(threads)

    def wrap(loss_of):
        def under_autocast(p):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
                return loss_of(p)

        return torch.compile(under_autocast) if mode == "compile" else under_autocast

    ms, first_s = time_torch_step(config, tokens, targets, repeats, wrap)
    return {"ms": ms, "first_s": first_s, "torch": torch.__version__}


def measure(args):
    config = dict(SHAPE, n_layers=args.layers, variant=args.variant)
    tokens, targets = inputs(args.batch)
    if args.measure == "mstream":
        out = time_mstream(config, tokens, targets, args.repeats)
    else:
        mode, precision = args.measure.split("-")[1:]
        out = time_torch(config, tokens, targets, args.repeats, args.threads, mode, precision)
    print(json.dumps(out))


def measured(args, python, variant, what):
    """One measurement in a fresh process; None (with the reason on stderr)
    when it fails, so that one failing system does not lose the others."""
    result = subprocess.run(
        [python, __file__, "--measure", what, "--variant", variant]
        + ["--threads", str(args.threads), "--repeats", str(args.repeats)]
        + ["--layers", str(args.layers), "--batch", str(args.batch)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        print(f"{variant} {what} failed:\n{result.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--variants", default="tmm,vanilla,muon,soap")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--layers", type=int, default=SHAPE["n_layers"])
    parser.add_argument(
        "--torch-python",
        help="the python with PyTorch 2.x (default: setup.sh's virtual environment, "
        "created on first use)",
    )
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        return measure(args)
    if os.environ.get("OPENBLAS_NUM_THREADS") != str(args.threads):
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads))
        os.execve(sys.executable, [sys.executable] + sys.argv, env)
    torch_python = (
        args.torch_python
        or subprocess.run(
            [os.path.join(HERE, "setup.sh")], check=True, capture_output=True, text=True
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    torch_version = subprocess.run(
        [torch_python, "-c", "import torch; print(torch.__version__)"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    print(
        f"train step, d512 L{args.layers} H8 T{SEQ} batch {args.batch}, {args.threads} threads, "
        f"median of {args.repeats} after one warm-up; each system in its own process; "
        f"mstream fp32 and bf16 alternate in one, bf16 speed-up = median of the pairs' "
        f"ratios; PyTorch {torch_version}"
    )
    torch_runs = [
        "torch-eager-fp32",
        "torch-eager-bf16",
        "torch-compile-fp32",
        "torch-compile-bf16",
    ]
    print(
        f"{'variant':8} {'ms fp32':>8} {'ms bf16':>8} {'bf16 x':>6} "
        + " ".join(f"{r[6:]:>13}" for r in torch_runs)
        + f" {'vs compile bf16':>15} {'GEMM ms fp32/bf16':>17} {'bf16 GEMM':>9} host ISA"
    )
    for variant in args.variants.split(","):
        ours = measured(args, sys.executable, variant, "mstream")
        peers = {r: measured(args, torch_python, variant, r) for r in torch_runs}

        def ms(result, key="ms"):
            return f"{result[key]:.0f}" if result else "failed"

        best = peers["torch-compile-bf16"]
        print(
            f"{variant:8} {ms(ours, 'fp32_ms'):>8} {ms(ours, 'bf16_ms'):>8} "
            f"{ours['speedup'] if ours else float('nan'):6.2f} "
            + " ".join(f"{ms(peers[r]):>13}" for r in torch_runs)
            + f" {best['ms'] / ours['bf16_ms'] if best and ours else float('nan'):15.2f} "
            + (
                f"{ours['gemm_ms'][0]:8.0f}/{ours['gemm_ms'][1]:<8.0f} {ours['bf16_kernel']:>9} "
                f"{ours['host_isa']}"
                if ours
                else ""
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
