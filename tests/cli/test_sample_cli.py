"""`python -m ganlab.sample`: class rows, traversals, interpolations, truncation, folder export.

Checkpoints are trained once per module, on first use. The command line runs in subprocesses
where what it prints matters; option sweeps call ``ganlab.sample.sample`` on the composed
config in this process (a subprocess costs seconds of imports each)."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
import torch
from helpers import run_cli, run_dir
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig
from PIL import Image, ImageSequence
from torch import Tensor, nn

import ganlab.latent_walks as walks
import ganlab.sample as sampling
from ganlab import TrainedGenerator, load_generator
from ganlab.config import config_dir
from ganlab.latent import truncate_toward
from ganlab.metrics.features import to_uint8
from ganlab.plotting import image_grid, load_png
from ganlab.sampling import tracks_average

TINY = [
    "data=digits",
    "logger=none",
    "max_kimg=0.5",
    "callbacks.evaluation.every_kimg=0",
    "model.generator.hidden=[32]",
    "model.discriminator.hidden=[32]",
]
RUNS = {
    "cgan": ["model=cgan", "model/arch=mlp", *TINY],
    "infogan": ["model=infogan", "model/arch=mlp", *TINY],
    "ring8": ["model=gan", "data=ring8", "debug=fast"],
}


class Checkpoints:
    """``checkpoints[name]``: the last.ckpt of a tiny run of ``RUNS[name]``, trained on first use."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.found: dict[str, Path] = {}

    def __getitem__(self, name: str) -> Path:
        if name not in self.found:
            out = run_cli("ganlab.train", *RUNS[name], f"paths.root_dir={self.root / name}")
            self.found[name] = Path(run_dir(out)) / "checkpoints" / "last.ckpt"
        return self.found[name]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> Checkpoints:
    return Checkpoints(tmp_path_factory.mktemp("sample_cli"))


def config(*overrides: str) -> DictConfig:
    """The config ``python -m ganlab.sample <overrides>`` runs with."""
    with initialize_config_dir(config_dir(), version_base="1.3"):
        return compose("sample", overrides=list(overrides))


def run_here(*overrides: str) -> Path:
    """``python -m ganlab.sample <overrides>`` in this process."""
    return sampling.sample(config(*overrides))


def pixels(path: Path) -> Tensor:
    from torchvision.io import read_image

    return read_image(str(path))


def test_labels_give_a_row_of_each_requested_class(checkpoints, tmp_path: Path) -> None:
    ckpt = checkpoints["cgan"]
    common = [f"ckpt={ckpt}", "labels=[7,2]", "per_class=4", "seed=3"]
    run_cli("ganlab.sample", *common, f"out={tmp_path}/x.pt")
    samples = torch.load(tmp_path / "x.pt")
    expected = load_generator(ckpt).sample(8, seed=3, labels=[7, 7, 7, 7, 2, 2, 2, 2])
    assert samples.shape == (8, 1, 8, 8) and torch.equal(samples, expected)

    out = run_cli("ganlab.sample", f"ckpt={ckpt}", "class_grid=true", f"out={tmp_path}/g.png")
    assert "8 samples of each of classes [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]" in out
    grid = load_png(tmp_path / "g.png")  # 10 rows of 8 images of 8 px with 2 px padding
    assert grid.shape[-2:] == (10 * 10 + 2, 8 * 10 + 2)


def test_traversal_grid_of_an_infogan_code(checkpoints, tmp_path: Path) -> None:
    ckpt = checkpoints["infogan"]
    out = run_cli("ganlab.sample", f"ckpt={ckpt}", "traverse=c2", "steps=5", f"out={tmp_path}/t.pt")
    assert "traversal of c2" in out
    samples = torch.load(tmp_path / "t.pt")
    assert samples.shape == (10 * 5, 1, 8, 8)  # a row per value of c1, 5 values of c2
    rows = samples.view(10, 5, -1)
    assert not torch.allclose(rows[:, 0], rows[:, -1])  # the code changes the samples
    run_cli("ganlab.sample", f"ckpt={ckpt}", "traverse=c1", f"out={tmp_path}/c1.pt")
    assert torch.load(tmp_path / "c1.pt").shape == (8 * 10, 1, 8, 8)  # 8 rows of noise


