r"""Hadamard matrices for balanced repeated replication (BRR), in R's choice.

A Hadamard matrix of order m is an m × m matrix of ±1 with
:math:`H H^\top = m I`. BRR with H strata of two PSUs takes a Hadamard
matrix of order m > H whose first row is all +1: stratum k gets row k + 1
and every column is a replicate, so that the replicates are balanced (each
PSU is in half of them, and any two strata are crossed evenly — "full
orthogonal balance", McCarthy 1969). Matrices here use R's 0/1 coding
(1 for +1, 0 for -1); ``2 * H - 1`` is the ±1 matrix.

Constructions
-------------
Sylvester (1867)
    :math:`H_1 = (1)`, :math:`H_{2m} = \begin{pmatrix} H_m & H_m \\ H_m & -H_m
    \end{pmatrix}`: orders :math:`2^k`. The same doubling turns any order m
    into 2m (:func:`doubled`).
Paley I (Paley 1933)
    For a prime :math:`p \equiv 3 \pmod 4`, order p + 1:
    :math:`H = \begin{pmatrix} 1 & 1^\top \\ 1 & A \end{pmatrix}` with
    :math:`A_{ij} = +1` when :math:`i + j \bmod p` is a quadratic non-residue
    and -1 otherwise (0 and the residues), i, j = 0 … p - 1. This is Paley's
    matrix with the Jacobsthal matrix :math:`\chi(j - i)` read with rows in
    the order i → -i, the arrangement R's ``survey::hadamard`` returns.
Paley II (Paley 1933)
    For a prime :math:`q \equiv 1 \pmod 4`, order 2(q + 1): with the
    symmetric conference matrix :math:`C = \begin{pmatrix} 0 & 1^\top \\ 1 & Q
    \end{pmatrix}`, :math:`Q_{ij} = \chi(j - i)`,
    :math:`H = C \otimes \begin{pmatrix} 1 & -1 \\ -1 & -1 \end{pmatrix} +
    I \otimes \begin{pmatrix} 1 & 1 \\ 1 & -1 \end{pmatrix}`, its columns
    negated where the first row is -1.
Plackett–Burman (1946), order 36
    Row 0 all +1; row r = 1 … 35 is the design's generating row of 35 signs
    shifted left r - 1 places, followed by -1.

Which matrix (R's rule)
-----------------------
:func:`hadamard` ``(n)`` returns the matrix R's ``survey::hadamard(n)``
returns, so that replicate weights equal R's ``brrweights``: let m be the
smallest multiple of 4 above n, and write a size s (a multiple of 4) as
:math:`s = b \cdot 2^k` with :math:`b / 4` odd. The size s can be *doubled*
from b when b = 4 (Sylvester), b = 28 or 36 (one matrix of that order,
doubled), or b - 1 is prime (Paley I, doubled k times); it is *direct* when
s - 1 is prime (Paley I). At s = m the doubled matrix comes first, then the
direct one; if m has neither, s = m + 4, m + 8, … is tried with the direct
matrix first. This reproduces R's order and matrix for every n up to 1,100
(tested against R), except the orders :math:`28 \cdot 2^k`: R stores a 28 × 28
matrix from Sloane's library, kalib builds Paley II (q = 13) instead (same
order, so the same number of replicates and the same balance; totals get
the same BRR variance as with R's matrix, non-linear statistics slightly
different ones). Up to 1,100 strata this concerns 24–27, 48–55, 108–111,
220–223, 444–447 and 888–895 strata.

References
----------
Paley, R. E. A. C. (1933). On orthogonal matrices. J. Math. Phys. 12, 311-320.
Plackett, R. L. and Burman, J. P. (1946). The design of optimum multifactorial
experiments. Biometrika 33, 305-325.
McCarthy, P. J. (1969). Pseudo-replication: half samples. Rev. Int. Stat.
Inst. 37, 239-264.
Wolter, K. M. (2007). Introduction to Variance Estimation, 2nd ed., ch. 3.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

from weighting.errors import KalibError

# Plackett & Burman's generating row for 36 runs (+ as 1, - as 0).
_PB36 = "01011100011111011100100001010110010"
# The matrix kalib builds where R stores Sloane's 28 x 28: Paley II with q = 13.
_PALEY2_28 = 13


def _is_prime(p: int) -> bool:
    if p < 2:
        return False
    return all(p % q for q in range(2, int(p**0.5) + 1))


def _residues(p: int) -> np.ndarray:
    """``chi`` as a lookup: +1 for the nonzero squares mod p, -1 for the other
    nonzero values, 0 at 0 (the quadratic character)."""
    chi = -np.ones(p, np.int8)
    chi[(np.arange(1, p) ** 2) % p] = 1
    chi[0] = 0
    return chi


def doubled(H: np.ndarray) -> np.ndarray:
    """Sylvester's doubling of a 0/1 Hadamard matrix:
    ``[[H, H], [H, 1 - H]]`` (order 2m)."""
    return np.block([[H, H], [H, 1 - H]]).astype(np.int8)


def sylvester(order: int) -> np.ndarray:
    """Sylvester's matrix of order ``order`` (a power of 2), 0/1 coding."""
    if order < 1 or order & (order - 1):
        raise KalibError(f"Sylvester's construction gives orders 2**k, not {order}")
    H = np.ones((1, 1), np.int8)
    while H.shape[0] < order:
        H = doubled(H)
    return H


