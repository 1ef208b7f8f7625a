"""Export a trained generator as one self-contained file that runs without ganlab.

python -m ganlab.export ckpt=<run>/checkpoints/last.ckpt out=generator.pt   # TorchScript
python -m ganlab.export ckpt=... format=onnx out=generator.onnx             # pip install ganlab[export]
python -m ganlab.export ckpt=... ema=false                                  # the raw weights

The checkpoint's stored generator config is built only if it names nothing outside ganlab's
allow-list (:mod:`ganlab.stored`; ``trust=true`` builds it anyway, for a file you trust).

The file holds the generator's whole forward pass (label embedding or conditional BatchNorm,
output activation, reshape) in eval mode, with the BatchNorm running statistics of the weights
exported (the EMA copy by default). Its inputs:

- ``z``: ``(batch, latent_dim)`` float32 noise from the training prior (standard normal, or
  uniform on [-1, 1] where the generator was trained so: ``latent`` in the metadata says which);
  the batch size is free.
  InfoGAN generators take their codes inside ``z``, after the noise, as during training: each
  categorical code one-hot (k columns), each continuous code one column uniform on [-1, 1]
  (``latent`` in the metadata lists the columns);
- ``labels`` (class-conditional generators only): ``(batch,)`` int64 classes in
  ``[0, num_classes)``.

The output is ``(batch, *shape)``: images in [-1, 1], or unbounded vectors for 2-D data.

A translator's checkpoint (``model=pix2pix``, ``model=cyclegan``: ``direction=BtoA`` exports
its other generator) exports its generator with one input,
``source``: ``(batch, *source_shape)`` float32 images in [-1, 1]. The export runs in eval mode
(BatchNorm's running statistics, no dropout): an output depends on its input alone. A model
trained with the paper's test-time mode (``model.inference=train``: dropout on, each batch's
statistics) is translated that way by ``ganlab.translate``, not by the exported file; the
metadata's ``test_time`` and ``trained_test_time`` say so.

The metadata (:func:`export_metadata`) is stored as JSON: in a TorchScript file as the extra
file ``ganlab.json`` and the module attribute ``metadata`` (with ``latent_dim``,
``num_classes`` and ``shape`` also as attributes); in an ONNX file as the ``ganlab`` entry of
the model's ``metadata_props``.
"""

from __future__ import annotations

import io
import json
import warnings
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig
from torch import Tensor, nn

import ganlab
from ganlab.config import register_resolvers
from ganlab.generator import TrainedGenerator, Translator, load_trained
from ganlab.io import atomic_write_bytes
from ganlab.networks.base import Generator
from ganlab.sampling import draw_inputs

register_resolvers()

FORMATS = {"torchscript": ".pt", "onnx": ".onnx"}
METADATA_FILE = "ganlab.json"  # TorchScript extra file
METADATA_KEY = "ganlab"  # ONNX metadata_props entry
TOLERANCE = 1e-4  # largest difference to the checkpoint's generator an export may show


class ExportError(ValueError):
    """The export cannot be made as asked; the message says why and what to do."""


def latent_layout(network: nn.Module) -> list[dict[str, Any]]:
    """The columns of ``z``, in order: the noise, then each InfoGAN code.

    >>> g = Generator()
    >>> g._init_inputs(3, (2,), 0, "concat", None, codes=[4, "uniform"])
    >>> [(part["name"], part["width"], part["prior"]) for part in latent_layout(g)]
    [('noise', 3, 'normal'), ('c1', 4, 'one-hot of 4 categories'), ('c2', 1, 'uniform [-1, 1]')]
    """
    if not isinstance(network, Generator):
        return [{"name": "noise", "width": int(network.latent_dim), "prior": "normal"}]  # type: ignore[arg-type]
    uniform = "uniform [-1, 1]"
    noise = uniform if network.noise == "uniform" else "normal"
    layout: list[dict[str, Any]] = [{"name": "noise", "width": network.noise_dim, "prior": noise}]
    for name, code in zip(network.code_names, network.codes, strict=True):
        if code == "uniform":
            layout.append({"name": name, "width": 1, "prior": uniform})
        else:
            layout.append(
                {"name": name, "width": int(code), "prior": f"one-hot of {code} categories"}
            )
    return layout


def output_range(network: nn.Module) -> str:
    """``"[-1, 1]"`` for a generator that ends in tanh (images), else ``"unbounded"``."""
    last = list(network.modules())[-1]
    return "[-1, 1]" if isinstance(last, nn.Tanh) else "unbounded"


