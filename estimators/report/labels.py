"""Text of the report page in English and Norwegian (bokmål).

Every visible string of the page and the figures is looked up here by key, so
a language is one dictionary. Rate labels come from the key-rate catalog
(English) with Norwegian overrides where the catalog has none.
"""
from __future__ import annotations

LANGUAGES = ("en", "no")

TEXT = {
    "en": {
        "title": "Reweighted employer survey: key rates with confidence intervals",
        "subtitle": "SINTEF 2019:0060 employer survey (CATI, 2017), calibrated to register margins",
        "contents": "Contents",
        "sec_sample": "Sample against population",
        "sec_weights": "Weight diagnostics",
        "sec_keyrates": "Key rates: published, reproduced and reweighted",
        "sec_forest": "Key rates by sector and size",
        "sec_domains": "All domains",
        "sec_flags": "Reliability flags",
        "sec_model": "What predicts placements and hiring (design-based regression)",
        "sec_methods": "Methods",
        "sample_intro": (
            "Sample share (unweighted) against the register share of every "
            "margin category, and the share after calibration (equal to the "
            "register share when calibration converged)."),
        "strata_intro": "Sample strata (sector × size class): respondents and the register count behind them.",
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
        "keyrates_intro": (
            "One row per key rate and published domain. <em>Published</em> is the "
            "report's printed (unweighted) percentage; <em>ours, unweighted</em> "
            "recomputes it from the bundled records and must equal it wherever the "
            "printed value is consistent with the printed counts; <em>weighted</em> "
            "is the calibrated estimate with its {level:g} % confidence interval. "
            "<em>Low / high</em> repeats the weighted estimate under the "
            "low and high variants of the estimated public/private margin{shares}."),
        "shares": " (public share of establishments {low} % and {high} % instead of {central} %)",
        "no_sensitivity": " (not computed: the margins were given with --margins)",
        "rate": "Key rate",
        "domain": "Domain",
        "published": "Published",
        "unweighted": "Ours, unweighted",
        "weighted": "Weighted",
        "ci": "{level:g} % CI",
        "n": "n",
        "flag": "Flag",
        "sensitivity": "Low / high public share",
        "note": "Note",
        "match": "equal",
        "forest_intro": (
            "Each panel is one key rate: the unweighted share (open circle) beside "
            "the weighted estimate (filled) with its {level:g} % confidence interval, "
            "for all firms, by sector and by size class."),
        "domains_intro": "Every estimate in keyrates.csv, by domain (show / hide).",
        "flags_intro": "Reliability rule applied to every estimate:",
        "flag_ok": "ok: publish (NCHS standard for proportions, Parker et al. 2017)",
        "model_intro": "Logistic models on the calibrated design; coefficients as odds ratios.",
        "methods_settings": "Settings of this run",
        "methods_margins": "Margins and their provenance",
        "methods_versions": "Software",
        "figure": "Figure",
        "fig_weights": "Distribution of calibrated weights and g-factors",
        "fig_convergence": "Convergence of the replicate re-calibrations",
        "fig_sample": "Sample and register shares by margin category",
        "forest_caption": ("{group}: unweighted share and weighted estimate with its "
                           "{level:g} % confidence interval, all firms, by sector and by size"),
        "unweighted_point": "unweighted",
        "weighted_point": "weighted, {level:g} % CI",
        "percent": "percent",
        "weight": "calibrated weight",
        "g_factor": "g = calibrated / base weight",
        "count": "units",
        "iterations": "iterations",
        "replicates": "replicates",
        "max_error": "largest margin error (log10)",
        "all": "All firms",
        "sector": "Sector",
        "size_class": "Size class",
        "nace_section": "Industry (NACE)",
        "nace_group": "Industry (NACE, grouped)",
        "sector*size_class": "Sector × size class",
        "public": "Public",
        "private": "Private",
        "employees": "{0} employees",
        "generated": "Generated {when} by kalib {version}.",
        "files": "Files",
        "m_sample": "Sample",
        "m_bundled": "bundled CATI employer survey 2017 (estimators.surveys.employers)",
        "m_design": "Design",
        "m_unstratified": "unstratified",
        "m_base_given": "base weights from column {0}",
        "m_base_nn": "base weights N/n",
        "m_calibration": "Calibration distance",
        "m_converged": "Convergence",
        "m_convergence": ("max relative margin error ≤ {tol:g} within {max_iter} iterations; "
                          "full sample: {it} iterations, error {err:.2e}"),
        "m_variance": "Variance",
        "m_bootstrap": ("Rao–Wu–Yue rescaling bootstrap, B = {B}, m_h = n_h − 1 within strata; "
                        "every replicate re-calibrated ({distance}) to the same margins; "
                        "variance centred on the replicate mean; {df} degrees of freedom"),
        "m_jkn": ("stratified delete-one jackknife (JKn), {B} replicates, each re-calibrated "
                  "({distance}); {df} degrees of freedom"),
        "m_jk1": ("delete-one jackknife (JK1), {B} replicates, each re-calibrated "
                  "({distance}); {df} degrees of freedom"),
        "m_linearization": ("Taylor linearization with the calibration residuals "
                            "(Deville & Särndal 1992); {df} degrees of freedom"),
        "m_seed": "Random seed",
        "m_ci": "Confidence intervals",
        "m_ci_text": "{ci} interval for proportions, {level:g} %",
        "m_domains": "Domains",
    },
    "no": {
        "title": "Vektet arbeidsgiverundersøkelse: nøkkeltall med konfidensintervall",
        "subtitle": "SINTEF 2019:0060, virksomhetsundersøkelsen (CATI, 2017), kalibrert til registermarginer",
        "contents": "Innhold",
        "sec_sample": "Utvalg mot populasjon",
        "sec_weights": "Vektdiagnostikk",
        "sec_keyrates": "Nøkkeltall: publisert, reprodusert og vektet",
        "sec_forest": "Nøkkeltall etter sektor og størrelse",
        "sec_domains": "Alle domener",
        "sec_flags": "Pålitelighetsflagg",
        "sec_model": "Hva forklarer arbeidstrening og ansettelse (designbasert regresjon)",
        "sec_methods": "Metode",
        "sample_intro": (
            "Andel i utvalget (uvektet) mot andelen i registeret for hver "
            "kategori i marginene, og andelen etter kalibrering (lik "
            "registerandelen når kalibreringen konvergerte)."),
        "strata_intro": "Utvalgsstrata (sektor × størrelse): respondenter og registertallet bak dem.",
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
        "keyrates_intro": (
            "Én rad per nøkkeltall og publisert domene. <em>Publisert</em> er "
            "rapportens trykte (uvektede) prosent; <em>vår, uvektet</em> regner den "
            "ut på nytt fra de medfølgende dataene og skal være lik der det trykte "
            "tallet stemmer med de trykte antallene; <em>vektet</em> er det "
            "kalibrerte estimatet med {level:g} % konfidensintervall. <em>Lav / høy</em> "
            "gjentar det vektede estimatet med lav og høy variant av den anslåtte "
            "offentlig/privat-marginen{shares}."),
        "shares": " (offentlig andel av virksomhetene {low} % og {high} % i stedet for {central} %)",
        "no_sensitivity": " (ikke beregnet: marginene ble gitt med --margins)",
        "rate": "Nøkkeltall",
        "domain": "Domene",
        "published": "Publisert",
        "unweighted": "Vår, uvektet",
        "weighted": "Vektet",
        "ci": "{level:g} % KI",
        "n": "n",
        "flag": "Flagg",
        "sensitivity": "Lav / høy offentlig andel",
        "note": "Merknad",
        "match": "lik",
        "forest_intro": (
            "Hvert panel er ett nøkkeltall: uvektet andel (åpen sirkel) ved siden av "
            "vektet estimat (fylt) med {level:g} % konfidensintervall, for alle "
            "virksomheter, etter sektor og etter størrelse."),
        "domains_intro": "Alle estimater i keyrates.csv, etter domene (vis / skjul).",
        "flags_intro": "Pålitelighetsregel brukt på hvert estimat:",
        "flag_ok": "ok: kan publiseres (NCHS-standard for andeler, Parker mfl. 2017)",
        "model_intro": "Logistiske modeller på det kalibrerte designet; koeffisienter som oddsforhold.",
        "methods_settings": "Innstillinger for denne kjøringen",
        "methods_margins": "Marginer og kilder",
        "methods_versions": "Programvare",
        "figure": "Figur",
        "fig_weights": "Fordeling av kalibrerte vekter og g-faktorer",
        "fig_convergence": "Konvergens i rekalibreringen av replikatene",
        "fig_sample": "Andeler i utvalg og register etter marginkategori",
        "forest_caption": ("{group}: uvektet andel og vektet estimat med "
                           "{level:g} % konfidensintervall, alle virksomheter, etter sektor "
                           "og etter størrelse"),
        "unweighted_point": "uvektet",
        "weighted_point": "vektet, {level:g} % KI",
        "percent": "prosent",
        "weight": "kalibrert vekt",
        "g_factor": "g = kalibrert / startvekt",
        "count": "enheter",
        "iterations": "iterasjoner",
        "replicates": "replikater",
        "max_error": "største marginavvik (log10)",
        "all": "Alle virksomheter",
        "sector": "Sektor",
        "size_class": "Størrelse",
        "nace_section": "Næring (NACE)",
        "nace_group": "Næring (NACE, gruppert)",
        "sector*size_class": "Sektor × størrelse",
        "public": "Offentlig",
        "private": "Privat",
        "employees": "{0} ansatte",
        "generated": "Laget {when} av kalib {version}.",
        "files": "Filer",
        "m_sample": "Utvalg",
        "m_bundled": "medfølgende CATI-undersøkelse blant virksomheter 2017 (estimators.surveys.employers)",
        "m_design": "Design",
        "m_unstratified": "ustratifisert",
        "m_base_given": "startvekter fra kolonnen {0}",
        "m_base_nn": "startvekter N/n",
        "m_calibration": "Kalibreringsavstand",
        "m_converged": "Konvergens",
        "m_convergence": ("største relative marginavvik ≤ {tol:g} innen {max_iter} iterasjoner; "
                          "hele utvalget: {it} iterasjoner, avvik {err:.2e}"),
        "m_variance": "Varians",
        "m_bootstrap": ("Rao–Wu–Yue rescaling bootstrap, B = {B}, m_h = n_h − 1 innen strata; "
                        "hvert replikat rekalibrert ({distance}) til de samme marginene; "
                        "varians sentrert på replikatgjennomsnittet; {df} frihetsgrader"),
        "m_jkn": ("stratifisert jackknife (JKn), {B} replikater, hvert rekalibrert "
                  "({distance}); {df} frihetsgrader"),
        "m_jk1": ("jackknife (JK1), {B} replikater, hvert rekalibrert ({distance}); "
                  "{df} frihetsgrader"),
        "m_linearization": ("Taylor-linearisering med kalibreringsresidualene "
                            "(Deville & Särndal 1992); {df} frihetsgrader"),
        "m_seed": "Startverdi for tilfeldige tall",
        "m_ci": "Konfidensintervall",
        "m_ci_text": "{ci}-intervall for andeler, {level:g} %",
        "m_domains": "Domener",
    },
}

