"""``kalib report``: load → validate → design → calibrate → replicate →
estimate → sensitivity → analysis → figures → page → write.

A report has one *part* per survey (by default both bundled surveys: the
employer survey and the staff survey). Each step is a small method of
:class:`ReportRun`, listed in order in ``ReportRun.PIPELINE``; the steps up
to ``analysis`` run on every part in turn (:class:`Part`). One pool of worker processes
(:class:`~estimators.report.workers.Workers`) fits the regression analysis,
started as soon as its design is complete (``replicate``), while this
process estimates; it then draws the figures (those of the estimates while
``analysis`` waits for the models, ``figures`` waits for them all). ``page``
renders one page with a section per part and ``write`` writes the files of
all parts. :meth:`ReportRun.run`
records the wall-clock time of each step, and of each part's share of it,
in ``run.json``. Whatever belongs to a survey (its data, codebook, design,
margins and their variants, key rates, domains, labels) comes from its
:class:`~estimators.surveys.base.SurveyConfig`.

Everything is written into a temporary sibling of ``--out`` which is renamed
into place only when the whole report is complete, so an error leaves no
half-written report behind.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import pickle
import platform
import re
import shutil
import sys
import time
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from estimators.inference.catalog import estimate_catalog
from estimators.inference.results import KEYRATE_COLUMNS, Results
from estimators.io.files import check_writable, staged_directory, temporary_sibling
from estimators.io.replicate_file import write_replicate_weights
from estimators.report.html import Figure, Page, render
from estimators.report.labels import SURVEYS, flag_rules, text
from estimators.report.workers import Workers
from estimators.surveys.base import SurveyConfig
from weighting.columns import numeric
from weighting.errors import KalibError

#: keyrates.csv: the catalog columns, then the survey of the row (last, so
#: that scripts reading the earlier columns by position keep working).
REPORT_COLUMNS = KEYRATE_COLUMNS + ["survey"]


@dataclass(frozen=True)
class ReportSettings:
    """The settings of one report run (the ``kalib report`` options).

    ``survey`` is ``"all"`` (every bundled survey, one part each) or one
    survey id. A ``sample``, ``margins`` or a design option (``weight``,
    ``strata``, ``psu``, ``fpc``) describes one survey's sample, so with any
    of them ``"all"`` means the employer survey (as before there were two):
    ``kalib report`` names the survey a SAMPLE belongs to from its columns.
    """

    sample: Path | None = None
    margins: tuple[Path, ...] = ()
    id: str = "id"
    weight: str | None = None
    strata: str | None = None
    psu: str | tuple[str, ...] | None = None  # a tuple: one column per sampling stage
    fpc: str | tuple[str, ...] | None = None
    nest: bool = False
    lonely_psu: str | dict = "error"
    calibration: str = "raking"
    bounds: tuple[float, float] | None = None
    trim: tuple | None = None
    tol: float = 1e-10
    max_iter: int = 1000
    allow_unconverged: bool = False
    normalize_margins: bool = False
    variance: str = "bootstrap"
    replicates: int = 1000
    seed: int = 20170602
    ci: str = "logit"
    level: float = 0.95
    lang: str = "en"
    out: Path = Path("report")
    force: bool = False
    quiet: bool = False
    survey: str = "all"

    @property
    def bundled(self) -> bool:
        return self.sample is None

    @property
    def design_options(self) -> bool:
        """Whether the design comes (partly) from the options."""
        return any(v is not None for v in (self.weight, self.strata, self.psu, self.fpc))

    def as_json(self) -> dict:
        d = asdict(self)
        d["sample"] = None if self.sample is None else str(self.sample)
        d["margins"] = [str(m) for m in self.margins]
        d["out"] = str(self.out)
        return d


def bundled_survey(survey_id: str) -> SurveyConfig:
    """The configuration of a bundled survey by id."""
    if survey_id == "employers_2017":
        from estimators.surveys.employers import SURVEY
    elif survey_id == "ai_staff_2017":
        from estimators.surveys.ai_staff import SURVEY
    else:
        raise KalibError(
            f"unknown survey {survey_id!r}; choose one of {', '.join(SURVEYS)} or all"
        )
    return SURVEY


def report_surveys(settings: ReportSettings, survey=None) -> list[SurveyConfig]:
    """The surveys of a run: ``survey`` (one configuration or several) when
    given, else those ``settings.survey`` names (see :class:`ReportSettings`)."""
    if survey is not None:
        return [survey] if isinstance(survey, SurveyConfig) else list(survey)
    if settings.survey != "all":
        return [bundled_survey(settings.survey)]
    if settings.sample is not None or settings.margins or settings.design_options:
        return [bundled_survey(SURVEYS[0])]
    return [bundled_survey(s) for s in SURVEYS]


@dataclass
class Part:
    """One survey's part of a report; the attributes fill in step by step.

    ``own_design`` says whether the part uses the survey's own design (its
    bundled data without design options), which its design variants and
    assumptions describe."""

    survey: SurveyConfig
    own_design: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    inputs: list[dict] = field(default_factory=list)
    # Set by a step and read by the later ones (None before): typed Any, as a
    # step reads them set. data: DataFrame (load); design and uncalibrated:
    # Design or the Dask layer's ChunkedDesign (design, calibrate); results:
    # Results and keyrates: DataFrame (estimate); analysis: the survey's
    # analysis as the page shows it (ModelSection), or None when it has none.
    data: Any = None
    margins: list = field(default_factory=list)
    margin_sources: list[tuple[str, str]] = field(default_factory=list)
    design: Any = None
    uncalibrated: Any = None
    results: Any = None
    keyrates: Any = None
    sensitivity: pd.DataFrame | None = None
    variant_designs: dict = field(default_factory=dict)
    variant_shares: dict | None = None
    clustering: pd.DataFrame | None = None
    analysis: ModelSection | None = None
    figures: list[Figure] = field(default_factory=list)

    @property
    def variance(self) -> str:
        """The method this part's variance is estimated by."""
        return "linearization" if self.design.replicates is None else self.design.method


