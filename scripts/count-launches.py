#!/usr/bin/env python3
"""Counts what one CUDA train step launches, without a GPU: the kernel
launches and cuBLAS calls in train_step's host IR after
mstream-merge-gpu-modules, each multiplied by the trip counts of the host
loops around it (static bounds), and the host loops that launch per token.

    scripts/count-launches.py CONFIG.json --batch 8 --seq 256 [--fuse=false]
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def entry_lines(ir, entry):
    start = ir.find(f"func.func @{entry}(")
    if start < 0:
        sys.exit(f"count-launches: no function @{entry} in the host IR")
    end = ir.find("\n  }\n", start)
    return ir[start:end].split("\n")


def count(lines, tokens):
    constants = {}
    for line in lines:
        m = re.match(r"\s*(%c\w*) = arith.constant (-?\d+) : index", line)
        if m:
            constants[m.group(1)] = int(m.group(2))
    loops, launches, gemms, per_token, serial = [], 0, 0, set(), 0
    for line in lines:
        indent = len(line) - len(line.lstrip())
        while loops and indent <= loops[-1][0]:
            loops.pop()
        m = re.match(r"\s*(?:%\S+ = )?scf.for %\w+ = (%\w+) to (%\w+) step (%\w+)", line)
        if m:
            low, high, step = (constants.get(v) for v in m.groups())
            if None in (low, high, step):
                sys.exit(f"count-launches: dynamic loop bounds: {line.strip()}")
            serial += 1
            loops.append((indent, (high - low) // step, serial))
        times = 1
        for _, trips, _ in loops:
            times *= trips
        if "gpu.launch_func" in line:
            launches += times
            per_token.update(loop[2] for loop in loops if loop[1] == tokens)
        if "call @mstream_cuda_sgemm" in line or "call @mstream_cuda_gemm_bf16" in line:
            gemms += times
    return launches, gemms, len(per_token)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("config")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--seq", type=int, required=True)
    parser.add_argument("--fuse", default="true", choices=["true", "false"])
    parser.add_argument(
        "--bin",
        default=os.path.join(ROOT, "build", "bin"),
        help="directory of mstream and mstream-opt",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        graph = os.path.join(tmp, "graph.mlir")
        compile_args = [
            os.path.join(args.bin, "mstream"),
            "compile",
            args.config,
            "--batch",
            str(args.batch),
            "--seq",
            str(args.seq),
            "--train",
            "--compile-to=training",
            f"--fuse={args.fuse}",
            "-o",
            graph,
        ]
        subprocess.run(compile_args, check=True)
        lowered = subprocess.run(
            [
                os.path.join(args.bin, "mstream-opt"),
                graph,
                "--mstream-cuda-pipeline",
                "--mlir-print-ir-after=mstream-merge-gpu-modules",
                "-o",
                os.devnull,
            ],
            capture_output=True,
            text=True,
        )
        if lowered.returncode != 0:
            sys.exit(lowered.stderr)
    launches, gemms, per_token = count(
        entry_lines(lowered.stderr, "train_step"), args.batch * args.seq
    )
    print("| fuse | kernel launches | cuBLAS calls | host loops over the tokens |")
    print("|---|---:|---:|---:|")
    print(f"| {args.fuse} | {launches} | {gemms} | {per_token} |")


if __name__ == "__main__":
    main()