# Groups of related key rates, one forest figure each: (key, en, no, id prefixes).
RATE_GROUPS = (
    ("trainees", "Work placements (trainees)", "Arbeidstrening",
     ("trainee_", "plans_", "no_plans_")),
    ("hiring", "Hiring after a placement", "Ansettelse etter arbeidstrening",
     ("hired_", "permanent_", "ordinary_", "no_recruitment_")),
    ("reasons", "Reasons for offering placements", "Grunner til å tilby arbeidstrening",
     ("csr_", "make_difference_", "work_environment_", "recruitment_")),
    ("competence", "Most-needed competence", "Viktigste kompetansebehov",
     ("competence_",)),
    ("accommodation", "Accommodation and alternative tasks",
     "Tilrettelegging og alternative oppgaver", ("accommodation_", "alternative_")),
    ("nav", "What NAV can do", "Hva NAV kan gjøre", ("nav_",)),
    ("disability", "Impairments rated difficult", "Funksjonsnedsettelser vurdert som vanskelige",
     ("disability_",)),
)


# The estimators' reliability flags (NCHS Data Presentation Standards for
# Proportions, Parker et al. 2017; estimators.inference.results.reliability_flags).
FLAG_RULES = {
    "en": {
        "review": "design degrees of freedom below 8: review before publishing",
        "suppress": ("base n or effective n below 30, or the Korn–Graubard 95 % interval "
                     "30 points wide or more, or 5–30 points wide and wider than 130 % of "
                     "the estimate: do not publish"),
        "empty": "no respondent in the domain",
    },
    "no": {
        "review": "færre enn 8 frihetsgrader i designet: vurder før publisering",
        "suppress": ("n eller effektiv n under 30, eller Korn–Graubard-intervallet (95 %) "
                     "30 prosentpoeng bredt eller mer, eller 5–30 poeng bredt og bredere "
                     "enn 130 % av estimatet: publiseres ikke"),
        "empty": "ingen respondenter i domenet",
    },
}


