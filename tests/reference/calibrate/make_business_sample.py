"""Generate the deterministic stratified business sample used as the R
reference for calibration (run once; its outputs are committed beside it).

Eight strata sector × size class with quota sample sizes (20% public; private
split 30/30/20/20%), base weight N_h / n_h, and a NACE section drawn with
size-dependent probabilities. The NACE margin is the design-weighted sample
distribution perturbed by up to ±15% and rescaled to the register total, so
that raking, linear, logit and truncated with bounds (0.5, 1.8) all converge.

    python make_business_sample.py   # writes business_sample.csv, business_*.csv
"""

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
SIZES = ["1-4", "5-19", "20-49", "50+"]
POPULATION = {
    ("private", "1-4"): 151230,
    ("private", "5-19"): 58410,
    ("private", "20-49"): 14870,
    ("private", "50+"): 6120,
    ("public", "1-4"): 2890,
    ("public", "5-19"): 5110,
    ("public", "20-49"): 4060,
    ("public", "50+"): 3470,
}
SAMPLE = {
    ("private", "1-4"): 240,
    ("private", "5-19"): 240,
    ("private", "20-49"): 160,
    ("private", "50+"): 160,
    ("public", "1-4"): 50,
    ("public", "5-19"): 50,
    ("public", "20-49"): 50,
    ("public", "50+"): 50,
}
PRIVATE_NACE = {
    "C": 0.08,
    "F": 0.16,
    "G": 0.22,
    "H": 0.07,
    "I": 0.09,
    "J": 0.06,
    "M": 0.14,
    "N": 0.08,
    "Q": 0.05,
    "S": 0.05,
}
PUBLIC_NACE = {"H": 0.05, "J": 0.05, "M": 0.05, "N": 0.05, "O": 0.30, "P": 0.30, "Q": 0.20}


def main(seed=20190601):
    rng = np.random.default_rng(seed)
    rows = []
    for (sector, size), n_h in SAMPLE.items():
        probs = PRIVATE_NACE if sector == "private" else PUBLIC_NACE
        codes = list(probs)
        p = np.array([probs[c] for c in codes])
        nace = rng.choice(codes, n_h, p=p / p.sum())
        for section in nace:
            rows.append(
                {
                    "id": len(rows) + 1,
                    "sector": sector,
                    "size_class": size,
                    "nace": section,
                    "w": POPULATION[sector, size] / n_h,
                }
            )
    with open(HERE / "business_sample.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    total = sum(POPULATION.values())
    sections = sorted({r["nace"] for r in rows})
    weighted = np.array([sum(r["w"] for r in rows if r["nace"] == s) for s in sections])
    perturbed = weighted * rng.uniform(0.85, 1.15, len(sections))
    nace_totals = np.round(perturbed / perturbed.sum() * total)
    nace_totals[np.argmax(nace_totals)] += total - nace_totals.sum()
    with open(HERE / "business_nace.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["nace", "total"])
        writer.writerows([s, int(t)] for s, t in zip(sections, nace_totals))
    with open(HERE / "business_sector_size.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["sector", "size_class", "total"])
        writer.writerows([s, z, POPULATION[s, z]] for s, z in POPULATION)


if __name__ == "__main__":
    main()
