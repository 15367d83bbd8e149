# Two commands for a fresh clone: `make demo` and `make test`. No root needed.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test venv bench scale typecheck lint gpu-check load clean

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

# ruff (pyproject.toml [tool.ruff]): the lint rules, then the format the code is kept in
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(STAMP)
	$(PY) benchmarks/bench.py

# grader batch over 100 and 1,000 submissions, and a re-run with nothing to do (benchmarks/scale.py)
scale: $(STAMP)
	$(PY) benchmarks/scale.py

# the GPU path (tests marked `gpu`, tests/test_gpu.py), in one go, in under five minutes; on a
# machine without a CUDA device each is skipped and the summary says why
gpu-check: $(STAMP)
	@$(PY) -c "import torch; print('torch', torch.__version__, '| CUDA device:', torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none')"
	timeout 300 $(PY) -m pytest -m gpu -v -rA --durations=0 tests/test_gpu.py

# a class of 300, one in ten hostile or faulty (benchmarks/load.py; tests/test_load.py runs 30)
load: $(STAMP)
	$(PY) benchmarks/load.py

clean:
	rm -rf $(VENV) demo-output
