"""Known-answer tests for improved precision/recall and density/coverage."""

from __future__ import annotations

import datetime
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from ganlab.metrics.prdc import (
    DensityCoverage,
    PrecisionRecall,
    density_coverage,
    knn_radii,
    precision_recall,
)

KEYS = ("precision", "recall", "density", "coverage")


pytestmark = pytest.mark.usefixtures("one_thread")


def floats(scores: dict[str, torch.Tensor]) -> dict[str, float]:
    return {key: v.item() for key, v in scores.items()}


def prdc(
    real: torch.Tensor, fake: torch.Tensor, k_pr: int = 3, k_dc: int = 5, chunk_size: int = 1024
) -> dict[str, float]:
    """All four scores as floats, from the two Metric classes."""
    pr = PrecisionRecall(k=k_pr, chunk_size=chunk_size)
    dc = DensityCoverage(k=k_dc, chunk_size=chunk_size)
    for metric in (pr, dc):
        metric.update(real, real=True)
        metric.update(fake, real=False)
    return floats({**pr.compute(), **dc.compute()})


def randn(*shape: int, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def col(values: list[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)[:, None]


def grid(side: int) -> torch.Tensor:
    """``side x side`` grid on the unit square (spacing h = 1 / (side - 1))."""
    coords = torch.linspace(0.0, 1.0, side, dtype=torch.float64)
    return torch.cartesian_prod(coords, coords)


# --------------------------------------------------------------------------- known values


def test_identical_sets() -> None:
    # Continuous data: no distance ties. Each real ball B(x_i, NND_k(x_i)) then holds exactly
    # x_i and its k nearest neighbours, so sum_j sum_i 1[y_j in B_i] = N (k + 1) and density
    # = N (k + 1) / (k N) = (k + 1) / k.
    x = randn(60, 3, seed=0)
    scores = prdc(x, x.clone(), k_pr=3, k_dc=5)
    assert scores["precision"] == 1.0
    assert scores["recall"] == 1.0
    assert scores["coverage"] == 1.0
    assert scores["density"] == pytest.approx(6 / 5, abs=1e-6)
    for k in (1, 2, 7):
        assert density_coverage(x, x, k=k)["density"].item() == pytest.approx((k + 1) / k)


def test_identical_sets_of_duplicated_points() -> None:
    # Every point twice: the twin is the 1st neighbour (distance 0), then the next distinct
    # point and its twin at the same distance a, then b twice, ... With k = 3 the radius is
    # d(a): the ball holds self, twin, a, a' = k + 1 points -> density 4/3. With k = 4 the
    # radius is d(b): the ball holds self, twin, a, a', b, b' = k + 2 -> density 6/4.
    x = randn(30, 4, seed=1).repeat(2, 1)
    for k, density in ((3, 4 / 3), (4, 6 / 4)):
        scores = density_coverage(x, x, k=k)
        assert scores["density"].item() == pytest.approx(density)
        assert scores["coverage"].item() == 1.0
        assert floats(precision_recall(x, x, k=k)) == {"precision": 1.0, "recall": 1.0}


def test_k_plus_one_copies_give_zero_radius_balls() -> None:
    # Each point repeated k + 1 times: all radii are 0, yet exact copies are inside the
    # (closed) balls; a fake slightly off is outside.
    k = 3
    x = randn(10, 5, seed=2).repeat(k + 1, 1)
    assert knn_radii(x, k).max().item() < 1e-6  # 0 up to the rounding of the mm formula
    scores = prdc(x, x, k_pr=k, k_dc=k)
    expected = {"precision": 1.0, "recall": 1.0, "density": (k + 1) / k, "coverage": 1.0}
    assert scores == pytest.approx(expected)
    scores = prdc(x, x + 1e-3, k_pr=k, k_dc=k)
    assert scores == dict.fromkeys(KEYS, 0.0)


def test_disjoint_far_apart_sets() -> None:
    real = randn(50, 4, seed=3)
    fake = randn(40, 4, seed=4) + 100.0
    assert prdc(real, fake) == dict.fromkeys(KEYS, 0.0)


def test_fake_cluster_inside_real_support_has_precision_not_recall() -> None:
    # Real: a 20 x 20 grid on the unit square (spacing h). Interior radius (k=3) is h; even
    # corner radii are >= h, and every point of the square is within h / sqrt(2) of a grid
    # node, so every fake in the square is inside the real manifold: precision = 1 exactly.
    # Fake: a tight cluster in [0.4, 0.6]^2 whose small balls reach only the few grid nodes
    # near the cluster: recall (and coverage) far below 1.
    real = grid(20)
    g = torch.Generator().manual_seed(5)
    fake = 0.4 + 0.2 * torch.rand(300, 2, generator=g, dtype=torch.float64)
    scores = prdc(real, fake)
    assert scores["precision"] == 1.0
    assert scores["recall"] < 0.1
    assert scores["coverage"] < 0.2
    # Reverse roles: fakes spread beyond the real cluster -> recall 1, precision low.
    reverse = prdc(fake, real)
    assert reverse["recall"] == 1.0
    assert reverse["precision"] < 0.1
    assert reverse["density"] < 0.1


def test_precision_and_recall_swap_with_the_roles() -> None:
    a, b = randn(80, 3, seed=6), randn(70, 3, seed=7) * 1.5 + 0.3
    ab, ba = precision_recall(a, b), precision_recall(b, a)
    assert ab["precision"] == ba["recall"]
    assert ab["recall"] == ba["precision"]
    assert ab["precision"] != ab["recall"]


def test_hand_computed_1d() -> None:
    real = col([0, 1, 2, 4, 8])
    fake = col([3.5, 6, 20, 21])
    # k = 1. Real radii: 0->1, 1->1, 2->1, 4->2, 8->4, balls [-1,1] [0,2] [1,3] [2,6] [4,12].
    # Fakes: 3.5 in [2,6] only (|3.5-8| = 4.5 > 4); 6 in [2,6] (boundary) and [4,12];
    # 20, 21 in none. Counts 1, 2, 0, 0.
    # Fake radii: 3.5->2.5, 6->2.5, 20->1, 21->1, balls [1,6] [3.5,8.5] [19,21] [20,22].
    # Reals: 0 in none; 1 in [1,6] (boundary); 2, 4 in [1,6]; 8 in [3.5,8.5].
    assert knn_radii(real, 1).tolist() == [1, 1, 1, 2, 4]
    assert knn_radii(fake, 1).tolist() == [2.5, 2.5, 1, 1]
    assert prdc(real, fake, k_pr=1, k_dc=1) == pytest.approx(
        {
            "precision": 2 / 4,  # fakes 3.5 and 6 are in some real ball
            "recall": 4 / 5,  # reals 1, 2, 4, 8 are in some fake ball
            "density": (1 + 2) / (1 * 4),
            "coverage": 2 / 5,  # balls of 4 and 8 hold a fake
        }
    )
    # k = 2, fakes [3, 6, 20, 21]. Real radii: 0->2, 1->1, 2->2, 4->3, 8->6, balls
    # [-2,2] [0,2] [0,4] [1,7] [2,14]. Fakes: 3 in [0,4] [1,7] [2,14]; 6 in [1,7] [2,14];
    # 20, 21 in none. Counts 3, 2, 0, 0. Fake radii: 3->17, 6->14, 20->14, 21->15: the
    # ball of 3 is [-14, 20] and holds every real.
    fake = col([3, 6, 20, 21])
    assert knn_radii(real, 2).tolist() == [2, 1, 2, 3, 6]
    assert prdc(real, fake, k_pr=2, k_dc=2) == pytest.approx(
        {
            "precision": 2 / 4,
            "recall": 1.0,
            "density": (3 + 2) / (2 * 4),
            "coverage": 3 / 5,  # balls of 2, 4, 8
        }
    )


def test_hand_computed_2d() -> None:
    # Real: unit square corners; k = 1 radii all 1. Fake (0.5, 0.5) is at 0.707 from every
    # corner (4 balls), (2, 0) at exactly 1 from (1, 0) (1 ball, boundary), (3, 3) in none.
    real = torch.tensor([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=torch.float64)
    fake = torch.tensor([[0.5, 0.5], [2, 0], [3, 3]], dtype=torch.float64)
    scores = prdc(real, fake, k_pr=1, k_dc=1)
    assert scores["precision"] == pytest.approx(2 / 3)
    assert scores["density"] == pytest.approx(5 / 3)
    assert scores["coverage"] == 1.0
    # Fake radii: (0.5, 0.5) and (2, 0) are sqrt(2.5) apart; every corner is within 0.707 of
    # (0.5, 0.5): recall 1.
    assert scores["recall"] == 1.0


# --------------------------------------------------------------- brute force, invariances


def brute_force(real: np.ndarray, fake: np.ndarray, k_pr: int, k_dc: int) -> dict[str, float]:
    """Direct transcription of the definitions: full distance matrices, sorted rows."""

    def dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))

    def radii(a: np.ndarray, k: int) -> np.ndarray:
        return np.sort(dists(a, a), axis=1)[:, k]  # column 0 is the self distance 0

    d_fr = dists(fake, real)  # (M, N)
    in_real = d_fr <= radii(real, k_pr)[None, :]
    in_fake = d_fr <= radii(fake, k_pr)[:, None]
    in_real_dc = d_fr <= radii(real, k_dc)[None, :]
    return {
        "precision": in_real.any(axis=1).mean(),
        "recall": in_fake.any(axis=0).mean(),
        "density": in_real_dc.sum() / (k_dc * fake.shape[0]),
        "coverage": in_real_dc.any(axis=0).mean(),
    }


@pytest.mark.parametrize(("k_pr", "k_dc"), [(3, 5), (1, 10)])
def test_agrees_with_brute_force(k_pr: int, k_dc: int) -> None:
    real = randn(200, 8, seed=8)
    fake = randn(150, 8, seed=9) * 1.3 + 0.8
    expected = brute_force(real.numpy(), fake.numpy(), k_pr, k_dc)
    assert all(0.1 < v < 0.9 for v in expected.values())  # no trivial 0 / 1 scores
    scores = prdc(real, fake, k_pr, k_dc)
    assert scores == pytest.approx(expected, abs=1e-6)
    # float32 features (the usual case) give the same counts
    assert prdc(real.float(), fake.float(), k_pr, k_dc) == pytest.approx(expected, abs=1e-6)


def test_independent_of_chunk_size_and_update_split() -> None:
    real = randn(200, 8, seed=10)
    fake = randn(150, 8, seed=11) + 0.3
    reference = prdc(real, fake, chunk_size=4096)
    for chunk_size in (3, 64, 199, 200):
        assert prdc(real, fake, chunk_size=chunk_size) == reference
    pr, dc = PrecisionRecall(chunk_size=33), DensityCoverage(chunk_size=33)
    for metric in (pr, dc):  # interleaved real / fake batches of uneven sizes
        metric.update(fake[:1], real=False)
        metric.update(real[:50], real=True)
        metric.update(fake[1:100], real=False)
        metric.update(real[50:51], real=True)
        metric.update(real[51:], real=True)
        metric.update(fake[100:], real=False)
    split = floats({**pr.compute(), **dc.compute()})
    assert split == reference


def test_reset_real_features() -> None:
    real, fake = randn(40, 3, seed=12), randn(30, 3, seed=13)
    reference = prdc(real, fake)
    for cls in (PrecisionRecall, DensityCoverage):
        keep = cls()  # default: reset() keeps the real set, drops the fakes
        keep.update(real, real=True)
        keep.update(randn(20, 3, seed=14), real=False)
        keep.compute()
        keep.reset()
        keep.update(fake, real=False)
        result = floats(keep.compute())
        assert result == {key: reference[key] for key in result}
        clear = cls(reset_real_features=True)  # reset() clears both sets
        clear.update(real, real=True)
        clear.update(fake, real=False)
        clear.reset()
        clear.update(fake, real=False)
        with pytest.raises(RuntimeError, match="no real features"):
            clear.compute()


def test_evaluator_contract() -> None:
    # ganlab.metrics.evaluation builds metrics with num_features=, feeds their `input`
    # output and records results(): {name: {"value": float, ...}}.
    real, fake = randn(40, 3, seed=21), randn(30, 3, seed=22)
    for cls, k, names in ((PrecisionRecall, 3, KEYS[:2]), (DensityCoverage, 5, KEYS[2:])):
        assert (cls.input, cls.needs_real) == ("features", True)
        metric = cls(num_features=3)
        with pytest.raises(ValueError, match="dimension 4, expected 3"):
            metric.update(randn(5, 4, seed=23), real=True)
        metric.update(real, real=True)
        metric.update(fake, real=False)
        results = metric.results()
        assert list(results) == list(names)
        for name in names:
            assert results[name] == {"value": pytest.approx(prdc(real, fake)[name]), "k": k}
            assert type(results[name]["value"]) is float


# ---------------------------------------------------------------------------- errors


def test_errors() -> None:
    real, fake = randn(10, 3, seed=15), randn(10, 3, seed=16)
    with pytest.raises(ValueError, match=r"k=3 .*got 3"):
        precision_recall(real[:3], fake)
    with pytest.raises(ValueError, match=r"fake features.*k=3 .*got 2"):
        precision_recall(real, fake[:2])
    with pytest.raises(ValueError, match=r"real features.*k=5 .*got 5"):
        density_coverage(real[:5], fake)
    density_coverage(real[:6], fake[:1])  # k + 1 reals and a single fake are enough
    with pytest.raises(ValueError, match="dimension"):
        precision_recall(real, fake[:, :2])
    with pytest.raises(ValueError, match="NaN"):
        precision_recall(real, torch.full_like(fake, float("nan")))
    for bad_k in (0, -1, 2.0, True):
        with pytest.raises(ValueError, match="k must be"):
            PrecisionRecall(k=bad_k)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="chunk_size"):
        DensityCoverage(chunk_size=0)
    with pytest.raises(ValueError, match="num_features"):
        DensityCoverage(num_features=0)

    metric = PrecisionRecall()
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        metric.update(real[0], real=True)
    metric.update(real, real=True)
    with pytest.raises(ValueError, match="dimension 2, expected 3"):
        metric.update(fake[:, :2], real=False)
    with pytest.raises(RuntimeError, match="no fake features"):
        metric.compute()
    dc = DensityCoverage()
    dc.update(fake, real=False)
    with pytest.raises(RuntimeError, match="no real features"):
        dc.compute()
    dc.update(real[:4], real=True)
    with pytest.raises(ValueError, match=r"k=5 .*got 4"):
        dc.compute()