def test_requests_that_do_not_fit_the_checkpoint_are_explained(checkpoints) -> None:
    out = run_cli("ganlab.sample", f"ckpt={checkpoints['infogan']}", "labels=[1]", check=False)
    assert "need a class-conditional generator" in out
    out = run_cli("ganlab.sample", f"ckpt={checkpoints['cgan']}", "traverse=c1", check=False)
    assert "not a latent code of this generator" in out
    out = run_cli("ganlab.sample", f"ckpt={checkpoints['cgan']}", "labels=[10]", check=False)
    assert "labels [10] are not classes: use 0..9" in out


def test_interpolation_grid_and_gif(checkpoints, tmp_path: Path) -> None:
    ckpt = checkpoints["cgan"]
    common = [f"ckpt={ckpt}", "interpolate=slerp", "steps=5", "rows=3", "seed=2"]
    out = run_cli("ganlab.sample", *common, f"out={tmp_path}/walk.gif")
    assert "3 slerp interpolations of 5 steps" in out and "5 frames" in out
    grid = pixels(tmp_path / "walk.png")  # a row per interpolation, a column per step
    assert grid.shape == (3, 3 * 10 + 2, 5 * 10 + 2)
    with Image.open(tmp_path / "walk.gif") as gif:
        assert len(list(ImageSequence.Iterator(gif))) == 5
        assert gif.size == (2 * 10 + 2, 2 * 10 + 2)  # each frame: the 3 rows, square-ish

    run_here(*common, f"out={tmp_path}/walk.pt")
    paths = torch.load(tmp_path / "walk.pt").view(3, 5, 1, 8, 8)
    assert not torch.equal(paths[:, 0], paths[:, -1])
    steps = (paths[:, 1:] - paths[:, :-1]).abs().mean()  # neighbours closer than the ends
    assert steps < (paths[:, 0] - paths[:, -1]).abs().mean()
    # the grid shows exactly these samples, as save_image quantizes them
    expected = walks.to_pixels(image_grid(paths.reshape(15, 1, 8, 8), 5)).permute(2, 0, 1)
    assert torch.equal(grid, expected)


def test_interpolation_frames_folder(checkpoints, tmp_path: Path) -> None:
    ckpt = checkpoints["cgan"]
    common = [f"ckpt={ckpt}", "interpolate=lerp", "steps=4", "labels=[1,5]", "seed=1"]
    run_here(*common, f"out={tmp_path}/frames/")
    names = sorted(p.name for p in (tmp_path / "frames").iterdir())
    assert names == [f"frame_{t:04d}.png" for t in range(4)] + ["grid.png"]
    run_here(*common, f"out={tmp_path}/paths.pt")
    paths = torch.load(tmp_path / "paths.pt").view(2, 4, 1, 8, 8)  # a row per class
    for t in range(4):  # frame t: every row at step t
        frame = walks.to_pixels(image_grid(paths[:, t], 2)).permute(2, 0, 1)
        assert torch.equal(pixels(tmp_path / "frames" / f"frame_{t:04d}.png"), frame)
    assert not list(tmp_path.glob(".frames*"))  # no staging folder left behind


def test_truncation_narrows_the_samples_as_psi_shrinks(checkpoints, tmp_path: Path) -> None:
    ckpt = checkpoints["ring8"]
    out = run_cli(
        "ganlab.sample",
        f"ckpt={ckpt}",
        "num_samples=2000",
        "truncation=0.5",
        f"out={tmp_path}/t.pt",
    )
    assert "2000 samples" in out and "truncation 0.5" in out
    spreads = []
    for psi in ("null", "1.0", "0.7", "0.4", "0.2", "0.05"):
        run_here(
            f"ckpt={ckpt}", "num_samples=2000", f"truncation={psi}", f"out={tmp_path}/{psi}.pt"
        )
        points = torch.load(tmp_path / f"{psi}.pt")
        spreads.append((points - points.mean(dim=0)).norm(dim=1).mean().item())
    assert all(a > b for a, b in itertools.pairwise(spreads)), spreads
    run_here(f"ckpt={ckpt}", "num_samples=2000", "truncation=0.5", f"out={tmp_path}/same.pt")
    assert torch.equal(torch.load(tmp_path / "t.pt"), torch.load(tmp_path / "same.pt"))


