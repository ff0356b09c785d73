"""The staff survey's words on the report page, in English and Norwegian.

What the generic report (``estimators.report``) cannot know about this survey:
the page labels of its key rates and their forest-figure groups, the strings
that name its variables, values and sections (over the report's generic
ones), and :func:`assumptions`, every assumption of its design written out
from the data, for the closing note of its part of the page. Collected into
``estimators.surveys.ai_staff.SURVEY``.
"""

from __future__ import annotations

from estimators.surveys.ai_staff.design import (
    LIST_COMPANIES,
    MANAGER,
    MEMBER_COMPANIES,
    NET_SENT,
    RHOS,
    VARIANTS,
    cluster_take,
    clustering_inflation,
    role_sizes,
    staff_response,
)
from estimators.surveys.base import Assumption

LANGUAGES = ("en", "no")

ROLES = {
    "job_consultant": ("Job consultants", "Jobbkonsulenter"),
    "work_production_leader": ("Work/production supervisors", "Arbeids- og produksjonsledere"),
    "programme_leader": ("Programme leaders", "Tiltaksansvarlige"),
    "general_manager": ("General managers", "Daglige ledere"),
}

# The survey's strings of the page (keys as in estimators.report.labels.TEXT).
TEXT = {
    "en": {
        "title": "Staff of the work-inclusion companies: key rates with confidence intervals",
        "subtitle": (
            "SINTEF 2019:0060 staff survey (web, October 2017; chapter 7), "
            "strata = role, response-homogeneity weights, no calibration"
        ),
        "all": "All respondents",
        "role": "Role",
        **{f"role={code}": en for code, (en, _) in ROLES.items()},
        "stratum": "Role",
        "sample_n": "Respondents",
        "sample_share": "Share of respondents",
        "register_total": "Population (central)",
        "register_share": "Share of population",
        "register_variants": "Population, low / high response",
        "sec_sample": "Respondents against the frame, by role",
        "sec_forest": "Key rates by role",
        "sample_intro": (
            "NHO Arbeid og inkludering had 95 member companies. 55 sent lists of their "
            "staff, and everybody on a list got the questionnaire; the general manager "
            "of every member company got it too. The report gives each respondent's "
            "role and nothing else, so the design has one stratum per role, and every "
            "respondent of a role stands for the same number of people (a "
            "response-homogeneity group). General managers are a census of 95; the "
            "staff roles' sizes are not known and are estimated from the net number of "
            "questionnaires sent to staff under equal response across staff roles, in a "
            "central variant (every address sent is in the population) and a low and high "
            "response variant. The closing note lists every assumption."
        ),
        "strata_intro": (
            "Respondents and the population of each role under the central variant "
            "(and the low / high response variants): weight = population / "
            "respondents, and the share of the role that answered (the finite "
            "population correction is one minus it)."
        ),
        "frame_fig": "Respondents and population (central variant) by role",
        "weights_intro": (
            "The weight is constant within role, so it has four values; the survey is "
            "not calibrated (no margin is known beyond the role sizes, which the "
            "weights meet already)."
        ),
        "keyrates_intro": (
            "One row per key rate, for all respondents and by role (rates asked of job "
            "consultants only have no other roles). <em>Published</em> is the number "
            "chapter 7 prints, often in words (“drøyt 80 prosent”), then shown as the "
            "interval of shares the wording allows; nothing is printed by role "
            "(<em>not published</em>). <em>Ours, unweighted</em> recomputes it from the "
            "records; <em>weighted</em> is the design-based estimate with its SE, "
            "{level:g} % confidence interval (logit; a t interval for the mean "
            "caseload) and design effect. <em>Low / high</em> repeats the weighted "
            "estimate under the low and high response variants{shares}; within a role "
            "the variants change nothing, overall they move only the general "
            "managers' share of the population."
        ),
        "shares": " (staff response rate {low} % and {high} % instead of {central} %)",
        "sensitivity": "Low / high response",
        "clustering_intro": (
            "Staff are clustered in the {clusters} companies that sent lists, and company "
            "ids are not published, so the intervals above treat respondents as "
            "independent within role. The last columns show the {level:g} % interval "
            "widened by Kish's design-effect factor 1 + (m − 1) ρ for an assumed "
            "intra-company correlation ρ = {rhos}, with m = the staff respondents of the "
            "estimate's base / {clusters} (overall m = {m} and factors {factors}); "
            "general managers, one per company, are not inflated."
        ),
        "forest_intro": (
            "Each panel is one key rate: the unweighted share (open circle) beside the "
            "weighted estimate (filled) with its {level:g} % confidence interval, for "
            "all respondents and by role (roles a question was not asked of are left "
            "out)."
        ),
        "forest_caption": (
            "{group}: unweighted share and weighted estimate with its "
            "{level:g} % confidence interval, all respondents and by role"
        ),
        "mean_axis": "participants per job consultant",
        "m_bundled": (
            "bundled reconstruction of the staff survey 2017 "
            "(estimators.surveys.ai_staff; see ai_staff_decisions.md)"
        ),
    },
    "no": {
        "title": "Ansatte i arbeidsinkluderingsbedriftene: nøkkeltall med konfidensintervall",
        "subtitle": (
            "SINTEF 2019:0060, spørreundersøkelsen blant ansatte (web, oktober "
            "2017; kapittel 7), strata = rolle, vekter innen rolle, ingen "
            "kalibrering"
        ),
        "all": "Alle respondenter",
        "role": "Rolle",
        **{f"role={code}": no for code, (_, no) in ROLES.items()},
        "stratum": "Rolle",
        "sample_n": "Respondenter",
        "sample_share": "Andel av respondentene",
        "register_total": "Populasjon (sentral)",
        "register_share": "Andel av populasjonen",
        "register_variants": "Populasjon, lav / høy svarandel",
        "sec_sample": "Respondenter mot rammen, etter rolle",
        "sec_forest": "Nøkkeltall etter rolle",
        "sample_intro": (
            "NHO Arbeid og inkludering hadde 95 medlemsbedrifter. 55 sendte lister over "
            "sine ansatte, og alle på listene fikk spørreskjemaet; daglig leder i hver "
            "medlemsbedrift fikk det også. Rapporten oppgir bare rollen til hver "
            "respondent, så designet har ett stratum per rolle, og hver respondent i en "
            "rolle står for like mange (en responshomogen gruppe). Daglige ledere er en "
            "totaltelling av 95; størrelsen på de ansattes roller er ukjent og anslås fra "
            "netto antall skjemaer sendt til ansatte under lik svarandel i rollene, i en "
            "sentral variant (alle utsendte adresser er i populasjonen) og en lav og høy "
            "svarvariant. Sluttnoten lister alle forutsetningene."
        ),
        "strata_intro": (
            "Respondenter og populasjon i hver rolle i den sentrale varianten (og lav / "
            "høy svarvariant): vekt = populasjon / respondenter, og andelen av rollen "
            "som svarte (korreksjonen for endelig populasjon er én minus den)."
        ),
        "frame_fig": "Respondenter og populasjon (sentral variant) etter rolle",
        "weights_intro": (
            "Vekten er konstant innen rolle og har derfor fire verdier; undersøkelsen er "
            "ikke kalibrert (ingen marginer er kjent utover rollenes størrelse, som "
            "vektene allerede treffer)."
        ),
        "keyrates_intro": (
            "Én rad per nøkkeltall, for alle respondenter og etter rolle (spørsmål bare "
            "til jobbkonsulenter har ingen andre roller). <em>Publisert</em> er tallet "
            "kapittel 7 trykker, ofte i ord («drøyt 80 prosent»), og da vist som "
            "intervallet av andeler ordene tillater; ingenting er trykt etter rolle "
            "(<em>ikke publisert</em>). <em>Vår, uvektet</em> regner det ut på nytt fra "
            "dataene; <em>vektet</em> er det designbaserte estimatet med standardfeil, "
            "{level:g} % konfidensintervall (logit; t-intervall for gjennomsnittlig "
            "antall deltakere) og designeffekt. <em>Lav / høy</em> gjentar det vektede "
            "estimatet med lav og høy svarvariant{shares}; innen en rolle endrer "
            "variantene ingenting, totalt flytter de bare de daglige ledernes andel av "
            "populasjonen."
        ),
        "shares": " (svarandel blant ansatte {low} % og {high} % i stedet for {central} %)",
        "sensitivity": "Lav / høy svarandel",
        "clustering_intro": (
            "De ansatte er gruppert i de {clusters} bedriftene som sendte lister, og "
            "bedriftene er ikke oppgitt, så intervallene over behandler respondentene "
            "som uavhengige innen rolle. De siste kolonnene viser {level:g} % intervallet "
            "utvidet med Kish' designeffekt 1 + (m − 1) ρ for en antatt korrelasjon "
            "innen bedrift ρ = {rhos}, der m = ansatte respondenter i estimatets base / "
            "{clusters} (totalt m = {m} og faktorer {factors}); daglige ledere, én per "
            "bedrift, blåses ikke opp."
        ),
        "forest_intro": (
            "Hvert panel er ett nøkkeltall: uvektet andel (åpen sirkel) ved siden av "
            "vektet estimat (fylt) med {level:g} % konfidensintervall, for alle "
            "respondenter og etter rolle (roller som ikke fikk spørsmålet er utelatt)."
        ),
        "forest_caption": (
            "{group}: uvektet andel og vektet estimat med {level:g} % "
            "konfidensintervall, alle respondenter og etter rolle"
        ),
        "mean_axis": "deltakere per jobbkonsulent",
        "m_bundled": (
            "medfølgende rekonstruksjon av undersøkelsen blant ansatte 2017 "
            "(estimators.surveys.ai_staff; se ai_staff_decisions.md)"
        ),
    },
}

