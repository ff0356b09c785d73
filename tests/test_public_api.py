"""The short public API: ``from estimators import svymean, svyglm, ...``.

Every exported name resolves to the object of its home module. That ``import
estimators`` alone loads none of the heavy dependencies is checked, with the
command line's start-up, in ``test_startup_imports.py``.
"""

import pytest

import estimators


def test_every_export_resolves_to_its_home():
    from estimators.inference import catalog, estimate
    from estimators.model import glm
    from estimators.surveys import ai_staff, employers

    assert estimators.svymean is estimate.svymean
    assert estimators.estimate_catalog is catalog.estimate_catalog
    assert estimators.svyglm is glm.svyglm
    assert estimators.load_cati is employers.load_cati
    assert estimators.load_ai_staff is ai_staff.load_ai_staff
    for name in estimators.__all__:
        assert getattr(estimators, name) is not None, name
    assert set(estimators.__all__) <= set(dir(estimators))


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'svy_mean'"):
        estimators.svy_mean  # noqa: B018  (the attribute access is the test)
    with pytest.raises(ImportError):
        exec("from estimators import svy_mean", {})
