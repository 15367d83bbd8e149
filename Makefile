# Two commands for a fresh clone: `make demo` and `make test`. No root needed.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# the lent GPU machine's Python (docs/gpu.md); the rehearsal uses this machine's
GPU_PYTHON ?= 3.12
GPU_WHEELS ?= .gpu/wheels-$(GPU_PYTHON)

.PHONY: demo test venv bench scale typecheck lint format-check format gpu-wheels gpu-check load clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m grader.demo

test: $(STAMP)
	$(PY) -m pytest -q tests

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# ruff (pyproject.toml [tool.ruff]), as .ci/run runs it: the lint rules, then the format check
# (which files `make format` would change). `make format` formats the tree.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format-check: $(STAMP)
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .

bench: $(STAMP)
	$(PY) benchmarks/bench.py

# grader batch over 100 and 1,000 submissions, and a re-run with nothing to do (benchmarks/scale.py)
scale: $(STAMP)
	$(PY) benchmarks/scale.py

# the wheels a lent GPU machine lacks (cp$(GPU_PYTHON), x86-64; never torch), into $(GPU_WHEELS), with
# their size: run here, where the registry is reachable (gpu/wheels.py, docs/gpu.md)
gpu-wheels:
	$(PYTHON) gpu/wheels.py --python-version $(GPU_PYTHON) --dest $(GPU_WHEELS)

# the GPU path (tests/gpu/test_gpu.py: the tests marked `gpu` and the CPU checks beside them) on a lent machine, offline, with its own python3 and torch:
# installs $(GPU_WHEELS) and the grader with pip --no-index --target, prints torch, CUDA and the
# device, grades a sample, runs the tests; log in $$OUT/gpu-check.log (gpu/check.py, docs/gpu.md).
# Needs no .venv. Without a CUDA device the tests skip and say why.
gpu-check:
	$(PYTHON) gpu/check.py --wheels $(GPU_WHEELS) $(if $(OUT),--out $(OUT))

# a class of 300, one in ten hostile or faulty (benchmarks/load.py; tests/batch/test_load.py runs 30)
load: $(STAMP)
	$(PY) benchmarks/load.py

clean:
	rm -rf $(VENV) demo-output
