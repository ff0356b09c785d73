"""Build kalib's compiled kernels (``cext``, Cython + OpenMP).

Everything else — name, version, dependencies, extras, the ``kalib`` script,
packages and package data — is declared in ``pyproject.toml``; setuptools
merges the two. This file exists because extension modules with per-platform
compiler flags cannot be declared there."""

import glob
import sys
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

# OpenMP lets the replicate kernels use both cores (prange); MSVC spells it differently.
# -ffp-contract=off: no fused multiply-adds (GCC contracts a * b + c by default on
# arm64), so that the kernels round as numpy does and agree with it bit for bit.
if sys.platform == "win32":
    openmp, optimise = ["/openmp"], ["/O2"]
else:
    openmp, optimise = ["-fopenmp"], ["-O3", "-ffp-contract=off"]

# Every cext/*.pyx is a kernel module (cext.<name>).
KERNELS = sorted(Path(f).stem for f in glob.glob("cext/*.pyx"))

extensions = [
    Extension(
        f"cext.{name}",
        [f"cext/{name}.pyx"],
        include_dirs=[numpy.get_include()],
        extra_compile_args=optimise + openmp,
        extra_link_args=openmp,
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
    for name in KERNELS
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives={
            "language_level": "3",
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
        },
    ),
)
