"""`python -m ganlab.translate` and `load_translator`: a folder of images in, their translations
out under the same names, written whole, never over files it did not write.

One tiny Pix2Pix checkpoint is trained per module (and a CycleGAN one for the direction
option); the command line runs once in a subprocess, option cases call
``ganlab.translate.translate`` on the composed config in this process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from helpers import fit, run_cli, run_dir
from hydra import compose, initialize_config_dir
from PIL import Image
from torch import Tensor

import ganlab.evaluate as evaluation
import ganlab.translate as translation
from ganlab import load_generator, load_translator
from ganlab.checkpoints import CheckpointError
from ganlab.config import config_dir
from ganlab.data import Edges2Digits
from ganlab.metrics import cycle_scores, paired_scores
from ganlab.metrics.classifier import DigitClassifier, save_classifier
from ganlab.metrics.evaluation import MetricRecord
from ganlab.metrics.features import to_uint8
from ganlab.models import CycleGAN

LEGACY = Path(__file__).parents[1] / "models" / "checkpoints" / "ganlab-0.1-gan-ring8.ckpt"


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("translate_cli")
    out = run_cli(
        "ganlab.train",
        "model=pix2pix",
        "data=edges2digits",
        "model.generator.base_channels=8",
        "model.discriminator.base_channels=8",
        "logger=none",
        "max_kimg=0.3",
        f"paths.root_dir={root}",
    )
    return Path(run_dir(out)) / "checkpoints" / "last.ckpt"


@pytest.fixture(scope="module")
def edges(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Tensor]:
    """Five held-out edge maps as PNGs (two in a subfolder) and as a tensor, in file order."""
    folder = tmp_path_factory.mktemp("edges")
    source, _ = Edges2Digits().fixed_pairs(5)
    names = ["a.png", "b.png", "c.png", "sub/d.png", "sub/e.png"]
    for name, image in zip(names, source, strict=True):
        (folder / name).parent.mkdir(exist_ok=True)
        Image.fromarray(to_uint8(image)[0].numpy()).save(folder / name)
    return folder, source


def run_here(*overrides: str) -> Path:
    """``python -m ganlab.translate <overrides>`` in this process."""
    with initialize_config_dir(config_dir(), version_base="1.3"):
        return translation.translate(compose("translate", overrides=list(overrides)))


def read(path: Path) -> Tensor:
    return torch.from_numpy(np.asarray(Image.open(path)).copy())


def test_a_folder_is_translated_under_the_same_names(ckpt: Path, edges, tmp_path: Path) -> None:
    folder, source = edges
    out = run_cli("ganlab.translate", f"ckpt={ckpt}", f"input={folder}", f"out={tmp_path}/t")
    assert "5 images translated AtoB (raw generator, 0.3 kimg, train mode)" in out
    written = sorted(
        p.relative_to(tmp_path / "t").as_posix() for p in (tmp_path / "t").rglob("*.png")
    )
    assert written == ["a.png", "b.png", "c.png", "sub/d.png", "sub/e.png"]
    expected = to_uint8(load_translator(ckpt)(source, seed=0))[:, 0]  # the same batch and seed
    got = torch.stack([read(tmp_path / "t" / name) for name in written])
    assert torch.equal(got, expected)
    manifest = json.loads((tmp_path / "t" / "translate.json").read_text())
    assert manifest["files"] == written and manifest["inference"] == "train"
    assert manifest["direction"] == "AtoB"


def test_out_is_replaced_only_where_it_holds_earlier_translations(
    ckpt: Path, edges, tmp_path: Path
) -> None:
    folder, _ = edges
    args = [f"ckpt={ckpt}", f"input={folder}", f"out={tmp_path}/t"]
    run_here(*args)
    with pytest.raises(translation.TranslateError, match="is not empty: pass overwrite=true"):
        run_here(*args)
    run_here(*args, "overwrite=true", "seed=1")  # its own files: replaced whole
    (tmp_path / "t" / "notes.txt").write_text("mine")
    with pytest.raises(translation.TranslateError, match=r"did not write \(notes.txt\)"):
        run_here(*args, "overwrite=true")
    assert (tmp_path / "t" / "notes.txt").read_text() == "mine"


def test_inputs_of_another_size_need_resize(ckpt: Path, edges, tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.mkdir()
    Image.new("L", (64, 48)).save(big / "x.png")
    with pytest.raises(translation.TranslateError, match=r"x.png is 64x48 .* 32x32 .*resize=true"):
        run_here(f"ckpt={ckpt}", f"input={big}", f"out={tmp_path}/t")
    assert not (tmp_path / "t").exists()
    run_here(f"ckpt={ckpt}", f"input={big / 'x.png'}", f"out={tmp_path}/t", "resize=true")
    assert Image.open(tmp_path / "t" / "x.png").size == (32, 32)
    with pytest.raises(translation.TranslateError, match="does not exist"):
        run_here(f"ckpt={ckpt}", f"input={tmp_path}/nothing", f"out={tmp_path}/u")


def test_the_loaders_name_each_other(ckpt: Path) -> None:
    with pytest.raises(CheckpointError, match=r"translates input images.*load_translator"):
        load_generator(ckpt)
    with pytest.raises(CheckpointError, match=r"from latents.*load_generator"):
        load_translator(LEGACY)
    translator = load_translator(ckpt)
    assert translator.source_shape == translator.shape == (1, 32, 32)
    with pytest.raises(AssertionError, match=r"reads images of shape \[1, 32, 32\]"):
        translator(torch.zeros(1, 3, 32, 32))
    with pytest.raises(CheckpointError, match=r"direction=BtoA, but this model translates AtoB"):
        load_translator(ckpt, direction="BtoA")  # a Pix2Pix goes one way
    with pytest.raises(CheckpointError, match=r"direction=AtoB is for a translator"):
        load_translator(LEGACY, direction="AtoB")


@pytest.fixture(scope="module")
def cyclegan(tmp_path_factory: pytest.TempPathFactory) -> tuple[CycleGAN, Any, Path]:
    """A tiny CycleGAN trained in this process (so its run keeps no .hydra config)."""
    root = tmp_path_factory.mktemp("cyclegan")
    model, datamodule = fit(
        root / "run",
        "model=cyclegan",
        "data=mnist2digits",
        "data.direction=BtoA",  # G: the dataset's B (8x8 digits) -> A (MNIST)
        "model.generator.base_channels=8",
        "model.generator.n_blocks=1",
        "model.discriminator.base_channels=8",
        "max_kimg=0.1",
    )
    assert isinstance(model, CycleGAN)
    return model, datamodule, root / "run" / "checkpoints" / "last.ckpt"


def test_a_cyclegan_translates_both_ways(cyclegan, tmp_path: Path) -> None:
    model, datamodule, ckpt = cyclegan
    digits, mnist = datamodule.fixed_pairs(4)  # held-out images of B, then of A
    for direction, images, reverse in (("BtoA", digits, False), ("AtoB", mnist, True)):
        translator = load_translator(ckpt, direction=direction)
        assert translator.direction == direction
        assert torch.equal(translator(images), model.translate(images, reverse=reverse))
    assert load_translator(ckpt).direction == "BtoA"  # unset: the way it was trained
    folder = tmp_path / "mnist"
    folder.mkdir()
    Image.fromarray(to_uint8(mnist[0])[0].numpy()).save(folder / "x.png")
    run_here(f"ckpt={ckpt}", f"input={folder}", f"out={tmp_path}/t", "direction=AtoB")
    manifest = json.loads((tmp_path / "t" / "translate.json").read_text())
    assert manifest["direction"] == "AtoB" and manifest["files"] == ["x.png"]


@pytest.fixture(scope="module")
def judge(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An (untrained) digit classifier file for classifier features: the tests check what is
    measured and recorded, not how good the features are."""
    path = tmp_path_factory.mktemp("judge") / "judge.pt"
    with torch.random.fork_rng():
        torch.manual_seed(0)
        classifier = DigitClassifier(10, 8, 1)
    return save_classifier(classifier, path, {"data": "judge", "input_size": [28, 28]})


