# `make test` and `make demo` create .venv and install the package on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

.PHONY: test demo lint format bench clean

$(STAMP): pyproject.toml constraints.txt
	@test -n "$(PYTHON)" || { echo "need python3.11 (or python3 >= 3.10) on PATH"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt -e '.[dev,hardware]'
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q -m "not hardware" --timeout=900

demo: $(STAMP)
	$(VENV)/bin/fouroptics demo --out demo_out --resume

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(STAMP)
	$(PY) benchmarks/fourf_speed.py

clean:
	rm -rf $(VENV) demo_out .pytest_cache
