"""Every preset and recipe carries the settings docs/presets.md says, and the table covers every
file of conf/model and conf/experiment."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import CONF, TRANSLATION_PRESETS, compose_train
from omegaconf import DictConfig

DOC = Path(__file__).parents[2] / "docs" / "presets.md"
NOT_APPLICABLE = "-"


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def read_table() -> dict[str, dict[str, str]]:
    """The table of docs/presets.md whose first column is "File": its rows by file
    (``model/dcgan``, ``experiment/demo``), each a mapping column -> cell."""
    lines = DOC.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| File |"))
    header = _cells(lines[start])
    rows: dict[str, dict[str, str]] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        row = dict(zip(header, _cells(line), strict=True))
        rows[row["File"].strip("`")] = row
    return rows


TABLE = read_table()


def _num(x: float) -> str:
    """Learning rates as the papers write them: 2e-4, 5e-5, 0.001 -> 1e-3."""
    if x == 0 or abs(x) >= 0.01:
        return f"{x:g}"
    mantissa, exponent = f"{x:e}".split("e")
    return f"{float(mantissa):g}e{int(exponent)}"


def _name(node: Any) -> str:
    return str(node._target_).rsplit(".", 1)[-1]


def _players(get: Callable[[DictConfig], str]) -> Callable[[DictConfig], str]:
    """One value when G's and D's settings agree, else "G value / D value"."""

    def resolve(model: DictConfig) -> str:
        values = [get(model.generator), get(model.discriminator)]
        return values[0] if values[0] == values[1] else " / ".join(values)

    return resolve


def _loss(model: DictConfig) -> str:
    if _name(model.loss) == "LeastSquares":  # the (a, b, c) coding
        return f"LeastSquares ({model.loss.a:g}, {model.loss.b:g}, {model.loss.c:g})"
    return _name(model.loss)


def _optimizer(model: DictConfig) -> str:
    names = {_name(model.g_optimizer), _name(model.d_optimizer)}
    assert len(names) == 1, f"G and D use different optimizers: {names}"
    return names.pop()


def _betas(model: DictConfig) -> str:
    betas = [opt.get("betas") for opt in (model.g_optimizer, model.d_optimizer)]
    if betas[0] is None:
        return NOT_APPLICABLE
    assert betas[0] == betas[1], f"G and D betas differ: {betas}"
    return "({:g}, {:g})".format(*betas[0])


_REGULARIZER_WEIGHTS = {"gp": "weight", "dragan": "weight", "clip": "clip", "r1": "gamma"}


def _regularizers(model: DictConfig) -> str:
    parts = [
        f"{name} {spec[_REGULARIZER_WEIGHTS.get(name, 'gamma')]:g}"
        for name, spec in (model.get("regularizer") or {}).items()
    ]
    return ", ".join(parts) or "none"


def _channels(net: DictConfig) -> str:
    for key in ("base_channels", "channels", "hidden"):
        if key in net:
            return str(list(net[key]) if key == "hidden" else net[key])
    raise AssertionError(f"no width option in {net._target_}")


def _schedule(model: DictConfig) -> str:
    if model.schedulers is None:
        return "constant"
    g, d = model.schedulers.g, model.schedulers.d
    if _name(g) == "ConstantThenLinear":
        assert (g.constant, g.decay) == (d.constant, d.decay), "G and D must decay together"
        return f"constant {g.constant} + linear to 0 over {g.decay} {model.schedulers.interval}s"
    for scheduler in (g, d):
        assert _name(scheduler) == "LinearLR" and scheduler.end_factor == 0, scheduler
    assert model.schedulers.interval == "step"
    assert d.total_iters == model.n_critic * g.total_iters, "D must decay over the same G steps"
    return f"linear to 0, {g.total_iters} G steps"


def _length(cfg: DictConfig) -> str:
    if cfg.max_kimg is not None:
        return f"{cfg.max_kimg:g} kimg"
    return f"{cfg.trainer.max_epochs} epochs"


def _ema(model: DictConfig) -> str:
    return "off" if model.ema is None else f"{model.ema.half_life_kimg:g} kimg"


# column of docs/presets.md -> the cell's value computed from the composed config
COLUMNS: dict[str, Callable[[DictConfig], str]] = {
    "Loss": lambda cfg: _loss(cfg.model),
    "Optimizer": lambda cfg: _optimizer(cfg.model),
    "LR G / D": lambda cfg: f"{_num(cfg.model.g_optimizer.lr)} / {_num(cfg.model.d_optimizer.lr)}",
    "Betas": lambda cfg: _betas(cfg.model),
    "n_critic": lambda cfg: str(cfg.model.n_critic),
    "D penalty": lambda cfg: _regularizers(cfg.model),
    "Spectral norm": lambda cfg: "yes" if cfg.model.discriminator.spectral_norm else "no",
    "D norm": lambda cfg: str(cfg.model.discriminator.norm),
    "Channels G / D": lambda cfg: (
        f"{_channels(cfg.model.generator)} / {_channels(cfg.model.discriminator)}"
    ),
    "z": lambda cfg: str(cfg.model.generator.get("latent_dim", NOT_APPLICABLE)),  # G of an input
    "Batch": lambda cfg: str(cfg.data.batch_size),
    "Init": lambda cfg: _players(lambda net: str(net.init))(cfg.model),
    "Schedule": lambda cfg: _schedule(cfg.model),
    "Length": _length,
    "EMA half-life": lambda cfg: _ema(cfg.model),
}
UNCHECKED = ("File", "Source", "Notes")


def preset_files() -> list[str]:
    return sorted(
        f"{group}/{path.stem}"
        for group in ("model", "experiment")
        for path in (CONF / group).glob("*.yaml")
    )


def test_the_table_has_a_row_for_every_preset_and_recipe() -> None:
    assert sorted(TABLE) == preset_files()
    for row in TABLE.values():
        assert set(row) == {*COLUMNS, *UNCHECKED}
        assert row["Source"], f"{row['File']} names no source"


@pytest.mark.parametrize("file", preset_files())
def test_preset_carries_the_settings_of_the_table(tmp_path: Path, file: str) -> None:
    group, name = file.split("/")
    paired = (
        [f"data={TRANSLATION_PRESETS[name]}"]
        if group == "model" and name in TRANSLATION_PRESETS
        else []
    )
    cfg = compose_train(tmp_path, f"{group}={name}", *paired)
    row = TABLE[file]
    actual = {column: resolve(cfg) for column, resolve in COLUMNS.items()}
    expected = {column: row[column] for column in COLUMNS}
    for column, cell in expected.items():
        if cell == NOT_APPLICABLE:
            actual[column] = cell
    assert actual == expected
