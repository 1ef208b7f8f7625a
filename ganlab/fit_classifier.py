"""Train the in-domain classifier behind ``metrics/feature=classifier``.

    python -m ganlab.fit_classifier data=mnist5k            # -> ~/.cache/ganlab/classifiers/mnist5k.pt
    python -m ganlab.evaluate ckpt=<ckpt> data=mnist5k metrics/feature=classifier metrics=[fid,is,pr]

A :class:`~ganlab.networks.DigitClassifier` sized to the data's channels and classes, trained
with random shifts (1/16 of the size) and outlier exposure (noise images target the uniform distribution, so a
generator of noise cannot score well), on all but a held-out share used to report accuracy.
"""

from __future__ import annotations

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from ganlab.config import register_resolvers
from ganlab.data.base import DataError, GANDataModule
from ganlab.metrics.classifier import (
    classifier_path,
    classify,
    save_classifier,
    train_classifier,
)
from ganlab.networks.classifier import DigitClassifier

register_resolvers()


def fit_classifier(cfg: DictConfig) -> float:
    """Train, report held-out accuracy, save to ``cfg.out``; returns the accuracy."""
    datamodule: GANDataModule = instantiate(cfg.data)
    if datamodule.num_classes is None or len(datamodule.shape) != 3:
        raise DataError(
            f"fit_classifier needs labelled images; {datamodule.data_name} has "
            f"{'no labels' if datamodule.num_classes is None else 'no images'}"
        )
    datamodule.prepare_data()
    datamodule.setup("validate")
    xs, ys = zip(*datamodule.eval_dataloader(512), strict=True)
    x, y = torch.cat(xs), torch.cat(ys)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(cfg.seed))
    n_test = int(len(x) * cfg.holdout)
    test, train = order[:n_test], order[n_test:]

    device = (
        cfg.device if cfg.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        model = DigitClassifier(datamodule.num_classes, cfg.width, datamodule.shape[0])
    train_classifier(
        model.to(device),
        x[train],
        y[train],
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        lr=cfg.lr,
        seed=cfg.seed,
        max_shift=round(datamodule.shape[1] / 16),  # 2 px at 32x32, none at 8x8
    )
    accuracy = (
        float((classify(model, x[test])[0] == y[test]).float().mean()) if n_test else float("nan")
    )
    info = {
        "data": datamodule.data_name,
        "split": datamodule.split,
        "input_size": list(datamodule.shape[1:]),
        "n_train": len(train),
        "n_holdout": n_test,
        "holdout_accuracy": accuracy,
        "epochs": cfg.epochs,
        "seed": cfg.seed,
    }
    out = cfg.out or classifier_path(cfg.directory, datamodule.data_name)
    path = save_classifier(model.cpu(), out, info)
    print(
        f"{datamodule.data_name}: held-out accuracy {accuracy:.4f} on {n_test:,} images -> {path}"
    )
    return accuracy


if __name__ == "__main__":  # python -m ganlab.fit_classifier runs ganlab.cli.fit_classifier
    import importlib  # not a plain import: ganlab.cli.fit_classifier imports this module

    importlib.import_module("ganlab.cli.fit_classifier").main()
