"""The CUDA backend without a GPU: every configuration's train step
compiles (mstream-cuda-pipeline: kernels through NVVM and ptxas) to one
cubin for the chosen architecture."""

import json
import os
import re
import struct
import subprocess
import sys

import pytest

from conftest import BATCH, CONFIGS, SEQ, small_config
from cuda_artifacts import compile_artifact

EM_CUDA = 190


def read_cubin(path):
    """(architecture, section names) of a CUDA ELF file."""
    data = open(path, "rb").read()
    assert data[:4] == b"\x7fELF" and data[4] == 2, "not a 64-bit ELF file"
    (machine,) = struct.unpack_from("<H", data, 18)
    assert machine == EM_CUDA, f"e_machine {machine} is not EM_CUDA"
    (flags,) = struct.unpack_from("<I", data, 48)
    (shoff,) = struct.unpack_from("<Q", data, 40)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 58)
    headers = [struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize) for i in range(shnum)]
    strings_at = headers[shstrndx][4]
    names = []
    for name_at, *_ in headers:
        end = data.index(b"\0", strings_at + name_at)
        names.append(data[strings_at + name_at : end].decode())
    return (flags >> 8) & 0xFF, names


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_train_step_compiles_to_cubin(mstream_bin, workdir, name):
    cubin = compile_artifact(mstream_bin, str(workdir), name, "cuda", True, emit="cubin")
    arch, sections = read_cubin(cubin)
    assert arch == 90
    kernels = [s for s in sections if s.startswith(".text.")]
    # Forward, loss, gradients and optimizer: dozens of distinct kernels
    # (layers share theirs), each with its resource info.
    assert len(kernels) > 30, kernels
    assert ".nv.info" in sections


@pytest.mark.parametrize("variant", ["tmm", "soap"])
def test_paper_size_train_step_fits_and_keeps_its_state(mstream_bin, workdir, variant):
    """The paper's 12-layer model at its step shape (batch 8 x 1024) in
    bf16, as the GPU benchmark compiles it. It compiles to one cubin: its
    weight optimizer updates over a hundred tensors, and merging their
    loops (mstream-merge-parallel-loops) must keep each kernel under
    ptxas's 32 KiB of parameters. Per the kernel report, a train step sends
    the two token batches and five scalars alone (no parameter or state
    byte) and reads back the loss and gradient norm, and its peak device
    memory fits an 80 GB H100: SOAP's step once ran out of it, before each
    buffer was freed after its last use and while the token kernels' scratch
    did not yet bound the per-token matrices to 1024 slots."""
    config = os.path.join(
        os.path.dirname(__file__), "..", "..", "examples", "configs", f"{variant}-paper.json"
    )
    out = workdir / f"{variant}-paper.cubin"
    report = kernel_report(
        mstream_bin,
        config,
        out,
        "--batch",
        8,
        "--seq",
        1024,
        "--precision=bf16",
        "--emit=cubin",
    )
    arch, sections = read_cubin(out)
    assert arch == 90
    assert len([s for s in sections if s.startswith(".text.")]) > 50
    step = {e["entry"]: e for e in report["entries"]}["train_step"]
    assert step["host_to_device_bytes"] == 2 * 4 * 8 * 1024 + 5 * 4
    assert step["device_to_host_bytes"] == 8
    assert step["peak_device_bytes"] < 80e9
    # The merge's parameter estimate holds against ptxas's count: every
    # kernel within mstream-merge-parallel-loops' 16 KiB budget.
    assert max(k["param_bytes"] for k in step["kernels"]) <= 16384


def test_chip_selects_the_architecture(mstream_bin, workdir):
    cubin = compile_artifact(mstream_bin, str(workdir), "tmm", "cuda", False, emit="cubin")
    assert read_cubin(cubin)[0] == 90
    config = workdir / "tmm.json"
    out = workdir / "tmm-sm80.cubin"
    from conftest import run

    run(mstream_bin, "compile", config, "--target=cuda", "--chip=sm_80", "--emit=cubin", "-o", out)
    assert read_cubin(out)[0] == 80
    bad = run(
        mstream_bin,
        "compile",
        config,
        "--target=cuda",
        "--chip=sm_75",
        "-o",
        workdir / "x.mstream",
        check=False,
    )
    assert bad.returncode != 0
    assert "unsupported GPU architecture 'sm_75' (expected sm_80 or sm_90)" in bad.stderr


