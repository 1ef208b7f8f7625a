"""Learning tests of image-to-image translation: short fixed-seed CPU runs on the offline
tasks. Pix2Pix on the paired ``data=edges2digits``, judged on the 1,000 held-out pairs by the
digit classifier trained on real digits (does the output read as the digit whose edges went
in?) and by the distance to the target. CycleGAN on the unpaired ``data=mnist2digits``, judged
by label preservation (does each target domain's classifier read a translation as the source
image's digit?) and by how well images come back through both translators.

Thresholds are calibrated over seeds x CPU kernels x threads (``tests/learning/CALIBRATION.md``,
``benchmarks/calibrate_learning.py``) and sit with a margin below the worst calibrated case.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from helpers import fit
from test_conditional_learning import predictor

from ganlab.metrics.translation import cycle_scores, paired_scores
from ganlab.models import CycleGAN, Pix2Pix

# The pix2pix preset at half width (ngf = ndf = 32) on 32 px digits: 4.2 M + 0.7 M parameters
SMALL_PIX2PIX = [
    "model=pix2pix",
    "data=edges2digits",
    "model.generator.base_channels=32",
    "model.discriminator.base_channels=32",
    "callbacks.sample_grid.every_kimg=100000",  # PNG grids only cost time here
]


def test_pix2pix_translates_held_out_edges_into_the_right_digits(
    tmp_path: Path,
    digit_classifier: torch.nn.Module,
    learning_seed: int,
    record_learning: Callable[..., None],
) -> None:
    model, datamodule = fit(tmp_path, *SMALL_PIX2PIX, "max_kimg=16", f"seed={learning_seed}")
    assert isinstance(model, Pix2Pix)
    held_out = datamodule.held_out()  # the 1,000 held-out pairs
    source, target, labels = held_out.source, held_out.target, held_out.labels
    output = model.translate(source)
    read = predictor(digit_classifier)
    agreement = float((read(output) == labels).float().mean())
    untranslated = float((read(source) == labels).float().mean())  # the edges as they are
    scores = paired_scores(output, target)
    before = paired_scores(source, target)
    model.inference = "eval"  # BatchNorm's running statistics instead of each batch's
    agreement_eval = float((read(model.translate(source)) == labels).float().mean())
    record_learning(
        agreement=agreement, agreement_eval=agreement_eval, untranslated=untranslated, **scores
    )
    # calibrated (CALIBRATION.md, seeds 0-2 x default/avx2/unset x 1-2 threads): agreement
    # 0.935-0.948 (0.946-0.954 in eval mode; the edge maps as they are: 0.719), L1
    # 0.066-0.070 (0.327 untranslated), SSIM 0.888-0.894 (0.391). The 0.9 keeps a margin
    # of 0.035
    assert agreement >= 0.9, f"{agreement:.3f} of translated edge maps read as their digit"
    assert scores["l1"] < 0.5 * before["l1"] and scores["ssim"] > before["ssim"]


# The cyclegan preset narrowed for a CPU (ngf = ndf = 8, 3 residual blocks: 0.2 M parameters
# per generator) on 32 px digits
SMALL_CYCLEGAN = [
    "model=cyclegan",
    "data=mnist2digits",
    "model.generator.base_channels=8",
    "model.generator.n_blocks=3",
    "model.discriminator.base_channels=8",
    "callbacks.sample_grid.every_kimg=100000",
    "callbacks.translation.every_kimg=100000",
]


def test_cyclegan_translates_digits_both_ways_and_back(
    tmp_path: Path,
    digit_classifier: torch.nn.Module,
    framed_digits_classifier: torch.nn.Module,
    learning_seed: int,
    record_learning: Callable[..., None],
) -> None:
    model, datamodule = fit(tmp_path, *SMALL_CYCLEGAN, "max_kimg=16", f"seed={learning_seed}")
    assert isinstance(model, CycleGAN)
    mnist, digits = datamodule.held_out()  # A: 1,000 MNIST digits, B: 359 framed 8x8 digits
    read_mnist, read_digits = predictor(digit_classifier), predictor(framed_digits_classifier)

    def agreement(read: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, y) -> float:
        return float((read(x) == y).float().mean())

    to_digits, to_mnist = (
        model.translate(mnist.images),
        model.translate(digits.images, reverse=True),
    )
    figures = {
        # label preservation: each target domain's classifier on the translations ...
        "a2b": agreement(read_digits, to_digits, mnist.labels),
        "b2a": agreement(read_mnist, to_mnist, digits.labels),
        # ... and on the source images as they are
        "a2b_untranslated": agreement(read_digits, mnist.images, mnist.labels),
        "b2a_untranslated": agreement(read_mnist, digits.images, digits.labels),
        # the reference of a translator that learned only the 8x8 set's rendering (UCI's
        # reduction of each digit to 8x8 counts): what the judge's errors on MNIST writers'
        # digits leave reachable A -> B
        "a2b_rendered": agreement(
            read_digits, datamodule.domains["B"].render(mnist.images), mnist.labels
        ),
        **cycle_scores(model.translate, mnist.images, digits.images),
    }
    record_learning(**figures)
    # calibrated (CALIBRATION.md: 9 runs, seeds 0-1 x default/avx2/unset x 1-2 threads):
    # 8x8 digits -> MNIST read as their digit 74.4-78.6% (untranslated 63.0%: +11.4 to +15.6
    # points), MNIST -> 8x8 digits 43.7-48.0% (untranslated 57.1%; the same digits rendered
    # as the 8x8 set 56.9%: the judge, fitted on 13 writers (the UCI test set), reads MNIST's no
    # better in the target's style, so the issue's +15 points is out of any translator's
    # reach in this direction; docs/translation.md), cycle L1 0.110-0.116 (MNIST round trip)
    # and 0.066-0.079. Asserted with a margin: B -> A at least 5 points above the
    # untranslated images (6.4 below the worst run), A -> B at least 30% (three times chance;
    # 13.7 below), both cycle L1 at most 0.15 (0.034 above)
    assert figures["b2a"] >= figures["b2a_untranslated"] + 0.05, figures
    assert figures["a2b"] >= 0.3, figures
    assert max(figures["cycle_l1_a"], figures["cycle_l1_b"]) <= 0.15, figures
