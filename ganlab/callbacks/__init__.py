"""Lightning callbacks: sample grids, run length, process lifecycle."""

from ganlab.callbacks.runtime import DestroyProcessGroup, KimgBudget
from ganlab.callbacks.samples import SampleGrid

__all__ = ["DestroyProcessGroup", "KimgBudget", "SampleGrid"]