def test_every_mode_is_reproducible_from_the_seed(checkpoints, tmp_path: Path) -> None:
    modes = {
        "cgan": [
            [],
            ["labels=[3,4]", "per_class=3"],
            ["interpolate=slerp", "steps=3", "rows=2"],
            ["interpolate=lerp", "steps=3", "class_grid=true", "truncation=0.6"],
            ["truncation=0.3"],
        ],
        "infogan": [["traverse=c2", "steps=3"], ["traverse=c1", "truncation=0.8"]],
    }
    for name, requests in modes.items():
        for i, request in enumerate(requests):
            files = []
            for seed, copy in ((5, "a"), (5, "b"), (6, "c")):
                out = tmp_path / f"{name}{i}{copy}" / "x.pt"
                run_here(f"ckpt={checkpoints[name]}", f"seed={seed}", *request, f"out={out}")
                files.append(out.read_bytes())
            assert files[0] == files[1], (name, request)  # the same bytes from the same seed
            assert files[0] != files[2], (name, request)  # and other samples from another
    gifs = []
    for copy in "ab":
        out = tmp_path / copy / "walk.gif"
        run_here(f"ckpt={checkpoints['cgan']}", "interpolate=slerp", "steps=3", f"out={out}")
        gifs.append(out.read_bytes() + out.with_suffix(".png").read_bytes())
    assert gifs[0] == gifs[1]


def test_folder_export_writes_single_pngs_as_fid_quantizes(checkpoints, tmp_path: Path) -> None:
    ckpt = checkpoints["cgan"]
    common = [f"ckpt={ckpt}", "num_samples=21", "batch_size=8", "seed=7"]
    out = run_cli("ganlab.sample", *common, f"out={tmp_path}/fakes/")
    assert f"{tmp_path}/fakes as 21 PNGs 000000.png..000020.png (8x8, 8-bit)" in out
    files = sorted((tmp_path / "fakes").iterdir())
    assert [f.name for f in files] == [f"{i:06d}.png" for i in range(21)]
    images = torch.stack([pixels(f) for f in files])
    assert images.shape == (21, 1, 8, 8) and images.dtype == torch.uint8
    # exactly the fakes ganlab.evaluate scores with this seed and batch size, quantized as FID
    fakes = torch.cat(list(load_generator(ckpt).batches(21, 8, seed=7)))
    assert torch.equal(images, to_uint8(fakes))

    with pytest.raises(sampling.SampleError, match="is not empty: pass overwrite=true"):
        run_here(*common, f"out={tmp_path}/fakes")
    run_here(*common, "num_samples=5", "overwrite=true", f"out={tmp_path}/fakes")
    assert len(list((tmp_path / "fakes").iterdir())) == 5  # replaced, no stale images left
    (tmp_path / "fakes" / "notes.txt").write_text("mine")
    with pytest.raises(sampling.SampleError, match=r"did not write \(notes.txt\)"):
        run_here(*common, "overwrite=true", f"out={tmp_path}/fakes")
    assert (tmp_path / "fakes" / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fakes"]  # nothing staged left


def test_labelled_folder_export_is_a_dataset_image_folder_reads(
    checkpoints, tmp_path: Path
) -> None:
    from ganlab.data import ImageFolder

    ckpt = checkpoints["cgan"]
    common = [f"ckpt={ckpt}", "class_grid=true", "per_class=5", "batch_size=4", "seed=3"]
    out = run_cli("ganlab.sample", *common, f"out={tmp_path}/synthetic/")
    assert "5 PNGs of each of 10 classes in 0/..9/ (read back with data=image_folder" in out
    assert sorted(p.name for p in (tmp_path / "synthetic").iterdir()) == [str(c) for c in range(10)]
    data = ImageFolder(str(tmp_path / "synthetic"), shape=(1, 8, 8), labels=True, num_workers=0)
    data.setup("validate")
    assert data.num_classes == 10 and data.num_samples == 50
    x, y = next(iter(data.eval_dataloader(50)))
    assert torch.equal(y, torch.arange(10).repeat_interleave(5))
    # the images are the generator's samples of each class, quantized as the FID export does
    three = torch.stack([pixels(f) for f in sorted((tmp_path / "synthetic" / "3").iterdir())])
    assert torch.equal(to_uint8(x[y == 3]), three)
    again = tmp_path / "again"
    run_here(*common, f"out={again}/")
    assert all(
        (again / f.relative_to(tmp_path / "synthetic")).read_bytes() == f.read_bytes()
        for f in (tmp_path / "synthetic").rglob("*.png")
    )  # reproducible
    labelled = [c for c in common if c != "class_grid=true"]
    run_here(*labelled, "labels=[2,7]", "overwrite=true", f"out={again}/")
    assert sorted(p.name for p in again.iterdir()) == ["2", "7"]  # replaced, nothing stale
    (again / "7" / "mine.txt").write_text("mine")
    with pytest.raises(sampling.SampleError, match=r"did not write \(7\)"):
        run_here(*common, "overwrite=true", f"out={again}/")


def test_folder_export_of_points_is_an_array(checkpoints, tmp_path: Path, capsys) -> None:
    import numpy as np

    ckpt = checkpoints["ring8"]
    run_here(f"ckpt={ckpt}", "num_samples=300", "batch_size=128", f"out={tmp_path}/points/")
    assert "2-D point data makes no images" in capsys.readouterr().out
    assert [p.name for p in (tmp_path / "points").iterdir()] == ["samples.npy"]
    points = torch.from_numpy(np.load(tmp_path / "points" / "samples.npy"))
    fakes = torch.cat(list(load_generator(ckpt).batches(300, 128, seed=0)))
    assert points.shape == (300, 2) and torch.equal(points, fakes)
    with pytest.raises(sampling.SampleError, match="no frames to animate"):
        run_here(f"ckpt={ckpt}", "interpolate=slerp", f"out={tmp_path}/p.gif")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["interpolate=cubic"], "use interpolate=slerp"),
        (["interpolate=slerp", "steps=1"], "steps >= 2"),
        (["truncation=1.5"], "use 0 < truncation <= 1"),
        (["truncation=0"], "use 0 < truncation <= 1"),
        (["out=x.gif"], "add interpolate=slerp"),
        (["interpolate=slerp", "traverse=c1"], "use one of them"),
        (["interpolate=slerp", "rows=2", "labels=[1]"], "drop one of them"),
        (["traverse=c1", "out=some/folder/"], "use out=<file>.png"),
        (["out=x.txt"], ".txt is not a format"),
        (["num_samples=0"], "num_samples=0 must be a whole number >= 1"),
    ],
)
def test_bad_requests_name_the_fix(overrides: list[str], message: str) -> None:
    with pytest.raises(sampling.SampleError, match=message.replace("(", r"\(")):
        sampling.check_request(config("ckpt=unused.ckpt", *overrides))


