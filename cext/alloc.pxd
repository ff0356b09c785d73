# cython: language_level=3
"""Checked scratch allocations of the kernels: out of memory is a ``MemoryError``
naming the step and the buffer, never a crash.

The kernels allocate their scratch per OpenMP thread, inside ``nogil``
parallel blocks where no exception can be raised. ``kalib_alloc(count, size,
what, failure)`` returns ``malloc(count * size)`` or NULL, and on NULL (also
when ``count * size`` would overflow ``size_t``) records in ``failure`` the
first buffer that could not be had (``what``: its index in the kernel's list
of buffer names) and its size; the threads then skip their work, and after
the block the kernel raises ``alloc_error(&failure, step, names)``, e.g.
``MemoryError: replicate re-calibration: cannot allocate 8.0 GB for the
per-cell sums``.
"""

cdef extern from *:
    """
    #include <stdint.h>
    #include <stdlib.h>
    typedef struct { int what; double bytes; } kalib_alloc_failure;
    static void* kalib_alloc(Py_ssize_t count, size_t size, int what,
                             kalib_alloc_failure* failure) {
        void* p = NULL;
        if (count >= 0 && (size_t)count <= SIZE_MAX / size)
            p = malloc((size_t)count * size > 0 ? (size_t)count * size : 1);
        if (p == NULL) {
            /* threads failing together: the first one's buffer is named */
            #pragma omp critical(kalib_alloc_failure)
            {
                if (failure->what < 0) {
                    failure->what = what;
                    failure->bytes = (double)count * (double)size;
                }
            }
        }
        return p;
    }
    """
    ctypedef struct kalib_alloc_failure:
        int what
        double bytes
    void* kalib_alloc(Py_ssize_t count, size_t size, int what,
                      kalib_alloc_failure* failure) noexcept nogil


cdef inline str _human(double n):
    """Bytes as the message says them: 8.0 GB, 512.0 MB, 64.0 kB (powers of 1000)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n:.0f} bytes"


cdef inline object alloc_error(const kalib_alloc_failure* failure, str step, tuple names):
    """The ``MemoryError`` of a failed ``kalib_alloc``: step, size, buffer."""
    return MemoryError(
        f"{step}: cannot allocate {_human(failure.bytes)} for {names[failure.what]}"
    )
