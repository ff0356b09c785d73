"""Why a published percentage differs from the one recomputed from the data.

The bundled records reproduce every count the report prints, so our
unweighted share equals the published one wherever the printed percentage is
consistent with the printed counts (the catalog's bases leave out item
non-response, as the report's do). Each remaining difference of the bundled
data is a report inconsistency, explained here with its entry in
``published_tables.md`` section 4.
"""
from __future__ import annotations

# (rate, domain_var, domain) -> {lang: explanation}
NOTES = {
    ("recruitment_reason_important", "sector", "public"): {
        "en": ("Printed 36.6 % is a typo (E-recruit-public): with the total 43.7 % and "
               "private 49.5 %, the public share must be about 26 % (45/173), as chapter "
               "11 prints (27 %); 36.6 % repeats the training item beside it."),
        "no": ("Trykt 36,6 % er en trykkfeil (E-recruit-public): med totalen 43,7 % og "
               "privat 49,5 % må offentlig andel være rundt 26 % (45/173), slik kapittel "
               "11 trykker (27 %); 36,6 % gjentar opplæringsleddet ved siden av."),
    },
    ("competence_need_distribution.unskilled", "sector", "private"): {
        "en": ("Tabell 5.10 prints 22.2 % for 177 of 800 private firms, which is 22.1 % "
               "under any rounding (E-5.10-rounding); the counts are consistent with the "
               "column total and the printed chi-square."),
        "no": ("Tabell 5.10 trykker 22,2 % for 177 av 800 private virksomheter, som er "
               "22,1 % med enhver avrunding (E-5.10-rounding); antallene stemmer med "
               "kolonnesummen og den trykte kjikvadratverdien."),
    },
}


def explain(rate: str, domain_var: str, domain: str, lang: str) -> str:
    """The explanation of a published/unweighted difference, or ``""``."""
    return NOTES.get((rate, domain_var, str(domain)), {}).get(lang, "")
