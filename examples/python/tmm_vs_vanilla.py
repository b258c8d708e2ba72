"""Notebook-style tour of mstream from Python: build TMMFormer and a vanilla
Transformer, look at one TMM substep in the mstream dialect, train both on
the KJV demo corpus and save their loss curves as a PNG.

    scripts/run.sh                       # once: set-up, build, demo data
    PYTHONPATH=build/python /usr/bin/python3 examples/python/tmm_vs_vanilla.py [STEPS]
"""

import os
import re
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import mstream  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("MSTREAM_BUILD_DIR", os.path.join(ROOT, "build"))
STEPS = int(sys.argv[1]) if len(sys.argv) > 1 else 300
DATA = os.path.join(BUILD, "data", "kjv")
OUT = os.path.join(BUILD, "python-example")

# %% The data: the byte-level corpus scripts/run.sh prepares.
if not os.path.exists(os.path.join(DATA, "train.bin")):
    subprocess.run(
        [
            os.path.join(BUILD, "bin", "mstream"),
            "prepare",
            os.path.join(ROOT, "data", "kjv-genesis-exodus.txt"),
            "--out",
            DATA,
        ],
        check=True,
    )

# %% Two models from the tiny example definitions.
tmm = mstream.Model.from_config(os.path.join(ROOT, "examples", "configs", "tmm-tiny.json"))
vanilla = mstream.Model.from_config(os.path.join(ROOT, "examples", "configs", "vanilla-tiny.json"))
print(f"tmm: {len(tmm.params())} parameter tensors, e.g. {tmm.params()[5]}")

# %% One TMM substep (layer 0's attention) in the mstream dialect: the
# lookahead, the pre-norm, the attention oracle and the triple-momentum step.
imported = tmm.ir("imported", batch=8, seq=128)
substep = [
    line
    for line in imported.splitlines()
    if re.search(r"mstream\.(lookahead|layer_norm|attention|tmm) ", line)
][:4]
print("\n".join(line.strip() for line in substep))

# %% Train both with the paper's Muon hybrid recipe and the same data order.
curves = {}
for name, model in (("tmm", tmm), ("vanilla", vanilla)):
    print(f"== compiling and training {name} for {STEPS} steps")
    net = model.compile(batch=8, seq=128)
    net.init(seed=42)
    reports = mstream.Trainer(
        net, DATA, out=os.path.join(OUT, name), steps=STEPS, eval_every=50, val_batches=10, seed=42
    ).run(
        callback=lambda r: r["step"] % 50 == 0
        and print(
            f"  step {r['step']:4d}  loss {r['loss']:.3f}"
            + (f"  val {r['val_loss']:.3f}" if "val_loss" in r else "")
        )
    )
    curves[name] = reports

# %% The loss curves.
plt.figure(figsize=(6, 4))
for name, reports in curves.items():
    plt.plot([r["step"] for r in reports], [r["loss"] for r in reports], label=f"{name} train")
    val = [r for r in reports if "val_loss" in r]
    plt.plot([r["step"] for r in val], [r["val_loss"] for r in val], "o--", label=f"{name} val")
plt.xlabel("step")
plt.ylabel("cross-entropy (nats / byte)")
plt.title("KJV bytes, tiny models, Muon hybrid recipe")
plt.legend()
plt.tight_layout()
os.makedirs(OUT, exist_ok=True)
png = os.path.join(OUT, "loss_curves.png")
plt.savefig(png, dpi=120)
print(f"saved {png}")
