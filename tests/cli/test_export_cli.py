"""`python -m ganlab.export`: self-contained TorchScript / ONNX generators that run without
ganlab, reproduce the checkpoint's generator and carry their metadata."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from helpers import CONF, fit, run_cli
from hydra import compose, initialize_config_dir

import ganlab
from ganlab import TrainedGenerator, load_generator, load_translator
from ganlab.export import ExportError, export
from ganlab.sampling import draw_inputs

SMALL_CONV = ["model.generator.base_channels=8", "model.discriminator.base_channels=8"]
MODELS = {  # tiny runs of each kind of generator
    "mlp": [  # 2-D data: linear output
        "model=gan",
        "data=ring8",
        "model.generator.hidden=[32]",
        "model.discriminator.hidden=[32]",
    ],
    "dcgan": ["model=dcgan", "data=digits", *SMALL_CONV],
    "cgan": ["model=cgan", "data=digits", *SMALL_CONV],  # a label embedding joins z
    "resnet_cbn": [  # SNGAN ResNet with conditional BatchNorm
        "model=cgan",
        "model/arch=resnet",
        "data=digits",
        "data.shape=[1,16,16]",
        "model.generator.channels=8",
        "model.discriminator.channels=8",
    ],
    "infogan": ["model=infogan", "data=digits", *SMALL_CONV],  # codes inside z
}
BATCH = 7  # neither the batch size traced (3) nor the one checked at export (5)
# float32 round-off between processes and batch sizes (conv kernels pick other algorithms):
# TorchScript runs ganlab's own ops (seen: 0 to 1.5e-6, ResNet), ONNX Runtime its own (1e-6)
TS_ATOL, ONNX_ATOL = 5e-6, 1e-5
# TorchScript is deprecated upstream (torch.jit.load warns) but still the one format plain torch
# loads without the model's code
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")
HAS_ONNX = all(find_spec(p) is not None for p in ("onnx", "onnxscript", "onnxruntime"))

# A fresh interpreter that cannot import ganlab: -I (no PYTHON* variables, no script directory
# or cwd on sys.path), -S (no site-packages, so no editable-install hook), then only the
# directory that holds torch / onnxruntime, with ganlab blocked (importing it raises).
ISOLATED = """
import json, sys
sys.modules["ganlab"] = None
sys.path.append({site!r})
"""

TORCHSCRIPT_CHILD = """
import torch
extra = {"ganlab.json": ""}
G = torch.jit.load(sys.argv[1], _extra_files=extra)
inputs = torch.load("inputs.pt")
with torch.no_grad():
    torch.save({"out": G(*inputs), "single": G(*(x[:1] for x in inputs))}, "out.pt")
