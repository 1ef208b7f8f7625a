"""Draw samples from a trained checkpoint.

python -m ganlab.sample ckpt=<run>/checkpoints/last.ckpt num_samples=64 out=grid.png
python -m ganlab.sample ckpt=... num_samples=1000 out=samples.pt   # raw tensor in [-1, 1]
"""

from __future__ import annotations

from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig

from ganlab.config import config_dir, register_resolvers
from ganlab.generator import load_generator
from ganlab.plotting import save_samples

register_resolvers()


def sample(cfg: DictConfig) -> Path:
    generator = load_generator(cfg.ckpt, ema=cfg.ema, device=cfg.device)
    samples = generator.sample(cfg.num_samples, seed=cfg.seed).cpu()
    out = Path(cfg.out)
    if out.suffix == ".pt":
        out.parent.mkdir(parents=True, exist_ok=True)
        torch.save(samples, out)
    else:
        save_samples(samples, out, cfg.nrow)
    weights = "EMA" if generator.ema else "raw"
    print(f"{cfg.num_samples} samples ({weights} generator, {generator.kimg:.1f} kimg) -> {out}")
    return out


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="sample")
def main(cfg: DictConfig) -> None:
    sample(cfg)


if __name__ == "__main__":
    main()
