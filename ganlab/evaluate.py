"""Score a trained generator, or a folder of generated images, against real images.

    python -m ganlab.evaluate ckpt=<run>/checkpoints/last.ckpt metrics=[fid,kid,is,pr,dc] \\
        num_fake=10000 data=cifar10 data.split=test
    python -m ganlab.evaluate ckpt=<ckpt> real=/path/to/real/images     # a folder as reference
    python -m ganlab.evaluate fake=/path/to/generated data=cifar10       # images made elsewhere

Without ``data=`` or ``real=`` the reference is the data the checkpoint was trained on (read
from its run's ``.hydra/config.yaml``). What the checkpoint and that run config store is built
only where every ``_target_`` in it is on ganlab's allow-list (:mod:`ganlab.stored`; the
stored data module still reads, or downloads into, the folder it names); ``trust=true`` builds
it anyway. Real-image features are cached
(``metrics.reference_cache``), so a second evaluation against the same reference only
featurizes the fakes. Prints a table and appends one JSON line per number, with how it was
measured, to ``metrics.jsonl`` in this evaluation's run directory and, for a checkpoint of a
ganlab run, in that run's directory too.
"""

from __future__ import annotations

import hashlib
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from ganlab.config import register_resolvers
from ganlab.data.base import GANDataModule
from ganlab.data.image_folder import ImageFolder, find_images
from ganlab.generator import load_generator
from ganlab.io import append_jsonl
from ganlab.metrics.evaluation import (
    Evaluator,
    MetricRecord,
    ReferenceCache,
    ReferenceKey,
    build_extractor,
    take_images,
)
from ganlab.stored import build_stored

register_resolvers()
warnings.filterwarnings("ignore", message=r".*will save all extracted features in buffer")


class EvaluationError(RuntimeError):
    """The evaluation is misconfigured; the message says how to fix it."""


def folder_shape(root: str) -> tuple[int, int, int]:
    """(3, H, W) of the first image under ``root``: folders are scored at their own size."""
    from PIL import Image

    images = find_images(Path(root).expanduser())
    if not images:
        raise EvaluationError(f"no images under {root}")
    with Image.open(images[0]) as image:
        width, height = image.size
    return 3, height, width


