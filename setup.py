"""Build kalib: the vendorable ``weighting`` package, the ``cext`` Cython
kernels and the ``estimators`` layer with the ``kalib`` command line."""
import glob
import sys
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup

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
    name="kalib",
    version="0.1.0",
    description="Survey calibration (raking, GREG, logit, truncated) and design-based "
    "inference with replicate re-calibration, for the SINTEF/NAV employer survey.",
    packages=find_packages(include=["weighting*", "cext*", "estimators*"]),
    package_data={
        "cext": ["*.pyx", "*.pxd"],
        "estimators.surveys.employers": ["data/*"],
        "estimators.report": ["templates/*"],
    },
    ext_modules=cythonize(
        extensions,
        compiler_directives={"language_level": "3", "boundscheck": False,
                             "wraparound": False, "cdivision": True},
    ),
    python_requires=">=3.10",
    install_requires=[
        "numpy>=1.26",
        "scipy>=1.11",
        "pandas>=2.1",
        "statsmodels>=0.14",
        "xarray>=2023.10",
        "netCDF4>=1.6",
        "pyarrow>=14",
        "pyreadstat>=1.2",
        "matplotlib>=3.8",
        "tqdm>=4.66",
        "dask[distributed,dataframe]>=2024.1",
        "patsy>=0.5.6",
        "threadpoolctl>=3.1",
    ],
    extras_require={
        "test": ["pytest>=8", "pytest-benchmark>=4", "hypothesis>=6"],
    },
    entry_points={"console_scripts": ["kalib=estimators.cli:main"]},
)
