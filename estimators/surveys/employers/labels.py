"""The employer survey's words on the report page, in English and Norwegian.

What the generic report (``estimators.report``) cannot know about this survey:
the page labels of the key rates and their forest-figure groups, the strings
that name its variables, values, margins and sections (over the report's
generic ones), and the explanation of every published percentage that the
bundled records cannot reproduce. Collected into ``estimators.surveys.employers.SURVEY``.
"""

from __future__ import annotations

LANGUAGES = ("en", "no")

# The survey's strings of the page; keys ``var`` label a variable, ``var=value``
# one of its values and ``var=*`` every value (a format of the value).
TEXT = {
    "en": {
        "title": "Reweighted employer survey: key rates with confidence intervals",
        "subtitle": "SINTEF 2019:0060 employer survey (CATI, 2017), calibrated to register margins",
        "sec_forest": "Key rates by sector and size",
        "sec_model": (
            "What predicts placements, hiring and the recruitment motive (design-based regression)"
        ),
        "strata_intro": "Sample strata (sector × size class): respondents and the register count behind them.",
        "keyrates_intro": (
            "One row per key rate and published domain. <em>Published</em> is the "
            "report's printed (unweighted) percentage; <em>ours, unweighted</em> "
            "recomputes it from the bundled records and must equal it wherever the "
            "printed value is consistent with the printed counts; <em>weighted</em> "
            "is the calibrated estimate with its {level:g} % confidence interval. "
            "<em>Low / high</em> repeats the weighted estimate under the "
            "low and high variants of the estimated public/private margin{shares}."
        ),
        "shares": " (public share of establishments {low} % and {high} % instead of {central} %)",
        "sensitivity": "Low / high public share",
        "forest_intro": (
            "Each panel is one key rate: the unweighted share (open circle) beside "
            "the weighted estimate (filled) with its {level:g} % confidence interval, "
            "for all firms, by sector and by size class."
        ),
        "model_intro": (
            "Three logistic models and a proportional-odds model of a 1–5 rating "
            "on the calibrated design; coefficients as odds ratios."
        ),
        "forest_caption": (
            "{group}: unweighted share and weighted estimate with its "
            "{level:g} % confidence interval, all firms, by sector and by size"
        ),
        "all": "All firms",
        "sector": "Sector",
        "size_class": "Size class",
        "nace_section": "Industry (NACE)",
        "nace_group": "Industry (NACE, grouped)",
        "sector*size_class": "Sector × size class",
        "sector=public": "Public",
        "sector=private": "Private",
        "size_class=*": "{0} employees",
        "m_bundled": "bundled CATI employer survey 2017 (estimators.surveys.employers)",
    },
    "no": {
        "title": "Vektet arbeidsgiverundersøkelse: nøkkeltall med konfidensintervall",
        "subtitle": "SINTEF 2019:0060, virksomhetsundersøkelsen (CATI, 2017), kalibrert til registermarginer",
        "sec_forest": "Nøkkeltall etter sektor og størrelse",
        "sec_model": (
            "Hva forklarer arbeidstrening, ansettelse og rekrutteringsmotivet "
            "(designbasert regresjon)"
        ),
        "strata_intro": "Utvalgsstrata (sektor × størrelse): respondenter og registertallet bak dem.",
        "keyrates_intro": (
            "Én rad per nøkkeltall og publisert domene. <em>Publisert</em> er "
            "rapportens trykte (uvektede) prosent; <em>vår, uvektet</em> regner den "
            "ut på nytt fra de medfølgende dataene og skal være lik der det trykte "
            "tallet stemmer med de trykte antallene; <em>vektet</em> er det "
            "kalibrerte estimatet med {level:g} % konfidensintervall. <em>Lav / høy</em> "
            "gjentar det vektede estimatet med lav og høy variant av den anslåtte "
            "offentlig/privat-marginen{shares}."
        ),
        "shares": " (offentlig andel av virksomhetene {low} % og {high} % i stedet for {central} %)",
        "sensitivity": "Lav / høy offentlig andel",
        "forest_intro": (
            "Hvert panel er ett nøkkeltall: uvektet andel (åpen sirkel) ved siden av "
            "vektet estimat (fylt) med {level:g} % konfidensintervall, for alle "
            "virksomheter, etter sektor og etter størrelse."
        ),
        "model_intro": (
            "Tre logistiske modeller og en ordinal modell av en vurdering på "
            "skalaen 1–5, på det kalibrerte designet; koeffisienter som "
            "oddsforhold."
        ),
        "forest_caption": (
            "{group}: uvektet andel og vektet estimat med "
            "{level:g} % konfidensintervall, alle virksomheter, etter sektor "
            "og etter størrelse"
        ),
        "all": "Alle virksomheter",
        "sector": "Sektor",
        "size_class": "Størrelse",
        "nace_section": "Næring (NACE)",
        "nace_group": "Næring (NACE, gruppert)",
        "sector*size_class": "Sektor × størrelse",
        "sector=public": "Offentlig",
        "sector=private": "Privat",
        "size_class=*": "{0} ansatte",
        "m_bundled": "medfølgende CATI-undersøkelse blant virksomheter 2017 (estimators.surveys.employers)",
    },
}

