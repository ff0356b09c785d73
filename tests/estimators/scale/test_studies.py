"""Parallel studies on Dask: results gathered into one xarray Dataset, the
same whichever scheduler runs them."""

import numpy as np
import pytest
import xarray as xr

from estimators.scale.studies import margin_variant_keyrates, run_study


def _monte_carlo(seed, shared):
    rng = np.random.default_rng(seed)
    x = rng.normal(shared["mu"], 1.0, shared["n"])
    half_width = 1.96 / np.sqrt(shared["n"])
    return {"mean": x.mean(), "covered": float(abs(x.mean() - shared["mu"]) < half_width)}


def _serial(seeds, shared):
    return np.array([_monte_carlo(s, shared)["mean"] for s in seeds])


@pytest.mark.parametrize("scheduler", ["threads", "synchronous"])
def test_study_gathers_every_item_in_order(scheduler):
    shared = {"mu": 2.0, "n": 500}
    ds = run_study(
        _monte_carlo, range(40), shared=shared, scheduler=scheduler, progress=False, dim="sample"
    )
    assert isinstance(ds, xr.Dataset) and ds.sizes["sample"] == 40
    np.testing.assert_array_equal(ds["mean"].values, _serial(range(40), shared))
    assert 0.85 <= float(ds["covered"].mean()) <= 1.0


def test_study_on_a_distributed_client_uses_futures():
    from distributed import Client

    shared = {"mu": -1.0, "n": 100}
    with Client(processes=False, n_workers=2, threads_per_worker=1, dashboard_address=":0"):
        ds = run_study(
            _monte_carlo,
            [7, 3, 5],
            shared=shared,
            progress=False,
            labels=["a", "b", "c"],
            dim="run",
        )
    assert list(ds.run.values) == ["a", "b", "c"]
    np.testing.assert_array_equal(ds["mean"].values, _serial([7, 3, 5], shared))


def test_study_function_must_return_a_dataset_or_dict():
    with pytest.raises(TypeError, match="must return an xarray Dataset or a dict"):
        run_study(lambda item, shared: [item], [1], scheduler="synchronous", progress=False)


def test_margin_variants_gathered_along_variant():
    from estimators.inference.catalog import estimate_catalog
    from estimators.surveys import employers as datasets
    from estimators.surveys.employers.catalog import KEY_RATES
    from weighting.design import Design

    rates = KEY_RATES[:3]
    ds = margin_variant_keyrates(
        datasets.SURVEY,
        domains=("all", "sector"),
        rates=[r.id for r in rates],
        scheduler="threads",
        progress=False,
    )
    assert list(ds.variant.values) == ["low_public", "central", "high_public"]
    design = Design(datasets.load_cati(), weights="base_weight", strata="stratum").calibrate(
        datasets.load_register_margins("central"), tol=1e-10
    )
    direct = estimate_catalog(design, rates, ["all", "sector"]).to_dataset()
    xr.testing.assert_allclose(
        ds.sel(variant="central", drop=True)["values"], direct["values"], rtol=1e-12
    )
    low, high = (ds["values"].sel(variant=v) for v in ("low_public", "high_public"))
    assert not np.allclose(low.values, high.values, equal_nan=True)
