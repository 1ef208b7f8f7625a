"""Lightning callbacks: sample grids, in-training metrics, run length, process lifecycle."""

from ganlab.callbacks.divergence import DivergenceGuard
from ganlab.callbacks.doctor import GANDoctor
from ganlab.callbacks.evaluation import FeatureMetricsMonitor
from ganlab.callbacks.histograms import LogitHistograms
from ganlab.callbacks.last_checkpoint import LastCheckpoint
from ganlab.callbacks.mixture import MixtureCoverageMonitor
from ganlab.callbacks.periodic import EveryKimg
from ganlab.callbacks.preemption import Preemption
from ganlab.callbacks.progress import RunProgressBar, progress_bar
from ganlab.callbacks.runtime import DestroyProcessGroup, KimgBudget
from ganlab.callbacks.samples import SampleGrid
from ganlab.callbacks.translation import TranslationMonitor

__all__ = [
    "DestroyProcessGroup",
    "DivergenceGuard",
    "EveryKimg",
    "FeatureMetricsMonitor",
    "GANDoctor",
    "KimgBudget",
    "LastCheckpoint",
    "LogitHistograms",
    "MixtureCoverageMonitor",
    "Preemption",
    "RunProgressBar",
    "SampleGrid",
    "TranslationMonitor",
    "progress_bar",
]