def export_metadata(generator: TrainedGenerator | Translator, ckpt: str | Path) -> dict[str, Any]:
    """What a user of the exported file needs to know, JSON-serializable."""
    network = generator.network
    if isinstance(generator, Translator):
        inputs: dict[str, Any] = {
            "inputs": ["source"],
            "source_shape": list(generator.source_shape),
            "direction": generator.direction,  # between the training data's domains
            "test_time": "eval",  # what the file runs
            "trained_test_time": generator.inference,  # what ganlab.translate runs
        }
    else:
        inputs = {
            "inputs": ["z", "labels"] if generator.num_classes else ["z"],
            "latent_dim": generator.latent_dim,
            "latent": latent_layout(network),
            "num_classes": generator.num_classes,
        }
    return {
        **inputs,
        "shape": list(generator.shape),
        "output_range": output_range(network),
        "kimg": round(generator.kimg, 3),
        "ema": generator.ema,
        "generator": type(network).__name__,
        "ganlab_version": ganlab.__version__,
        "checkpoint": str(Path(ckpt).resolve()),
    }


class _Exported(nn.Module):
    """The traced generator with its metadata as attributes (kept by ``torch.jit.script``)."""

    def __init__(self, traced: nn.Module, metadata: dict[str, Any]) -> None:
        super().__init__()
        self.generator = traced
        self.shape = [int(s) for s in metadata["shape"]]
        self.metadata = json.dumps(metadata)


class _Latent(_Exported):
    """A generator of latents (and labels): their widths as attributes, and checked."""

    def __init__(self, traced: nn.Module, metadata: dict[str, Any]) -> None:
        super().__init__(traced, metadata)
        self.latent_dim = int(metadata["latent_dim"])
        self.num_classes = int(metadata["num_classes"])

    def check_z(self, z: Tensor) -> None:
        if z.dim() != 2 or z.size(1) != self.latent_dim:
            raise ValueError(
                "z must have shape (batch, " + str(self.latent_dim) + "), got " + str(z.shape)
            )


class _Unconditional(_Latent):
    def forward(self, z: Tensor) -> Tensor:
        self.check_z(z)
        return self.generator(z)


class _Conditional(_Latent):
    def forward(self, z: Tensor, labels: Tensor) -> Tensor:
        self.check_z(z)
        if labels.dim() != 1 or labels.size(0) != z.size(0):
            raise ValueError("labels must have shape (batch,), got " + str(labels.shape))
        if labels.numel() > 0 and (int(labels.min()) < 0 or int(labels.max()) >= self.num_classes):
            raise ValueError("labels must lie in [0, " + str(self.num_classes) + ")")
        return self.generator(z, labels.long())


class _Translation(_Exported):
    """A translator: source images in, their shape as an attribute, and checked."""

    def __init__(self, traced: nn.Module, metadata: dict[str, Any]) -> None:
        super().__init__(traced, metadata)
        self.source_shape = [int(s) for s in metadata["source_shape"]]

    def forward(self, source: Tensor) -> Tensor:
        if source.dim() != 4 or list(source.shape[1:]) != self.source_shape:
            raise ValueError(
                "source must have shape (batch, "
                + ", ".join([str(s) for s in self.source_shape])
                + "), got "
                + str(source.shape)
            )
        return self.generator(source)


def example_inputs(
    generator: TrainedGenerator | Translator, n: int, seed: int
) -> tuple[Tensor, ...]:
    """``n`` latents (and labels for a conditional generator) from the training prior; for a
    translator, ``n`` seeded source images (uniform in [-1, 1])."""
    if isinstance(generator, Translator):
        rng = torch.Generator().manual_seed(seed)
        return (torch.rand(n, *generator.source_shape, generator=rng) * 2 - 1,)
    latent, labels = draw_inputs(generator.network, n, seed)
    return (latent,) if labels is None else (latent, labels)


def _wrapper(generator: TrainedGenerator | Translator) -> type[_Exported]:
    if isinstance(generator, Translator):
        return _Translation
    return _Conditional if generator.num_classes else _Unconditional


def torchscript_bytes(generator: TrainedGenerator | Translator, metadata: dict[str, Any]) -> bytes:
    """The generator traced (batch size free), wrapped with its metadata, as a TorchScript file."""
    network = generator.network
    with warnings.catch_warnings(), torch.no_grad():
        # torch.jit is deprecated upstream (still supported); the shape asserts of the ganlab
        # networks become constants of the trace, which ``check_inputs`` verifies on a new batch
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(
            network,
            example_inputs(generator, 3, seed=0),
            check_inputs=[example_inputs(generator, 5, seed=1)],
        )
        wrapper = _wrapper(generator)(traced, metadata)
        module = torch.jit.script(wrapper.eval())
        buffer = io.BytesIO()
        torch.jit.save(module, buffer, _extra_files={METADATA_FILE: json.dumps(metadata)})
    return buffer.getvalue()


