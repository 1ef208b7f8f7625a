"""``ganlab-anomaly`` / ``python -m ganlab.anomaly``: anomaly detection with a GAN trained on
normal data only (:mod:`ganlab.anomaly`), in two stages.

    python -m ganlab.anomaly fit data=mnist5k normal_classes=[0,1,2,3,4,5,6,7,8]
    python -m ganlab.anomaly score ckpt=<run>/checkpoints/last.ckpt
"""

from __future__ import annotations

import sys

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from ganlab.anomaly import STAGES, AnomalyError, fit, score
from ganlab.cli.runner import hydra_program
from ganlab.cli.train import USER_ERRORS as TRAIN_ERRORS
from ganlab.config import name_run


@hydra_program("anomaly", (AnomalyError, *TRAIN_ERRORS))
def _main(cfg: DictConfig) -> None:
    if cfg.stage == "fit":
        name_run(cfg, HydraConfig.get().runtime.choices)
        fit(cfg)
    elif cfg.stage == "score":
        score(cfg)
    else:
        raise AnomalyError(f"stage must be one of {list(STAGES)}; got {cfg.stage!r}")


def main() -> None:
    """``ganlab-anomaly fit|score <overrides>`` (or ``stage=fit|score``)."""
    if len(sys.argv) > 1 and sys.argv[1] in STAGES:
        sys.argv[1] = f"stage={sys.argv[1]}"
    _main()
