"""The apistrat designs the estimator tests share: stratified with fpc
(linearization) and the same with R's own JKn replicate weights."""

import numpy as np
import pandas as pd
from reference.estimators.refvalues import HERE, load

from weighting.design import Design

R = load("apistrat")
DATA = pd.read_csv(HERE / "apistrat.csv")


class RepDesign:
    """A design whose replicate weights are R's JKn weights (apistrat), so the
    estimator layer is checked against R independently of our generator."""

    def __init__(self, base):
        reps = pd.read_csv(HERE / "apistrat_jkn_weights.csv").drop(columns="snum")
        self._w = reps.to_numpy(float)
        self._base = base
        self.replicates = True
        self.method = "jkn"
        self.B = self._w.shape[1]
        self.scale = float(R["jkn.scale"][0])
        self.rscales = R["jkn.rscales"]
        self.mse = False
        self.degf = int(R["jkn.degf"][0])

    def __getattr__(self, name):
        return getattr(self._base, name)

    def replicate_totals(self, values, groups=None, n_groups=None):
        values = np.asarray(values, float).reshape(self._base.n, -1)
        groups = np.zeros(self._base.n, int) if groups is None else groups
        G = 1 if n_groups is None else n_groups
        onehot = np.eye(G)[groups]
        return np.einsum("ib,ig,ij->bgj", self._w, onehot, values)


LIN = Design(DATA, weights="pw", strata="stype", fpc="fpc")
DESIGNS = {"lin": LIN, "jkn": RepDesign(LIN)}
