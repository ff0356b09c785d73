"""A design of no rows: its strata are those of a design without strata."""

import numpy as np

from weighting.design import Design

EMPTY = {"s": np.array([], dtype=object), "w": np.array([], dtype=float)}


def test_an_empty_sample_with_strata_has_the_one_all_stratum():
    # a strata column of no rows names no stratum; without the "all" stratum
    # the design had 0 strata and 0 degrees of freedom, the same sample given
    # without strata 1 and -1
    with_strata = Design(EMPTY, weights="w", strata="s")
    without = Design(EMPTY, weights="w")
    assert with_strata.n_strata == without.n_strata == 1
    assert with_strata.degf == without.degf
