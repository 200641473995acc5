"""Accelerator kinds: what the build flow needs to know of one kind of accelerator IP.

A kind says how to generate its Vitis HLS project and what the exported IP looks like from the block
design: its AXI4-Lite control bundle, its AXI4-Stream ports (fed and drained by the AXI DMA) and any
AXI4 masters of its own to DDR (a layer-sequential engine reads weights and activations there). The
flow and the block-design template only read these fields, so a new kind plugs in by registering one
:class:`AcceleratorKind`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..errors import HiltError


@dataclass(frozen=True)
class AcceleratorKind:
    name: str
    summary: str
    # generate(q, out_dir, board, freq_mhz, plan, name, source) -> the HLS project's manifest (dict); plan is
    # the build's hilt.plan.HardwarePlan
    generate: Callable[..., dict]
    control: str = "s_axi_control"   # AXI4-Lite bundle (Vitis HLS names it s_axi_<bundle>)
    stream_in: str | None = "in_r"    # AXI4-Stream slave fed by the DMA's MM2S (Vitis renames `in` to in_r)
    stream_out: str | None = "out_r"  # AXI4-Stream master drained by the DMA's S2MM
    masters: tuple[str, ...] = ()     # the IP's own AXI4 masters to DDR (m_axi_<bundle>)
    clock: str = "ap_clk"
    reset: str = "ap_rst_n"
    interrupt: str = "interrupt"
    # plan(net, board, freq_mhz, bits, cap, plan_path) -> hilt.build.plan.Plan, raising HiltError with the
    # reason when the board cannot hold the design; None: the streaming pipeline's DSE (hilt.build.plan)
    plan: Callable | None = None
    # masters_for(hardware) -> the m_axi bundles of the IP a plan builds, when they depend on it (None: ``masters``)
    masters_for: Callable | None = None
    # quantize(model, data, bits, calib or None) -> the QModel the generated project is built from
    quantize: Callable | None = None
    # driver(hls_manifest, hardware) -> {"interface": the manifest's interface (None: the streaming one),
    # "manifest": further manifest fields, "files": files of the HLS project the overlay folder carries}
    driver: Callable | None = None
    project_qmodel: bool = True  # `hilt csim` on the project reads qmodel.npz there (the engine has its model.npz)
    extra: dict = field(default_factory=dict)


KINDS: dict[str, AcceleratorKind] = {}


def register(kind: AcceleratorKind) -> AcceleratorKind:
    KINDS[kind.name] = kind
    return kind


def get(name: str) -> AcceleratorKind:
    if name not in KINDS:
        raise HiltError(f"--kind {name}: unknown accelerator kind (known: {', '.join(sorted(KINDS))})")
    return KINDS[name]


def for_plan(kind: AcceleratorKind, hardware) -> AcceleratorKind:
    """The kind with the ports of the IP this plan builds."""
    from dataclasses import replace

    return replace(kind, masters=kind.masters_for(hardware)) if kind.masters_for else kind


def _generate_streaming(q, out_dir, board, freq_mhz, plan, name=None, source=""):
    from ..codegen.project import compile_project

    return compile_project(q, out_dir, board, freq_mhz, name=name, source=source, plan=plan)


def _quantize_streaming(model, data, bits, calib=None):
    from ..codegen.command import load_quantized
    from ..quant.calibrate import CALIBRATION_IMAGES

    return load_quantized(model, data, bits, calib or CALIBRATION_IMAGES)


register(AcceleratorKind(
    name="streaming",
    summary="dataflow pipeline, one unit per layer, weights on chip (hilt compile)",
    generate=_generate_streaming, quantize=_quantize_streaming,
))


def _sequential() -> AcceleratorKind:
    from . import engine_kind as ek

    return AcceleratorKind(
        name="sequential",
        summary="layer-sequential engine, weights and activations in DDR, programmed by descriptors (docs/engine.md)",
        generate=ek.generate_engine, stream_in=None, stream_out=None, masters=ek.master_bundles(1),
        plan=ek.plan_engine, masters_for=lambda cfg: ek.master_bundles(cfg.wports), quantize=ek.quantize_engine,
        driver=ek.driver, project_qmodel=False)


register(_sequential())
