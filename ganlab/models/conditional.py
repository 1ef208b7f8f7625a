"""Class-conditional GANs: CGAN, the projection discriminator, ACGAN.

How labels enter the networks is a property of the networks (``num_classes``,
``conditioning``: see :mod:`ganlab.networks.base`), and the shared step already hands
them over, so CGAN (Mirza & Osindero 2014) and the projection discriminator (Miyato & Koyama
2018) are :class:`ConditionalGAN` with different network options. ACGAN (Odena et al. 2017)
adds a class loss on D's auxiliary classifier head for both players.
"""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F
from torch import Tensor

from ganlab.models.base import GAN, Batch


class ConditionalGAN(GAN):
    """A GAN whose generator makes samples of requested classes (fakes take the classes of the
    real batch, so both sides of D's loss see the same classes)."""

    needs_labels = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # the arguments of GAN
        super().__init__(*args, **kwargs)
        if not self.num_classes:
            raise ValueError(
                f"{type(self).__name__} is class-conditional, but its generator has no classes: "
                "the data is unlabelled (data.num_classes is null). Use labelled data "
                "(data=mnist5k, digits, mnist, fashion_mnist, cifar10) or an image_folder with "
                "one subfolder per class (data.labels=true data.num_classes=<K>)."
            )


class ACGAN(ConditionalGAN):
    """Auxiliary-classifier GAN: D also predicts the class of real and fake samples (its
    ``aux_outputs`` head has one logit per class); G is rewarded when its samples are
    classified as the class it was asked for."""

    def __init__(
        self,
        *args: Any,  # the arguments of GAN
        class_weight: float = 1.0,  # weight of the class loss in both players' losses
        classify_fakes: bool = True,  # D's class loss covers fakes too (Odena et al.)
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.class_weight = class_weight
        self.classify_fakes = classify_fakes
        assert self.has_aux_head, (
            "ACGAN needs a discriminator with a class head: set "
            "model.discriminator.aux_outputs=${data.num_classes}"
        )
        assert self.pack == 1, "ACGAN classifies single samples: use model.pack=1"

    def auxiliary_losses(
        self, player: str, batch: Batch, real_aux: Tensor | None, fake_aux: Tensor | None
    ) -> dict[str, Tensor]:
        assert fake_aux is not None and batch.fake_labels is not None
        assert fake_aux.shape[1] == self.num_classes, (
            f"D's class head has {fake_aux.shape[1]} outputs for {self.num_classes} classes: "
            "set model.discriminator.aux_outputs=${data.num_classes}"
        )
        fake_term = F.cross_entropy(fake_aux, batch.fake_labels)
        if player == "g":
            return {"g_class_loss": self.class_weight * fake_term}
        assert real_aux is not None and batch.labels is not None
        term = F.cross_entropy(real_aux, batch.labels)
        if self.classify_fakes:
            term = term + fake_term
        return {"d_class_loss": self.class_weight * term}
