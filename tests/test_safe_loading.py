"""Loading a checkpoint or run folder runs and writes nothing (ganlab.stored, issue 19).

Every entry point gets a crafted file whose stored config would write a marker file when
Hydra builds it: the load is refused with one line naming the target, and the marker does not
exist afterwards. Every config ganlab itself stores (each preset, data module, experiment)
still loads without ``trust``. One tiny real checkpoint is trained per module; the crafted ones
are copies of it with one stored value replaced."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from helpers import (
    CONF,
    TRANSLATION_PRESETS,
    compose_train,
    config_gan,
    point_loader,
    quiet_trainer,
    run_cli,
)
from hydra import compose, initialize_config_dir
from hydra._internal.utils import _locate
from omegaconf import DictConfig, OmegaConf

from ganlab import load_generator
from ganlab.checkpoints import CheckpointError
from ganlab.config import compose_config
from ganlab.models import GAN
from ganlab.stored import ALLOWED, build_stored, check_stored

WRITE = "pathlib.Path.write_text"
# targets of the entry configs (trainer, callbacks, loggers, metrics): built from this command
# line only, never from a checkpoint or run folder, so never allow-listed
ENTRY_ONLY = {
    "ganlab.callbacks.DestroyProcessGroup",
    "ganlab.callbacks.DivergenceGuard",
    "ganlab.callbacks.FeatureMetricsMonitor",
    "ganlab.callbacks.GANDoctor",
    "ganlab.callbacks.KimgBudget",
    "ganlab.callbacks.LastCheckpoint",
    "ganlab.callbacks.LogitHistograms",
    "ganlab.callbacks.MixtureCoverageMonitor",
    "ganlab.callbacks.TranslationMonitor",
    "ganlab.callbacks.Preemption",
    "ganlab.callbacks.SampleGrid",
    "ganlab.callbacks.progress_bar",
    "ganlab.checkpoint_plugin.AtomicCheckpointIO",
    "ganlab.loggers.wandb_logger",
    "ganlab.metrics.ClassifierFeatures",
    "ganlab.metrics.DensityCoverage",
    "ganlab.metrics.FID",
    "ganlab.metrics.InceptionFeatures",
    "ganlab.metrics.InceptionScore",
    "ganlab.metrics.KID",
    "ganlab.metrics.ModeCount",
    "ganlab.metrics.PrecisionRecall",
    "ganlab.metrics.StackedClassifierFeatures",
    "ganlab.precision.PerOptimizerMixedPrecision",
    "lightning.pytorch.Trainer",
    "lightning.pytorch.callbacks.ModelCheckpoint",
    "lightning.pytorch.loggers.CSVLogger",
    "lightning.pytorch.loggers.TensorBoardLogger",
}


def writes(marker: Path) -> dict[str, Any]:
    """A stored spec that writes ``marker`` when Hydra builds it."""
    path = {"_target_": "pathlib.Path", "_args_": [str(marker)]}
    return {"_target_": WRITE, "_args_": [path, "pwned"]}


def interpolated(marker: Path) -> str:
    """The same spec inside an interpolation: OmegaConf creates it when Hydra resolves the
    config, and Hydra then builds it."""
    return (
        "${oc.create:'{_target_: "
        + WRITE
        + ", _args_: [{_target_: pathlib.Path, _args_: ["
        + str(marker)
        + "]}, pwned]}'}"
    )


def refused(error: pytest.ExceptionInfo[CheckpointError], source: Path, what: str) -> None:
    """The error is one line naming the file and what was refused."""
    message = str(error.value)
    assert "\n" not in message, message
    assert message.startswith(f"{source}: refusing "), message
    assert what in message and "trust=true" in message, message


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ganlab checkpoint of a tiny GAN built from configs (as ganlab.train builds them)."""
    model = config_gan()
    trainer = quiet_trainer(max_steps=2)
    trainer.fit(model, point_loader(n=16, batch_size=16))
    path = tmp_path_factory.mktemp("real") / "run" / "checkpoints" / "last.ckpt"
    path.parent.mkdir(parents=True)
    trainer.save_checkpoint(path)
    return path


Craft = Callable[..., Path]


@pytest.fixture
def craft(real: Path, tmp_path: Path) -> Craft:
    """``craft(hyper_parameter=value, ...)``: a copy of the real checkpoint with those stored
    hyperparameters replaced (``wandb_id=`` replaces the stored W&B id), in
    ``tmp_path/run/checkpoints/last.ckpt``."""

    def make(wandb_id: Any = None, **hparams: Any) -> Path:
        checkpoint = torch.load(real, weights_only=True)
        checkpoint["hyper_parameters"].update(hparams)
        if wandb_id is not None:
            checkpoint["ganlab"]["wandb_id"] = wandb_id
        path = tmp_path / "run" / "checkpoints" / "last.ckpt"
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(checkpoint, path)
        return path

    return make


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "marker.txt"


def compose_entry(name: str, *overrides: str) -> DictConfig:
    """``conf/<name>.yaml`` as its command line composes it (configs without run folders)."""
    with initialize_config_dir(str(CONF), version_base="1.3"):
        return compose(name, overrides=list(overrides))


