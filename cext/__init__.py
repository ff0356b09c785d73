"""Compiled kernels for kalib (Cython).

Kernels take validated, C-contiguous arrays and structured arguments
(``cext._args``: a replicate plan, a calibration on a cell table) whose
constructors check dtypes and shapes once; the kernels themselves check
nothing. All validation of the input happens in the Python layer that calls
them (``weighting``), which alone imports this package (``weighting._backend``,
with the version and ``_calibrate.CONTRACT`` constants checks).

``API_VERSION`` is bumped whenever a kernel's signature or semantics change
(3: kernels take ``cext._args.ReplicatePlan`` and ``CellSystem`` objects;
4: ``solve_replicates`` and ``replicate_totals`` can keep the bootstrap
counts between calls).
``weighting`` uses these kernels only when the version equals the one it was
written against, so a vendored copy of ``weighting`` never runs against a
mismatched installed ``cext`` (it falls back to numpy instead).
"""

API_VERSION = 4