def flag_rules(lang: str) -> dict[str, str]:
    """Flag code -> the publication rule it stands for, in ``lang``."""
    return FLAG_RULES[lang]


def text(lang: str) -> dict[str, str]:
    """All strings of the page in ``lang`` (``en`` or ``no``)."""
    if lang not in TEXT:
        raise ValueError(f"language {lang!r} not available (choose from {', '.join(LANGUAGES)})")
    return TEXT[lang]


def rate_group(rate: str) -> tuple[str, str, str]:
    """The forest-figure group ``(key, label_en, label_no)`` of a rate id."""
    for key, en, no, prefixes in RATE_GROUPS:
        if rate.startswith(prefixes):
            return key, en, no
    return "other", "Other key rates", "Andre nøkkeltall"


def domain_label(domain_var: str, domain: str, t: dict[str, str]) -> str:
    """A readable label of one domain, e.g. ``Public · 5-19 employees``."""
    if domain_var == "all":
        return t["all"]
    parts = []
    for var, value in zip(domain_var.split("*"), str(domain).split("*")):
        if var == "sector":
            parts.append(t.get(value, value))
        elif var == "size_class":
            parts.append(t["employees"].format(value))
        else:
            parts.append(value)
    return " · ".join(parts)


# Page labels of the key rates (en, no); the catalog's ``meaning`` is the
# fallback for a rate not listed here.
_COMPETENCE = {"craft_certificate": ("craft certificate", "fagbrev"),
               "higher_education": ("higher education", "høyere utdanning"),
               "unskilled": ("unskilled (trained in-house)", "ufaglærte (læres opp selv)"),
               "courses_certification": ("specific courses and certifications",
                                         "spesifikke kurs og sertifiseringer"),
               "specialist_education": ("specialist education", "spesialistutdanning"),
               "other": ("other", "annet")}