@dataclass
class ReportRun:
    """One run of the report.

    ``survey`` is a survey configuration, a list of them, or None for those
    ``settings.survey`` names (default: both bundled surveys)."""

    settings: ReportSettings
    survey: object = None
    parts: list[Part] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    html: str = ""
    # the worker processes during run(), the analyses they fit (survey id ->
    # future, from step_replicate) and the figures started before step
    # figures, ``(part, name, caption, section, kind, args)`` in order
    _workers: Workers | None = field(default=None, init=False, repr=False)
    _analyses: dict[int, Future] = field(default_factory=dict, init=False, repr=False)
    _figure_jobs: list[tuple] = field(default_factory=list, init=False, repr=False)
    # keyrates.nc and the replicate weights, written by the workers from
    # step figures on into a temporary directory beside --out (moved into
    # the output by step write), and their jobs
    _early_dir: Path | None = field(default=None, init=False, repr=False)
    _early_jobs: list[Future] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self):
        s = self.settings
        own = s.bundled and not s.design_options
        self.parts = [Part(survey, own_design=own) for survey in report_surveys(s, self.survey)]
        if s.ci == "percentile":
            for part in self.parts:
                if (part.survey.variance or s.variance) == "linearization":
                    raise KalibError(
                        f"--ci percentile needs bootstrap replicates; the survey "
                        f"{part.survey.id} is estimated by linearization (choose another "
                        "--ci" + (" or --survey" if len(self.parts) > 1 else "") + ")"
                    )

    # -- driver ---------------------------------------------------------------

    def run(self) -> Path:
        """Run every step of ``PIPELINE``; return the output directory."""
        s = self.settings
        out = Path(s.out)
        check_writable(out, s.force, directory=True)
        bar = _progress(s, len(self.PIPELINE), "kalib report")
        try:
            with bar, Workers() as self._workers:
                self._workers.start()
                for name, step in self.PIPELINE:
                    bar.set_postfix_str(name)
                    start = time.perf_counter()
                    step(self)
                    self.timings[name] = time.perf_counter() - start
                    bar.update()
        finally:
            self._workers = None  # they have ended: none writes into _early_dir
            self._analyses = {}
            if self._early_dir is not None:
                shutil.rmtree(self._early_dir, ignore_errors=True)
                self._early_dir, self._early_jobs = None, []
        return out

    @property
    def workers(self) -> Workers:
        """The worker processes of :meth:`run` (a step run on its own runs
        its jobs in this process)."""
        if self._workers is None:
            self._workers = Workers(fork=False)
        return self._workers

    def _each_part(self, name: str, step) -> None:
        """Run ``step(part)`` on every part, timing each part's share."""
        for part in self.parts:
            start = time.perf_counter()
            step(part)
            part.timings[name] = time.perf_counter() - start

    # -- steps ------------------------------------------------------------------

    def step_load(self):
        """Read the margins and the sample (the survey's bundled data by default)."""
        s = self.settings

        def load(part):
            survey = part.survey
            if s.margins:
                from estimators.io.files import read_margins

                part.margins = [read_margins(p) for p in s.margins]
                part.inputs += [_file_input("margins", p) for p in s.margins]
                part.margin_sources = [(m.name, str(p)) for m, p in zip(part.margins, s.margins)]
            elif survey.calibrated:
                part.margins = survey.margins(survey.central)
                part.margin_sources = survey.margin_sources(part.margins, survey.central)
                if not s.bundled:
                    part.inputs.append(_file_input("margins", survey.margins_file))
            if s.bundled:
                part.data = survey.load()  # validated on load
                part.inputs += _bundled_inputs(survey.data_dir)
            else:
                from estimators.io.cati import read_cati_csv, read_cati_sav

                reader = read_cati_sav if s.sample.suffix.lower() == ".sav" else read_cati_csv
                part.data = reader(s.sample, survey.codebook(), check=False)
                part.inputs.append(_file_input("sample", s.sample))

        self._each_part("load", load)

    def step_validate(self):
        """A given sample against the codebook (one line naming column and id);
        design columns numeric; ids unique; margin variables present."""
        s = self.settings

        def validate_part(part):
            if not s.bundled:
                from estimators.io.cati import to_analysis_frame
                from estimators.io.validate import ValidationError, validate

                codebook = part.survey.codebook()
                report = validate(part.data, codebook, id_column=s.id)
                if not report.ok:
                    raise ValidationError(report, str(s.sample))
                part.data = to_analysis_frame(part.data, codebook)
                fpcs = (s.fpc,) if s.fpc is None or isinstance(s.fpc, str) else s.fpc
                for column in (s.weight, *fpcs):
                    if column is not None:
                        part.data[column] = _numeric_column(part.data, column)
            data = part.data
            if s.id not in data:
                raise KalibError(f"id column {s.id!r} not found in the sample")
            dup = data[s.id][data[s.id].duplicated()]
            if len(dup):
                raise KalibError(
                    f"id column {s.id!r}: value {dup.iloc[0]!r} occurs more than once"
                )
            for m in part.margins:
                for v in m.variables:
                    if v not in data:
                        raise KalibError(
                            f"margin {m.name!r}: variable {v!r} is not a column of the sample"
                        )

        self._each_part("validate", validate_part)

    def step_design(self):
        """The sampling design: the survey's own (``SurveyConfig.design`` of its
        central variant) for its bundled data; otherwise from the design
        options, the bundled data's columns filling in those not given."""
        from weighting.design import Design

        s = self.settings

        def design(part):
            survey = part.survey
            if part.own_design:
                part.design = survey.design(part.data, survey.central)
            else:
                weight, strata, fpc = s.weight, s.strata, s.fpc
                if s.bundled:
                    weight, strata = weight or survey.weights, strata or survey.strata
                    fpc = fpc or survey.fpc
                part.design = Design(
                    part.data,
                    weights=weight,
                    strata=strata,
                    psu=s.psu,
                    fpc=fpc,
                    nest=s.nest,
                    lonely_psu=s.lonely_psu,
                )
            part.uncalibrated = part.design

        self._each_part("design", design)

    def step_calibrate(self):
        """Calibrate the base weights to the margins (``--calibration``); a
        survey without margins (the staff survey) is not calibrated."""
        spec = _calibration_spec(self.settings)

        def calibrate(part):
            if part.margins:
                part.design = part.design.calibrate(part.margins, spec=spec)

        self._each_part("calibrate", calibrate)

    def step_replicate(self):
        """Replicate weights, each replicate re-calibrated to the same margins
        (``--variance``, unless the survey has its own method).

        The design is then complete: a survey's regression analysis and the
        figures of its sample and weights are handed to the worker processes
        here, to be fitted and drawn while this process estimates
        (``analysis`` collects the analysis, ``figures`` the figures)."""
        s = self.settings

        def replicate(part):
            variance = part.survey.variance or s.variance
            if variance != "linearization":
                part.design = part.design.with_replicates(
                    variance, replicates=s.replicates, seed=s.seed
                )
            analysis = part.survey.analysis
            if analysis is not None and self.workers.parallel and _picklable(analysis):
                self._analyses[id(part)] = self.workers.call(
                    model_section, part.survey.analysis, part.design, s.lang
                )
            self._draw(part, design_figure_jobs(part, s))

        self._each_part("replicate", replicate)

    def step_estimate(self):
        """Every key rate of the catalog for every domain, with SE, CI and
        flag; their forest plots are handed to the workers."""
        s = self.settings

        def estimate(part):
            part.results = estimate_catalog(
                part.design, part.survey.catalog, part.survey.domains, ci=s.ci, level=s.level
            )
            part.keyrates = keyrate_frame(part.results)
            self._draw(part, forest_figure_jobs(part, s))

        self._each_part("estimate", estimate)

    def _start_files(self) -> None:
        """Hand keyrates.nc and the replicate weights to the workers behind
        the last figure: they write them (xarray imported for it) into a
        temporary directory beside --out while this process renders the
        page, instead of after it while this process waits; step write moves
        them into the output. Without workers, or where the directory cannot
        be made, step write writes them."""
        if self._workers is None or not self._workers.parallel:
            return
        s = self.settings
        try:
            # beside the directory step write replaces (a link's target)
            early = temporary_sibling(check_writable(Path(s.out), s.force, directory=True))
        except KalibError:
            return  # step write names the output it cannot write
        # recorded before the jobs are handed over (which builds the results):
        # an interrupt meanwhile must find it for run() to remove
        self._early_dir = early
        self._early_jobs = self._file_jobs(early)

    def _file_jobs(self, directory: Path) -> list[Future]:
        """The workers' jobs writing keyrates.nc and each part's replicate
        weights into ``directory``."""
        s = self.settings
        jobs = [
            self.workers.call(write_keyrates_netcdf, self.results(), directory / "keyrates.nc")
        ]
        jobs += [
            self.workers.call(
                write_replicate_weights,
                part.design,
                directory / f"{part.survey.prefix}replicate_weights.parquet",
                ids=part.data[s.id].to_numpy(),
            )
            for part in self.parts
            if part.design.replicates is not None
        ]
        return jobs

    def step_sensitivity(self):
        """Point estimates under the survey's other variants (the employer
        survey: low and high public share of the margins; the staff survey:
        low and high staff response, i.e. other population sizes, weights and
        fpc), and the intervals widened under assumed clustering (the staff
        survey's companies). Variants need the survey's own margins, or its
        own design when it is not calibrated."""
        s = self.settings
        spec = _calibration_spec(s)

        def sensitivity(part):
            survey = part.survey
            variants = survey.sensitivity
            if variants is not None and not s.margins and (survey.calibrated or part.own_design):
                from estimators.inference.estimate import rate_items

                items = rate_items(part.design, survey.catalog)
                columns = {}
                for column, variant in variants.columns:
                    design = (
                        survey.design(part.data, variant) if part.own_design else part.uncalibrated
                    )
                    if survey.calibrated:
                        design = design.calibrate(survey.margins(variant), spec=spec)
                    part.variant_designs[variant] = design
                    columns[column] = point_estimates(design, survey.domains, items)
                part.sensitivity = pd.DataFrame(columns)
                part.variant_shares = {
                    key: variants.share(part.data, variant)
                    for key, variant in variants.share_variants
                }
            if survey.clustering is not None and part.own_design:
                part.clustering = clustered_intervals(
                    part.design, part.results.frame, survey, s.ci, s.level
                )

        self._each_part("sensitivity", sensitivity)

    def step_analysis(self):
        """The survey's regression analysis, when it has one (the sample has
        the codebook's columns, bundled or validated): the one a worker has
        been fitting since ``replicate``, or fitted here when there are no
        workers."""
        s = self.settings

        def analysis(part):
            survey = part.survey
            if id(part) in self._analyses:
                part.analysis = self._analyses.pop(id(part)).result()
            elif survey.analysis is not None:
                part.analysis = model_section(survey.analysis, part.design, s.lang)

        self._each_part("analysis", analysis)

    def step_figures(self):
        """Draw the analysis' figures, and wait for every figure (the others
        were started by ``replicate`` and ``estimate``). A part's figures are
        in the order of :func:`design_figure_jobs`, :func:`forest_figure_jobs`
        and :func:`model_figure_jobs`."""
        s = self.settings
        for part in self.parts:
            self._draw(part, model_figure_jobs(part, s))
        self._start_files()
        jobs, self._figure_jobs = self._figure_jobs, []
        with _progress(s, len(jobs), "figures") as bar:
            pngs = self.workers.collect(progress=bar)
        for part in self.parts:
            part.figures = []
        for (part, name, caption, section, _, _), png in zip(jobs, pngs):
            part.figures.append(Figure(part.survey.prefix + name, caption, png, section))

    def _draw(self, part: Part, jobs: list[tuple]) -> None:
        """Start drawing ``jobs`` of ``part`` (``(name, caption, section,
        kind, args)``); :meth:`step_figures` collects them."""
        self._figure_jobs += [(part, *job) for job in jobs]
        self.workers.submit((kind, args) for *_, kind, args in jobs)

    def step_page(self):
        """Render index.html: one section per part, then the software."""
        s = self.settings
        pages = [part_page(part, s) for part in self.parts]
        self.html = render(
            pages,
            versions=versions(),
            files=output_files(self.parts),
            generated=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        )

    def step_write(self):
        """Write every file into a temporary sibling of --out, then rename it
        into place (an existing --out only with --force)."""
        with staged_directory(Path(self.settings.out), self.settings.force) as tmp:
            try:
                self._write_files(tmp)
            except BaseException:
                # nothing may be written into tmp once it is removed: a
                # worker's job still writing is ended first
                self.workers.stop()
                raise

    #: The steps in order: (name in run.json, method).
    PIPELINE = (
        ("load", step_load),
        ("validate", step_validate),
        ("design", step_design),
        ("calibrate", step_calibrate),
        ("replicate", step_replicate),
        ("estimate", step_estimate),
        ("sensitivity", step_sensitivity),
        ("analysis", step_analysis),
        ("figures", step_figures),
        ("page", step_page),
        ("write", step_write),
    )

    # -- results ------------------------------------------------------------------

    @property
    def keyrates(self) -> pd.DataFrame:
        """The keyrates.csv frame: every part's key rates, with ``survey`` last."""
        return pd.concat(
            [part.keyrates.assign(survey=part.survey.id) for part in self.parts], ignore_index=True
        )

    def results(self) -> Results:
        """Every part's estimates as one :class:`Results` (``survey`` column
        added; the settings common to the parts unprefixed, the others as
        ``<survey>.<setting>``)."""
        frame = pd.concat(
            [part.results.frame.assign(survey=part.survey.id) for part in self.parts],
            ignore_index=True,
        )
        attrs = {}
        for key in dict.fromkeys(k for part in self.parts for k in part.results.attrs):
            values = [part.results.attrs.get(key) for part in self.parts]
            if all(v == values[0] for v in values):
                attrs[key] = values[0]
            else:
                attrs.update({f"{part.survey.id}.{key}": v for part, v in zip(self.parts, values)})
        attrs["surveys"] = " ".join(part.survey.id for part in self.parts)
        return Results(frame, attrs)

    def part(self, survey_id: str) -> Part:
        """The part of survey ``survey_id``."""
        for part in self.parts:
            if part.survey.id == survey_id:
                return part
        raise KeyError(survey_id)

    def _write_files(self, tmp: Path):
        start = time.perf_counter()
        s = self.settings
        (tmp / "figures").mkdir()
        for part in self.parts:
            for fig in part.figures:
                (tmp / "figures" / f"{fig.name}.png").write_bytes(fig.png)
        (tmp / "index.html").write_text(self.html, encoding="utf-8")
        # keyrates.nc and the replicate weights by the workers (begun by
        # step estimate, or now), while this process writes the other files
        early = self._early_dir
        jobs = self._early_jobs if early is not None else self._file_jobs(tmp)
        self._write_tables(tmp, self.results())
        for job in jobs:
            job.result()
        if early is not None:
            for path in early.iterdir():
                path.replace(tmp / path.name)
        self.timings["write"] = time.perf_counter() - start
        record = {
            "kalib_report": 2,
            "surveys": [part.survey.id for part in self.parts],
            "inputs": [
                {**item, "survey": part.survey.id} for part in self.parts for item in part.inputs
            ],
            "settings": s.as_json(),
            "versions": versions(),
            "timings_seconds": {k: round(v, 4) for k, v in self.timings.items()},
            "total_seconds": round(sum(self.timings.values()), 4),
            "parts": {
                part.survey.id: {
                    "n": int(part.design.n),
                    "variance": part.variance,
                    # the steps run part by part (figures, page and write are shared)
                    "timings_seconds": {k: round(v, 4) for k, v in part.timings.items()},
                    "calibration": calibration_record(part.design),
                    "replicates": replicate_record(part.design),
                }
                for part in self.parts
            },
            "outputs": sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file()),
        }
        (tmp / "run.json").write_text(
            json.dumps(record, indent=2, default=_json_default) + "\n", encoding="utf-8"
        )

    def _write_tables(self, tmp: Path, results: Results):
        """keyrates.csv and weights.csv."""
        s = self.settings
        results.to_csv(tmp / "keyrates.csv", columns=REPORT_COLUMNS)
        pd.concat(
            [
                pd.DataFrame(
                    {
                        "id": part.data[s.id].to_numpy(),
                        "base_weight": part.design.base_weights,
                        "weight": part.design.weights,
                        "survey": part.survey.id,
                    }
                )
                for part in self.parts
            ]
        ).to_csv(tmp / "weights.csv", index=False)


