"""Anomaly detection with a GAN trained on normal data only.

    python -m ganlab.anomaly fit data=mnist5k normal_classes=[0,1,2,3,4,5,6,7,8]
    python -m ganlab.anomaly score ckpt=<run>/checkpoints/last.ckpt
    python -m ganlab.anomaly score ckpt=... score.methods=[inversion] inversion.steps=500

(``fit``/``score`` may also be written ``stage=fit``/``stage=score``.) ``fit`` is
``ganlab.train`` on the normal classes of a seeded, stratified split of the data: a share
``holdout`` of every class is held out for testing, and the rest of the normal classes is
trained on. After the GAN it trains f-AnoGAN's encoder (``encoder.fit``) with G and D frozen.
``score`` gives every held-out image (all classes) one anomaly score per method:

- ``discriminator``: ``-D(x)`` (the logit; ``discriminator.kind=prob``: ``1 - sigmoid``);
- ``inversion`` (AnoGAN, Schlegl et al. 2017): Adam on ``z`` from ``restarts`` prior draws for
  ``steps`` steps; score ``(1-lam) |x - G(z)|_1 + lam |f(x) - f(G(z))|_1`` (means over pixels
  and features) at the best restart, with ``f`` D's penultimate features;
- ``encoder`` (f-AnoGAN izi_f, Schlegl et al. 2019): ``|x - G(E(x))|^2 + kappa |f(x) -
  f(G(E(x)))|^2`` (means), one forward pass;
- ``knn``: a baseline without the GAN, mean pixel distance to the ``k`` nearest normal
  training images;
- ``combined`` (``score.combine=[inversion,discriminator]``): the sum of those scores, each
  robustly standardized (median, interquartile range) over the scored images.

It writes ``scores.csv`` (per image: index, label, anomalous, one column per method) and,
where labels are known, ``auroc.json`` (AUROC per method and per anomalous class, with the
checkpoint, classes, image count and method parameters) and prints the table.

``score`` builds the checkpoint's generator and discriminator, and the data recorded in
``anomaly.json``, only where every ``_target_`` they name is on ganlab's allow-list
(:mod:`ganlab.stored`; the recorded data module still reads, or downloads into, the folder it
names); the checkpoint is checked before anything is read or written, and ``trust=true``
builds what the list refuses.

The scoring math is plain PyTorch (no Lightning): :func:`discriminator_scores`,
:func:`invert`, :func:`inversion_scores`, :func:`fit_encoder`, :func:`encoder_scores`,
:func:`knn_scores`, :func:`combine_scores`, :func:`auroc`.
"""

from __future__ import annotations

import csv
import json
import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import hydra
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict
from torch import Tensor, nn

from ganlab.checkpoints import CheckpointError, read_checkpoint
from ganlab.config import config_dir, register_resolvers
from ganlab.data.base import DataError
from ganlab.data.subset import ClassSubset, check_classes
from ganlab.generator import load_generator
from ganlab.networks.conditional import sample_inputs
from ganlab.networks.encoder import Encoder
from ganlab.stored import build_stored, check_stored

register_resolvers()

STAGES = ("fit", "score")
METHODS = ("discriminator", "inversion", "encoder", "knn")
Features = Callable[[Tensor], Tensor]


class AnomalyError(ValueError):
    """An anomaly-detection request that cannot work; the message says what would."""


# --------------------------------------------------------------------------- data


# --------------------------------------------------------------------------- networks


