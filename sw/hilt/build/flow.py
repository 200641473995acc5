"""``hilt build``: model -> HLS project -> Vitis HLS IP -> Vivado block design and bitstream -> PYNQ overlay.

Stages, each skipped when the content hash of its inputs equals the one recorded in ``build.json`` and
its outputs exist:

1. plan      the DSE checks the model fits the board and chooses the hardware plan (no vendor tool);
2. generate  the accelerator kind's HLS project (``hilt compile`` for the streaming kind), into ``hls/``;
             only replaced when its content changed, so a finished synthesis survives a re-run;
3. tcl       the block-design Tcl and timing constraints, into ``vivado/``;
4. hls       ``vitis_hls -f csynth.tcl``: C synthesis and export of the IP (log kept);
5. vivado    ``vivado -mode batch -source overlay.tcl``: block design, implementation, bitstream, hand-off;
6. package   timing sign-off read back, overlay folder written (``overlay/``).

Without a vendor tool the flow stops at the first stage that needs it with one line naming the tool,
its settings script and the folder where the generated project waits (exit 2); ``--dry-run`` stops
there on purpose (exit 0).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from ..errors import HiltError
from . import blockdesign, kinds, vendor
from .overlay import manifest
from .plan import make_plan
from .timing import parse_timing_summary

ROOT = Path(__file__).resolve().parents[3]
TEMPLATES = ROOT / "templates" / "vivado"
HLS_VERSION = blockdesign.VIVADO_VERSION  # Vitis HLS of the same release
STATE = "build.json"


@dataclass
class Request:
    model: str
    board: str = "zcu104"
    freq_mhz: float = 200.0
    output: str | None = None
    plan: str | None = None  # a plan, `hilt dse --json` report, folding or overlay manifest (None: the DSE's choice)
    kind: str = "auto"  # "auto": the streaming pipeline if the DSE fits it on the board, else the sequential engine
    bits: int = 8
    data: str = "mnist5k"
    calib: int | None = None  # None: the kind's default (CALIBRATION_IMAGES; fewer for a large model's engine)
    cap: float = 0.8
    jobs: int = 4
    dry_run: bool = False
    until: str | None = None  # stop after this stage: "tcl", "hls" or "vivado"
    csim: bool = False
    quiet: bool = False
    log: list = field(default_factory=list)


def tree_hash(root: Path, skip: tuple[str, ...] = ()) -> str:
    """sha256 over the relative paths and contents of every file under ``root`` (``skip``: top-level names)."""
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if p.is_file() and rel.parts[0] not in skip:
            h.update(str(rel.as_posix()).encode() + b"\0")
            h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def text_hash(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() + b"\0")
    return h.hexdigest()


def render_vivado(ctx: dict) -> tuple[str, str]:
    """(overlay.tcl, timing.xdc) of a block-design context."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True)
    return env.get_template("overlay.tcl.j2").render(**ctx), env.get_template("timing.xdc.j2").render(**ctx)


