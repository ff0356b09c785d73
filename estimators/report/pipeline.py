"""``kalib report``: load → validate → design → calibrate → replicate →
estimate → sensitivity → analysis → figures → page → write.

Each step is a small method of :class:`ReportRun`, listed in order in
``ReportRun.PIPELINE``; :meth:`ReportRun.run` calls them and records the
wall-clock time of each in ``run.json``. Whatever belongs to the survey (its
data, codebook, margins and their variants, key rates, domains, labels) comes
from a :class:`~estimators.surveys.base.SurveyConfig`, by default the bundled
employer survey's.
Everything is written into a temporary sibling of ``--out`` which is renamed
into place only when the whole report is complete, so an error leaves no
half-written report behind.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import platform
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from estimators.report import figures as figs
from estimators.report.html import Figure, Page, render
from estimators.io.files import check_writable, staged_directory
from estimators.report.labels import flag_rules, text
from estimators.inference.catalog import estimate_catalog
from estimators.inference.results import KEYRATE_COLUMNS
from estimators.surveys.base import SurveyConfig
from weighting.columns import numeric
from weighting.errors import KalibError


@dataclass(frozen=True)
class ReportSettings:
    """The settings of one report run (the ``kalib report`` options)."""
    sample: Path | None = None
    margins: tuple[Path, ...] = ()
    id: str = "id"
    weight: str | None = None
    strata: str | None = None
    psu: str | None = None
    fpc: str | None = None
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

    @property
    def bundled(self) -> bool:
        return self.sample is None

    def as_json(self) -> dict:
        d = asdict(self)
        d["sample"] = None if self.sample is None else str(self.sample)
        d["margins"] = [str(m) for m in self.margins]
        d["out"] = str(self.out)
        return d


@dataclass
class ReportRun:
    """One run of the report; the attributes fill in step by step.

    ``survey`` is the survey configuration (default: the bundled employer
    survey, ``estimators.surveys.employers.SURVEY``)."""
    settings: ReportSettings
    survey: SurveyConfig | None = None
    timings: dict[str, float] = field(default_factory=dict)
    inputs: list[dict] = field(default_factory=list)
    data: pd.DataFrame | None = None
    margins: list = field(default_factory=list)
    margin_sources: list[tuple[str, str]] = field(default_factory=list)
    design: object = None
    uncalibrated: object = None
    keyrates: pd.DataFrame | None = None
    sensitivity: pd.DataFrame | None = None
    variant_shares: dict | None = None
    analysis_html: str | None = None
    figures: list[Figure] = field(default_factory=list)
    html: str = ""
    results: object = None

    def __post_init__(self):
        if self.survey is None:
            from estimators.surveys.employers import SURVEY
            self.survey = SURVEY

    # -- driver ---------------------------------------------------------------

    def run(self) -> Path:
        """Run every step of ``PIPELINE``; return the output directory."""
        s = self.settings
        out = Path(s.out)
        check_writable(out, s.force, directory=True)
        with _progress(s, len(self.PIPELINE), "kalib report") as bar:
            for name, step in self.PIPELINE:
                bar.set_postfix_str(name)
                start = time.perf_counter()
                step(self)
                self.timings[name] = time.perf_counter() - start
                bar.update()
        return out

    # -- steps ------------------------------------------------------------------

    def step_load(self):
        """Read the margins and the sample (the survey's bundled data by default)."""
        s, survey = self.settings, self.survey
        if s.margins:
            from estimators.io.files import read_margins
            self.margins = [read_margins(p) for p in s.margins]
            self.inputs += [_file_input("margins", p) for p in s.margins]
            self.margin_sources = [(m.name, str(p)) for m, p in zip(self.margins, s.margins)]
        else:
            self.margins = survey.margins(survey.central)
            self.margin_sources = survey.margin_sources(self.margins, survey.central)
            if not s.bundled:
                self.inputs.append(_file_input("margins", survey.margins_file))
        if s.bundled:
            self.data = survey.load()          # validated on load
            self.inputs += _bundled_inputs(survey.data_dir)
        else:
            from estimators.io.cati import read_cati_csv, read_cati_sav
            reader = read_cati_sav if s.sample.suffix.lower() == ".sav" else read_cati_csv
            self.data = reader(s.sample, survey.codebook(), check=False)
            self.inputs.append(_file_input("sample", s.sample))

    def step_validate(self):
        """A given sample against the codebook (one line naming column and id);
        design columns numeric; ids unique; margin variables present."""
        s = self.settings
        if not s.bundled:
            from estimators.io.cati import to_analysis_frame
            from estimators.io.validate import ValidationError, validate
            codebook = self.survey.codebook()
            report = validate(self.data, codebook, id_column=s.id)
            if not report.ok:
                raise ValidationError(report, str(s.sample))
            self.data = to_analysis_frame(self.data, codebook)
            for column in (s.weight, s.fpc):
                if column is not None:
                    self.data[column] = _numeric_column(self.data, column)
        if s.id not in self.data:
            raise KalibError(f"id column {s.id!r} not found in the sample")
        dup = self.data[s.id][self.data[s.id].duplicated()]
        if len(dup):
            raise KalibError(f"id column {s.id!r}: value {dup.iloc[0]!r} occurs more than once")
        for m in self.margins:
            for v in m.variables:
                if v not in self.data:
                    raise KalibError(f"margin {m.name!r}: variable {v!r} is not a column "
                                     "of the sample")

    def step_design(self):
        """The sampling design: the bundled data carry their base weights and
        strata (the employer survey: strata sector x size, base weights
        register count / sample count per stratum)."""
        from weighting.design import Design
        s = self.settings
        weight, strata = s.weight, s.strata
        if s.bundled:
            weight, strata = weight or self.survey.weights, strata or self.survey.strata
        self.design = self.uncalibrated = Design(self.data, weights=weight, strata=strata,
                                                 psu=s.psu, fpc=s.fpc)

    def step_calibrate(self):
        """Calibrate the base weights to the margins (``--calibration``)."""
        s = self.settings
        self.design = self.design.calibrate(self.margins, spec=_calibration_spec(s))

    def step_replicate(self):
        """Replicate weights, each replicate re-calibrated to the same margins."""
        s = self.settings
        if s.variance != "linearization":
            self.design = self.design.with_replicates(
                s.variance, replicates=s.replicates, seed=s.seed)

    def step_estimate(self):
        """Every key rate of the catalog for every domain, with SE, CI and flag."""
        s = self.settings
        self.results = estimate_catalog(self.design, self.survey.catalog,
                                        self.survey.domains, ci=s.ci, level=s.level)
        self.keyrates = keyrate_frame(self.results)

    def step_sensitivity(self):
        """Point estimates under the survey's other margin variants (the
        employer survey: low and high public share; bundled margins only, a
        user's margins have no such variants)."""
        s, survey = self.settings, self.survey
        sensitivity = survey.sensitivity
        if s.margins or sensitivity is None:
            return
        from estimators.inference.estimate import rate_items
        items = rate_items(self.design, survey.catalog)
        columns = {}
        for column, variant in sensitivity.columns:
            margins = survey.margins(variant)
            design = self.uncalibrated.calibrate(margins, spec=_calibration_spec(s))
            columns[column] = point_estimates(design, survey.domains, items)
        self.sensitivity = pd.DataFrame(columns)
        self.variant_shares = {key: sensitivity.share(survey.margins(variant))
                               for key, variant in sensitivity.share_variants}

    def step_analysis(self):
        """The survey's regression analysis, when it has one (the sample has
        the codebook's columns, bundled or validated)."""
        if self.survey.analysis is None:
            return
        analysis = self.survey.analysis(self.design)
        self.analysis_html = analysis.to_html(lang=self.settings.lang)

    def step_figures(self):
        """Draw every figure (in parallel worker processes, see figures.render)."""
        s, survey = self.settings, self.survey
        t = text(s.lang, survey.text)
        d = self.design
        frame = self.page_frame()
        jobs = [("sample_vs_register", t["fig_sample"], "sample", "sample_vs_population",
                 (margin_shares(self.data, d, self.margins), t)),
                ("weights", t["fig_weights"], "weights", "weight_distribution",
                 (d.weights, g_factors(d), t))]
        conv = replicate_convergence(d)
        if conv is not None:
            jobs.append(("replicate_convergence", t["fig_convergence"], "weights",
                         "replicate_convergence", (conv["iterations"], conv["error"], t)))
        labels = self.rate_labels()
        groups = {}
        for rate in dict.fromkeys(frame["rate"]):
            groups.setdefault(survey.rate_group(rate), []).append(rate)
        for key, rates in groups.items():
            columns = frame[frame["rate"].isin(rates)]
            group = survey.group_label(key, s.lang) or t["other_rates"]
            caption = t["forest_caption"].format(group=group, level=100 * s.level)
            jobs.append((f"forest_{key}", caption, "forest", "forest",
                         (columns, rates, labels, t, s.level, survey.forest_domains)))
        with _progress(s, len(jobs), "figures") as bar:
            pngs = figs.render([(kind, args) for *_, kind, args in jobs], progress=bar)
        self.figures = [Figure(name, caption, png, section)
                        for (name, caption, section, _, _), png in zip(jobs, pngs)]

    def step_page(self):
        """Render index.html."""
        s, survey = self.settings, self.survey
        d = self.design
        self.html = render(Page(
            lang=s.lang, level=s.level, keyrates=self.page_frame(),
            rate_labels=self.rate_labels(),
            margin_shares=margin_shares(self.data, d, self.margins),
            strata=(strata_shares(self.data, d, survey.strata) if survey.strata in self.data
                    else None),
            weight_stats=weight_stats(d, s.lang),
            figures=self.figures, flag_rules=flag_rules(s.lang),
            settings=methods_settings(s, d, survey), margin_sources=self.margin_sources,
            versions=versions(), version=versions()["kalib"],
            generated=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            model_html=self.analysis_html, files=output_files(d),
            variant_shares=self.variant_shares, survey_text=survey.text))

    def step_write(self):
        """Write every file into a temporary sibling of --out, then rename it
        into place (an existing --out only with --force)."""
        with staged_directory(Path(self.settings.out), self.settings.force) as tmp:
            self._write_files(tmp)

    #: The steps in order: (name in run.json, method).
    PIPELINE = (("load", step_load), ("validate", step_validate), ("design", step_design),
                ("calibrate", step_calibrate), ("replicate", step_replicate),
                ("estimate", step_estimate), ("sensitivity", step_sensitivity),
                ("analysis", step_analysis), ("figures", step_figures), ("page", step_page),
                ("write", step_write))

    # -- helpers ----------------------------------------------------------------

    def page_frame(self) -> pd.DataFrame:
        """Key rates with the page's extra columns: the sensitivity estimates,
        the printed decimals of the published value and the explanation of
        any difference from it."""
        frame = self.keyrates
        if self.sensitivity is not None:
            frame = frame.join(self.sensitivity, on=["rate", "domain_var", "domain"])
        else:
            frame = frame.assign(sens_low=np.nan, sens_high=np.nan)
        lang, survey = self.settings.lang, self.survey
        keys = list(zip(frame["rate"], frame["domain_var"], frame["domain"]))
        return frame.assign(
            published_decimals=[survey.published_decimals(*k) for k in keys],
            note=[survey.explain(*k, lang) if self.settings.bundled else "" for k in keys]
        ).reset_index(drop=True)

    def rate_labels(self) -> dict[str, str]:
        """Rate id -> its page label in the page's language."""
        return {r: self.survey.rate_label(r, self.settings.lang)
                for r in self.keyrates["rate"].unique()}

    def _write_files(self, tmp: Path):
        start = time.perf_counter()
        s = self.settings
        d = self.design
        (tmp / "figures").mkdir()
        for fig in self.figures:
            (tmp / "figures" / f"{fig.name}.png").write_bytes(fig.png)
        (tmp / "index.html").write_text(self.html, encoding="utf-8")
        self.results.to_csv(tmp / "keyrates.csv", columns=KEYRATE_COLUMNS)
        self.results.to_netcdf(tmp / "keyrates.nc")
        pd.DataFrame({"id": self.data[s.id].to_numpy(), "base_weight": d.base_weights,
                      "weight": d.weights}).to_csv(tmp / "weights.csv", index=False)
        if d.replicates is not None:
            from estimators.io.replicate_file import write_replicate_weights
            write_replicate_weights(d, tmp / "replicate_weights.parquet",
                                    ids=self.data[s.id].to_numpy())
        self.timings["write"] = time.perf_counter() - start
        record = {
            "kalib_report": 1,
            "survey": self.survey.id,
            "inputs": self.inputs,
            "settings": s.as_json(),
            "versions": versions(),
            "timings_seconds": {k: round(v, 4) for k, v in self.timings.items()},
            "total_seconds": round(sum(self.timings.values()), 4),
            "calibration": calibration_record(d),
            "replicates": replicate_record(d),
            "outputs": sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file()),
        }
        (tmp / "run.json").write_text(json.dumps(record, indent=2, default=_json_default) + "\n",
                                      encoding="utf-8")