class DiscriminatorFeatures(nn.Module):
    """A frozen discriminator that also gives its penultimate features.

    ganlab discriminators keep their layers in ``net`` (the last maps features to the logit):
    the features are ``net[:-1]``'s output. Other networks give them through a forward hook
    on the module named ``layer`` (the input of the last ``Linear``/``Conv2d`` if not given).
    """

    def __init__(self, discriminator: nn.Module, layer: str | None = None) -> None:
        super().__init__()
        self.discriminator = discriminator.eval().requires_grad_(False)
        if getattr(discriminator, "num_classes", 0):
            raise AnomalyError(
                "the discriminator is class-conditional, but test images have no trusted "
                "class: train an unconditional model (model=dcgan, gan, ...) for anomalies"
            )
        net = getattr(discriminator, "net", None)
        self._sequential = isinstance(net, nn.Sequential) and layer is None
        self._captured: Tensor | None = None
        if not self._sequential:
            modules = dict(discriminator.named_modules())
            if layer is None:
                last = [n for n, m in modules.items() if isinstance(m, (nn.Linear, nn.Conv2d))]
                if not last:
                    raise AnomalyError("found no Linear/Conv2d layer in the discriminator")
                layer = last[-1]
            if layer not in modules:
                raise AnomalyError(f"the discriminator has no layer named {layer!r}")
            modules[layer].register_forward_pre_hook(self._capture)

    def _capture(self, module: nn.Module, inputs: tuple[Tensor, ...]) -> None:
        self._captured = inputs[0]

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Logits ``(B,)`` and flattened features ``(B, F)``."""
        d: Any = self.discriminator
        if self._sequential:
            if getattr(d, "flatten_input", False):
                x = torch.flatten(x, 1)
            features = d.net[:-1](x)
            return d.net[-1](features).flatten(), features.flatten(1)
        logits = d(x)
        assert self._captured is not None
        return logits.flatten(), self._captured.flatten(1)

    def features(self, x: Tensor) -> Tensor:
        return self(x)[1]


def load_discriminator(
    path: str | Path,
    device: str | torch.device = "cpu",
    trust: bool = False,  # build a stored config outside ganlab's allow-list (ganlab.stored)
) -> nn.Module:
    """Rebuild the discriminator of a ganlab checkpoint (eval mode, frozen), as safely as
    :func:`ganlab.load_generator` rebuilds its generator."""
    checkpoint = read_checkpoint(path)
    hparams = checkpoint.get("hyper_parameters", {})
    spec = hparams.get("discriminator")
    if not isinstance(spec, dict) or "_target_" not in spec:
        raise CheckpointError(f"{path} does not describe its discriminator as a config")
    if int(hparams.get("pack", 1)) != 1:
        raise AnomalyError(
            f"{path} was trained with PacGAN packing (model.pack={hparams['pack']}): its D "
            "scores packs of images, not single ones; train with model.pack=1"
        )
    network: nn.Module = build_stored(spec, path, trust)
    state = checkpoint["state_dict"]
    prefix = "discriminator."
    network.load_state_dict({k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)})
    return network.to(device).eval().requires_grad_(False)


def _check_unconditional(generator: nn.Module) -> None:
    if int(getattr(generator, "num_classes", 0)):
        raise AnomalyError(
            "the generator is class-conditional: inversion and the encoder need an "
            "unconditional one (model=dcgan, gan, ...)"
        )


# --------------------------------------------------------------------------- scores


def _batches(n: int, batch_size: int) -> list[slice]:
    return [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]


@torch.no_grad()
def discriminator_scores(
    critic: DiscriminatorFeatures, x: Tensor, kind: str = "logit", batch_size: int = 256
) -> Tensor:
    """``-D(x)`` (``kind="logit"``) or ``1 - sigmoid(D(x))`` (``"prob"``): high = anomalous."""
    if kind not in ("logit", "prob"):
        raise AnomalyError(f"discriminator.kind must be logit or prob; got {kind!r}")
    device = next(critic.parameters()).device
    logits = torch.cat([critic(x[s].to(device))[0].cpu() for s in _batches(len(x), batch_size)])
    return -logits if kind == "logit" else 1 - torch.sigmoid(logits)


def _mean_abs(a: Tensor, b: Tensor) -> Tensor:
    return (a - b).abs().flatten(1).mean(1)


def residual_score(
    x: Tensor, fake: Tensor, lam: float, fx: Tensor | None = None, ffake: Tensor | None = None
) -> Tensor:
    """AnoGAN's per-sample loss ``(1-lam) mean|x - fake| + lam mean|f(x) - f(fake)|``."""
    score = (1 - lam) * _mean_abs(x, fake)
    if lam > 0:
        assert fx is not None and ffake is not None, "lam > 0 needs the features"
        score = score + lam * _mean_abs(fx, ffake)
    return score


