from __future__ import annotations

from pathlib import Path

import pytest

from ganlab import loggers


@pytest.fixture
def no_wandb_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("WANDB_MODE", "WANDB_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc
    monkeypatch.setenv("NETRC", str(tmp_path / "none"))


def test_without_a_key_wandb_logs_offline(no_wandb_env, tmp_path) -> None:
    assert loggers.wandb_mode() == "offline"
    logger = loggers.wandb_logger(save_dir=str(tmp_path), project="t")
    logger.log_metrics({"train/d_loss": 1.0}, step=0)
    logger.experiment.finish()
    assert list((tmp_path / "wandb").glob("offline-run-*"))


def test_offline_message_names_the_sync_command(no_wandb_env, tmp_path, monkeypatch) -> None:
    said: list[str] = []
    monkeypatch.setattr(loggers, "rank_zero_info", said.append)
    loggers.wandb_logger(save_dir=str(tmp_path), project="t")
    assert said and "wandb sync" in said[0] and "offline" in said[0]


def test_key_or_mode_decides(no_wandb_env, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert loggers.wandb_mode() == "online"
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert loggers.wandb_mode() == "disabled"
    monkeypatch.delenv("WANDB_API_KEY")
    (tmp_path / ".netrc").write_text(
        "machine api.wandb.ai\n  login user\n  password " + "k" * 40 + "\n"
    )
    (tmp_path / ".netrc").chmod(0o600)
    monkeypatch.setenv("NETRC", str(tmp_path / ".netrc"))
    assert loggers.wandb_has_credentials()