# Groups of related key rates, one forest figure each: (key, en, no, id prefixes).
_GROUPS = (
    (
        "trainees",
        "Work placements (trainees)",
        "Arbeidstrening",
        ("trainee_", "plans_", "no_plans_"),
    ),
    (
        "hiring",
        "Hiring after a placement",
        "Ansettelse etter arbeidstrening",
        ("hired_", "permanent_", "ordinary_", "no_recruitment_"),
    ),
    (
        "reasons",
        "Reasons for offering placements",
        "Grunner til å tilby arbeidstrening",
        ("csr_", "make_difference_", "work_environment_", "recruitment_"),
    ),
    ("competence", "Most-needed competence", "Viktigste kompetansebehov", ("competence_",)),
    (
        "accommodation",
        "Accommodation and alternative tasks",
        "Tilrettelegging og alternative oppgaver",
        ("accommodation_", "alternative_"),
    ),
    ("nav", "What NAV can do", "Hva NAV kan gjøre", ("nav_",)),
    (
        "disability",
        "Impairments rated difficult",
        "Funksjonsnedsettelser vurdert som vanskelige",
        ("disability_",),
    ),
)

RATE_GROUPS = tuple(
    (key, dict(zip(LANGUAGES, (en, no))), prefixes) for key, en, no, prefixes in _GROUPS
)
"""``(key, {lang: label}, id prefixes)`` of every forest-figure group."""

# Page labels of the key rates (en, no); the catalog's ``meaning`` is the
# fallback for a rate not listed here.
_COMPETENCE = {
    "craft_certificate": ("craft certificate", "fagbrev"),
    "higher_education": ("higher education", "høyere utdanning"),
    "unskilled": ("unskilled (trained in-house)", "ufaglærte (læres opp selv)"),
    "courses_certification": (
        "specific courses and certifications",
        "spesifikke kurs og sertifiseringer",
    ),
    "specialist_education": ("specialist education", "spesialistutdanning"),
    "other": ("other", "annet"),
}
# Short forms of the codebook's item labels (disability_compatibility).
_IMPAIRMENT = {
    "stability": (
        "lack of stability and predictability",
        "manglende stabilitet og forutsigbarhet",
    ),
    "motivation": ("lack of motivation", "manglende motivasjon"),
    "cognitive": ("cognitive impairments", "kognitive funksjonsnedsettelser"),
    "social": ("weakened social skills", "svekkede sosiale ferdigheter"),
    "language": ("language difficulties", "språklige vansker"),
    "physical_mobility": (
        "physical impairments / reduced mobility",
        "fysiske funksjonsnedsettelser",
    ),
    "sensory": ("sensory impairments", "sensoriske funksjonsnedsettelser"),
    "substance_crime": ("substance abuse / criminal record", "rus/kriminalitetshistorikk"),
    "musculoskeletal": ("musculoskeletal complaints", "muskel-/skjelettplager"),
    "slow_pace": ("reduced work pace", "nedsatt arbeidstempo"),
}
_LABELS = {
    "trainee_now_rate": ("Has a trainee now", "Har praksiskandidat nå"),
    "trainee_before_among_not_now": (
        "Had trainees earlier, among firms without one now",
        "Har hatt tidligere, blant dem uten nå",
    ),
    "trainee_ever_rate": ("Has or has had trainees", "Har eller har hatt praksiskandidat"),
    "trainee_ever_rate_by_sector.public": (
        "Has or has had trainees: public firms",
        "Har eller har hatt: offentlige virksomheter",
    ),
    "trainee_ever_rate_by_sector.private": (
        "Has or has had trainees: private firms",
        "Har eller har hatt: private virksomheter",
    ),
    "plans_next_year_among_not_now": (
        "Plans a trainee next year, among firms without one now",
        "Planlegger neste år, blant dem uten nå",
    ),
    "plans_among_earlier_experience": (
        "Plans next year, among firms with earlier trainees",
        "Planlegger neste år, blant dem med tidligere erfaring",
    ),
    "no_plans_among_never": (
        "No plans, among firms that never had trainees",
        "Ingen planer, blant dem uten erfaring",
    ),
    "hired_after_trainee_rate": (
        "Hired someone after a placement",
        "Har ansatt etter arbeidstrening",
    ),
    "permanent_position_among_hired": (
        "Permanent position, among firms that hired",
        "Fast stilling, blant dem som ansatte",
    ),
    "ordinary_tasks_among_now": (
        "Trainees mainly do ordinary tasks",
        "Kandidatene gjør hovedsakelig ordinære oppgaver",
    ),
    "csr_reason_important": (
        "Social responsibility: important reason (4-5)",
        "Samfunnsansvar: viktig grunn (4-5)",
    ),
    "make_difference_reason_important": (
        "Making a difference: important reason (4-5)",
        "Gjøre en forskjell: viktig grunn (4-5)",
    ),
    "work_environment_reason_important": (
        "Good for the work environment: important (4-5)",
        "Bra for arbeidsmiljøet: viktig grunn (4-5)",
    ),
    "recruitment_reason_important": (
        "Recruitment need: important reason (4-5)",
        "Rekrutteringsbehov: viktig grunn (4-5)",
    ),
    "accommodation_experience_rate": (
        "Experience with employees needing accommodation",
        "Erfaring med tilrettelegging for ansatte",
    ),
    "trainee_now_by_accommodation_experience.yes": (
        "Trainee now, firms with accommodation experience",
        "Kandidat nå, virksomheter med tilretteleggingserfaring",
    ),
    "trainee_now_by_accommodation_experience.no": (
        "Trainee now, firms without accommodation experience",
        "Kandidat nå, virksomheter uten tilretteleggingserfaring",
    ),
    "alternative_tasks_rates.full_time": (
        "Alternative tasks: full-time",
        "Alternative oppgaver: heltid",
    ),
    "alternative_tasks_rates.part_time": (
        "Alternative tasks: part-time",
        "Alternative oppgaver: deltid",
    ),
    "alternative_tasks_rates.no": ("No alternative tasks", "Ingen alternative oppgaver"),
    "nav_communication_important": (
        "Good communication with NAV: important (4-5)",
        "God kommunikasjon med NAV: viktig (4-5)",
    ),
    "nav_economic_measures_important": (
        "Economic measures from NAV: important (4-5)",
        "Økonomiske virkemidler fra NAV: viktig (4-5)",
    ),
    "no_recruitment_need_main_reason_not_hired": (
        "No recruitment need: why a placement led to no hire",
        "Ikke rekrutteringsbehov: grunn til at det ikke ble ansettelse",
    ),
    **{
        f"competence_need_distribution.{k}": (
            f"Most-needed competence: {en}",
            f"Viktigste kompetansebehov: {no}",
        )
        for k, (en, no) in _COMPETENCE.items()
    },
    "competence_need_education_transport.P_higher_education": (
        "Education (P): higher education most needed",
        "Undervisning (P): høyere utdanning viktigst",
    ),
    "competence_need_education_transport.H_craft": (
        "Transport (H): craft certificate most needed",
        "Transport (H): fagbrev viktigst",
    ),
    "competence_need_education_transport.H_courses": (
        "Transport (H): courses / certification most needed",
        "Transport (H): kurs / sertifisering viktigst",
    ),
    "competence_need_education_transport.H_unskilled": (
        "Transport (H): unskilled most needed",
        "Transport (H): ufaglærte viktigst",
    ),
    **{
        f"disability_difficult_rates.{k}": (
            f"Difficult to combine with work (1-2): {en}",
            f"Vanskelig å kombinere med arbeid (1-2): {no}",
        )
        for k, (en, no) in _IMPAIRMENT.items()
    },
}


