#!/usr/bin/env python3
"""Train-step time of mstream's CPU backend, fused against unfused, against
PyTorch eager, with the bytes the fused kernels move.

    /usr/bin/python3 examples/bench/fusion/run.py [--variants tmm,adam,muon,soap]
        [--repeats R] [--threads N] [--batch B] [--layers L]

One invocation measures everything: for each variant, mstream's train step
compiled with fusion (the default) and with --fuse=false, and PyTorch eager
running the test tree's reference model and training step
(test/python/train_reference.py: clipping, AdamW, Muon) in float32, all at
d=512, L=8, 8 heads, T=256, batch 1 (--batch and --layers change those),
the same thread count for OpenBLAS and torch. Bytes: the fusion report's
per-token totals for train_step (what the fused kernels read and write,
and what their ops would move as separate kernels) times the tokens of a
step. GEMM: the part of a step spent in the
runtime's matrix products (mstream.gemm_counters: the weight optimizer's
Newton-Schulz, the projections and their gradients), the same work in both
builds except per-token products (a fused region runs its own inside it,
counted in its rest), with its multiply-adds (a self-product run as ssyrk
counts twice what it does) and the fused build's rate; rest: the step's
other time (token regions and loops), which is what fusion changes, and
its unfused / fused ratio. Bound: the largest unfused / fused ratio
the step allows, the unfused step's time over that of all its products
(the shared GEMMs and the per-token ones) at the better build's GEMM rate:
what fusion would reach if everything but the products took no time.
Prints a table.

OpenBLAS reads its thread count when it loads, so the script re-runs itself
with OPENBLAS_NUM_THREADS set. mstream and PyTorch each run in their own
process: idle OpenBLAS and OpenMP threads spin after each call, and those
of one system would take cores from the other. The fused and unfused
builds share one process and alternate step by step, so that both see the
same machine (on a shared machine, step times drift by 20% from minute to
minute); their ratio is the median of the step pairs' ratios. PyTorch is
timed with its own (OpenMP) intra-op pool at 1 thread and at N, and the
faster is reported: its GEMMs run on OpenBLAS's N threads either way, and a
second pool of N spinning threads on the same cores can slow it down 3x.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from torch_train_step import LR, ROOT, SEQ, SHAPE, inputs, median, time_torch_step  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "build", "python"))
import mstream  # noqa: E402


def time_mstream(model, tokens, targets, repeats):
    """Fused and unfused train steps alternating in one process (which
    goes first swaps from pair to pair), so that both see the same machine:
    the ratio is the median of the pairs' ratios."""
    runs, compile_s = {}, {}
    for fuse in (True, False):
        start = time.perf_counter()
        runs[fuse] = model.compile(batch=len(tokens), seq=SEQ, fuse=fuse).init(seed=0)
        compile_s[fuse] = time.perf_counter() - start
    for run in runs.values():
        run.train_step(tokens, targets, LR)
    times = {True: [], False: []}
    rest = {True: [], False: []}  # a step's time outside its GEMMs
    gemm = {True: [], False: []}
    for i in range(repeats):
        for fuse in (True, False) if i % 2 == 0 else (False, True):
            counters = mstream.gemm_counters()
            start = time.perf_counter()
            runs[fuse].train_step(tokens, targets, LR)
            ms = (time.perf_counter() - start) * 1e3
            after = mstream.gemm_counters()
            gemm_ms = (after["seconds"] - counters["seconds"]) * 1e3
            times[fuse].append(ms)
            rest[fuse].append(ms - gemm_ms)
            gemm[fuse].append((gemm_ms, after["multiply_adds"] - counters["multiply_adds"]))
    ratios = [u / f for f, u in zip(times[True], times[False])]
    rest_ratios = [u / f for f, u in zip(rest[True], rest[False])]
    gemm_median = {fuse: median([ms for ms, _ in gemm[fuse]]) for fuse in gemm}
    macs = {fuse: gemm[fuse][0][1] for fuse in gemm}
    # The fastest any build could be: all of the unfused build's products
    # (which include the per-token ones a fused region runs inside it) at
    # the better of the two builds' GEMM rates, and nothing else.
    best_rate = max(macs[fuse] / gemm_median[fuse] for fuse in gemm)
    bound = median(times[False]) / (macs[False] / best_rate)
    return {
        "fused_ms": median(times[True]),
        "unfused_ms": median(times[False]),
        "ratio": median(ratios),
        "compile_s": [compile_s[True], compile_s[False]],
        "gemm_ms": [gemm_median[True], gemm_median[False]],
        "gemm_gmac": [macs[True] / 1e9, macs[False] / 1e9],
        "gemm_gflops": 2 * macs[True] / gemm_median[True] / 1e6,
        "rest_ms": [median(rest[True]), median(rest[False])],
        "rest_ratio": median(rest_ratios),
        "bound": bound,
        "host_isa": runs[True].host_isa,
    }


def time_torch(config, tokens, targets, repeats, threads):
    """(ms, intra-op threads) of the faster of PyTorch's thread settings."""
    best = None
    for intra in sorted({1, threads}):
        torch.set_num_threads(intra)
        ms, _ = time_torch_step(config, tokens, targets, repeats)
        if best is None or ms < best[0]:
            best = (ms, intra)
    return best


