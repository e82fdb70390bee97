#!/usr/bin/python3
"""Installs the Python package aiocpp (python/) with pip, offline, with
Debian's build tools only (python3-dev, python3-setuptools, python3-wheel,
cmake and the C++ dependencies that scripts/bootstrap installs):

    python3 -m venv --system-site-packages env && env/bin/pip install .
    /usr/bin/python3 -m pip install --break-system-packages .   # Debian's own site

No pyproject.toml on purpose: with one, pip builds in an isolated
environment whose setuptools it downloads, which an offline machine cannot.
Without one, pip builds with the setuptools and wheel it finds installed.

The extension aiocpp._native is built by CMake from CMakeLists.txt, the one
description of the build (the engine and python/src), in Release mode. Set
AIOCPP_CMAKE_BUILD_DIR to build in (and reuse) that directory instead of a
temporary one.
"""

import glob
import os
import re
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))


def version():
    with open(os.path.join(ROOT, "python", "aiocpp", "__init__.py")) as f:
        return re.search(r"^__version__ = '([^']+)'", f.read(), re.M).group(1)


class CMakeBuild(build_ext):
    """Builds the extension with CMake and copies it where setuptools wants it."""

    def build_extension(self, ext):
        build_dir = os.environ.get("AIOCPP_CMAKE_BUILD_DIR") or os.path.join(
            os.path.abspath(self.build_temp), "cmake")
        configure = ["cmake", "-S", ROOT, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release",
                     "-DAIOCPP_BUILD_PYTHON=ON", "-DAIOCPP_BUILD_TESTS=OFF",
                     "-DAIOCPP_BUILD_EXAMPLES=OFF", "-DAIOCPP_BUILD_BENCH=OFF",
                     f"-DPython3_EXECUTABLE={sys.executable}"]
        if not os.environ.get("AIOCPP_CMAKE_BUILD_DIR"):
            subprocess.check_call(configure)
        jobs = str(os.cpu_count() or 1)
        subprocess.check_call(["cmake", "--build", build_dir, "--target", "aiocpp_python",
                               "-j", jobs])
        built = glob.glob(os.path.join(build_dir, "python", "aiocpp", "_native*.so"))
        if len(built) != 1:
            sys.exit(f"setup.py: expected one _native extension in {build_dir}, found {built}")
        target = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(built[0], target)


os.makedirs(os.path.join(ROOT, "build-pip"), exist_ok=True)  # egg_base must exist
setup(
    name="aiocpp",
    version=version(),
    description="asyncio's event loop on aiocpp's C++ engine (epoll, io_uring)",
    long_description=__doc__,
    python_requires=">=3.11",
    packages=["aiocpp"],
    package_dir={"": "python"},
    ext_modules=[Extension("aiocpp._native", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    # Out of the way of CMake's build/ and of the sources (.gitignore: /build-*/).
    options={"build": {"build_base": "build-pip"}, "egg_info": {"egg_base": "build-pip"}},
    zip_safe=False,
)
