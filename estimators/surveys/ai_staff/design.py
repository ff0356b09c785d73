"""Design and weights of the staff survey (section 3.4, chapter 7).

The frame
    NHO Arbeid og inkludering has 95 member companies (main units). 55 sent
    e-mail lists of their staff, and everybody on a list got the web
    questionnaire (administrative staff outside the target group too); the
    general manager of every one of the 95 companies got it as well. 752
    answered, 35.6 % of the net number sent (line 757), which is not printed:
    752 / n_sent rounds to 35.6 % for n_sent = 2,110 ... 2,115; kalib takes
    ``NET_SENT = 2112``, the integer nearest 752 / 0.356.

Strata = role
    The report gives the role of every respondent and nothing else about
    them, so the design has one stratum per role and a weight that is
    constant within role: a response-homogeneity-group (RHG) adjustment
    (Särndal, Swensson & Wretman 1992, section 15.6.2), ``w = N_role /
    n_role``, which treats the respondents of a role as a simple random
    subsample of the role's population.

    * General managers: a census of 95 with 58 responding, ``N = 95``; the
      finite population correction ``1 - 58/95`` is large and real.
    * Staff (job consultants, work/production supervisors, programme
      leaders): the sizes are not known. Under equal response propensity
      ``r`` across the three staff roles, ``N_role = n_role / r``. The central
      variant takes every staff address sent as in the population:
      ``n_sent - 95 = 2,017`` staff questionnaires, ``r = 694 / 2,017 =
      34.4 %``. The authors say the true rate is higher because many
      addresses were outside the target group (line 757), and the 40
      companies without lists have staff too, so ``r`` is bracketed by the
      variants ``low_response`` (30 %, larger population) and
      ``high_response`` (45 %, smaller). The fpc of a staff stratum is then
      ``1 - r``: an assumption of the RHG model, not a known sampling
      fraction.

    Point estimates of shares and means depend on the variant only through
    the general managers' share of the population (95 / (95 + N_staff):
    4.5 % central, 3.9 % low, 5.8 % high, against 7.7 % of the respondents).

Company clustering
    Staff are clustered in the 55 list companies, and company ids are not
    published, so the clustering cannot enter the variance. kalib does not
    invent ids; :func:`clustering_inflation` gives the design-effect factor
    ``1 + (m - 1) rho`` (Kish 1965, section 5.4) for an assumed
    intra-company correlation ``rho`` (0.02, 0.05, 0.10), where ``m`` is
    the mean number of respondents per list company (:func:`cluster_take`);
    the report shows it as a sensitivity column (standard errors times its
    square root).

References
----------
Särndal, C.-E., Swensson, B. and Wretman, J. (1992). Model Assisted Survey
Sampling. Springer.
Kish, L. (1965). Survey Sampling. Wiley.
"""

from __future__ import annotations

from fractions import Fraction

import pandas as pd

from weighting.design import Design
from weighting.errors import KalibError

#: Net questionnaires sent (752 / 35.6 %; any of 2,110 ... 2,115 prints as 35.6 %).
NET_SENT = 2112
#: Member companies (every general manager got the questionnaire) and the
#: companies that sent staff lists (line 753).
MEMBER_COMPANIES = 95
LIST_COMPANIES = 55
ROLES = ("job_consultant", "work_production_leader", "programme_leader", "general_manager")
MANAGER = "general_manager"
#: Staff response propensity of each variant (None: 694 / (NET_SENT - 95)).
VARIANTS = {"central": None, "low_response": Fraction(30, 100), "high_response": Fraction(45, 100)}
#: Intra-company correlations of the clustering sensitivity.
RHOS = (0.02, 0.05, 0.10)


def _check_variant(variant: str) -> None:
    if variant not in VARIANTS:
        raise KalibError(
            f"unknown design variant {variant!r}; choose one of {', '.join(VARIANTS)}"
        )


def staff_response(n_staff: int, variant: str = "central") -> Fraction:
    """The assumed response propensity of staff (equal across staff roles)."""
    _check_variant(variant)
    rate = VARIANTS[variant]
    if rate is None and n_staff > NET_SENT - MEMBER_COMPANIES:
        raise KalibError(
            f"{n_staff} staff respondents, more than the "
            f"{NET_SENT - MEMBER_COMPANIES} staff questionnaires sent"
        )
    return Fraction(n_staff, NET_SENT - MEMBER_COMPANIES) if rate is None else rate