def folder_id(root: str) -> str:
    """Names a folder's current contents (paths, sizes, mtimes) for the reference cache."""
    path = Path(root).expanduser().resolve()
    sha = hashlib.sha256(str(path).encode())
    for image in find_images(path):
        stat = image.stat()
        sha.update(f"{image.relative_to(path)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return f"folder_{path.name}_{sha.hexdigest()[:12]}"


def _folder(root: str, shape: tuple[int, ...], cfg: DictConfig) -> ImageFolder:
    folder = ImageFolder(
        root=root, shape=shape, batch_size=cfg.batch_size, num_workers=cfg.num_workers
    )
    folder.prepare_data()
    folder.setup("validate")
    return folder


def _run_config_path(ckpt: str) -> Path:
    """Where the training config of a checkpoint's run is saved (<run>/checkpoints/x.ckpt)."""
    return Path(ckpt).resolve().parent.parent / ".hydra" / "config.yaml"


def real_source(cfg: DictConfig, shape: tuple[int, ...] | None) -> GANDataModule | None:
    """The reference images: ``real=<folder>``, ``data=<name>``, the checkpoint's data, or
    None when none is configured."""
    if cfg.get("real"):
        return _folder(cfg.real, shape or folder_shape(cfg.real), cfg)
    datamodule: GANDataModule
    if cfg.get("data") is not None:
        datamodule = instantiate(cfg.data)  # this command line's own
    elif cfg.get("ckpt") and (path := _run_config_path(cfg.ckpt)).is_file():
        run = OmegaConf.load(path)
        if not isinstance(run, DictConfig) or run.get("data") is None:
            return None
        datamodule = build_stored(run.data, path, cfg.trust)
        print(f"reference: the checkpoint's training data ({type(datamodule).__name__})")
    else:
        return None
    datamodule.prepare_data()
    datamodule.setup("validate")
    return datamodule


def evaluate(cfg: DictConfig) -> list[MetricRecord]:
    """Compute ``cfg.metrics.compute`` for the configured fakes; see the module docstring."""
    if bool(cfg.get("ckpt")) == bool(cfg.get("fake")):
        raise EvaluationError(
            "say what to score: ckpt=<checkpoint> (its generator makes num_fake images) or "
            "fake=<folder of generated images>, not both"
        )
    device = (
        cfg.device if cfg.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    )
    generator = None
    if cfg.ckpt:
        generator = load_generator(cfg.ckpt, ema=cfg.ema, device=device, trust=cfg.trust)
    provenance: dict[str, Any] = {"seed": cfg.seed, "time": datetime.now(timezone.utc).isoformat()}
    shape: tuple[int, ...] | None = generator.shape if generator is not None else None
    real = real_source(cfg, shape)

    extractor = build_extractor(cfg.metrics.feature, real.data_name if real else None).to(device)
    factories = {name: instantiate(node) for name, node in cfg.metrics.compute.items()}
    evaluator = Evaluator(extractor, factories)

    if evaluator.needs_real:
        if real is None:
            raise EvaluationError(
                "no reference images: pass data=<dataset> (e.g. data=cifar10 data.split=test) "
                "or real=<folder of images>"
            )
        shape = shape or real.shape
        total = len(real.dataset())  # type: ignore[arg-type]
        n_real = total if cfg.num_real is None else min(int(cfg.num_real), total)
        name = folder_id(cfg.real) if cfg.get("real") else real.data_name
        key = ReferenceKey(
            name, real.split, tuple(real.shape), extractor.name, extractor.weights_hash, n_real
        )
        cache = ReferenceCache(cfg.metrics.reference_cache) if cfg.metrics.reference_cache else None
        loader = take_images(real.eval_dataloader(cfg.batch_size), n_real)
        features, hit = evaluator.real_features(loader, key, cache)
        evaluator.set_real(features)
        print(
            f"reference: {n_real:,} images of {name} ({real.split})" + (" [cached]" if hit else "")
        )
        provenance |= {"dataset": name, "split": real.split, "resolution": list(real.shape)}

    if generator is not None:
        fakes: Any = generator.batches(int(cfg.num_fake), cfg.batch_size, cfg.seed)
        provenance |= {
            "checkpoint": str(Path(cfg.ckpt).resolve()),
            "kimg": round(generator.kimg, 3),
            "ema": generator.ema,
        }
    else:
        folder = _folder(cfg.fake, shape or folder_shape(cfg.fake), cfg)
        fakes = take_images(folder.eval_dataloader(cfg.batch_size), cfg.num_fake)
        provenance |= {"fake": str(Path(cfg.fake).resolve())}

    records = evaluator.score(fakes, provenance)
    _report(records, cfg)
    return records


def _report(records: list[MetricRecord], cfg: DictConfig) -> None:
    width = max(len(r.metric) for r in records)
    first = records[0]
    print(
        f"{first.provenance['feature_extractor']} features ({first.provenance['weights_hash']}), "
        f"{first.n_fake:,} fakes vs {first.n_real or 0:,} reals"
    )
    for r in records:
        extra = "  ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.details.items()
        )
        print(f"  {r.metric:<{width}}  {r.value:10.4f}  {extra}")
    lines = [r.to_json() for r in records]
    out = Path(cfg.paths.output_dir) / "metrics.jsonl"
    append_jsonl(out, lines)
    targets = [out]
    if cfg.get("ckpt") and _run_config_path(cfg.ckpt).is_file():
        run_log = Path(cfg.ckpt).resolve().parent.parent / "metrics.jsonl"
        if run_log != out.resolve():
            append_jsonl(run_log, lines)
            targets.append(run_log)
    print("appended to " + ", ".join(str(t) for t in targets))
    print(f"run directory: {cfg.paths.output_dir}")


if __name__ == "__main__":  # python -m ganlab.evaluate runs ganlab.cli.evaluate
    import importlib  # not a plain import: ganlab.cli.evaluate imports this module

    importlib.import_module("ganlab.cli.evaluate").main()
