"""Artifacts for the CUDA tests. Where the compiler is (CI, a developer's
machine) they are compiled on demand; a GPU machine without MLIR reads them
from $MSTREAM_ARTIFACTS, filled beforehand by

    python3 test/python/cuda_artifacts.py DIR [CONFIG_NAME...]
"""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))

from conftest import BATCH, CONFIGS, SEQ  # noqa: E402


def file_name(name, target, train, precision="fp32"):
    bf16 = "-bf16" if precision == "bf16" else ""
    return f"{name}-{target}{bf16}{'-train' if train else ''}.mstream"


def compile_artifact(
    mstream_bin, directory, name, target, train, emit="artifact", precision="fp32"
):
    """Compiles CONFIGS[name] for `target` into `directory`; returns the path."""
    config_path = os.path.join(directory, f"{name}.json")
    with open(config_path, "w") as f:
        json.dump(CONFIGS[name], f)
    suffix = ".cubin" if emit == "cubin" else ""
    out = os.path.join(directory, file_name(name, target, train, precision) + suffix)
    args = [
        mstream_bin,
        "compile",
        config_path,
        f"--target={target}",
        "--batch",
        str(BATCH),
        "--seq",
        str(SEQ),
        f"--emit={emit}",
        f"--precision={precision}",
        "-o",
        out,
    ]
    if train:
        args.append("--train")
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed:\n{result.stderr}")
    return out


def artifact(mstream_bin, directory, name, target, train, precision="fp32"):
    prebuilt = os.environ.get("MSTREAM_ARTIFACTS")
    if prebuilt:
        path = os.path.join(prebuilt, file_name(name, target, train, precision))
        assert os.path.exists(path), f"{path} missing: prebuild it (see {__file__})"
        return path
    return compile_artifact(mstream_bin, directory, name, target, train, precision=precision)


if __name__ == "__main__":
    binary = os.environ.get(
        "MSTREAM_BIN",
        os.path.join(os.path.dirname(__file__), "..", "..", "build", "bin", "mstream"),
    )
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name in sys.argv[2:] or CONFIGS:
        for target in ("cpu", "cuda"):
            for train in (False, True):
                print(compile_artifact(binary, out, name, target, train), flush=True)
            # The bf16 parity test evaluates only.
            print(
                compile_artifact(binary, out, name, target, False, precision="bf16"),
                flush=True,
            )
