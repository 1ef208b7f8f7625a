"""ganlab's training step against a plain PyTorch loop doing the same work, in one process.

Same networks (same initial weights), objective, batch, optimizers, EMA update and data source;
the plain loop also reads its losses every ``log_every`` steps as ganlab's logging does. Runs
alternate (plain, ganlab, plain, ganlab, ...) so both see the same machine load; the table
shows the median steps/s of each and the ratio. Targets: ganlab/plain >= 0.90 for DCGAN 32 px
batch 64, >= 0.75 for the 2-D MLP GAN at batch 512.

    python benchmarks/train_throughput.py [--repeats 3] [--steps 150] [--threads 2] [--fresh]

The result is kept in ``benchmarks/results/train_throughput/`` with the machine and commit that
measured it; the same options reuse it unless ``--fresh``.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from runs import commit_of, machine_line, measured, measured_options
from torch import nn

from ganlab.compat import logging_step
from ganlab.data import MNIST5k, RingMixture
from ganlab.models import GAN
from ganlab.models.ema import ema_beta, ema_update
from ganlab.networks import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator

WARMUP = 10


@dataclass
class Case:
    name: str
    make_nets: Callable[[], tuple[nn.Module, nn.Module]]
    make_data: Callable[[], L.LightningDataModule]
    target: float


def adam(params: Any) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999))


def forever(loader: Any) -> Any:
    while True:
        yield from loader


def plain_loop(
    g: nn.Module, d: nn.Module, datamodule: L.LightningDataModule, steps: int, log_every: int
) -> float:
    """The textbook loop: one G pass reused by both players, non-saturating loss, EMA."""
    g_ema = copy.deepcopy(g).requires_grad_(False).eval()
    g_opt, d_opt = adam(g.parameters()), adam(d.parameters())
    seen, start = 0, 0.0
    batches = forever(datamodule.train_dataloader())
    for step in range(WARMUP + steps):
        if step == WARMUP:
            start = time.perf_counter()
        batch = next(batches)
        real = batch[0] if isinstance(batch, (list, tuple)) else batch
        fake = g(torch.randn(real.shape[0], g.latent_dim))
        d_loss = F.softplus(-d(real)).mean() + F.softplus(d(fake.detach())).mean()
        d_opt.zero_grad(set_to_none=True)
        d_loss.backward()
        d_opt.step()
        g_loss = F.softplus(-d(fake)).mean()
        g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        g_opt.step()
        ema_update(g_ema, g, ema_beta(real.shape[0], 10.0, seen, 0.05))
        seen += real.shape[0]
        if step % log_every == 0:
            _ = (d_loss.item(), g_loss.item())
    return steps / (time.perf_counter() - start)


class StepTimer(L.Callback):
    def __init__(self, steps: int) -> None:
        self.steps, self.start, self.rate = steps, 0.0, 0.0

    def on_train_batch_start(self, trainer: L.Trainer, *_: Any) -> None:
        if logging_step(trainer) == WARMUP:
            self.start = time.perf_counter()

    def on_train_batch_end(self, trainer: L.Trainer, *_: Any) -> None:
        if logging_step(trainer) == WARMUP + self.steps:
            self.rate = self.steps / (time.perf_counter() - self.start)
            trainer.should_stop = True


def ganlab_loop(
    g: nn.Module,
    d: nn.Module,
    datamodule: L.LightningDataModule,
    steps: int,
    log_every: int,
    tmp: str,
) -> float:
    model = GAN(generator=g, discriminator=d, g_optimizer=adam, d_optimizer=adam)
    timer = StepTimer(steps)
    trainer = L.Trainer(
        accelerator="cpu",
        max_epochs=-1,
        logger=L.pytorch.loggers.CSVLogger(tmp),
        log_every_n_steps=log_every,
        callbacks=[timer],
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, datamodule=datamodule)
    return timer.rate


CASES = [
    Case(
        "DCGAN 32px, batch 64, width 32",
        lambda: (DCGANGenerator(64, (1, 32, 32), 32), DCGANDiscriminator((1, 32, 32), 32)),
        lambda: MNIST5k(shape=(1, 32, 32), batch_size=64),
        0.90,
    ),
    Case(
        "2-D MLP GAN, batch 512",
        lambda: (
            MLPGenerator(16, (2,), (256, 256, 256), output="linear"),
            MLPDiscriminator((2,), (256, 256, 256)),
        ),
        lambda: RingMixture(shape=(2,), batch_size=512),
        0.75,
    ),
]


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--steps", type=int, default=150, help="timed steps per run (after warm-up)"
    )
    parser.add_argument("--log-every", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    measured_options(parser, "train_throughput")
    return parser


def options(args: argparse.Namespace) -> dict[str, int]:
    """What the measurement depends on besides the machine and the code (the cache key)."""
    return {k: getattr(args, k) for k in ("repeats", "steps", "log_every", "threads")}


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Median steps/s of the plain loop and of ganlab's step, per case, alternating runs."""
    warnings.filterwarnings("ignore")
    rows = []
    for case in CASES:
        plain, ours = [], []
        for repeat in range(args.repeats):
            torch.manual_seed(repeat)
            g, d = case.make_nets()
            dm_plain, dm_ours = case.make_data(), case.make_data()
            dm_plain.setup("fit")
            plain.append(
                plain_loop(copy.deepcopy(g), copy.deepcopy(d), dm_plain, args.steps, args.log_every)
            )
            with tempfile.TemporaryDirectory() as tmp:
                ours.append(ganlab_loop(g, d, dm_ours, args.steps, args.log_every, tmp))
        rows.append(
            {
                "case": case.name,
                "plain": statistics.median(plain),
                "ganlab": statistics.median(ours),
                "target": case.target,
            }
        )
    return {"rows": rows}


def table(record: dict[str, Any]) -> str:
    """The record as a markdown table, with where and by which commit it was measured."""
    o = record["argv"]
    lines = [
        f"{o['repeats']} repeats x {o['steps']} steps each (median), losses read every "
        f"{o['log_every']} steps",
        "",
        "| case | plain steps/s | ganlab steps/s | ganlab/plain | target |",
        "|---|---|---|---|---|",
    ]
    for row in record["rows"]:
        ratio = row["ganlab"] / row["plain"]
        verdict = "ok" if ratio >= row["target"] else "BELOW"
        lines.append(
            f"| {row['case']} | {row['plain']:.1f} | {row['ganlab']:.1f} | {ratio:.2f} "
            f"| >= {row['target']:.2f} {verdict} |"
        )
    lines += ["", f"{machine_line(record)}; commit {commit_of(record)}"]
    return "\n".join(lines)


def main() -> None:
    args = parser().parse_args()
    torch.set_num_threads(args.threads)
    record = measured(args.cache, "throughput", options(args), args.fresh, lambda: measure(args))
    result = table(record)
    print(f"\n{result}")
    if args.out:
        args.out.write_text(result + "\n")


if __name__ == "__main__":
    main()
