"""An overlay folder as the board reads it: ``NAME.bit``, ``NAME.hwh``, ``manifest.json``, the quantized model.

The manifest's fields are the contract between the build flow and the driver (see docs/board.md).
Reading it needs the standard library and numpy only, so it runs on the board's own Python.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..accel import interface as itf
from ..errors import HiltError

REQUIRED = ("name", "family", "freq_mhz", "f_safe_mhz", "bitstream", "hwh", "qmodel", "interface", "ips", "clock",
            "taps", "weight_blocks", "cycles_per_sample")
IP_KEYS = ("accel", "dma", "clk_wiz", "reset_gpio")
FAMILIES = ("zynq7", "zynqmp")


@dataclass
class OverlayFolder:
    path: Path
    manifest: dict

    @property
    def bitfile(self) -> Path:
        return self.path / self.manifest["bitstream"]

    @property
    def hwh(self) -> Path:
        return self.path / self.manifest["hwh"]

    @property
    def qmodel_path(self) -> Path:
        return self.path / self.manifest["qmodel"]

    @property
    def family(self) -> str:
        return self.manifest["family"]

    @property
    def beat_bits(self) -> int:
        return int(self.manifest["interface"]["stream"]["beat_bits"])

    @property
    def taps(self) -> list[itf.Tensor]:
        return [itf.Tensor(t["name"], int(t["count"]), int(t["bits"])) for t in self.manifest["taps"]]

    @property
    def blocks(self) -> list[itf.WeightBlock]:
        return [itf.WeightBlock(b["name"], int(b["weights"]), int(b["weight_bits"]), int(b["biases"]),
                                int(b["bias_bits"])) for b in self.manifest["weight_blocks"]]

    @property
    def kind(self) -> str:
        """``streaming`` (the pipeline behind an AXI DMA) or ``sequential`` (the engine with its own masters)."""
        return self.manifest.get("kind", "streaming")

    @property
    def backward(self) -> bool:
        return bool(self.manifest.get("backward", False))

    def ip_name(self, role: str) -> str:
        return self.manifest["ips"][role]["name"]

    def layout(self, mode, samples: int):
        return itf.layout(mode, self.taps, self.blocks, samples, self.backward)

    def load_qmodel(self):
        from ..quant import QModel

        return QModel.load(self.qmodel_path)


def open_overlay(path: str | Path) -> OverlayFolder:
    """Read and check an overlay folder; every problem is one ``HiltError`` naming the file and the fix."""
    folder = Path(path)
    if folder.suffix == ".bit":
        folder = folder.parent
    manifest_path = folder / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
    except FileNotFoundError:
        raise HiltError(f"{folder}: no manifest.json; give the overlay folder written by `make bitstream` "
                        f"(NAME.bit, NAME.hwh, manifest.json and the quantized model)") from None
    except ValueError as err:
        raise HiltError(f"{manifest_path}: not valid JSON ({err})") from None
    missing = [k for k in REQUIRED if k not in manifest]
    if missing:
        raise HiltError(f"{manifest_path}: missing {', '.join(missing)}; rebuild the overlay with this hilt version")
    if manifest["family"] not in FAMILIES:
        raise HiltError(f"{manifest_path}: family {manifest['family']!r} is not one of {', '.join(FAMILIES)}")
    needed = [k for k in IP_KEYS if (k != "clk_wiz" or manifest["clock"].get("wizard"))
              and (k != "dma" or manifest.get("kind", "streaming") == "streaming")]
    absent = [k for k in needed if k not in manifest["ips"]]
    if absent:
        raise HiltError(f"{manifest_path}: ips lacks {', '.join(absent)}")
    ov = OverlayFolder(folder, manifest)
    for f in (ov.bitfile, ov.hwh, ov.qmodel_path):
        if not f.exists():
            raise HiltError(f"{f}: named in {manifest_path} but missing; copy the whole overlay folder")
    return ov
