"""Scores for class-controlled generation, from an in-domain classifier's predictions.

- :func:`class_agreement`: how often the classifier agrees with the class a conditional
  generator was asked for (CGAN, ACGAN, projection D).
- :func:`code_purity`: how well an unsupervised categorical code (InfoGAN) matches the classes:
  purity (each code value mapped to its majority class), and, since purity alone rewards a
  generator that draws one class for every code, the accuracy of the best one-to-one matching
  of code values to classes and the number of distinct majority classes.

Sampling helpers (:func:`conditional_predictions`, :func:`code_predictions`) draw samples of a
generator network for given classes or code values and classify them with ``predict`` (images
-> classes), e.g. the dataset's classifier from ``python -m ganlab.fit_classifier`` through
:meth:`ganlab.metrics.ClassifierFeatures.predict`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor, nn

from ganlab.sampling import draw_inputs, draw_latents, generate


def class_agreement(predicted: Tensor, requested: Tensor) -> float:
    """Fraction of samples the classifier puts in the class they were generated for.

    >>> class_agreement(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2]))
    0.75
    """
    assert predicted.shape == requested.shape and predicted.numel() > 0
    return float((predicted == requested).float().mean())


def code_purity(predicted: Tensor, codes: Tensor, num_classes: int) -> dict[str, Any]:
    """How well code values (``codes``, in ``[0, K)``) match predicted classes.

    >>> r = code_purity(torch.tensor([3, 3, 5, 5, 5, 3]), torch.tensor([0, 0, 1, 1, 1, 1]), 10)
    >>> r["purity"], r["matched_accuracy"], r["majority"], r["distinct_majorities"]
    (0.8333333333333334, 0.8333333333333334, [3, 5], 2)
    >>> code_purity(torch.tensor([3, 3, 3, 3]), torch.tensor([0, 0, 1, 1]), 10)["matched_accuracy"]
    0.5
    """
    assert predicted.shape == codes.shape and predicted.numel() > 0
    values = int(codes.max()) + 1
    counts = torch.zeros(values, num_classes, dtype=torch.long)
    counts.index_put_((codes, predicted), torch.ones_like(codes), accumulate=True)
    majority = counts.argmax(dim=1)
    rows, cols = linear_sum_assignment(counts.numpy(), maximize=True)
    n = predicted.numel()
    return {
        "purity": float(counts.max(dim=1).values.sum()) / n,
        "matched_accuracy": float(counts[rows, cols].sum()) / n,
        "majority": majority.tolist(),
        "distinct_majorities": len(set(majority.tolist())),
    }


@torch.no_grad()
def conditional_predictions(
    generator: nn.Module, predict: Callable[[Tensor], Tensor], per_class: int, seed: int = 0
) -> tuple[Tensor, Tensor]:
    """(requested, predicted) classes for ``per_class`` samples of every class of a
    class-conditional generator network (in eval mode)."""
    num_classes = int(getattr(generator, "num_classes", 0))
    assert num_classes, "class agreement needs a class-conditional generator"
    requested = torch.arange(num_classes).repeat_interleave(per_class)
    inputs = draw_inputs(generator, len(requested), seed, requested)
    x = generate(generator, inputs, next(generator.parameters()).device)
    return requested, predict(x).cpu()


@torch.no_grad()
def code_predictions(
    generator: nn.Module,
    predict: Callable[[Tensor], Tensor],
    per_value: int,
    code: int = 0,
    seed: int = 0,
) -> tuple[Tensor, Tensor]:
    """(code values, predicted classes) for ``per_value`` samples with each value of the
    categorical code number ``code`` of an InfoGAN generator network; the noise and the other
    codes are drawn from the prior."""
    codes = list(getattr(generator, "codes", []))
    assert code < len(codes) and codes[code] != "uniform", (
        f"code {code} of {codes} is not a categorical code"
    )
    values = torch.arange(int(codes[code])).repeat_interleave(per_value)
    noise, parts = generator.split_latent(draw_latents(generator, len(values), seed))  # type: ignore[operator]
    parts[code] = values
    latent = generator.join_latent(noise, parts)  # type: ignore[operator]
    x = generator(latent.to(next(generator.parameters()).device))
    return values, predict(x).cpu()
