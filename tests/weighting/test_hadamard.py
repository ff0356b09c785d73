"""weighting.hadamard: R's choice of Hadamard matrix for BRR, and the constructions.

Reference values: tests/reference/brr/hadamard.R (survey::hadamard(n) for
n = 1..1100: order and two checksums; full matrices of the orders up to 64)
and brr.R (the 12 x 12 matrix of hadamard(10)).
"""

import json
from pathlib import Path

import numpy as np
import pytest

from weighting.errors import KalibError
from weighting.hadamard import (
    doubled,
    hadamard,
    hadamard_order,
    paley,
    paley2,
    plackett_burman_36,
    sylvester,
)

REF = Path(__file__).parents[1] / "reference" / "brr"


def _is_prime(p):
    return p > 1 and all(p % q for q in range(2, int(p**0.5) + 1))


@pytest.fixture(scope="module")
def reference():
    return json.loads((REF / "hadamard_reference.json").read_text())


def _checks(H):
    """The reference script's checksums (1-based i, j; exact in int64)."""
    H = H.astype(np.int64)
    i = np.arange(1, H.shape[0] + 1, dtype=np.int64)
    return (int(((H @ (i * i % 1009)) * i).sum()), int(((H @ i) * (i * 131 % 997 + 1)).sum()))


# n whose R matrix is R's stored 28 x 28 (Sloane's library) doubled: kalib
# builds Paley II (q = 13) there (weighting.hadamard's docstring).
SLOANE_28 = [
    *range(24, 28),
    *range(48, 56),
    *range(108, 112),
    *range(220, 224),
    *range(444, 448),
    *range(888, 896),
]


def test_brr_reference_matrix_is_rs_hadamard_10():
    ref = json.loads((REF / "brr_hadamard.json").read_text())
    np.testing.assert_array_equal(hadamard(10), np.array(ref["matrix"]))


def test_order_of_every_n_is_rs(reference):
    orders = [hadamard_order(n) for n in reference["n"]]
    assert orders == reference["order"]


def test_matrix_of_every_n_is_rs_except_sloanes_28(reference):
    last, differing = (None, None), []
    for n, a, b in zip(reference["n"], reference["check_a"], reference["check_b"]):
        H = hadamard(n)
        if H is not last[0]:  # consecutive n mostly share one (cached) matrix
            last = H, _checks(H)
        if last[1] != (a, b):
            differing.append(n)
    assert differing == SLOANE_28  # the documented exception, and nothing else


def test_full_matrices_up_to_64(reference):
    for entry in reference["matrices"]:
        if entry["n"] in SLOANE_28:
            continue
        R = np.array([[c == "1" for c in row] for row in entry["rows"]], dtype=np.int8)
        np.testing.assert_array_equal(hadamard(entry["n"]), R)


def _assert_hadamard(H):
    m = H.shape[0]
    assert H.shape == (m, m) and H.dtype == np.int8
    assert set(np.unique(H)) <= {0, 1}
    S = 2 * H.astype(np.int64) - 1
    np.testing.assert_array_equal(S @ S.T, m * np.eye(m, dtype=np.int64))


def test_every_order_built_up_to_256_is_hadamard_with_a_row_of_ones():
    seen = set()
    for n in range(0, 256):
        H = hadamard(n)
        assert H.shape[0] > n
        assert H[0].all()
        if H.shape[0] not in seen:
            seen.add(H.shape[0])
            _assert_hadamard(H)
    # every construction on its own, beyond R's choice
    for p in range(3, 256):
        if _is_prime(p) and p % 4 == 3:
            _assert_hadamard(paley(p))
        if _is_prime(p) and p % 4 == 1 and 2 * (p + 1) <= 256:
            H = paley2(p)
            _assert_hadamard(H)
            assert H[0].all()
    for k in range(0, 9):
        _assert_hadamard(sylvester(2**k))
    _assert_hadamard(plackett_burman_36())
    _assert_hadamard(doubled(plackett_burman_36()))


def test_matrices_are_read_only_and_cached():
    H = hadamard(10)
    assert hadamard(10) is H
    with pytest.raises(ValueError):
        H[0, 0] = 0


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3", None])
def test_bad_row_counts(bad):
    with pytest.raises(KalibError, match="non-negative whole number"):
        hadamard(bad)


def test_constructions_refuse_orders_they_cannot_build():
    with pytest.raises(KalibError, match="prime p = 3 mod 4, not 13"):
        paley(13)
    with pytest.raises(KalibError, match="prime q = 1 mod 4, not 11"):
        paley2(11)
    with pytest.raises(KalibError, match="orders 2\\*\\*k, not 12"):
        sylvester(12)