def write_keyrates_netcdf(results: Results, path: Path) -> None:
    """keyrates.nc: ``results.to_dataset()`` with the survey of each rate."""
    dataset = results.to_dataset()
    surveys = dict(zip(results.frame["rate"], results.frame["survey"]))
    dataset = dataset.assign_coords(survey=("rate", [surveys[r] for r in dataset["rate"].values]))
    dataset.to_netcdf(path)


def output_files(parts) -> list[str]:
    """The files of the report directory (replicate weights only with replicates)."""
    reps = [
        f"{part.survey.prefix}replicate_weights.{ext}"
        for part in parts
        if part.design.replicates is not None
        for ext in ("parquet", "json")
    ]
    return [
        "index.html",
        "keyrates.csv",
        "keyrates.nc",
        "weights.csv",
        *reps,
        "figures/*.png",
        "run.json",
    ]


STEPS = tuple(name for name, _ in ReportRun.PIPELINE)


def build_report(settings: ReportSettings, survey=None) -> ReportRun:
    """Run the report with ``settings`` on ``survey`` (a survey configuration
    or a list of them; default: those ``settings.survey`` names, both bundled
    surveys unless a sample or design options are given); return the
    finished run."""
    run = ReportRun(settings, survey)
    run.run()
    return run


# -- one part's page and figures ------------------------------------------------------