# Short forms of the codebook's item labels (disability_compatibility).
_IMPAIRMENT = {"stability": ("lack of stability and predictability",
                             "manglende stabilitet og forutsigbarhet"),
               "motivation": ("lack of motivation", "manglende motivasjon"),
               "cognitive": ("cognitive impairments", "kognitive funksjonsnedsettelser"),
               "social": ("weakened social skills", "svekkede sosiale ferdigheter"),
               "language": ("language difficulties", "språklige vansker"),
               "physical_mobility": ("physical impairments / reduced mobility",
                                     "fysiske funksjonsnedsettelser"),
               "sensory": ("sensory impairments", "sensoriske funksjonsnedsettelser"),
               "substance_crime": ("substance abuse / criminal record",
                                   "rus/kriminalitetshistorikk"),
               "musculoskeletal": ("musculoskeletal complaints", "muskel-/skjelettplager"),
               "slow_pace": ("reduced work pace", "nedsatt arbeidstempo")}
RATE_LABELS = {
    "trainee_now_rate": ("Has a trainee now", "Har praksiskandidat nå"),
    "trainee_before_among_not_now": ("Had trainees earlier, among firms without one now",
                                     "Har hatt tidligere, blant dem uten nå"),
    "trainee_ever_rate": ("Has or has had trainees", "Har eller har hatt praksiskandidat"),
    "trainee_ever_rate_by_sector.public": ("Has or has had trainees: public firms",
                                           "Har eller har hatt: offentlige virksomheter"),
    "trainee_ever_rate_by_sector.private": ("Has or has had trainees: private firms",
                                            "Har eller har hatt: private virksomheter"),
    "plans_next_year_among_not_now": ("Plans a trainee next year, among firms without one now",
                                      "Planlegger neste år, blant dem uten nå"),
    "plans_among_earlier_experience": ("Plans next year, among firms with earlier trainees",
                                       "Planlegger neste år, blant dem med tidligere erfaring"),
    "no_plans_among_never": ("No plans, among firms that never had trainees",
                             "Ingen planer, blant dem uten erfaring"),
    "hired_after_trainee_rate": ("Hired someone after a placement",
                                 "Har ansatt etter arbeidstrening"),
    "permanent_position_among_hired": ("Permanent position, among firms that hired",
                                       "Fast stilling, blant dem som ansatte"),
    "ordinary_tasks_among_now": ("Trainees mainly do ordinary tasks",
                                 "Kandidatene gjør hovedsakelig ordinære oppgaver"),
    "csr_reason_important": ("Social responsibility: important reason (4-5)",
                             "Samfunnsansvar: viktig grunn (4-5)"),
    "make_difference_reason_important": ("Making a difference: important reason (4-5)",
                                         "Gjøre en forskjell: viktig grunn (4-5)"),
    "work_environment_reason_important": ("Good for the work environment: important (4-5)",
                                          "Bra for arbeidsmiljøet: viktig grunn (4-5)"),
    "recruitment_reason_important": ("Recruitment need: important reason (4-5)",
                                     "Rekrutteringsbehov: viktig grunn (4-5)"),
    "accommodation_experience_rate": ("Experience with employees needing accommodation",
                                      "Erfaring med tilrettelegging for ansatte"),
    "trainee_now_by_accommodation_experience.yes": (
        "Trainee now, firms with accommodation experience",
        "Kandidat nå, virksomheter med tilretteleggingserfaring"),
    "trainee_now_by_accommodation_experience.no": (
        "Trainee now, firms without accommodation experience",
        "Kandidat nå, virksomheter uten tilretteleggingserfaring"),
    "alternative_tasks_rates.full_time": ("Alternative tasks: full-time",
                                          "Alternative oppgaver: heltid"),
    "alternative_tasks_rates.part_time": ("Alternative tasks: part-time",
                                          "Alternative oppgaver: deltid"),
    "alternative_tasks_rates.no": ("No alternative tasks", "Ingen alternative oppgaver"),
    "nav_communication_important": ("Good communication with NAV: important (4-5)",
                                    "God kommunikasjon med NAV: viktig (4-5)"),
    "nav_economic_measures_important": ("Economic measures from NAV: important (4-5)",
                                        "Økonomiske virkemidler fra NAV: viktig (4-5)"),
    "no_recruitment_need_main_reason_not_hired": (
        "No recruitment need: why a placement led to no hire",
        "Ikke rekrutteringsbehov: grunn til at det ikke ble ansettelse"),
    **{f"competence_need_distribution.{k}": (f"Most-needed competence: {en}",
                                             f"Viktigste kompetansebehov: {no}")
       for k, (en, no) in _COMPETENCE.items()},
    "competence_need_education_transport.P_higher_education": (
        "Education (P): higher education most needed",
        "Undervisning (P): høyere utdanning viktigst"),
    "competence_need_education_transport.H_craft": (
        "Transport (H): craft certificate most needed", "Transport (H): fagbrev viktigst"),
    "competence_need_education_transport.H_courses": (
        "Transport (H): courses / certification most needed",
        "Transport (H): kurs / sertifisering viktigst"),
    "competence_need_education_transport.H_unskilled": (
        "Transport (H): unskilled most needed", "Transport (H): ufaglærte viktigst"),
    **{f"disability_difficult_rates.{k}": (f"Difficult to combine with work (1-2): {en}",
                                           f"Vanskelig å kombinere med arbeid (1-2): {no}")
       for k, (en, no) in _IMPAIRMENT.items()},
}


def rate_label(rate: str, lang: str, fallback: str | None = None) -> str:
    """The page label of a key rate in ``lang``."""
    labels = RATE_LABELS.get(rate)
    if labels is None:
        return fallback or rate
    return labels[LANGUAGES.index(lang)]
