"""``ganlab-fit-classifier`` / ``python -m ganlab.fit_classifier``: train the in-domain
classifier behind ``metrics/feature=classifier`` (:func:`ganlab.fit_classifier.fit_classifier`);
returns its held-out accuracy."""

from __future__ import annotations

from omegaconf import DictConfig

from ganlab.cli.runner import hydra_program
from ganlab.data.base import DataError
from ganlab.fit_classifier import fit_classifier


@hydra_program("fit_classifier", (DataError,))
def main(cfg: DictConfig) -> float:
    return fit_classifier(cfg)