def invert(
    generator: nn.Module,
    x: Tensor,
    z_init: Tensor,  # (restarts, B, latent_dim) starting points
    features: Features | None = None,
    steps: int = 200,
    lr: float = 0.05,
    lam: float = 0.1,
) -> tuple[Tensor, Tensor]:
    """AnoGAN latent search: Adam on ``z`` from every starting point at once; for each sample
    the ``z`` of the restart with the lowest final :func:`residual_score` and that score.
    ``generator`` (and ``features``) should be frozen and in eval mode."""
    restarts, n = z_init.shape[:2]
    if lam > 0 and features is None:
        raise AnomalyError("inversion with lam > 0 needs the discriminator's features")
    xr = x.repeat(restarts, *([1] * (x.dim() - 1)))
    z = z_init.reshape(restarts * n, -1).clone().requires_grad_(True)
    with torch.no_grad():
        fx = features(xr) if lam > 0 and features is not None else None
    optimizer = torch.optim.Adam([z], lr=lr)

    def loss(zs: Tensor) -> Tensor:
        fake = generator(zs)
        ffake = features(fake) if lam > 0 and features is not None else None
        return residual_score(xr, fake, lam, fx, ffake)

    with torch.enable_grad():
        for _ in range(steps):
            optimizer.zero_grad(set_to_none=True)
            loss(z).sum().backward()  # samples are independent: per-sample gradients
            optimizer.step()
    with torch.no_grad():
        final = loss(z).view(restarts, n)
    best = final.argmin(0)
    z_best = z.detach().view(restarts, n, -1)[best, torch.arange(n)]
    return z_best, final[best, torch.arange(n)]


def inversion_scores(
    generator: nn.Module,
    x: Tensor,
    features: Features | None,
    steps: int = 200,
    restarts: int = 4,
    lr: float = 0.05,
    lam: float = 0.1,
    seed: int = 0,
    batch_size: int = 256,
) -> Tensor:
    """:func:`invert` every image (in batches) from seeded prior draws; the starting points
    are drawn for all images at once, so the scores do not depend on the batch size."""
    _check_unconditional(generator)
    device = next(generator.parameters()).device
    rng = torch.Generator().manual_seed(seed)
    z_init = sample_inputs(generator, restarts * len(x), rng)[0].view(restarts, len(x), -1)
    scores = []
    for s in _batches(len(x), batch_size):
        _, score = invert(
            generator, x[s].to(device), z_init[:, s].to(device), features, steps, lr, lam
        )
        scores.append(score.cpu())
    return torch.cat(scores)


def encoder_loss(
    encoder: nn.Module,
    generator: nn.Module,
    x: Tensor,
    features: Features | None,
    kappa: float = 1.0,
) -> Tensor:
    """f-AnoGAN izi_f per sample: ``mean (x - G(E(x)))^2 + kappa mean (f(x) - f(G(E(x))))^2``."""
    fake = generator(encoder(x))
    loss = (x - fake).pow(2).flatten(1).mean(1)
    if kappa > 0:
        assert features is not None, "kappa > 0 needs the discriminator's features"
        loss = loss + kappa * (features(x) - features(fake)).pow(2).flatten(1).mean(1)
    return loss