def test_bad_request_is_one_line_on_the_command_line() -> None:
    out = run_cli("ganlab.sample", "ckpt=nope.ckpt", "truncation=1.5", check=False)
    assert out.strip() == (
        "SampleError: truncation=1.5 is out of range: use 0 < truncation <= 1 (the spread of "
        "the latents kept; 1 = BigGAN's truncation at 2 standard deviations), or "
        "truncation=null for none"
    )


def test_mp4_without_an_encoder_says_what_to_install(monkeypatch) -> None:
    monkeypatch.setattr(walks, "installed", lambda module: False)
    with pytest.raises(sampling.SampleError) as error:
        sampling.check_request(config("ckpt=unused.ckpt", "interpolate=slerp", "out=w.mp4"))
    assert "pip install 'imageio[ffmpeg]'" in str(error.value)
    assert "out=<file>.gif or a folder of PNG frames (out=<dir>/)" in str(error.value)


def test_mp4_of_an_interpolation(checkpoints, tmp_path: Path) -> None:
    pytest.importorskip("imageio_ffmpeg", reason="MP4 needs pip install 'imageio[ffmpeg]'")
    import imageio.v2 as imageio

    out = tmp_path / "walk.mp4"
    run_here(f"ckpt={checkpoints['cgan']}", "interpolate=slerp", "steps=6", "rows=3", f"out={out}")
    with imageio.get_reader(out) as video:
        assert sum(1 for _ in video) == 6
    assert (tmp_path / "walk.png").is_file()


class AverageTracking(nn.Module):
    """A stand-in for a StyleGAN-like generator: it truncates towards its w_avg itself."""

    latent_dim = 4
    shape = (4,)
    w_avg: Tensor

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("w_avg", torch.full((4,), 3.0))
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, z: Tensor, truncation_psi: float = 1.0) -> Tensor:
        return truncate_toward(z * self.scale, self.w_avg, truncation_psi)


def test_a_generator_tracking_an_average_latent_truncates_towards_it() -> None:
    generator = TrainedGenerator(AverageTracking(), ema=False, kimg=0.0)
    assert tracks_average(generator.network)

    def draw(psi: float | None) -> Tensor:
        return generator.sample(500, seed=0, psi=psi)

    plain, half = draw(None), draw(0.5)  # the same z: truncated by the network, not resampled
    torch.testing.assert_close(half, 3.0 + 0.5 * (plain - 3.0))
    assert math.isclose(half.std().item(), 0.5 * plain.std().item(), rel_tol=1e-4)
