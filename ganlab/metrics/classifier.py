"""Train, cache and apply a small digit classifier that judges generated digits.

Images are ``(N, 1, H, W)`` float tensors in ``[-1, 1]`` with the background at ``-1`` (the
convention of the image GANs in this project); labels are ``(N,)`` integers in ``0..9``.

Typical use::

    clf = load_or_train_digit_classifier(Path(".cache/digits32.pt"), x_real, y_real)
    scores = digit_judgement(clf, generator_samples)  # confident_fraction, classes_covered, ...
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from ganlab.data.imaging import convert_channels
from ganlab.io import atomic_save
from ganlab.metrics.features import FeatureExtractor, file_hash, to_uint8
from ganlab.networks.classifier import DigitClassifier

__all__ = [
    "ClassifierFeatures",
    "ClassifierFileError",
    "StackedClassifierFeatures",
    "classifier_path",
    "classify",
    "digit_judgement",
    "load_classifier",
    "load_or_train_digit_classifier",
    "random_shift",
    "save_classifier",
    "synthetic_outliers",
    "train_classifier",
]


def _model_device(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def _check_images(x: Tensor) -> None:
    if x.dim() != 4:
        raise ValueError(f"expected images of shape (N, C, H, W), got {tuple(x.shape)}")


def random_shift(
    x: Tensor, max_shift: int, generator: torch.Generator | None = None, fill: float = -1.0
) -> Tensor:
    """Translate each image of ``x`` (B, C, H, W) by its own random integer offset.

    Offsets are uniform in ``[-max_shift, max_shift]`` per axis; uncovered pixels get ``fill``
    (the background value). The random draws happen on the CPU ``generator``.

    >>> x = torch.arange(9.0).view(1, 1, 3, 3)
    >>> bool((random_shift(x, 0) == x).all())
    True
    >>> shifted = random_shift(x, 1, torch.Generator().manual_seed(0))
    >>> shifted.shape, set(shifted.unique().tolist()) <= set(range(9)) | {-1}
    (torch.Size([1, 1, 3, 3]), True)
    """
    if max_shift <= 0:
        return x
    b, _, h, w = x.shape
    shifts = torch.randint(-max_shift, max_shift + 1, (2, b), generator=generator)
    shifts = shifts.to(x.device)
    padded = F.pad(x, (max_shift,) * 4, value=fill)
    rows = torch.arange(h, device=x.device)[None, :] + max_shift - shifts[0][:, None]  # (B, H)
    cols = torch.arange(w, device=x.device)[None, :] + max_shift - shifts[1][:, None]  # (B, W)
    batch = torch.arange(b, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    return out.permute(0, 3, 1, 2).contiguous()


def synthetic_outliers(
    n: int,
    size: tuple[int, ...] | torch.Size,
    generator: torch.Generator | None = None,
    channels: int = 1,
) -> Tensor:
    """Draw ``n`` non-digit images (N, channels, H, W) in [-1, 1]: pixel noise and blobs.

    A third each of uniform pixel noise, sparse salt noise on the background and bilinearly
    upsampled low-resolution noise (blobs, like a failed generator's output).

    >>> synthetic_outliers(6, (32, 32), torch.Generator().manual_seed(0)).shape
    torch.Size([6, 1, 32, 32])
    """
    h, w = int(size[0]), int(size[1])
    kinds = torch.randint(3, (n,), generator=generator)
    c = channels
    uniform = torch.rand(n, c, h, w, generator=generator) * 2 - 1
    density = torch.rand(n, 1, 1, 1, generator=generator) * 0.5
    salt = torch.where(torch.rand(n, c, h, w, generator=generator) < density, 1.0, -1.0)
    low = torch.rand(n, c, 4, 4, generator=generator) * 2 - 1
    blobs = F.interpolate(low, size=(h, w), mode="bilinear", align_corners=False)
    out = torch.where((kinds == 0)[:, None, None, None], uniform, salt)
    return torch.where((kinds == 2)[:, None, None, None], blobs, out)


def train_classifier(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    epochs: int,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
    max_shift: int = 2,
    weight_decay: float = 1e-4,
    outlier_weight: float = 0.5,
) -> nn.Module:
    """Train ``model`` in place on images ``x`` (N, 1, H, W) in [-1, 1] and labels ``y`` (N,).

    AdamW with a cosine learning-rate decay over all steps, cross-entropy, and random shifts
    of up to ``max_shift`` pixels as augmentation. With ``outlier_weight > 0`` every batch
    also carries ``batch_size // 4`` :func:`synthetic_outliers` whose target is the uniform
    distribution over classes (outlier exposure): without it the classifier labels pure
    noise as a confident "8", which would let a noise-emitting generator look good.
    Shuffling, augmentation, outliers and dropout draw from RNGs seeded with ``seed`` (the
    global RNG state is restored afterwards), so results are reproducible for a given model
    initialisation. Returns ``model`` in eval mode.
    """
    _check_images(x)
    if y.shape != (x.shape[0],):
        raise ValueError(f"y must have shape ({x.shape[0]},), got {tuple(y.shape)}")
    if epochs < 0 or batch_size <= 0:
        raise ValueError("epochs must be >= 0 and batch_size > 0")
    device = _model_device(model)
    x = x.detach().float().cpu()
    y = y.detach().long().cpu()
    n = x.shape[0]
    steps = epochs * math.ceil(n / batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, steps) / max(steps, 1)))
    )
    data_gen = torch.Generator().manual_seed(seed)
    fork_devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=fork_devices):
        torch.manual_seed(seed)  # dropout and any other global-RNG consumer
        model.train()
        for _ in range(epochs):
            order = torch.randperm(n, generator=data_gen)
            for start in range(0, n, batch_size):
                idx = order[start : start + batch_size]
                xb = random_shift(x[idx], max_shift, data_gen).to(device)
                yb = y[idx].to(device)
                if outlier_weight > 0:
                    xo = synthetic_outliers(
                        max(len(idx) // 4, 1), x.shape[2:], data_gen, x.shape[1]
                    )
                    logits = model(torch.cat([xb, xo.to(device)]))
                    loss = F.cross_entropy(logits[: len(idx)], yb)
                    # cross-entropy to the uniform distribution over classes
                    loss = loss - outlier_weight * logits[len(idx) :].log_softmax(1).mean()
                else:
                    loss = F.cross_entropy(model(xb), yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
    return model.eval()


@torch.no_grad()
def classify(model: nn.Module, x: Tensor, batch_size: int = 512) -> tuple[Tensor, Tensor]:
    """Return ``(labels, confidence)`` for images ``x``: argmax class and max softmax prob.

    Runs in eval mode without gradients (the model's previous mode is restored); both
    outputs are CPU tensors of shape (N,), ``long`` and ``float32``.
    """
    _check_images(x)
    device = _model_device(model)
    was_training = model.training
    model.eval()
    labels, confidences = [], []
    try:
        for chunk in x.split(batch_size):
            probs = model(chunk.to(device=device, dtype=torch.float32)).softmax(dim=1)
            conf, label = probs.max(dim=1)
            labels.append(label.cpu())
            confidences.append(conf.float().cpu())
    finally:
        model.train(was_training)
    if not labels:
        return torch.zeros(0, dtype=torch.long), torch.zeros(0)
    return torch.cat(labels), torch.cat(confidences)


def digit_judgement(
    model: nn.Module, x: Tensor, confidence: float = 0.9, batch_size: int = 512
) -> dict[str, Any]:
    """Judge images ``x`` with a trained digit classifier.

    Returns a dict with
    ``confident_fraction`` (share of samples whose max softmax prob is ``>= confidence``),
    ``classes_covered`` (distinct digits among the confident predictions),
    ``class_histogram`` (list of per-class counts among the confident predictions),
    ``mean_confidence`` and ``num_samples``.
    """
    labels, conf = classify(model, x, batch_size=batch_size)
    num_classes = int(getattr(model, "num_classes", 10))
    confident = conf >= confidence
    hist = torch.bincount(labels[confident], minlength=num_classes)
    n = labels.numel()
    return {
        "confident_fraction": float(confident.sum().item()) / n if n else 0.0,
        "classes_covered": int((hist > 0).sum().item()),
        "class_histogram": [int(c) for c in hist.tolist()],
        "mean_confidence": float(conf.mean().item()) if n else 0.0,
        "num_samples": n,
    }


def _seeded_classifier(width: int, seed: int) -> DigitClassifier:
    """A freshly initialised classifier; the caller's global RNG state is left untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return DigitClassifier(width=width)


def load_or_train_digit_classifier(
    cache_path: Path | str,
    x: Tensor | None,
    y: Tensor | None,
    *,
    epochs: int = 10,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
    outlier_weight: float = 0.5,
    width: int = 16,
    device: torch.device | str = "cpu",
) -> DigitClassifier:
    """Return a :class:`DigitClassifier` loaded from ``cache_path``, training it if absent.

    On a cache miss the model is initialised with ``seed``, trained with
    :func:`train_classifier` on ``(x, y)`` and its state dict is written atomically
    (:func:`ganlab.io.atomic_save`). ``x`` and ``y`` may be ``None`` when the cache
    exists. A cache file that cannot be loaded is retrained and overwritten (with a warning)
    when data is given. The training hyper-parameters are not stored: encode them (and the
    data set / image size) in ``cache_path``. The returned model is in eval mode on ``device``.
    """
    cache_path = Path(cache_path)
    model = _seeded_classifier(width, seed)
    if cache_path.exists():
        try:
            state = torch.load(cache_path, map_location="cpu", weights_only=True)
            model.load_state_dict(state)
            return model.to(device).eval()
        except Exception as err:  # corrupt or incompatible cache
            if x is None or y is None:
                raise RuntimeError(f"cannot load classifier cache {cache_path}: {err}") from err
            warnings.warn(
                f"retraining digit classifier: cannot load {cache_path} ({err})", stacklevel=2
            )
            model = _seeded_classifier(width, seed)  # a failed load may have touched weights
    if x is None or y is None:
        raise FileNotFoundError(f"no classifier cache at {cache_path} and no data to train on")
    model = model.to(device)
    train_classifier(
        model,
        x,
        y,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        outlier_weight=outlier_weight,
    )
    atomic_save({k: v.detach().cpu() for k, v in model.state_dict().items()}, cache_path)
    return model.eval()


# ---------------------------------------------------------------------------------------------
# In-domain classifier as a feature extractor (ganlab.fit_classifier writes the file)


class ClassifierFileError(RuntimeError):
    """A feature classifier file is missing or unusable; the message says how to make one."""


def classifier_path(directory: str | Path, data: str) -> Path:
    """Where ``fit_classifier`` puts, and ``ClassifierFeatures`` finds, a dataset's classifier."""
    return Path(directory).expanduser() / f"{data}.pt"


def save_classifier(model: DigitClassifier, path: Path | str, info: dict[str, Any]) -> Path:
    """Write ``model`` with how it was trained (``info``: data, split, input size, accuracy)."""
    record = {
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "architecture": {
            "num_classes": model.num_classes,
            "width": model.width,
            "channels": model.channels,
        },
        "info": info,
    }
    atomic_save(record, Path(path))
    return Path(path)


def load_classifier(path: Path | str) -> tuple[DigitClassifier, dict[str, Any]]:
    """The classifier saved by :func:`save_classifier` (eval mode, CPU) and its ``info``."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ClassifierFileError(
            f"no feature classifier at {path}: train one for the dataset with "
            "`python -m ganlab.fit_classifier data=<dataset>` (it is saved there), or point "
            "metrics.feature.path at one"
        )
    try:
        record = torch.load(path, map_location="cpu", weights_only=True)
        model = DigitClassifier(**record["architecture"])
        model.load_state_dict(record["state_dict"])
    except Exception as error:
        raise ClassifierFileError(
            f"{path} is not a ganlab feature classifier ({type(error).__name__}: {error}); "
            "train it again with `python -m ganlab.fit_classifier data=<dataset>`"
        ) from error
    return model.eval(), dict(record.get("info", {}))


class ClassifierFeatures(FeatureExtractor):
    """A small classifier trained on the dataset itself (``python -m ganlab.fit_classifier``):
    its penultimate layer as features and its logits for an IS-like score.

    Inception features mean little for 8x8 digits or 2-channel data and cost seconds per
    hundred images on a CPU; an in-domain classifier is fast and knows the classes. Images
    are quantized to 8 bits like Inception's input, converted to the classifier's channels
    and resized (bilinear, antialiased) to its training resolution.
    """

    resize = "bilinear-antialias"
    quantize = True

    def __init__(
        self,
        directory: str | None = None,  # holds <data>.pt per dataset
        data: str | None = None,  # the dataset evaluated (filled in by the evaluator)
        path: str | None = None,  # a classifier file instead of <directory>/<data>.pt
        batch_size: int = 512,
    ) -> None:
        super().__init__()
        if path is None:
            if directory is None or data is None:
                raise ClassifierFileError(
                    "classifier features need the classifier of the evaluated dataset: give "
                    "data=<dataset> (or metrics.feature.path=<file>)"
                )
            path = str(classifier_path(directory, data))
        self.net, self.info = load_classifier(path)
        self.name = f"classifier-{self.info.get('data', 'unknown')}"
        self.weights_hash = file_hash(Path(path).expanduser())
        self.num_features = self.net.embed_dim
        self.num_classes = self.net.num_classes
        self.input_size = tuple(self.info["input_size"])
        self.batch_size = batch_size

    def forward(self, images: Tensor) -> dict[str, Tensor]:
        features, logits = [], []
        device = next(self.net.parameters()).device
        for batch in images.split(self.batch_size):
            x = convert_channels(to_uint8(batch.to(device)).float() / 127.5 - 1, self.net.channels)
            if tuple(x.shape[-2:]) != self.input_size:
                x = F.interpolate(x, size=self.input_size, mode="bilinear", antialias=True)
            embedding = self.net.embed(x)
            features.append(embedding)
            logits.append(self.net.classify(embedding))
        return {"features": torch.cat(features), "logits": torch.cat(logits)}

    @torch.no_grad()
    def predict(self, images: Tensor) -> Tensor:
        """The classifier's class for each image (images prepared as for the features)."""
        return self(images)["logits"].argmax(dim=1)


class StackedClassifierFeatures(ClassifierFeatures):
    """A one-channel digit classifier applied to each channel of Stacked MNIST images.

    Features are the three channels' embeddings side by side; the logits are the log-probability
    of each of the ``C^3`` modes (``100 a + 10 b + c`` for 10 digits): the sum of the channels'
    log-softmax, channels independent. IS and mode counting (``metrics=[modes]``) read them.
    """

    def __init__(
        self,
        directory: str | None = None,
        data: str | None = "mnist5k",  # the digits whose classifier judges each channel
        path: str | None = None,
        batch_size: int = 512,
    ) -> None:
        super().__init__(directory, data, path, batch_size)
        assert self.net.channels == 1, "Stacked MNIST needs a one-channel digit classifier"
        self.name = f"stacked-{self.name}"
        self.num_features = 3 * self.net.embed_dim
        self.num_classes = self.net.num_classes**3

    def forward(self, images: Tensor) -> dict[str, Tensor]:
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"expected stacked images (N, 3, H, W), got {tuple(images.shape)}")
        channels = rearrange(images, "n c h w -> (c n) 1 h w")  # each digit as its own image
        out = super().forward(channels)
        features = rearrange(out["features"], "(c n) d -> n (c d)", c=3)
        log_p = rearrange(out["logits"].log_softmax(1), "(c n) k -> c n k", c=3)
        joint = log_p[0][:, :, None, None] + log_p[1][:, None, :, None] + log_p[2][:, None, None, :]
        return {"features": features, "logits": rearrange(joint, "n a b c -> n (a b c)")}
