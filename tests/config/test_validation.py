"""Config validation: wrong keys, types and combinations are refused before anything loads."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import CONF, TRANSLATION_PRESETS, compose_train, model_presets, run_cli
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from ganlab import validation
from ganlab.validation import ConfigError, check_combinations, check_model, check_targets


def test_a_misspelled_key_names_the_allowed_ones(tmp_path: Path) -> None:
    cfg = compose_train(tmp_path, "model=gan", "data=ring8", "+model.generator.hiden=[64]")
    with pytest.raises(ConfigError) as error:
        check_targets(cfg)
    message = str(error.value)
    assert message.startswith("model.generator.hiden is not an option of")
    assert "did you mean hidden?" in message and "latent_dim" in message


def test_a_misspelled_shared_data_option_is_refused(tmp_path: Path) -> None:
    cfg = compose_train(tmp_path, "model=cgan", "data=mnist5k", "+data.batch_sise=32")
    with pytest.raises(ConfigError) as error:
        check_targets(cfg)
    message = str(error.value)
    assert message.startswith(
        "data.batch_sise is not an option of ganlab.data.MNIST5k (did you mean batch_size?)"
    )
    assert "num_workers, pin_memory, seed, shape" in message


def test_a_misspelled_shared_discriminator_option_is_refused(tmp_path: Path) -> None:
    cfg = compose_train(
        tmp_path, "model=cgan", "data=mnist5k", "+model.discriminator.conditoning=concat"
    )
    with pytest.raises(ConfigError) as error:
        check_targets(cfg)
    message = str(error.value)
    assert message.startswith(
        "model.discriminator.conditoning is not an option of ganlab.networks.DCGANDiscriminator "
        "(did you mean conditioning?)"
    )
    assert "aux_outputs, base_channels" in message  # the trunk's own options and the shared


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("trainer.max_epochs=1.5", "trainer.max_epochs=1.5 has the wrong type"),
        ("model.generator.hidden=abc", "expected Sequence[int]"),
        ("model.n_critic=2.5", "model.n_critic=2.5 has the wrong type"),
        ("data.batch_size=true", "data.batch_size=True has the wrong type"),
    ],
)
def test_a_wrong_type_is_refused(tmp_path: Path, override: str, expected: str) -> None:
    cfg = compose_train(tmp_path, "model=gan", "data=ring8", override)
    with pytest.raises(ConfigError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        check_targets(cfg)


def test_required_arguments_and_imports() -> None:
    with pytest.raises(ConfigError, match=r"needs out_features; add net.out_features=\.\.\."):
        check_targets({"net": {"_target_": "torch.nn.Linear", "in_features": 2}})
    check_targets({"opt": {"_target_": "torch.optim.Adam", "_partial_": True, "lr": 1e-3}})
    with pytest.raises(ConfigError, match="cannot be imported"):
        check_targets({"net": {"_target_": "torch.nn.Linaer"}})


def test_what_cannot_be_checked_is_said_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "hintless.py").write_text(  # a hint naming what only type checkers import
        "from __future__ import annotations\n\ndef build(size: Unknown = 1) -> None: ...\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(validation, "_unchecked", set())
    config = {"a": {"_target_": "hintless.build", "size": "x"}, "b": {"_target_": "builtins.range"}}
    with pytest.warns(UserWarning) as caught:
        for _ in range(2):
            check_targets(config)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2, messages  # one per target, however often it is checked
    assert messages[0].startswith("config check: the argument types of hintless.build are not")
    assert "NameError: name 'Unknown' is not defined" in messages[0]
    assert "argument options and types of builtins.range are not checked" in messages[1]


def test_conditional_model_on_unlabelled_data(tmp_path: Path) -> None:
    for model in ("cgan", "acgan", "cgan_pd"):
        cfg = compose_train(tmp_path, f"model={model}", "data=celeba")
        with pytest.raises(ConfigError, match="class-conditional but the data is unlabelled"):
            check_combinations(cfg)
    check_combinations(compose_train(tmp_path, "model=cgan", "data=mnist5k"))


def test_image_networks_on_vector_data(tmp_path: Path) -> None:
    # an explicit choice wins over the data's kind, and the check names the fix
    for arch in ("dcgan", "resnet"):
        cfg = compose_train(tmp_path, "model=dcgan", f"model/arch={arch}", "data=ring8")
        with pytest.raises(ConfigError, match=r"image network but the data are 2-D vectors.*=mlp"):
            check_combinations(cfg)
    check_combinations(compose_train(tmp_path, "model=dcgan", "model/arch=mlp", "data=ring8"))


# the networks of each preset on images (conf/model/*.yaml); on vectors every preset uses MLPs
IMAGE_NETWORKS = {"gan": "MLP", "sngan": "ResNet", "cgan_pd": "ResNet"}  # the others: DCGAN


@pytest.mark.parametrize("model", model_presets())
def test_presets_follow_the_kind_of_data(tmp_path: Path, model: str) -> None:
    for data, family in (("grid25", "MLP"), ("mnist5k", IMAGE_NETWORKS.get(model, "DCGAN"))):
        cfg = compose_train(tmp_path, f"model={model}", f"data={data}")
        check_combinations(cfg)
        for key, role in (("generator", "Generator"), ("discriminator", "Discriminator")):
            assert cfg.model[key]._target_ == f"ganlab.networks.{family}{role}", (data, key)


@pytest.mark.parametrize("model", model_presets(translating=True))
def test_translation_presets_need_their_kind_of_image_data(tmp_path: Path, model: str) -> None:
    data = TRANSLATION_PRESETS[model]
    check_combinations(compose_train(tmp_path, f"model={model}", f"data={data}"))
    pairing = "unpaired" if model == "cyclegan" else "paired"
    fix = rf"translates {pairing} images.*use {pairing} data \(data="
    with pytest.raises(ConfigError, match=fix):
        check_combinations(compose_train(tmp_path, f"model={model}", "data=mnist5k", resolve=False))
    other = "edges2digits" if pairing == "unpaired" else "mnist2digits"
    with pytest.raises(ConfigError, match=fix):
        check_combinations(
            compose_train(tmp_path, f"model={model}", f"data={other}", resolve=False)
        )
    with pytest.raises(ConfigError, match=r"image network but the data are 2-D vectors"):
        check_combinations(compose_train(tmp_path, f"model={model}", "data=grid25", resolve=False))
    evaluated = ["callbacks.evaluation.every_kimg=10", f"data={TRANSLATION_PRESETS[model]}"]
    with pytest.raises(ConfigError, match=r"translates input images: set callbacks.evaluation"):
        check_combinations(compose_train(tmp_path, f"model={model}", *evaluated))


@pytest.mark.parametrize("data", sorted(p.stem for p in (CONF / "data").glob("*.yaml")))
def test_every_data_config_declares_its_kind(data: str) -> None:
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=[f"data={data}"], return_hydra_config=True)
    kind = cfg.hydra.runtime.choices.get("data/kind@_global_")
    assert kind == {1: "vector", 3: "image"}[len(cfg.data.shape)], (
        f"conf/data/{data}.yaml must name its kind in its defaults (kind@_global_: image or "
        f"vector, as its shape {list(cfg.data.shape)} says), got {kind}"
    )


def test_checks_read_what_classes_declare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A variant is judged by what its class declares, whatever it is called."""
    (tmp_path / "variants.py").write_text(
        "from ganlab.models import GAN\n"
        "from ganlab.networks import MLPGenerator\n\n\n"
        "class Labelled(GAN):\n    needs_labels = True\n\n\n"
        "class Pictures(MLPGenerator):\n    data_kinds = ('image',)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = compose_train(tmp_path, "model=gan", "data=celeba", "model._target_=variants.Labelled")
    with pytest.raises(ConfigError, match=r"variants\.Labelled is class-conditional"):
        check_combinations(cfg)
    cfg = compose_train(tmp_path, "data=ring8", "model.generator._target_=variants.Pictures")
    with pytest.raises(ConfigError, match=r"variants\.Pictures is an image network"):
        check_combinations(cfg)


def test_gradient_penalty_refuses_batchnorm_in_the_critic(tmp_path: Path) -> None:
    def model(*overrides: str) -> object:
        cfg = compose_train(tmp_path, "model=wgan_gp", "data=mnist5k", *overrides)
        return instantiate(cfg.model, _recursive_=False, _convert_="all")

    check_model(model())  # the preset's layer norm
    with pytest.raises(ConfigError, match=r"critic has BatchNorm.*norm=layer"):
        check_model(model("model.discriminator.norm=batch"))
    # R1 is computed on real samples as they are: BatchNorm does not change what it means
    check_model(model("model.discriminator.norm=batch", "model/regularizer=r1"))


def test_cli_refuses_before_loading_data(tmp_path: Path) -> None:
    # mnist is not on disk here: a config error must come first, as one line, no traceback
    out = run_cli(
        "ganlab.train",
        "data=mnist",
        f"paths.data_dir={tmp_path}/none",
        "+model.generator.base_channel=8",  # without the +, Hydra itself refuses it
        check=False,
    )
    assert "ConfigError: model.generator.base_channel is not an option" in out
    assert "did you mean base_channels?" in out
    assert "Traceback" not in out and "download" not in out.lower()