def paley(p: int) -> np.ndarray:
    """Paley's first construction, order p + 1 for a prime p ≡ 3 (mod 4), 0/1
    coding (module docstring)."""
    if not (_is_prime(p) and p % 4 == 3):
        raise KalibError(f"Paley's first construction needs a prime p = 3 mod 4, not {p}")
    chi = _residues(p)
    H = np.ones((p + 1, p + 1), np.int8)
    H[1:, 1:] = chi[np.add.outer(np.arange(p), np.arange(p)) % p] < 0
    return H


def paley2(q: int) -> np.ndarray:
    """Paley's second construction, order 2(q + 1) for a prime q ≡ 1 (mod 4),
    first row all ones, 0/1 coding (module docstring)."""
    if not (_is_prime(q) and q % 4 == 1):
        raise KalibError(f"Paley's second construction needs a prime q = 1 mod 4, not {q}")
    chi = _residues(q)
    C = np.zeros((q + 1, q + 1), np.int64)
    C[0, 1:] = C[1:, 0] = 1
    C[1:, 1:] = chi[np.subtract.outer(np.arange(q), np.arange(q)) % q].T
    H = np.kron(C, [[1, -1], [-1, -1]]) + np.kron(np.eye(q + 1, dtype=np.int64), [[1, 1], [1, -1]])
    H = H * H[0]  # columns negated where row 0 is -1: row 0 all +1
    out: np.ndarray = ((H + 1) // 2).astype(np.int8)
    return out


def plackett_burman_36() -> np.ndarray:
    """The order-36 matrix from Plackett & Burman's generating row, 0/1 coding
    (module docstring)."""
    g = np.array([c == "1" for c in _PB36], np.int8)
    H = np.zeros((36, 36), np.int8)
    H[0] = 1
    for r in range(1, 36):
        H[r, :35] = np.roll(g, -(r - 1))
    return H


def _doubled_recipe(size: int) -> tuple[Callable[[], np.ndarray], int] | None:
    """How ``size`` (a multiple of 4) is doubled from a base: (base matrix
    maker, k) with size = order(base) * 2**k and order(base) / 4 odd, or None."""
    k = (size & -size).bit_length() - 3  # 2-adic valuation minus 2
    base = size >> k
    if base == 4:
        return (lambda: sylvester(size)), 0
    if base == 28:
        return (lambda: paley2(_PALEY2_28)), k
    if base == 36:
        return plackett_burman_36, k
    if _is_prime(base - 1):
        return (lambda: paley(base - 1)), k
    return None


def _recipe(n: int) -> tuple[int, bool]:
    """(order, doubled) of R's choice for ``n`` rows: the matrix is doubled
    from a base (:func:`_doubled_recipe`) or Paley's of order - 1 (module
    docstring)."""
    first = 4 * (n // 4 + 1)
    size = first
    while True:
        can_double = _doubled_recipe(size) is not None
        direct = _is_prime(size - 1)
        if can_double and (size == first or not direct):
            return size, True
        if direct:
            return size, False
        size += 4


def hadamard_order(n: int) -> int:
    """The order of :func:`hadamard` ``(n)``: the number of BRR replicates for
    n strata."""
    return _recipe(_check_n(n))[0]


@lru_cache(maxsize=16)
def _build(size: int, double: bool) -> np.ndarray:
    if double:
        recipe = _doubled_recipe(size)
        assert recipe is not None  # _recipe doubles only sizes that have a base
        maker, k = recipe
    else:
        maker, k = (lambda: paley(size - 1)), 0
    H = maker()
    for _ in range(k):
        H = doubled(H)
    H.flags.writeable = False
    return H


def hadamard(n: int) -> np.ndarray:
    """A Hadamard matrix of order above ``n`` with first row all ones (0/1
    coding, int8, read-only), the one R's ``survey::hadamard(n)`` returns
    (module docstring: R's rule, and the orders 28 · 2**k where kalib's
    matrix differs from R's).

    Parameters
    ----------
    n : int
        Rows needed besides the first (the number of BRR strata), >= 0.

    Returns
    -------
    ndarray (m, m), m > n
    """
    return _build(*_recipe(_check_n(n)))


def _check_n(n: object) -> int:
    if not (isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 0):
        raise KalibError(f"a Hadamard matrix needs a non-negative whole number of rows, got {n!r}")
    return int(n)
