"""Vivado build parameters, generated from the spec (``overlays/vivado/params_<spec>.tcl``).

``overlays/vivado/build_overlay.tcl`` is hand-written and parameterized: it ``source``\\ s a
small TCL variables file that this module writes *whole* from the spec (no splicing into a
template). Everything with an address, a width or a name comes from the spec; the board
facts the spec does not hold (which PS IP, which HP/GP port, the board-file pattern, the PS
address window the control registers must sit in) come from the board table
(``overlays/boards.toml``, :mod:`accel.overlays.boards`).

    from accel.overlays.vivado_params import write_build_inputs
    params_tcl = write_build_inputs(spec, build_dir)     # params + accel_spec.vh
    # vivado -mode batch -source overlays/vivado/build_overlay.tcl -tclargs <params_tcl>

``accel-run vivado-params SPEC`` prints the variables file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from accel.errors import SpecError
from accel.overlays.boards import BOARDS, Board
from accel.overlays.hwh import ACCEL_ADDRESS_BLOCK, accel_registers
from accel.overlays.rtl_build import IP_TOP, SPEC_HEADER, rtl_sources, write_spec_header
from accel.overlays.spec import Spec

VIVADO_DIR = Path(__file__).resolve().parent / "vivado"
BUILD_TCL = VIVADO_DIR / "build_overlay.tcl"
# Default place for the finished overlay (<name>.bit + <name>.hwh side by side, as PYNQ wants):
# the package directory, where the runtime's board backend looks (runtime/backends/board.py).
BITSTREAM_DIR = Path(__file__).resolve().parent

# The oldest Vivado this flow is written for: older ones lack assign_bd_address -offset/-range on
# every IP and write the .hwh under .srcs instead of .gen. (PYNQ v3.0.1 images were built with
# 2022.1, PYNQ v3.1 images with 2024.1: either serves.)
VIVADO_MIN_VERSION = "2022.1"


def board_flow(spec: Spec) -> Board:
    """What the block design needs to know about the spec's board beyond the spec: its entry in the
    board table (overlays/boards.toml), or a SpecError naming the known boards."""
    if spec.board not in BOARDS:
        raise SpecError(
            f"spec {spec.name}: no Vivado flow for board {spec.board!r}; known boards: {', '.join(sorted(BOARDS))} "
            "(add it to overlays/boards.toml)"
        )
    return BOARDS[spec.board]


def overlay_name(spec: Spec) -> str:
    """Base name of the overlay files: ``<name>.bit`` and ``<name>.hwh`` (and the block design)."""
    return spec.name


def split_vlnv(vlnv: str) -> tuple[str, str, str, str]:
    parts = vlnv.split(":")
    if len(parts) != 4 or not all(parts):
        raise SpecError(f"VLNV {vlnv!r} must be vendor:library:name:version")
    return parts[0], parts[1], parts[2], parts[3]


def _check_window(spec: Spec, what: str, base: int, rng: int, window: tuple[int, int], port: str) -> None:
    if rng < 0x1000 or rng & (rng - 1):
        raise SpecError(f"spec {spec.name}: {what}_range {rng:#x} must be a power of two >= 4 KiB")
    if base % rng:
        raise SpecError(f"spec {spec.name}: {what}_base {base:#x} must be aligned to its range {rng:#x}")
    lo, hi = window
    if not (lo <= base and base + rng <= hi):
        raise SpecError(
            f"spec {spec.name}: {what} window [{base:#x}, {base + rng:#x}) is outside the PS {port} "
            f"window [{lo:#x}, {hi:#x}) of board {spec.board}"
        )


def check_flow(spec: Spec) -> Board:
    """Reject specs the block design cannot realise, naming the limit (before Vivado runs)."""
    flow = board_flow(spec)
    if spec.stream_width not in flow.hp_widths:
        raise SpecError(
            f"spec {spec.name}: stream_width {spec.stream_width} must be one of {flow.hp_widths} "
            f"(the DMA's memory-map width equals the stream width and feeds {flow.hp_port})"
        )
    _check_window(spec, "accel", spec.accel_base, spec.accel_range, flow.gp_window, flow.gp_port)
    _check_window(spec, "dma", spec.dma_base, spec.dma_range, flow.gp_window, flow.gp_port)
    a0, a1 = spec.accel_base, spec.accel_base + spec.accel_range
    d0, d1 = spec.dma_base, spec.dma_base + spec.dma_range
    if a0 < d1 and d0 < a1:
        raise SpecError(f"spec {spec.name}: the accel and DMA address windows overlap")
    if spec.accel_range < (1 << spec.axil_addr_width):
        raise SpecError(
            f"spec {spec.name}: accel_range {spec.accel_range:#x} is smaller than the AXI-Lite space "
            f"(2**{spec.axil_addr_width})"
        )
    if not 32 <= spec.dma_addr_width <= 64:
        raise SpecError(f"spec {spec.name}: dma.addr_width {spec.dma_addr_width} must be 32..64")
    split_vlnv(spec.ip_vlnv)
    split_vlnv(spec.dma_vlnv)
    return flow


def dma_config(spec: Spec) -> dict[str, int]:
    """The AXI DMA 7.1 CONFIG.* values (PG021 parameter names), as the .hwh will carry them.

    Only parameters that stay enabled in simple mode are set (Vivado ignores writes to disabled
    ones, such as the SG status/control stream, and the flow reads every value back).
    Simple mode (no scatter-gather), both channels, LENGTH register ``dma.length_width`` bits,
    memory-map width = stream width (= the HP port width). The data realignment engine (DRE)
    is included (AXI DMA 7.1 offers it for stream widths up to 512 bits): with it, transfers may
    start at any byte address. Without it pynq's DMA driver refuses a start address that is not
    a multiple of the memory-map width, and driver programs start A panels at ``i*K`` bytes.
    """
    w = spec.stream_width
    dre = 1 if w <= 512 else 0
    return {
        "c_include_sg": int(spec.dma_sg),  # scatter-gather: M_AXI_SG fetches descriptors (spec [dma] mode)
        "c_sg_length_width": spec.dma_length_width,
        "c_addr_width": spec.dma_addr_width,
        "c_include_mm2s": 1,
        "c_include_s2mm": 1,
        "c_m_axi_mm2s_data_width": w,
        "c_m_axis_mm2s_tdata_width": w,
        "c_m_axi_s2mm_data_width": w,
        "c_s_axis_s2mm_tdata_width": w,
        "c_include_mm2s_dre": dre,
        "c_include_s2mm_dre": dre,
        "c_mm2s_burst_size": 256,
        "c_s2mm_burst_size": 256,
        "c_micro_dma": 0,
    }


def ps_config(spec: Spec) -> dict[str, int | float]:
    """CONFIG.* of the PS cell on top of the board preset: one GP master for the control
    registers, one HP slave for the DMA at the stream width, the fabric clock, and no PL-to-PS
    interrupt (pynq only sees interrupts behind an AXI interrupt controller, and the runtime polls
    with a timeout: docs/BOARD.md). The generated .hwh carries the same values."""
    flow = board_flow(spec)
    mhz = _num(spec.fabric_mhz)
    if flow.ps_kind == "ps7":
        return {
            "PCW_USE_M_AXI_GP0": 1,
            "PCW_USE_S_AXI_HP0": 1,
            "PCW_S_AXI_HP0_DATA_WIDTH": spec.stream_width,
            "PCW_EN_CLK0_PORT": 1,
            "PCW_EN_RST0_PORT": 1,
            "PCW_FPGA0_PERIPHERAL_FREQMHZ": mhz,
            "PCW_USE_FABRIC_INTERRUPT": 0,
        }
    return {
        "PSU__USE__M_AXI_GP0": 1,  # M_AXI_HPM0_FPD
        "PSU__USE__M_AXI_GP1": 0,  # M_AXI_HPM1_FPD
        "PSU__USE__M_AXI_GP2": 0,  # M_AXI_HPM0_LPD
        "PSU__MAXIGP0__DATA_WIDTH": 32,
        "PSU__USE__S_AXI_GP2": 1,  # S_AXI_HP0_FPD
        "PSU__SAXIGP2__DATA_WIDTH": spec.stream_width,
        "PSU__FPGA_PL0_ENABLE": 1,
        "PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ": mhz,
        "PSU__USE__IRQ0": 0,
    }


def tcl_params(
    spec: Spec,
    build_dir: str | Path,
    output_dir: str | Path | None = None,
    *,
    jobs: int = 2,
) -> dict[str, Any]:
    """The variables of the params file, in order (values: int, str, list or dict)."""
    flow = check_flow(spec)
    build_dir = Path(build_dir).resolve()
    output_dir = Path(output_dir if output_dir is not None else BITSTREAM_DIR).resolve()
    vendor, library, name, version = split_vlnv(spec.ip_vlnv)
    sources = rtl_sources(IP_TOP)
    return {
        "SPEC_NAME": spec.name,
        "SPEC_HASH": spec.hash,
        "SPEC_HASH32": f"0x{spec.hash32:08X}",
        "BOARD": spec.board,
        "PART": spec.part,
        "VIVADO_MIN_VERSION": VIVADO_MIN_VERSION,
        "PYNQ_IMAGE": flow.pynq_image,
        "BOARD_PART_PATTERN": flow.board_part_pattern,
        "BOARD_FILES_HINT": flow.board_files_hint,
        "PS_KIND": flow.ps_kind,
        "PS_VLNV_PREFIX": flow.ps_vlnv_prefix,
        "PS_INSTANCE": flow.ps_instance,
        "PS_HP_PORT": flow.hp_port,
        "PS_GP_PORT": flow.gp_port,
        "PS_PINS": dict(flow.pins),
        "PS_PRESET_RULE": flow.preset_rule,
        "PS_PRESET_CONFIG": flow.preset_config,
        "PS_CONFIG": ps_config(spec),
        "FABRIC_MHZ": _num(spec.fabric_mhz),
        "STREAM_WIDTH": spec.stream_width,
        "HP_DATA_WIDTH": spec.stream_width,
        "IP_VLNV": spec.ip_vlnv,
        "IP_VENDOR": vendor,
        "IP_LIBRARY": library,
        "IP_NAME": name,
        "IP_VERSION": version,
        "IP_TOP": IP_TOP,
        "IP_INSTANCE": spec.ip_name,
        # Module parameters of accel_ip/accel_top (spec.verilog_params()), decimal.
        "ACCEL_PARAMS": dict(spec.verilog_params()),
        "AXIL_ADDR_WIDTH": spec.axil_addr_width,
        # The registers the IP package declares (ipx::add_register), as the .hwh lists them:
        # flat lists of (name, offset, access, description) and (register, field, bit, width).
        "ACCEL_ADDRESS_BLOCK": ACCEL_ADDRESS_BLOCK,
        "ACCEL_REGISTERS": [x for name, off, access, desc, _ in accel_registers(spec)
                            for x in (name, f"0x{off:X}", access, desc)],
        "ACCEL_REGISTER_FIELDS": [x for name, _, _, _, fields in accel_registers(spec)
                                  for fname, bit, width in fields for x in (name, fname, bit, width)],
        "ACCEL_BASE": f"0x{spec.accel_base:08X}",
        "ACCEL_RANGE": f"0x{spec.accel_range:X}",
        "DMA_VLNV": spec.dma_vlnv,
        "DMA_INSTANCE": spec.dma_name,
        "DMA_BASE": f"0x{spec.dma_base:08X}",
        "DMA_RANGE": f"0x{spec.dma_range:X}",
        "DMA_CONFIG": dma_config(spec),
        "RTL_SOURCES": [str(p) for p in sources],
        "SPEC_HEADER": str(build_dir / "include" / SPEC_HEADER),
        "BUILD_DIR": str(build_dir),
        "OUTPUT_DIR": str(output_dir),
        "OVERLAY_NAME": overlay_name(spec),
        "JOBS": int(jobs),
    }


def _num(x: float) -> int | float:
    return int(x) if float(x).is_integer() else float(x)


def _tcl_word(value: Any) -> str:
    """One TCL word: braced (no substitution) or a bare number."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if not text:
        return "{}"
    if any(c in text for c in "{}\\\n"):
        raise SpecError(f"value {text!r} cannot be written into the Vivado params file")
    return "{" + text + "}"