def output_files(design) -> list[str]:
    """The files of the report directory (replicate weights only with replicates)."""
    reps = ["replicate_weights.parquet", "replicate_weights.json"] \
        if design.replicates is not None else []
    return ["index.html", "keyrates.csv", "keyrates.nc", "weights.csv", *reps,
            "figures/*.png", "run.json"]


STEPS = tuple(name for name, _ in ReportRun.PIPELINE)


def build_report(settings: ReportSettings, survey: SurveyConfig | None = None) -> ReportRun:
    """Run the report with ``settings`` on ``survey`` (default: the bundled
    employer survey); return the finished run."""
    run = ReportRun(settings, survey)
    run.run()
    return run


# -- tables computed from the design -------------------------------------------------

def keyrate_frame(results) -> pd.DataFrame:
    """The tidy key-rate frame (exactly the keyrates.csv columns, in order)."""
    frame = results.keyrates()
    frame["domain"] = frame["domain"].astype(str)
    return frame.reset_index(drop=True)



def point_estimates(design, domains, items) -> pd.Series:
    """Weighted key-rate shares, ``sum_i w_i 1[num & base & domain] /
    sum_i w_i 1[base & domain]``, indexed by (rate, domain_var, domain).

    The point estimates of ``estimate_catalog`` without its variance, for
    the sensitivity columns. ``items`` (``estimators.inference.estimate.rate_items``
    of the catalog) depend on the data only, so one list serves every variant.
    """
    from estimators.inference.domains import domain_codes
    w = np.asarray(design.weights, float)[:, None]
    base = np.stack([it.base for it in items], axis=1).astype(float) * w
    num = np.stack([it.num for it in items], axis=1) * base
    parts = []
    for spec in domains:
        codes, labels = domain_codes(design.data, spec)
        onehot = np.zeros((design.n, len(labels)))
        onehot[np.arange(design.n), codes] = 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            share = (onehot.T @ num) / (onehot.T @ base)
        index = pd.MultiIndex.from_tuples(
            [(it.rate, spec, label) for label in labels for it in items],
            names=["rate", "domain_var", "domain"])
        parts.append(pd.Series(share.reshape(-1), index=index))
    return pd.concat(parts)