def page_frame(part: Part, settings: ReportSettings) -> pd.DataFrame:
    """A part's key rates with the page's extra columns: the sensitivity
    estimates, the widened intervals, the kind of estimate (``proportion``
    or ``mean``), the published value's printed decimals and the interval
    of one stated in words, and the explanation of any difference."""
    frame = part.keyrates.assign(kind=part.results.frame["kind"].to_numpy())
    keys = ["rate", "domain_var", "domain"]
    if part.sensitivity is not None:
        frame = frame.join(part.sensitivity, on=keys)
    else:
        frame = frame.assign(sens_low=np.nan, sens_high=np.nan)
    if part.clustering is not None:
        frame = frame.join(part.clustering, on=keys)
    lang, survey = settings.lang, part.survey
    published = [
        survey.published(*k) for k in zip(frame["rate"], frame["domain_var"], frame["domain"])
    ]

    def attr(name, default):
        return [
            default if p is None or getattr(p, name) is None else getattr(p, name)
            for p in published
        ]

    return frame.assign(
        published_decimals=[np.nan if p is None else p.decimals for p in published],
        published_low=attr("low", np.nan),
        published_high=attr("high", np.nan),
        published_text=attr("text", ""),
        note=[
            survey.explain(*k, lang) if settings.bundled else ""
            for k in zip(frame["rate"], frame["domain_var"], frame["domain"])
        ],
    ).reset_index(drop=True)