assert not [m for m, module in sys.modules.items() if m.startswith("ganlab") and module]
print(json.dumps({
    "extra": json.loads(extra["ganlab.json"]),
    "metadata": json.loads(G.metadata),
    "attributes": [G.latent_dim, G.num_classes, list(G.shape)],
    "training": any(m.training for m in G.modules()),
}))
"""

ONNX_CHILD = """
import numpy as np
import onnxruntime
session = onnxruntime.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
data = np.load("inputs.npz")
feed = {i.name: data[i.name] for i in session.get_inputs()}
out = session.run(["samples"], feed)[0]
single = session.run(["samples"], {k: v[:1] for k, v in feed.items()})[0]
np.savez("out.npz", out=out, single=single)
assert "torch" not in sys.modules and sys.modules["ganlab"] is None
print(json.dumps({
    "metadata": json.loads(session.get_modelmeta().custom_metadata_map["ganlab"]),
    "inputs": [[i.name, i.shape, i.type] for i in session.get_inputs()],
    "output": session.get_outputs()[0].shape,
}))
"""


def run_isolated(code: str, path: Path) -> dict[str, Any]:
    """Run ``code`` on the exported ``path`` in an interpreter without ganlab, in the file's
    folder; it prints a JSON report."""
    site = str(Path(torch.__file__).resolve().parents[1])
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", ISOLATED.format(site=site) + code, str(path)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=path.parent,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def export_cfg(ckpt: Path, *overrides: str) -> Any:
    """The config ``python -m ganlab.export ckpt=<ckpt> <overrides>`` runs with."""
    with initialize_config_dir(str(CONF), version_base="1.3"):
        return compose("export", overrides=[f"ckpt={ckpt}", *overrides])


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """The last.ckpt of a tiny run of MODELS[name], trained on first use."""
    root = tmp_path_factory.mktemp("export_cli")
    trained: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in trained:
            deterministic = torch.are_deterministic_algorithms_enabled()
            fit(root / name, *MODELS[name], "max_kimg=0.2")
            torch.use_deterministic_algorithms(deterministic)  # trainer.deterministic set it
            trained[name] = root / name / "checkpoints" / "last.ckpt"
        return trained[name]

    return get


def reference(
    ckpt: Path, ema: bool = True
) -> tuple[tuple[torch.Tensor, ...], torch.Tensor, TrainedGenerator]:
    """Inputs of BATCH samples and the checkpoint generator's outputs (ganlab's own network)."""
    generator = load_generator(ckpt, ema=ema)
    latent, labels = draw_inputs(generator.network, BATCH, seed=9)
    inputs = (latent,) if labels is None else (latent, labels)
    with torch.no_grad():
        return inputs, generator.network(*inputs), generator


def check_metadata(
    name: str, metadata: dict[str, Any], ckpt: Path, generator: TrainedGenerator
) -> None:
    assert metadata["latent_dim"] == generator.latent_dim
    assert metadata["num_classes"] == generator.num_classes
    assert metadata["shape"] == list(generator.shape)
    assert metadata["inputs"] == (["z", "labels"] if generator.num_classes else ["z"])
    assert metadata["output_range"] == ("unbounded" if name == "mlp" else "[-1, 1]")
    assert metadata["ema"] is True and metadata["kimg"] == round(generator.kimg, 3) > 0
    assert metadata["ganlab_version"] == ganlab.__version__
    assert metadata["checkpoint"] == str(ckpt.resolve())
    latent = [(part["name"], part["width"]) for part in metadata["latent"]]
    if name == "infogan":  # 62 uniform noise dimensions, a 10-way one-hot code, 2 continuous
        assert latent == [("noise", 62), ("c1", 10), ("c2", 1), ("c3", 1)]
        assert metadata["latent"][0]["prior"] == "uniform [-1, 1]"
    else:
        assert latent == [("noise", generator.latent_dim)]


@pytest.mark.parametrize("name", list(MODELS))
def test_torchscript_export_runs_without_ganlab(name: str, checkpoint, tmp_path: Path) -> None:
    ckpt = checkpoint(name)
    out = export(export_cfg(ckpt, "format=torchscript", f"out={tmp_path}/{name}.pt"))
    inputs, outputs, generator = reference(ckpt)
    torch.save(inputs, tmp_path / "inputs.pt")

    report = run_isolated(TORCHSCRIPT_CHILD, out)
    assert report["extra"] == report["metadata"]
    check_metadata(name, report["metadata"], ckpt, generator)
    shape = list(generator.shape)
    assert report["attributes"] == [generator.latent_dim, generator.num_classes, shape]
    assert not report["training"]
    result = torch.load(tmp_path / "out.pt")
    assert result["out"].shape == (BATCH, *generator.shape)
    torch.testing.assert_close(result["out"], outputs, rtol=0, atol=TS_ATOL)
    # eval mode: a sample does not depend on the rest of its batch (BatchNorm running stats)
    torch.testing.assert_close(result["single"], outputs[:1], rtol=0, atol=TS_ATOL)


@pytest.mark.skipif(not HAS_ONNX, reason="needs onnx, onnxscript, onnxruntime: ganlab[export]")
@pytest.mark.parametrize("name", list(MODELS))
def test_onnx_export_runs_in_onnxruntime_without_torch(
    name: str, checkpoint, tmp_path: Path
) -> None:
    ckpt = checkpoint(name)
    out = export(export_cfg(ckpt, "format=onnx", f"out={tmp_path}/{name}.onnx"))
    inputs, outputs, generator = reference(ckpt)
    names = ["z", "labels"][: len(inputs)]
    arrays = {n: x.numpy() for n, x in zip(names, inputs, strict=True)}
    np.savez(tmp_path / "inputs.npz", **arrays)

    report = run_isolated(ONNX_CHILD, out)
    check_metadata(name, report["metadata"], ckpt, generator)
    wanted = [["z", ["batch", generator.latent_dim], "tensor(float)"]]
    if generator.num_classes:
        wanted.append(["labels", ["batch"], "tensor(int64)"])
    assert report["inputs"] == wanted and report["output"] == ["batch", *generator.shape]
    result = np.load(tmp_path / "out.npz")
    torch.testing.assert_close(torch.from_numpy(result["out"]), outputs, rtol=0, atol=ONNX_ATOL)
    single = torch.from_numpy(result["single"])
    torch.testing.assert_close(single, outputs[:1], rtol=0, atol=ONNX_ATOL)


def test_raw_weights_with_ema_false(checkpoint, tmp_path: Path) -> None:
    ckpt = checkpoint("cgan")
    raw = export(export_cfg(ckpt, "ema=false", f"out={tmp_path}/raw.pt"))
    ema = export(export_cfg(ckpt, f"out={tmp_path}/ema.pt"))
    inputs, outputs, _ = reference(ckpt, ema=False)
    extra = {"ganlab.json": ""}
    G = torch.jit.load(raw, _extra_files=extra)
    assert json.loads(extra["ganlab.json"])["ema"] is False
    with torch.no_grad():
        torch.testing.assert_close(G(*inputs), outputs, rtol=0, atol=TS_ATOL)
        assert not torch.equal(torch.jit.load(ema)(*inputs), outputs)  # the EMA weights differ
        # the exported module checks its inputs
        with pytest.raises(torch.jit.Error, match=r"labels must lie in \[0, 10\)"):
            G(inputs[0], torch.full((BATCH,), 10))
        with pytest.raises(torch.jit.Error, match=r"z must have shape \(batch, 100\)"):
            G(inputs[0][:, :5], inputs[1])


def test_cli_writes_the_file_atomically(checkpoint, tmp_path: Path) -> None:
    ckpt = checkpoint("dcgan")
    out = run_cli("ganlab.export", f"ckpt={ckpt}", cwd=str(tmp_path))  # default out, format
    assert "torchscript DCGANGenerator (EMA weights" in out and "forward(z)" in out
    assert [p.name for p in tmp_path.iterdir()] == ["generator.pt"]  # no temporary file left
    inputs, outputs, _ = reference(ckpt)
    with torch.no_grad():
        exported = torch.jit.load(tmp_path / "generator.pt")(*inputs)
    torch.testing.assert_close(exported, outputs, rtol=0, atol=TS_ATOL)


def test_a_bad_checkpoint_is_one_clear_line(tmp_path: Path) -> None:
    out = run_cli("ganlab.export", f"ckpt={tmp_path}/nope.ckpt", check=False)
    assert out.strip() == (
        f"CheckpointError: checkpoint {tmp_path}/nope.ckpt does not exist; pass a checkpoint "
        "file such as <run dir>/checkpoints/last.ckpt"
    )


def test_an_unknown_format_is_one_clear_line(checkpoint) -> None:
    out = run_cli("ganlab.export", f"ckpt={checkpoint('mlp')}", "format=tflite", check=False)
    assert out.strip() == (
        "ExportError: format=tflite is not supported: use one of ['onnx', 'torchscript']"
    )


def test_missing_onnx_packages_are_named(checkpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    import ganlab.export as module

    monkeypatch.setattr(module, "find_spec", lambda name: None)
    message = r"onnx and onnxscript package\(s\): pip install 'ganlab\[export\]'"
    with pytest.raises(ExportError, match=message):
        export(export_cfg(checkpoint("mlp"), "format=onnx"))


TRANSLATOR_CHILD = """
import torch
G = torch.jit.load(sys.argv[1])
source = torch.load("inputs.pt")
with torch.no_grad():
    torch.save({"out": G(source), "single": G(source[:1])}, "out.pt")
