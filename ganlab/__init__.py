"""ganlab: every major GAN variant from one Hydra command line, on PyTorch Lightning."""

from importlib.metadata import PackageNotFoundError, version

from ganlab.config import register_resolvers
from ganlab.generator import TrainedGenerator, Translator, load_generator, load_translator

try:
    __version__ = version("ganlab")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

register_resolvers()

__all__ = ["TrainedGenerator", "Translator", "__version__", "load_generator", "load_translator"]