# Groups of related key rates, one forest figure each: (key, en, no, id prefixes).
# Rates asked of job consultants only (work methods, assistance, caseload) form
# their own groups, so that every panel of a figure has the same rows.
_GROUPS = (
    (
        "employers",
        "Work with employers",
        "Arbeidet med arbeidsgivere",
        ("active_recruitment_", "competition_", "collab_"),
    ),
    ("competence", "The company's competence", "Bedriftens kompetanse", ("competence_",)),
    (
        "methods",
        "Work methods and assistance (job consultants)",
        "Metoder og bistand (jobbkonsulenter)",
        ("method_", "assist_"),
    ),
    (
        "caseload",
        "Caseload (job consultants)",
        "Antall deltakere (jobbkonsulenter)",
        ("caseload_",),
    ),
    (
        "statements",
        "Statements about employers (fully or partly agree)",
        "Påstander om arbeidsgivere (helt eller delvis enig)",
        ("goodwill_", "unskilled_", "employers_", "disability_", "need_more_"),
    ),
    (
        "measures",
        "Measures offered and their usefulness",
        "Tiltak som tilbys og hvor nyttige de er",
        ("aft_", "useful_"),
    ),
)

RATE_GROUPS = tuple(
    (key, dict(zip(LANGUAGES, (en, no))), prefixes) for key, en, no, prefixes in _GROUPS
)
"""``(key, {lang: label}, id prefixes)`` of every forest-figure group."""