def rate_labels(part: Part, lang: str) -> dict[str, str]:
    """Rate id -> its page label in the page's language."""
    return {r: part.survey.rate_label(r, lang) for r in part.keyrates["rate"].unique()}


def design_figure_jobs(part: Part, s: ReportSettings) -> list[tuple]:
    """The figures of one part's sample and weights, drawn from its design:
    ``(name, caption, section, kind, args)``, ``kind`` a function of
    :mod:`estimators.report.figures`."""
    survey = part.survey
    t = text(s.lang, survey.text)
    d = part.design
    jobs: list[tuple[str, str, str, str, tuple[Any, ...]]] = []
    if part.margins:
        jobs.append(
            (
                "sample_vs_register",
                t["fig_sample"],
                "sample",
                "sample_vs_population",
                (margin_shares(part.data, d, part.margins), t),
            )
        )
    elif survey.strata in part.data:
        rows = strata_shares(part.data, d, survey.strata, t)
        jobs.append(
            (
                "sample_vs_frame",
                t["frame_fig"],
                "sample",
                "sample_vs_population",
                (rows.assign(margin=survey.strata, category=rows["label"]), t),
            )
        )
    if d.calibration is not None:
        jobs.append(
            (
                "weights",
                t["fig_weights"],
                "weights",
                "weight_distribution",
                (d.weights, g_factors(d), t),
            )
        )
    conv = replicate_convergence(d)
    if conv is not None:
        jobs.append(
            (
                "replicate_convergence",
                t["fig_convergence"],
                "weights",
                "replicate_convergence",
                (conv["iterations"], conv["error"], t),
            )
        )
    return jobs


def forest_figure_jobs(part: Part, s: ReportSettings) -> list[tuple]:
    """The forest plots of one part's key rates, one per group of rates, as
    :func:`design_figure_jobs`."""
    survey = part.survey
    t = text(s.lang, survey.text)
    frame = part.keyrates.assign(kind=part.results.frame["kind"].to_numpy())
    labels = rate_labels(part, s.lang)
    groups: dict[str, list[str]] = {}
    for rate in dict.fromkeys(frame["rate"]):
        groups.setdefault(survey.rate_group(rate), []).append(rate)
    jobs = []
    for key, rates in groups.items():
        columns = frame[frame["rate"].isin(rates)]
        group = survey.group_label(key, s.lang) or t["other_rates"]
        caption = t["forest_caption"].format(group=group, level=100 * s.level)
        means = set(columns.loc[columns["kind"] == "mean", "rate"])
        scale, axis = (1, t["mean_axis"]) if means == set(rates) else (100, t["percent"])
        jobs.append(
            (
                f"forest_{key}",
                caption,
                "forest",
                "forest",
                (columns, rates, labels, t, s.level, survey.forest_domains, scale, axis),
            )
        )
    return jobs


@dataclass(frozen=True)
class ModelSection:
    """A survey's regression analysis as the page shows it: the section's
    HTML and its figures, ``(name, caption, frame)`` predicted category
    distributions (:class:`~estimators.surveys.base.SurveyConfig`'s
    ``analysis``), in the page's language."""

    html: str
    figures: list[tuple[str, str, pd.DataFrame]]


