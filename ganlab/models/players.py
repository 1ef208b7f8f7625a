"""The players of a GAN system: who the one training step iterates over.

A :class:`Player` is one side of the game: a name, the parameters its optimizer owns, how that
optimizer (and a scheduler) is built, its loss, how often it is due and what runs after its
step. :meth:`ganlab.models.GAN.players` lists them in turn order (``d`` then ``g``); a system
with more networks (CycleGAN's two generators and two discriminators) gives each player all of
its side's networks, and the step stays the same.

>>> import torch
>>> d_net, g_net = torch.nn.Linear(2, 1), torch.nn.Linear(2, 2)
>>> d = Player("d", d_net.parameters, torch.optim.SGD, lambda batch, fake: (d_net(fake), {}))
>>> g = Player("g", g_net.parameters, torch.optim.SGD, lambda batch, fake: (d_net(fake), {}),
...            every=3, generates=True)  # the n_critic-th batch
>>> [(d.due(batches), g.due(batches)) for batches in range(4)]  # batches trained before
[(True, False), (True, False), (True, True), (True, False)]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from torch import Tensor, nn
from torch.optim import Optimizer

if TYPE_CHECKING:
    from ganlab.models.base import Batch

__all__ = ["OptimizerFactory", "Player", "SchedulerFactory", "Schedulers", "detached"]

OptimizerFactory = Callable[[Iterable[nn.Parameter]], Optimizer]
SchedulerFactory = Callable[[Optimizer], Any]
# (batch, what GAN.generate returned) -> (the loss to minimize, values to log by key)
PlayerLoss = Callable[["Batch", Any], tuple[Tensor, dict[str, Tensor]]]


@dataclass(frozen=True)
class Player:
    """One side of the game, stepped by :meth:`ganlab.models.GAN.training_step` when due."""

    name: str  # "d", "g", ...: its log keys train/<name>_loss, grad_norm_<name>, lr_<name>
    parameters: Callable[[], Iterable[nn.Parameter]]  # what its optimizer owns (all its networks)
    optimizer: OptimizerFactory | Mapping[str, Any]  # called with parameters(), or a Hydra partial
    loss: PlayerLoss
    scheduler: SchedulerFactory | Mapping[str, Any] | None = None  # called with the optimizer
    every: int = 1  # due on every every-th batch (D: 1, G: n_critic)
    # its networks make what GAN.generate returns: only its loss gets them with their graph (the
    # others' get them detached), and a batch keeps that graph only when such a player is due
    generates: bool = False
    after_step: Callable[[Batch], None] | None = None  # e.g. weight clipping, the EMA update

    def __post_init__(self) -> None:
        assert self.every >= 1, (
            f"player {self.name!r} steps on every `every`-th batch: every must be >= 1, "
            f"got {self.every}"
        )

    def due(self, batches: int) -> bool:
        """Whether this player steps on the batch after ``batches`` trained ones."""
        return (batches + 1) % self.every == 0


@dataclass(frozen=True)
class Schedulers:
    """Learning-rate schedulers of the players ``g`` and ``d`` (``model.schedulers``), each
    called with its player's optimizer, and when they step."""

    g: SchedulerFactory | Mapping[str, Any] | None = None
    d: SchedulerFactory | Mapping[str, Any] | None = None
    interval: str = "epoch"  # or "step": after each of that player's optimizer steps

    def __post_init__(self) -> None:
        assert self.interval in ("epoch", "step"), (
            f"schedulers.interval must be 'epoch' or 'step', got {self.interval!r}"
        )


def detached(outputs: Any) -> Any:
    """``outputs`` (a tensor, or a mapping, list or tuple of them) without their graph.

    >>> import torch
    >>> x = torch.ones(2, requires_grad=True)
    >>> out = detached({"fake": 2 * x, "pair": (x, 3)})
    >>> out["fake"].requires_grad, out["pair"][0].requires_grad, out["pair"][1]
    (False, False, 3)
    """
    if isinstance(outputs, Tensor):
        return outputs.detach()
    if isinstance(outputs, Mapping):
        return {key: detached(value) for key, value in outputs.items()}
    if isinstance(outputs, list):
        return [detached(value) for value in outputs]
    if isinstance(outputs, tuple):
        return tuple(detached(value) for value in outputs)
    return outputs
