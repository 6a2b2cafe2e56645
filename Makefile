# wasm-rr developer entry points. Every target creates .venv/ (pinned versions) when missing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
RR     := $(VENV)/bin/wasm-rr
STAMP  := $(VENV)/.installed-dev
GSTAMP := $(VENV)/.installed-guests
OUT    := out

.PHONY: all demo demo-resume test lint golden golden-update guests bench clean

all: test

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,cluster]'
	@# Byte-compile now: an editable install does not, and with PYTHONDONTWRITEBYTECODE set every
	@# start of wasm-rr would compile its modules again (about 40 ms).
	$(PY) -m compileall -q wasm_rr > /dev/null
	touch $@

$(GSTAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,guests]'
	touch $@

# The flaky job: hunt until a run fails, then replay the failure three times.
demo: $(STAMP)
	@mkdir -p $(OUT)
	@echo "== hunting guests/build/flaky.wasm until a run fails (fails 1 run in 32)"
	@$(RR) hunt guests/build/flaky.wasm -o $(OUT)/flaky.cbor
	@echo "== replaying $(OUT)/flaky.cbor (it carries the guest): same line, same exit status"
	@for i in 1 2 3; do $(RR) replay $(OUT)/flaky.cbor; echo "   (exit $$?)"; done
	@echo "== NAME=ann recorded, NAME=bob replayed"
	@NAME=ann $(RR) record guests/build/greet.wasm -t $(OUT)/greet.cbor --env NAME
	@NAME=bob $(RR) replay guests/build/greet.wasm $(OUT)/greet.cbor

# A transfer killed mid-effect, resumed, replayed; fails unless the bank made exactly 1 transfer.
demo-resume: $(STAMP)
	$(PY) demo/resume_demo.py

lint: $(STAMP)
	$(PY) -m ruff check wasm_rr tests golden benchmarks demo guests/build.py
	$(PY) -m ruff format --check wasm_rr tests golden benchmarks demo guests/build.py
	$(PY) -m mypy wasm_rr

test: $(STAMP) lint
	$(PY) -m pytest

golden: $(STAMP)
	$(PY) golden/run.py

golden-update: $(STAMP)
	$(PY) golden/run.py --update

guests: $(GSTAMP)
	$(PY) guests/build.py

bench: $(STAMP)
	$(PY) benchmarks/run.py
	$(PY) benchmarks/big.py
	$(PY) benchmarks/p2.py
	$(PY) benchmarks/resume.py
	$(PY) benchmarks/real.py
	$(PY) benchmarks/fuzz.py
	$(PY) benchmarks/hunt.py
	$(PY) benchmarks/startup.py

clean:
	rm -rf $(OUT) .pytest_cache .mypy_cache .ruff_cache
