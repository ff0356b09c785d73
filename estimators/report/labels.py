"""Text of the report page in English and Norwegian (bokmål).

Every visible string of the page and the figures is looked up here by key, so
a language is one dictionary. These are the generic strings; a survey's
configuration (``estimators.surveys.base.SurveyConfig.text``) overrides the
ones that name its variables, values and sections, and gives the labels of
its key rates.
"""

from __future__ import annotations

LANGUAGES = ("en", "no")
#: The bundled surveys a report covers, in the order of the page's parts
#: (here, beside LANGUAGES, so that the command line offers both without
#: importing the pipeline).
SURVEYS = ("employers_2017", "ai_staff_2017")

TEXT = {
    "en": {
        "contents": "Contents",
        "sec_sample": "Sample against population",
        "sec_weights": "Weight diagnostics",
        "sec_keyrates": "Key rates: published, reproduced and reweighted",
        "sec_domains": "All domains",
        "sec_flags": "Reliability flags",
        "sec_methods": "Methods",
        "sample_intro": (
            "Sample share (unweighted) against the register share of every "
            "margin category, and the share after calibration (equal to the "
            "register share when calibration converged)."
        ),
        "margin": "Margin",
        "category": "Category",
        "sample_n": "Sample n",
        "sample_share": "Sample share",
        "register_total": "Register count",
        "register_share": "Register share",
        "calibrated_share": "Weighted share",
        "stratum": "Stratum",
        "statistic": "Statistic",
        "value": "Value",
        "w_min": "Smallest weight",
        "w_max": "Largest weight",
        "w_mean": "Mean weight",
        "w_cv": "Coefficient of variation",
        "g_range": "Range of g = calibrated / base weight",
        "n_eff": "Effective sample size (Kish)",
        "deff_w": "Weighting design effect 1 + CV²",
        "conv_full": "Full sample: iterations, largest margin error, converged",
        "conv_reps": "Replicates converged",
        "conv_iter": "Replicate iterations (median / max)",
        "conv_err": "Largest replicate margin error",
        "yes": "yes",
        "no": "no",
        "no_sensitivity": " (not computed: the margins were given with --margins)",
        "rate": "Key rate",
        "domain": "Domain",
        "published": "Published",
        "unweighted": "Ours, unweighted",
        "weighted": "Weighted",
        "ci": "{level:g} % CI",
        "n": "n",
        "flag": "Flag",
        "note": "Note",
        "match": "equal",
        "domains_intro": "Every estimate in keyrates.csv, by domain (show / hide).",
        "flags_intro": "Reliability rule applied to every estimate:",
        "flag_ok": "ok: publish (NCHS standard for proportions, Parker et al. 2017)",
        "methods_settings": "Settings of this run",
        "methods_margins": "Margins and their provenance",
        "methods_versions": "Software",
        "figure": "Figure",
        "fig_weights": "Distribution of calibrated weights and g-factors",
        "fig_convergence": "Convergence of the replicate re-calibrations",
        "fig_sample": "Sample and register shares by margin category",
        "unweighted_point": "unweighted",
        "weighted_point": "weighted, {level:g} % CI",
        "percent": "percent",
        "weight": "calibrated weight",
        "g_factor": "g = calibrated / base weight",
        "count": "units",
        "iterations": "iterations",
        "replicates": "replicates",
        "max_error": "largest margin error (log10)",
        "generated": "Generated {when} by kalib {version}.",
        "files": "Files",
        "m_sample": "Sample",
        "m_design": "Design",
        "m_unstratified": "unstratified",
        "m_base_given": "base weights from column {0}",
        "m_base_nn": "base weights N/n",
        "m_calibration": "Calibration distance",
        "m_converged": "Convergence",
        "m_convergence": (
            "max relative margin error ≤ {tol:g} within {max_iter} iterations; "
            "full sample: {it} iterations, error {err:.2e}"
        ),
        "m_variance": "Variance",
        "m_bootstrap": (
            "Rao–Wu–Yue rescaling bootstrap, B = {B}, m_h = n_h − 1 within strata; "
            "every replicate re-calibrated ({distance}) to the same margins; "
            "variance centred on the replicate mean; {df} degrees of freedom"
        ),
        "m_jkn": (
            "stratified delete-one jackknife (JKn), {B} replicates, each re-calibrated "
            "({distance}); {df} degrees of freedom"
        ),
        "m_jk1": (
            "delete-one jackknife (JK1), {B} replicates, each re-calibrated "
            "({distance}); {df} degrees of freedom"
        ),
        "m_linearization": (
            "Taylor linearization with the calibration residuals "
            "(Deville & Särndal 1992); {df} degrees of freedom"
        ),
        "m_seed": "Random seed",
        "m_ci": "Confidence intervals",
        "m_ci_text": "{ci} interval for proportions, {level:g} %",
        "m_domains": "Domains",
        "title": "Reweighted survey: key rates with confidence intervals",
        "subtitle": "Calibrated to register margins",
        "sec_forest": "Key rates by domain",
        "sec_model": "Design-based regression",
        "strata_intro": "Sample strata: respondents and the register count behind them.",
        "keyrates_intro": (
            "One row per key rate and published domain. <em>Published</em> is the "
            "printed (unweighted) percentage; <em>ours, unweighted</em> recomputes it "
            "from the records; <em>weighted</em> is the calibrated estimate with its "
            "{level:g} % confidence interval. <em>Low / high</em> repeats the weighted "
            "estimate under the low and high variants of the margins{shares}."
        ),
        "shares": " ({low} and {high} instead of {central})",
        "sensitivity": "Low / high margin variant",
        "forest_intro": (
            "Each panel is one key rate: the unweighted share (open circle) beside "
            "the weighted estimate (filled) with its {level:g} % confidence interval, "
            "by domain."
        ),
        "model_intro": "Design-based models on the calibrated design.",
        "forest_caption": (
            "{group}: unweighted share and weighted estimate with its "
            "{level:g} % confidence interval by domain"
        ),
        "all": "All units",
        "other_rates": "Other key rates",
        "m_bundled": "bundled survey",
        "report_title": "Reweighted surveys: key rates with confidence intervals",
        "part": "Part {0}.",
        "sec_software": "Software and files",
        "sec_assumptions": "Assumptions of the design",
        "assumptions_intro": (
            "Every assumption this survey's design makes, with the "
            "sections of the page that state it or show what it does."
        ),
        "stated_in": "stated in",
        "not_published": "not published",
        "in_words": "Stated in words: “{text}” ({low}–{high} %).",
        "register_variants": "Low / high variant",
        "stratum_weight": "Weight N / n",
        "stratum_fraction": "n / N",
        "frame_fig": "Respondents and population by stratum",
        "mean_axis": "mean",
        "clustering": "{level:g} % CI if ρ = {rho}",
        "clustering_intro": (
            "Respondents are clustered in {clusters} clusters the design cannot "
            "identify. The last columns show the {level:g} % interval widened by Kish's "
            "factor 1 + (m − 1) ρ for ρ = {rhos} (overall m = {m}, factors {factors})."
        ),
        "m_fpc": "finite population correction from column {0}",
        "m_not_calibrated": "none: the design's weights are the final weights",
        "m_linearization_design": (
            "Taylor linearization for the stratified design with its "
            "finite population correction; {df} degrees of freedom"
        ),
        "m_own_variance": " (the survey's own method; --variance {option} applies to the "
        "calibrated surveys)",
        "m_no_seed": "not used (no replicates)",
        "m_ci_mean": "; estimate ± t × SE for means",
    },
    "no": {
        "contents": "Innhold",
        "sec_sample": "Utvalg mot populasjon",
        "sec_weights": "Vektdiagnostikk",
        "sec_keyrates": "Nøkkeltall: publisert, reprodusert og vektet",
        "sec_domains": "Alle domener",
        "sec_flags": "Pålitelighetsflagg",
        "sec_methods": "Metode",
        "sample_intro": (
            "Andel i utvalget (uvektet) mot andelen i registeret for hver "
            "kategori i marginene, og andelen etter kalibrering (lik "
            "registerandelen når kalibreringen konvergerte)."
        ),
        "margin": "Margin",
        "category": "Kategori",
        "sample_n": "Utvalg n",
        "sample_share": "Andel i utvalget",
        "register_total": "Antall i registeret",
        "register_share": "Andel i registeret",
        "calibrated_share": "Vektet andel",
        "stratum": "Stratum",
        "statistic": "Mål",
        "value": "Verdi",
        "w_min": "Minste vekt",
        "w_max": "Største vekt",
        "w_mean": "Gjennomsnittlig vekt",
        "w_cv": "Variasjonskoeffisient",
        "g_range": "Spenn i g = kalibrert / startvekt",
        "n_eff": "Effektiv utvalgsstørrelse (Kish)",
        "deff_w": "Designeffekt av vektingen 1 + CV²",
        "conv_full": "Hele utvalget: iterasjoner, største marginavvik, konvergert",
        "conv_reps": "Replikater som konvergerte",
        "conv_iter": "Iterasjoner per replikat (median / maks)",
        "conv_err": "Største marginavvik i et replikat",
        "yes": "ja",
        "no": "nei",
        "no_sensitivity": " (ikke beregnet: marginene ble gitt med --margins)",
        "rate": "Nøkkeltall",
        "domain": "Domene",
        "published": "Publisert",
        "unweighted": "Vår, uvektet",
        "weighted": "Vektet",
        "ci": "{level:g} % KI",
        "n": "n",
        "flag": "Flagg",
        "note": "Merknad",
        "match": "lik",
        "domains_intro": "Alle estimater i keyrates.csv, etter domene (vis / skjul).",
        "flags_intro": "Pålitelighetsregel brukt på hvert estimat:",
        "flag_ok": "ok: kan publiseres (NCHS-standard for andeler, Parker mfl. 2017)",
        "methods_settings": "Innstillinger for denne kjøringen",
        "methods_margins": "Marginer og kilder",
        "methods_versions": "Programvare",
        "figure": "Figur",
        "fig_weights": "Fordeling av kalibrerte vekter og g-faktorer",
        "fig_convergence": "Konvergens i rekalibreringen av replikatene",
        "fig_sample": "Andeler i utvalg og register etter marginkategori",
        "unweighted_point": "uvektet",
        "weighted_point": "vektet, {level:g} % KI",
        "percent": "prosent",
        "weight": "kalibrert vekt",
        "g_factor": "g = kalibrert / startvekt",
        "count": "enheter",
        "iterations": "iterasjoner",
        "replicates": "replikater",
        "max_error": "største marginavvik (log10)",
        "generated": "Laget {when} av kalib {version}.",
        "files": "Filer",
        "m_sample": "Utvalg",
        "m_design": "Design",
        "m_unstratified": "ustratifisert",
        "m_base_given": "startvekter fra kolonnen {0}",
        "m_base_nn": "startvekter N/n",
        "m_calibration": "Kalibreringsavstand",
        "m_converged": "Konvergens",
        "m_convergence": (
            "største relative marginavvik ≤ {tol:g} innen {max_iter} iterasjoner; "
            "hele utvalget: {it} iterasjoner, avvik {err:.2e}"
        ),
        "m_variance": "Varians",
        "m_bootstrap": (
            "Rao–Wu–Yue rescaling bootstrap, B = {B}, m_h = n_h − 1 innen strata; "
            "hvert replikat rekalibrert ({distance}) til de samme marginene; "
            "varians sentrert på replikatgjennomsnittet; {df} frihetsgrader"
        ),
        "m_jkn": (
            "stratifisert jackknife (JKn), {B} replikater, hvert rekalibrert "
            "({distance}); {df} frihetsgrader"
        ),
        "m_jk1": (
            "jackknife (JK1), {B} replikater, hvert rekalibrert ({distance}); {df} frihetsgrader"
        ),
        "m_linearization": (
            "Taylor-linearisering med kalibreringsresidualene "
            "(Deville & Särndal 1992); {df} frihetsgrader"
        ),
        "m_seed": "Startverdi for tilfeldige tall",
        "m_ci": "Konfidensintervall",
        "m_ci_text": "{ci}-intervall for andeler, {level:g} %",
        "m_domains": "Domener",
        "title": "Vektet undersøkelse: nøkkeltall med konfidensintervall",
        "subtitle": "Kalibrert til registermarginer",
        "sec_forest": "Nøkkeltall etter domene",
        "sec_model": "Designbasert regresjon",
        "strata_intro": "Utvalgsstrata: respondenter og registertallet bak dem.",
        "keyrates_intro": (
            "Én rad per nøkkeltall og publisert domene. <em>Publisert</em> er den "
            "trykte (uvektede) prosenten; <em>vår, uvektet</em> regner den ut på nytt "
            "fra dataene; <em>vektet</em> er det kalibrerte estimatet med {level:g} % "
            "konfidensintervall. <em>Lav / høy</em> gjentar det vektede estimatet med "
            "lav og høy variant av marginene{shares}."
        ),
        "shares": " ({low} og {high} i stedet for {central})",
        "sensitivity": "Lav / høy marginvariant",
        "forest_intro": (
            "Hvert panel er ett nøkkeltall: uvektet andel (åpen sirkel) ved siden av "
            "vektet estimat (fylt) med {level:g} % konfidensintervall, etter domene."
        ),
        "model_intro": "Designbaserte modeller på det kalibrerte designet.",
        "forest_caption": (
            "{group}: uvektet andel og vektet estimat med "
            "{level:g} % konfidensintervall etter domene"
        ),
        "all": "Alle enheter",
        "other_rates": "Andre nøkkeltall",
        "m_bundled": "medfølgende undersøkelse",
        "report_title": "Vektede undersøkelser: nøkkeltall med konfidensintervall",
        "part": "Del {0}.",
        "sec_software": "Programvare og filer",
        "sec_assumptions": "Forutsetninger i designet",
        "assumptions_intro": (
            "Alle forutsetninger designet for denne undersøkelsen gjør, "
            "med delene av siden som oppgir dem eller viser hva de betyr."
        ),
        "stated_in": "se",
        "not_published": "ikke publisert",
        "in_words": "Oppgitt i ord: «{text}» ({low}–{high} %).",
        "register_variants": "Lav / høy variant",
        "stratum_weight": "Vekt N / n",
        "stratum_fraction": "n / N",
        "frame_fig": "Respondenter og populasjon etter stratum",
        "mean_axis": "gjennomsnitt",
        "clustering": "{level:g} % KI om ρ = {rho}",
        "clustering_intro": (
            "Respondentene er gruppert i {clusters} grupper som designet ikke kan "
            "identifisere. De siste kolonnene viser {level:g} % intervallet utvidet med Kish' "
            "faktor 1 + (m − 1) ρ for ρ = {rhos} (totalt m = {m}, faktorer {factors})."
        ),
        "m_fpc": "endelig-populasjonskorreksjon fra kolonnen {0}",
        "m_not_calibrated": "ingen: designets vekter er de endelige vektene",
        "m_linearization_design": (
            "Taylor-linearisering for det stratifiserte designet med "
            "endelig-populasjonskorreksjon; {df} frihetsgrader"
        ),
        "m_own_variance": " (undersøkelsens egen metode; --variance {option} gjelder de "
        "kalibrerte undersøkelsene)",
        "m_no_seed": "ikke brukt (ingen replikater)",
        "m_ci_mean": "; estimat ± t × SE for gjennomsnitt",
    },
}


