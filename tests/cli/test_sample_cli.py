"""`python -m ganlab.sample` for conditional and InfoGAN checkpoints: class rows, traversals."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers import run_cli, run_dir

from ganlab import load_generator
from ganlab.plotting import load_png

TINY = [
    "data=digits",
    "logger=none",
    "max_kimg=0.5",
    "callbacks.evaluation.every_kimg=0",
    "model.generator.hidden=[32]",
    "model.discriminator.hidden=[32]",
]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("sample_cli")
    found = {}
    for name in ("cgan", "infogan"):
        model = [f"model={name}", "model/arch=mlp"]
        out = run_cli("ganlab.train", *model, *TINY, f"paths.root_dir={root / name}")
        found[name] = Path(run_dir(out)) / "checkpoints" / "last.ckpt"
    return found


def test_labels_give_a_row_of_each_requested_class(checkpoints, tmp_path: Path) -> None:
    ckpt = checkpoints["cgan"]
    common = [f"ckpt={ckpt}", "labels=[7,2]", "per_class=4", "seed=3"]
    run_cli("ganlab.sample", *common, f"out={tmp_path}/x.pt")
    samples = torch.load(tmp_path / "x.pt")
    expected = load_generator(ckpt).sample(8, seed=3, labels=[7, 7, 7, 7, 2, 2, 2, 2])
    assert samples.shape == (8, 1, 8, 8) and torch.equal(samples, expected)

    out = run_cli("ganlab.sample", f"ckpt={ckpt}", "class_grid=true", f"out={tmp_path}/g.png")
    assert "8 samples of each of classes [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]" in out
    grid = load_png(tmp_path / "g.png")  # 10 rows of 8 images of 8 px with 2 px padding
    assert grid.shape[-2:] == (10 * 10 + 2, 8 * 10 + 2)


def test_traversal_grid_of_an_infogan_code(checkpoints, tmp_path: Path) -> None:
    ckpt = checkpoints["infogan"]
    out = run_cli("ganlab.sample", f"ckpt={ckpt}", "traverse=c2", "steps=5", f"out={tmp_path}/t.pt")
    assert "traversal of c2" in out
    samples = torch.load(tmp_path / "t.pt")
    assert samples.shape == (10 * 5, 1, 8, 8)  # a row per value of c1, 5 values of c2
    rows = samples.view(10, 5, -1)
    assert not torch.allclose(rows[:, 0], rows[:, -1])  # the code changes the samples
    run_cli("ganlab.sample", f"ckpt={ckpt}", "traverse=c1", f"out={tmp_path}/c1.pt")
    assert torch.load(tmp_path / "c1.pt").shape == (8 * 10, 1, 8, 8)  # 8 rows of noise


def test_requests_that_do_not_fit_the_checkpoint_are_explained(checkpoints) -> None:
    out = run_cli("ganlab.sample", f"ckpt={checkpoints['infogan']}", "labels=[1]", check=False)
    assert "need a class-conditional generator" in out
    out = run_cli("ganlab.sample", f"ckpt={checkpoints['cgan']}", "traverse=c1", check=False)
    assert "not a latent code of this generator" in out
    out = run_cli("ganlab.sample", f"ckpt={checkpoints['cgan']}", "labels=[10]", check=False)
    assert "labels [10] are not classes: use 0..9" in out