def fused_bytes(bindir, config_path, batch):
    """(fused, separate-op) bytes per token of train_step's fused kernels."""
    out = subprocess.run(
        [
            os.path.join(bindir, "mstream"),
            "compile",
            config_path,
            "--compile-to=training",
            "--train",
            "--batch",
            str(batch),
            "--seq",
            str(SEQ),
            "--print-fusion-report",
            "-o",
            os.devnull,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stderr
    section = out[out.index("@train_step") :]
    match = re.search(r"total: (\d+) bytes per token fused, (\d+) as separate ops", section)
    return int(match.group(1)), int(match.group(2))


def measure(args, tokens, targets):
    """One measurement, in this process: prints its JSON line."""
    config = dict(SHAPE, n_layers=args.layers, variant=args.variant)
    if args.measure == "torch":
        ms, threads = time_torch(config, tokens, targets, args.repeats, args.threads)
        print(json.dumps({"ms": ms, "torch_threads": threads}))
    else:
        model = mstream.Model.from_config(config)
        print(json.dumps(time_mstream(model, tokens, targets, args.repeats)))


def measured(args, variant, what):
    """Runs one measurement in a fresh process, so that neither system's
    idle threads (OpenBLAS's and PyTorch's spin after each call) take cores
    from the other."""
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--measure",
            what,
            "--variant",
            variant,
            "--threads",
            str(args.threads),
            "--repeats",
            str(args.repeats),
            "--layers",
            str(args.layers),
            "--batch",
            str(args.batch),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bindir", default=os.path.join(ROOT, "build", "bin"))
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--variants", default="tmm,adam,muon,soap")
    parser.add_argument(
        "--batch", type=int, default=1, help="sequences per step (more tokens than fit in L2)"
    )
    parser.add_argument("--layers", type=int, default=SHAPE["n_layers"], help="n_layers")
    parser.add_argument("--measure", choices=["mstream", "torch"], help=argparse.SUPPRESS)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if os.environ.get("OPENBLAS_NUM_THREADS") != str(args.threads):
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads))
        os.execve(sys.executable, [sys.executable] + sys.argv, env)
    tokens, targets = inputs(args.batch)
    if args.measure:
        return measure(args, tokens, targets)
    shape = dict(SHAPE, n_layers=args.layers)
    # PyTorch's products run on the same OpenBLAS (Debian's python3-torch
    # links it): both systems get the kernels mstream's runtime picks.
    os.environ.setdefault("OPENBLAS_CORETYPE", mstream.blas_core())
    print(
        f"OpenBLAS kernels: {os.environ['OPENBLAS_CORETYPE']} (mstream and PyTorch); "
        f'mstream\'s host code for this CPU (host_cpu="native")'
    )
    print(
        f"train step, d512 L{args.layers} H8 T{SEQ} batch {args.batch}, {args.threads} threads; "
        f"PyTorch {torch.__version__} eager fp32; median of {args.repeats} after one warm-up; "
        f"mstream and PyTorch each in its own process; fused and unfused alternate in one, "
        f"unfused/fused is the median of their step pairs' ratios"
    )
    print(
        f"{'variant':8} {'fused ms':>9} {'unfused ms':>11} {'torch ms':>9} "
        f"{'unfused/fused':>13} {'torch/fused':>11} {'fused MB':>9} {'unfused MB':>10} "
        f"{'GEMM ms f/u':>13} {'GEMM GMAC f/u':>13} {'GFLOP/s':>7} {'rest ms f/u':>13} "
        f"{'rest u/f':>8} {'bound':>5} {'compile s f/u':>14} {'torch threads':>13} host ISA"
    )
    for variant in args.variants.split(","):
        config = dict(shape, variant=variant)
        config_path = os.path.join(
            os.environ.get("TMPDIR", "/tmp"), f"fusion-bench-{variant}-{args.layers}.json"
        )
        with open(config_path, "w") as f:
            json.dump(config, f)
        ours = measured(args, variant, "mstream")
        peer = measured(args, variant, "torch")
        fused_ms, unfused_ms, torch_ms = ours["fused_ms"], ours["unfused_ms"], peer["ms"]
        per_token, separate = fused_bytes(args.bindir, config_path, args.batch)
        mb = args.batch * SEQ / 2**20
        print(
            f"{variant:8} {fused_ms:9.1f} {unfused_ms:11.1f} {torch_ms:9.1f} "
            f"{ours['ratio']:13.2f} {torch_ms / fused_ms:11.2f} "
            f"{per_token * mb:9.1f} {separate * mb:10.1f} "
            f"{ours['gemm_ms'][0]:6.0f}/{ours['gemm_ms'][1]:<6.0f} "
            f"{ours['gemm_gmac'][0]:6.1f}/{ours['gemm_gmac'][1]:<6.1f} {ours['gemm_gflops']:7.0f} "
            f"{ours['rest_ms'][0]:6.0f}/{ours['rest_ms'][1]:<6.0f} {ours['rest_ratio']:8.2f} "
            f"{ours['bound']:5.2f} "
            f"{ours['compile_s'][0]:7.0f}/{ours['compile_s'][1]:<6.0f} "
            f"{peer['torch_threads']:13d} {ours['host_isa']}",
            flush=True,
        )


if __name__ == "__main__":
    main()