_LABELS = {
    "active_recruitment_rate": (
        "Company actively recruits new employers",
        "Bedriften rekrutterer aktivt nye arbeidsgivere",
    ),
    "competition_from_nav": (
        "Very/fairly large competition from NAV",
        "Svært/ganske stor konkurranse fra NAV",
    ),
    "competence_labour_market_employers.labour_market": (
        "Competence on the labour market very/fairly good",
        "Kompetanse på arbeidsmarkedet svært/ganske god",
    ),
    "competence_labour_market_employers.employer_interaction": (
        "Competence in interaction with employers very/fairly good",
        "Samhandlingskompetanse med arbeidsgivere svært/ganske god",
    ),
    "competence_basic_skills.very_good": (
        "Basic-skills mapping: very good competence",
        "Kartlegging av basisferdigheter: svært god",
    ),
    "competence_basic_skills.fairly_good": (
        "Basic-skills mapping: fairly good competence",
        "Kartlegging av basisferdigheter: ganske god",
    ),
    "method_ordinary_work_training": (
        "Ordinary work training (SE/IPS) to a very/fairly large extent",
        "Arbeidstrening i ordinært arbeidsliv (SE/IPS) i svært/ganske stor grad",
    ),
    "method_combine": (
        "Combines methods to a very/fairly large extent",
        "Kombinerer metodikker i svært/ganske stor grad",
    ),
    "method_riv": (
        "Ringer i vannet to a very/fairly large extent",
        "Ringer i vannet i svært/ganske stor grad",
    ),
    "assist_career_guidance": (
        "Career guidance very/fairly often",
        "Karriereveiledning svært/ganske ofte",
    ),
    "assist_job_search": (
        "Job-search guidance very/fairly often",
        "Veiledning i jobbsøking svært/ganske ofte",
    ),
    "assist_cv_placement.cv": (
        "Help writing a CV very/fairly often",
        "Utforme CV svært/ganske ofte",
    ),
    "assist_cv_placement.job_placement": (
        "Job placement/recruitment help very/fairly often",
        "Bistand til jobbformidling svært/ganske ofte",
    ),
    "caseload_mean": (
        "Participants per job consultant (mean, not %)",
        "Deltakere per jobbkonsulent (gjennomsnitt, ikke %)",
    ),
    "goodwill_placements_agree": (
        "Employers show goodwill when placements are needed",
        "Velvilje fra arbeidsgivere når det trengs praksisplasser",
    ),
    "unskilled_harder_agree": (
        "Harder to place unskilled candidates than before",
        "Vanskeligere å plassere ufaglærte enn før",
    ),
    "employers_exploit_agree": (
        "Some employers use placements as free labour",
        "En del arbeidsgivere utnytter praksisplasser som gratis arbeidskraft",
    ),
    "disability_view_varies_agree": (
        "Employers' view of disability varies across industries",
        "Arbeidsgiveres syn på nedsatt funksjonsevne varierer mellom bransjer",
    ),
    "need_more_employer_work_agree": (
        "We need to work more with employers",
        "Vi trenger å jobbe mer med arbeidsgiverne",
    ),
    "collab_local_employers_very_important": (
        "Cooperation with local employers very important",
        "Samhandling med lokale arbeidsgivere svært viktig",
    ),
    "collab_nav_offices_very_important": (
        "Cooperation with NAV offices very important",
        "Samhandling med NAV-kontorene svært viktig",
    ),
    "aft_offered": ("Works in a company offering AFT", "Jobber i en bedrift som tilbyr AFT"),
    "useful_oppfolging_aft.oppfolging": (
        "Oppfølging very/fairly useful (those with experience)",
        "Oppfølging svært/ganske nyttig (blant dem med erfaring)",
    ),
    "useful_oppfolging_aft.AFT": (
        "AFT very/fairly useful (those with experience)",
        "AFT svært/ganske nyttig (blant dem med erfaring)",
    ),
}

