"""Metrics people can quote: FID, KID, IS, precision/recall, density/coverage, mode coverage.

Feature metrics (``fidelity``, ``prdc``) are torchmetrics ``Metric``s on features that one
:class:`FeatureExtractor` computes per image batch; :class:`Evaluator` wires them together and
records how every number was measured. ``mixture`` scores 2-D Gaussian mixtures;
``translation`` scores outputs of a paired translation against their targets (L1, PSNR, SSIM).
"""

from ganlab.metrics.classifier import ClassifierFeatures, StackedClassifierFeatures
from ganlab.metrics.evaluation import Evaluator, MetricRecord, ReferenceCache, ReferenceKey
from ganlab.metrics.features import FeatureExtractor
from ganlab.metrics.fidelity import FID, KID, InceptionScore
from ganlab.metrics.inception import InceptionFeatures
from ganlab.metrics.mixture import MixtureCoverage, mixture_coverage
from ganlab.metrics.modes import ModeCount
from ganlab.metrics.prdc import DensityCoverage, PrecisionRecall
from ganlab.metrics.translation import cycle_scores, paired_scores

__all__ = [
    "FID",
    "KID",
    "ClassifierFeatures",
    "DensityCoverage",
    "Evaluator",
    "FeatureExtractor",
    "InceptionFeatures",
    "InceptionScore",
    "MetricRecord",
    "MixtureCoverage",
    "ModeCount",
    "PrecisionRecall",
    "ReferenceCache",
    "ReferenceKey",
    "StackedClassifierFeatures",
    "cycle_scores",
    "mixture_coverage",
    "paired_scores",
]