class Build:
    def __init__(self, req: Request):
        self.req = req
        self.t0 = time.perf_counter()

    def say(self, text: str) -> None:
        self.req.log.append(text)
        if not self.req.quiet:
            print(text, flush=True)

    # ---- state ---------------------------------------------------------------------------------------------
    def load_state(self) -> dict:
        path = self.dir / STATE
        try:
            return json.loads(path.read_text()) if path.is_file() else {}
        except json.JSONDecodeError:
            return {}

    def save_state(self) -> None:
        (self.dir / STATE).write_text(json.dumps(self.state, indent=2) + "\n")

    def fresh(self, stage: str, key: str, outputs: list[Path]) -> bool:
        return self.state.get("hashes", {}).get(stage) == key and all(p.exists() for p in outputs)

    def done(self, stage: str, key: str) -> None:
        self.state.setdefault("hashes", {})[stage] = key
        self.save_state()

    # ---- the flow ------------------------------------------------------------------------------------------
    def run(self) -> dict:
        from ..codegen.command import load_quantized
        from ..codegen.project import c_name
        from ..dse.boards import load_board
        from ..dse.command import _network

        req = self.req
        board = load_board(req.board)
        board.check_clock(req.freq_mhz)
        if not 0 < req.cap <= 1:
            raise HiltError(f"--cap {req.cap:g}: give a utilisation fraction in (0, 1]")
        if req.model.endswith(".npz"):  # a model already quantized by `hilt quantize`
            q = load_quantized(req.model, req.data, req.bits, req.calib)
            net = q.network
        else:
            q, net = None, _network(req.model)
        name = c_name(net.name)
        self.dir = Path(req.output or f"out/{name}_{board.key}_{req.freq_mhz:g}MHz")

        # 1. plan: refuse a board that is too small before anything is written
        bits = q.bits if q is not None else req.bits  # a quantized model brings its width
        kind, plan = self.choose(net, board, bits)
        kind = kinds.for_plan(kind, plan.hardware)  # the ports of the IP this plan builds
        if req.csim and kind.name != "streaming":
            raise HiltError(f"--csim runs the streaming project's C simulation against the golden model; {name} "
                            f"is built as the {kind.name} engine: drop --csim (its C simulation is "
                            f"hilt.engine.project.run_csim, docs/engine.md)")
        self.say(f"[plan] {name} ({kind.name}, {plan.mode}) on {board.name} at {req.freq_mhz:g} MHz: "
                 f"{plan.cycles_per_sample:,} cycles per sample")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.state = self.load_state()

        # 2. generate the HLS project (replaced only when its content changed)
        self.qmodel_file = Path(req.model) if q is not None else self.dir / "quant" / "qmodel.npz"
        q = q or self.quantize(kind)
        hls_dir, synth_dir = self.dir / "hls", "vitis_hls"  # csynth.tcl's fixed project folder (both kinds)
        staged = self.dir / ".hls.new"
        if staged.exists():
            shutil.rmtree(staged)
        hls_manifest = kind.generate(q, staged, board, req.freq_mhz, plan.hardware, name=name, source=req.model)
        skip = (synth_dir, "qmodel.npz", "logs", "vitis_hls.log")
        new_hash = tree_hash(staged, skip)
        if hls_dir.is_dir() and tree_hash(hls_dir, skip) == new_hash:
            shutil.rmtree(staged)
            self.say(f"[generate] {hls_dir} unchanged")
        else:
            if hls_dir.exists():
                shutil.rmtree(hls_dir)
            staged.rename(hls_dir)
            self.say(f"[generate] {hls_dir}: {len(hls_manifest['layers'])} layers, top {hls_manifest['top']}")
        if kind.project_qmodel:
            shutil.copyfile(self.qmodel_file, hls_dir / "qmodel.npz")  # for `hilt csim` on the project
        if req.csim:
            self.csim(hls_dir)

        # 3. the block design Tcl and constraints
        viv_dir = self.dir / "vivado"
        viv_dir.mkdir(exist_ok=True)
        ip_repo = f"../hls/{synth_dir}/solution1/impl/ip"
        ctx = blockdesign.context(name, board, req.freq_mhz, kind, name, ip_repo, "out", req.jobs)
        tcl, xdc = render_vivado(ctx)
        for path, text in ((viv_dir / "overlay.tcl", tcl), (viv_dir / "timing.xdc", xdc)):
            if not path.is_file() or path.read_text() != text:
                path.write_text(text)
        self.say(f"[tcl] {viv_dir / 'overlay.tcl'}: block design for {board.part}, clk_wiz clk_out1 = "
                 f"{req.freq_mhz:g} MHz")
        self.stop_after("tcl")

        # 4. Vitis HLS
        ip_xml = hls_dir / synth_dir / "solution1" / "impl" / "ip" / "component.xml"
        hls_key = new_hash
        logs = self.dir / "logs"
        if self.fresh("hls", hls_key, [ip_xml]):
            self.say("[hls] up to date (IP exported from the same sources)")
        else:
            self.vendor_stage("vitis_hls", ["-f", "csynth.tcl"], hls_dir, logs, "HLS project")
            if not ip_xml.is_file():
                raise HiltError(f"vitis_hls finished but exported no IP ({ip_xml} missing); "
                                f"see {logs / 'vitis_hls.log'}")
            self.done("hls", hls_key)
        self.stop_after("hls")

        # 5. Vivado
        out = viv_dir / "out"
        report = viv_dir / "reports" / "timing_summary.rpt"
        bit, hwh = out / f"{name}.bit", out / f"{name}.hwh"
        viv_key = text_hash(hls_key, tree_hash(ip_xml.parent), tcl, xdc)
        if self.fresh("vivado", viv_key, [bit, hwh, report]):
            self.say("[vivado] up to date (bitstream from the same IP and Tcl)")
        else:
            self.vendor_stage("vivado", ["-mode", "batch", "-notrace", "-source", "overlay.tcl", "-log",
                                         "vivado_run.log", "-journal", "vivado_run.jou"], viv_dir, logs,
                              "block-design Tcl")
            for p in (bit, hwh, report):
                if not p.is_file():
                    raise HiltError(f"vivado finished but {p} is missing; see {logs / 'vivado.log'}")
            self.done("vivado", viv_key)
        self.stop_after("vivado")

        # 6. timing sign-off and the overlay folder
        summary = parse_timing_summary(report.read_text())
        acc = summary.accelerator_clock()
        wns = summary.wns_ns if acc.wns_ns is None else acc.wns_ns
        timing = {"f_safe_mhz": round(summary.f_safe_mhz(), 3), "source": "vivado report_timing_summary",
                  "closed": summary.met, "wns_ns": wns, "tns_ns": acc.tns_ns, "clock": acc.name,
                  "period_ns": acc.period_ns}
        if summary.met:
            self.say(f"[timing] met at {req.freq_mhz:g} MHz: WNS {wns:+.3f} ns on {acc.name}; "
                     f"f_safe {timing['f_safe_mhz']:.1f} MHz")
        else:
            self.say(f"[timing] NOT met at {req.freq_mhz:g} MHz: WNS {wns:+.3f} ns, TNS {summary.tns_ns:.3f} ns "
                     f"({summary.failing_endpoints} failing endpoints); f_safe {timing['f_safe_mhz']:.1f} MHz. "
                     f"The overlay is written anyway, marked timing_closed = false")
        from ..accel import interface

        hashes = dict(self.state.get("hashes", {}))
        driver = kind.driver(hls_manifest, plan.hardware) if kind.driver else {}
        man = manifest(name=name, model=req.model, kind=kind.name, board=board, freq_mhz=req.freq_mhz, timing=timing,
                       interface=driver.get("interface") or interface.describe(board.dma_width_bits),
                       ips=blockdesign.address_map(ctx),
                       clock={"wizard": blockdesign.CLK, "input_mhz": blockdesign.CONTROL_MHZ, "output": "clk_out1"},
                       q=q, plan=plan, backward=bool(hls_manifest.get("backward")), hashes=hashes, hls=hls_manifest)
        final = self.dir / "overlay"
        tmp = self.dir / ".overlay.part"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        shutil.copyfile(bit, tmp / man["bitstream"])
        shutil.copyfile(hwh, tmp / man["hwh"])
        q.save(tmp / man["qmodel"], floats=False)  # the board needs no float weights
        for extra in driver.get("files", ()):  # what the kind's driver loads besides the bitstream (the DDR image)
            shutil.copyfile(hls_dir / extra, tmp / extra)
        man.update(driver.get("manifest", {}))
        (tmp / "manifest.json").write_text(json.dumps(man, indent=2) + "\n")
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
        self.say(f"[package] {final}: {man['bitstream']}, {man['hwh']}, {man['qmodel']}, manifest.json "
                 f"({time.perf_counter() - self.t0:.1f} s)")
        return man

    def choose(self, net, board, bits):
        """The accelerator kind and its plan: ``auto`` takes the streaming pipeline when its DSE fits it on the
        board (as `hilt compile --engine auto`), else the layer-sequential engine, saying why."""
        req = self.req
        if req.kind != "auto":
            kind = kinds.get(req.kind)
            return kind, (kind.plan or make_plan)(net, board, req.freq_mhz, bits, req.cap, req.plan)
        try:
            return kinds.get("streaming"), make_plan(net, board, req.freq_mhz, bits, req.cap, req.plan)
        except HiltError as err:
            if req.plan is not None:  # a given streaming plan that fails is the user's to fix
                raise
            why = str(err).split("; use the layer-sequential")[0]
        kind = kinds.get("sequential")
        plan = kind.plan(net, board, req.freq_mhz, bits, req.cap, None)
        self.say(f"[plan] {why}: building the layer-sequential engine (weights in DDR) instead")
        return kind, plan

    def quantize(self, kind):
        """The quantized model, calibrated once per build folder: recalibrating (seconds to minutes) is skipped
        while the model file, data set, width and calibration count are the same."""
        from .. import __version__

        req = self.req
        path = Path(req.model)
        source = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else f"zoo:{req.model}:{__version__}"
        key = text_hash(source, req.data, str(req.bits), str(req.calib), kind.name)
        quantize = kind.quantize
        saved = self.dir / "quant" / "qmodel.npz"
        # kept in the overlay's compact integer format (AlexNet: 61 MB, not half a gigabyte with its float
        # network); a fresh model is re-read from it too, so a first run and a cached run generate the same files
        from ..quant import QModel

        if self.fresh("quantize", key, [saved]):
            self.say(f"[quantize] {saved} up to date")
            return QModel.load(saved)
        q = quantize(req.model, req.data, req.bits, req.calib)
        saved.parent.mkdir(exist_ok=True)
        q.save(saved, floats=False)
        q = QModel.load(saved)
        self.done("quantize", key)
        self.say(f"[quantize] {q.network.name}: int{q.bits}, calibrated on {req.calib or 'the default count of'} images of "
                 f"{req.data}")
        return q

    def stop_after(self, stage: str) -> None:
        if self.req.until == stage:
            raise DryRunStop(f"[until] stopping after the {stage} stage as asked")

    def vendor_stage(self, tool: str, args: list[str], cwd: Path, logs: Path, what: str) -> None:
        if self.req.dry_run:
            raise DryRunStop(f"[dry run] stopping before `{tool} {' '.join(args)}` in {cwd} (the {what} is ready)")
        exe = vendor.find(tool, HLS_VERSION, cwd)
        self.say(f"[{tool}] running in {cwd} (log {logs / (tool + '.log')})")
        vendor.run(tool, exe, args, cwd, logs, quiet=self.req.quiet)

    def csim(self, hls_dir: Path) -> None:
        import argparse

        from ..codegen.command import cmd_csim

        code = cmd_csim(argparse.Namespace(project=str(hls_dir), data=self.req.data, samples=20, json=None))
        if code != 0:
            err = HiltError(f"C simulation of {hls_dir} differs from the golden model (see above)")
            err.exit_code = 1
            raise err


class DryRunStop(Exception):
    """--dry-run reached the first vendor call, or --until its stage."""


def build(req: Request) -> dict | None:
    """Run the flow; returns the overlay manifest, or None when --dry-run / --until stopped it early."""
    b = Build(req)
    try:
        return b.run()
    except DryRunStop as stop:
        b.say(str(stop))
        return None
