"""Multistage ``Design``: the stages' structure (``Design.stages``), nesting,
per-stage fpc, base weights, lonely-PSU errors naming the stage, array
lengths checked against the data, and replicates of the first stage equal to
R's ``as.svrepdesign`` (JKn, ``tests/reference/multistage/replicates_glm.R``)."""

import json

import numpy as np
import pandas as pd
import pytest
from repo_paths import REFERENCE

from estimators.inference.estimate import svymean
from weighting.design import Design
from weighting.errors import DesignError

REF = REFERENCE / "multistage"


def twostage(**options):
    data = pd.read_csv(REF / "twostage.csv")
    settings = dict(strata="stratum", psu=["cluster", "id"], fpc=["N1", "N2"], nest=True)
    return Design(data, **{**settings, **options})


def test_stages_hold_nested_clusters_and_counts():
    d = twostage()
    one, two = d.stages
    data = d.data
    assert (one.number, two.number) == (1, 2)
    assert one.cluster is d.psu and one.n_clusters is d.n_psu and one.population is d.fpc
    # stage-2 strata are the stage-1 clusters; each unit is its own cluster
    assert np.array_equal(two.stratum, d.psu)
    assert len(two.cluster_stratum) == d.n and np.array_equal(
        two.cluster_stratum[two.cluster], d.psu
    )
    # sampled and population counts of stage 2 per stage-1 cluster
    first_row = np.unique(d.psu, return_index=True)[1]
    np.testing.assert_array_equal(two.n_clusters, data["n2"].to_numpy()[first_row])
    np.testing.assert_array_equal(two.population, data["N2"].to_numpy()[first_row])
    np.testing.assert_allclose(two.sampling_fraction, data["f2"].to_numpy()[first_row], rtol=1e-15)
    # base weights: the product of N/n of both stages
    np.testing.assert_allclose(d.base_weights, data["w"], rtol=1e-14)
    assert not d.stages[1].lonely.any() and d.degf == 9
    assert repr(d) == "Design(n=40, strata=3, psus=12, stages=2, fpc)"


def test_fractions_and_counts_give_the_same_stages():
    a, b = twostage(), twostage(fpc=["f1", "f2"])
    for s, t in zip(a.stages, b.stages):
        np.testing.assert_allclose(s.population, t.population, rtol=1e-14)
        np.testing.assert_array_equal(s.cluster, t.cluster)


def test_a_single_column_is_the_single_stage_design():
    data = pd.read_csv(REF / "twostage.csv")
    one = Design(data, weights="w", strata="stratum", psu="cluster", fpc="N1", nest=True)
    listed = Design(data, weights="w", strata="stratum", psu=["cluster"], fpc=["N1"], nest=True)
    assert len(one.stages) == 1
    for name in ("strata", "psu", "psu_stratum", "n_psu", "fpc", "sampling_fraction"):
        np.testing.assert_array_equal(getattr(one, name), getattr(listed, name))


def test_nest_relabels_within_strata_and_is_needed_when_codes_cross():
    with pytest.raises(DesignError, match=r"psu 'cluster'.*more than one stratum.*code '1'"):
        twostage(nest=False)
    d = twostage()
    assert d.n_psus == 12  # 4 + 3 + 5 clusters, labels 1.. in every stratum


def test_errors_name_the_stage_the_column_and_the_counts():
    data = pd.read_csv(REF / "twostage.csv")
    with pytest.raises(DesignError, match="'weights' has shape \\(5,\\), the sample has 40 rows"):
        Design(data, weights=np.ones(5))
    with pytest.raises(DesignError, match="'strata' has shape \\(39,\\), the sample has 40"):
        Design(data, strata=np.zeros(39))
    with pytest.raises(DesignError, match="'psu' has shape \\(3,\\)"):
        Design(data, psu=[np.zeros(3), np.zeros(3)])
    varying = data.assign(N2=np.arange(40) + 10)
    with pytest.raises(DesignError, match="fpc 'N2' is not constant within stage-1 cluster"):
        Design(varying, strata="stratum", psu=["cluster", "id"], fpc=["N1", "N2"], nest=True)
    small = data.assign(N2=2)  # the first cluster has 4 sampled units
    with pytest.raises(DesignError, match="below its .* sampled stage-2 units"):
        Design(small, strata="stratum", psu=["cluster", "id"], fpc=["N1", "N2"], nest=True)
    with pytest.raises(DesignError, match="3 fpc columns for 2 sampling stage"):
        twostage(fpc=["N1", "N2", "N2"])
    lonely = pd.read_csv(REF / "twostage_lonely_stage2.csv")
    with pytest.raises(
        DesignError, match="stage 2: 1 stage-1 cluster\\(s\\) with a single sampled unit"
    ):
        Design(lonely, strata="stratum", psu=["cluster", "id"], fpc=["N1", "N2"], nest=True)


def test_without_stage1_fpc_later_stages_carry_no_counts():
    d = twostage(fpc=None, weights="w")
    assert d.fpc is None and d.stages[1].population is None
    assert not d.stages[1].lonely.any()


def test_replicates_jackknife_the_first_stage_as_r():
    ref = json.loads((REF / "replicates_glm.json").read_text())
    d = twostage().with_replicates("jkn")
    assert d.B == d.n_psus == 12
    f = svymean(d, "y", by=("all", "dom")).frame
    np.testing.assert_allclose(
        f["estimate"], [*ref["mean_y"]["estimate"], *ref["by_dom_mean_y"]["estimate"]], rtol=1e-12
    )
    np.testing.assert_allclose(
        f["se"], [*ref["mean_y"]["se"], *ref["by_dom_mean_y"]["se"]], rtol=1e-8
    )
