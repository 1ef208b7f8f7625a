"""The sweep report: config differences, final metrics, status, files written."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from ganlab.cli.report import main


def _run(
    root: Path, job: int, overrides: list[str], kl: list[float] | None, kimg: int | None
) -> None:
    run = root / str(job)
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    if kl is not None:
        lines = [
            {"metric": "val/kl", "value": v, "kimg": 100.0 * (i + 1)} for i, v in enumerate(kl)
        ]
        (run / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    if kimg is not None:
        (run / "checkpoints").mkdir()
        torch.save(
            {"state_dict": {}, "ganlab": {"images_seen": kimg * 1000}},
            run / "checkpoints" / "last.ckpt",
        )


def test_report_tabulates_differences_and_final_metrics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(tmp_path, 0, ["model=gan", "data=grid25", "seed=0"], [0.9, 0.7], 200)
    _run(tmp_path, 1, ["model=wgan_gp", "data=grid25", "seed=0"], [0.5, 0.1], 200)
    _run(tmp_path, 2, ["model=sngan", "data=grid25", "seed=0"], None, None)  # died early
    main([str(tmp_path), "--sort", "val/kl"])
    out = capsys.readouterr().out
    assert "shared: data=grid25 seed=0" in out
    assert "| run | model | val/kl | kimg | status |" in out
    lines = [line for line in out.splitlines() if line.startswith("| ")]
    assert lines[1:] == [
        "| 1 | wgan_gp | 0.1 | 200 | finished |",
        "| 0 | gan | 0.7 | 200 | finished |",
        "| 2 | sngan |  |  | no checkpoint |",
    ]
    with open(tmp_path / "report.csv") as f:
        assert next(csv.reader(f)) == ["run", "model", "val/kl", "kimg", "status"]
    assert (tmp_path / "report.md").is_file() and (tmp_path / "report.png").stat().st_size > 0
