"""Compiled kernels for kalib (Cython).

Kernels take validated, C-contiguous arrays and do no checking of their own;
all validation happens in the Python layer that calls them (``weighting``).

``API_VERSION`` is bumped whenever a kernel's signature or semantics change
(3: kernels take ``cext._args.ReplicatePlan`` and ``CellSystem`` objects).
``weighting`` uses these kernels only when the version equals the one it was
written against, so a vendored copy of ``weighting`` never runs against a
mismatched installed ``cext`` (it falls back to numpy instead).
"""

API_VERSION = 3
