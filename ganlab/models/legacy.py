"""The hyperparameters of checkpoints written before ganlab 0.2, in today's shape.

Up to 0.1 the EMA, unrolling, D-input transforms and schedulers were flat arguments of
:class:`~ganlab.models.GAN` (``ema_half_life_kimg``, ``unrolled_steps``, ``augment``,
``instance_noise``, ``g_scheduler``, ...); since 0.2 each is one component node (``ema``,
``unroll``, ``d_input``, ``schedulers``), and the fixed grid latents are the sample-grid
callback's (``num_fixed_samples`` and ``fixed_seed`` are gone). :func:`upgrade` maps the old
keys to the new nodes, so an old checkpoint builds the same model; the result is checked by
:func:`ganlab.stored.check_stored` like any stored config.

>>> old = {"ema_half_life_kimg": 5.0, "ema_rampup": 0.05, "unrolled_steps": 0,
...        "instance_noise": 0.1, "instance_noise_kimg": 500.0, "augment": None,
...        "num_fixed_samples": 64, "fixed_seed": 0, "n_critic": 1}
>>> new = upgrade(old)
>>> sorted(new), new["ema"]["half_life_kimg"], new["unroll"], new["d_input"]["noise"]["std"]
(['d_input', 'ema', 'n_critic', 'unroll'], 5.0, None, 0.1)
>>> upgrade(new) == new  # today's hyperparameters pass unchanged
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["LEGACY_KEYS", "upgrade"]

# ganlab 0.1's arguments of GAN with their defaults there (a key a checkpoint lacks had its default)
_DEFAULTS: dict[str, Any] = {
    "ema_half_life_kimg": 10.0,
    "ema_rampup": 0.05,
    "num_fixed_samples": 64,
    "fixed_seed": 0,
    "augment": None,
    "instance_noise": 0.0,
    "instance_noise_kimg": 500.0,
    "unrolled_steps": 0,
    "unrolled_second_order": True,
    "g_scheduler": None,
    "d_scheduler": None,
    "scheduler_interval": "epoch",
}
LEGACY_KEYS = frozenset(_DEFAULTS)


def upgrade(stored: Mapping[str, Any]) -> dict[str, Any]:
    """``stored`` hyperparameters with ganlab 0.1's flat keys replaced by today's nodes."""
    if not LEGACY_KEYS & stored.keys():
        return dict(stored)
    old = {**_DEFAULTS, **{k: v for k, v in stored.items() if k in LEGACY_KEYS}}
    new = {k: v for k, v in stored.items() if k not in LEGACY_KEYS}
    half_life = old["ema_half_life_kimg"]
    new["ema"] = (
        None
        if half_life is None
        else {
            "_target_": "ganlab.models.EMA",
            "half_life_kimg": half_life,
            "rampup": old["ema_rampup"],
        }
    )
    d_input: dict[str, Any] = {}
    if old["augment"] is not None:  # DiffAugment went first, then the noise
        d_input["augment"] = old["augment"]
    if old["instance_noise"] > 0:
        d_input["noise"] = {
            "_target_": "ganlab.augment.InstanceNoise",
            "std": old["instance_noise"],
            "anneal_kimg": old["instance_noise_kimg"],
        }
    new["d_input"] = d_input
    steps = old["unrolled_steps"]
    new["unroll"] = (
        {
            "_target_": "ganlab.models.Unroll",
            "steps": steps,
            "second_order": old["unrolled_second_order"],
        }
        if steps
        else None
    )
    if old["g_scheduler"] is not None or old["d_scheduler"] is not None:
        new["schedulers"] = {
            "_target_": "ganlab.models.Schedulers",
            "g": old["g_scheduler"],
            "d": old["d_scheduler"],
            "interval": old["scheduler_interval"],
        }
    return new