def fit_encoder(
    generator: nn.Module,
    x: Tensor,  # normal training images
    features: Features | None,
    kappa: float = 1.0,
    steps: int = 2000,
    lr: float = 1e-3,
    batch_size: int = 64,
    width: int = 64,
    seed: int = 0,
) -> tuple[Encoder, list[float]]:
    """Train f-AnoGAN's encoder with G and D frozen (izi_f, :func:`encoder_loss`), Adam on
    random batches of ``x``; the encoder (eval mode, frozen) and its loss per 1/20 of the
    steps (mean over those steps)."""
    _check_unconditional(generator)
    device = next(generator.parameters()).device
    latent_dim = int(cast(Any, generator).latent_dim)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        encoder = Encoder(latent_dim, tuple(x.shape[1:]), width).to(device)
    rng = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(encoder.parameters(), lr=lr, betas=(0.5, 0.999))
    history: list[float] = []
    window: list[float] = []
    every = max(1, steps // 20)
    encoder.train()
    for step in range(steps):
        idx = torch.randint(len(x), (min(batch_size, len(x)),), generator=rng)
        loss = encoder_loss(encoder, generator, x[idx].to(device), features, kappa).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        window.append(float(loss.detach()))
        if (step + 1) % every == 0 or step + 1 == steps:
            history.append(sum(window) / len(window))
            window = []
    return encoder.eval().requires_grad_(False), history


@torch.no_grad()
def encoder_scores(
    encoder: nn.Module,
    generator: nn.Module,
    x: Tensor,
    features: Features | None,
    kappa: float = 1.0,
    batch_size: int = 256,
) -> Tensor:
    """f-AnoGAN's anomaly score :func:`encoder_loss` of every image."""
    device = next(generator.parameters()).device
    return torch.cat(
        [
            encoder_loss(encoder, generator, x[s].to(device), features, kappa).cpu()
            for s in _batches(len(x), batch_size)
        ]
    )


@torch.no_grad()
def knn_scores(x: Tensor, reference: Tensor, k: int = 1, batch_size: int = 256) -> Tensor:
    """Baseline without a GAN: mean Euclidean pixel distance to the ``k`` nearest images of
    ``reference`` (the normal training images)."""
    ref = reference.flatten(1).float()
    k = min(k, len(ref))
    out = []
    for s in _batches(len(x), batch_size):
        d = torch.cdist(x[s].flatten(1).float(), ref)
        out.append(d.topk(k, dim=1, largest=False).values.mean(1))
    return torch.cat(out)


def combine_scores(scores: Mapping[str, Tensor], names: Sequence[str]) -> Tensor:
    """Sum of the named scores, each standardized by its median and interquartile range over
    the scored images (no labels used)."""
    total = torch.zeros_like(scores[names[0]], dtype=torch.float64)
    for name in names:
        s = scores[name].double()
        q1, median, q3 = torch.quantile(s, torch.tensor([0.25, 0.5, 0.75], dtype=s.dtype))
        total += (s - median) / (q3 - q1).clamp_min(1e-12)
    return total.float()


def auroc(scores: Tensor, anomalous: Tensor) -> float:
    """Area under the ROC curve of ``scores`` for telling anomalous (1) from normal (0)."""
    from torchmetrics.functional import auroc as _auroc

    value = _auroc(scores.float(), anomalous.long(), task="binary")
    assert value is not None
    return float(value)


# --------------------------------------------------------------------------- stages


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
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": encoder.state_dict(), **record}, out)
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
    (output_dir / "anomaly.json").write_text(json.dumps(run, indent=1))
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

    with (out_dir / "scores.csv").open("w", newline="") as f:
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
        (out_dir / "auroc.json").write_text(json.dumps(result, indent=1))
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


# --------------------------------------------------------------------------- CLI

USER_ERRORS: tuple[type[Exception], ...] = (AnomalyError, CheckpointError, DataError)


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="anomaly")
def _main(cfg: DictConfig) -> None:
    from hydra.core.hydra_config import HydraConfig

    from ganlab.config import name_run
    from ganlab.train import USER_ERRORS as TRAIN_ERRORS

    try:
        if cfg.stage == "fit":
            name_run(cfg, HydraConfig.get().runtime.choices)
            fit(cfg)
        elif cfg.stage == "score":
            score(cfg)
        else:
            raise AnomalyError(f"stage must be one of {list(STAGES)}; got {cfg.stage!r}")
    except (*USER_ERRORS, *TRAIN_ERRORS) as error:  # type: ignore[misc]
        raise SystemExit(f"{type(error).__name__}: {error}") from None


def main() -> None:
    """``python -m ganlab.anomaly fit|score <overrides>`` (or ``stage=fit|score``)."""
    if len(sys.argv) > 1 and sys.argv[1] in STAGES:
        sys.argv[1] = f"stage={sys.argv[1]}"
    _main()


if __name__ == "__main__":
    main()
