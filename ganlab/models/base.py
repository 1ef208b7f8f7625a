"""The canonical GAN system: one alternating discriminator/generator step for every variant.

:class:`GAN` owns what every GAN shares — manual optimization of named players
(:class:`~ganlab.models.players.Player`: D, then G every ``n_critic`` batches), manually stepped
schedulers, an EMA generator, a fixed latent batch for sample grids and an images-shown counter
(kimg). A variant overrides only the hooks that differ:

- :meth:`unpack_batch` — what a batch holds (``Batch``: real data, labels, conditioning input);
- :meth:`generate` — how the generator is driven (latents, labels, an input image);
- :meth:`discriminator_loss` / :meth:`generator_loss` — objectives plus any regularizers;
- :meth:`discriminate` — how D scores a batch (packing; conditioning in conditional variants);
- :meth:`discriminator_parameters` / :meth:`generator_parameters` — who each optimizer owns
  (e.g. InfoGAN's Q head trains with the generator);
- :meth:`players` — the players themselves, for a system with more networks per side (each
  player owns all of its side's networks, under one optimizer).

The stabilizers of the literature are options of this one step, so any objective combines with
any network and any stabilizer: named D regularizers (gradient penalties, R1/R2, weight
clipping), PacGAN packing, DiffAugment and annealed instance noise on every D input, and
unrolled D steps for G's loss (Metz et al. 2017) evaluated with ``torch.func.functional_call``.

Networks, objectives, optimizers and schedulers arrive either as objects or as Hydra
``_target_`` mappings (how ``ganlab.train`` passes them). Mappings are stored as hyperparameters,
so ``GAN.load_from_checkpoint`` and :func:`ganlab.load_generator` rebuild the networks from the
checkpoint alone.
"""

from __future__ import annotations

import copy
import functools
import io
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import lightning as L
import torch
from hydra.utils import instantiate
from lightning.pytorch.core.saving import CHECKPOINT_PAST_HPARAMS_KEYS
from torch import Tensor, nn
from torch.func import functional_call
from typing_extensions import Self

import ganlab
from ganlab import rng
from ganlab.augment import DInputTransform
from ganlab.checkpoints import CheckpointError, read_checkpoint
from ganlab.compat import drop_hyperparameters, logs_this_step
from ganlab.loggers import log_now, wandb_run_id
from ganlab.losses import AdversarialLoss, NonSaturating, Regularizer
from ganlab.models.divergence import DivergenceError, NonFinite
from ganlab.models.ema import EMA, ema_update
from ganlab.models.legacy import LEGACY_KEYS, upgrade
from ganlab.models.players import OptimizerFactory, Player, Schedulers, detached
from ganlab.models.unrolled import Unroll
from ganlab.networks.layers import pack
from ganlab.precision import PerOptimizerMixedPrecision
from ganlab.sampling import MAX_GRID_CLASSES, class_grid_labels, draw_inputs, generate
from ganlab.stored import check_stored

DEFAULT_EMA = EMA()  # half-life 10 kimg

# The EMA generator stays in eval mode by design (it is only ever evaluated).
warnings.filterwarnings("ignore", message=r"Found \d+ module\(s\) in eval mode")


@dataclass
class Batch:
    """One training batch as the GAN hooks see it."""

    real: Tensor  # samples from the data distribution, (B, *shape)
    labels: Tensor | None = None  # class labels (B,) where the dataset has them
    fake_labels: Tensor | None = None  # labels the fakes are generated for (conditional G)
    latent: Tensor | None = None  # the generator input of this batch's fakes (set by generate)
    # what an input-driven G makes the fakes from, one per real sample (Pix2Pix's A image, a
    # low-resolution image): set by the unpack_batch of a system whose G takes an input
    source: Tensor | None = None

    @property
    def size(self) -> int:
        return self.real.shape[0]


def _build(spec: Any) -> Any:
    """An object as given, or one instantiated from a Hydra ``_target_`` mapping."""
    return instantiate(spec) if isinstance(spec, Mapping) else spec