try:
    G(source[:, :, :8])
    refused = ""
except Exception as error:
    refused = str(error)
print(json.dumps({"metadata": json.loads(G.metadata), "source_shape": list(G.source_shape),
                  "refused": "source must have shape (batch, 1, 32, 32)" in refused}))
"""


@pytest.mark.parametrize("fmt", ["torchscript", "onnx"])
def test_a_translator_exports_in_eval_mode(fmt: str, tmp_path: Path) -> None:
    """Pix2Pix's U-Net: source images in; the file runs eval mode (BatchNorm's running
    statistics, no dropout), so each output depends on its input alone."""
    if fmt == "onnx" and not HAS_ONNX:
        pytest.skip("needs onnx, onnxscript, onnxruntime: ganlab[export]")
    deterministic = torch.are_deterministic_algorithms_enabled()
    fit(tmp_path / "run", "model=pix2pix", "data=edges2digits", *SMALL_CONV, "max_kimg=0.2")
    torch.use_deterministic_algorithms(deterministic)
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    suffix = ".pt" if fmt == "torchscript" else ".onnx"
    out = export(export_cfg(ckpt, f"format={fmt}", f"out={tmp_path}/g{suffix}"))
    translator = load_translator(ckpt)
    source = torch.rand(BATCH, 1, 32, 32, generator=torch.Generator().manual_seed(3)) * 2 - 1
    with torch.no_grad():
        expected = translator.network.eval()(source)
    if fmt == "torchscript":
        torch.save(source, tmp_path / "inputs.pt")
        report = run_isolated(TRANSLATOR_CHILD, out)
        result = torch.load(tmp_path / "out.pt")
        assert report["source_shape"] == [1, 32, 32] and report["refused"]
        outputs, single, atol = result["out"], result["single"], TS_ATOL
    else:
        np.savez(tmp_path / "inputs.npz", source=source.numpy())
        report = run_isolated(ONNX_CHILD, out)
        assert report["inputs"] == [["source", ["batch", 1, 32, 32], "tensor(float)"]]
        result = np.load(tmp_path / "out.npz")
        outputs, single = torch.from_numpy(result["out"]), torch.from_numpy(result["single"])
        atol = ONNX_ATOL
    metadata = report["metadata"]
    assert metadata["inputs"] == ["source"] and metadata["source_shape"] == [1, 32, 32]
    assert (metadata["test_time"], metadata["trained_test_time"]) == ("eval", "train")
    assert metadata["generator"] == "UNetGenerator" and metadata["ema"] is False
    torch.testing.assert_close(outputs, expected, rtol=0, atol=atol)
    torch.testing.assert_close(single, expected[:1], rtol=0, atol=atol)


def test_a_cyclegan_exports_either_generator(tmp_path: Path) -> None:
    """direction picks G (the way the data went) or F; the metadata says which."""
    fit(
        tmp_path / "run",
        "model=cyclegan",
        "data=mnist2digits",
        *SMALL_CONV,
        "model.generator.n_blocks=1",
        "max_kimg=0.1",
    )
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    source = torch.rand(BATCH, 1, 32, 32, generator=torch.Generator().manual_seed(3)) * 2 - 1
    for direction in ("AtoB", "BtoA"):
        out = export(export_cfg(ckpt, f"direction={direction}", f"out={tmp_path}/{direction}.pt"))
        exported = torch.jit.load(str(out))
        assert json.loads(exported.metadata)["direction"] == direction
        with torch.no_grad():
            expected = load_translator(ckpt, direction=direction).network.eval()(source)
            torch.testing.assert_close(exported(source), expected, rtol=0, atol=TS_ATOL)
