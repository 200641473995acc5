"""The "sequential" accelerator kind: the layer-sequential engine (hilt.engine) as a build-flow IP.

The engine has no streams and so no AXI DMA: its own AXI4 masters read descriptors, parameters and
activations in one DDR buffer and write activations back (templates/engine/top.cpp.j2 declares the
bundles: gmem0 the input activations, gmem1 the parameters and descriptors, gmem2 the output activations,
gmem3.. the extra weight masters when the DSE chose more than one), spread over the PS's HP ports. Its plan is the engine's DSE
(hilt.dse.sequential) on the board, so the cycles the build reports are the roofline of the code it emits.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import HiltError
from ..ir import Network

# Vitis HLS s_axilite layout of the engine top (ap_ctrl_hs): ctrl/GIE/IER/ISR, then each argument from 0x10 in
# declaration order, a 64-bit pointer taking data low, data high and a reserved word, a 32-bit scalar a data word
# and a reserved word. The exported IP's driver header (vitis_hls/solution1/impl/ip/drivers) is the authority.
POINTER_SPAN, SCALAR_SPAN, FIRST_ARG = 0x0C, 0x08, 0x10


def master_bundles(wports: int) -> tuple[str, ...]:
    """The m_axi interfaces of an engine with ``wports`` weight masters, as Vitis HLS names them: the weight
    masters first (gmem1, which also reads the descriptors, then gmem3..), then the activations (gmem0 in, gmem2
    out). The block design deals them round robin over the PS's four HP ports, so each weight master has a
    port's full width, as the engine's DSE counts it."""
    return ("m_axi_gmem1", *[f"m_axi_gmem{i + 2}" for i in range(1, wports)], "m_axi_gmem0", "m_axi_gmem2")


def pointer_args(wports: int) -> list[str]:
    return ["act_in", "params", *[f"wts{i}" for i in range(1, wports)], "act_out", "descs"]


def register_map(wports: int) -> dict:
    """The engine top's AXI4-Lite registers: every pointer is the DDR image's base plus the offset the
    descriptors assume (all of them the image's base address; the descriptors hold offsets from it)."""
    regs, offset = {"ctrl": 0x00, "gie": 0x04, "ier": 0x08, "isr": 0x0C}, FIRST_ARG
    for arg in pointer_args(wports):
        regs[arg] = offset
        offset += POINTER_SPAN
    regs["count"] = offset
    return {"protocol": "ap_ctrl_hs", "registers": regs, "pointer_bits": 64,
            "span": 1 << (offset + SCALAR_SPAN - 1).bit_length()}


@dataclass
class EnginePlan:
    """What the flow reads of a plan (hilt.build.plan.Plan's fields), for the engine's configuration."""

    hardware: object  # hilt.dse.sequential.EngineConfig, rendered into the engine project's defines
    cycles_per_sample: int
    latency_cycles: int
    ms: float
    resources: dict
    source: str = "dse"
    mode: str = "infer"  # the engine runs forward passes; training does the backward pass on the host

    @property
    def plan(self) -> dict:
        return {"source": self.source, "engine": "sequential", "config": self.hardware.to_json(),
                "cycles_per_sample": self.cycles_per_sample, "ms": self.ms, "resources": self.resources}


def plan_engine(net: Network, board, freq_mhz: float, bits: int, cap: float, plan_path: str | None = None):
    from ..dse.sequential import EngineConfig, search

    if plan_path is not None:
        raise HiltError("--plan sets the streaming pipeline's per-layer units; the layer-sequential engine takes its "
                        "VEC x LANE from its own DSE (`hilt dse MODEL --engine sequential`)")
    if bits != 8:
        raise HiltError(f"the layer-sequential engine computes int8; use --bits 8 (not {bits})")
    try:
        best = search(net, board, freq_mhz, cap)
    except HiltError as err:
        raise HiltError(f"{net.name} does not fit {board.name} even as the layer-sequential engine: {err}") from None
    cycles = int(best["cycles"])
    return EnginePlan(EngineConfig(**best["config"]), cycles, cycles, float(best["ms"]), dict(best["resources"]))


def generate_engine(q, out_dir, board, freq_mhz, plan, name=None, source=""):
    from ..engine.project import write_project

    man = write_project(q, out_dir, plan, board, freq_mhz, fuse_relu=True, source=source, name=name)
    man["layers"] = [s["name"] for s in man["steps"]]  # one descriptor per computed layer (fused ReLUs folded in)
    return man


def quantize_engine(model: str, data: str, bits: int, calib: int | None):
    """Forward-only calibration on as many images as `hilt compile --engine sequential` takes."""
    from ..engine.command import calibrate, calibration_count, network_for
    from ..validate import load_quantized

    if model.endswith(".npz"):
        return load_quantized(model)
    net = network_for(model)
    return calibrate(net, data, calibration_count(net, calib), bits)


def driver(hls: dict, cfg) -> dict:
    """What a driver needs to run the overlay: the register map (the manifest's ``interface``), and in the
    manifest's ``engine`` the DDR image's file, size, descriptor count and regions; the overlay folder carries
    ddr.bin (descriptors and packed parameters) and program.json (every region and descriptor field)."""
    engine = {"ddr_image": "ddr.bin", "program": "program.json", "config": cfg.to_json(),
              "image_bytes": hls["image_bytes"], "count": hls["count"], "input": hls["input"],
              "activations": hls["activations"], "masters": list(master_bundles(cfg.wports)),
            "pointers": "every pointer register holds the image's physical base: the descriptors start at offset 0 "
                        "and hold the offsets of everything else"}
    return {"interface": {"control": register_map(cfg.wports)}, "manifest": {"engine": engine},
            "files": ("ddr.bin", "program.json")}