def grad_norm(parameters: Iterable[nn.Parameter]) -> Tensor:
    """Global L2 norm of the gradients that exist (0 when none do), in one fused pass."""
    grads = [p.grad.detach() for p in parameters if p.grad is not None]
    return torch.nn.utils.get_total_norm(grads) if grads else torch.zeros(())


class GAN(L.LightningModule):
    """GAN trained with alternating D/G steps (Goodfellow et al. 2014); class-conditional when
    its networks are (see :mod:`ganlab.models.conditional`)."""

    # read from the class by ganlab.validation before anything is built
    needs_labels: ClassVar[bool] = False  # class-conditional: the data must be labelled
    # D judges (source, sample) pairs: every D input is joined to the batch's source (channels)
    judges_pairs: bool = False

    def __init__(
        self,
        generator: nn.Module | Mapping[str, Any],
        discriminator: nn.Module | Mapping[str, Any],
        g_optimizer: OptimizerFactory | Mapping[str, Any],  # called with G's parameters
        d_optimizer: OptimizerFactory | Mapping[str, Any],  # called with D's parameters
        loss: AdversarialLoss | Mapping[str, Any] | None = None,  # default: non-saturating
        schedulers: Schedulers | Mapping[str, Any] | None = None,  # of G and D, and when
        n_critic: int = 1,  # discriminator steps (batches) per generator step
        grad_clip: float | None = None,  # clip each player's gradient norm to this value
        regularizer: Mapping[str, Regularizer | Mapping[str, Any]] | None = None,  # by log name
        d_input: Mapping[str, DInputTransform | Mapping[str, Any]] | None = None,  # in order
        pack: int = 1,  # PacGAN: D scores groups of `pack` samples (its input shape must match)
        unroll: Unroll | Mapping[str, Any] | None = None,  # G's loss sees D steps ahead
        ema: EMA | Mapping[str, Any] | None = DEFAULT_EMA,  # the EMA generator; None: none
    ) -> None:
        arguments = {k: v for k, v in locals().items() if k not in ("self", "__class__")}
        super().__init__()
        assert n_critic >= 1, f"n_critic must be >= 1, got {n_critic}"
        assert pack >= 1, f"pack must be >= 1 (1 = no packing), got {pack}"
        self.automatic_optimization = False
        # Hydra mappings are plain data: keep them so the checkpoint can rebuild the model.
        objects = [k for k, v in arguments.items() if not _is_plain(v)]
        with warnings.catch_warnings():  # a subclass's networks given as objects (its own
            # arguments, which `objects` misses) are dropped right after: no advice needed
            warnings.filterwarnings("ignore", message=r"Attribute '\w+' is an instance of")
            self.save_hyperparameters(ignore=objects)
        drop_hyperparameters(self, [k for k, v in self.hparams.items() if not _is_plain(v)])

        self.generator: nn.Module = _build(generator)
        self.discriminator: nn.Module = _build(discriminator)
        self.loss: AdversarialLoss = _build(loss) if loss is not None else NonSaturating()
        self._g_optimizer, self._d_optimizer = g_optimizer, d_optimizer
        self.schedulers: Schedulers = _build(schedulers) if schedulers is not None else Schedulers()
        self.n_critic = n_critic
        self.grad_clip = grad_clip
        self.regularizers: dict[str, Regularizer] = {
            name: _build(spec) for name, spec in (regularizer or {}).items()
        }
        self.d_input: dict[str, DInputTransform] = {
            name: _build(spec) for name, spec in (d_input or {}).items()
        }
        self.pack = pack
        self.unroll: Unroll | None = _build(unroll)
        self.ema: EMA | None = _build(ema)
        self.generator_ema: nn.Module | None = None
        if self.ema is not None:
            self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False).eval()

        # 0: G is driven by an input (Batch.source), not by latents drawn from a prior
        self.latent_dim = int(getattr(self.generator, "latent_dim", 0))
        self.sample_shape = tuple(int(s) for s in self.generator.shape)
        self.num_classes = int(getattr(self.generator, "num_classes", 0))  # 0: unconditional G
        self.d_conditional = int(getattr(self.discriminator, "num_classes", 0)) > 0
        self.has_aux_head = getattr(self.discriminator, "aux_head", None) is not None
        assert not (self.d_conditional and pack > 1), (
            "PacGAN packing mixes samples of different classes: use model.pack=1 with a "
            "class-conditional discriminator"
        )
        # of one Batch.source, for a G driven by an input; () for a G of latents
        self.source_shape = tuple(int(s) for s in getattr(self.generator, "source_shape", ()))
        judged = self.sample_shape  # what D judges of one sample: with its source, for pairs
        if self.judges_pairs:
            judged = (self.source_shape[0] + judged[0], *judged[1:])
        _check_packed_input(self.discriminator, judged, pack)
        for name, transform in self.d_input.items():
            assert len(self.sample_shape) == 3 or not getattr(transform, "images_only", False), (
                f"model.d_input.{name} ({type(transform).__name__}) is for images (C, H, W), but "
                f"samples have shape {self.sample_shape}: drop it (model/d_input=instance_noise "
                "works on any data)"
            )
        self.images_seen = 0  # real images shown to D, summed over processes
        self.batches = 0  # batches trained (the same count in every process)
        self.turns: dict[str, int] = {}  # steps taken per player name (skipped ones too)
        self._rng_states: list[dict[str, Any]] | None = None  # from a checkpoint, per process
        self.nonfinite: NonFinite | None = None  # a skipped non-finite step, until handled
        self.step_stats: dict[str, Tensor] = {}  # this step's losses, logits, gradient norms
        self._throughput_mark: tuple[float, int] | None = None  # (time, images) at the last log

    # ----------------------------------------------------------------- hooks a variant overrides
    def unpack_batch(self, batch: Any) -> Batch:
        if isinstance(batch, Tensor):
            return Batch(real=batch)
        real, *rest = batch
        labels = rest[0] if rest else None
        # a conditional G makes fakes of the batch's classes, so both sides see the same classes
        return Batch(real=real, labels=labels, fake_labels=labels if self.num_classes else None)

    def sample_latent(self, n: int) -> Tensor:
        self._needs_latents("sample_latent")
        return draw_inputs(self.generator, n).latent.to(self.device)

    def _needs_latents(self, what: str) -> None:
        assert self.latent_dim > 0, (
            f"{type(self).__name__}.{what}: its generator takes an input (Batch.source), not "
            "latents; the system overrides generate, seeded_fakes and sample_grid to drive it"
        )

    def seeded_fakes(self, batch: Batch, seed: int) -> Tensor:
        """Fakes for ``batch`` from G in its current mode, drawn from a stream seeded with
        ``seed`` (the global random state untouched, so a monitor calling it leaves training
        as it would have been); the batch's fake labels for a conditional G."""
        rng = torch.Generator().manual_seed(seed)
        self._needs_latents("seeded_fakes")
        inputs = draw_inputs(self.generator, batch.size, rng, batch.fake_labels)
        return generate(self.generator, inputs, self.device)

    def generate(self, batch: Batch, generator: nn.Module | None = None) -> Tensor:
        """Fake samples for ``batch`` (one per real sample), from G or another generator."""
        generator = generator or self.generator
        batch.latent = self.sample_latent(batch.size)
        if self.num_classes:
            return generator(batch.latent, batch.fake_labels)
        return generator(batch.latent)

    def discriminate(
        self,
        x: Tensor,
        labels: Tensor | None = None,  # classes of x, for a class-conditional D
        params: Mapping[str, Tensor] | None = None,
    ) -> Tensor:
        """D's logits for a batch of D inputs: one per pack of ``pack`` consecutive samples.

        ``params`` evaluates D with other parameter values (unrolled D) via ``functional_call``.
        """
        return self._call_discriminator(x, labels, params, aux=False)

    def discriminate_aux(
        self,
        x: Tensor,
        labels: Tensor | None = None,
        params: Mapping[str, Tensor] | None = None,
    ) -> tuple[Tensor, Tensor | None]:
        """D's logits and its auxiliary head's outputs (None when D has no such head)."""
        if not self.has_aux_head:
            return self.discriminate(x, labels, params), None
        return self._call_discriminator(x, labels, params, aux=True)

    def _call_discriminator(
        self, x: Tensor, labels: Tensor | None, params: Mapping[str, Tensor] | None, aux: bool
    ) -> Any:
        args = (pack(x, self.pack), labels) if self.d_conditional else (pack(x, self.pack),)
        kwargs = {"aux": True} if aux else {}
        if params is None:
            return self.discriminator(*args, **kwargs)
        return functional_call(self.discriminator, dict(params), args, kwargs)

    def auxiliary_losses(
        self, player: str, batch: Batch, real_aux: Tensor | None, fake_aux: Tensor | None
    ) -> dict[str, Tensor]:
        """Losses on D's auxiliary head added to ``player``'s ("d" or "g") loss, by log name
        (ACGAN's class loss, InfoGAN's information loss); G's step has no ``real_aux``."""
        return {}

    def critic(self, labels: Tensor | None) -> Callable[[Tensor], Tensor]:
        """D as a function of its input alone (for penalties), labels bound where it needs them."""
        return functools.partial(self.discriminate, labels=labels)

    def judged(self, x: Tensor, batch: Batch) -> Tensor:
        """What D judges of samples ``x`` of ``batch``: ``x``, or for a D that judges pairs
        (:attr:`judges_pairs`) ``x`` joined to the batch's source along the channels."""
        if not self.judges_pairs:
            return x
        assert batch.source is not None, "a D that judges pairs needs the batch's source"
        return torch.cat([batch.source, x], dim=1)

    def discriminator_input(self, x: Tensor) -> Tensor:
        """What D sees of real or fake samples in training: ``x`` through each D-input
        transform in turn (e.g. DiffAugment, then instance noise)."""
        for transform in self.d_input.values():
            x = transform(x, kimg=self.kimg)
        return x

    def discriminator_loss(self, batch: Batch, fake: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """D's loss on real data and (detached) fakes plus due penalties, and values to log."""
        real = self.discriminator_input(self.judged(batch.real, batch))
        fake = self.discriminator_input(self.judged(fake, batch))
        real_logits, real_aux = self.discriminate_aux(real, batch.labels)
        fake_logits, fake_aux = self.discriminate_aux(fake, batch.fake_labels)
        loss = self.loss.discriminator(real_logits, fake_logits)
        self.step_stats["d_real_logits"] = real_logits.detach()  # for LogitHistograms
        self.step_stats["d_fake_logits"] = fake_logits.detach()
        logs = {
            "train/d_real": real_logits.detach().mean(),
            "train/d_fake": fake_logits.detach().mean(),
        }
        loss = _add_terms(loss, self.auxiliary_losses("d", batch, real_aux, fake_aux), logs)
        # interpolating penalties pair real and fake samples: both of the batch's classes
        return _add_terms(loss, self.penalties(self.critic(batch.labels), real, fake), logs), logs

    def penalties(
        self, critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor, suffix: str = ""
    ) -> dict[str, Tensor]:
        """The D regularizers' penalties due at this D step, for ``critic`` on these D inputs,
        by log name (``suffix`` tells apart the discriminators of a system with several)."""
        return {
            f"{name}{suffix}": regularizer.penalty(critic, real, fake)
            for name, regularizer in self.regularizers.items()
            if regularizer.is_penalty and regularizer.due(self.d_steps)
        }

    def generator_loss(self, batch: Batch, fake: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        params = self.unrolled_discriminator(batch, fake) if self.unroll is not None else None
        fake_in = self.discriminator_input(self.judged(fake, batch))
        logits, aux = self.discriminate_aux(fake_in, batch.fake_labels, params)
        loss = self.loss.generator(logits)
        logs: dict[str, Tensor] = {}
        return _add_terms(loss, self.auxiliary_losses("g", batch, None, aux), logs), logs

    def unrolled_discriminator(self, batch: Batch, fake: Tensor) -> dict[str, Tensor]:
        """D's parameters after ``unroll.steps`` steps of its optimizer on this batch.

        Computed out of place from a copy of D's optimizer state: D's real parameters and
        optimizer state are untouched. Second order, the unrolled parameters depend on G
        (through ``fake``), so G's gradient anticipates how D would react.
        """
        assert self.unroll is not None, "unrolled_discriminator needs model.unroll"
        d_opt = self.optimizer_of("d").optimizer  # the torch optimizer
        real = self.discriminator_input(self.judged(batch.real, batch))
        fake = fake if self.unroll.second_order else fake.detach()
        fake_in = self.discriminator_input(self.judged(fake, batch))

        def d_loss(params: dict[str, Tensor]) -> Tensor:
            logits = (
                self.discriminate(real, batch.labels, params),
                self.discriminate(fake_in, batch.fake_labels, params),
            )
            return self.loss.discriminator(*logits)

        return self.unroll.parameters(self.discriminator, d_opt, d_loss)

    def discriminator_parameters(self) -> Iterator[nn.Parameter]:
        return self.discriminator.parameters()

    def generator_parameters(self) -> Iterator[nn.Parameter]:
        return self.generator.parameters()

    # ------------------------------------------------------------------------- players
    def players(self) -> list[Player]:
        """The players in turn order: D on every batch, then G on every ``n_critic``-th.

        Their optimizers are built in this order (D's is optimizer 0, G's 1: checkpoints keep
        optimizer states by index). A system with more networks per side overrides this and
        :meth:`generate`, giving each player all of its side's networks under one optimizer
        (a CycleGAN's ``g`` owns both generators); the step itself stays the same.
        """
        return [
            Player(
                "d",
                self.discriminator_parameters,
                self._d_optimizer,
                self.discriminator_loss,
                self.schedulers.d,
                after_step=self._after_discriminator_step,
            ),
            Player(
                "g",
                self.generator_parameters,
                self._g_optimizer,
                self.generator_loss,
                self.schedulers.g,
                every=self.n_critic,
                generates=True,
                after_step=self._after_generator_step,
            ),
        ]

    def _after_discriminator_step(self, batch: Batch) -> None:
        for regularizer in self.regularizers.values():
            regularizer.after_step(self.discriminator)  # e.g. weight clipping

    def _after_generator_step(self, batch: Batch) -> None:
        # the EMA's half-life is in real images shown to D: this update covers the n_critic
        # batches D saw since the last one (equal sizes: the loaders drop the last batch)
        self.update_ema(self.n_critic * batch.size * self.trainer.world_size)

    @property
    def d_steps(self) -> int:
        """The discriminator's steps so far (skipped non-finite ones included)."""
        return self.turns.get("d", 0)

    @property
    def g_steps(self) -> int:
        """The generator's steps so far (skipped non-finite ones included)."""
        return self.turns.get("g", 0)

    # ------------------------------------------------------------------------ optimizers
    def configure_optimizers(self) -> Any:
        players = self.players()
        names = [player.name for player in players]
        assert len(set(names)) == len(names), (
            f"player names are log keys and checkpoint counters, so they must differ: {names}"
        )
        optimizers = [_build(player.optimizer)(player.parameters()) for player in players]
        schedulers = [
            _build(player.scheduler)(opt)
            for player, opt in zip(players, optimizers, strict=True)
            if player.scheduler is not None
        ]
        return optimizers, schedulers

    def optimizer_of(self, name: str) -> Any:
        """The optimizer (Lightning-wrapped) of the player called ``name``."""
        names = [player.name for player in self.players()]
        return _listed(self.optimizers())[names.index(name)]

    # ---------------------------------------------------------------------- training step
    def training_step(self, batch: Any, batch_idx: int) -> None:
        players = self.players()
        optimizers = _listed(self.optimizers())
        data = self.unpack_batch(batch)
        logging = logs_this_step(self.trainer)
        due = [(p, opt) for p, opt in zip(players, optimizers, strict=True) if p.due(self.batches)]
        # One generator pass serves every player: the others see it detached, and it keeps its
        # graph only on a batch where a player that generates (G) is due.
        with torch.set_grad_enabled(any(player.generates for player, _ in due)):
            outputs = self.generate(data)

        logs: dict[str, Tensor] = {}
        for player, opt in due:
            with self.toggled_optimizer(opt):
                seen = outputs if player.generates else detached(outputs)
                loss, player_logs = player.loss(data, seen)
                self._step(opt, loss, player.parameters, player.name, logging, logs)
                if player.after_step is not None:
                    player.after_step(data)
            logs.update(player_logs, **{f"train/{player.name}_loss": loss.detach()})
            self.step_stats[f"{player.name}_loss"] = loss.detach()
            self.turns[player.name] = self.turns.get(player.name, 0) + 1
            self._step_scheduler(players, player, "step")

        self.batches += 1
        self.images_seen += data.size * self.trainer.world_size
        if logging:
            logs["train/kimg"] = torch.tensor(self.kimg)
            for player, opt in zip(players, optimizers, strict=True):
                lr = opt.optimizer.param_groups[0]["lr"]
                logs[f"train/lr_{player.name}"] = torch.tensor(lr, dtype=torch.float64)
            if (speed := self._throughput()) is not None:
                logs["train/kimg_per_s"] = torch.tensor(speed, dtype=torch.float64)
            log_now(self.trainer, logs)

    def _throughput(self) -> float | None:
        """Thousands of real images per second since the previous call (wall clock: every
        callback's work counts), or None on the first call of a run."""
        now, last = (time.perf_counter(), self.images_seen), self._throughput_mark
        self._throughput_mark = now
        if last is None or now[0] <= last[0]:
            return None
        return (now[1] - last[1]) / 1000 / (now[0] - last[0])

    def _step(
        self,
        opt: Any,
        loss: Tensor,
        parameters: Callable[[], Iterable[nn.Parameter]],  # what opt owns (a player's)
        player: str,  # the player's name
        logging: bool,
        logs: dict[str, Tensor],
    ) -> None:
        opt.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        precision = self.trainer.precision_plugin
        if isinstance(precision, PerOptimizerMixedPrecision):
            precision.unscale(opt)  # norms, checks and clipping see the true gradients
        norm = grad_norm(parameters())
        self.step_stats[f"grad_norm_{player}"] = norm.detach()
        if logging:
            logs[f"train/grad_norm_{player}"] = norm
        # fp16 gradients are scaled: an inf there is the grad scaler's to handle (it skips)
        scaled = str(self.trainer.precision).startswith("16")
        if not bool(torch.isfinite(loss if scaled else norm)):  # one sync per step
            self._skip_nonfinite(opt, player, loss, norm)
            return
        if self.grad_clip is not None:
            self.clip_gradients(
                opt, gradient_clip_val=self.grad_clip, gradient_clip_algorithm="norm"
            )
        opt.step()

    def toggle_optimizer(self, optimizer: Any) -> None:
        super().toggle_optimizer(optimizer)
        precision = self.trainer.precision_plugin
        if isinstance(precision, PerOptimizerMixedPrecision):
            precision.use(optimizer)  # this player's gradient scaler

    def _skip_nonfinite(self, opt: Any, player: str, loss: Tensor, norm: Tensor) -> None:
        """Leave the weights as they are and record the first bad step for the divergence
        guard (:class:`~ganlab.callbacks.DivergenceGuard`), which stops or rolls back."""
        opt.zero_grad(set_to_none=True)
        precision = self.trainer.precision_plugin
        if isinstance(precision, PerOptimizerMixedPrecision):
            precision.skip(opt)
        if self.nonfinite is None:
            self.nonfinite = NonFinite(
                step=self.global_step,
                kimg=self.kimg,
                player=player,
                loss=float(loss.detach()),
                grad_norm=float(norm),
                precision=str(self.trainer.precision),
            )

    def on_train_batch_end(self, *args: Any) -> None:
        # runs after the callbacks: a bad step nobody handled (no DivergenceGuard) ends the run
        if self.nonfinite is not None and not self.trainer.should_stop:
            raise DivergenceError(self.nonfinite.message())

    def _step_scheduler(self, players: Sequence[Player], player: Player, interval: str) -> None:
        """Step ``player``'s scheduler, if it has one and it steps at ``interval``."""
        if self.schedulers.interval != interval or player.scheduler is None:
            return
        owners = [p.name for p in players if p.scheduler is not None]  # configure_optimizers'
        _listed(self.lr_schedulers())[owners.index(player.name)].step()

    def on_train_epoch_end(self) -> None:
        players = self.players()
        for player in players:
            self._step_scheduler(players, player, "epoch")

    # ------------------------------------------------------------------------------ EMA
    def update_ema(self, images: int) -> None:
        """Move the EMA generator towards G by ``images`` real images' worth of its half-life."""
        if self.generator_ema is None or self.ema is None:
            return
        ema_update(self.generator_ema, self.generator, self.ema.beta(images, self.images_seen))

    # ------------------------------------------------------------------------- sampling
    @property
    def kimg(self) -> float:
        return self.images_seen / 1000.0

    @property
    def sampling_generator(self) -> nn.Module:
        """The EMA generator where there is one (what grids and evaluation use), else G."""
        return self.generator_ema if self.generator_ema is not None else self.generator

    def sample_grid(self, n: int = 64, seed: int = 0) -> tuple[Tensor, int | None]:
        """About ``n`` samples of seeded latents for a grid (the same ones at every call) from
        the sampling generator in eval mode, and the images per row: for a conditional G of
        a few classes, a row per class."""
        self._needs_latents("sample_grid")
        k = self.num_classes
        labels = class_grid_labels(k, n) if k else None
        with evaluating(self.sampling_generator) as generator:
            inputs = draw_inputs(generator, len(labels) if labels is not None else n, seed, labels)
            samples = generate(generator, inputs, self.device)
        return samples, (len(samples) // k if 0 < k <= MAX_GRID_CLASSES else None)

    def sample(self, n: int, seed: int | None = None) -> Tensor:
        """``n`` samples from the sampling generator in eval mode; seeded latents if ``seed``
        (and classes drawn uniformly for a conditional G)."""
        self._needs_latents("sample")
        with evaluating(self.sampling_generator) as generator:
            return generate(generator, draw_inputs(generator, n, seed), self.device)

    # ----------------------------------------------------------------- checkpoint state
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["ganlab"] = {
            "version": ganlab.__version__,  # of the code that wrote it
            "images_seen": self.images_seen,
            "batches": self.batches,
            **{f"{p.name}_steps": self.turns.get(p.name, 0) for p in self.players()},
            "rng": rng.gather(rng.capture()),  # every process's, for an exact resume
            "wandb_id": wandb_run_id(self.trainer),  # a resumed run continues this W&B run
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        for key in ("fixed_z", "fixed_labels"):  # before ganlab 0.2: grid latents (redrawn now)
            checkpoint.get("state_dict", {}).pop(key, None)
        counters = checkpoint.get("ganlab", {})
        self.images_seen = int(counters.get("images_seen", 0))
        self.turns = {p.name: int(counters.get(f"{p.name}_steps", 0)) for p in self.players()}
        # a checkpoint from before named players has no count of batches: D stepped on each
        self.batches = int(counters.get("batches", self.d_steps))
        self._rng_states = counters.get("rng")

    @classmethod
    def load_from_checkpoint(  # type: ignore[override]  # a file path (read here first)
        cls,
        checkpoint_path: str | Path,
        map_location: Any = None,
        hparams_file: str | Path | None = None,
        strict: bool | None = None,
        weights_only: bool | None = None,  # always True: ganlab checkpoints need no more
        trust: bool = False,  # build stored targets outside ganlab's allow-list (see below)
        **kwargs: Any,
    ) -> Self:
        """Lightning's ``load_from_checkpoint``, safe for a checkpoint from anyone.

        The file is read with ``torch.load(weights_only=True)``, and every stored
        hyperparameter (the configs of the networks, loss, regularizers, optimizers) is
        checked by :func:`ganlab.stored.check_stored` before anything is built: a ``_target_``
        outside :data:`ganlab.stored.ALLOWED` is refused with a
        :class:`~ganlab.checkpoints.CheckpointError` naming it and the file, unless
        ``trust=True`` (then a warning names it; only for files you would run as code). The
        model is built from the checked copy. ``kwargs`` replace stored hyperparameters and,
        being the caller's own, are not checked; ``hparams_file`` is refused (a ganlab
        checkpoint holds its hyperparameters: pass changes as ``kwargs``).
        """
        if hparams_file is not None:
            raise CheckpointError(
                f"hparams_file={hparams_file}: a ganlab checkpoint holds its hyperparameters; "
                "pass the ones to change as keyword arguments"
            )
        checkpoint = read_checkpoint(checkpoint_path)
        stored: dict[str, Any] = {}  # what Lightning would pass to __init__ (newest key wins)
        for key in (*CHECKPOINT_PAST_HPARAMS_KEYS, cls.CHECKPOINT_HYPER_PARAMS_KEY):
            stored.update(checkpoint.pop(key, None) or {})
        source: str | Path | io.BytesIO = checkpoint_path
        if LEGACY_KEYS & stored.keys():  # written before ganlab 0.2: today's keys, same model
            try:
                stored = upgrade(stored)
            except (TypeError, ValueError) as error:
                raise CheckpointError(
                    f"{checkpoint_path}: its hyperparameters are ganlab 0.1's with values that "
                    f"version never wrote ({error}); it cannot be loaded"
                ) from error
            checkpoint[cls.CHECKPOINT_HYPER_PARAMS_KEY] = stored
            source = io.BytesIO()  # Lightning reads it again: from memory, without the old keys
            torch.save(checkpoint, source)
            source.seek(0)
        own = {k: v for k, v in stored.items() if k not in kwargs}
        checked = check_stored(own, checkpoint_path, trust)  # every stored key, now replaced
        return super().load_from_checkpoint(
            source, map_location, strict=strict, weights_only=True, **checked, **kwargs
        )

    def on_train_start(self) -> None:
        """Give each process its own random stream: the checkpoint's on a resume (so latents
        and noise continue exactly), else one derived from the seed and the process's rank
        (Lightning seeds every DDP process alike, which would repeat the same fakes on each)."""
        self._throughput_mark = None
        states, self._rng_states = self._rng_states, None
        rank, world = self.global_rank, self.trainer.world_size
        if states is not None and len(states) == world:
            rng.restore(states[rank])
            return
        if states is not None:
            warnings.warn(
                f"the checkpoint was written by {len(states)} processes and this run has {world}: "
                "training continues, but its random stream differs from the uninterrupted run's",
                stacklevel=1,
            )
        if world > 1:
            torch.manual_seed(rng.mix_seed(torch.initial_seed(), rank))


def _listed(value: Any) -> list[Any]:
    """Lightning's optimizers() and lr_schedulers() as lists (with one, it returns it alone)."""
    return value if isinstance(value, list) else [value]


def _add_terms(loss: Tensor, terms: Mapping[str, Tensor], logs: dict[str, Tensor]) -> Tensor:
    """``loss`` plus every named term, each logged as ``train/<name>``."""
    for name, term in terms.items():
        loss = loss + term
        logs[f"train/{name}"] = term.detach()
    return loss


def _check_packed_input(discriminator: nn.Module, judged: tuple[int, ...], m: int) -> None:
    """D must be built for packs of ``m`` of what it judges: ``m`` times its channels."""
    d_shape = getattr(discriminator, "shape", None)
    expected = (judged[0] * m, *judged[1:])
    assert d_shape is None or tuple(d_shape) == expected, (
        f"the discriminator's input shape {tuple(d_shape or ())} does not match pack={m} of "
        f"samples of shape {judged}: build D with shape {list(expected)} (the model "
        "configs do this with ${packed_shape:${data.shape},${model.pack}})"
    )


@contextmanager
def evaluating(module: nn.Module) -> Iterator[nn.Module]:
    """``module`` in eval mode without gradients, its previous mode restored afterwards."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            yield module
    finally:
        module.train(was_training)


def _is_plain(value: Any) -> bool:
    """True for values a checkpoint can hold as plain data (Hydra configs, numbers, strings)."""
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(_is_plain(v) for v in value)
    return value is None or isinstance(value, bool | int | float | str)
