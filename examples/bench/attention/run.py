#!/usr/bin/env python3
"""Causal attention's core on the CPU, forward and backward: mstream's
flash kernels (the calls a CPU train step makes per layer) against
PyTorch 2.x's fused scaled_dot_product_attention, eager and
torch.compile, fp32 and bf16.

    /usr/bin/python3 examples/bench/attention/run.py [--shapes 4x8x256x64,8x12x1024x64]
        [--repeats R] [--threads N] [--torch-python PY]

A shape is BATCHxHEADSxSEQxHEAD_DIM; the defaults are the CPU benchmarks'
d=512 layer (batch 4, T=256) and the paper's (batch 8, 12 heads, T=1024).
Each system runs in its own process with N threads (OpenBLAS's for
mstream, intra-op for PyTorch):

- mstream: build/bin/mstream-bench-attention (examples/bench/
  attention_timer.cpp) calls mstream_flash_attention and
  mstream_flash_attention_grad on f32 inputs, or bf16 ones (bf16: the
  precision policy's roundings, f32 outputs).
- PyTorch: F.scaled_dot_product_attention(q, k, v, is_causal=True) on
  [B, H, T, Dh] tensors of f32, or bf16 (its bf16 outputs), and the
  backward of its output against a random cotangent; eager and under
  torch.compile. PyTorch comes from the benchmark's virtual environment
  (examples/bench/precision/setup.sh).

Prints a table of the median forward and backward ms of each, and the
ratio of PyTorch's best (eager or compiled) forward+backward to mstream's
in each precision.
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))


def torch_measure(shape, precision, mode, repeats, threads):
    import time

    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    batch, heads, seq, dim = shape
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    gen = torch.Generator().manual_seed(0)
    q, k, v, dout = (torch.randn(batch, heads, seq, dim, generator=gen).to(dtype) for _ in range(4))
    for t in (q, k, v):
        t.requires_grad_(True)

    def attention(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)

    run = torch.compile(attention) if mode == "compile" else attention
    forward_ms, backward_ms = [], []
    for i in range(repeats + 1):
        start = time.perf_counter()
        out = run(q, k, v)
        middle = time.perf_counter()
        out.backward(dout)
        end = time.perf_counter()
        q.grad = k.grad = v.grad = None
        if i:
            forward_ms.append((middle - start) * 1e3)
            backward_ms.append((end - middle) * 1e3)
    forward_ms.sort()
    backward_ms.sort()
    return {
        "forward_ms": forward_ms[len(forward_ms) // 2],
        "backward_ms": backward_ms[len(backward_ms) // 2],
    }


def measured(command, env=None):
    """One measurement's JSON line, or None (the reason on stderr)."""
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        print(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shapes", default="4x8x256x64,8x12x1024x64")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--torch-python")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        shape, precision, mode = args.measure.split(":")
        print(
            json.dumps(
                torch_measure(
                    [int(s) for s in shape.split("x")], precision, mode, args.repeats, args.threads
                )
            )
        )
        return
    torch_python = args.torch_python or (
        subprocess.run(
            [os.path.join(HERE, "..", "precision", "setup.sh")],
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    timer = os.path.join(ROOT, "build", "bin", "mstream-bench-attention")
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads))
    torch_version = subprocess.run(
        [torch_python, "-c", "import torch; print(torch.__version__)"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    print(
        f"causal attention forward / backward ms, {args.threads} threads, median of "
        f"{args.repeats} after one warm-up, each system in its own process; PyTorch "
        f"{torch_version} scaled_dot_product_attention"
    )
    systems = ["mstream", "eager", "compile"]
    print(
        f"{'shape':16} {'prec':4} "
        + " ".join(f"{s:>17}" for s in systems)
        + f" {'best torch / mstream':>20}"
    )
    for shape in args.shapes.split(","):
        for precision in ("fp32", "bf16"):
            results = {
                "mstream": measured(
                    [timer] + shape.split("x") + [precision, str(args.repeats)], env
                )
            }
            for mode in ("eager", "compile"):
                results[mode] = measured(
                    [torch_python, __file__, "--measure", f"{shape}:{precision}:{mode}"]
                    + ["--repeats", str(args.repeats), "--threads", str(args.threads)]
                )

            def cell(r):
                return f"{r['forward_ms']:8.1f}/{r['backward_ms']:<8.1f}" if r else "failed"

            def total(r):
                return r["forward_ms"] + r["backward_ms"]

            peers = [results[m] for m in ("eager", "compile") if results[m]]
            ratio = (
                min(map(total, peers)) / total(results["mstream"])
                if peers and results["mstream"]
                else float("nan")
            )
            print(
                f"{shape:16} {precision:4} "
                + " ".join(f"{cell(results[s]):>17}" for s in systems)
                + f" {ratio:20.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
