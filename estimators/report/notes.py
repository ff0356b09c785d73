"""Why a published percentage differs from the one recomputed from the data.

The bundled records reproduce every count the report prints, so our
unweighted share equals the published one wherever the printed percentage is
consistent with the printed counts and the catalog's base is the report's.
Each remaining difference of the bundled data is explained here: a report
inconsistency (citing its entry in ``published_tables.md`` section 4), or a
base that keeps routed non-answers which the report left out.
"""
from __future__ import annotations

_ITEM_BASE = {
    "en": ("The report's base is the {base} firms that answered the item ({num}/{base} = "
           "{pct} %); the catalog's base also keeps the {missing} routed firm(s) without "
           "an answer."),
    "no": ("Rapportens base er de {base} virksomhetene som svarte på spørsmålet "
           "({num}/{base} = {pct} %); katalogens base tar også med {missing} "
           "virksomhet(er) som fikk spørsmålet uten å svare."),
}


def _item_base(num, base, missing, pct):
    return {lang: text.format(num=num, base=base, missing=missing,
                              pct=pct if lang == "en" else pct.replace(".", ","))
            for lang, text in _ITEM_BASE.items()}


# (rate, domain_var, domain) -> {lang: explanation}
NOTES = {
    ("recruitment_reason_important", "all", "all"): _item_base(305, 698, 2, "43.7"),
    ("recruitment_reason_important", "sector", "private"): _item_base(260, 525, 1, "49.5"),
    ("no_plans_among_never", "all", "all"): _item_base(293, 314, 7, "93.3"),
    ("trainee_now_by_accommodation_experience.no", "all", "all"): {
        "en": ("Figur 5.5's base is the 433 firms that also answered trainee_now "
               "(67/433 = 15.47 %, printed 16 % by the report's double rounding); the "
               "catalog's base also keeps the 2 without an answer."),
        "no": ("Basen i figur 5.5 er de 433 virksomhetene som også svarte på trainee_now "
               "(67/433 = 15,47 %, trykt 16 % med rapportens dobbelte avrunding); "
               "katalogens base tar også med de 2 som ikke svarte."),
    },
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
