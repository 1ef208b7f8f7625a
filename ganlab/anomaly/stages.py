"""The two stages of ``python -m ganlab.anomaly`` as functions of its config
(``conf/anomaly.yaml``): :func:`fit` trains the GAN on the normal classes, then f-AnoGAN's
encoder; :func:`score` scores held-out images with the methods of :mod:`ganlab.anomaly.scores`
and writes ``scores.csv`` and ``auroc.json``.
"""

from __future__ import annotations

import csv
import json
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict
from torch import Tensor, nn

from ganlab.anomaly.scores import (
    AnomalyError,
    DiscriminatorFeatures,
    auroc,
    combine_scores,
    discriminator_scores,
    encoder_scores,
    fit_encoder,
    inversion_scores,
    knn_scores,
    load_discriminator,
)
from ganlab.checkpoints import read_checkpoint
from ganlab.config import register_resolvers
from ganlab.data.subset import ClassSubset, check_classes
from ganlab.generator import load_generator
from ganlab.io import atomic_path, atomic_save, atomic_write_json
from ganlab.networks.encoder import Encoder
from ganlab.stored import check_stored

register_resolvers()

STAGES = ("fit", "score")
METHODS = ("discriminator", "inversion", "encoder", "knn")


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _methods(cfg: DictConfig) -> list[str]:
    methods = [str(m) for m in cfg.score.methods]
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise AnomalyError(f"score.methods {bad or '[]'}: choose from {list(METHODS)}")
    combine = [str(m) for m in cfg.score.combine or []]
    if combine and not set(combine) <= set(methods):
        raise AnomalyError(
            f"score.combine={combine} must list methods among score.methods={methods}"
        )
    return methods


def _normal_data(data: Any, cfg: DictConfig, split: str, classes: list[int]) -> dict[str, Any]:
    """``split=train``: the normal classes of the training part; ``test``: every held-out class."""
    return {
        "_target_": "ganlab.data.ClassSubset",
        "data": data,
        "classes": classes if split == "train" else None,
        "holdout": float(cfg.holdout),
        "split_seed": int(cfg.split_seed),
        "split": split,
        "shape": list(data["shape"]),
        "num_classes": data.get("num_classes"),
        "seed": int(data.get("seed", 0)),
    }


def _encoder_config(cfg: DictConfig) -> dict[str, Any]:
    e = cfg.encoder
    return {
        "kappa": float(e.kappa),
        "steps": int(e.steps),
        "lr": float(e.lr),
        "batch_size": int(e.batch_size),
        "width": int(e.width),
    }


def train_encoder(
    ckpt: Path, x: Tensor, cfg: DictConfig, device: torch.device, out: Path
) -> tuple[nn.Module, dict[str, Any]]:
    """f-AnoGAN's encoder for the checkpoint's G and D, trained on ``x`` and saved to ``out``."""
    trust = bool(cfg.trust)
    generator = load_generator(ckpt, bool(cfg.score.ema), str(device), trust).network
    critic = DiscriminatorFeatures(load_discriminator(ckpt, device, trust))
    params = _encoder_config(cfg)
    start = time.process_time()
    encoder, history = fit_encoder(generator, x, critic.features, **params, seed=int(cfg.seed))
    record = {
        "checkpoint": str(ckpt),
        "ema": bool(cfg.score.ema),
        "latent_dim": int(cast(Any, encoder).latent_dim),
        "shape": list(x.shape[1:]),
        "params": params,
        "loss_history": history,
        "cpu_seconds": time.process_time() - start,
    }
    atomic_save({"state_dict": encoder.state_dict(), **record}, out)
    print(f"encoder: izi_f loss {history[0]:.4f} -> {history[-1]:.4f} ({out})")
    return encoder, record


