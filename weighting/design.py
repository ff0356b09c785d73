"""The survey design: sample, base weights, strata, PSUs, fpc, calibration, replicates.

A :class:`Design` is immutable. Every step returns a new design::

    design = Design(data, weights="w", strata="stratum", psu="firm", fpc="N_h")
    design = design.calibrate([Margin(("sector", "size_class"), table), nace])
    design = design.with_replicates("bootstrap", replicates=1000, seed=20170602)
    R = design.replicate_totals(values, groups, n_groups)     # (B, G, k)

Structure
---------
Strata and PSUs are encoded to integer codes in sorted order of their
canonical labels (``weighting.columns.encode``). PSU codes must be nested in
strata: a PSU label that occurs in two strata is an error naming the column
and the code (R's "Clusters not nested in strata at top level"), unless
``nest=True`` says that equal labels in different strata are different PSUs
(R's ``nest = TRUE``: they are relabelled within strata). Global PSU codes
run stratum by stratum, in sorted label order within a stratum, which is the
order the bootstrap draws refer to (RNG contract, ``weighting.replicates``).

Multistage designs
------------------
``psu=[stage1, stage2, ...]`` and ``fpc=[fpc1, fpc2, ...]`` give one cluster
column and one fpc per sampling stage, as R's ``svydesign(id = ~psu + ssu,
fpc = ~N1 + N2)``; a single column is a single-stage design, built exactly as
before. Stage k > 1 samples units within each cluster of stage k - 1, which
is its stratum; its cluster labels are always nested in those clusters, and
its fpc must be constant within each. :attr:`Design.stages` holds one
:class:`Stage` per stage (stage 1 is the design's strata and PSUs): the
per-row cluster codes of every stage (for weights constant within a stage's
clusters, R's ``aggregate.stage``), their strata, sample and population
counts. Without ``weights`` the base weights are the product of every
stage's ``N / n``. The variance is R's ``svyrecvar`` recursion
(``estimators.inference.variance.multistage_covariance``; Särndal, Swensson
& Wretman 1992, §4.3; Lumley 2010, §3.2): later stages enter only when stage 1
has an fpc. Replicate methods resample (or delete) stage-1 PSUs only, as R's
``as.svrepdesign``. Differences from R: strata are stage 1's only (R also
takes later-stage strata, ``strata = ~s1 + s2``); fpc given for fewer stages
than psu leaves the later stages complete (R documents this, 4.1.1 errors);
the count-or-fraction rule (every value at most 1) is applied per stage (R
requires all stages alike); a lonely-PSU merge mapping applies to stage 1.

Finite-population correction
----------------------------
``fpc`` is one value per row, constant within a stratum: the population
number of PSUs in the stratum, or the sampling fraction when every value is
at most 1 (R's ``svydesign`` rule). The stratum's variance contribution is
multiplied by ``1 - f_h`` with ``f_h = n_h / N_h``; a take-all stratum
(``f_h = 1``) contributes zero.

Lonely PSUs
-----------
A stratum with a single PSU (at stage k > 1: a cluster of stage k - 1 with a
single sampled unit, when its population has more) has no within-stratum
variance estimate. The policy is explicit, never silent, and applies at
every stage (R's ``survey.lonely.psu``): ``"error"`` (default) raises
:class:`DesignError` naming the stage, the strata and their count;
``"certainty"`` and ``"remove"`` give them a zero contribution (as R's, which
compute the same); ``"adjust"`` centres their PSU total on zero instead of the
stratum mean; ``"average"`` replaces their contribution by the average of the
other strata of the stage (NaN at stages beyond the first, where each such
stratum is alone in its parent cluster, as R); a mapping ``{lonely stratum:
neighbour stratum}`` merges each named stage-1 lonely stratum into its
neighbour (population counts add) before anything else. ``domain_lonely=True``
is R's ``survey.adjust.domain.lonely = TRUE``: in an estimate of an
(uncalibrated) domain, a stratum with several PSUs of which only one holds
rows of the domain is, under ``"adjust"``, centred on zero, under
``"average"``, left out as a lonely one (at any stage); R applies it to
``svyby`` and ``subset`` estimates alike, and not after calibration (R keeps
every row of a calibrated design in a domain), nor does kalib.

Additions to the architecture signature
---------------------------------------
``with_replicates(..., mse=False)`` stores R's ``mse`` flag with the
replicates; ``with_replicate_weights(W, scale, rscales, mse, method, degf,
weights)`` attaches replicate weights given as an (n, B) matrix (a file from
``kalib replicate``, or R's), ``with_replicate_structure(r)`` replicates made
elsewhere (on Dask); ``Design.sampling_fraction``, ``n_psu``,
``psu_stratum``, ``strata_labels``, ``certainty`` and
``calibration_residuals`` expose what linearization needs;
``calibration_spec`` is the :class:`~weighting.spec.CalibrationSpec` of
:meth:`Design.calibrate` (``calibration.margins`` its margins) that replicates
are re-calibrated with.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from weighting.columns import (
    category_values,
    column,
    encode,
    frozen,
    n_rows,
    numeric,
    positive_weights,
)
from weighting.errors import DesignError, KalibError, MissingValueError
from weighting.spec import CalibrationSpec

_NO_DATA: Mapping[str, Any] = MappingProxyType({})
#: Float and integer arrays of the annotations
Floats = NDArray[np.float64]
Ints = NDArray[np.int64]


def _untyped(function: Any) -> Any:
    """A callable of a module not yet annotated (weighting.replicates), for mypy."""
    return function


class Design:
    """A (possibly stratified, clustered, calibrated, replicated) sample design.

    Parameters
    ----------
    data : mapping
        Column name -> 1-d array-like (a pandas DataFrame works).
    weights : str or array-like, optional
        Base (design) weights: a column of ``data`` or an array. Without them
        the weights are ``N_h / n_h`` when ``fpc`` gives population counts, and
        1 otherwise; a later :meth:`calibrate` then uses N/n (``calibrate``'s
        ``base_weights=None`` rule) so that g-factors and bounds keep their
        meaning.
    strata, psu, fpc : str or array-like, optional
        Stratum codes, primary sampling unit codes (default: each row is its
        own PSU), and the population PSU count or sampling fraction per row.
        Arrays must have the sample's length (the data's rows). ``psu`` and
        ``fpc`` may be lists (one column or 1-d array per stage, in order)
        for a multistage design (module docstring); a list of scalars is one
        array of codes.
    nest : bool
        Equal PSU labels in different strata are different PSUs (R's ``nest
        = TRUE``); without it they are an error.
    pps : "brewer", "overton", "hartley-rao", HR, JointInclusion or matrix, optional
        PPS sampling without replacement (R's ``svydesign(pps=)``): ``fpc``
        then holds the PSUs' inclusion probabilities (``weighting.pps``).
    variance : "HT" or "YG"
        Horvitz–Thompson or Yates–Grundy form of a PPS design's variance.
    lonely_psu : "error", "certainty", "remove", "adjust", "average" or mapping
        Policy for strata with a single PSU, at every stage (see module
        docstring).
    domain_lonely : bool
        R's ``survey.adjust.domain.lonely``: in a domain estimate, a stratum
        of several PSUs with a single PSU holding rows of the domain is
        treated by the ``"adjust"`` or ``"average"`` policy as a lonely one
        (module docstring).

    Attributes
    ----------
    n : int
    base_weights, weights : ndarray (n,)
        Design weights d and analysis weights (calibrated when calibrated).
    strata : ndarray (n,) int64
        Stratum code of every row (``0..H-1``).
    psu : ndarray (n,) int64
        Global PSU code of every row (``0..P-1``), stratum by stratum.
    psu_stratum : ndarray (P,) int64
    n_psu : ndarray (H,) int64
        Sampled PSUs per stratum.
    fpc : ndarray (H,) or None
        Population PSU count per stratum.
    sampling_fraction : ndarray (H,)
        ``n_h / N_h`` (0 without fpc).
    certainty : ndarray (H,) bool
        Stage-1 strata with a single PSU (not take-all) under a lonely-PSU
        policy: zero contribution in the single-stage computation, no draws
        in the replicates.
    stages : tuple of Stage
        The sampling stages, stage 1 first (:class:`Stage`).
    calibration : CalibrationResult or None
    calibration_spec : CalibrationSpec or None
    replicates : weighting.replicates.Replicates or None
    degf : int
        Design degrees of freedom: PSUs minus strata, or R's rule for the
        replicate method (see ``weighting.replicates``).
    """

    __slots__ = (
        "data",
        "n",
        "base_weights",
        "weights",
        "strata",
        "strata_labels",
        "psu",
        "psu_stratum",
        "n_psu",
        "fpc",
        "sampling_fraction",
        "certainty",
        "pps",
        "stages",
        "lonely_psu",
        "domain_lonely",
        "weights_given",
        "calibration",
        "replicates",
        "_frozen",
    )

    data: Any
    n: int
    base_weights: Floats
    weights: Floats
    strata: Ints
    strata_labels: tuple[str, ...]
    psu: Ints
    psu_stratum: Ints
    n_psu: Ints
    fpc: Floats | None
    sampling_fraction: Floats
    certainty: NDArray[np.bool_]
    pps: Any
    stages: tuple[Stage, ...]
    lonely_psu: str | dict[Any, Any]
    domain_lonely: bool
    weights_given: bool
    calibration: Any
    replicates: Any

    def __init__(
        self,
        data: Any = None,
        *,
        weights: Any = None,
        strata: Any = None,
        psu: Any = None,
        fpc: Any = None,
        nest: bool = False,
        lonely_psu: str | Mapping[Any, Any] = "error",
        domain_lonely: bool = False,
        pps: Any = None,
        variance: str = "HT",
    ) -> None:
        data = _NO_DATA if data is None else data
        # PPS without replacement: fpc holds the PSUs' inclusion probabilities (weighting.pps)
        pps_fpc, fpc = (fpc, None) if pps is not None else (None, fpc)
        psu_specs = _stage_specs(data, psu, "psu")
        fpc_specs = _stage_specs(data, fpc, "fpc")
        if len(fpc_specs) > max(1, len(psu_specs)):
            raise DesignError(
                f"{len(fpc_specs)} fpc columns for {max(1, len(psu_specs))} sampling stage(s): "
                "give one fpc per stage, in the order of psu"
            )
        _check_policy(lonely_psu)
        n = _row_count(data, (weights, strata, *psu_specs, *fpc_specs))
        strata_codes, found = _codes(data, strata, "strata", n)
        # an empty sample has no stratum labels: one "all" stratum, as without strata
        strata_labels = found or ["all"]
        stage1_psu = psu_specs[0] if psu_specs else None
        if stage1_psu is None:  # every row its own PSU
            psu_codes, psu_stratum = _row_psu(strata_codes, len(strata_labels))
        else:
            psu_local, psu_labels = _codes(data, stage1_psu, "psu", n)
            if strata is not None and not nest:
                _require_nested(strata_codes, strata_labels, psu_local, psu_labels, stage1_psu)
            psu_codes, psu_stratum = _nested_psu(strata_codes, psu_local)
        n_psu = np.bincount(psu_stratum, minlength=len(strata_labels))
        stage1_fpc = fpc_specs[0] if fpc_specs else None
        population = _population(data, stage1_fpc, strata_codes, strata_labels, n_psu, n)
        if not isinstance(lonely_psu, str):
            merged, strata_labels = _merge_lonely(strata_labels, n_psu, lonely_psu)
            strata_codes = merged[strata_codes]
            if population is not None:
                population = np.asarray(np.bincount(merged, population), dtype=np.float64)
            # Global PSU codes keep PSUs of different original strata apart.
            psu_codes, psu_stratum = _nested_psu(strata_codes, psu_codes)
            n_psu = np.bincount(psu_stratum, minlength=len(strata_labels))

        lonely = n_psu == 1
        if population is not None:  # a take-all stratum has no variance to estimate
            lonely &= population > n_psu
        if lonely.any() and lonely_psu == "error":
            names = [strata_labels[h] for h in np.flatnonzero(lonely)[:5]]
            raise DesignError(
                f"{int(lonely.sum())} stratum/strata with a single PSU: {', '.join(map(str, names))}",
                option="lonely_psu",
                remedy="choose lonely_psu='certainty', 'remove', 'adjust', 'average' "
                "or a mapping {lonely: neighbour} to merge",
            )
        first = Stage(1, strata_codes, psu_codes, psu_stratum, n_psu, population, lonely)
        stages = _later_stages(data, first, psu_specs[1:], fpc_specs[1:], lonely_psu, n)

        from weighting.pps import pps_design

        pps, pps_weights = pps_design(
            pps, variance, data, pps_fpc, weights, psu_codes, psu_stratum, strata_labels
        )
        weights = weights if pps_weights is None else pps_weights  # 1 / pi
        if weights is None:
            base = np.ones(n)
            if population is not None:  # the product of every stage's N / n
                for stage in stages:
                    base = base * (stage.population / stage.n_clusters)[stage.stratum]
        else:
            base = _weights(data, weights, n)

        self._frozen = False
        self.data = data
        self.n = n
        self.base_weights = frozen(base)
        self.weights = self.base_weights
        self.weights_given = weights is not None or population is not None
        self.strata = first.stratum
        self.strata_labels = tuple(strata_labels)
        self.psu = first.cluster
        self.psu_stratum = first.cluster_stratum
        self.n_psu = first.n_clusters
        self.fpc = first.population
        self.sampling_fraction = first.sampling_fraction
        self.certainty = first.lonely
        self.stages = stages
        self.pps = pps
        self.lonely_psu = dict(lonely_psu) if not isinstance(lonely_psu, str) else lonely_psu
        self.domain_lonely = bool(domain_lonely)
        self.calibration = None
        self.replicates = None
        self._frozen = True

    def __setattr__(self, name: str, value: Any) -> None:
        if getattr(self, "_frozen", False):
            raise AttributeError("Design is immutable; its methods return new designs")
        object.__setattr__(self, name, value)

    def _replace(self, **changes: Any) -> Design:
        new = object.__new__(Design)
        for name in self.__slots__:
            object.__setattr__(new, name, getattr(self, name))
        for name, value in changes.items():
            object.__setattr__(new, name, value)
        return new

    # -- structure ------------------------------------------------------------

    @property
    def n_strata(self) -> int:
        return len(self.strata_labels)

    @property
    def n_psus(self) -> int:
        return len(self.psu_stratum)

    @property
    def degf(self) -> int:
        if self.replicates is not None:
            return int(self.replicates.degf)
        return int(self.n_psus - self.n_strata)

    @property
    def method(self) -> Any:
        return None if self.replicates is None else self.replicates.method

    @property
    def B(self) -> int:
        return 0 if self.replicates is None else int(self.replicates.B)

    @property
    def seed(self) -> Any:
        return None if self.replicates is None else self.replicates.seed

    @property
    def scale(self) -> Any:
        return None if self.replicates is None else self.replicates.scale

    @property
    def rscales(self) -> Any:
        return None if self.replicates is None else self.replicates.rscales

    @property
    def mse(self) -> Any:
        return None if self.replicates is None else self.replicates.mse

    @property
    def calibration_spec(self) -> CalibrationSpec | None:
        return None if self.calibration is None else self.calibration.spec

    @property
    def convergence(self) -> Any:
        return None if self.replicates is None else self.replicates.convergence

    # -- steps returning new designs -----------------------------------------

    def calibrate(
        self, margins: Any, spec: CalibrationSpec | None = None, **settings: Any
    ) -> Design:
        """Calibrate the base weights to ``margins``; a new design.

        The settings are a :class:`~weighting.spec.CalibrationSpec` or the
        keyword arguments of ``weighting.calibrate.calibrate`` that build one
        (``distance``, ``bounds``, ``trim``, ``tol``, ``max_iter``, ...;
        ``base_weights`` are the design's). If the design has replicates,
        every replicate is re-calibrated with the same spec, and ``degf``
        stays the replicate design's for every distance (R's ``calibrate``
        resets it to the rank of the replicate weights minus one after an
        unbounded linear calibration only).
        """
        from weighting.calibrate import calibrate, stage_clusters

        if "base_weights" in settings:
            raise KalibError(
                "Design.calibrate uses the design's base weights; "
                "give weights to Design(...) instead"
            )
        base = self.base_weights if self.weights_given else None
        spec = CalibrationSpec.of(spec, **settings)
        result = calibrate(
            self.data,
            margins,
            base_weights=base,
            clusters=stage_clusters(self, spec.aggregate_stage),
            spec=spec,
        )
        new = self._replace(
            base_weights=frozen(result.base_weights),
            weights=frozen(result.weights),
            calibration=result,
        )
        if self.replicates is not None:
            from weighting.replicates import GivenReplicates, make_replicates

            r = self.replicates
            if isinstance(r, GivenReplicates):
                raise KalibError(
                    "replicate weights given as a matrix cannot be "
                    "re-calibrated; calibrate before attaching them"
                )
            object.__setattr__(
                new,
                "replicates",
                make_replicates(new, r.method, r.B, r.seed, r.mse, r.accept_failures, **r.options),
            )
        return new

    def with_replicates(
        self,
        method: str = "bootstrap",
        replicates: int = 1000,
        seed: int = 20170602,
        accept_failures: bool = False,
        mse: bool = False,
        fay_rho: float | None = None,
        collapse_strata: bool = False,
    ) -> Design:
        """A new design with replicate weights, each re-calibrated if calibrated.

        A multistage design's replicates resample (bootstrap) or delete
        (jackknives) or halve (BRR, Fay) its stage-1 PSUs only, with the
        stage-1 fpc, as R's ``as.svrepdesign``: the later stages enter
        through the PSU totals (the ultimate-cluster variance), not through
        their own fpc.

        Parameters
        ----------
        method : {"bootstrap", "jkn", "jk1", "brr", "fay"}
            Rao–Wu–Yue rescaling bootstrap with ``m_h = n_h - 1`` (Rao, Wu &
            Yue 1992; with fpc the Rao–Wu correction), stratified delete-one-PSU
            jackknife, unstratified delete-one-PSU jackknife, balanced repeated
            replication, or Fay's BRR (two PSUs per stratum; R's
            ``as.svrepdesign`` types; ``weighting.replicates``).
        replicates : int
            B for the bootstrap (the jackknives have one replicate per PSU,
            BRR and Fay one per column of their Hadamard matrix).
        seed : int
            Root of ``SeedSequence(seed).spawn(B)`` (RNG contract).
        accept_failures : bool
            Keep replicates whose re-calibration failed (flagged in
            :attr:`convergence`) instead of raising ``ReplicateError``.
        mse : bool
            Centre replicate variances on the full-sample estimate.
        fay_rho : float in [0, 1), optional
            Fay's factor (method "fay"; default 0.5): the PSUs of a stratum
            get 2 - rho and rho instead of BRR's 2 and 0.
        collapse_strata : bool
            BRR and Fay: pair one-PSU strata into pseudo-strata of two PSUs
            (which overstates the variance; ``weighting.replicates``) instead
            of an error naming them.
        """
        from weighting.replicates import make_replicates

        if self.pps is not None:
            from weighting.pps import replicates_unavailable

            raise replicates_unavailable(method)
        return self._replace(
            replicates=make_replicates(
                self,
                method,
                replicates,
                seed,
                mse,
                accept_failures,
                fay_rho=fay_rho,
                collapse_strata=collapse_strata,
            )
        )

    def with_replicate_weights(
        self,
        repweights: Any,
        scale: float | None = None,
        rscales: Any = None,
        mse: bool = False,
        method: str = "other",
        degf: int | None = None,
        weights: Any = None,
        replicate_type: str | None = None,
        fay_rho: float | None = None,
    ) -> Design:
        """A new design with replicate weights given as an (n, B) matrix.

        For files written by ``kalib replicate`` or replicate weights made
        elsewhere (R's ``svrepdesign(type = "other", ...)`` conventions:
        combined weights, ``V = scale * sum_b rscales_b (theta_b - c)^2``).
        ``degf`` defaults to R's rule, the rank of the weights minus one;
        ``weights`` replaces the full-sample analysis weights if given.
        With ``replicate_type`` (an R ``svrepdesign`` type: bootstrap, jk1,
        jkn, brr, fay, successive-difference, other) ``scale`` and
        ``rscales`` follow R's rules for that type
        (``weighting.replicates.svrep_constants``; ``fay_rho`` for fay) and
        the type is the method; without it both must be given.
        """
        from weighting.replicates import GivenReplicates, svrep_constants

        repweights = np.asarray(repweights, dtype=np.float64)
        if repweights.ndim != 2 or repweights.shape[0] != self.n:
            raise KalibError(
                f"replicate weights have shape {repweights.shape}, the design has {self.n} rows"
            )
        if replicate_type is not None:
            if method != "other":
                raise KalibError("give replicate_type or method, not both")
            method, scale, rscales = svrep_constants(
                replicate_type, repweights.shape[1], scale, rscales, fay_rho
            )
        elif scale is None or rscales is None or fay_rho is not None:
            raise KalibError(
                "give scale and rscales, or replicate_type= (and fay_rho= for "
                "fay) for R's svrepdesign rules"
            )
        changes: dict[str, Any] = {
            "replicates": _untyped(GivenReplicates)(repweights, scale, rscales, mse, method, degf)
        }
        if weights is not None:
            changes["weights"] = frozen(_weights(None, np.asarray(weights), self.n))
        return self._replace(**changes)

    def poststratify(
        self,
        table: Any,
        variables: str | tuple[str, ...] | None = None,
        partial: bool = False,
        tol: float = 1e-10,
        max_iter: int = 1000,
    ) -> Design:
        r"""Post-stratify to the population counts of one (crossed) table; a new design.

        R's ``postStratify``: in every cell c of the table,
        :math:`w_i = d_i N_c / \sum_{j \in c} d_j` — the calibration to the
        single crossed margin, which every distance solves with the same
        weights; it is done as the linear one (GREG), so the design's
        ``calibration`` is that calibration, and linearization is R's after
        ``postStratify``: the estimating functions become
        :math:`w_i (z_i - \bar z_c)` with :math:`\bar z_c` the cell mean
        under the design weights (totals of the cells have SE 0).
        Replicates are post-stratified one by one to the same table
        (:math:`w_{ib} N_c / \sum_{j \in c} w_{jb}`): replicates made by
        :meth:`with_replicates` are re-calibrated (which is that), given
        replicate weights are scaled column by column. ``degf`` becomes R's
        rule after ``postStratify``, the rank of the replicate weights minus
        one (:meth:`calibrate` keeps the replicate method's).

        Parameters
        ----------
        table : Margin or mapping
            The population count of every cell: a
            :class:`~weighting.margins.Margin`, or ``{category: N}`` /
            ``{(cat_1, ..., cat_r): N}`` with ``variables``.
        variables : str or tuple of str, optional
            The sample columns of a mapping ``table``.
        partial : bool
            R's ``partial = TRUE``: population cells with no sample unit
            (and a positive count) are dropped, so that the weights sum to
            the population total *minus* those cells' counts. Without it they
            are an error naming them. A sample cell missing from the table is
            an error either way (``MarginError``).
        tol, max_iter
            The calibration's stopping rule (``CalibrationSpec``).

        Raises
        ------
        EmptyCellError
            Population cells without sample units (``partial=False``).
        MarginError
            A sample cell the table lacks.
        ReplicateError
            Given replicate weights with no weight in a cell (R gives
            infinite or NaN weights).
        KalibError
            The design is already calibrated (post-stratify the base weights
            instead, or calibrate to the crossed margin among the others).
        """
        from weighting.margins import Margin

        if self.calibration is not None:
            raise KalibError(
                "the design is already calibrated: post-stratify the design "
                "before any calibration (it is one calibration of the base "
                "weights), or calibrate with the crossed margin among the others"
            )
        margin = table if isinstance(table, Margin) else Margin(cast(Any, variables), table)
        if (
            variables is not None
            and isinstance(table, Margin)
            and tuple([variables] if isinstance(variables, str) else variables) != margin.variables
        ):
            raise KalibError(
                f"variables {variables!r} differ from the margin's {margin.variables}"
            )
        margin = _sampled_cells(self.data, margin, self.n, partial)
        spec = CalibrationSpec("linear", tol=tol, max_iter=max_iter)
        from weighting.replicates import GivenReplicates, poststratified_weights

        if not isinstance(self.replicates, GivenReplicates):
            new = self.calibrate([margin], spec=spec)
            if new.replicates is not None:
                # R recomputes degf after postStratify; this structure is new's own.
                new.replicates.degf = new.replicates.rank_degf(new)
            return new
        from weighting.calibrate import calibrate

        r = self.replicates
        result = calibrate(self.data, [margin], base_weights=self.weights, spec=spec)
        W = poststratified_weights(r.repweights, result.problem)
        return self._replace(
            base_weights=frozen(result.base_weights),
            weights=frozen(result.weights),
            calibration=result,
            replicates=_untyped(GivenReplicates)(W, r.scale, r.rscales, r.mse, r.method, None),
        )

    def with_replicate_structure(self, replicates: Any) -> Design:
        """A new design holding a replicate structure made elsewhere (a
        ``weighting.protocols.ReplicateStructure``: replicates drawn and
        re-calibrated on Dask by ``estimators.scale``), taken as it is."""
        from weighting.protocols import ReplicateStructure

        if self.pps is not None:  # made on Dask, past with_replicates' check
            from weighting.pps import replicates_unavailable

            raise replicates_unavailable(replicates.method)
        if not isinstance(replicates, ReplicateStructure):
            raise KalibError(
                f"{type(replicates).__name__} is not a replicate structure "
                "(weighting.protocols.ReplicateStructure)"
            )
        return self._replace(replicates=replicates)

    # -- replicate estimates --------------------------------------------------

    def replicate_totals(
        self, values: Any, groups: Any = None, n_groups: int | None = None
    ) -> NDArray[np.float64]:
        """Replicate group totals ``R[b, g, j] = sum_{i in g} w_ib values[i, j]``.

        ``w_ib`` are the (re-calibrated) replicate weights, never materialised:
        the kernel regenerates each replicate's PSU multipliers and combines
        them with the replicate's cell g-factors row by row.

        Parameters
        ----------
        values : array-like (n,) or (n, k)
        groups : array-like (n,) of int in ``0..n_groups-1``, optional
            Domain codes (default: one group).
        n_groups : int, optional

        Returns
        -------
        ndarray (B, G, k)
        """
        if self.replicates is None:
            raise KalibError("the design has no replicates; call with_replicates first")
        values, groups, n_groups = _check_totals_input(values, groups, n_groups, self.n)
        totals: Floats = self.replicates.totals(self, values, groups, n_groups)
        return totals

    def replicate_weights(self) -> Floats:
        """The (n, B) matrix of replicate weights (for export, quantiles, models)."""
        if self.replicates is None:
            raise KalibError("the design has no replicates; call with_replicates first")
        weights: Floats = self.replicates.weights(self)
        return weights

    def calibration_regression(self) -> tuple[Ints, Floats, Floats, Floats] | None:
        """The calibration regression of linearization on calibration cells.

        Returns ``(cell, X, M, omega)``, or None when the design is not
        calibrated: ``cell`` (n,) the rows' cells, ``X`` (C, p) the calibration
        design row of each cell (a calibration on units, numeric totals
        included, has one cell per row), ``omega`` (n,) the regression weights
        (the base weights; ``CalibrationResult.regression`` for the other
        cases) and ``M = X' diag(D) X`` with ``D_c`` the total of omega in
        cell c. The coefficients of a regression of z are
        ``beta = M^{-1} X' Z`` with ``Z_c = sum_{i in c} omega_i z_i``, so that
        they need only cell totals of ``omega z`` (Deville & Särndal 1992; the
        residuals ``z_i - x_i' beta`` are R's ``svyrecvar`` after ``calibrate``).
        """
        if self.calibration is None:
            return None
        cell, X, omega = self.calibration.regression(self.weights)
        D = np.bincount(cell, omega, minlength=len(X))
        M: Floats = X.T @ (X * D[:, None])
        return cell, X, M, omega

    def calibration_residuals(self, z: Any) -> Floats:
        """Residuals of the calibration regression, ``z_i - x_i' beta``.

        ``beta = (sum_i omega_i x_i x_i')^{-1} sum_i omega_i x_i z_i`` with
        omega the regression weights and x_i the calibration design row of
        :meth:`calibration_regression` (omega the base weights d unless
        ``variance`` or ``trim_weights`` changes them:
        ``CalibrationResult.regression``). The identity when the design is not
        calibrated. ``z`` is (n,) or (n, m).
        """
        values: Floats = np.asarray(z, dtype=np.float64)
        regression = self.calibration_regression()
        if regression is None:
            return values
        cell, X, M, d = regression
        flat = values.reshape(self.n, -1)
        fitted: Floats
        if len(X) == self.n and np.array_equal(cell, np.arange(self.n)):  # units = rows
            beta = np.linalg.solve(M, (X * d[:, None]).T @ flat)
            fitted = X @ beta
            return (flat - fitted).reshape(values.shape)
        dz = np.column_stack(
            [np.bincount(cell, d * flat[:, j], minlength=X.shape[0]) for j in range(flat.shape[1])]
        )
        beta = np.linalg.solve(M, X.T @ dz)
        fitted = (X @ beta)[cell]
        return (flat - fitted).reshape(values.shape)

    def __repr__(self) -> str:
        parts = [f"n={self.n}", f"strata={self.n_strata}", f"psus={self.n_psus}"]
        if len(self.stages) > 1:
            parts.append(f"stages={len(self.stages)}")
        if self.fpc is not None:
            parts.append("fpc")
        if self.calibration is not None:
            parts.append("calibrated")
        if self.replicates is not None:
            parts.append(f"{self.replicates.method} B={self.replicates.B}")
        return f"Design({', '.join(parts)})"


class Stage:
    """One sampling stage of a :class:`Design` (``Design.stages[k - 1]`` is stage k).

    Stage 1 samples PSUs within the design's strata; stage k > 1 samples
    units within every cluster of stage k - 1, which is its *stratum* (R's
    ``svydesign`` nests later-stage strata in the earlier stage's clusters
    the same way). Cluster codes are global and nested: a code names one
    cluster of one stratum, numbered stratum by stratum in sorted label
    order. Stage 1 holds the arrays ``Design.strata``, ``psu``,
    ``psu_stratum``, ``n_psu``, ``fpc``, ``sampling_fraction`` and
    ``certainty`` expose. A single-stage design has one stage.

    Attributes
    ----------
    number : int
        1 for the first stage.
    stratum : ndarray (n,) int64
        Each row's stratum at this stage (stage 1: the design's stratum;
        stage k > 1: the row's cluster code at stage k - 1).
    cluster : ndarray (n,) int64
        Each row's cluster (PSU at stage 1) at this stage, ``0..P_k-1``.
    cluster_stratum : ndarray (P_k,) int64
        The stratum of every cluster.
    n_clusters : ndarray (H_k,) int64
        Sampled clusters per stratum.
    population : ndarray (H_k,) or None
        Population clusters per stratum (None without fpc: sampling with
        replacement, and later stages do not enter the variance).
    sampling_fraction : ndarray (H_k,)
        ``n_clusters / population`` (0 without fpc).
    lonely : ndarray (H_k,) bool
        Strata with a single sampled cluster that are not take-all.
    """

    __slots__ = (
        "number",
        "stratum",
        "cluster",
        "cluster_stratum",
        "n_clusters",
        "population",
        "sampling_fraction",
        "lonely",
    )

    def __init__(
        self,
        number: int,
        stratum: NDArray[np.int64],
        cluster: NDArray[np.int64],
        cluster_stratum: NDArray[np.int64],
        n_clusters: NDArray[np.int64],
        population: NDArray[np.float64] | None,
        lonely: NDArray[np.bool_],
    ) -> None:
        self.number = number
        self.stratum = frozen(stratum)
        self.cluster = frozen(cluster)
        self.cluster_stratum = frozen(cluster_stratum)
        self.n_clusters = frozen(n_clusters)
        self.population = None if population is None else frozen(population)
        self.sampling_fraction = frozen(
            np.zeros(len(n_clusters)) if population is None else n_clusters / population
        )
        self.lonely = frozen(lonely)

    def __repr__(self) -> str:
        return (
            f"Stage({self.number}: {len(self.cluster_stratum)} clusters "
            f"in {len(self.n_clusters)} strata{', fpc' if self.population is not None else ''})"
        )


#: the lonely-PSU policies given as text (a mapping merges strata)
LONELY_POLICIES = ("error", "certainty", "remove", "adjust", "average")


def _check_policy(policy: object) -> None:
    if isinstance(policy, str) and policy not in LONELY_POLICIES:
        raise DesignError(
            f"lonely_psu must be one of {', '.join(map(repr, LONELY_POLICIES))} "
            f"or a mapping of strata to merge, not {policy!r}"
        )


def _stage_specs(data: Any, spec: Any, name: str) -> list[Any]:
    """The per-stage columns of ``psu``/``fpc``: a column name or array is
    one stage; a list or tuple of names or 1-d arrays is one per stage (a
    list of scalars is one array of codes)."""
    if spec is None:
        return []
    if (
        isinstance(spec, (list, tuple))
        and spec
        and all(isinstance(s, str) or np.ndim(s) == 1 for s in spec)
    ):
        if any(s is None for s in spec):
            raise DesignError(f"{name}: a stage without a column (None) in {spec!r}")
        return list(spec)
    return [spec]


def _require_nested(
    strata: NDArray[np.int64],
    strata_labels: list[str],
    psu: NDArray[np.int64],
    psu_labels: list[str] | None,
    spec: Any,
) -> None:
    """PSU codes that repeat across strata are an error without ``nest``
    (R's "Clusters not nested in strata at top level")."""
    pairs = np.unique(np.column_stack([psu, strata]), axis=0)
    crossing = np.flatnonzero(np.bincount(pairs[:, 0]) > 1)
    if crossing.size:
        p = int(crossing[0])
        where = [str(strata_labels[h]) for h in pairs[pairs[:, 0] == p, 1][:3]]
        code = psu_labels[p] if psu_labels is not None else str(p)
        name = spec if isinstance(spec, str) else "codes"
        raise DesignError(
            f"psu {name!r}: {crossing.size} PSU code(s) occur in more than one "
            f"stratum (code {code!r} in strata {', '.join(where)}); PSUs are not nested in strata",
            option="nest",
            remedy="pass nest=True (--nest) if equal codes in different strata are "
            "different PSUs (R's nest = TRUE)",
        )


def _later_stages(
    data: Any,
    first: Stage,
    psu_specs: list[Any],
    fpc_specs: list[Any],
    lonely_psu: Any,
    n: int,
) -> tuple[Stage, ...]:
    """Stages 2.. nested in the clusters of the stage before (R's
    ``svydesign(id = ~psu + ssu, fpc = ~N1 + N2)``). With fpc at stage 1, a
    stage without its own fpc is complete (population = sample, R's
    documented rule; R 4.1.1 errors there); without fpc at stage 1 later
    stages carry no population counts and no lonely check, as they do not
    enter the variance (with-replacement first stage)."""
    stages = [first]
    for k, spec in enumerate(psu_specs, start=2):
        parent = stages[-1]
        local, _ = _codes(data, spec, f"psu (stage {k})", n)
        cluster, cluster_stratum = _nested_psu(parent.cluster, local)
        n_clusters = np.bincount(cluster_stratum, minlength=len(parent.cluster_stratum))
        population = None
        lonely = np.zeros(len(n_clusters), bool)
        if first.population is not None:
            # the parent clusters' names in messages: their numbers (made only
            # here: a design without later stages has a cluster per row)
            labels = [str(c) for c in range(len(parent.cluster_stratum))]
            if k - 2 < len(fpc_specs):
                population = _population(
                    data, fpc_specs[k - 2], parent.cluster, labels, n_clusters, n, stage=k
                )
            if population is None:  # no fpc of its own: a complete stage
                population = n_clusters.astype(np.float64)
            lonely = (n_clusters == 1) & (population > n_clusters)
            if lonely.any() and lonely_psu == "error":
                shown = [labels[c] for c in np.flatnonzero(lonely)[:5]]
                raise DesignError(
                    f"stage {k}: {int(lonely.sum())} stage-{k - 1} cluster(s) with a single "
                    f"sampled unit of psu {spec if isinstance(spec, str) else k!r} "
                    f"(clusters {', '.join(shown)}, numbered from 0 in stratum and label order)",
                    option="lonely_psu",
                    remedy="choose lonely_psu='certainty', 'remove', 'adjust' or 'average'",
                )
        stages.append(
            Stage(k, parent.cluster, cluster, cluster_stratum, n_clusters, population, lonely)
        )
    return tuple(stages)


# -- helpers ----------------------------------------------------------------------


def _sampled_cells(data: Any, margin: Any, n: int, partial: bool) -> Any:
    """``margin`` without its population cells that have no sample unit
    (``partial``), or an error naming them (R's ``postStratify`` rule)."""
    from weighting.errors import EmptyCellError
    from weighting.margins import Margin

    codes, names = zip(
        *(
            encode(category_values(data, v), v, role="post-stratification variable")
            for v in margin.variables
        )
    )
    joint = np.unique(np.column_stack(codes).reshape(n, len(codes)), axis=0)
    present = {tuple(names[k][c] for k, c in enumerate(row)) for row in joint.tolist()}
    empty = [key for key, total in margin.table.items() if key not in present and total > 0]
    if not empty:
        return margin
    if not partial:
        shown = ", ".join(f"{margin.label(k)} (N = {margin.table[k]:g})" for k in empty[:5])
        raise EmptyCellError(
            f"{len(empty)} population cell(s) of {margin.name!r} have no sample unit: {shown}",
            option="partial",
            remedy="pass partial=True to drop them; the weights then sum to the population "
            "total minus theirs",
        )
    return Margin(
        margin.variables, {k: t for k, t in margin.table.items() if k in present}, name=margin.name
    )


def _row_count(data: Any, specs: tuple[Any, ...]) -> int:
    """The sample's rows: the data's when there is data (design arrays must
    then have that length, which ``_values`` checks), else the first array's."""
    if getattr(data, "shape", None) is not None or len(data):
        return n_rows(data)
    for spec in specs:
        if spec is not None and not isinstance(spec, str):
            return len(np.asarray(spec))
    raise KalibError("cannot tell the number of rows: give data or design arrays")


def _values(
    data: Any, spec: Any, name: str, n: int, read: Callable[[Any, str], Any] = column
) -> tuple[Any, str]:
    """The design variable ``spec`` (a column's name, read by ``read``, or the
    values) and its name for messages; DesignError unless it has n rows."""
    label = spec if isinstance(spec, str) else name
    values = read(data, spec) if isinstance(spec, str) else np.asarray(spec)
    if np.shape(values) != (n,):
        raise DesignError(
            f"design variable {label!r} has shape {np.shape(values)}, the sample has {n} rows"
        )
    return values, label


def _codes(data: Any, spec: Any, name: str, n: int) -> tuple[Ints, list[str]]:
    if spec is None:
        return np.zeros(n, np.int64), ["all"]
    values, label = _values(data, spec, name, n, read=category_values)
    return encode(values, label, role=f"design variable ({name})")


def _weights(data: Any, spec: Any, n: int) -> Floats:
    values, label = _values(data, spec, "weights", n)
    return positive_weights(values, f"weights {label!r}", n)


def _merge_lonely(
    labels: list[str], n_psu: Ints, policy: Mapping[Any, Any]
) -> tuple[Ints, list[str]]:
    """Stratum renumbering for a merge mapping {lonely stratum: neighbour}."""
    mapping = {str(k): str(v) for k, v in dict(policy).items()}
    position = {label: h for h, label in enumerate(labels)}
    target = np.arange(len(labels))
    for lonely, neighbour in mapping.items():
        for label in (lonely, neighbour):
            if label not in position:
                raise DesignError(
                    f"lonely_psu merge: stratum {label!r} is not in the "
                    f"design (strata: {', '.join(labels[:10])}"
                    f"{', ...' if len(labels) > 10 else ''})"
                )
        if n_psu[position[lonely]] != 1:
            raise DesignError(
                f"lonely_psu merge: stratum {lonely!r} has {n_psu[position[lonely]]} PSUs, not one"
            )
        if neighbour in mapping:
            raise DesignError(f"lonely_psu merge: neighbour {neighbour!r} is itself merged away")
        target[position[lonely]] = position[neighbour]
    kept = np.flatnonzero(target == np.arange(len(labels)))
    renumber = np.full(len(labels), -1)
    renumber[kept] = np.arange(len(kept))
    return renumber[target], [labels[h] for h in kept]


def _nested_psu(strata: Ints, psu_local: Ints) -> tuple[Ints, Ints]:
    """Global PSU codes nested in strata, ordered by (stratum, PSU label)."""
    key = strata * (int(psu_local.max()) + 1) + psu_local
    uniques, codes = np.unique(key, return_inverse=True)
    psu_stratum = uniques // (int(psu_local.max()) + 1)
    return codes.astype(np.int64).reshape(-1), psu_stratum.astype(np.int64)


def _row_psu(strata: Ints, n_strata: int) -> tuple[Ints, Ints]:
    """:func:`_nested_psu` of a design whose PSUs are its rows (the PSU labels
    ``0..n-1``): PSUs ordered by stratum, then row, without sorting n distinct
    keys. A stable sort of the strata codes gives that order; codes that fit
    16 bits are sorted as such, which numpy does by counting (radix sort),
    not by comparing."""
    small = strata.astype(np.uint16) if n_strata <= 1 << 16 else strata
    order = np.argsort(small, kind="stable")
    codes = np.empty(strata.size, np.int64)
    codes[order] = np.arange(strata.size)
    return codes, strata[order]


def _population(
    data: Any,
    spec: Any,
    strata: NDArray[np.int64],
    labels: list[str],
    n_psu: NDArray[np.int64],
    n: int,
    stage: int = 1,
) -> NDArray[np.float64] | None:
    """Population PSU count per stratum from a per-row fpc column (or None).

    At stage k > 1 the strata are the clusters of stage k - 1 (numbered in
    ``labels``) and the fpc must be constant within each."""
    if spec is None:
        return None
    values, label = _values(data, spec, "fpc", n)
    values = numeric(values, f"fpc {label!r}", error=DesignError)
    bad = ~(np.isfinite(values) & (values > 0))
    if bad.any():
        rows = np.flatnonzero(bad)
        raise DesignError(
            f"fpc {label!r}: {rows.size} value(s) not positive and finite "
            f"(first at row {rows[0] + 1})",
            row=rows[0],
        )
    H = len(labels)
    low = np.full(H, np.inf)
    high = np.full(H, -np.inf)
    np.minimum.at(low, strata, values)
    np.maximum.at(high, strata, values)
    varying = np.flatnonzero(low != high)
    if varying.size:
        h = varying[0]
        raise DesignError(
            f"fpc {label!r} is not constant within "
            f"{'stratum' if stage == 1 else f'stage-{stage - 1} cluster'} "
            f"{labels[h]!r} ({low[h]:g} to {high[h]:g})"
        )
    if np.all(low <= 1):  # sampling fractions (R's svydesign rule)
        return np.asarray(n_psu / low, dtype=np.float64)
    small = np.flatnonzero(low < n_psu)
    if small.size:
        h = small[0]
        raise DesignError(
            f"fpc {label!r}: population count {low[h]:g} in stratum "
            f"{labels[h]!r} is below its {n_psu[h]} sampled "
            f"{'PSUs' if stage == 1 else f'stage-{stage} units'}"
        )
    return np.asarray(low, dtype=np.float64)


def _check_totals_input(
    values: Any, groups: Any, n_groups: int | None, n: int
) -> tuple[Floats, Ints, int]:
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2 or values.shape[0] != n:
        raise KalibError(f"values have shape {values.shape}, expected ({n}, k)")
    if not np.all(np.isfinite(values)):
        rows = np.flatnonzero(~np.isfinite(values).all(axis=1))
        raise MissingValueError(
            f"values have {rows.size} row(s) with missing or "
            f"non-finite entries (first at row {rows[0] + 1})",
            row=rows[0],
        )
    if groups is None:
        groups = np.zeros(n, np.int64)
        n_groups = 1
    else:
        groups = np.asarray(groups)
        if groups.shape != (n,) or groups.dtype.kind not in "iu":
            raise KalibError(
                f"groups must be ({n},) integer codes, got {groups.shape} {groups.dtype}"
            )
        groups = groups.astype(np.int64)
        if n_groups is None:
            n_groups = int(groups.max()) + 1 if n else 0
        if n and (groups.min() < 0 or groups.max() >= n_groups):
            raise KalibError(f"group codes must lie in 0..{n_groups - 1}")
    return np.ascontiguousarray(values), np.ascontiguousarray(groups), int(n_groups)
