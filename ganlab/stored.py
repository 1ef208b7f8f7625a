"""Rebuilding objects from stored configs (checkpoints, run folders) without running stored code.

A ganlab checkpoint is read with ``torch.load(weights_only=True)``, so its pickle cannot run
code. But the networks are rebuilt from the Hydra ``_target_`` specs stored in it (the
generator's, the discriminator's, the optimizers'), and a run folder holds more of them
(``<run>/.hydra/config.yaml``, ``anomaly.json``). ``hydra.utils.instantiate`` calls whatever a
spec names: ``pathlib.Path.write_text`` writes a file, ``torch.load(..., weights_only=False)``
runs a second file's pickle. Unchecked, a shared checkpoint or run folder is code.

Every ganlab path that builds objects from stored data goes through :func:`check_stored`
(:func:`build_stored` is check, then instantiate): :func:`ganlab.load_generator`,
``GAN.load_from_checkpoint`` (and every model class), ``python -m ganlab.sample``,
``ganlab.evaluate`` (the checkpoint's run config), ``ganlab.export``, ``ganlab.anomaly`` (the
checkpoint and ``anomaly.json``) and resuming training (``ckpt_path=``). Before anything is
built, the stored spec is resolved (OmegaConf interpolations) and walked whole, through nested
mappings and lists, ``_args_`` and the values of every key: a ``_target_`` that is not one of
:data:`ALLOWED` (by its exact dotted name), a ``_target_`` that is not a string, and a string
still holding ``${`` after resolution (Hydra would resolve it again when building) are refused
with one :class:`~ganlab.checkpoints.CheckpointError` line naming the value and the file. Only
the resolved, checked copy is built. ``_partial_``, ``_convert_`` and ``_recursive_`` are
plain flags: whatever they do, every callable they could reach is a checked ``_target_``.

Safe without ``trust``: loading calls no function and builds no class outside :data:`ALLOWED`
(ganlab's networks, objectives, regularizers, augmentation, models and data modules, and a
few torch optimizers and schedulers that take only numbers), so a stored config cannot run
code, write or delete files, or load another pickle.

Not made safe by this:

- allow-listed classes do their usual work with stored arguments: a data module from a run's
  config (``ganlab.evaluate`` without ``data=``, ``ganlab.anomaly score`` with
  ``score.data_from_run``) reads, and may download into, the folder that config names; a
  network allocates the memory its stored sizes ask for;
- interpolations are resolved with the registered resolvers: ``${oc.env:NAME}`` reads an
  environment variable into the value (a data path, say);
- the weights themselves: a checkpoint's generator can produce anything;
- Lightning's own resume state (loop counters, callback states) is restored as Lightning does;
- ``trust=True`` (``trust=true`` on the command line) builds every target and only warns
  (naming each target outside the allow-list): use it only for files you would run as code.

Configs given on this command line (or built in Python) are the user's own and are not checked.
"""

from __future__ import annotations

import reprlib
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ganlab.checkpoints import CheckpointError

__all__ = ["ALLOWED", "build_stored", "check_stored"]

