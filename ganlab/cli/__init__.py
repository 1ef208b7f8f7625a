"""ganlab's command-line programs: one thin module each over the library, installed as commands
(``[project.scripts]`` in ``pyproject.toml``) that also run as ``python -m ganlab.<program>``.

- ``ganlab-train`` (:mod:`ganlab.cli.train`): train any GAN (:mod:`ganlab.train`);
- ``ganlab-sample`` (:mod:`ganlab.cli.sample`): draw from a checkpoint (:mod:`ganlab.sample`);
- ``ganlab-translate`` (:mod:`ganlab.cli.translate`): translate images with a translation
  model's checkpoint (:mod:`ganlab.translate`);
- ``ganlab-evaluate`` (:mod:`ganlab.cli.evaluate`): score a checkpoint or an image folder;
- ``ganlab-export`` (:mod:`ganlab.cli.export`): TorchScript / ONNX generators;
- ``ganlab-anomaly`` (:mod:`ganlab.cli.anomaly`): anomaly detection, ``fit`` and ``score``;
- ``ganlab-report`` (:mod:`ganlab.cli.report`): a sweep's runs side by side;
- ``ganlab-fit-classifier`` (:mod:`ganlab.cli.fit_classifier`): the in-domain classifier.

The Hydra programs (all but ``report``) share one runner, :func:`ganlab.cli.runner.hydra_program`:
the config it composes, and how an error the user can fix ends the program (one line, no
traceback).
"""
