#!/usr/bin/env python3
"""Forward + loss time of mstream's CPU backend against PyTorch eager.

    /usr/bin/python3 examples/bench/forward_cpu/run.py [--threads N] [--repeats R]

Both sides run in this one invocation with the same thread count
(OPENBLAS_NUM_THREADS for mstream's BLAS calls, torch.set_num_threads for
PyTorch), on the same random tokens shape. PyTorch runs the test tree's
reference model (test/python/reference.py) in float32 under no_grad;
mstream runs the `loss` entry point of an artifact compiled for the shape,
timed in-process by mstream-bench-entry. Prints a table; the ratio is
PyTorch time / mstream time (above 1: mstream is faster).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "test", "python"))
import reference  # noqa: E402

VARIANTS = ["vanilla", "tmm", "adam", "muon", "shampoo"]
SIZES = {
    # The tiny config of docs/models.md, batch 8.
    "tiny": (dict(vocab_size=256, max_seq_len=128, d_model=128, n_layers=4, n_heads=4), 8, 128),
    # d=512, L=8, T=256 (Dh = 64 as in the paper), batch 1.
    "d512": (dict(vocab_size=8192, max_seq_len=256, d_model=512, n_layers=8, n_heads=8), 1, 256),
}


def median(values):
    return sorted(values)[len(values) // 2]


def time_torch(config, batch, seq, repeats):
    state = {
        k: v.float() for k, v in reference.random_state_dict(config, 0, dtype=torch.float32).items()
    }
    tokens = torch.randint(0, config["vocab_size"], (batch, seq))
    with torch.no_grad():
        reference.loss(config, state, tokens, tokens)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            reference.loss(config, state, tokens, tokens)
            times.append((time.perf_counter() - start) * 1e3)
    return median(times)


def time_mstream(bindir, config, batch, seq, repeats, threads, workdir):
    name = f"{config['variant']}-{config['d_model']}"
    config_path = os.path.join(workdir, name + ".json")
    with open(config_path, "w") as f:
        json.dump(config, f)
    artifact = os.path.join(workdir, name + ".mstream")
    weights = os.path.join(workdir, name + ".safetensors")
    start = time.perf_counter()
    subprocess.run(
        [
            os.path.join(bindir, "mstream"),
            "compile",
            config_path,
            "--target=cpu",
            "--batch",
            str(batch),
            "--seq",
            str(seq),
            "-o",
            artifact,
        ],
        check=True,
    )
    compile_s = time.perf_counter() - start
    subprocess.run(
        [os.path.join(bindir, "mstream"), "init", config_path, "-o", weights],
        check=True,
        capture_output=True,
    )
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
    out = subprocess.run(
        [os.path.join(bindir, "mstream-bench-entry"), artifact, weights, "loss", str(repeats)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return json.loads(out.stdout)["median_ms"], compile_s


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bindir", default=os.path.join(ROOT, "build", "bin"))
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", default=",".join(SIZES))
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args()
    if "OPENBLAS_CORETYPE" not in os.environ:
        # PyTorch's products run on the same OpenBLAS (Debian's python3-torch
        # links it), loaded before this line: re-run with the kernels that
        # mstream's runtime picks, so that both systems use them.
        sys.path.insert(0, os.path.join(ROOT, "build", "python"))
        import mstream

        os.environ["OPENBLAS_CORETYPE"] = mstream.blas_core()
        os.execv(sys.executable, [sys.executable] + sys.argv)
    torch.set_num_threads(args.threads)
    # mstream's entry points flush subnormals (docs/cpu-backend.md).
    torch.set_flush_denormal(True)
    print(f"OpenBLAS kernels: {os.environ['OPENBLAS_CORETYPE']} (mstream and PyTorch)")
    print(
        f"PyTorch {torch.__version__} eager, {args.threads} threads; "
        f"mstream CPU backend, OPENBLAS_NUM_THREADS={args.threads}; "
        f"median of {args.repeats} after one warm-up"
    )
    print(
        f"{'variant':8} {'size':5} {'B x T':>8} {'mstream ms':>11} {'torch ms':>9} "
        f"{'torch/mstream':>13} {'compile s':>9}"
    )
    with tempfile.TemporaryDirectory() as workdir:
        for size in args.sizes.split(","):
            shape, batch, seq = SIZES[size]
            for variant in args.variants.split(","):
                config = dict(shape, variant=variant)
                ms, compile_s = time_mstream(
                    args.bindir, config, batch, seq, args.repeats, args.threads, workdir
                )
                torch_ms = time_torch(config, batch, seq, args.repeats)
                print(
                    f"{variant:8} {size:5} {f'{batch}x{seq}':>8} {ms:11.1f} {torch_ms:9.1f} "
                    f"{torch_ms / ms:13.2f} {compile_s:9.1f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
