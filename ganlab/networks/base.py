"""What every generator and discriminator shares: the :class:`Generator` and
:class:`Discriminator` bases, with class conditioning and an auxiliary head as options of any
architecture; drawing a generator's inputs is :mod:`ganlab.sampling`.

Any network can be class-conditional (``num_classes > 0``):

- generator ``conditioning="concat"`` (CGAN, Mirza & Osindero 2014): a learned label embedding
  is concatenated to ``z``; ``"batchnorm"`` (as in SNGAN-projection and BigGAN): conditional
  BatchNorm, a per-class gain and bias after each normalization;
- discriminator ``conditioning="concat"``: the label embedding joins the input (as extra
  channels over the image, or extra features of a vector); ``"projection"`` (Miyato & Koyama
  2018): the logit gains ``<embed(y), features(x)>``; ``"none"`` leaves D unconditional (ACGAN
  classifies instead, through an auxiliary head).

A discriminator may also carry an auxiliary head on its features (``aux_outputs``): ACGAN's
class logits or InfoGAN's Q network.

>>> import torch
>>> bn = ConditionalBatchNorm(4, num_classes=3)
>>> bn(torch.randn(2, 4, 5, 5), torch.tensor([0, 2])).shape
torch.Size([2, 4, 5, 5])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypedDict

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganlab.networks.init import initialize
from ganlab.networks.layers import apply_spectral_norm, minibatch_layer

G_CONDITIONING = ("concat", "batchnorm")
D_CONDITIONING = ("none", "concat", "projection")
NOISE_PRIORS = ("normal", "uniform")


def check_labels(labels: Tensor | None, num_classes: int, who: str) -> None:
    """A conditional network needs labels in ``[0, num_classes)``; an unconditional one none."""
    if num_classes == 0:
        assert labels is None, (
            f"this {who} is unconditional (num_classes=0) but was given labels: build it with "
            "num_classes=${data.num_classes} or use an unconditional model"
        )
        return
    assert labels is not None, (
        f"this {who} is class-conditional (num_classes={num_classes}): pass labels (B,)"
    )
    assert labels.dim() == 1 and labels.dtype == torch.long, (
        f"labels must be a (B,) int64 tensor of class indices, got {labels.dtype} "
        f"{tuple(labels.shape)}"
    )


class Conditioned(nn.Module):
    """A layer whose forward takes ``(x, labels)``; :class:`LabelSequential` passes them on."""


def apply(module: nn.Module, x: Tensor, labels: Tensor | None) -> Tensor:
    """``module(x, labels)`` for :class:`Conditioned` layers, ``module(x)`` for the rest."""
    return module(x, labels) if isinstance(module, Conditioned) else module(x)


class LabelSequential(nn.Sequential, Conditioned):
    """``nn.Sequential`` that hands the labels to its :class:`Conditioned` layers (same
    state-dict layout as ``nn.Sequential``)."""

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        for module in self:
            x = apply(module, x, labels)
        return x


class ConditionalBatchNorm(Conditioned):
    """BatchNorm without its own affine, then a gain and bias looked up per class (gain
    initialized to 1, bias to 0, so it starts as plain BatchNorm); for ``(B, C)`` features
    (``dims=1``) or ``(B, C, H, W)`` maps (``dims=2``)."""

    def __init__(self, num_features: int, num_classes: int, dims: int = 2) -> None:
        super().__init__()
        assert dims in (1, 2), f"dims must be 1 (vectors) or 2 (feature maps), got {dims}"
        norm = nn.BatchNorm1d if dims == 1 else nn.BatchNorm2d
        self.norm = norm(num_features, affine=False)
        self.gain = nn.Embedding(num_classes, num_features)
        self.bias = nn.Embedding(num_classes, num_features)
        nn.init.ones_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        assert labels is not None, "conditional BatchNorm needs the class labels"
        trailing = (1,) * (x.dim() - 2)  # broadcast over positions of feature maps
        gain = self.gain(labels).view(*labels.shape, -1, *trailing)
        return self.norm(x) * gain + self.bias(labels).view(*labels.shape, -1, *trailing)


class LabelEmbedding(nn.Module):
    """Class index -> learned vector of ``dim`` (default: ``num_classes``, like a one-hot)."""

    def __init__(self, num_classes: int, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim or num_classes
        self.embedding = nn.Embedding(num_classes, self.dim)

    def forward(self, labels: Tensor) -> Tensor:
        return self.embedding(labels)


class Generator(nn.Module):
    """What every generator shares: its input (``latent_dim`` wide: noise, then any InfoGAN
    codes), ``shape``, optional class conditioning.

    The noise prior is ``noise="normal"`` (standard normal, the default) or ``"uniform"``
    (uniform on [-1, 1], InfoGAN's and DCGAN's original choice).

    InfoGAN codes (Chen et al. 2016) are listed in ``codes``: an int ``k`` is a categorical
    code (one-hot of ``k`` values), ``"uniform"`` a continuous code uniform on [-1, 1]. They are
    named ``c1, c2, ...`` in that order; :func:`ganlab.sampling.draw_latents` draws the noise
    and the codes from their priors.

    Subclasses call :meth:`_init_inputs` first, build their network for :attr:`input_dim`
    inputs with :meth:`batchnorm` layers, run it on ``self.latent_input(z, labels)``, and
    last initialize their weights with :func:`~ganlab.networks.init.initialize`.

    >>> from ganlab.sampling import draw_latents
    >>> g = Generator()
    >>> g._init_inputs(3, (2,), 0, "concat", None, codes=[4, "uniform"])
    >>> g.latent_dim, g.code_names
    (8, ['c1', 'c2'])
    >>> noise, codes = g.split_latent(draw_latents(g, 5))
    >>> noise.shape, codes[0].dtype, codes[1].shape
    (torch.Size([5, 3]), torch.int64, torch.Size([5]))
    >>> g._init_inputs(1000, (2,), 0, "concat", None, noise="uniform")
    >>> z = draw_latents(g, 4)
    >>> bool(z.abs().max() <= 1), bool(z.min() < -0.9 and z.max() > 0.9)
    (True, True)
    """

    latent_dim: int
    shape: tuple[int, ...]
    num_classes: int = 0
    noise: str = "normal"

    def _init_inputs(
        self,
        latent_dim: int,  # noise dimensions (the codes come on top)
        shape: Sequence[int],
        num_classes: int | None,  # ${data.num_classes}; None or 0 = unconditional
        conditioning: str,  # "concat" (embedding joins z) or "batchnorm" (class gains/biases)
        embed_dim: int | None,  # size of the concatenated label embedding (None: num_classes)
        codes: Sequence[int | str] = (),  # InfoGAN codes: k (categorical) or "uniform"
        noise: str = "normal",  # the noise prior: "normal" or "uniform" (on [-1, 1])
    ) -> None:
        assert conditioning in G_CONDITIONING, (
            f"generator conditioning must be one of {G_CONDITIONING}, got {conditioning!r}"
        )
        assert noise in NOISE_PRIORS, (
            f"the generator's noise prior must be one of {NOISE_PRIORS}, got {noise!r}: set "
            "model.generator.noise"
        )
        for code in codes:
            assert code == "uniform" or (isinstance(code, int) and code >= 2), (
                f"each InfoGAN code is a number of categories (>= 2) or 'uniform', got {code!r}"
            )
        self.noise_dim = latent_dim
        self.noise = noise
        self.codes = list(codes)
        self.latent_dim = latent_dim + sum(_code_width(code) for code in self.codes)
        self.shape = tuple(shape)
        self.num_classes = int(num_classes or 0)
        self.conditioning = conditioning if self.num_classes else "none"
        self.label_embedding: LabelEmbedding | None = None
        if self.conditioning == "concat":
            self.label_embedding = LabelEmbedding(self.num_classes, embed_dim)

    @property
    def code_names(self) -> list[str]:
        return [f"c{i + 1}" for i in range(len(self.codes))]

    @property
    def input_dim(self) -> int:
        """Width of the network's input: the latent plus the label embedding when concatenated."""
        extra = self.label_embedding.dim if self.label_embedding is not None else 0
        return self.latent_dim + extra

    def batchnorm(self, channels: int, dims: int = 2) -> nn.Module:
        """The BatchNorm of a generator block (``dims=1`` for MLPs): conditional under
        ``conditioning="batchnorm"``."""
        if self.conditioning == "batchnorm":
            return ConditionalBatchNorm(channels, self.num_classes, dims)
        return nn.BatchNorm1d(channels) if dims == 1 else nn.BatchNorm2d(channels)

    def latent_input(self, z: Tensor, labels: Tensor | None) -> Tensor:
        check_labels(labels, self.num_classes, "generator")
        assert z.dim() == 2 and z.shape[1] == self.latent_dim, (
            f"expected latents of shape (B, {self.latent_dim}), got {tuple(z.shape)}"
        )
        if self.label_embedding is None:
            return z
        assert labels is not None
        return torch.cat([z, self.label_embedding(labels)], dim=1)

    def split_latent(self, latent: Tensor) -> tuple[Tensor, list[Tensor]]:
        """The noise and each code's values: category indices (B,) or continuous values (B,)."""
        noise, *parts = latent.split([self.noise_dim, *map(_code_width, self.codes)], dim=1)
        values = [
            part.squeeze(1) if code == "uniform" else part.argmax(dim=1)
            for code, part in zip(self.codes, parts, strict=True)
        ]
        return noise, values

    def join_latent(self, noise: Tensor, values: Sequence[Tensor]) -> Tensor:
        """The inverse of :meth:`split_latent`: a latent from noise and code values."""
        parts = [noise]
        for code, value in zip(self.codes, values, strict=True):
            uniform = code == "uniform"
            parts.append(value[:, None].float() if uniform else F.one_hot(value, int(code)).float())
        return torch.cat(parts, dim=1)


