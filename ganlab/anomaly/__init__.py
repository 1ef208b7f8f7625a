"""Anomaly detection with a GAN trained on normal data only.

    python -m ganlab.anomaly fit data=mnist5k normal_classes=[0,1,2,3,4,5,6,7,8]
    python -m ganlab.anomaly score ckpt=<run>/checkpoints/last.ckpt
    python -m ganlab.anomaly score ckpt=... score.methods=[inversion] inversion.steps=500

(``fit``/``score`` may also be written ``stage=fit``/``stage=score``; the command line, also
installed as ``ganlab-anomaly``, is :mod:`ganlab.cli.anomaly`.) ``fit`` is ``ganlab.train`` on
the normal classes of a seeded, stratified split of the data: a share ``holdout`` of every
class is held out for testing, and the rest of the normal classes is trained on. After the GAN
it trains f-AnoGAN's encoder (``encoder.fit``) with G and D frozen. ``score`` gives every
held-out image (all classes) one anomaly score per method of ``score.methods``:
``discriminator``, ``inversion`` (AnoGAN), ``encoder`` (f-AnoGAN), ``knn`` (a baseline without
the GAN) and, with ``score.combine=[inversion,discriminator]``, ``combined``
(:mod:`ganlab.anomaly.scores` has their maths).

It writes ``scores.csv`` (per image: index, label, anomalous, one column per method) and,
where labels are known, ``auroc.json`` (AUROC per method and per anomalous class, with the
checkpoint, classes, image count and method parameters) and prints the table.

``score`` builds the checkpoint's generator and discriminator, and the data recorded in
``anomaly.json``, only where every ``_target_`` they name is on ganlab's allow-list
(:mod:`ganlab.stored`; the recorded data module still reads, or downloads into, the folder it
names); the checkpoint is checked before anything is read or written, and ``trust=true``
builds what the list refuses.

- :mod:`ganlab.anomaly.scores`: the scoring maths, plain PyTorch (no Lightning, no configs);
- :mod:`ganlab.anomaly.stages`: :func:`fit` and :func:`score`, the stages as functions of the
  config (``conf/anomaly.yaml``).
"""

from ganlab.anomaly.scores import (
    AnomalyError,
    DiscriminatorFeatures,
    auroc,
    combine_scores,
    discriminator_scores,
    encoder_loss,
    encoder_scores,
    fit_encoder,
    inversion_scores,
    invert,
    knn_scores,
    load_discriminator,
    residual_score,
)
from ganlab.anomaly.stages import METHODS, STAGES, fit, score, table, train_encoder

__all__ = [
    "METHODS",
    "STAGES",
    "AnomalyError",
    "DiscriminatorFeatures",
    "auroc",
    "combine_scores",
    "discriminator_scores",
    "encoder_loss",
    "encoder_scores",
    "fit",
    "fit_encoder",
    "inversion_scores",
    "invert",
    "knn_scores",
    "load_discriminator",
    "residual_score",
    "score",
    "table",
    "train_encoder",
]