_OPTIMIZERS = ("Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "RMSprop", "SGD")
# schedulers whose arguments are numbers (not functions or other schedulers)
_SCHEDULERS = (
    "ConstantLR",
    "CosineAnnealingLR",
    "ExponentialLR",
    "LinearLR",
    "MultiStepLR",
    "PolynomialLR",
    "StepLR",
)

#: The ``_target_`` names a stored config may build without ``trust``: what ganlab's configs
#: (``conf/model``, ``conf/data``, the experiments) put into checkpoints and run configs. Not
#: "anything under ganlab": ganlab also has functions that write files. A new preset extends
#: this list (``tests/test_safe_loading.py`` fails until it does).
ALLOWED: frozenset[str] = frozenset(
    [
        # networks (model/arch)
        "ganlab.networks.MLPGenerator",
        "ganlab.networks.MLPDiscriminator",
        "ganlab.networks.DCGANGenerator",
        "ganlab.networks.DCGANDiscriminator",
        "ganlab.networks.ResNetGenerator",
        "ganlab.networks.ResNetDiscriminator",
        "ganlab.networks.UNetGenerator",
        "ganlab.networks.ResNetTranslator",
        "ganlab.networks.SRResNet",
        "ganlab.networks.SRGANDiscriminator",
        "ganlab.networks.PatchGANDiscriminator",
        # objectives and D regularizers (model/loss, model/regularizer)
        "ganlab.losses.NonSaturating",
        "ganlab.losses.Minimax",
        "ganlab.losses.Hinge",
        "ganlab.losses.Wasserstein",
        "ganlab.losses.LeastSquares",
        "ganlab.losses.GradientPenalty",
        "ganlab.losses.R1",
        "ganlab.losses.R2",
        "ganlab.losses.DRAGAN",
        "ganlab.losses.WeightClipping",
        # D-input transforms (model/d_input) and the step's components (model.unroll, model.ema,
        # model.schedulers)
        "ganlab.augment.DiffAugment",
        "ganlab.augment.InstanceNoise",
        "ganlab.models.Unroll",
        "ganlab.models.EMA",
        "ganlab.models.Schedulers",
        "ganlab.models.ConstantThenLinear",
        # LightningModules (model)
        "ganlab.models.GAN",
        "ganlab.models.ConditionalGAN",
        "ganlab.models.ACGAN",
        "ganlab.models.InfoGAN",
        "ganlab.models.Pix2Pix",
        "ganlab.models.CycleGAN",
        # data modules (data; ClassSubset is also written by ganlab.anomaly)
        "ganlab.data.MNIST",
        "ganlab.data.MNIST5k",
        "ganlab.data.StackedMNIST5k",
        "ganlab.data.FashionMNIST",
        "ganlab.data.CIFAR10",
        "ganlab.data.CelebA",
        "ganlab.data.Digits",
        "ganlab.data.Edges2Digits",
        "ganlab.data.MNIST2Digits",
        "ganlab.data.PairedFolder",
        "ganlab.data.UnpairedFolder",
        "ganlab.data.Gray2Color",
        "ganlab.data.MNISTSR",
        "ganlab.data.Bicubic",  # MNISTSR's degradation
        "ganlab.data.ImageFolder",
        "ganlab.data.RingMixture",
        "ganlab.data.GridMixture",
        "ganlab.data.ClassSubset",
        # optimizers and schedulers (model/optim, model.schedulers)
        *(f"torch.optim.{name}" for name in _OPTIMIZERS),
        *(f"torch.optim.lr_scheduler.{name}" for name in _SCHEDULERS),
    ]
)

_HINT = "pass trust=true (Python: trust=True) if you trust this file"
_short = reprlib.Repr()
_short.maxstring = 120  # a refused value is quoted, shortened past this length, on one line


def check_stored(spec: Any, source: str | Path, trust: bool = False) -> Any:
    """``spec`` (a mapping, list or OmegaConf node read from ``source``) resolved into plain
    containers, after refusing what it could build outside :data:`ALLOWED` (see the module
    docstring) with a one-line :class:`~ganlab.checkpoints.CheckpointError` naming the value
    and ``source``. With ``trust`` nothing is refused: a warning names every target outside
    the allow-list. Build only the returned copy: it is what was checked."""
    plain = _resolved(spec, source)
    refused = list(dict.fromkeys(_refused(plain)))  # in order, each once
    if refused and not trust:
        raise CheckpointError(f"{source}: refusing {refused[0]}; {_HINT}")
    if refused:
        warnings.warn(
            f"{source}: trust=True builds what ganlab's allow-list refuses: {'; '.join(refused)}",
            stacklevel=2,
        )
    return plain


def build_stored(spec: Any, source: str | Path, trust: bool = False, **kwargs: Any) -> Any:
    """``hydra.utils.instantiate`` of the stored ``spec`` once :func:`check_stored` accepts
    it; ``kwargs`` are the caller's own arguments to ``instantiate`` and are not checked."""
    return instantiate(check_stored(spec, source, trust), **kwargs)


def _resolved(spec: Any, source: str | Path) -> Any:
    """Plain containers with every interpolation resolved, as Hydra would build them (an
    OmegaConf node resolves against its root, a plain mapping or list against itself)."""
    if not OmegaConf.is_config(spec) and not isinstance(spec, Mapping | list | tuple):
        return spec
    try:
        node = (
            spec
            if OmegaConf.is_config(spec)
            else OmegaConf.create(spec, flags={"allow_objects": True})
        )
        return OmegaConf.to_container(node, resolve=True)
    except OmegaConfBaseException as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"{source}: cannot resolve the stored config ({reason})") from error


def _refused(node: Any) -> Iterator[str]:
    """What in a resolved ``node`` would build or resolve something outside the allow-list."""
    if isinstance(node, Mapping):
        target = node.get("_target_")  # a node's own target first, then what its values build
        if "_target_" in node and not (isinstance(target, str) and target in ALLOWED):
            yield f"to build {_short.repr(target)} (not a ganlab/torch class ganlab's configs use)"
        for key, value in node.items():
            if key != "_target_":
                yield from _refused(value)
    elif isinstance(node, list | tuple):
        for value in node:
            yield from _refused(value)
    elif isinstance(node, str) and "${" in node:
        yield f"the value {_short.repr(node)} (an interpolation Hydra would resolve when building)"