def fit(cfg: DictConfig) -> Path:
    """Train the GAN on the normal classes (``ganlab.train``), then the encoder; return the
    GAN checkpoint."""
    from ganlab.train import train

    data = cast(dict[str, Any], OmegaConf.to_container(cfg.data, resolve=True))
    classes = check_classes(
        cfg.normal_classes, data.get("num_classes"), _data_name(data), "normal_classes"
    )
    with open_dict(cfg):
        cfg.data = _normal_data(data, cfg, "train", classes)
    result = train(cfg)
    if not result.trainer.is_global_zero:
        return Path()
    output_dir = Path(cfg.paths.output_dir)
    ckpt = output_dir / "checkpoints" / "last.ckpt"
    run = {
        "checkpoint": str(ckpt),
        "normal_classes": classes,
        "holdout": float(cfg.holdout),
        "split_seed": int(cfg.split_seed),
        "data": data,
        "num_train": len(cast(Any, result.datamodule.dataset())),  # type: ignore[attr-defined]
    }
    atomic_write_json(output_dir / "anomaly.json", run)
    if cfg.encoder.fit and ckpt.is_file():
        x, _ = cast(ClassSubset, result.datamodule).images()
        train_encoder(ckpt, x, cfg, _device(cfg.score.device), ckpt.parent / "encoder.pt")
    return ckpt


def _data_name(data: Mapping[str, Any]) -> str:
    return str(data.get("_target_", "data")).rsplit(".", 1)[-1]


def _run_record(ckpt: Path, trust: bool) -> dict[str, Any] | None:
    """What ``fit`` recorded beside the checkpoint's run (normal classes, split, data),
    checked as every stored config is (:func:`ganlab.stored.check_stored`)."""
    path = ckpt.resolve().parent.parent / "anomaly.json"
    return check_stored(json.loads(path.read_text()), path, trust) if path.is_file() else None


def _load_encoder(path: Path, cfg: DictConfig, device: torch.device) -> nn.Module | None:
    if not path.is_file():
        return None
    saved = torch.load(path, map_location="cpu", weights_only=True)
    if saved.get("ema") != bool(cfg.score.ema) or saved.get("params") != _encoder_config(cfg):
        return None  # trained for other settings
    encoder = Encoder(saved["latent_dim"], saved["shape"], saved["params"]["width"])
    encoder.load_state_dict(saved["state_dict"])
    return encoder.to(device).eval().requires_grad_(False)


