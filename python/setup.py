"""pip install --no-build-isolation ./python: builds swalp._swalp with CMake against the torch
this Python imports (Debian's python3-torch, or pip's torch), then installs the package."""

import os
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        import torch

        build_dir = os.environ.get("SWALP_PYTHON_BUILD_DIR", os.path.join(ROOT, "build-python"))
        args = ["-DSWALP_PYTHON=ON"]
        # A build folder of the project's own (./test.sh passes build/) keeps its settings;
        # a fresh one builds only what the extension needs.
        if not os.path.exists(os.path.join(build_dir, "CMakeCache.txt")):
            args += ["-DSWALP_BUILD_TESTS=OFF", "-DSWALP_BUILD_BENCH=OFF", "-DCMAKE_BUILD_TYPE=Release",
                     f"-DPython3_EXECUTABLE={sys.executable}"]
        prefix = torch.utils.cmake_prefix_path
        if os.path.exists(os.path.join(prefix, "Torch", "TorchConfig.cmake")):
            args.append(f"-DCMAKE_PREFIX_PATH={prefix}")
        generator = ["-G", "Ninja"] if shutil.which("ninja") else []
        subprocess.check_call(["cmake", "-S", ROOT, "-B", build_dir, *generator, *args])
        subprocess.check_call(["cmake", "--build", build_dir, "--target", "_swalp", "-j",
                               str(os.cpu_count() or 2)])
        built = [f for f in os.listdir(os.path.join(build_dir, "python")) if f.startswith("_swalp")
                 and f.endswith(".so")]
        if not built:
            raise RuntimeError("the CMake build made no _swalp module (see its configure output)")
        target = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(os.path.join(build_dir, "python", built[0]), target)


setup(
    name="swalp",
    version="0.1.0",
    description="Exact simulated number formats, low-precision training and SWALP for PyTorch",
    packages=["swalp"],
    ext_modules=[Extension("swalp._swalp", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    python_requires=">=3.9",
    install_requires=["torch", "numpy"],
)