def margin_shares(data, design, margins) -> pd.DataFrame:
    """Sample, register and calibrated share of every margin category."""
    from weighting.columns import canonical
    rows = []
    w = np.asarray(design.weights, float)
    for m in margins:
        keys = list(zip(*(data[v].map(canonical) for v in m.variables)))
        total = m.grand_total
        counts, wsum = {}, {}
        for key, wi in zip(keys, w):
            counts[key] = counts.get(key, 0) + 1
            wsum[key] = wsum.get(key, 0.0) + wi
        n, wt = len(keys), float(w.sum())
        for key, target in m.table.items():
            rows.append({"margin": m.name, "category": "*".join(key),
                         "sample_n": counts.get(key, 0), "sample_share": counts.get(key, 0) / n,
                         "register_total": target, "register_share": target / total,
                         "calibrated_share": wsum.get(key, 0.0) / wt})
    return pd.DataFrame(rows)


def strata_shares(data, design, column: str) -> pd.DataFrame:
    """Respondents per design stratum (``column`` of ``data``) and the
    population the base weights stand for."""
    base = pd.Series(np.asarray(design.base_weights, float), index=data.index)
    by = pd.DataFrame({"stratum": data[column].astype(str), "w": base}).groupby(
        "stratum")["w"].agg(["size", "sum"])
    by = by.loc[sorted(by.index, key=_natural)]
    return pd.DataFrame({"stratum": by.index, "sample_n": by["size"].to_numpy(),
                         "sample_share": (by["size"] / by["size"].sum()).to_numpy(),
                         "register_total": by["sum"].to_numpy(),
                         "register_share": (by["sum"] / by["sum"].sum()).to_numpy()})