def _code_width(code: int | str) -> int:
    """Latent dimensions of one InfoGAN code: ``k`` for k categories, 1 for a uniform code."""
    return 1 if code == "uniform" else int(code)


class DiscriminatorOptions(TypedDict, total=False):
    """The options every discriminator takes besides its trunk's own (flat config keys such as
    ``model.discriminator.conditioning``): what sits on the trunk's features and how the
    weights start. Defaults: no minibatch layer (group 4 for ``stddev``), unconditional,
    no auxiliary head, PyTorch's init."""

    minibatch: str  # "none", "stddev" or "discrimination", on the features before the logit
    minibatch_group: int  # group size for minibatch="stddev"
    num_classes: int | None  # ${data.num_classes}; > 0 with conditioning: class-conditional
    conditioning: str  # "none", "concat" (the label joins the input) or "projection"
    embed_dim: int | None  # size of the concatenated label embedding (None: num_classes)
    aux_outputs: int  # width of an auxiliary head (ACGAN classes, InfoGAN Q); 0: none
    aux_hidden: int  # hidden width of that head (0: a single linear layer)
    init: str  # weight init (ganlab.networks.init): "default", "dcgan", "orthogonal", ...


class Discriminator(nn.Module):
    """What every discriminator shares: ``self.net`` is a Sequential whose last layer maps the
    features to one logit; class conditioning and an auxiliary head act on those features.

    Subclasses take their trunk's own arguments and ``**options``
    (:class:`DiscriminatorOptions`); they call :meth:`_init_options` first, build ``self.net``
    for :attr:`input_shape` (with :meth:`_minibatch_layer` before the last layer), then
    :meth:`_init_heads` with the width of the flattened features, and last
    :meth:`_init_weights`.
    """

    shape: tuple[int, ...]
    net: nn.Sequential
    flatten_input = False  # MLPs see every input as a flat vector
    num_classes: int = 0

    def _init_options(self, shape: Sequence[int], options: DiscriminatorOptions) -> None:
        unknown = sorted(set(options) - DiscriminatorOptions.__optional_keys__)
        if unknown:  # what Python says of an unknown keyword (configs are checked earlier)
            raise TypeError(
                f"{type(self).__name__}() got an unexpected keyword argument {unknown[0]!r}"
            )
        conditioning = options.get("conditioning", "none")
        assert conditioning in D_CONDITIONING, (
            f"discriminator conditioning must be one of {D_CONDITIONING}, got {conditioning!r}"
        )
        self.options = options
        self.shape = tuple(shape)
        # conditioning="none" makes an unconditional D (ACGAN's), whatever num_classes says
        num_classes = options.get("num_classes")
        self.num_classes = int(num_classes or 0) if conditioning != "none" else 0
        self.conditioning = conditioning if self.num_classes else "none"
        self.label_embedding: LabelEmbedding | None = None
        self.projection: nn.Embedding | None = None
        self.aux_head: nn.Module | None = None
        if self.conditioning == "concat":
            self.label_embedding = LabelEmbedding(self.num_classes, options.get("embed_dim"))

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape ``self.net`` sees: the label embedding joins the input under "concat"."""
        extra = self.label_embedding.dim if self.label_embedding is not None else 0
        if self.flatten_input or len(self.shape) == 1:
            return (math.prod(self.shape) + extra,)
        return (self.shape[0] + extra, *self.shape[1:])

    def _minibatch_layer(self, features: int) -> tuple[nn.Module | None, int]:
        """The ``minibatch`` option's layer on ``features`` (None for "none") and the width it
        adds (:func:`~ganlab.networks.layers.minibatch_layer`)."""
        kind = self.options.get("minibatch", "none")
        return minibatch_layer(kind, features, group_size=self.options.get("minibatch_group", 4))

    def _init_heads(self, features: int) -> None:
        """The projection and auxiliary head on the flattened ``features`` the last layer of
        ``self.net`` reads."""
        if self.conditioning == "projection":
            self.projection = nn.Embedding(self.num_classes, features)
            nn.init.xavier_uniform_(self.projection.weight)
        aux_outputs, aux_hidden = (
            self.options.get("aux_outputs", 0),
            self.options.get("aux_hidden", 0),
        )
        if aux_outputs:
            self.aux_head = (
                nn.Sequential(
                    nn.Linear(features, aux_hidden),
                    nn.LeakyReLU(0.2),
                    nn.Linear(aux_hidden, aux_outputs),
                )
                if aux_hidden
                else nn.Linear(features, aux_outputs)
            )

    def _init_weights(
        self,
        spectral_norm: bool,  # then spectral normalization on every conv and linear layer
    ) -> None:
        initialize(self, self.options.get("init", "default"))
        if spectral_norm:  # after the init: the power iteration starts from the final weights
            apply_spectral_norm(self)

    def _input(self, x: Tensor, labels: Tensor | None) -> Tensor:
        check_labels(labels, self.num_classes, "discriminator")
        if self.flatten_input:
            x = torch.flatten(x, 1)
        if self.label_embedding is None:
            return x
        assert labels is not None
        embedded = self.label_embedding(labels)
        if x.dim() == 2:
            return torch.cat([x, embedded], dim=1)
        planes = embedded[:, :, None, None].expand(-1, -1, *x.shape[2:])  # one plane per dim
        return torch.cat([x, planes], dim=1)

    def forward(
        self, x: Tensor, labels: Tensor | None = None, aux: bool = False
    ) -> Tensor | tuple[Tensor, Tensor]:
        """Logits ``(B,)``; with ``aux=True`` also the auxiliary head's outputs
        ``(B, aux_outputs)`` from the same features."""
        features = self.net[:-1](self._input(x, labels))
        logits = self.net[-1](features).flatten()
        flat = features.flatten(1)
        if self.projection is not None:
            assert labels is not None
            logits = logits + (self.projection(labels) * flat).sum(dim=1)
        if not aux:
            return logits
        assert self.aux_head is not None, "this discriminator has no auxiliary head (aux_outputs=0)"
        return logits, self.aux_head(flat)

    def head_parameters(self) -> list[nn.Parameter]:
        """The auxiliary head's parameters (InfoGAN trains its Q head with the generator)."""
        return list(self.aux_head.parameters()) if self.aux_head is not None else []
