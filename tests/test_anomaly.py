"""Anomaly detection with a GAN trained on normal data (ganlab.anomaly)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch
from helpers import run_cli
from torch import Tensor, nn

from ganlab.anomaly import (
    DiscriminatorFeatures,
    auroc,
    combine_scores,
    discriminator_scores,
    encoder_scores,
    fit_encoder,
    inversion_scores,
    invert,
    knn_scores,
)
from ganlab.config import compose_config
from ganlab.networks import MLPDiscriminator

pytestmark = pytest.mark.usefixtures("one_thread")


class LinearGenerator(nn.Module):
    """G(z) = A z + b, frozen: every x in its range has one exact latent."""

    def __init__(self, latent_dim: int = 4, out: int = 20, seed: int = 0) -> None:
        super().__init__()
        self.latent_dim, self.shape = latent_dim, (out,)
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.linear = nn.Linear(latent_dim, out)
        self.requires_grad_(False)

    def forward(self, z: Tensor) -> Tensor:
        return self.linear(z)


def test_inversion_recovers_the_latent_of_a_linear_generator() -> None:
    generator = LinearGenerator()
    z_true = torch.randn(8, 4, generator=torch.Generator().manual_seed(1))
    x = generator(z_true)
    z_init = torch.randn(3, 8, 4, generator=torch.Generator().manual_seed(2))
    z, score = invert(generator, x, z_init, features=None, steps=400, lr=0.05, lam=0.0)
    assert torch.allclose(z, z_true, atol=0.05), (z - z_true).abs().max()
    assert float(score.max()) < 0.02
    # with D features (a linear map here) in the loss: the same optimum
    features = nn.Linear(20, 6).requires_grad_(False)
    z, _ = invert(generator, x, z_init, features=features, steps=400, lr=0.05, lam=0.5)
    assert torch.allclose(z, z_true, atol=0.05)
    # batched over images with seeded starts: batch size does not change the scores
    far = x + 3 * torch.randn(8, 20, generator=torch.Generator().manual_seed(3))
    both = torch.cat([x, far])
    a = inversion_scores(generator, both, None, steps=100, restarts=2, lam=0.0, batch_size=16)
    b = inversion_scores(generator, both, None, steps=100, restarts=2, lam=0.0, batch_size=5)
    assert torch.allclose(a, b, atol=1e-5)
    assert auroc(a, torch.tensor([0] * 8 + [1] * 8)) == 1.0  # off the range = anomalous


def test_encoder_loss_decreases_and_encoder_scores_follow_it() -> None:
    generator = LinearGenerator()
    x = generator(torch.randn(256, 4, generator=torch.Generator().manual_seed(0)))
    features = nn.Linear(20, 6).requires_grad_(False)
    encoder, history = fit_encoder(generator, x, features, kappa=1.0, steps=300, lr=3e-3)
    assert len(history) == 20 and history[-1] < 0.1 * history[0], history
    again, _ = fit_encoder(generator, x, features, kappa=1.0, steps=300, lr=3e-3)
    assert all(
        torch.equal(a, b) for a, b in zip(encoder.parameters(), again.parameters(), strict=True)
    )
    far = x[:32] + 2 * torch.randn(32, 20, generator=torch.Generator().manual_seed(1))
    scores = encoder_scores(encoder, generator, torch.cat([x[:32], far]), features)
    assert auroc(scores, torch.tensor([0] * 32 + [1] * 32)) > 0.95


def test_discriminator_knn_and_combined_scores() -> None:
    torch.manual_seed(0)
    d = MLPDiscriminator(shape=(1, 8, 8), hidden=(16,))
    critic = DiscriminatorFeatures(d)
    x = torch.randn(10, 1, 8, 8)
    logits, features = critic(x)
    assert torch.allclose(logits, d(x)) and features.shape == (10, 16)
    assert torch.allclose(discriminator_scores(critic, x, batch_size=3), -d(x))
    prob = discriminator_scores(critic, x, kind="prob")
    assert torch.allclose(prob, 1 - torch.sigmoid(d(x)))
    # the forward-hook path (any network) gives the same features
    hooked = DiscriminatorFeatures(nn.Sequential(nn.Flatten(), d.net), layer=None)
    assert torch.allclose(hooked(x)[1], features)
    assert torch.equal(knn_scores(x[:4], x), torch.zeros(4))
    assert float(knn_scores(x[:1] + 1.0, x[:1])) == pytest.approx(8.0)  # sqrt(64)
    scores = {"a": torch.tensor([1.0, 2, 3, 4, 100]), "b": torch.tensor([0.0, 0, 0, 0, 1])}
    combined = combine_scores(scores, ["a", "b"])
    assert int(combined.argmax()) == 4


def test_scores_separate_a_held_out_digit_after_a_short_fit(tmp_path: Path) -> None:
    # 8x8 digits, small DCGAN, 10 kimg (~15 s on one core): digit 0 held out. Seeds 0/1/2
    # gave encoder AUROC 0.84/0.89/0.78, discriminator 0.93/0.94/0.84.
    common = ["encoder.steps=500", "inversion.steps=50", "inversion.restarts=2", "seed=0"]
    cfg = compose_config(
        "data=digits",
        "model=dcgan",
        "model.generator.base_channels=32",
        "model.discriminator.base_channels=32",
        "model.ema.half_life_kimg=2",
        "normal_classes=[1,2,3,4,5,6,7,8,9]",
        "logger=none",
        "max_kimg=10",
        "trainer.max_epochs=-1",
        "trainer.enable_progress_bar=false",
        "trainer.enable_model_summary=false",
        "trainer.deterministic=true",
        *common,
        output_dir=tmp_path / "run",
        config_name="anomaly",
    )
    from ganlab.anomaly import fit, score

    ckpt = fit(cfg)
    assert (ckpt.parent / "encoder.pt").is_file()
    assert json.loads((tmp_path / "run" / "anomaly.json").read_text())["normal_classes"] == [
        *range(1, 10)
    ]
    cfg = compose_config(
        "stage=score",
        f"ckpt={ckpt}",
        "score.combine=[encoder,discriminator]",
        *common,
        output_dir=tmp_path / "score",
        config_name="anomaly",
    )
    result = score(cfg)
    assert result["auroc"]["encoder"] > 0.65, result["auroc"]
    assert max(result["auroc"][m] for m in ("discriminator", "inversion", "combined")) > 0.6
    saved = json.loads((tmp_path / "score" / "auroc.json").read_text())
    assert saved["n_images"] == 359 and saved["n_anomalous"] == 36
    assert saved["checkpoint"] == str(ckpt) and set(saved["auroc_per_class"]) == {"0"}
    assert saved["methods"]["inversion"]["steps"] == 50
    with (tmp_path / "score" / "scores.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 359 and {"label", "anomalous", "encoder", "knn", "combined"} <= set(rows[0])
    assert all(r["anomalous"] == str(int(r["label"] == "0")) for r in rows)


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    run = [f"hydra.run.dir={tmp_path}", "logger=none"]
    out = run_cli(
        "ganlab.anomaly", "fit", "data=digits", "normal_classes=[3,12]", *run, check=False
    )
    assert "DataError: normal_classes [12] are not classes of Digits: use 0..9" in out
    assert "Traceback" not in out
    missing = tmp_path / "nothing.ckpt"
    out = run_cli("ganlab.anomaly", "score", f"ckpt={missing}", *run, check=False)
    assert f"CheckpointError: checkpoint {missing} does not exist" in out
    assert "Traceback" not in out