def score(cfg: DictConfig) -> dict[str, Any]:
    """Score the held-out images of every class; write scores.csv and auroc.json."""
    if cfg.ckpt is None:
        raise AnomalyError("score needs ckpt=<run>/checkpoints/last.ckpt (from stage fit)")
    ckpt = Path(cfg.ckpt)
    trust = bool(cfg.trust)
    # a clear error for a missing or unreadable file, or a stored config ganlab refuses to
    # build (the networks are built later), before any data is read or anything written
    check_stored(read_checkpoint(ckpt).get("hyper_parameters", {}), ckpt, trust)
    methods = _methods(cfg)
    device = _device(cfg.score.device)
    recorded = _run_record(ckpt, trust)
    data_cfg: Any = OmegaConf.to_container(cfg.data, resolve=True)
    classes_cfg: Any = cfg.normal_classes
    if recorded is not None and cfg.score.data_from_run:
        data_cfg = recorded["data"]
        with open_dict(cfg):
            cfg.holdout, cfg.split_seed = recorded["holdout"], recorded["split_seed"]
        if classes_cfg is None:
            classes_cfg = recorded["normal_classes"]
    if classes_cfg is None:
        raise AnomalyError(
            f"no anomaly.json beside {ckpt}'s run: say which classes are normal, e.g. "
            "normal_classes=[0,1,2]"
        )
    classes = check_classes(
        classes_cfg, data_cfg.get("num_classes"), _data_name(data_cfg), "normal_classes"
    )
    test = instantiate(_normal_data(data_cfg, cfg, str(cfg.score.split), classes))
    test.prepare_data()
    test.setup("validate")
    x, labels = test.images()
    if cfg.score.num_images is not None and int(cfg.score.num_images) < len(x):
        keep = torch.randperm(len(x), generator=torch.Generator().manual_seed(int(cfg.seed)))
        keep = keep[: int(cfg.score.num_images)].sort().values
        x, labels = x[keep], labels[keep]
    anomalous = (~torch.isin(labels, torch.tensor(classes))).long()
    out_dir = Path(cfg.score.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    needs_gan = set(methods) & {"discriminator", "inversion", "encoder"}
    generator = critic = None
    if needs_gan:
        generator = load_generator(ckpt, bool(cfg.score.ema), str(device), trust).network
        critic = DiscriminatorFeatures(load_discriminator(ckpt, device, trust))
    train_x: Tensor | None = None
    if {"knn", "encoder"} & set(methods):
        train_data = instantiate(_normal_data(data_cfg, cfg, "train", classes))
        train_data.prepare_data()
        train_data.setup("validate")
        train_x = train_data.images()[0]

    batch = int(cfg.score.batch_size)
    scores: dict[str, Tensor] = {}
    params: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    for method in methods:
        start = time.process_time()
        if method == "discriminator":
            assert critic is not None
            kind = str(cfg.discriminator.kind)
            scores[method] = discriminator_scores(critic, x, kind, batch)
            params[method] = {"kind": kind}
        elif method == "inversion":
            assert generator is not None and critic is not None
            inv = {k: cfg.inversion[k] for k in ("steps", "restarts", "lr", "lam", "batch_size")}
            scores[method] = inversion_scores(
                generator,
                x,
                critic.features,
                int(inv["steps"]),
                int(inv["restarts"]),
                float(inv["lr"]),
                float(inv["lam"]),
                int(cfg.seed),
                int(inv["batch_size"]),
            )
            params[method] = {**inv, "seed": int(cfg.seed)}
        elif method == "encoder":
            assert generator is not None and critic is not None and train_x is not None
            path = Path(cfg.encoder.path) if cfg.encoder.path else ckpt.parent / "encoder.pt"
            encoder = _load_encoder(path, cfg, device)
            if encoder is None:
                print(f"no encoder for these settings at {path}: training one")
                encoder, _ = train_encoder(ckpt, train_x, cfg, device, out_dir / "encoder.pt")
                path = out_dir / "encoder.pt"
            kappa = float(cfg.encoder.kappa)
            scores[method] = encoder_scores(encoder, generator, x, critic.features, kappa, batch)
            params[method] = {**_encoder_config(cfg), "path": str(path)}
        else:  # knn
            assert train_x is not None
            k = int(cfg.knn.k)
            scores[method] = knn_scores(x, train_x, k, batch)
            params[method] = {"k": k, "reference": f"{len(train_x)} normal training images"}
        seconds[method] = time.process_time() - start
    combine = [str(m) for m in cfg.score.combine or []]
    if combine:
        scores["combined"] = combine_scores(scores, combine)
        params["combined"] = {"of": combine, "standardized": "median / IQR over scored images"}

    with atomic_path(out_dir / "scores.csv") as temporary, open(temporary, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["index", "label", "anomalous", *scores])
        for i in range(len(x)):
            row = [f"{float(s[i]):.6g}" for s in scores.values()]
            writer.writerow([i, int(labels[i]), int(anomalous[i]), *row])

    result: dict[str, Any] = {
        "checkpoint": str(ckpt),
        "data": _data_name(data_cfg),
        "shape": list(x.shape[1:]),
        "normal_classes": classes,
        "split": str(cfg.score.split),
        "holdout": float(cfg.holdout),
        "split_seed": int(cfg.split_seed),
        "n_images": len(x),
        "n_anomalous": int(anomalous.sum()),
        "ema": bool(cfg.score.ema),
        "device": str(device),
        "methods": params,
        "cpu_seconds": seconds,
    }
    n_anomalous = int(anomalous.sum())
    if 0 < n_anomalous < len(x):
        result["auroc"] = {name: auroc(s, anomalous) for name, s in scores.items()}
        per_class: dict[str, dict[str, float]] = {}
        normal = anomalous == 0
        for c in sorted(set(labels[anomalous == 1].tolist())):
            mask = normal | (labels == c)
            per_class[str(c)] = {
                name: auroc(s[mask], anomalous[mask]) for name, s in scores.items()
            }
        result["auroc_per_class"] = per_class
        atomic_write_json(out_dir / "auroc.json", result)
        print(table(result))
    else:
        print(f"{len(x)} images, {n_anomalous} anomalous: no AUROC (needs both kinds)")
    print(f"scores of {len(x)} images -> {out_dir / 'scores.csv'}")
    return result


def table(result: Mapping[str, Any]) -> str:
    """The AUROC of every method as a markdown table."""
    lines = [
        f"normal classes {result['normal_classes']}, {result['n_images']} images "
        f"({result['n_anomalous']} anomalous)",
        "| method | AUROC | CPU s | parameters |",
        "|---|---|---|---|",
    ]
    for name, value in result["auroc"].items():
        params = ", ".join(f"{k}={v}" for k, v in result["methods"].get(name, {}).items())
        cpu = result["cpu_seconds"].get(name, math.nan)
        lines.append(f"| {name} | {value:.4f} | {cpu:.1f} | {params} |")
    return "\n".join(lines)
