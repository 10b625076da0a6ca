# The two commands of the README: `make demo` runs the main job, `make test` runs every test.
PY ?= python3
# Bytecode is cached as for any user: the tests start fulfil in fresh processes hundreds of
# times, and without the cache each one compiles every module again.
unexport PYTHONDONTWRITEBYTECODE
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow lint typecheck bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/fulfil --db sqlite:///demo.db demo

lint: $(STAMP)
	$(BIN)/ruff check engine cli.py __init__.py tests bench
	$(BIN)/ruff format --check engine cli.py __init__.py tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest

# The slow tests (marked `slow`): a real browser, the wheel in a fresh venv. .ci/run runs them too.
test-slow: $(STAMP)
	$(BIN)/pytest -m slow || [ $$? -eq 5 ]  # 5: no slow test collected

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) demo.db demo-report.html .pytest_cache .mypy_cache .ruff_cache