# ----------------------------------------------------------------------- every entry point


def test_load_generator_refuses_and_writes_nothing(craft: Craft, marker: Path) -> None:
    path = craft(generator=writes(marker))
    with pytest.raises(CheckpointError) as error:
        load_generator(path)
    refused(error, path, f"to build '{WRITE}'")
    assert not marker.exists()


@pytest.mark.parametrize(
    "key, spec, what",
    [
        ("generator", "writes", f"'{WRITE}'"),
        # an allow-listed class whose positional argument is the payload
        ("discriminator", "args", f"'{WRITE}'"),
        # a partial (the optimizers are partials) of a function outside the list
        ("g_optimizer", "partial", f"'{WRITE}'"),
        # the payload inside an interpolation: created when resolved, then checked
        ("ema", "interpolation", f"'{WRITE}'"),
        # an escaped interpolation resolves to one Hydra would resolve again when building
        ("loss", "escaped", "the value '${oc.env:HOME}'"),
        ("loss", "not_a_name", "to build ['pathlib.Path', 'write_text']"),
    ],
)
def test_load_from_checkpoint_checks_every_stored_hyperparameter(
    craft: Craft, marker: Path, key: str, spec: str, what: str
) -> None:
    specs = {
        "writes": writes(marker),
        "args": {"_target_": "ganlab.networks.MLPDiscriminator", "_args_": [writes(marker)]},
        "partial": {**writes(marker), "_partial_": True},
        "interpolation": interpolated(marker),
        "escaped": {"_target_": "ganlab.losses.Hinge", "name": "\\${oc.env:HOME}"},
        "not_a_name": {"_target_": ["pathlib.Path", "write_text"]},
    }
    path = craft(**{key: specs[spec]})
    with pytest.raises(CheckpointError) as error:
        GAN.load_from_checkpoint(path)
    refused(error, path, what)
    assert not marker.exists()


def test_sample_cli_refuses_in_one_line_and_writes_nothing(
    craft: Craft, marker: Path, tmp_path: Path
) -> None:
    path = craft(generator=writes(marker))
    work = tmp_path / "work"
    work.mkdir()
    out = run_cli("ganlab.sample", f"ckpt={path}", "out=grid.png", cwd=str(work), check=False)
    lines = [line for line in out.splitlines() if "CheckpointError" in line]
    assert lines == [
        f"CheckpointError: {path}: refusing to build '{WRITE}' (not a ganlab/torch class "
        "ganlab's configs use); pass trust=true (Python: trust=True) if you trust this file"
    ], out
    assert not marker.exists() and not any(work.iterdir())


def test_evaluate_refuses_the_checkpoint_and_its_run_config(
    craft: Craft, real: Path, marker: Path, tmp_path: Path
) -> None:
    from ganlab.evaluate import evaluate

    out = tmp_path / "evaluate"
    path = craft(generator=writes(marker))
    with pytest.raises(CheckpointError) as error:
        evaluate(compose_config(f"ckpt={path}", config_name="evaluate", output_dir=out))
    refused(error, path, f"'{WRITE}'")

    # a real checkpoint whose run config names the data to compare with
    run = tmp_path / "shared_run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "last.ckpt").write_bytes(real.read_bytes())
    config = run / ".hydra" / "config.yaml"
    config.parent.mkdir()
    config.write_text(yaml.safe_dump({"data": writes(marker)}))
    cfg = compose_config(
        f"ckpt={run}/checkpoints/last.ckpt", config_name="evaluate", output_dir=out
    )
    with pytest.raises(CheckpointError) as error:
        evaluate(cfg)
    refused(error, config.resolve(), f"'{WRITE}'")
    assert not marker.exists() and not out.exists()


def test_export_refuses_and_writes_nothing(craft: Craft, marker: Path, tmp_path: Path) -> None:
    from ganlab.export import export

    path = craft(generator=writes(marker))
    target = tmp_path / "generator.pt"
    with pytest.raises(CheckpointError) as error:
        export(compose_entry("export", f"ckpt={path}", f"out={target}"))
    refused(error, path, f"'{WRITE}'")
    assert not marker.exists() and not target.exists()


def test_anomaly_score_refuses_the_checkpoint_and_anomaly_json(
    craft: Craft, real: Path, marker: Path, tmp_path: Path
) -> None:
    from ganlab.anomaly import score

    out = tmp_path / "score"
    path = craft(discriminator=writes(marker))
    cfg = compose_config("stage=score", f"ckpt={path}", config_name="anomaly", output_dir=out)
    with pytest.raises(CheckpointError) as error:
        score(cfg)
    refused(error, path, f"'{WRITE}'")

    run = tmp_path / "fit_run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "last.ckpt").write_bytes(real.read_bytes())
    record = run / "anomaly.json"
    record.write_text(json.dumps({"data": writes(marker), "normal_classes": [0]}))
    cfg = compose_config(
        "stage=score", f"ckpt={run}/checkpoints/last.ckpt", config_name="anomaly", output_dir=out
    )
    with pytest.raises(CheckpointError) as error:
        score(cfg)
    refused(error, record.resolve(), f"'{WRITE}'")
    assert not marker.exists() and not out.exists()