def weight_stats(design, lang: str) -> list[tuple[str, str]]:
    """The weight diagnostics table: (label key, formatted value)."""
    from estimators.report.html import num
    from weighting.diagnostics import weight_diagnostics
    t = text(lang)
    diag = weight_diagnostics(design.weights)
    g = g_factors(design)
    full = calibration_record(design)
    rows = [("w_min", num(diag.min, lang, 2)), ("w_max", num(diag.max, lang, 2)),
            ("w_mean", num(diag.total / diag.n, lang, 2)), ("w_cv", num(diag.cv, lang, 3)),
            ("g_range", f"{num(g.min(), lang, 3)} – {num(g.max(), lang, 3)}"),
            ("n_eff", num(diag.n_eff, lang, 1)), ("deff_w", num(diag.deff, lang, 3))]
    if full:
        rows.append(("conv_full", f"{full['iterations']}, {full['max_error']:.2e}, "
                                  f"{t['yes'] if full['converged'] else t['no']}"))
    reps = replicate_record(design)
    if reps:
        rows += [("conv_reps", f"{reps['converged']} / {reps['B']}"),
                 ("conv_iter", f"{reps['iterations_median']:g} / {reps['iterations_max']}"),
                 ("conv_err", f"{reps['max_error']:.2e}")]
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
    return {"distance": cal.distance, "bounds": cal.bounds, "tol": cal.tol,
            "iterations": int(cal.iterations), "max_error": float(cal.error),
            "converged": bool(cal.converged)}


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
    return {"method": design.method, "B": int(design.B), "seed": design.seed,
            "converged": int(np.sum(conv["converged"])),
            "iterations_median": float(np.median(conv["iterations"])),
            "iterations_max": int(np.max(conv["iterations"])),
            "max_error": float(np.max(conv["error"]))}