def evaluate_here(tmp_path: Path, *overrides: str) -> dict[str, MetricRecord]:
    """``python -m ganlab.evaluate <overrides>`` in this process, with classifier features and
    no reference cache; its records by metric."""
    common = ["metrics/feature=classifier", "metrics.reference_cache=null"]
    common.append(f"paths.output_dir={tmp_path}/evaluate")
    with initialize_config_dir(config_dir(), version_base="1.3"):
        cfg = compose("evaluate", overrides=[*common, *overrides])
    return {record.metric: record for record in evaluation.evaluate(cfg)}


def test_evaluate_scores_a_pix2pix_on_its_held_out_pairs(
    ckpt: Path, judge: Path, tmp_path: Path
) -> None:
    records = evaluate_here(
        tmp_path, f"ckpt={ckpt}", f"metrics.feature.path={judge}", "num_fake=40", "metrics=[fid]"
    )
    assert set(records) == {"fid40", "l1", "psnr", "ssim"}
    fid = records["fid40"]
    assert (fid.n_fake, fid.n_real) == (40, 1000)  # against every held-out target
    assert fid.provenance["dataset"] == "edges2digits_B" and fid.provenance["direction"] == "AtoB"
    assert fid.provenance["split"] == "held-out" and fid.provenance["kimg"] >= 0.3
    held_out = Edges2Digits().held_out()  # the data the checkpoint's run config names
    expected = paired_scores(load_translator(ckpt)(held_out.source[:40]), held_out.target[:40])
    assert records["l1"].value == pytest.approx(expected["l1"])
    assert records["ssim"].n_fake == records["ssim"].n_real == 40
    logged = (ckpt.parents[1] / "metrics.jsonl").read_text()  # appended to the run's log too
    assert '"metric": "l1"' in logged and '"direction": "AtoB"' in logged
    with pytest.raises(
        evaluation.EvaluationError, match=r"held-out targets of its data: drop real="
    ):
        evaluate_here(tmp_path, f"ckpt={ckpt}", f"metrics.feature.path={judge}", f"real={tmp_path}")
    with pytest.raises(evaluation.EvaluationError, match=r"direction= chooses a translator"):
        evaluate_here(tmp_path, f"fake={tmp_path}", "direction=BtoA")