def _tcl_value(value: Any) -> str:
    if isinstance(value, Mapping):
        body = " ".join(f"{k} {_tcl_word(v)}" for k, v in value.items())
        return "{" + body + "}"
    if isinstance(value, Sequence) and not isinstance(value, str):
        return "[list " + " ".join(_tcl_word(v) for v in value) + "]" if value else "{}"
    return _tcl_word(value)


def render_params(spec: Spec, params: Mapping[str, Any]) -> str:
    """The whole params file (TCL ``set`` commands only)."""
    lines = [
        f"# Generated from overlays/specs/{spec.name}.toml (spec hash {spec.hash[:16]}) by",
        "# accel.overlays.vivado_params. Do not edit: run scripts/build_bitstream --spec NAME.",
        "# Sourced by overlays/vivado/build_overlay.tcl; dict values are TCL dicts, lists are TCL lists.",
    ]
    for key, value in params.items():
        lines.append(f"set {key} {_tcl_value(value)}")
    lines.append(f"set PARAM_NAMES {_tcl_value(list(params))}")
    return "\n".join(lines) + "\n"


def write_params(spec: Spec, build_dir: str | Path, output_dir: str | Path | None = None, *, jobs: int = 2) -> Path:
    """Write ``build_dir/params_<spec>.tcl`` whole (atomically); return its path."""
    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    text = render_params(spec, tcl_params(spec, build_dir, output_dir, jobs=jobs))
    path = build_dir / f"params_{spec.name}.tcl"
    tmp = path.with_suffix(".tcl.tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return path


def write_build_inputs(
    spec: Spec, build_dir: str | Path, output_dir: str | Path | None = None, *, jobs: int = 2
) -> Path:
    """Generate everything build_overlay.tcl reads: the spec header and the params file."""
    build_dir = Path(build_dir)
    write_spec_header(spec, build_dir / "include")
    return write_params(spec, build_dir, output_dir, jobs=jobs)


def vivado_command(vivado: str, params_file: Path, steps: Sequence[str] = (), log: Path | None = None) -> list[str]:
    """The batch command line that runs build_overlay.tcl on a params file."""
    cmd = [vivado, "-mode", "batch", "-notrace", "-nojournal"]
    if log is not None:
        cmd += ["-log", str(log)]
    return [*cmd, "-source", str(BUILD_TCL), "-tclargs", str(params_file), *steps]


def missing_vivado_message(spec: Spec, params_file: Path, output_dir: Path, cmd: Sequence[str]) -> str:
    flow = board_flow(spec)
    name = overlay_name(spec)
    return "\n".join(
        [
            f"error: `{cmd[0]}` is not on PATH, so the {spec.board} overlay cannot be built here.",
            f"Building it needs AMD Vivado {VIVADO_MIN_VERSION} or newer (the overlay runs under "
            f"{flow.pynq_image}) with device support for {spec.part}, and",
            f"  {flow.board_files_hint}.",
            "Source <Vivado install>/settings64.sh (or pass --vivado /path/to/vivado, or set $VIVADO) and rerun.",
            f"The inputs are ready: {params_file} and {params_file.parent / 'include' / SPEC_HEADER}.",
            "It would run (from the build directory):",
            "  " + " ".join(cmd),
            f"and write {output_dir / (name + '.bit')} and {output_dir / (name + '.hwh')}",
            "(copy both to the board side by side; see docs/BOARD.md).",
        ]
    )