def role_sizes(respondents: pd.Series, variant: str = "central") -> pd.DataFrame:
    """Population size, respondents and weight of every role.

    Parameters
    ----------
    respondents : Series
        The role of every respondent (``load_ai_staff()["role"]``).
    variant : {"central", "low_response", "high_response"}

    Returns
    -------
    DataFrame
        Indexed by role, with ``n`` (respondents), ``N`` (population
        size: 95 for general managers, ``n / r`` for staff), ``weight`` (``N /
        n``), ``response`` (``n / N``) and ``basis`` (``census`` or
        ``estimated``). Sizes are exact fractions as floats, not rounded: an
        expected count under the response model.
    """
    counts = respondents.value_counts()
    missing = [r for r in ROLES if r not in counts.index]
    if missing:
        raise KalibError(
            f"role {missing[0]!r} has no respondents; the design needs "
            f"every role of {', '.join(ROLES)}"
        )
    unknown = sorted(set(counts.index) - set(ROLES))
    if unknown:
        raise KalibError(f"unknown role {unknown[0]!r} ({int(counts[unknown[0]])} rows)")
    n = {r: int(counts[r]) for r in ROLES}
    if n[MANAGER] > MEMBER_COMPANIES:
        raise KalibError(
            f"{n[MANAGER]} general managers answered, more than the "
            f"{MEMBER_COMPANIES} member companies"
        )
    rate = staff_response(sum(v for r, v in n.items() if r != MANAGER), variant)
    sizes = {r: (Fraction(MEMBER_COMPANIES) if r == MANAGER else n[r] / rate) for r in ROLES}
    table = pd.DataFrame(
        {
            "n": [n[r] for r in ROLES],
            "N": [float(sizes[r]) for r in ROLES],
            "weight": [float(sizes[r] / n[r]) for r in ROLES],
            "response": [float(n[r] / sizes[r]) for r in ROLES],
            "basis": ["census" if r == MANAGER else "estimated" for r in ROLES],
        },
        index=pd.Index(ROLES, name="role"),
    )
    return table


def with_weights(frame: pd.DataFrame, variant: str = "central") -> pd.DataFrame:
    """``frame`` with the variant's ``N_role`` (fpc) and ``base_weight`` columns."""
    sizes = role_sizes(frame["role"], variant)
    out = frame.copy()
    out["N_role"] = out["role"].map(sizes["N"]).astype(float)
    out["base_weight"] = out["role"].map(sizes["weight"]).astype(float)
    return out


def cluster_take(n: int) -> float:
    """Mean number of respondents per list company, ``m = n / 55``.

    The mean list size is ``(NET_SENT - 95) / 55 = 36.7`` addresses; under
    the response model a company's list yields about ``36.7 r`` respondents,
    and ``n_staff / 55`` is that number whatever ``r`` is (12.6 for the 694
    staff respondents). Kish's factor needs the respondents per cluster, not
    the addresses. Pass the respondents of a domain (e.g. the 445 job
    consultants: 8.1) for a domain's estimate; general managers are one per
    company (``m = 1``, no inflation).
    """
    return max(n / LIST_COMPANIES, 1.0)


def clustering_inflation(m: float, rhos=RHOS) -> pd.Series:
    """Design-effect factor of company clustering, ``1 + (m - 1) rho``.

    Parameters
    ----------
    m : float
        Mean respondents per company (:func:`cluster_take`).
    rhos : sequence of float
        Assumed intra-company correlations.

    Returns
    -------
    Series indexed by ``rho``: multiply a variance by it (a standard error by
    its square root). Not estimated from the data: without company ids the
    factor is an assumption (Kish 1965, eq. 5.4.1), shown beside the
    estimates as a sensitivity.
    """
    bad = [r for r in rhos if not 0 <= r <= 1]
    if bad:
        raise KalibError(f"intra-company correlation {bad[0]} is outside [0, 1]")
    return pd.Series(
        [1 + (m - 1) * r for r in rhos], index=pd.Index(rhos, name="rho"), name="deff_clustering"
    )


def design(data: pd.DataFrame, variant: str = "central"):
    """The staff survey's design: strata = role, fpc = ``N_role``, weight
    ``N_role / n_role`` (RHG), linearization variance.

    Equivalent to R's ``svydesign(ids = ~1, strata = ~role, fpc = ~N_role,
    weights = ~base_weight, data = data)``. ``data`` is
    ``load_ai_staff()`` (or a user's sample of the same questionnaire).
    """
    framed = with_weights(data, variant)
    return Design(framed, weights="base_weight", strata="role", fpc="N_role")
