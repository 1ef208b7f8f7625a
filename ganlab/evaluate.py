"""Score a trained generator, or a folder of generated images, against real images.

    python -m ganlab.evaluate ckpt=<run>/checkpoints/last.ckpt metrics=[fid,kid,is,pr,dc] \\
        num_fake=10000 data=cifar10 data.split=test
    python -m ganlab.evaluate ckpt=<ckpt> real=/path/to/real/images     # a folder as reference
    python -m ganlab.evaluate fake=/path/to/generated data=cifar10       # images made elsewhere

Without ``data=`` or ``real=`` the reference is the data the checkpoint was trained on (read
from its run's ``.hydra/config.yaml``).

A translator's checkpoint (Pix2Pix, CycleGAN) is scored on the held-out images of its data:
its translations of the held-out source images against the held-out target images (FID and
the other feature metrics), and, paired, ``l1``, ``psnr`` and ``ssim`` to each source's own
target or, unpaired, the cycle-reconstruction L1 of both domains (``cycle_l1_a``,
``cycle_l1_b``). ``direction=BtoA`` scores a CycleGAN's other translator:

    python -m ganlab.evaluate ckpt=<run>/checkpoints/last.ckpt metrics/feature=classifier \
        metrics.feature.path=<classifier of the target domain>.pt [direction=BtoA]

What the checkpoint and that run config store is built
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
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, cast

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import Tensor

from ganlab.config import register_resolvers
from ganlab.data.base import GANDataModule
from ganlab.data.image_folder import ImageFolder, find_images
from ganlab.generator import TrainedGenerator, Translator, load_trained
from ganlab.io import append_jsonl
from ganlab.metrics.evaluation import (
    Evaluator,
    MetricRecord,
    ReferenceCache,
    ReferenceKey,
    build_extractor,
    take_images,
)
from ganlab.metrics.translation import cycle_scores, paired_scores
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


def data_config(cfg: DictConfig) -> tuple[DictConfig, Path | None] | None:
    """This command line's ``data=``, or the data the checkpoint's run was trained on with the
    run config it was read from; None when there is neither."""
    if cfg.get("data") is not None:
        return cfg.data, None
    if cfg.get("ckpt") and (path := _run_config_path(cfg.ckpt)).is_file():
        run = OmegaConf.load(path)
        if isinstance(run, DictConfig) and run.get("data") is not None:
            return run.data, path
    return None


def build_data(node: DictConfig, stored_in: Path | None, trust: bool) -> GANDataModule:
    """The data module of ``node``, set up for evaluation; through the allow-list when the
    node was read from the file ``stored_in``."""
    if stored_in is None:
        datamodule: GANDataModule = instantiate(node)  # this command line's own
    else:
        datamodule = build_stored(node, stored_in, trust)
        print(f"reference: the checkpoint's training data ({type(datamodule).__name__})")
    datamodule.prepare_data()
    datamodule.setup("validate")
    return datamodule


def real_source(cfg: DictConfig, shape: tuple[int, ...] | None) -> GANDataModule | None:
    """The reference images: ``real=<folder>``, ``data=<name>``, the checkpoint's data, or
    None when none is configured."""
    if cfg.get("real"):
        return _folder(cfg.real, shape or folder_shape(cfg.real), cfg)
    found = data_config(cfg)
    return None if found is None else build_data(*found, cfg.trust)


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
    generator: TrainedGenerator | None = None
    if cfg.ckpt:
        trained = load_trained(cfg.ckpt, cfg.ema, device, cfg.trust, cfg.get("direction"))
        if isinstance(trained, Translator):
            return evaluate_translator(cfg, trained, device)
        generator = trained
    elif cfg.get("direction"):
        raise EvaluationError("direction= chooses a translator of ckpt=: drop it with fake=")
    provenance: dict[str, Any] = {"seed": cfg.seed, "time": datetime.now(timezone.utc).isoformat()}
    shape: tuple[int, ...] | None = generator.shape if generator is not None else None
    real = real_source(cfg, shape)

    extractor = build_extractor(cfg.metrics.feature, real.data_name if real else None).to(device)
    evaluator = Evaluator(extractor, _factories(cfg))

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
        loader = take_images(real.eval_dataloader(cfg.batch_size), n_real)
        set_reference(evaluator, loader, key, cfg, f"{n_real:,} images of {name} ({real.split})")
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


def _factories(cfg: DictConfig) -> dict[str, Any]:
    return {name: instantiate(node) for name, node in cfg.metrics.compute.items()}


def set_reference(
    evaluator: Evaluator, images: Iterable[Tensor], key: ReferenceKey, cfg: DictConfig, what: str
) -> None:
    """Give ``evaluator`` the features of the reference ``images`` (from the reference cache
    where ``key`` is there), and say ``what`` they are."""
    cache = ReferenceCache(cfg.metrics.reference_cache) if cfg.metrics.reference_cache else None
    features, hit = evaluator.real_features(images, key, cache)
    evaluator.set_real(features)
    print(f"reference: {what}" + (" [cached]" if hit else ""))


def evaluate_translator(cfg: DictConfig, translator: Translator, device: str) -> list[MetricRecord]:
    """Score ``translator`` on the held-out images of its data (see the module docstring): at
    most ``num_fake`` translated sources, against at most ``num_real`` held-out targets."""
    if cfg.get("real"):
        raise EvaluationError(
            "a translator is scored against the held-out targets of its data: drop real= "
            "(data=<data> chooses other held-out images)"
        )
    found = data_config(cfg)
    if found is None:
        raise EvaluationError(
            f"no images to translate: pass the data {cfg.ckpt} was trained on as data=<name> "
            "(its run's .hydra/config.yaml is not next to the checkpoints folder)"
        )
    node, stored_in = found
    if "direction" in node:  # the held-out (source, target) of the direction evaluated
        node = cast(DictConfig, OmegaConf.merge(node, {"direction": translator.direction}))
    datamodule = build_data(node, stored_in, cfg.trust)
    held_out = datamodule.held_out()  # type: ignore[attr-defined]
    paired = not isinstance(held_out, tuple)  # PairedTensors, or the two domains' images
    source, target = (
        (held_out.source, held_out.target) if paired else (held_out[0].images, held_out[1].images)
    )
    n_fake = min(int(cfg.num_fake), len(source))
    n_real = len(target) if cfg.num_real is None else min(int(cfg.num_real), len(target))
    output = translator(source[:n_fake], seed=cfg.seed, batch_size=cfg.batch_size)
    to_domain = translator.direction[-1]
    name = f"{datamodule.data_name}_{to_domain}"  # the target domain's held-out images

    extractor = build_extractor(cfg.metrics.feature, datamodule.data_name).to(device)
    evaluator = Evaluator(extractor, _factories(cfg))
    provenance: dict[str, Any] = {
        "seed": cfg.seed,
        "time": datetime.now(timezone.utc).isoformat(),
        "dataset": name,
        "split": "held-out",
        "resolution": list(target.shape[1:]),
        "direction": translator.direction,
        "checkpoint": str(Path(cfg.ckpt).resolve()),
        "kimg": round(translator.kimg, 3),
        "ema": translator.ema,
    }
    if evaluator.needs_real:
        key = ReferenceKey(
            name,
            "held-out",
            tuple(target.shape[1:]),
            extractor.name,
            extractor.weights_hash,
            n_real,
        )
        batches = target[:n_real].split(cfg.batch_size)
        set_reference(evaluator, batches, key, cfg, f"{n_real:,} held-out images of {name}")
    records = evaluator.score(output.split(cfg.batch_size), provenance)

    if paired:  # each translation against its own source's target
        scores = paired_scores(output, target[:n_fake])
    else:  # there and back, both ways: the other translator of the same checkpoint
        back = load_trained(
            cfg.ckpt, cfg.ema, device, cfg.trust, "AtoB" if to_domain == "A" else "BtoA"
        )
        assert isinstance(back, Translator), f"{cfg.ckpt} holds no translator back"

        def there_and_back(x: torch.Tensor, reverse: bool = False) -> torch.Tensor:
            return (back if reverse else translator)(x, seed=cfg.seed, batch_size=cfg.batch_size)

        from_domain = translator.direction[0]
        cycles = cycle_scores(there_and_back, source[:n_fake], target[:n_real])
        scores = {
            f"cycle_l1_{from_domain.lower()}": cycles["cycle_l1_a"],
            f"cycle_l1_{to_domain.lower()}": cycles["cycle_l1_b"],
        }
    records += [
        MetricRecord(metric, value, n_fake if paired else n_real, n_fake, provenance=provenance)
        for metric, value in scores.items()
    ]
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
