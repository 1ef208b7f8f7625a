"""data=unpaired_folder: the CycleGAN layout, independent draws of each domain, exact resumes,
every bad folder named in one error; the official datasets by name (both folders), unpacked
from local archives (never the network)."""

from __future__ import annotations

import io
import shutil
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import compose_train
from hydra.utils import instantiate
from PIL import Image

from ganlab.data import DataError, PairedFolder, UnpairedFolder, downloads, folders
from ganlab.validation import ConfigError, check_combinations


def write_domains(root: Path, counts: dict[str, int]) -> None:
    """``counts[<split><side>]`` images per folder: A's RGB 20x24, B's grayscale 10x12, in a
    subfolder (found recursively). Every image is one flat value that says which it is: A
    image i is 10 * i, B image j 100 + 10 * j."""
    for folder, count in counts.items():
        (root / folder / "sub").mkdir(parents=True)
        for i in range(count):
            if folder.endswith("A"):
                pixels = np.full((20, 24, 3), 10 * i, dtype=np.uint8)
            else:
                pixels = np.full((10, 12), 100 + 10 * i, dtype=np.uint8)
            Image.fromarray(pixels).save(root / folder / "sub" / f"{i}.png")


def which(image: torch.Tensor) -> int:
    """The value an image of write_domains was written with."""
    return round((float(image.mean()) + 1) * 127.5)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write_domains(tmp_path, {"trainA": 3, "trainB": 5, "testA": 2, "testB": 3})
    return tmp_path


def test_layout_batches_and_held_out_images(root: Path) -> None:
    data = UnpairedFolder(
        root=str(root), shape=[1, 8, 8], source_shape=[3, 8, 8], load_size=[10, 10], batch_size=2
    )
    data.prepare_data()
    data.setup("fit")
    assert data.num_samples == 5 and data.pairing == "unpaired"  # max(|A|, |B|)
    source, label_source, target, label_target = next(iter(data.train_dataloader()))
    assert source.shape == (2, 3, 8, 8) and target.shape == (2, 1, 8, 8)
    assert label_source.tolist() == label_target.tolist() == [0, 0]
    assert source.min() >= -1 and target.max() <= 1 and target.min() > -1  # B's are >= 100
    held_a, held_b = data.held_out()
    assert held_a.images.shape == (2, 3, 8, 8) and held_b.images.shape == (3, 1, 8, 8)
    assert [which(x) for x in held_b.images] == [100, 110, 120] and held_b.labels.sum() == 0
    grid_source, grid_target = data.fixed_pairs(2)
    assert torch.equal(grid_source, held_a.images) and torch.equal(
        grid_target, held_b.images[[0, 2]]
    )


def test_every_a_image_each_epoch_and_partners_drawn_anew(root: Path) -> None:
    def epoch(number: int, seed: int = 0) -> list[tuple[int, int]]:
        data = UnpairedFolder(root=str(root), shape=[3, 8, 8], batch_size=1, seed=seed)
        data.set_epoch(number)
        return [(which(a), which(b)) for a, _, b, _ in data.train_dataloader()]

    torch.manual_seed(0)
    first, second, other_seed = epoch(0), epoch(1), epoch(0, seed=1)
    for items in (first, second, other_seed):  # 5 items: A's 3 images cycle, B's at random
        assert sorted(a for a, _ in items) == [0, 0, 10, 10, 20]
        assert {b for _, b in items} <= {100, 110, 120, 130, 140}
    partners = {tuple(sorted(items)) for items in (first, second, other_seed)}
    assert len(partners) == 3  # no A image keeps its partner across epochs or seeds


def test_direction_swaps_the_domains(root: Path) -> None:
    options = {"root": str(root), "shape": [3, 8, 8], "batch_size": 1}
    forward, backward = UnpairedFolder(**options), UnpairedFolder(direction="BtoA", **options)
    torch.manual_seed(0)
    source, _, target, _ = backward.dataset()[0]
    assert which(source) >= 100 and which(target) < 100  # B is the source domain
    assert backward.num_samples == 5
    (a, b), (b_first, a_second) = forward.held_out(), backward.held_out()
    assert torch.equal(a.images, a_second.images) and torch.equal(b.images, b_first.images)


@pytest.mark.parametrize("workers", [0, 2])
def test_a_resumed_epoch_draws_the_same_crops_and_partners(tmp_path: Path, workers: int) -> None:
    for folder in ("trainA", "trainB"):  # pixels that all differ: a crop shows where it was
        (tmp_path / folder).mkdir()
        for i in range(4):
            pixels = np.random.default_rng(i).integers(0, 256, (12, 12, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / folder / f"{i}.png")

    def loader(seed: int = 0) -> torch.utils.data.DataLoader:
        data = UnpairedFolder(
            root=str(tmp_path),
            shape=[3, 8, 8],
            load_size=[12, 12],
            batch_size=1,
            seed=seed,
            num_workers=workers,  # persistent worker processes when > 0
        )
        data.set_epoch(2)
        return data.train_dataloader()

    reference = list(loader())
    interrupted = loader()
    batches = iter(interrupted)
    head = [next(batches) for _ in range(2)]
    state = interrupted.state_dict()  # what a checkpoint keeps
    rng = torch.get_rng_state()
    resumed = loader()
    resumed.load_state_dict(state)
    for got, expected in zip(head + list(resumed), reference, strict=True):
        assert all(torch.equal(x, y) for x, y in zip(got, expected, strict=True))
    assert torch.equal(torch.get_rng_state(), rng)  # the model's random stream is untouched
    # another data seed: other crops, flips or partners
    assert any(not torch.equal(x[0], y[0]) for x, y in zip(loader(1), reference, strict=True))


def test_every_bad_folder_is_one_error_naming_the_fix(root: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"data.root=.*nowhere is not a folder: .*trainA/ trainB/"):
        UnpairedFolder(root=str(tmp_path / "nowhere")).prepare_data()
    half = tmp_path / "half"
    write_domains(half, {"trainA": 2})
    with pytest.raises(DataError, match=r"half/trainB does not exist: .*cyclegan/datasets/<name>"):
        UnpairedFolder(root=str(half)).prepare_data()
    (half / "trainB").mkdir()
    with pytest.raises(DataError, match=r"half/trainB holds no images: .*CycleGAN layout"):
        UnpairedFolder(root=str(half)).prepare_data()
    (root / "trainB" / "sub" / "1.png").write_bytes(b"not a png")
    data = UnpairedFolder(root=str(root), shape=[3, 8, 8], batch_size=1, direction="BtoA")
    files = data.dataset()
    bad = files.files[1].index(root / "trainB" / "sub" / "1.png")
    with pytest.raises(DataError, match=r"trainB/sub/1.png cannot be read as an image"):
        files.image(1, bad)
    with pytest.raises(DataError, match=r"same height and width"):
        UnpairedFolder(root=str(root), source_shape=[3, 128, 128])
    with pytest.raises(DataError, match=r"data.load_size=\[200, 200\] must be \[H, W\] at least"):
        UnpairedFolder(root=str(root), load_size=[200, 200])
    with pytest.raises(DataError, match=r"data.split must be one of \['train', 'test'\]"):
        UnpairedFolder(root=str(root), split="val")


# ------------------------------------------------------------------ official datasets by name
def archive(path: Path, files: dict[str, bytes]) -> Path:
    """A zip or tar.gz (by ``path``'s name) holding ``files``."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(path, "w") as packed:
            for name, content in files.items():
                packed.writestr(name, content)
        return path
    with tarfile.open(path, "w:gz") as packed:
        for name, content in files.items():
            member = tarfile.TarInfo(name)
            member.size = len(content)
            packed.addfile(member, io.BytesIO(content))
    return path


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.zeros((height, width, 3), dtype=np.uint8)).save(out, format="png")
    return out.getvalue()


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, list[str]]:
    """The host answers, and a download copies the file of the URL's name from a folder of
    the test's archives; that folder, and the URLs asked for."""
    folder, asked = tmp_path / "served", []
    folder.mkdir()

    def fetch(url: str, path: Path) -> None:
        asked.append(url)
        shutil.copy(folder / url.rsplit("/", 1)[-1], path)

    monkeypatch.setattr(downloads, "probe", lambda url, timeout=5.0: None)
    monkeypatch.setattr(folders, "download_file", fetch)
    return folder, asked


def test_a_named_dataset_is_downloaded_and_unpacked_in_place(
    tmp_path: Path, served: tuple[Path, list[str]]
) -> None:
    shop, asked = served
    layout = {f"horse2zebra/{f}/{i}.png": png(8, 8) for f in ("trainA", "trainB") for i in (0, 1)}
    archive(shop / "horse2zebra.zip", layout)
    data_dir = tmp_path / "data"
    data = UnpairedFolder(name="horse2zebra", data_dir=str(data_dir), shape=[3, 8, 8], batch_size=1)
    data.prepare_data()
    assert asked == ["http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/horse2zebra.zip"]
    assert [p.name for p in data_dir.iterdir()] == ["horse2zebra"]  # nothing else left
    assert data.root == data_dir / "horse2zebra" and data.num_samples == 2
    data.prepare_data()  # there now: not fetched again
    assert len(asked) == 1

    archive(shop / "facades.tar.gz", {"facades/train/0.jpg": png(16, 8)})  # side by side
    pairs = PairedFolder(name="facades", data_dir=str(data_dir), shape=[3, 8, 8], batch_size=1)
    pairs.prepare_data()
    assert asked[-1] == "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/facades.tar.gz"
    assert pairs.dataset()[0][0].shape == (3, 8, 8)
    own = PairedFolder(name="facades", root=str(tmp_path / "mine"), shape=[3, 8, 8], batch_size=1)
    own.prepare_data()  # data.root says where a named dataset goes
    assert (tmp_path / "mine" / "train" / "0.jpg").is_file()


@pytest.mark.parametrize(
    ("files", "refusal"),
    [
        (
            {"mini/../../escape.png": b"x"},
            r"holds 'mini/../../escape.png', which would land outside",
        ),
        ({"/etc/escape.png": b"x"}, r"holds '/etc/escape.png', which would land outside"),
    ],
)
@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_an_archive_reaching_outside_its_folder_is_refused_and_nothing_is_left(
    tmp_path: Path,
    served: tuple[Path, list[str]],
    files: dict[str, bytes],
    refusal: str,
    kind: str,
) -> None:
    packed = archive(served[0] / f"mini.{kind}", {"mini/trainA/0.png": png(8, 8), **files})
    packed.rename(served[0] / "mini.zip")  # what is asked for; its content decides how to unpack
    data_dir = tmp_path / "data"
    with pytest.raises(DataError, match=rf"Automatic download failed: ValueError: .*{refusal}"):
        UnpairedFolder(name="mini", data_dir=str(data_dir)).prepare_data()
    assert list(data_dir.iterdir()) == [] and not (tmp_path / "escape.png").exists()


def test_a_tar_link_and_a_broken_download_leave_nothing(
    tmp_path: Path, served: tuple[Path, list[str]]
) -> None:
    with tarfile.open(served[0] / "mini.zip", "w:gz") as packed:  # a tar under the zip's name
        link = tarfile.TarInfo("mini/trainA/link.png")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        packed.addfile(link)
    data_dir = tmp_path / "data"
    with pytest.raises(DataError, match=r"a link or device rather than a file or folder"):
        UnpairedFolder(name="mini", data_dir=str(data_dir)).prepare_data()
    (served[0] / "mini.zip").write_bytes(b"PK\x03\x04 cut short")
    with pytest.raises(DataError, match=r"Automatic download failed: "):
        UnpairedFolder(name="mini", data_dir=str(data_dir)).prepare_data()
    assert list(data_dir.iterdir()) == []


def test_offline_a_named_dataset_is_one_error_naming_url_folder_and_layout(
    tmp_path: Path, offline: None
) -> None:
    data = UnpairedFolder(name="horse2zebra", data_dir=str(tmp_path))
    with pytest.raises(DataError) as info:
        data.prepare_data()
    message = str(info.value)
    assert "cannot reach efrosgans.eecs.berkeley.edu" in message
    assert "http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/horse2zebra.zip" in message
    assert f"put it at {tmp_path / 'horse2zebra'}" in message and "trainA/ trainB/" in message
    with pytest.raises(DataError, match=r"not attempted because data.download=false"):
        UnpairedFolder(name="horse2zebra", data_dir=str(tmp_path)).setup("fit")
    assert list(tmp_path.iterdir()) == []


def test_names_and_roots_are_checked() -> None:
    with pytest.raises(DataError, match=r"data.name='horse2zebr' is no official .* apple2orange"):
        UnpairedFolder(name="horse2zebr")
    with pytest.raises(DataError, match=r"one in another layout: data=paired_folder .*edges2shoes"):
        UnpairedFolder(name="edges2shoes")
    with pytest.raises(DataError, match=r"data=paired_folder needs data.root=.* or data.name="):
        PairedFolder()


def test_configs_compose_with_a_root_or_a_name(tmp_path: Path) -> None:
    cfg = compose_train(tmp_path, "data=unpaired_folder", "data.name=horse2zebra")
    data = instantiate(cfg.data)
    assert data.root == tmp_path / "data" / "horse2zebra" and data.shape == (3, 256, 256)
    assert (data.load_size, data.flip, data.batch_size) == ((286, 286), True, 1)
    cfg = compose_train(tmp_path, "model=pix2pix", "data=unpaired_folder", f"data.root={tmp_path}")
    with pytest.raises(ConfigError, match=r"UnpairedFolder is unpaired"):
        check_combinations(cfg)
