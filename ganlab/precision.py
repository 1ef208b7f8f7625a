"""fp16 mixed precision with one gradient scaler per player.

Lightning's ``precision="16-mixed"`` has one ``GradScaler`` for every optimizer. D's and G's
gradients differ by orders of magnitude and overflow at different times; with a shared scaler
an overflow in one player's step halves the other's scale too, and ``update()`` runs after
each optimizer rather than once per iteration as the scaler expects. Here each optimizer
gets its own scaler, chosen when the GAN toggles that player's optimizer; gradients are
unscaled once, before the GAN measures or clips them. bf16 (``trainer.precision=bf16-mixed``)
needs no scaler and is the recommended mixed precision; use this (``trainer=fp16``) on GPUs
without bf16.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from lightning.pytorch.plugins.precision import MixedPrecision
from typing_extensions import override

__all__ = ["PerOptimizerMixedPrecision"]


def _unwrap(optimizer: Any) -> torch.optim.Optimizer:
    """The torch optimizer inside a LightningOptimizer."""
    return getattr(optimizer, "_optimizer", optimizer)


class PerOptimizerMixedPrecision(MixedPrecision):
    def __init__(self, device: str = "cuda", init_scale: float = 2.0**16) -> None:
        super().__init__("16-mixed", device, scaler=torch.amp.GradScaler(device, init_scale))
        self.init_scale = init_scale
        self.scalers: list[torch.amp.GradScaler] = []  # in the order the optimizers first step
        self._index: dict[int, int] = {}  # id(optimizer) -> index into scalers
        self._unscaled: set[int] = set()  # optimizers whose gradients are already unscaled
        self._pending: list[dict[str, Any]] = []  # scaler states from a checkpoint

    def scaler_for(self, optimizer: Any) -> torch.amp.GradScaler:
        key = id(_unwrap(optimizer))
        if key not in self._index:
            scaler = torch.amp.GradScaler(self.device, self.init_scale)
            if len(self._pending) > len(self.scalers):
                scaler.load_state_dict(self._pending[len(self.scalers)])
            self._index[key] = len(self.scalers)
            self.scalers.append(scaler)
        return self.scalers[self._index[key]]

    def use(self, optimizer: Any) -> None:
        """Scale the coming backward pass with ``optimizer``'s scaler."""
        self.scaler = self.scaler_for(optimizer)

    def unscale(self, optimizer: Any) -> None:
        """Unscale ``optimizer``'s gradients in place (once per step)."""
        inner = _unwrap(optimizer)
        if id(inner) not in self._unscaled:
            self.scaler_for(inner).unscale_(inner)
            self._unscaled.add(id(inner))

    def skip(self, optimizer: Any) -> None:
        """End ``optimizer``'s step without stepping (the GAN skips a non-finite step)."""
        inner = _unwrap(optimizer)
        if id(inner) in self._unscaled:
            self.scaler_for(inner).update()
            self._unscaled.discard(id(inner))

    @override
    def optimizer_step(  # type: ignore[override]
        self, optimizer: Any, model: Any, closure: Callable[[], Any], **kwargs: Any
    ) -> Any:
        inner = _unwrap(optimizer)
        self.scaler = self.scaler_for(inner)
        closure()  # manual optimization: the backward pass has already run
        self.unscale(inner)
        self._after_closure(model, optimizer)
        output = self.scaler.step(inner, **kwargs)  # skipped when the gradients overflowed
        self.scaler.update()
        self._unscaled.discard(id(inner))
        return output

    @override
    def state_dict(self) -> dict[str, Any]:
        return {"scalers": [scaler.state_dict() for scaler in self.scalers]}

    @override
    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._pending = list(state_dict.get("scalers", []))
        for scaler, state in zip(self.scalers, self._pending, strict=False):
            scaler.load_state_dict(state)