# The estimators' reliability flags (NCHS Data Presentation Standards for
# Proportions, Parker et al. 2017; estimators.inference.results.reliability_flags).
FLAG_RULES = {
    "en": {
        "review": "design degrees of freedom below 8: review before publishing",
        "suppress": (
            "base n or effective n below 30, or the Korn–Graubard 95 % interval "
            "30 points wide or more, or 5–30 points wide and wider than 130 % of "
            "the estimate: do not publish"
        ),
        "empty": "no respondent in the domain",
    },
    "no": {
        "review": "færre enn 8 frihetsgrader i designet: vurder før publisering",
        "suppress": (
            "n eller effektiv n under 30, eller Korn–Graubard-intervallet (95 %) "
            "30 prosentpoeng bredt eller mer, eller 5–30 poeng bredt og bredere "
            "enn 130 % av estimatet: publiseres ikke"
        ),
        "empty": "ingen respondenter i domenet",
    },
}


def flag_rules(lang: str) -> dict[str, str]:
    """Flag code -> the publication rule it stands for, in ``lang``."""
    return FLAG_RULES[lang]


def text(lang: str, survey: dict | None = None) -> dict[str, str]:
    """All strings of the page in ``lang`` (``en`` or ``no``): the generic ones,
    overridden by ``survey`` (a survey configuration's ``text``,
    ``{lang: {key: string}}``)."""
    if lang not in TEXT:
        raise ValueError(f"language {lang!r} not available (choose from {', '.join(LANGUAGES)})")
    return {**TEXT[lang], **(survey or {}).get(lang, {})}


def domain_label(domain_var: str, domain: str, t: dict[str, str]) -> str:
    """A readable label of one domain, e.g. ``Public · 5-19 employees``.

    Each value of a cross is looked up in ``t`` as ``var=value`` (its own
    label), then ``var=*`` (a format of the value), else shown as it is.
    """
    if domain_var == "all":
        return t["all"]
    parts = []
    for var, value in zip(domain_var.split("*"), str(domain).split("*")):
        label = t.get(f"{var}={value}")
        if label is None:
            label = t[f"{var}=*"].format(value) if f"{var}=*" in t else value
        parts.append(label)
    return " · ".join(parts)
