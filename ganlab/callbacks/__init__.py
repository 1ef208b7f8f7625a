"""Lightning callbacks: sample grids, in-training metrics, run length, process lifecycle."""

from ganlab.callbacks.evaluation import FeatureMetricsMonitor
from ganlab.callbacks.mixture import MixtureCoverageMonitor
from ganlab.callbacks.periodic import EveryKimg
from ganlab.callbacks.runtime import DestroyProcessGroup, KimgBudget
from ganlab.callbacks.samples import SampleGrid

__all__ = [
    "DestroyProcessGroup",
    "EveryKimg",
    "FeatureMetricsMonitor",
    "KimgBudget",
    "MixtureCoverageMonitor",
    "SampleGrid",
]
