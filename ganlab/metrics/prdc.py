"""Improved precision/recall and density/coverage of generated samples, on feature vectors.

Both pairs of scores compare a set of real features ``X = {x_1..x_N}`` with a set of fake
(generated) features ``Y = {y_1..y_M}`` (rows of ``(N, D)`` and ``(M, D)`` tensors, e.g. the
embeddings of :mod:`ganlab.metrics.features`) through *k-nearest-neighbour balls*:

* ``NND_k(x)`` is the distance from ``x`` to its ``k``-th nearest neighbour in its own set,
  excluding ``x`` itself (a duplicate of ``x`` *is* a neighbour, at distance 0);
* ``B(x, r)`` is the closed ball ``{z : ||z - x|| <= r}``; the *manifold* of a set is the union
  of the balls ``B(x, NND_k(x))`` around its points.

Improved precision and recall (Kynkäänniemi et al., 2019, ``k = 3``)::

    precision = (1/M) sum_j 1[y_j in manifold(X)]   # fakes that look real: quality
    recall    = (1/N) sum_i 1[x_i in manifold(Y)]   # reals the fakes reach: diversity

Density and coverage (Naeem et al., 2020, ``k = 5``) use only the real balls, which makes
them robust to fake outliers (a far-away fake has a huge ball that inflates recall)::

    density  = 1/(k M) sum_j sum_i 1[y_j in B(x_i, NND_k(x_i))]
    coverage = (1/N) sum_i 1[exists j: y_j in B(x_i, NND_k(x_i))]

Density is not bounded by 1: for identical sets without distance ties every real ball holds
its centre and its ``k`` neighbours, so density is ``(k + 1) / k``.

Numerics: distances are computed in float64 (float32 on devices without it) after centring
both sets on the real mean, with :func:`torch.cdist` in row chunks of ``chunk_size`` so that at
most ``chunk_size x (N or M)`` distances exist at once (10k x 10k never materializes).
Membership of a ball allows for the rounding of the matrix-product distance formula (a
slack of ``1e-12 (|a|^2 + |b|^2)`` on the squared distance), so a point's own ``k`` nearest
neighbours always lie inside its ball and duplicated points lie inside each other's
zero-radius balls, whatever the chunking.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

__all__ = [
    "DensityCoverage",
    "PrecisionRecall",
    "ball_membership",
    "density_coverage",
    "distance_chunks",
    "knn_radii",
    "precision_recall",
]

# Relative rounding slack of the ball test, on squared distances: the error of
# |a|^2 + |b|^2 - 2 a.b in float64 is at most about 2 D 2^-53 (|a|^2 + |b|^2) in the worst
# case (typically far smaller), i.e. below 1e-12 (|a|^2 + |b|^2) for D up to ~4000.
_SLACK = 1e-12


def _check_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")


def _check_chunk_size(chunk_size: int) -> None:
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")


def _check_count(n: int, k: int, name: str) -> None:
    if n < k + 1:
        raise ValueError(
            f"{name} features: need at least k + 1 = {k + 1} samples for k={k} nearest "
            f"neighbours, got {n}"
        )


def distance_chunks(x: Tensor, y: Tensor, chunk_size: int = 1024) -> Iterator[tuple[int, Tensor]]:
    """Yield ``(start, cdist(x[start:start + chunk_size], y))`` over the rows of ``x``.

    Euclidean distances of ``x`` (N, D) to ``y`` (M, D), ``chunk_size`` rows at a time, so
    only a ``(chunk_size, M)`` block exists at once. Always uses the matrix-product formula
    (fast; its rounding does not depend on the sizes involved).

    >>> x = torch.tensor([[0.0], [1.0], [3.0]])
    >>> [(s, d.tolist()) for s, d in distance_chunks(x, x, chunk_size=2)]
    [(0, [[0.0, 1.0, 3.0], [1.0, 0.0, 2.0]]), (2, [[3.0, 2.0, 0.0]])]
    """
    _check_chunk_size(chunk_size)
    for start in range(0, x.shape[0], chunk_size):
        rows = x[start : start + chunk_size]
        yield start, torch.cdist(rows, y, compute_mode="use_mm_for_euclid_dist")


def knn_radii(x: Tensor, k: int, chunk_size: int = 1024) -> Tensor:
    """Distance ``NND_k`` from each row of ``x`` (N, D) to its k-th nearest other row.

    It is the (k+1)-th smallest distance of the row to all rows, self included: the self
    distance is set to exactly 0 (it is the smallest), so a duplicate of a row counts as a
    neighbour at distance 0 rather than being confused with the row itself.

    >>> knn_radii(torch.tensor([[0.0], [1.0], [3.0], [3.0]]), k=1).tolist()
    [1.0, 1.0, 0.0, 0.0]
    >>> knn_radii(torch.tensor([[0.0], [1.0], [3.0], [3.0]]), k=2).tolist()
    [3.0, 2.0, 2.0, 2.0]
    """
    _check_k(k)
    _check_count(x.shape[0], k, "input")
    radii = x.new_empty(x.shape[0])
    for start, dist in distance_chunks(x, x, chunk_size):
        rows = torch.arange(dist.shape[0], device=dist.device)
        dist[rows, start + rows] = 0.0  # exact self distance (the mm formula leaves rounding)
        kth = dist.topk(k + 1, dim=1, largest=False).values[:, k]
        radii[start : start + dist.shape[0]] = kth
    return radii


def ball_membership(
    queries: Tensor, centers: Tensor, radii: Tensor, chunk_size: int = 1024
) -> tuple[Tensor, Tensor]:
    """Which closed balls ``B(centers[i], radii[i])`` contain which ``queries``.

    Returns ``(counts, covered)``: ``counts`` (M,) long, the number of balls containing each
    query (M, D); ``covered`` (N,) bool, whether ball ``i`` contains at least one query.
    Points within rounding of a ball's surface count as inside (see the module docstring).

    >>> centers, radii = torch.tensor([[0.0], [4.0]]), torch.tensor([1.0, 2.0])
    >>> counts, covered = ball_membership(torch.tensor([[1.0], [3.0], [9.0]]), centers, radii)
    >>> counts.tolist(), covered.tolist()
    ([1, 1, 0], [True, True])
    """
    counts = torch.zeros(queries.shape[0], dtype=torch.long, device=queries.device)
    covered = torch.zeros(centers.shape[0], dtype=torch.bool, device=queries.device)
    center_sq = centers.square().sum(dim=1)
    limit = radii.square() + _SLACK * center_sq  # (N,): squared radius plus centre's slack
    for start, dist in distance_chunks(queries, centers, chunk_size):
        query_sq = queries[start : start + dist.shape[0]].square().sum(dim=1, keepdim=True)
        inside = dist.square() <= limit + _SLACK * query_sq  # (chunk, N)
        counts[start : start + dist.shape[0]] = inside.sum(dim=1)
        covered |= inside.any(dim=0)
    return counts, covered


def _prepare(real: Tensor, fake: Tensor, k: int, min_fake: int) -> tuple[Tensor, Tensor]:
    """Validate both sets; return them in the compute dtype, centred on the real mean."""
    _check_k(k)
    for name, feats in (("real", real), ("fake", fake)):
        if feats.ndim != 2:
            raise ValueError(f"{name} features must have shape (N, D), got {tuple(feats.shape)}")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(
            f"real and fake features differ in dimension: {real.shape[1]} vs {fake.shape[1]}"
        )
    _check_count(real.shape[0], k, "real")
    if min_fake > 1:
        _check_count(fake.shape[0], k, "fake")
    elif fake.shape[0] < 1:
        raise ValueError("fake features: need at least 1 sample, got 0")
    dtype = torch.float32 if real.device.type == "mps" else torch.float64  # mps: no float64
    real = real.detach().to(dtype)
    fake = fake.detach().to(device=real.device, dtype=dtype)
    if not (torch.isfinite(real).all() and torch.isfinite(fake).all()):
        raise ValueError("features contain NaN or infinite values")
    mean = real.mean(dim=0)  # distances are translation invariant; centring reduces rounding
    return real - mean, fake - mean


def precision_recall(
    real_features: Tensor, fake_features: Tensor, k: int = 3, chunk_size: int = 1024
) -> dict[str, Tensor]:
    """Improved precision and recall (Kynkäänniemi et al., 2019) of two feature sets.

    ``precision`` is the fraction of fake rows inside the real manifold (the union of the
    balls ``B(x_i, NND_k(x_i))``), ``recall`` the fraction of real rows inside the fake
    manifold. Both sets need at least ``k + 1`` rows. Returns float32 scalar tensors.

    >>> real = torch.tensor([[0.0], [1.0], [2.0], [3.0]])
    >>> fake = torch.tensor([[0.5], [1.5], [9.0], [9.5]])
    >>> {key: v.item() for key, v in precision_recall(real, fake, k=1).items()}
    {'precision': 0.5, 'recall': 0.75}
    """
    real, fake = _prepare(real_features, fake_features, k, min_fake=k + 1)
    fake_in_real, _ = ball_membership(fake, real, knn_radii(real, k, chunk_size), chunk_size)
    real_in_fake, _ = ball_membership(real, fake, knn_radii(fake, k, chunk_size), chunk_size)
    return {
        "precision": (fake_in_real > 0).double().mean().float(),
        "recall": (real_in_fake > 0).double().mean().float(),
    }


def density_coverage(
    real_features: Tensor, fake_features: Tensor, k: int = 5, chunk_size: int = 1024
) -> dict[str, Tensor]:
    """Density and coverage (Naeem et al., 2020) of two feature sets.

    With the real balls ``B_i = B(x_i, NND_k(x_i))``: ``density`` is the number of (fake,
    real ball) containments divided by ``k M``; ``coverage`` is the fraction of real balls
    holding at least one fake. Needs ``k + 1`` real rows and one fake row; returns float32
    scalar tensors.

    >>> real = torch.tensor([[0.0], [1.0], [2.0], [3.0]])
    >>> fake = torch.tensor([[0.5], [1.5], [9.0], [9.5]])
    >>> {key: v.item() for key, v in density_coverage(real, fake, k=1).items()}
    {'density': 1.0, 'coverage': 0.75}
    """
    real, fake = _prepare(real_features, fake_features, k, min_fake=1)
    counts, covered = ball_membership(fake, real, knn_radii(real, k, chunk_size), chunk_size)
    return {
        "density": (counts.sum().double() / (k * fake.shape[0])).float(),
        "coverage": covered.double().mean().float(),
    }


class _TwoSetMetric(Metric):
    """Accumulates real and fake feature rows (gathered across processes on compute).

    Also follows the contract of :class:`ganlab.metrics.evaluation.Evaluator` (as the metrics
    of :mod:`ganlab.metrics.fidelity` do): built with ``num_features``, reads the extractor's
    ``input`` output, keeps the real side across :meth:`reset`, reports :meth:`results`.

    Args:
        k: neighbour rank defining the ball radii (``default_k`` of the subclass when None).
        chunk_size: rows per distance block; beyond float64 copies of the features, the
            blocks take about ``3 * 8 * chunk_size * max(N, M)`` bytes (N for density/coverage).
        reset_real_features: by default :meth:`reset` clears only the fake features, so a
            reference set is fed once and reused across evaluations (torchmetrics' FID
            argument, with the opposite default). Feed the real set again after a reset only
            with True: otherwise the real rows accumulate (duplicates shrink the radii).
        num_features: expected feature dimension ``D``, checked on update (optional).
        kwargs: passed to :class:`torchmetrics.Metric` (``sync_on_compute``, ...).
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False
    input: ClassVar[str] = "features"  # the feature extractor output this metric reads
    needs_real: ClassVar[bool] = True
    default_k: ClassVar[int]  # the paper's neighbour rank

    real_features: list[Tensor]
    fake_features: list[Tensor]

    def __init__(
        self,
        k: int | None = None,  # None: the paper's (default_k)
        chunk_size: int = 1024,
        reset_real_features: bool = False,
        num_features: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        k = self.default_k if k is None else k
        _check_k(k)
        _check_chunk_size(chunk_size)
        if not isinstance(reset_real_features, bool):
            raise ValueError("reset_real_features must be a bool")
        if num_features is not None and (isinstance(num_features, bool) or num_features < 1):
            raise ValueError(f"num_features must be a positive integer, got {num_features!r}")
        self.k = k
        self.chunk_size = chunk_size
        self.reset_real_features = reset_real_features
        self.num_features = num_features
        self.add_state("real_features", default=[], dist_reduce_fx="cat")
        self.add_state("fake_features", default=[], dist_reduce_fx="cat")

    def _expected_dim(self) -> int | None:
        if self.num_features is not None:
            return self.num_features
        for state in (self.real_features, self.fake_features):
            if len(state) > 0:
                return int(state[0].shape[-1])
        return None

    def update(self, features: Tensor, real: bool) -> None:
        """Store a batch of feature rows ``(N, D)``, as real or as fake (generated) samples."""
        if features.ndim != 2:
            raise ValueError(f"features must have shape (N, D), got {tuple(features.shape)}")
        dim = self._expected_dim()
        if dim is not None and features.shape[1] != dim:
            raise ValueError(f"features have dimension {features.shape[1]}, expected {dim}")
        features = features.detach()
        if not features.is_floating_point():
            features = features.float()
        (self.real_features if real else self.fake_features).append(features)

    def forward(self, features: Tensor, real: bool) -> None:
        """Same as :meth:`update`: a score of one batch alone means nothing for set metrics."""
        self.update(features, real)

    def _features(self, real: bool) -> Tensor:
        state: list[Tensor] | Tensor = self.real_features if real else self.fake_features
        if (isinstance(state, Tensor) and state.numel() == 0) or len(state) == 0:
            kind = "real" if real else "fake"
            raise RuntimeError(
                f"{type(self).__name__} has no {kind} features: call "
                f"update(features, real={real}) before compute()"
            )
        return dim_zero_cat(state)

    def reset(self) -> None:
        """Clear the fake features, and the real ones too if ``reset_real_features``."""
        if self.reset_real_features:
            super().reset()
            return
        real_features = list(self.real_features)  # Metric.reset() clears the list in place
        super().reset()
        self.real_features = real_features

    def results(self) -> dict[str, dict[str, float]]:
        """:meth:`compute` as ``{name: {"value": score, "k": k}`` with plain numbers."""
        return {name: {"value": float(v), "k": self.k} for name, v in self.compute().items()}


class PrecisionRecall(_TwoSetMetric):
    """Improved precision and recall (Kynkäänniemi et al., 2019) as an accumulating metric.

    With real features ``x_1..x_N``, fake features ``y_1..y_M`` and ``NND_k(z)`` the distance
    from ``z`` to its k-th nearest neighbour within its own set (itself excluded)::

        precision = (1/M) sum_j 1[exists i: ||y_j - x_i|| <= NND_k(x_i)]
        recall    = (1/N) sum_i 1[exists j: ||x_i - y_j|| <= NND_k(y_j)]

    *Precision* is about the fakes: the share of generated samples that land on the real
    manifold (sample quality). *Recall* is about the reals: the share of real samples that
    the generated manifold reaches (diversity, mode coverage). A collapsed generator that
    draws good samples from a single mode has precision near 1 and low recall. (Some
    implementations swap the two; here fakes-inside-real is precision.)

    ``update(features, real)`` stores ``(N, D)`` feature rows; states are lists gathered with
    ``cat`` across processes. ``compute()`` returns ``{"precision", "recall"}`` as float32
    scalar tensors; both sets need at least ``k + 1`` rows. Calling the metric (``forward``)
    only updates it and returns None. Under DDP every process must have stored some real and
    some fake rows before ``compute()``.

    ``k`` is 3 by default (the paper's); the other arguments are :class:`_TwoSetMetric`'s.

    >>> metric = PrecisionRecall(k=1)
    >>> metric.update(torch.tensor([[0.0], [1.0], [2.0], [3.0]]), real=True)
    >>> metric.update(torch.tensor([[0.5], [1.5], [9.0], [9.5]]), real=False)
    >>> {key: v.item() for key, v in metric.compute().items()}
    {'precision': 0.5, 'recall': 0.75}
    """

    default_k = 3

    def compute(self) -> dict[str, Tensor]:
        """``{"precision", "recall"}`` over all stored (and gathered) features."""
        return precision_recall(
            self._features(real=True), self._features(real=False), self.k, self.chunk_size
        )


class DensityCoverage(_TwoSetMetric):
    """Density and coverage (Naeem et al., 2020) as an accumulating metric.

    With real features ``x_1..x_N``, fake features ``y_1..y_M`` and the real balls
    ``B_i = B(x_i, NND_k(x_i))`` (``NND_k``: distance to the k-th nearest other real row)::

        density  = 1/(k M) sum_j sum_i 1[y_j in B_i]
        coverage = (1/N) sum_i 1[exists j: y_j in B_i]

    Only real balls are used, so fake outliers cannot inflate the scores. Density measures
    how tightly the fakes crowd the real samples (about 1 when the fakes follow the real
    distribution, above 1 is possible); coverage is the share of real neighbourhoods that
    hold some fake (diversity).

    ``update(features, real)`` stores ``(N, D)`` feature rows; states are lists gathered with
    ``cat`` across processes. ``compute()`` returns ``{"density", "coverage"}`` as float32
    scalar tensors; needs at least ``k + 1`` real rows and one fake row. Calling the metric
    (``forward``) only updates it and returns None. Under DDP every process must have stored
    some real and some fake rows before ``compute()``.

    ``k`` is 5 by default (the paper's); the other arguments are :class:`_TwoSetMetric`'s.

    >>> metric = DensityCoverage(k=1)
    >>> metric.update(torch.tensor([[0.0], [1.0], [2.0], [3.0]]), real=True)
    >>> metric.update(torch.tensor([[0.5], [1.5], [9.0], [9.5]]), real=False)
    >>> {key: v.item() for key, v in metric.compute().items()}
    {'density': 1.0, 'coverage': 0.75}
    """

    default_k = 5

    def compute(self) -> dict[str, Tensor]:
        """``{"density", "coverage"}`` over all stored (and gathered) features."""
        return density_coverage(
            self._features(real=True), self._features(real=False), self.k, self.chunk_size
        )
