"""Refuse a config that cannot work before anything is built or loaded, saying why and how to
fix it.

* :func:`check_targets`: every ``_target_`` node is checked against its target's signature,
  the schema that cannot drift from the code: a key that is not a parameter is refused with
  the allowed ones (and the closest match), a value of the wrong type with the expected type,
  a missing required argument by name. ``**options: Unpack[SomeTypedDict]`` stands for the
  keys of that TypedDict (the options all data modules share, say); other ``**kwargs`` take
  any key. A target whose signature or type hints cannot be read is checked as far as
  possible, and a warning (once per target and process) says what was not.
* :func:`check_combinations`: options that are fine alone but not together, judged from the
  config (a class-conditional model on unlabelled data) and from what the classes it names
  declare about themselves (``GAN.needs_labels``, a network's ``data_kinds``), read from the
  imported class, which is not built.
* :func:`check_model`: combinations only the built networks reveal (a gradient penalty, a
  regularizer that declares ``per_sample_critic``, on a critic with BatchNorm, whose
  per-sample gradients then depend on the rest of the batch).
"""

from __future__ import annotations

import difflib
import inspect
import types
import typing
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from hydra.utils import get_object
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException
from torch import nn
from typing_extensions import Unpack, is_typeddict

__all__ = ["ConfigError", "check_combinations", "check_model", "check_targets"]

_HYDRA_KEYS = {"_target_", "_partial_", "_recursive_", "_convert_", "_args_"}
_unchecked: set[str] = set()  # targets already warned about (each is said once per process)
_UNPACK = (Unpack, getattr(typing, "Unpack", Unpack))  # one and the same from Python 3.12


class ConfigError(ValueError):
    """A configuration that cannot work; the message names the key and the fix."""