def test_calling_the_metric_only_updates_it() -> None:
    real, fake = randn(40, 3, seed=19), randn(30, 3, seed=20)
    metric = PrecisionRecall()
    assert metric(real, real=True) is None
    assert metric(fake, real=False) is None
    assert floats(metric.compute()) == floats(precision_recall(real, fake))


# ----------------------------------------------------------------------------- DDP sync


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ddp_worker(
    rank: int,
    world_size: int,
    port: int,
    real: torch.Tensor,
    fake: torch.Tensor,
    out_dir: str,
) -> None:
    """One process: update with its uneven share of the data, compute the synced scores."""
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo",
        init_method=f"tcp://127.0.0.1:{port}",
        rank=rank,
        world_size=world_size,
        timeout=datetime.timedelta(seconds=60),
    )
    try:
        real_part = real[:120] if rank == 0 else real[120:]
        fake_part = fake[:50] if rank == 0 else fake[50:]
        pr, dc = PrecisionRecall(chunk_size=64), DensityCoverage(chunk_size=64)
        for metric in (pr, dc):
            metric.update(real_part[:30], real=True)
            metric.update(fake_part, real=False)
            metric.update(real_part[30:], real=True)
        scores = floats({**pr.compute(), **dc.compute()})
        # compute() leaves the local (unsynced) state in place
        local = (len(pr.real_features), sum(len(t) for t in pr.real_features))
        torch.save({"scores": scores, "local": local}, Path(out_dir) / f"rank{rank}.pt")
        dist.barrier()
    finally:
        dist.destroy_process_group()


@pytest.mark.timeout(240)  # a stuck gloo rendezvous must not hang the suite
def test_ddp_sync_matches_single_process(tmp_path: Path) -> None:
    real = randn(200, 8, seed=17)
    fake = randn(150, 8, seed=18) * 1.1 + 0.2
    expected = prdc(real, fake, chunk_size=64)
    assert prdc(real[:120], fake[:50], chunk_size=64) != expected  # one rank alone differs
    for attempt in range(2):  # the free port may be taken between probing and binding
        try:
            mp.spawn(
                _ddp_worker,
                args=(2, _free_port(), real, fake, str(tmp_path)),
                nprocs=2,
                join=True,
            )
            break
        except mp.ProcessRaisedException as err:
            if attempt == 1 or "address already in use" not in str(err).lower():
                raise
    for rank, n_local in ((0, 120), (1, 80)):
        result = torch.load(tmp_path / f"rank{rank}.pt")
        assert result["scores"] == expected
        assert result["local"] == (2, n_local)