def onnx_bytes(generator: TrainedGenerator | Translator, metadata: dict[str, Any]) -> bytes:
    """The generator as an ONNX model (dynamo exporter; batch dimension ``batch``)."""
    missing = [name for name in ("onnx", "onnxscript") if find_spec(name) is None]
    if missing:
        raise ExportError(
            f"format=onnx needs the {' and '.join(missing)} package(s): "
            "pip install 'ganlab[export]' (or pip install onnx onnxscript onnxruntime)"
        )
    import onnx

    example = example_inputs(generator, 3, seed=0)
    names = list(metadata["inputs"])
    batch = torch.export.Dim("batch")
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            generator.network,
            example,
            input_names=names,
            output_names=["samples"],
            dynamic_shapes=tuple({0: batch} for _ in example),
            dynamo=True,
            verbose=False,
        )
    assert program is not None
    proto = program.model_proto
    onnx.helper.set_model_props(proto, {METADATA_KEY: json.dumps(metadata)})
    proto.doc_string = (
        f"ganlab {metadata['generator']} ({'EMA' if metadata['ema'] else 'raw'} weights, "
        f"{metadata['kimg']} kimg); inputs {', '.join(names)}; output (batch, "
        f"{', '.join(map(str, metadata['shape']))}) in {metadata['output_range']}"
    )
    return proto.SerializeToString()


def run_export(data: bytes, fmt: str, inputs: tuple[Tensor, ...]) -> Tensor | None:
    """The exported file's output on ``inputs`` (None: ONNX without onnxruntime installed)."""
    if fmt == "torchscript":
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            return torch.jit.load(io.BytesIO(data))(*inputs)
    if find_spec("onnxruntime") is None:
        return None
    import onnxruntime

    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    feed = {name: x.numpy() for name, x in zip(names, inputs, strict=True)}
    return torch.from_numpy(session.run(None, feed)[0])


def export(cfg: DictConfig) -> Path:
    """Write the checkpoint's generator as ``cfg.format`` to ``cfg.out``; the path written."""
    fmt = str(cfg.format).lower()
    if fmt not in FORMATS:
        raise ExportError(f"format={cfg.format} is not supported: use one of {sorted(FORMATS)}")
    generator = load_trained(
        cfg.ckpt, ema=cfg.ema, device="cpu", trust=cfg.trust, direction=cfg.get("direction")
    )
    generator.network.eval()  # a translator's is as loaded; the file runs eval mode
    metadata = export_metadata(generator, cfg.ckpt)
    data = (torchscript_bytes if fmt == "torchscript" else onnx_bytes)(generator, metadata)

    check = example_inputs(generator, 7, seed=2)  # a batch size the export was not traced at
    exported = run_export(data, fmt, check)
    if exported is None:
        verified = "not checked: onnxruntime is not installed"
    else:
        with torch.no_grad():
            expected = generator.network(*check)
        error = float((exported - expected).abs().max())
        if exported.shape != expected.shape or not error <= TOLERANCE:
            raise ExportError(
                f"the {fmt} export does not reproduce the generator (max difference {error:.2e}, "
                f"shape {tuple(exported.shape)} vs {tuple(expected.shape)})"
            )
        verified = f"max difference to the checkpoint's generator {error:.1e}"
    if isinstance(generator, Translator) and generator.inference != "eval":
        verified += (
            f"; the file runs eval mode, the model's test time is {generator.inference} "
            "(ganlab.translate runs that)"
        )

    out = Path(cfg.out) if cfg.out else Path(f"generator{FORMATS[fmt]}")
    atomic_write_bytes(out, data)
    weights = "EMA" if generator.ema else "raw"
    inputs = ", ".join(metadata["inputs"])
    print(
        f"{fmt} {metadata['generator']} ({weights} weights, {generator.kimg:.1f} kimg), "
        f"forward({inputs}) -> (batch, {', '.join(map(str, generator.shape))}); {verified} -> {out}"
    )
    return out


if __name__ == "__main__":  # python -m ganlab.export runs ganlab.cli.export
    import importlib  # not a plain import: ganlab.cli.export imports this module

    importlib.import_module("ganlab.cli.export").main()