def test_evaluate_scores_both_translators_of_a_cyclegan(
    cyclegan, judge: Path, tmp_path: Path
) -> None:
    model, datamodule, ckpt = cyclegan
    options = [f"ckpt={ckpt}", f"metrics.feature.path={judge}", "metrics=[fid]"]
    with pytest.raises(evaluation.EvaluationError, match=r"pass the data .* as data=<name>"):
        evaluate_here(tmp_path, *options)  # trained in-process: no run config to read it from
    options.append("data=mnist2digits")  # its direction is the translator's, whatever it says
    trained_way = evaluate_here(tmp_path, *options, "num_fake=30")  # BtoA: 8x8 digits -> MNIST
    assert set(trained_way) == {"fid30", "cycle_l1_a", "cycle_l1_b"}
    assert trained_way["fid30"].provenance["dataset"] == "mnist2digits_A"
    digits, mnist = datamodule.held_out()
    expected = cycle_scores(model.translate, digits.images[:30], mnist.images)
    assert trained_way["cycle_l1_b"].value == pytest.approx(expected["cycle_l1_a"], rel=1e-5)
    assert trained_way["cycle_l1_a"].value == pytest.approx(expected["cycle_l1_b"], rel=1e-5)
    other_way = evaluate_here(tmp_path, *options, "direction=AtoB", "num_fake=20")
    assert other_way["fid20"].provenance["dataset"] == "mnist2digits_B"
    assert other_way["fid20"].n_real == len(digits.images)
