"""The scoring maths of anomaly detection with a GAN trained on normal data only: plain PyTorch
(no Lightning, no configs). High scores are anomalous.

- :func:`discriminator_scores`: ``-D(x)`` (the logit; ``kind="prob"``: ``1 - sigmoid``);
- :func:`inversion_scores` (AnoGAN, Schlegl et al. 2017): Adam on ``z`` from ``restarts`` prior
  draws for ``steps`` steps (:func:`invert`); score ``(1-lam) |x - G(z)|_1 + lam |f(x) -
  f(G(z))|_1`` (means over pixels and features, :func:`residual_score`) at the best restart,
  with ``f`` D's penultimate features (:class:`DiscriminatorFeatures`);
- :func:`encoder_scores` (f-AnoGAN izi_f, Schlegl et al. 2019): ``|x - G(E(x))|^2 + kappa
  |f(x) - f(G(E(x)))|^2`` (means, :func:`encoder_loss`), one forward pass, with the encoder
  ``E`` trained by :func:`fit_encoder` with G and D frozen;
- :func:`knn_scores`: a baseline without the GAN, mean pixel distance to the ``k`` nearest
  normal training images;
- :func:`combine_scores`: the sum of several scores, each robustly standardized (median,
  interquartile range) over the scored images;

and :func:`auroc` measures how well a score tells anomalous images from normal ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import torch
from torch import Tensor, nn

from ganlab.checkpoints import CheckpointError, read_checkpoint
from ganlab.networks.encoder import Encoder
from ganlab.sampling import draw_latents
from ganlab.stored import build_stored

Features = Callable[[Tensor], Tensor]


class AnomalyError(ValueError):
    """An anomaly-detection request that cannot work; the message says what would."""


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
    z_init = draw_latents(generator, restarts * len(x), rng).view(restarts, len(x), -1)
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
