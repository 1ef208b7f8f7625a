"""What a non-finite step is, and what to tell the user about it."""

from __future__ import annotations

from dataclasses import dataclass


class DivergenceError(RuntimeError):
    """Training produced a non-finite loss or gradient; the message names the step and fixes."""


@dataclass(frozen=True)
class NonFinite:
    """A player's step whose loss or gradient was not finite (the step itself was skipped)."""

    step: int  # trainer.global_step when it happened (every optimizer step counts)
    kimg: float
    player: str  # "d" or "g"
    loss: float
    grad_norm: float
    precision: str  # the trainer's precision setting

    def message(self) -> str:
        who = "the discriminator" if self.player == "d" else "the generator"
        optimizer = f"model.{self.player}_optimizer.lr"
        causes = [
            f"a learning rate too high for this model (lower {optimizer}, e.g. halve it)",
        ]
        if self.precision.startswith("16"):
            causes.append("fp16 overflow: use trainer.precision=bf16-mixed (recommended)")
        if self.player == "d":
            causes += [
                "an unconstrained D whose logits explode: spectral norm (model=sngan) or a "
                "gradient penalty (model/regularizer=r1)",
                "a penalty weight too large (lower the regularizer's gamma / lambda)",
                "non-finite values in the data (check the dataset)",
            ]
        else:
            causes.append("a saturating objective or D overpowering G: model/loss=non_saturating")
        lines = "\n".join(f"  - {c}" for c in causes)
        return (
            f"{who}'s {'loss' if not _finite(self.loss) else 'gradient'} became non-finite at "
            f"step {self.step} ({self.kimg:.1f} kimg; loss {self.loss}, gradient norm "
            f"{self.grad_norm}); that step was skipped and the weights are intact. Likely "
            f"causes:\n{lines}\nTo continue automatically from the last good checkpoint with a "
            "lower learning rate, set callbacks.divergence.action=rollback."
        )


def _finite(x: float) -> bool:
    return x == x and abs(x) != float("inf")