def model_section(analysis, design, lang: str) -> ModelSection:
    """Fit ``analysis(design)`` (a survey's ``analysis``) and write its section.

    Run by a worker process: what it sends back is plain text and frames, so
    the main process never imports the models (patsy)."""
    fitted = analysis(design)
    return ModelSection(fitted.to_html(lang=lang), fitted.figures(lang))


def model_figure_jobs(part: Part, s: ReportSettings) -> list[tuple]:
    """The figures of one part's regression analysis, as :func:`design_figure_jobs`."""
    if part.analysis is None:
        return []
    t = text(s.lang, part.survey.text)
    return [
        (name, caption, "model", "category_distribution", (table, t))
        for name, caption, table in part.analysis.figures
    ]


def part_page(part: Part, s: ReportSettings) -> Page:
    """The page of one part, from its plain frames."""
    survey, d = part.survey, part.design
    frame = page_frame(part, s)
    clustering = clustering_summary(part) if part.clustering is not None else None
    strata = None
    if survey.strata in part.data:
        t = text(s.lang, survey.text)
        strata = strata_shares(part.data, d, survey.strata, t)
        # the population of design variants (not of margin variants: those
        # re-weight after calibration, the base weights stay)
        for key, variant in (
            survey.sensitivity.share_variants if survey.sensitivity is not None else ()
        ):
            design = part.variant_designs.get(variant)
            if design is not None and design.calibration is None:
                strata[f"register_total_{key}"] = strata_shares(
                    part.data, design, survey.strata, t
                )["register_total"].to_numpy()
    return Page(
        lang=s.lang,
        level=s.level,
        keyrates=frame,
        rate_labels=rate_labels(part, s.lang),
        margin_shares=(margin_shares(part.data, d, part.margins) if part.margins else None),
        strata=strata,
        weight_stats=weight_stats(d, s.lang),
        figures=part.figures,
        flag_rules=flag_rules(s.lang),
        settings=methods_settings(s, part),
        margin_sources=part.margin_sources,
        model_html=(part.analysis.html if part.analysis is not None else None),
        variant_shares=part.variant_shares,
        survey_text=survey.text,
        prefix=survey.prefix,
        clustering=clustering,
        table_domains=survey.table_domains,
        assumptions=(
            survey.assumptions(part.data, s.lang)
            if survey.assumptions is not None and part.own_design
            else []
        ),
    )


# -- tables computed from the design -------------------------------------------------


def keyrate_frame(results) -> pd.DataFrame:
    """The tidy key-rate frame (exactly the keyrates.csv columns, in order)."""
    frame = results.keyrates()
    frame["domain"] = frame["domain"].astype(str)
    return frame.reset_index(drop=True)


def _domain_sums(design, domains, items, values):
    """``sum_i values[i, j] 1[domain d]`` for every item j and domain d of
    every domain specification: ``(spec, labels, (D, k) sums)`` per spec."""
    from estimators.inference.domains import domain_codes

    for spec in domains:
        codes, labels = domain_codes(design.data, spec)
        onehot = np.zeros((design.n, len(labels)))
        onehot[np.arange(design.n), codes] = 1.0
        yield spec, labels, onehot.T @ values


def _index(spec, labels, items) -> pd.MultiIndex:
    return pd.MultiIndex.from_tuples(
        [(it.rate, spec, label) for label in labels for it in items],
        names=["rate", "domain_var", "domain"],
    )


def point_estimates(design, domains, items) -> pd.Series:
    """Weighted key-rate shares, ``sum_i w_i 1[num & base & domain] /
    sum_i w_i 1[base & domain]``, indexed by (rate, domain_var, domain).

    The point estimates of ``estimate_catalog`` without its variance, for
    the sensitivity columns. ``items`` (``estimators.inference.estimate.rate_items``
    of the catalog) depend on the data only, so one list serves every variant.
    """
    w = np.asarray(design.weights, float)[:, None]
    base = np.stack([it.base for it in items], axis=1).astype(float) * w
    num = np.stack([it.num for it in items], axis=1) * base
    k = len(items)
    parts = []
    for spec, labels, sums in _domain_sums(design, domains, items, np.hstack([num, base])):
        with np.errstate(divide="ignore", invalid="ignore"):
            share = sums[:, :k] / sums[:, k:]
        parts.append(pd.Series(share.reshape(-1), index=_index(spec, labels, items)))
    return pd.concat(parts)