def check_targets(node: Any, path: str = "") -> None:
    """Check every ``_target_`` node under ``node`` (a resolved container or DictConfig).

    >>> check_targets({"net": {"_target_": "torch.nn.Linear", "in_feature": 2, "out_features": 1}})
    Traceback (most recent call last):
    ...
    ganlab.validation.ConfigError: net.in_feature is not an option of torch.nn.Linear (did you mean in_features?); its options are: bias, device, dtype, in_features, out_features
    """
    if isinstance(node, (DictConfig, ListConfig)):
        try:
            node = OmegaConf.to_container(node, resolve=True)
        except OmegaConfBaseException as error:
            key = getattr(error, "full_key", None) or "the config"
            raise ConfigError(
                f"{key} cannot be resolved: {error.msg if hasattr(error, 'msg') else error}"
            ) from error
    if isinstance(node, Mapping):
        if "_target_" in node:
            _check_call(node, path)
        for key, value in node.items():
            if key not in _HYDRA_KEYS:
                check_targets(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            check_targets(value, f"{path}[{i}]")


def _target(node: Mapping[str, Any], path: str) -> Any:
    """The class or function a ``_target_`` node at ``path`` names, imported but not called."""
    target_name = str(node["_target_"])
    try:
        return get_object(target_name)
    except Exception as error:
        raise ConfigError(
            f"{path}._target_={target_name} cannot be imported ({error}); check the spelling "
            "of the class or function"
        ) from error


def _check_call(node: Mapping[str, Any], path: str) -> None:
    target_name = str(node["_target_"])
    target = _target(node, path)
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError) as error:  # builtins without a signature
        _warn_unchecked(target_name, "options and types", error)
        return
    hints = _type_hints(target.__init__ if inspect.isclass(target) else target, target_name)
    parameters, takes_any = _options(signature, hints, target_name)
    given = [k for k in node if k not in _HYDRA_KEYS]
    where = f"{path}." if path else ""
    for key in given:
        if key not in parameters and not takes_any:
            close = difflib.get_close_matches(key, parameters, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(
                f"{where}{key} is not an option of {target_name}{hint}; its options are: "
                f"{', '.join(sorted(parameters))}"
            )
    for key in given:
        if key in hints and not _matches(node[key], hints[key]):
            raise ConfigError(
                f"{where}{key}={node[key]!r} has the wrong type for {target_name}: expected "
                f"{_describe(hints[key])}"
            )
    if not node.get("_partial_", False):
        missing = [
            name
            for name, required in parameters.items()
            if required and name not in node and name != "self"
        ]
        if missing:
            raise ConfigError(
                f"{target_name} at {path or 'the top level'} needs {', '.join(missing)}; add "
                f"{' '.join(f'{where}{m}=...' for m in missing)}"
            )


def _options(
    signature: inspect.Signature,
    hints: dict[str, Any],  # the call's type hints; the unpacked TypedDicts' are added
    target_name: str,
) -> tuple[dict[str, bool], bool]:
    """The keyword options of a call (name -> whether it is required) and whether it takes any
    other key: ``**options: Unpack[SomeTypedDict]`` stands for that TypedDict's keys."""
    options: dict[str, bool] = {}
    takes_any = False
    for name, p in signature.parameters.items():
        if p.kind == p.VAR_POSITIONAL:
            continue
        if p.kind != p.VAR_KEYWORD:
            options[name] = p.default is p.empty
            continue
        hint = hints.get(name)
        typed_dict: Any = typing.get_args(hint)[0] if typing.get_origin(hint) in _UNPACK else None
        if not is_typeddict(typed_dict):
            takes_any = True
            continue
        hints.update(_type_hints(typed_dict, target_name))
        options |= dict.fromkeys(typed_dict.__optional_keys__, False)
        options |= dict.fromkeys(typed_dict.__required_keys__, True)
    return options, takes_any


def _type_hints(annotated: Any, target_name: str) -> dict[str, Any]:
    """The type hints of a function or TypedDict; none where they cannot be read."""
    try:
        return typing.get_type_hints(annotated)
    except Exception as error:  # e.g. a name imported only for type checking
        _warn_unchecked(target_name, "types", error)
        return {}


def _warn_unchecked(target_name: str, what: str, error: Exception) -> None:
    """Say (once per target) that part of a ``_target_``'s config could not be checked."""
    if target_name in _unchecked:
        return
    _unchecked.add(target_name)
    warnings.warn(
        f"config check: the argument {what} of {target_name} are not checked, because its "
        f"signature cannot be read ({type(error).__name__}: {error}); a wrong value fails "
        "only when it is built",
        stacklevel=2,  # points at the check that could not be made
    )


def _matches(value: Any, hint: Any) -> bool:
    """Whether a config value (plain Python, after resolution) fits a type hint; hints this
    does not understand accept anything."""
    if hint is Any or (value is None and _allows_none(hint)):
        return True
    if hint is type(None):
        return value is None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in typing.get_args(hint))
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if value is None:
        return False
    container = origin or hint
    if container in (list, tuple, Sequence, typing.Sequence) or container is ListConfig:
        if not isinstance(value, (list, tuple)):
            return False
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        return len(args) != 1 or all(_matches(v, args[0]) for v in value)
    if container in (dict, Mapping, typing.Mapping):
        return isinstance(value, Mapping)
    return True  # modules, callables, tensors ...: checked where they are used


def _allows_none(hint: Any) -> bool:
    return hint is type(None) or (
        typing.get_origin(hint) in (typing.Union, types.UnionType)
        and type(None) in typing.get_args(hint)
    )


def _describe(hint: Any) -> str:
    """
    >>> _describe(int), _describe(list[int] | None)
    ('int', 'list[int] | None')
    """
    if isinstance(hint, type) and not typing.get_args(hint):
        return hint.__name__
    return (
        str(hint).replace("typing.", "").replace("collections.abc.", "").replace("NoneType", "None")
    )


# a data kind (conf/data/kind) -> what the data are, a network that does not take them, the fix
_KINDS = {
    "vector": ("{n}-D vectors", "an image", "MLP networks (model/arch=mlp, or model=gan)"),
    "image": ("images", "a vector", "image networks (model/arch=dcgan, resnet or mlp)"),
}


