"""The documentation: the site builds strictly, the README stays a short front page with an
accurate layout map, and the worked example of docs/architecture/add-a-variant.md trains."""

from __future__ import annotations

import doctest
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
EXAMPLES = ROOT / "docs" / "examples"
MAX_README_LINES = 220


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    """`mkdocs build --strict` (what `make docs` runs): a broken link or anchor, a page missing
    from the nav, a snippet that is not there or an API page mkdocstrings cannot render fails."""
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr[-4000:]}"
    api = {page.stem for page in (ROOT / "docs" / "api").glob("*.md")} - {"index"}
    for module in sorted(api):
        html = (site / "api" / module / "index.html").read_text()
        assert f'id="ganlab.{module}"' in html, f"the API page of ganlab.{module} is empty"
    # the worked example's code made it into its page (pymdownx.snippets)
    example = (site / "architecture" / "add-a-variant" / "index.html").read_text()
    assert "ragan_discriminator_loss" in example and "RelativisticGAN" in example


def test_api_reference_covers_the_public_modules() -> None:
    pages = {page.stem for page in (ROOT / "docs" / "api").glob("*.md")}
    public = {"networks", "losses", "models", "data", "metrics", "callbacks", "generator", "config"}
    if (ROOT / "ganlab" / "stored.py").exists():
        public.add("stored")
    assert public <= pages, f"no API page for {sorted(public - pages)}"


def test_readme_is_short() -> None:
    lines = README.read_text().splitlines()
    assert len(lines) <= MAX_README_LINES, (
        f"README.md has {len(lines)} lines (at most {MAX_README_LINES}): move the details to docs/"
    )


def test_readme_layout_lists_every_module() -> None:
    """The README's layout map names every top-level module and package of ganlab/."""
    text = README.read_text()
    layout = text[text.index("## Layout") :]
    listed = set(re.findall(r"^  (\w+)(?:\.py|/)", layout, flags=re.MULTILINE))
    package = ROOT / "ganlab"
    modules = {p.stem for p in package.glob("*.py")} | {
        p.name for p in package.iterdir() if p.is_dir() and (p / "__init__.py").exists()
    }
    assert modules <= listed, f"missing from the README's layout: {sorted(modules - listed)}"


@pytest.fixture
def ragan(monkeypatch: pytest.MonkeyPatch):  # the example module, importable as `ragan`
    monkeypatch.syspath_prepend(str(EXAMPLES))
    sys.modules.pop("ragan", None)
    module = importlib.import_module("ragan")
    yield module
    sys.modules.pop("ragan", None)


def test_add_a_variant_losses(ragan) -> None:
    assert doctest.testmod(ragan).failed == 0
    real, fake = torch.randn(16), torch.randn(16) - 1.0
    loss = ragan.RelativisticAverage()
    # G's loss is D's with the roles of real and fake swapped
    assert torch.allclose(loss.generator(fake, real=real), loss.discriminator(fake, real))
    # D's loss falls as the reals look more realistic than the average fake
    assert loss.discriminator(real + 2.0, fake) < loss.discriminator(real, fake)


def test_add_a_variant_trains(ragan, tmp_path: Path) -> None:
    """The page's config composes with ganlab's presets and trains for a few steps."""
    from ganlab.config import compose_config
    from ganlab.train import train

    cfg = compose_config(
        f"hydra.searchpath=[file://{EXAMPLES / 'conf'}]",
        "model=ragan",
        "data=digits",
        "data.shape=[1,16,16]",
        "debug=fast",
        "max_kimg=0.3",
        "model.generator.base_channels=8",
        "model.discriminator.base_channels=8",
        output_dir=tmp_path,
    )
    assert cfg.model._target_ == "ragan.RelativisticGAN"
    assert cfg.model.loss._target_ == "ragan.RelativisticAverage"
    assert cfg.model.generator._target_ == "ganlab.networks.DCGANGenerator"  # from dcgan

    model = train(cfg).model
    assert isinstance(model, ragan.RelativisticGAN)
    assert isinstance(model.loss, ragan.RelativisticAverage)
    assert model.g_steps > 0 and model.d_steps > 0
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert (tmp_path / "checkpoints" / "last.ckpt").exists()
