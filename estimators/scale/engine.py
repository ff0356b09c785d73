"""The Dask graph of chunked replicate variance.

For row chunks k = 1..K and replicate blocks j = 1..J::

    draw[j]        one task: the block's multipliers (bootstrap counts from
                   the replicates' own streams), cut into K chunk slices
    acc[j, k]      S of chunk k for block j (cext kernel)   (b_j, R, 1 + k)
    sum over k     dask.array tree reduction (split_every)  (b_j, R, 1 + k)
    finish[j]      D = S summed over groups -> re-calibrate the block
                   (cell tables) -> replicate totals T = sum_c g S

plus the full sample (every multiplier 1) reduced the same way. Nothing of
size n x B is formed anywhere: a task holds one chunk's rows, one block's
counts (b_j bytes per PSU), or (b_j x R) statistics.

The result is an ``xarray.Dataset`` backed by dask arrays until computed.
"""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import xarray as xr

from estimators.inference.variance import replicate_variance as _svrvar
from estimators.scale import chunks as _chunks
from estimators.scale.draws import ReplicateSpec, accumulate_block, blocks, draw_block, multipliers

# Memory a block task may use for its (b_j x P) counts or (b_j x R x stats) table.
BLOCK_BYTES = 2**26


def default_block_size(B: int, n_psu: int, n_refined: int, n_stats: int) -> int:
    """Replicates per block so that a block's counts and statistics stay near
    ``BLOCK_BYTES`` (64 MiB)."""
    per_replicate = max(n_psu, 8 * n_refined * n_stats)
    return int(min(B, max(1, BLOCK_BYTES // per_replicate)))


def _finish_block(calibration, S, n_groups, first):
    """Re-calibrate one block from its reduced statistics; its totals and record."""
    b, _, k1 = S.shape
    S = S.reshape(b, calibration.n_cells, n_groups, k1)
    g, record = calibration.solve(S[..., 0].sum(axis=2), first)
    return {"g": g, "total": np.einsum("bc,bcgj->bgj", g, S), **record}


def _weights_block(spec, chunk, material, result, n_groups):
    """Replicate weights (n_k, b) of a chunk's rows, in the chunk's row order:
    ``d_i m_{b,p(i)} g_{b,c(i)}``."""
    mult = multipliers(spec, chunk, material)
    g = result["g"][:, chunk.refined // n_groups]
    out = np.empty((len(chunk.order), mult.shape[0]))
    out[chunk.order] = (chunk.dv[:, 0] * mult[:, chunk.row_psu] * g).T
    return out


def _full_totals(calibration, F, n_groups):
    F = F.reshape(calibration.n_cells, n_groups, F.shape[-1])
    return np.einsum("c,cgj->gj", calibration.g, F)


def _field(results, name, shapes, dtype):
    return da.concatenate(
        [
            da.from_delayed(dask.delayed(lambda r, key=name: r[key])(r), shape=shape, dtype=dtype)
            for r, shape in zip(results, shapes)
        ]
    )


def replicate_dataset(
    chunk_list,
    calibration,
    plan,
    n_groups,
    *,
    scale,
    rscales,
    mse,
    degf,
    method,
    stat_names,
    group_labels=None,
    block_size=None,
    split_every=4,
    chunk_rows=None,
) -> xr.Dataset:
    """Lazy Dataset of full-sample and replicate totals from delayed chunks.

    Parameters
    ----------
    chunk_list : list of dask.delayed Chunk
    calibration : estimators.scale.cells.CellCalibration
    plan : weighting.replicates.Plan
    n_groups : int
    scale, rscales, mse, degf, method
        The replicate conventions (stored as attributes / variables).
    stat_names : list of str
        Names of the statistics: ``weight`` then the values.
    group_labels : sequence, optional
    block_size : int, optional
        Replicates per block (default from :func:`default_block_size`).
    split_every : int
        Fan-in of the tree reduction over chunks.
    chunk_rows : list of int, optional
        Rows of every chunk: adds the lazy (row, replicate) matrix
        ``replicate_weight`` (for exports: computed block by block, never
        whole unless asked).
    """
    spec = ReplicateSpec.from_plan(plan)
    C, G, k1 = calibration.n_cells, int(n_groups), len(stat_names)
    R = C * G
    size = block_size or default_block_size(spec.B, spec.P, R, k1)
    runs = [dask.delayed(lambda c: c.runs)(c) for c in chunk_list]
    # One graph key each, shared by every task that reads them.
    spec_key = dask.delayed(spec, pure=True)
    calibration_key = dask.delayed(calibration, pure=True)

    stacked, materials = [], []
    for b0, b1 in blocks(spec.B, size):
        material = dask.delayed(draw_block, nout=len(chunk_list))(spec_key, b0, b1, runs)
        materials.append(material)
        stacked.append(
            da.stack(
                [
                    da.from_delayed(
                        dask.delayed(accumulate_block)(spec_key, c, material[k], R),
                        shape=(b1 - b0, R, k1),
                        dtype=np.float64,
                    )
                    for k, c in enumerate(chunk_list)
                ],
                axis=1,
            )
        )
    S = da.concatenate(stacked, axis=0).sum(axis=1, split_every=split_every)

    results, shapes = [], []
    for (b0, b1), piece in zip(blocks(spec.B, size), S.to_delayed().ravel()):
        results.append(dask.delayed(_finish_block)(calibration_key, piece, G, b0))
        shapes.append(b1 - b0)

    F = da.stack(
        [
            da.from_delayed(
                dask.delayed(_chunks.full_sample)(c, R), shape=(R, k1), dtype=np.float64
            )
            for c in chunk_list
        ]
    ).sum(axis=0, split_every=split_every)
    full = da.from_delayed(
        dask.delayed(_full_totals)(calibration_key, F, G), shape=(G, k1), dtype=np.float64
    )

    dims = ("replicate", "group", "stat")
    ds = xr.Dataset(
        {
            "total": (dims[1:], full),
            "replicate_total": (
                dims,
                _field(results, "total", [(b, G, k1) for b in shapes], np.float64),
            ),
            "g": (
                ("replicate", "cell"),
                _field(results, "g", [(b, C) for b in shapes], np.float64),
            ),
            "iterations": (
                "replicate",
                _field(results, "iterations", [(b,) for b in shapes], np.int64),
            ),
            "error": ("replicate", _field(results, "error", [(b,) for b in shapes], np.float64)),
            "status": ("replicate", _field(results, "status", [(b,) for b in shapes], np.int64)),
            "rscales": ("replicate", np.asarray(rscales, np.float64)),
        },
        coords={
            "replicate": np.arange(1, spec.B + 1),
            "stat": list(stat_names),
            "group": (np.arange(G) if group_labels is None else list(group_labels)),
        },
        attrs={
            "method": method,
            "seed": -1 if spec.seed is None else int(spec.seed),
            "scale": float(scale),
            "mse": int(bool(mse)),
            "degf": int(degf),
            "chunks": len(chunk_list),
            "block_size": int(size),
        },
    )
    if chunk_rows is not None:
        ds["replicate_weight"] = (
            ("row", "replicate"),
            da.block(
                [
                    [
                        da.from_delayed(
                            dask.delayed(_weights_block)(spec_key, c, material[k], r, G),
                            shape=(rows, b),
                            dtype=np.float64,
                        )
                        for material, r, b in zip(materials, results, shapes)
                    ]
                    for k, (c, rows) in enumerate(zip(chunk_list, chunk_rows))
                ]
            ),
        )
    return ds


def replicate_variance(
    ds: xr.Dataset, estimate: xr.DataArray, replicates: xr.DataArray
) -> xr.DataArray:
    """R's ``svrVar`` with the Dataset's ``scale``, ``rscales`` and ``mse``
    (:func:`estimators.inference.variance.replicate_variance`; lazy if the
    inputs are)."""
    return _svrvar(estimate, replicates, ds.attrs["scale"], ds.rscales, ds.attrs["mse"])


def domain_means(ds: xr.Dataset, domains: dict) -> xr.Dataset:
    """Ratio means ``total(y) / total(weight)`` of domains made of groups, with
    replicate standard errors (lazy).

    ``domains`` maps a domain label to the list of group labels it unites.
    """
    labels = list(domains)
    member = np.zeros((len(labels), ds.sizes["group"]))
    index = {g: i for i, g in enumerate(ds.group.values.tolist())}
    for row, name in enumerate(labels):
        member[row, [index[g] for g in domains[name]]] = 1.0
    M = xr.DataArray(member, dims=("domain", "group"), coords={"domain": labels})
    full = (M * ds.total).sum("group")
    reps = (M * ds.replicate_total).sum("group")
    values = [s for s in ds.stat.values.tolist() if s != "weight"]
    mean = full.sel(stat=values) / full.sel(stat="weight")
    rep_mean = reps.sel(stat=values) / reps.sel(stat="weight")
    var = replicate_variance(ds, mean, rep_mean)
    return xr.Dataset(
        {"mean": mean, "se": np.sqrt(var), "weighted_base": full.sel(stat="weight", drop=True)}
    ).rename(stat="variable")