def check_combinations(cfg: DictConfig) -> None:
    """Options that cannot work together, from the composed config alone."""
    trainer = cfg.get("trainer") or {}
    if str(trainer.get("precision")) in ("16", "16-mixed"):
        raise ConfigError(
            "trainer.precision=16-mixed gives D and G one shared gradient scaler; use "
            "trainer.precision=bf16-mixed (recommended, no scaler needed) or trainer=fp16 "
            "(fp16 with a scaler per player)"
        )
    model, data = cfg.get("model"), cfg.get("data")
    if model is None or data is None:
        return
    shape = list(data.get("shape") or [])
    kind = {1: "vector", 3: "image"}.get(len(shape))
    for key in ("generator", "discriminator"):
        network = model.get(key)
        if kind is None or not network or "_target_" not in network:
            continue
        if kind not in getattr(_target(network, f"model.{key}"), "data_kinds", (kind,)):
            data_are, other, fix = _KINDS[kind]
            raise ConfigError(
                f"{network._target_} is {other} network but the data are "
                f"{data_are.format(n=shape[0])} (data.shape={shape}): use {fix}"
            )
    if data.get("num_classes") is None and _needs_labels(model):
        raise ConfigError(
            f"model {model.get('_target_')} is class-conditional but the data is unlabelled "
            "(data.num_classes is null). Use labelled data (data=mnist5k, digits, mnist, "
            "fashion_mnist, cifar10) or an image_folder with one subfolder per class "
            "(data.labels=true data.num_classes=<K>)."
        )

    # a translation model reads the data's source images: paired or unpaired ones
    needs = getattr(_target(model, "model"), "data_pairing", None) if "_target_" in model else None
    pairing = getattr(_target(data, "data"), "pairing", None) if "_target_" in data else None
    if needs is not None and pairing != needs:
        what = {
            "paired": "pairs each source image with its target",
            "unpaired": "is unpaired (two domains, no image matched to another)",
            None: "has no source images",
        }[pairing]
        use = {
            "paired": "paired data (data=edges2digits, data=gray2color, or data=paired_folder "
            "data.root=<your A/B pairs>)",
            "unpaired": "unpaired data (data=mnist2digits, or data=unpaired_folder "
            "data.root=<your trainA/trainB folders>)",
        }[needs]
        raise ConfigError(
            f"model {model.get('_target_')} translates {needs} images, but data "
            f"{data.get('_target_')} {what}: use {use}"
        )
    evaluation = (cfg.get("callbacks") or {}).get("evaluation") or {}
    if needs is not None and float(evaluation.get("every_kimg") or 0) > 0:
        raise ConfigError(
            f"callbacks.evaluation scores samples drawn from latents, and model "
            f"{model.get('_target_')} translates input images: set "
            "callbacks.evaluation.every_kimg=0 (a translator's held-out scores: "
            "callbacks.translation during training, python -m ganlab.evaluate "
            "ckpt=<its checkpoint> after it; docs/translation.md)"
        )


def _needs_labels(model: DictConfig) -> bool:
    """A class-conditional model class, or a discriminator conditioned on the class."""
    if "_target_" in model and getattr(_target(model, "model"), "needs_labels", False):
        return True
    discriminator = model.get("discriminator") or {}
    return str(discriminator.get("conditioning", "none")) != "none"


def check_model(model: nn.Module) -> None:
    """Combinations only the built networks reveal."""
    regularizers: Mapping[str, Any] = getattr(model, "regularizers", {}) or {}
    discriminator = getattr(model, "discriminator", None)
    per_sample = [
        name for name, r in regularizers.items() if getattr(r, "per_sample_critic", False)
    ]
    if per_sample and discriminator is not None:
        batchnorm = [
            name
            for name, m in discriminator.named_modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm)
        ]
        if batchnorm:
            raise ConfigError(
                f"the gradient penalty ({', '.join(per_sample)}) needs each sample's critic "
                f"value to depend on that sample alone, but the critic has BatchNorm "
                f"({batchnorm[0]}): set model.discriminator.norm=layer (or none), as WGAN-GP does"
            )