@pytest.mark.parametrize("stored", ["generator", "wandb_id"])
def test_resume_refuses_a_crafted_checkpoint(
    craft: Craft, marker: Path, tmp_path: Path, stored: str
) -> None:
    from ganlab.train import train

    # the W&B id joins the config, where Hydra would resolve it when building the logger
    path = craft(**{stored: writes(marker) if stored == "generator" else interpolated(marker)})
    cfg = compose_train(
        tmp_path / "resumed", "model=gan", "data=ring8", "logger=none", f"ckpt_path={path}"
    )
    with pytest.raises(CheckpointError) as error:
        train(cfg)
    refused(error, path, f"'{WRITE}'")
    assert not marker.exists()


# ---------------------------------------------------------------------------------- trust


def test_trust_builds_what_the_list_refuses_and_names_it(marker: Path) -> None:
    with pytest.warns(UserWarning, match=rf"shared\.ckpt: trust=True .*'{WRITE}'.*'pathlib\.Path'"):
        build_stored(writes(marker), "shared.ckpt", trust=True)
    assert marker.read_text() == "pwned"


def test_trust_on_the_command_line_and_in_python(craft: Craft, real: Path, tmp_path: Path) -> None:
    from ganlab.sample import sample

    # a real class under a name that is not on the list: refused, unless trusted
    spec = torch.load(real, weights_only=True)["hyper_parameters"]["generator"]
    alias = "ganlab.networks.mlp.MLPGenerator"
    path = craft(generator={**spec, "_target_": alias})
    with pytest.raises(CheckpointError, match=re.escape(f"to build '{alias}'")):
        load_generator(path)
    with pytest.warns(UserWarning, match=re.escape(alias)):
        assert load_generator(path, trust=True).sample(3).shape == (3, 2)
    out = tmp_path / "points.pt"
    with pytest.warns(UserWarning, match=re.escape(alias)):
        sample(compose_entry("sample", f"ckpt={path}", f"out={out}", "trust=true"))
    assert out.is_file()


# ---------------------------------------------------------- what ganlab stores still loads


def test_stored_interpolations_are_resolved_before_the_check(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "seed: 3\npaths: {data_dir: /data}\n"
        "data: {_target_: ganlab.data.RingMixture, seed: '${seed}', root: '${paths.data_dir}/x'}\n"
    )
    resolved = check_stored(OmegaConf.load(config).data, config)
    assert resolved == {"_target_": "ganlab.data.RingMixture", "seed": 3, "root": "/data/x"}
    with pytest.raises(CheckpointError, match=r"config\.yaml: cannot resolve"):
        check_stored(OmegaConf.create({"x": "${missing}"}), config)


def _conf_names(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


@pytest.mark.parametrize(
    "overrides",
    [
        *(
            [
                f"model={name}",
                *([f"data={TRANSLATION_PRESETS[name]}"] if name in TRANSLATION_PRESETS else []),
            ]
            for name in _conf_names("model")
        ),
        *(
            [f"data={name}", *(["data.root=/images"] if name.endswith("_folder") else [])]
            for name in _conf_names("data")
        ),
        *([f"experiment={name}"] for name in _conf_names("experiment")),
    ],
    ids=lambda overrides: overrides[0],
)
def test_every_preset_and_experiment_loads_without_trust(
    tmp_path: Path, overrides: list[str]
) -> None:
    """What a run of each stores: the model's configs (checkpoint hyperparameters and run
    config) and the data module's (run config, anomaly.json)."""
    cfg = compose_train(tmp_path, *overrides)
    check_stored(cfg.model, "model")
    check_stored(cfg.data, "data")


def _targets(node: Any) -> set[str]:
    if isinstance(node, dict):
        own = {str(node["_target_"])} if "_target_" in node else set()
        return own.union(*(_targets(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_targets(v) for v in node))
    return set()


def test_every_conf_target_is_allow_listed_or_entry_only() -> None:
    found = set().union(*(_targets(yaml.safe_load(p.read_text())) for p in CONF.rglob("*.yaml")))
    assert "ganlab.networks.MLPGenerator" in found and "lightning.pytorch.Trainer" in found
    assert found <= ALLOWED | ENTRY_ONLY, sorted(found - ALLOWED - ENTRY_ONLY)
    assert not ALLOWED & ENTRY_ONLY
    for name in ALLOWED:  # no typos: each names a class
        assert isinstance(_locate(name), type), name


def test_report_reads_overrides_without_resolving_them(tmp_path: Path) -> None:
    from ganlab.report import _overrides

    overrides = tmp_path / "overrides.yaml"
    overrides.write_text("- seed=1\n- run_name=${oc.env:HOME}\n")
    assert _overrides(overrides) == {"seed": "1", "run_name": "${oc.env:HOME}"}
