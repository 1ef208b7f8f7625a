"""What a run shows on its dashboards without any set-up: read back from an offline W&B run
file and the CSV log of a real training command."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from helpers import run_cli, run_dir, wandb_records

from ganlab.provenance import provenance


def _history_keys(records: list) -> dict[str, str]:
    """Every logged key and the first JSON value it had (a histogram or image is a dict whose
    fields W&B flattens into ``<key>/<field>``)."""
    keys: dict[str, str] = {}
    for record in records:
        if record.WhichOneof("record_type") == "history":
            for item in record.history.item:
                keys.setdefault(item.key or "/".join(item.nested_key), item.value_json)
    return keys


def test_offline_wandb_run_has_the_panels(tmp_path: Path) -> None:
    out = run_cli(
        "ganlab.train",
        "model=gan",
        "data=ring8",
        "debug=fast",
        "logger=[csv,wandb]",
        "tags=[smoke,ring]",
        "max_kimg=3",
        "trainer.max_epochs=10",
        "callbacks.logit_histograms.every_kimg=1",
        "callbacks.mode_coverage.every_kimg=1",
        "callbacks.doctor.start_kimg=0",
        "callbacks.doctor.every_kimg=1",
        "+callbacks.doctor.num_samples=256",
        f"paths.root_dir={tmp_path}",
    )
    run = Path(run_dir(out))
    files = list(run.glob("wandb/offline-run-*/run-*.wandb"))
    assert len(files) == 1, f"expected one offline W&B run, got {files}"
    records = wandb_records(files[0])

    # identity: name and group from the model/data choices and the seed, tags from the config
    (info,) = [r.run for r in records if r.WhichOneof("record_type") == "run"]
    assert (info.display_name, info.run_group) == ("gan-ring8-s0", "gan-ring8")
    assert list(info.tags) == ["smoke", "ring"]

    # the full resolved config and where it came from
    config = {
        u.key: json.loads(u.value_json)
        for r in records
        if r.WhichOneof("record_type") in ("run", "config")
        for u in (r.run.config if r.WhichOneof("record_type") == "run" else r.config).update
    }
    assert config["model"]["generator"]["_target_"] == "ganlab.networks.MLPGenerator"
    assert config["max_kimg"] == 3 and config["data"]["batch_size"] > 0
    assert config["provenance"]["git_commit"] == provenance()["git_commit"]
    assert config["provenance"]["ganlab_version"]

    keys = _history_keys(records)
    scalars = [
        "train/d_loss",
        "train/g_loss",
        "train/d_real",
        "train/d_fake",
        "train/grad_norm_d",
        "train/grad_norm_g",
        "train/lr_d",
        "train/lr_g",
        "train/kimg",
        "train/kimg_per_s",
        "val/modes",
        "val/hq",
        "val/kl",
        "doctor/coverage",
        "doctor/d_auc",
    ]
    for key in scalars:
        assert key in keys, f"{key} not in the W&B history; logged: {sorted(keys)}"
    assert float(keys["train/lr_d"]) == config["model"]["d_optimizer"]["lr"]
    assert float(keys["train/kimg_per_s"]) > 0
    for key in ("train/d_real_logits", "train/d_fake_logits"):
        assert json.loads(keys[f"{key}/_type"]) == "histogram", f"{key} is no histogram"
    assert json.loads(keys["samples/_type"]) in ("image-file", "images/separated")
    assert list(run.glob("wandb/offline-run-*/files/media/images/samples_*.png"))

    # the same data in the CSV log: histograms as quantiles
    with open(run / "csv" / "metrics.csv") as f:
        columns = set(csv.DictReader(f).fieldnames or ())
    for key in ("train/lr_g", "train/kimg_per_s", "train/d_fake_logits_q50", "val/modes"):
        assert key in columns, f"{key} not in the CSV log; got {sorted(columns)}"