RATE_LABELS = {
    lang: {rate: pair[k] for rate, pair in _LABELS.items()} for k, lang in enumerate(LANGUAGES)
}
"""``{lang: {rate id: page label}}``."""

# Why a published percentage differs from the one recomputed from the data.
# The bundled records reproduce every count the report prints, so our
# unweighted share equals the published one wherever the printed percentage is
# consistent with the printed counts (the catalog's bases leave out item
# non-response, as the report's do). Each remaining difference is a report
# inconsistency, explained here with its entry in ``published_tables.md``
# section 4.
# (rate, domain_var, domain) -> {lang: explanation}
NOTES = {
    ("recruitment_reason_important", "sector", "public"): {
        "en": (
            "Printed 36.6 % is a typo (E-recruit-public): with the total 43.7 % and "
            "private 49.5 %, the public share must be about 26 % (45/173), as chapter "
            "11 prints (27 %); 36.6 % repeats the training item beside it."
        ),
        "no": (
            "Trykt 36,6 % er en trykkfeil (E-recruit-public): med totalen 43,7 % og "
            "privat 49,5 % må offentlig andel være rundt 26 % (45/173), slik kapittel "
            "11 trykker (27 %); 36,6 % gjentar opplæringsleddet ved siden av."
        ),
    },
    ("competence_need_distribution.unskilled", "sector", "private"): {
        "en": (
            "Tabell 5.10 prints 22.2 % for 177 of 800 private firms, which is 22.1 % "
            "under any rounding (E-5.10-rounding); the counts are consistent with the "
            "column total and the printed chi-square."
        ),
        "no": (
            "Tabell 5.10 trykker 22,2 % for 177 av 800 private virksomheter, som er "
            "22,1 % med enhver avrunding (E-5.10-rounding); antallene stemmer med "
            "kolonnesummen og den trykte kjikvadratverdien."
        ),
    },
}
