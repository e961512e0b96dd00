# Everything a fresh machine needs: `make run` and `make test` create .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"

$(STAMP): $(BIN)/python pyproject.toml requirements.lock
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev,peer,ray,targets,pipecat]"
	$(BIN)/python -m pip install --quiet --no-deps -c requirements.lock livekit-agents
	touch $(STAMP)

install: $(STAMP)

# The reports are written even when a scenario failed (that is when they matter most); the
# run's exit code is kept (2 when only a report failed).
run: $(STAMP)
	$(BIN)/stageflow-stress run; rc=$$?; \
	$(BIN)/stageflow-stress report && $(BIN)/stageflow-stress report --html \
	    || [ $$rc -ne 0 ] || rc=2; \
	exit $$rc

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/stageflow-stress bench

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache
