"""data=paired_folder: the A/B and side-by-side layouts, joint crops and flips, and every way
a folder can be wrong named in one error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganlab.data import DataError, PairedFolder


def gradient(seed: int, size: int = 12) -> np.ndarray:
    """An RGB image whose every pixel differs: a crop or flip shows where it came from."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (size, size, 3), dtype=np.uint8)


def write_ab_folders(root: Path, split: str, names: list[str]) -> None:
    """A/<split>/<name> an image, B/<split>/<name> its negative."""
    for i, name in enumerate(names):
        a = gradient(i)
        for side, pixels in (("A", a), ("B", 255 - a)):
            (root / side / split).mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(root / side / split / name)


def test_a_and_b_folders_pair_by_name_and_crop_and_flip_together(tmp_path: Path) -> None:
    write_ab_folders(tmp_path, "train", ["x.png", "y.png", "z.png"])
    data = PairedFolder(
        root=str(tmp_path), shape=[3, 8, 8], load_size=[12, 12], batch_size=3, seed=0
    )
    data.prepare_data()
    data.setup("fit")
    draws = torch.Generator().manual_seed(0)
    crops = set()
    for _ in range(8):  # random crops and flips, the same for both images of a pair
        target, label, source = data.dataset().item(1, draws)
        assert target.shape == source.shape == (3, 8, 8) and int(label) == 0
        torch.testing.assert_close(target, -source, atol=1 / 127.5, rtol=0)  # B = 255 - A
        crops.add(source.flatten()[:4].tolist().__repr__())
    assert len(crops) > 1  # the place (or the flip) changes from draw to draw
    swapped = PairedFolder(
        root=str(tmp_path), shape=[3, 12, 12], direction="BtoA", flip=False, batch_size=1
    )
    target, _, source = swapped.dataset()[0]
    expected = torch.from_numpy(gradient(0)).permute(2, 0, 1).float() / 127.5 - 1
    torch.testing.assert_close(target, expected, atol=1e-6, rtol=0)  # A is the target now


def test_side_by_side_images_split_in_halves_and_held_out_pairs_load(tmp_path: Path) -> None:
    for split, count in (("train", 2), ("val", 3)):
        (tmp_path / split).mkdir()
        for i in range(count):
            a = gradient(i)
            Image.fromarray(np.concatenate([a, 255 - a], axis=1)).save(
                tmp_path / split / f"{i}.jpg"
            )
    data = PairedFolder(root=str(tmp_path), shape=[1, 12, 12], source_shape=[3, 12, 12])
    held_out = data.held_out()  # no test split: val
    assert held_out.source.shape == (3, 3, 12, 12) and held_out.target.shape == (3, 1, 12, 12)
    source, target = data.fixed_pairs(2)
    assert torch.equal(source, held_out.source[[0, 2]]) and torch.equal(
        target, held_out.target[[0, 2]]
    )
    assert data.num_samples == 2


def test_every_broken_folder_is_one_error_naming_the_fix(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"holds no train pairs: put them in .*/A/train/ .*facades"):
        PairedFolder(root=str(tmp_path)).prepare_data()
    write_ab_folders(tmp_path, "train", ["x.png", "y.png"])
    (tmp_path / "B" / "train" / "y.png").unlink()
    with pytest.raises(DataError, match=r"A/train/y.png has no partner in .*B/train"):
        PairedFolder(root=str(tmp_path)).prepare_data()
    odd = tmp_path / "odd"
    (odd / "train").mkdir(parents=True)
    Image.fromarray(gradient(0, 11)).save(odd / "train" / "x.png")
    with pytest.raises(DataError, match=r"x.png is 11x11: .* its width must be even"):
        PairedFolder(root=str(odd), shape=[3, 8, 8], batch_size=1).dataset()[0]
    with pytest.raises(DataError, match=r"load_size=\[100\] must be \[H, W\] at least"):
        PairedFolder(root=str(tmp_path), load_size=[100])
    with pytest.raises(DataError, match=r"same height and width"):
        PairedFolder(root=str(tmp_path), source_shape=[3, 128, 128])