@pytest.mark.parametrize("fuse", ["true", "false"])
def test_train_step_launches_no_kernel_per_token(mstream_bin, workdir, fuse):
    """A host loop over the tokens around a launch costs a launch (~4 us on
    an H100) per token: a fused backward's token sums and the embedding
    scatter-add once did, 207,194 launches per step at d=512."""
    config = workdir / "launches-tmm.json"
    config.write_text(json.dumps(CONFIGS["tmm"]))
    script = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "count-launches.py")
    out = subprocess.run(
        [
            sys.executable,
            script,
            str(config),
            "--batch",
            str(BATCH),
            "--seq",
            str(SEQ),
            f"--fuse={fuse}",
            "--bin",
            os.path.dirname(str(mstream_bin)),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    launches, gemms, per_token = (int(c) for c in out.splitlines()[-1].split("|")[2:5])
    assert per_token == 0
    assert 0 < gemms and 0 < launches < 2000


@pytest.fixture(scope="module", params=["tmm", "muon", "soap"])
def train_step_sass(request, mstream_bin, tmp_path_factory, cuobjdump):
    """(variant, {kernel: SASS}, {kernel: report record}) of a bf16 train
    step's cubin, read with cuobjdump, and its kernel report."""
    name = request.param
    workdir = tmp_path_factory.mktemp(f"sass-{name}")
    config = workdir / f"{name}.json"
    # 256 features: a row is long enough for the token kernels to split
    # its reductions over the block (mstream-split-reductions' token-min-
    # size). 16 heads keep the per-head matrices at 16 x 16; SOAP's 4, at
    # 64 x 64, take more shared memory than a kernel may declare.
    heads = 4 if name == "soap" else 16
    config.write_text(json.dumps(small_config(name, d_model=256, n_heads=heads)))
    cubin = workdir / f"{name}.cubin"
    report = kernel_report(
        mstream_bin,
        config,
        cubin,
        "--batch",
        BATCH,
        "--seq",
        SEQ,
        "--precision=bf16",
        "--emit=cubin",
    )
    sass = subprocess.run(
        [cuobjdump, "-sass", str(cubin)], capture_output=True, text=True, check=True
    ).stdout
    functions = {}
    for chunk in sass.split("Function : ")[1:]:
        functions[chunk.split()[0]] = chunk
    step = {e["entry"]: e for e in report["entries"]}["train_step"]
    return name, functions, {k["name"]: k for k in step["kernels"]}


def test_kernels_index_without_64_bit_division(train_step_sass):
    """Shapes reach the kernels as constants (gpu-launch-sink-index-
    computations), so ptxas turns the index arithmetic's divisions into
    multiplications. A division by a runtime value calls the 64-bit
    division routine, which starts with I2F.U64.RP (an unsigned 64-bit
    conversion rounding up, for the reciprocal's estimate); the paper's tmm
    step once made 3,924 such calls. No kernel of the train step may have
    one."""
    _, functions, _ = train_step_sass
    assert len(functions) > 30, list(functions)
    divisions = [name for name, code in functions.items() if "I2F.U64.RP" in code]
    assert divisions == [], divisions


def test_each_kernel_is_compiled_once(train_step_sass):
    """Layers launch the same kernels on their own buffers
    (mstream-deduplicate-kernels), so the step launches some kernels more
    than once, and few functions of the cubin have the same code as
    another, where each layer once had its own copy of each. A few
    distinct kernels do compile to the same code: the forward's and the
    train step's roundings to bf16 of 2048 contiguous elements, viewed as
    2x16x4x16 in one and 2x4x16x16 in the other, index alike once
    flattened."""
    _, functions, kernels = train_step_sass
    bodies = set()
    for name, code in functions.items():
        # Branch targets are offsets in the function: equal kernels differ
        # in their names alone.
        bodies.add(code.replace(name, "K"))
    assert len(functions) - len(bodies) <= len(functions) // 10, (len(functions), len(bodies))
    assert max(k["launches"] for k in kernels.values()) > 1


def test_no_kernel_spills_more_than_a_few_registers(train_step_sass):
    """No kernel of the train step keeps more than 64 bytes in local memory
    (the report's frame bytes, from the cubin): a merged weight-optimizer
    kernel of tmm-tiny's step once kept 1,480 bytes there, spilling the
    parameter pointers it held from its start (before the global norm's
    total was computed once and each pointer's cast to global memory moved
    next to its use). A few bytes are ptxas's choice: told a kernel runs
    256 threads a block (.maxntid), it spills two to eight registers of a
    token kernel to L1 where that lets one more block share each SM."""
    _, _, kernels = train_step_sass
    framed = {name: k["frame_bytes"] for name, k in kernels.items() if k["frame_bytes"] > 64}
    assert framed == {}


def test_token_kernels_keep_their_buffers_in_shared_memory(train_step_sass):
    """A fused region's per-token buffers of at most half an H100 SM's
    shared memory (228 KiB / 2, less the 1 KiB the driver reserves per
    block) are in its block's shared memory (mstream-token-buffers-to-
    scratch): declared as the kernel's up to 48 KiB, asked for dynamically
    by its launch beyond (SOAP's 64 x 64 matrices; the report adds the
    launch's bytes to the cubin's), and accessed with shared-memory
    instructions: LDS and STS, never a generic LD or ST (which LLVM's
    address-space inference would have left had it lost track of the
    buffer). The cubin's section adds the 1 KiB reserved per block (sm_80
    on), and a byte for the dynamic buffer's symbol."""
    name, functions, kernels = train_step_sass
    shared = [k for k, record in kernels.items() if record["shared_bytes"] > 0]
    assert shared, f"{name}: no kernel declares shared memory"
    for kernel in shared:
        code = functions[kernel]
        instructions = set(re.findall(r"\b(LDS|STS|LD|ST)\b", code))
        assert {"LDS", "STS"} <= instructions, (kernel, instructions)
        assert not {"LD", "ST"} & instructions, (kernel, instructions)
        assert kernels[kernel]["shared_bytes"] <= 228 * 1024 // 2 + 1, kernel
    dynamic = [k for k in shared if kernels[k]["shared_bytes"] > 49 * 1024]
    assert (name == "soap") == bool(dynamic), (name, dynamic)


def test_token_reductions_use_warp_shuffles(train_step_sass):
    """A fused region's row reductions (a LayerNorm's mean and variance, a
    norm of a stream's row) take one partial result per thread of the
    block, which warps combine with butterfly shuffles (SHFL.BFLY over the
    whole warp: offsets 16 down to 1, mask 0x1f), then warp 0 over the
    warps' results (mstream-distribute-token-loops), where thread 0 once
    added 32 partials in a loop. Only the token kernels, which synchronise
    their block (BAR.SYNC), reduce so."""
    name, functions, _ = train_step_sass
    shuffling = {k: code for k, code in functions.items() if "SHFL.BFLY" in code}
    assert shuffling, f"{name}: no kernel shuffles"
    for kernel, code in shuffling.items():
        assert "BAR.SYNC" in code, kernel
        offsets = set(re.findall(r"SHFL\.BFLY PT, R\d+, R\d+, (0x[0-9a-f]+), 0x1f", code))
        assert offsets == {"0x10", "0x8", "0x4", "0x2", "0x1"}, (kernel, offsets)


def test_bf16_products_call_cublas_bf16(mstream_bin, workdir):
    """--precision=bf16 on the cuda target: the train step's oracle products
    call mstream_cuda_gemm_bf16 (cuBLAS, bf16 operands, f32 accumulation),
    the weight optimizer's Newton-Schulz still mstream_cuda_sgemm, and the
    rounding to bf16 is generated kernels; the cubin builds."""
    from conftest import run

    config = workdir / "bf16-cuda-muon.json"
    config.write_text(json.dumps(CONFIGS["muon"]))
    common = ["--target=cuda", "--train", "--batch", BATCH, "--seq", SEQ, "--precision=bf16"]
    lowered = run(mstream_bin, "compile", config, *common, "--emit=lowered").stdout
    bf16_calls = lowered.count("llvm.call @mstream_cuda_gemm_bf16")
    f32_calls = lowered.count("llvm.call @mstream_cuda_sgemm")
    # 2 layers x (4 projections + 2 attention products) + the head, forward
    # and their gradients: dozens; Muon's Newton-Schulz on the weights stays f32.
    assert bf16_calls >= 30, bf16_calls
    assert f32_calls > 0
    out = workdir / "bf16-cuda-muon.cubin"
    run(mstream_bin, "compile", config, *common, "--emit=cubin", "-o", out)
    assert read_cubin(out)[0] == 90


def kernel_report(mstream_bin, config, out, *flags, fmt="json"):
    from conftest import run

    result = run(
        mstream_bin,
        "compile",
        config,
        "--target=cuda",
        "--train",
        f"--print-kernel-report={fmt}",
        "-o",
        out,
        *flags,
    )
    return json.loads(result.stdout) if fmt == "json" else result.stdout


def test_kernel_report_counts_what_a_step_launches_and_moves(mstream_bin, workdir):
    """--print-kernel-report=json: the train step's launches agree with
    scripts/count-launches.py (an independent count from the host IR), every
    kernel has the registers ptxas gave it, only the token batches and
    scalars go to the device and the loss and gradient norm come back, and
    the roofline is the sum of its parts."""
    config = workdir / "report-tmm.json"
    config.write_text(json.dumps(CONFIGS["tmm"]))
    report = kernel_report(
        mstream_bin, config, workdir / "report.mstream", "--batch", BATCH, "--seq", SEQ
    )
    assert report["device"]["name"] == "H100 SXM"
    step = {e["entry"]: e for e in report["entries"]}["train_step"]
    script = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "count-launches.py")
    counted = subprocess.run(
        [sys.executable, script, str(config), "--batch", str(BATCH), "--seq", str(SEQ)]
        + ["--bin", os.path.dirname(str(mstream_bin))],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    launches, gemms = (int(c) for c in counted.splitlines()[-1].split("|")[2:4])
    assert step["launches"] == launches
    assert step["library_calls"] == gemms
    assert sum(k["launches"] for k in step["kernels"]) == launches
    for kernel in step["kernels"]:
        assert 0 < kernel["registers"] <= 255, kernel
        assert 0 < kernel["param_bytes"] <= 16384, kernel
        # A kernel's launches are summed one by one (rounding: relative
        # 1e-12 is far below a launch's 2 us floor).
        floor = 2e-6 * kernel["launches"]
        assert kernel["estimated_seconds"] >= floor * (1 - 1e-12), kernel
    assert step["host_to_device_bytes"] == 2 * 4 * BATCH * SEQ + 5 * 4
    assert step["device_to_host_bytes"] == 8
    assert step["peak_device_bytes"] > step["resident_bytes"] > 0
    parts = step["kernels"] + step["library"]
    assert step["estimated_seconds"] == pytest.approx(sum(p["estimated_seconds"] for p in parts))
    assert step["flops"] == pytest.approx(sum(p["flops"] for p in parts))
    text = kernel_report(
        mstream_bin, config, workdir / "report.mstream", "--batch", BATCH, "--seq", SEQ, fmt="text"
    )
    assert f"per call: {launches} kernel launches" in text
    assert "roofline on an H100 SXM: 3.35 TB/s" in text


def test_kernel_report_flag_errors(mstream_bin, workdir):
    from conftest import run

    config = workdir / "report-tmm.json"
    config.write_text(json.dumps(CONFIGS["tmm"]))
    for flags, message in [
        (
            ["--target=cuda", "--print-kernel-report=xml"],
            "--print-kernel-report must be text or json, got 'xml'",
        ),
        (["--target=cpu", "--print-kernel-report"], "--print-kernel-report needs --target=cuda"),
        (["--target=cuda", "--print-kernel-report", "--emit=mlir"], "needs the lowered phase"),
    ]:
        bad = run(mstream_bin, "compile", config, *flags, "-o", workdir / "x.out", check=False)
        assert bad.returncode != 0 and message in bad.stderr, bad.stderr