RATE_LABELS = {
    lang: {rate: pair[k] for rate, pair in _LABELS.items()} for k, lang in enumerate(LANGUAGES)
}
"""``{lang: {rate id: page label}}``."""


def assumptions(data, lang: str = "en") -> list[Assumption]:
    """Every assumption of the staff survey's design, written from ``data``
    (role counts, the variants' population sizes and response rates, the
    clustering factors), each with the sections of the page that state it.

    The list follows ``ai_staff_decisions.md``, W1-W7, and adds the
    reconstruction itself (S6-S9) and the variance.
    """
    sizes = {v: role_sizes(data["role"], v) for v in VARIANTS}
    central = sizes["central"]
    n_staff = int(central.loc[central.index != MANAGER, "n"].sum())
    n_manager = int(central.loc[MANAGER, "n"])
    rates = {v: float(staff_response(n_staff, v)) for v in VARIANTS}
    staff_total = {v: float(sizes[v].loc[sizes[v].index != MANAGER, "N"].sum()) for v in VARIANTS}
    m = cluster_take(n_staff)
    factors = clustering_inflation(m)
    no = lang == "no"

    def pct(x, d=1):
        s = f"{100 * x:.{d}f}"
        return s.replace(".", ",") if no else s

    def num(x, d=0):
        s = f"{x:,.{d}f}"
        return s.replace(",", "\u202f").replace(".", ",") if no else s

    rhos = " / ".join(num(r, 2) for r in RHOS)
    inflation = " / ".join(num(f, 2) for f in factors)
    n_total = len(data)
    # every assumption: (sections that state it, (title, text) in English, in Norwegian)
    items = [
        (
            ("sample",),
            (
                "Net number of questionnaires sent",
                f"{num(NET_SENT)}, the integer nearest {n_total} / 0.356: the report prints the "
                "response rate (35.6 %) but not the number sent, which any of 2,110–2,115 "
                f"would give. {MEMBER_COMPANIES} went to general managers, "
                f"{num(NET_SENT - MEMBER_COMPANIES)} to staff.",
            ),
            (
                "Netto antall utsendte skjemaer",
                f"{num(NET_SENT)}, heltallet nærmest {n_total} / 0,356: rapporten oppgir "
                "svarprosenten (35,6 %), men ikke antallet som ble sendt ut, som ethvert tall "
                f"fra 2 110 til 2 115 gir. {MEMBER_COMPANIES} gikk til daglige ledere, "
                f"{num(NET_SENT - MEMBER_COMPANIES)} til ansatte.",
            ),
        ),
        (
            ("sample", "weights", "methods"),
            (
                "Strata and weights",
                "One stratum per role; within a role the respondents are taken as a simple "
                "random subsample of the role's population (response-homogeneity groups, "
                "Särndal, Swensson & Wretman 1992, 15.6.2), so the weight is N_role / n_role.",
            ),
            (
                "Strata og vekter",
                "Ett stratum per rolle; innen en rolle regnes respondentene som et enkelt "
                "tilfeldig delutvalg av rollens populasjon (responshomogene grupper, Särndal, "
                "Swensson & Wretman 1992, 15.6.2), så vekten er N_rolle / n_rolle.",
            ),
        ),
        (
            ("sample", "methods"),
            (
                "General managers",
                f"A census of the {MEMBER_COMPANIES} member companies, {n_manager} answering: "
                f"N = {MEMBER_COMPANIES}, a real finite population correction "
                f"1 − {n_manager}/{MEMBER_COMPANIES}.",
            ),
            (
                "Daglige ledere",
                f"En totaltelling av de {MEMBER_COMPANIES} medlemsbedriftene, der {n_manager} "
                f"svarte: N = {MEMBER_COMPANIES}, en reell endelig-populasjonskorreksjon "
                f"1 − {n_manager}/{MEMBER_COMPANIES}.",
            ),
        ),
        (
            ("sample", "keyrates"),
            (
                "Staff population sizes",
                "Unknown; equal response propensity r across job consultants, supervisors "
                f"and programme leaders gives N_role = n_role / r. Central: every staff "
                f"address sent is in the population, r = {n_staff} / "
                f"{num(NET_SENT - MEMBER_COMPANIES)} = {pct(rates['central'])} % "
                f"(staff population {num(staff_total['central'], 1)}); low and high "
                f"variants r = {pct(rates['low_response'], 0)} % and "
                f"{pct(rates['high_response'], 0)} % ({num(staff_total['low_response'], 1)} "
                f"and {num(staff_total['high_response'], 1)}). The staff strata's fpc 1 − r "
                "belongs to this model, not to a known sampling fraction.",
            ),
            (
                "Populasjonen av ansatte",
                "Ukjent; lik svartilbøyelighet r blant jobbkonsulenter, arbeidsledere og "
                "tiltaksansvarlige gir N_rolle = n_rolle / r. Sentralt: alle utsendte "
                f"adresser til ansatte er i populasjonen, r = {n_staff} / "
                f"{num(NET_SENT - MEMBER_COMPANIES)} = {pct(rates['central'])} % "
                f"({num(staff_total['central'], 1)} ansatte); lav og høy variant r = "
                f"{pct(rates['low_response'], 0)} % og {pct(rates['high_response'], 0)} % "
                f"({num(staff_total['low_response'], 1)} og "
                f"{num(staff_total['high_response'], 1)}). Korreksjonen 1 − r i de ansattes "
                "strata hører til denne modellen, ikke til en kjent utvalgsandel.",
            ),
        ),
        (
            ("sample",),
            (
                "What the population is",
                "Target-group staff of the 55 companies that sent lists, and the general "
                "managers of all 95; the 40 companies without lists are represented by their "
                "managers only, on the authors' word that the two groups of companies do not "
                "differ clearly.",
            ),
            (
                "Hva populasjonen er",
                "Ansatte i målgruppen i de 55 bedriftene som sendte lister, og daglige ledere "
                "i alle 95; de 40 bedriftene uten lister er bare representert ved daglig "
                "leder, på forfatternes ord om at de to gruppene av bedrifter ikke skiller "
                "seg tydelig.",
            ),
        ),
        (
            ("keyrates",),
            (
                "Company clustering",
                f"Not in the variance: company ids are not published and none are invented. "
                f"Shown instead as intervals widened by 1 + (m − 1) ρ for ρ = {rhos}, "
                f"m = staff respondents / {LIST_COMPANIES} (overall m = {num(m, 1)}, factors "
                f"{inflation}); the widened intervals keep the design's degrees of freedom.",
            ),
            (
                "Gruppering i bedrifter",
                "Ikke i variansen: bedriftene er ikke oppgitt, og ingen er funnet på. Vist i "
                f"stedet som intervaller utvidet med 1 + (m − 1) ρ for ρ = {rhos}, m = "
                f"ansatte respondenter / {LIST_COMPANIES} (totalt m = {num(m, 1)}, faktorer "
                f"{inflation}); de utvidede intervallene beholder designets frihetsgrader.",
            ),
        ),
        (
            ("weights", "methods"),
            (
                "No calibration",
                "No population margin is known beyond the role sizes, which the weights "
                "already meet.",
            ),
            (
                "Ingen kalibrering",
                "Ingen populasjonsmarginer er kjent utover rollenes størrelse, som vektene "
                "allerede treffer.",
            ),
        ),
        (
            ("methods",),
            (
                "Variance",
                "Taylor linearization for the stratified design with fpc (R's svydesign(ids = "
                "~1, strata = ~role, fpc = ~N_role, weights = ~base_weight)), whatever "
                "--variance says: without calibration it is exact for this design and needs "
                "no replicates.",
            ),
            (
                "Varians",
                "Taylor-linearisering for det stratifiserte designet med endelig-"
                "populasjonskorreksjon (R: svydesign(ids = ~1, strata = ~role, fpc = ~N_role, "
                "weights = ~base_weight)), uansett --variance: uten kalibrering er den eksakt "
                "for dette designet og trenger ingen replikater.",
            ),
        ),
        (
            ("keyrates",),
            (
                "The records",
                f"The {n_total} records are a reconstruction that reproduces every number "
                "chapter 7 states; the rest of each answer distribution is assumed "
                "(ai_staff_decisions.md, S6–S9), and numbers the report does not print are "
                "marked not published.",
            ),
            (
                "Dataene",
                f"De {n_total} postene er en rekonstruksjon som gjengir hvert tall kapittel 7 "
                "oppgir; resten av hver svarfordeling er antatt (ai_staff_decisions.md, "
                "S6–S9), og tall rapporten ikke trykker er merket ikke publisert.",
            ),
        ),
    ]
    k = LANGUAGES.index(lang)
    return [Assumption(*texts[k], where) for where, *texts in items]