def clustered_intervals(
    design, frame, survey: SurveyConfig, ci: str, level: float
) -> pd.DataFrame:
    """The confidence intervals of every key-rate estimate widened by an
    assumed clustering (:class:`~estimators.surveys.base.Clustering`).

    For an estimate whose base in its domain holds ``n_c`` clustered rows,
    ``m = take(n_c)`` and ``f = 1 + (m - 1) rho`` (Kish 1965, 5.4); the
    standard error becomes ``se sqrt(f)`` and the interval is recomputed
    with the run's method (a proportion's ``--ci``, ``estimate +- t se`` for
    a mean) on the same design degrees of freedom. R has no counterpart (R's
    ``survey`` would need the cluster ids); with ``rho = 0`` the intervals are
    ``estimate_catalog``'s.

    Returns
    -------
    DataFrame indexed by (rate, domain_var, domain) with ``m`` and, for the
    k-th ``rho``, ``clus{k}_factor``, ``clus{k}_low``, ``clus{k}_high``.
    """
    from estimators.inference.ci import proportion_ci, wald_ci
    from estimators.inference.estimate import rate_items

    clustering = survey.clustering
    assert clustering is not None  # called for a survey with a clustering
    items = rate_items(design, survey.catalog)
    clustered = np.asarray(clustering.clustered.mask(design.data), float)[:, None]
    base = np.stack([it.base for it in items], axis=1).astype(float)
    counts = pd.concat(
        [
            pd.Series(sums.reshape(-1), index=_index(spec, labels, items))
            for spec, labels, sums in _domain_sums(design, survey.domains, items, base * clustered)
        ]
    )
    keys = pd.MultiIndex.from_frame(
        frame[["rate", "domain_var", "domain"]].astype({"domain": str})
    )
    n_clustered = counts.reindex(keys).to_numpy()
    m = np.array([clustering.take(int(round(n))) for n in n_clustered])
    factors = np.stack([clustering.inflation(mi, clustering.rhos).to_numpy() for mi in m])
    est, se = frame["estimate"].to_numpy(float), frame["se"].to_numpy(float)
    df, n = frame["df"].to_numpy(float), frame["n"].to_numpy(float)
    p = (frame["kind"] == "proportion").to_numpy()
    out = {"m": m}
    for k in range(len(clustering.rhos)):
        se_k = se * np.sqrt(factors[:, k])
        low, high = wald_ci(est, se_k, df, level)
        low[p], high[p] = proportion_ci(est[p], se_k[p], method=ci, df=df[p], level=level, n=n[p])
        out[f"clus{k}_factor"] = factors[:, k]
        out[f"clus{k}_low"], out[f"clus{k}_high"] = low, high
    return pd.DataFrame(out, index=keys)


def clustering_summary(part: Part) -> dict:
    """What the page says of the clustering: the number of clusters, the
    correlations, the mean respondents per cluster of the whole sample and
    its factors."""
    clustering = part.survey.clustering
    assert clustering is not None  # called for a survey with a clustering
    m = clustering.take(int(np.asarray(clustering.clustered.mask(part.data)).sum()))
    return {
        "clusters": clustering.clusters,
        "rhos": tuple(clustering.rhos),
        "m": m,
        "factors": tuple(clustering.inflation(m, clustering.rhos).to_numpy()),
    }


def margin_shares(data, design, margins) -> pd.DataFrame:
    """Sample, register and calibrated share of every margin category."""
    from weighting.columns import canonical

    rows = []
    w = np.asarray(design.weights, float)
    for m in margins:
        keys = list(zip(*(data[v].map(canonical) for v in m.variables)))
        total = m.grand_total
        counts: dict[tuple[str, ...], int] = {}
        wsum: dict[tuple[str, ...], float] = {}
        for key, wi in zip(keys, w):
            counts[key] = counts.get(key, 0) + 1
            wsum[key] = wsum.get(key, 0.0) + wi
        n, wt = len(keys), float(w.sum())
        for key, target in m.table.items():
            rows.append(
                {
                    "margin": m.name,
                    "category": "*".join(key),
                    "sample_n": counts.get(key, 0),
                    "sample_share": counts.get(key, 0) / n,
                    "register_total": target,
                    "register_share": target / total,
                    "calibrated_share": wsum.get(key, 0.0) / wt,
                }
            )
    return pd.DataFrame(rows)


def strata_shares(data, design, column: str, t: dict | None = None) -> pd.DataFrame:
    """Respondents per design stratum (``column`` of ``data``) and the
    population the base weights stand for; ``label`` is the stratum's page
    label (``column=value`` of the strings ``t``, else the value)."""
    base = pd.Series(np.asarray(design.base_weights, float), index=data.index)
    by = (
        pd.DataFrame({"stratum": data[column].astype(str), "w": base})
        .groupby("stratum")["w"]
        .agg(["size", "sum"])
    )
    by = by.loc[sorted(by.index, key=_natural)]
    return pd.DataFrame(
        {
            "stratum": by.index,
            "label": [(t or {}).get(f"{column}={v}", v) for v in by.index],
            "sample_n": by["size"].to_numpy(),
            "sample_share": (by["size"] / by["size"].sum()).to_numpy(),
            "register_total": by["sum"].to_numpy(),
            "register_share": (by["sum"] / by["sum"].sum()).to_numpy(),
        }
    )


def weight_stats(design, lang: str) -> list[tuple[str, str]]:
    """The weight diagnostics table: (label key, formatted value); the
    g-factors and convergence only for a calibrated design."""
    from estimators.report.html import num
    from weighting.diagnostics import weight_diagnostics

    t = text(lang)
    diag = weight_diagnostics(design.weights)
    rows = [
        ("w_min", num(diag.min, lang, 2)),
        ("w_max", num(diag.max, lang, 2)),
        ("w_mean", num(diag.total / diag.n, lang, 2)),
        ("w_cv", num(diag.cv, lang, 3)),
    ]
    full = calibration_record(design)
    if full:
        g = g_factors(design)
        rows.append(("g_range", f"{num(g.min(), lang, 3)} – {num(g.max(), lang, 3)}"))
    rows += [("n_eff", num(diag.n_eff, lang, 1)), ("deff_w", num(diag.deff, lang, 3))]
    if full:
        rows.append(
            (
                "conv_full",
                f"{full['iterations']}, {full['max_error']:.2e}, "
                f"{t['yes'] if full['converged'] else t['no']}",
            )
        )
    reps = replicate_record(design)
    if reps:
        rows += [
            ("conv_reps", f"{reps['converged']} / {reps['B']}"),
            ("conv_iter", f"{reps['iterations_median']:g} / {reps['iterations_max']}"),
            ("conv_err", f"{reps['max_error']:.2e}"),
        ]
    return rows


def g_factors(design) -> np.ndarray:
    """g = calibrated / base weight (ones when the design is not calibrated)."""
    cal = design.calibration
    return np.ones(design.n) if cal is None else np.asarray(cal.g, float)


