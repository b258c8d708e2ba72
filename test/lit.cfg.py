# lit configuration of mstream's FileCheck tests.
import os
import platform
import sys

import lit.formats

config.name = "mstream"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs", "unit", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.mstream_obj_root, "test")

# Tests of x86-64's host instruction sets (--host-cpu) need that machine.
if platform.machine() in ("x86_64", "AMD64"):
    config.available_features.add("x86_64")

# mstream's tools first, then FileCheck, not and split-file from LLVM.
config.environment["PATH"] = os.pathsep.join(
    [config.mstream_tools_dir, config.llvm_tools_dir, os.environ.get("PATH", "")]
)
# The Python running lit (with numpy, as the Python tests need), for
# writing token arrays.
config.substitutions.append(("%python", sys.executable))
config.substitutions.append(("%examples", os.path.join(config.mstream_src_root, "examples")))
# mlir-runner's printing helpers, for tests that run lowered code.
config.substitutions.append(
    (
        "%mlir_c_runner_utils",
        os.path.join(config.llvm_tools_dir, "..", "lib", "libmlir_c_runner_utils.so"),
    )
)
