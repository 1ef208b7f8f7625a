"""Helpers for tests (importable as `helpers`: pytest puts tests/ on sys.path)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf
from torch.utils.data import DataLoader, TensorDataset

from ganlab.config import config_dir, register_resolvers
from ganlab.models import GAN

register_resolvers()
CONF = Path(config_dir())
# model presets that translate images (their G reads Batch.source) -> the offline data they
# run on; the others generate from latents and run on any data of their kind
TRANSLATION_PRESETS = {"pix2pix": "edges2digits", "cyclegan": "mnist2digits"}


def model_presets(translating: bool = False) -> list[str]:
    """The model presets (conf/model/*.yaml) that generate from latents, or that translate."""
    names = sorted(p.stem for p in (CONF / "model").glob("*.yaml"))
    return [name for name in names if (name in TRANSLATION_PRESETS) == translating]


def adam(lr: float = 1e-3) -> Callable[..., torch.optim.Optimizer]:
    return lambda params: torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999))


def point_loader(n: int = 64, batch_size: int = 16) -> DataLoader:
    x = torch.randn(n, 2, generator=torch.Generator().manual_seed(1))
    return DataLoader(TensorDataset(x, torch.zeros(n, dtype=torch.long)), batch_size=batch_size)


def quiet_trainer(**kwargs: Any) -> L.Trainer:
    kwargs.setdefault("accelerator", "cpu")
    kwargs.setdefault("logger", False)
    kwargs.setdefault("enable_checkpointing", False)
    return L.Trainer(enable_progress_bar=False, enable_model_summary=False, **kwargs)


def run_cli(
    *args: str,
    timeout: float = 300,
    cwd: str | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,  # False: a failure is expected; its output is returned
) -> str:
    """Run ``python -m <args>`` in a fresh interpreter with this process's intra-op thread
    count (results computed in both compare bit for bit); return its output, fail with it."""
    import os
    import subprocess
    import sys

    threads = str(torch.get_num_threads())
    full_env = {
        **os.environ,
        "WANDB_MODE": "offline",
        "WANDB_SILENT": "true",
        "OMP_NUM_THREADS": threads,
        **(env or {}),
    }
    result = subprocess.run(
        [sys.executable, "-m", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=full_env,
    )
    output = result.stdout + result.stderr
    if check:
        assert result.returncode == 0, f"exit {result.returncode}:\n{output[-4000:]}"
    else:
        assert result.returncode != 0, f"expected a failure, got exit 0:\n{output[-4000:]}"
    return output


def run_dir(output: str) -> str:
    """The run directory a training command printed."""
    lines = [line for line in output.splitlines() if line.startswith("run directory: ")]
    assert lines, f"no run directory printed:\n{output[-2000:]}"
    return lines[-1].removeprefix("run directory: ").strip()


def compose_train(tmp_path: Path, *overrides: str, resolve: bool = True) -> DictConfig:
    """The train config as the CLI would compose it, with the run directory in tmp_path;
    ``resolve=False``: as the start-up checks see it, interpolations not yet resolved."""
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                f"paths.output_dir={tmp_path}",
                f"paths.data_dir={tmp_path}/data",
                *overrides,
            ],
        )
    if resolve:
        OmegaConf.resolve(cfg)
    return cfg


def config_gan(**kwargs: Any) -> GAN:
    """A tiny 2-D MLP GAN built from ``_target_`` mappings, as ``ganlab.train`` builds models (so
    its checkpoint describes its networks); ``kwargs`` add or replace constructor arguments."""
    adam = {"_target_": "torch.optim.Adam", "_partial_": True, "lr": 1e-3}
    mlp = {"shape": [2], "hidden": [8]}
    generator = {"_target_": "ganlab.networks.MLPGenerator", "latent_dim": 4, **mlp}
    return GAN(
        **{
            "generator": {**generator, "output": "linear"},
            "discriminator": {"_target_": "ganlab.networks.MLPDiscriminator", **mlp},
            "g_optimizer": adam,
            "d_optimizer": adam,
            **kwargs,
        }
    )


class ConstantLatentGAN(GAN):
    """G always sees z = 0: fakes are the same in every process and batch split."""

    def sample_latent(self, n: int) -> torch.Tensor:
        return torch.zeros(n, self.latent_dim, device=self.device)


QUIET = [  # learning runs of the real configs: no logger, no progress output, deterministic
    "logger=none",
    "trainer.max_epochs=-1",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "trainer.deterministic=true",
    "seed=0",
]


def untrained_gan(cfg: DictConfig) -> GAN:
    """The configured model before any training step, initialised at the run's seed: the
    baseline a learning run must beat."""
    players = ("generator", "discriminator", "g_optimizer", "d_optimizer")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(cfg.seed))
        return GAN(**{k: cfg.model[k] for k in players}, pack=cfg.model.get("pack", 1))


def fit(tmp_path: Path, *overrides: str) -> tuple[GAN, Any]:
    """Train the composed config quietly; the trained model and its data module."""
    from ganlab.train import train

    result = train(compose_train(tmp_path, *QUIET, *overrides))
    assert isinstance(result.model, GAN)
    return result.model, result.datamodule


class PoisonBatch(L.Callback):
    """Fault injection: NaN in the real samples of one batch (D's loss and gradient go NaN)."""

    def __init__(self, epoch: int, batch: int) -> None:
        self.at = (epoch, batch)

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: Any, batch: Any, idx: int
    ) -> None:
        if (trainer.current_epoch, idx) == self.at:
            real = batch[0] if isinstance(batch, (list, tuple)) else batch
            real[0] = float("nan")


def wandb_records(path: str | Path) -> list[Any]:
    """The records of an offline W&B run's ``run-<id>.wandb`` file, as protobuf ``Record``s.

    The file is a 7-byte header (``:W&B``, a 2-byte magic, a version byte) followed by a
    LevelDB-style log: 32 KiB blocks of chunks, each a 7-byte header (CRC-32C, little-endian
    length, type: 1 full, 2 first, 3 middle, 4 last) and its bytes; a block's tail shorter
    than a chunk header is zero padding.
    """
    import struct

    from wandb.proto import wandb_internal_pb2

    data = Path(path).read_bytes()
    assert data[:4] == b":W&B", f"{path} is not a W&B run file"
    block, records, parts, pos = 32768, [], b"", 7
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # padding up to the next block
            pos += block - pos % block
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        if kind == 0 and length == 0:  # zeroed space at the end of a block
            pos += block - pos % block
            continue
        chunk, pos = data[pos + 7 : pos + 7 + length], pos + 7 + length
        parts = chunk if kind in (1, 2) else parts + chunk
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(parts)
            records.append(record)
    return records
