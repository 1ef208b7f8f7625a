"""Draw samples from a trained checkpoint.

python -m ganlab.sample ckpt=<run>/checkpoints/last.ckpt num_samples=64 out=grid.png
python -m ganlab.sample ckpt=... num_samples=1000 out=samples.pt   # raw tensor in [-1, 1]
python -m ganlab.sample ckpt=... labels=[0,1,2]      # conditional G: a row of per_class each
python -m ganlab.sample ckpt=... class_grid=true     # conditional G: a row per class
python -m ganlab.sample ckpt=... traverse=c2         # InfoGAN: vary code c2 along each row
"""

from __future__ import annotations

from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig
from torch import Tensor

from ganlab.config import config_dir, register_resolvers
from ganlab.generator import TrainedGenerator, load_generator
from ganlab.plotting import save_samples

register_resolvers()


class SampleError(ValueError):
    """The sampling request does not fit the checkpoint; the message says what does."""


def requested_labels(generator: TrainedGenerator, cfg: DictConfig) -> list[int] | None:
    """The classes asked for by ``labels=[...]`` or ``class_grid=true`` (None: neither)."""
    if cfg.labels is None and not cfg.class_grid:
        return None
    if not generator.num_classes:
        raise SampleError(
            "labels/class_grid need a class-conditional generator (model=cgan, acgan, cgan_pd); "
            "this checkpoint's generator is unconditional"
        )
    labels = list(range(generator.num_classes)) if cfg.class_grid else list(cfg.labels)
    bad = [k for k in labels if not 0 <= int(k) < generator.num_classes]
    if bad:
        raise SampleError(f"labels {bad} are not classes: use 0..{generator.num_classes - 1}")
    return [int(k) for k in labels]


def traversal(generator: TrainedGenerator, code: str, steps: int, rows: int, seed: int) -> Tensor:
    """InfoGAN latent traversal: a grid whose columns vary ``code`` and whose rows are the
    values of the first categorical code, all with the same noise (or ``rows`` noise draws
    when that is the code varied). A continuous code runs from -2 to 2 (beyond its training
    range [-1, 1], as in the paper); other continuous codes stay at 0."""
    network = generator.network
    names: list[str] = list(getattr(network, "code_names", []))
    if code not in names:
        raise SampleError(
            f"traverse={code} is not a latent code of this generator (its codes: "
            f"{names or 'none; train model=infogan'})"
        )
    codes = list(network.codes)  # type: ignore[arg-type]
    index = names.index(code)
    categorical = [i for i, c in enumerate(codes) if c != "uniform"]
    if codes[index] == "uniform":
        columns = torch.linspace(-2, 2, steps)
        row_code = categorical[0] if categorical else None
    else:
        columns = torch.arange(int(codes[index]))
        row_code = None
    n_rows = int(codes[row_code]) if row_code is not None else rows
    rng = torch.Generator().manual_seed(seed)
    noise, values = network.split_latent(network.sample_latent(n_rows, rng))  # type: ignore[operator]
    if row_code is not None:  # rows differ only in their category: one noise for the grid
        noise = noise[:1].expand(n_rows, -1)
    noise = noise.repeat_interleave(len(columns), dim=0)  # one noise vector per row
    grid = []
    for i, c in enumerate(codes):
        if i == index:
            grid.append(columns.repeat(n_rows))
        elif i == row_code:
            grid.append(torch.arange(n_rows).repeat_interleave(len(columns)))
        elif c == "uniform":
            grid.append(torch.zeros(len(noise)))
        else:
            grid.append(values[i].repeat_interleave(len(columns)))
    latent = network.join_latent(noise, grid)  # type: ignore[operator]
    return generator.sample(len(latent), z=latent)


def sample(cfg: DictConfig) -> Path:
    generator = load_generator(cfg.ckpt, ema=cfg.ema, device=cfg.device)
    labels = requested_labels(generator, cfg)
    nrow = cfg.nrow
    if cfg.traverse is not None:
        samples = traversal(generator, str(cfg.traverse), cfg.steps, cfg.per_class, cfg.seed)
        nrow = nrow or (cfg.steps if samples.shape[0] % cfg.steps == 0 else None)
        what = f"traversal of {cfg.traverse}"
    elif labels is not None:
        per_row = torch.tensor(labels).repeat_interleave(cfg.per_class)
        samples = generator.sample(len(per_row), seed=cfg.seed, labels=per_row)
        nrow = nrow or cfg.per_class
        what = f"{cfg.per_class} samples of each of classes {labels}"
    else:
        samples = generator.sample(cfg.num_samples, seed=cfg.seed)
        what = f"{cfg.num_samples} samples"
    samples = samples.cpu()
    out = Path(cfg.out)
    if out.suffix == ".pt":
        out.parent.mkdir(parents=True, exist_ok=True)
        torch.save(samples, out)
    else:
        save_samples(samples, out, nrow)
    weights = "EMA" if generator.ema else "raw"
    print(f"{what} ({weights} generator, {generator.kimg:.1f} kimg) -> {out}")
    return out


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="sample")
def main(cfg: DictConfig) -> None:
    sample(cfg)


if __name__ == "__main__":
    main()