def calibration_record(design) -> dict | None:
    """How the full-sample calibration converged."""
    cal = design.calibration
    if cal is None:
        return None
    return {
        "distance": cal.distance,
        "bounds": cal.bounds,
        "tol": cal.tol,
        "iterations": int(cal.iterations),
        "max_error": float(cal.error),
        "converged": bool(cal.converged),
    }


def replicate_convergence(design) -> dict | None:
    """Per-replicate iterations, final error and convergence as arrays."""
    conv = design.convergence
    if conv is None:
        return None
    return {k: np.asarray(getattr(conv, k)) for k in ("iterations", "error", "converged")}


def replicate_record(design) -> dict | None:
    conv = replicate_convergence(design)
    if conv is None:
        return None
    return {
        "method": design.method,
        "B": int(design.B),
        "seed": design.seed,
        "converged": int(np.sum(conv["converged"])),
        "iterations_median": float(np.median(conv["iterations"])),
        "iterations_max": int(np.max(conv["iterations"])),
        "max_error": float(np.max(conv["error"])),
    }


def methods_settings(s: ReportSettings, part: Part) -> list[tuple[str, str]]:
    """The methods section's settings of one part, written out from this
    run's values."""
    survey, design = part.survey, part.design
    t = text(s.lang, survey.text)
    sample = t["m_bundled"] if s.bundled else str(s.sample)
    strata = (
        f"{design.n_strata} strata ({s.strata or survey.strata})"
        if design.n_strata > 1
        else t["m_unstratified"]
    )
    base = (
        t["m_base_given"].format(s.weight or survey.weights)
        if (s.weight or s.bundled)
        else t["m_base_nn"]
    )
    if design.fpc is not None:
        fpc = s.fpc or survey.fpc
        assert fpc is not None  # the design has an fpc: the settings' or the survey's
        base += "; " + t["m_fpc"].format(fpc if isinstance(fpc, str) else " + ".join(fpc))
    rows = [(t["m_sample"], f"{sample}; n = {design.n}"), (t["m_design"], f"{strata}; {base}")]
    cal = calibration_record(design)
    if cal is None:
        rows.append((t["m_calibration"], t["m_not_calibrated"]))
    else:
        calibration = (
            s.calibration
            + (f", bounds {s.bounds[0]:g}–{s.bounds[1]:g}" if s.bounds else "")
            + (f", trim {s.trim}" if s.trim else "")
        )
        rows += [
            (t["m_calibration"], calibration),
            (
                t["m_converged"],
                t["m_convergence"].format(
                    tol=s.tol, max_iter=s.max_iter, it=cal["iterations"], err=cal["max_error"]
                ),
            ),
        ]
    if design.replicates is None:
        variance = (
            t["m_linearization"] if cal is not None else t["m_linearization_design"]
        ).format(df=design.degf)
    else:
        variance = t["m_" + part.variance].format(
            B=design.B, distance=s.calibration, df=design.degf
        )
    if survey.variance is not None and survey.variance != s.variance:
        variance += t["m_own_variance"].format(option=s.variance)
    rows += [
        (t["m_variance"], variance),
        (t["m_seed"], str(s.seed) if design.replicates is not None else t["m_no_seed"]),
    ]
    ci = t["m_ci_text"].format(ci=s.ci, level=100 * s.level)
    if (part.results.frame["kind"] == "mean").any():
        ci += t["m_ci_mean"]
    rows += [(t["m_ci"], ci), (t["m_domains"], ", ".join(survey.domains))]
    return rows


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in (
        "kalib",
        "numpy",
        "scipy",
        "pandas",
        "patsy",
        "xarray",
        "matplotlib",
        "pyarrow",
        "tqdm",
    ):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "source tree (not installed)" if dist == "kalib" else "not installed"
    from weighting import _backend

    out["kernels"] = "cext" if getattr(_backend, "KERNELS", None) is not None else "numpy"
    return out


def _natural(label: str):
    """Sort key putting 5-19 before 20-49 (numbers compared as numbers)."""
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", label)]


def _progress(s: ReportSettings, total: int, desc: str):
    """A tqdm bar on stderr; off with --quiet or when stderr is not a terminal."""
    show = not s.quiet and sys.stderr.isatty()
    return tqdm(total=total, desc=desc, disable=not show, file=sys.stderr, leave=False)


def _calibration_spec(s: ReportSettings):
    """The run's calibration settings as one ``CalibrationSpec``."""
    from weighting.spec import CalibrationSpec

    return CalibrationSpec(
        s.calibration,
        s.bounds,
        s.trim,
        s.tol,
        s.max_iter,
        s.allow_unconverged,
        s.normalize_margins,
    )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _file_input(role: str, path) -> dict:
    path = Path(path)
    return {"role": role, "path": str(path), "sha256": _sha256(path), "bytes": path.stat().st_size}


def _bundled_inputs(data_dir: Path) -> list[dict]:
    return [
        _file_input("bundled", p)
        for p in sorted(Path(data_dir).iterdir(), key=lambda p: p.name)
        if p.is_file()
    ]


def _numeric_column(data, column: str) -> np.ndarray:
    if column not in data:
        raise KalibError(f"column {column!r} not found in the sample")
    return numeric(data[column], f"column {column!r}")


def _json_default(obj):
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, Path):
        return str(obj)
    return str(obj)


__all__ = [
    "ReportSettings",
    "ReportRun",
    "Part",
    "build_report",
    "report_surveys",
    "SURVEYS",
    "REPORT_COLUMNS",
]


def _picklable(function) -> bool:
    """Whether a worker can be sent ``function`` (a module-level function can,
    a lambda or a closure cannot: such an analysis is fitted in this process)."""
    try:
        pickle.dumps(function)
    except (pickle.PicklingError, AttributeError, TypeError):
        return False
    return True
