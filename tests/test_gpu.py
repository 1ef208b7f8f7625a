"""GPU paths (run where CUDA is available: `pytest -m gpu`): bf16-mixed training of the
image GANs, EMA, in-training evaluation and feature extraction on the device."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers import compose_train

from ganlab.data import MNIST5k
from ganlab.metrics.classifier import (
    ClassifierFeatures,
    classifier_path,
    save_classifier,
    train_classifier,
)
from ganlab.networks.classifier import DigitClassifier
from ganlab.train import train

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


@pytest.fixture(scope="module")
def classifiers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("classifiers")
    x, y = MNIST5k(shape=(1, 28, 28), batch_size=64).tensors
    model = train_classifier(DigitClassifier().cuda(), x, y, epochs=2, seed=0, max_shift=1)
    save_classifier(
        model.cpu(),
        classifier_path(directory, "mnist5k"),
        {"data": "mnist5k", "input_size": [28, 28]},
    )
    return directory


@pytest.mark.parametrize("model", ["dcgan", "sngan"])
def test_bf16_mixed_training_with_evaluation(tmp_path: Path, classifiers: Path, model: str) -> None:
    cfg = compose_train(
        tmp_path,
        f"model={model}",
        "data=mnist5k",
        "data.shape=[1,32,32]",
        "trainer=gpu",
        "logger=csv",
        "max_kimg=20",
        "trainer.max_epochs=-1",
        "metrics/feature=classifier",
        "metrics=[fid,is,pr]",
        f"paths.cache_dir={classifiers.parent}",
        f"metrics.feature.directory={classifiers}",
        "callbacks.evaluation.every_kimg=10",
        "callbacks.evaluation.num_fake=1000",
        "callbacks.evaluation.num_real=2000",
        "callbacks.evaluation.monitor=val/fid1k",
    )
    result = train(cfg)
    trainer, gan = result.trainer, result.model
    assert trainer.precision == "bf16-mixed" and trainer.strategy.root_device.type == "cuda"
    assert gan.kimg >= 20
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
    assert all(torch.isfinite(torch.tensor(v)) for v in metrics.values()), metrics
    assert metrics["val/is1k"] > 1.0 and "best_val/fid1k" in metrics
    params = list(gan.generator_ema.parameters())  # type: ignore[union-attr]
    assert all(p.dtype == torch.float32 and torch.isfinite(p).all() for p in params)
    samples = gan.cuda().sample(16, seed=0)  # Lightning moves the model back after fit
    assert samples.device.type == "cuda" and torch.isfinite(samples).all()
    print(f"{model}: {metrics}")


def test_classifier_features_agree_between_cpu_and_gpu(classifiers: Path) -> None:
    x, _ = MNIST5k(shape=(1, 32, 32), batch_size=64).tensors
    cpu = ClassifierFeatures(str(classifiers), "mnist5k")
    gpu = ClassifierFeatures(str(classifiers), "mnist5k").cuda()
    with torch.inference_mode():
        a, b = cpu(x[:256]), gpu(x[:256].cuda())
    for key in ("features", "logits"):
        torch.testing.assert_close(b[key].cpu(), a[key], rtol=1e-3, atol=1e-3)
