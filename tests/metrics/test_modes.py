"""Stacked MNIST: the data has 1,000 modes and the per-channel classifier finds them."""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import DataLoader

from ganlab.data import MNIST5k, StackedMNIST5k
from ganlab.metrics import ModeCount, StackedClassifierFeatures
from ganlab.metrics.classifier import classifier_path, save_classifier, train_classifier
from ganlab.networks.classifier import DigitClassifier


def test_stacked_mnist_modes_are_counted_per_channel(tmp_path: Path) -> None:
    torch.manual_seed(0)
    digits = MNIST5k(shape=(1, 16, 16), batch_size=64)
    x, y = digits.tensors
    model = train_classifier(DigitClassifier(), x, y, epochs=2, seed=0, max_shift=1)
    info = {"data": "mnist5k", "input_size": [16, 16]}
    save_classifier(model, classifier_path(tmp_path, "mnist5k"), info)

    stacked = StackedMNIST5k(shape=(3, 16, 16), size=3000, seed=1)
    stacked.setup()
    images, modes = next(iter(DataLoader(stacked.dataset(), batch_size=3000)))
    assert modes.unique().numel() > 900  # 3,000 draws of 1,000 equally likely modes: ~950
    assert torch.equal(images[0, 1:2], x[stacked.dataset().index[0, 1]])  # channel = digit

    extractor = StackedClassifierFeatures(directory=str(tmp_path))
    assert (extractor.num_features, extractor.num_classes) == (384, 1000)
    with torch.inference_mode():
        out = extractor(images)
    predicted = out["logits"].argmax(1)
    assert (predicted == modes).float().mean() > 0.7  # ~0.95^3 when each digit is right
    assert torch.allclose(out["logits"].exp().sum(1), torch.ones(3000), atol=1e-4)

    count = ModeCount(1000)
    count.update(out["logits"])
    real = count.results()
    assert real["modes"]["value"] > 850 and real["mode_kl"]["value"] < 0.5
    collapsed = ModeCount(1000)
    collapsed.update(out["logits"][modes % 100 == 7])  # always 0 in G and 7 in B: 10 modes
    result = collapsed.results()
    assert result["modes"]["value"] <= 110 and result["mode_kl"]["value"] > 2.0