def methods_settings(s: ReportSettings, design, survey: SurveyConfig) -> list[tuple[str, str]]:
    """The methods section's settings, written out from this run's values."""
    t = text(s.lang, survey.text)
    sample = t["m_bundled"] if s.bundled else str(s.sample)
    strata = f"{design.n_strata} strata ({s.strata or survey.strata})" if design.n_strata > 1 \
        else t["m_unstratified"]
    base = t["m_base_given"].format(s.weight or survey.weights) if (s.weight or s.bundled) \
        else t["m_base_nn"]
    calibration = s.calibration + (f", bounds {s.bounds[0]:g}–{s.bounds[1]:g}" if s.bounds
                                   else "") + (f", trim {s.trim}" if s.trim else "")
    cal = calibration_record(design)
    convergence = t["m_convergence"].format(tol=s.tol, max_iter=s.max_iter,
                                            it=cal["iterations"], err=cal["max_error"])
    if design.replicates is None:
        variance = t["m_linearization"].format(df=design.degf)
    else:
        variance = t["m_" + s.variance].format(B=design.B, distance=s.calibration,
                                               df=design.degf)
    rows = [(t["m_sample"], f"{sample}; n = {design.n}"),
            (t["m_design"], f"{strata}; {base}"),
            (t["m_calibration"], calibration),
            (t["m_converged"], convergence),
            (t["m_variance"], variance),
            (t["m_seed"], str(s.seed)),
            (t["m_ci"], t["m_ci_text"].format(ci=s.ci, level=100 * s.level)),
            (t["m_domains"], ", ".join(survey.domains))]
    return rows


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("kalib", "numpy", "scipy", "pandas", "statsmodels", "xarray", "matplotlib",
                 "pyarrow", "tqdm"):
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

    return CalibrationSpec(s.calibration, s.bounds, s.trim, s.tol, s.max_iter,
                           s.allow_unconverged, s.normalize_margins)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _file_input(role: str, path) -> dict:
    path = Path(path)
    return {"role": role, "path": str(path), "sha256": _sha256(path),
            "bytes": path.stat().st_size}


def _bundled_inputs(data_dir: Path) -> list[dict]:
    return [_file_input("bundled", p) for p in sorted(Path(data_dir).iterdir(),
                                                      key=lambda p: p.name)
            if p.is_file()]


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


__all__ = ["ReportSettings", "ReportRun", "build_report"]
