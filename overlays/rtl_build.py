"""The accelerator RTL as a build input: its source list and its generated header.

Used by ``scripts/lint_rtl``, the cocotb benches in ``tests/overlays/rtl``, the simulator build
(``sim_build``), the resource estimate and the Vivado flow::

    from accel.overlays.rtl_build import rtl_sources, write_spec_header
    inc = write_spec_header(spec, build_dir)          # build_dir/accel_spec.vh

Cache keys over these sources come from :func:`accel.overlays.build.content_key`.

The include file ``accel_spec.vh`` is generated (``Spec.verilog_header()``) into a build
directory and never checked in; pass that directory as an include path (``-I``/``-y``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from accel.overlays.tools import RTL_DIR

if TYPE_CHECKING:  # pragma: no cover
    from accel.overlays.spec import Spec

SPEC_HEADER = "accel_spec.vh"
TOP = "accel_top"
IP_TOP = "accel_ip"

# Leaf modules first; accel_top instantiates all of them, accel_ip wraps accel_top.
MODULES: tuple[str, ...] = (
    "axis_skid",
    "axis_row_unpack",
    "ififo",
    "abuf",
    "mac_array",
    "accel_seq",
    "rowsum",
    "epi_params",
    "epilogue",
    "drain",
    "axil_regs",
    "accel_top",
    "accel_ip",
)


def rtl_sources(top: str = IP_TOP) -> list[Path]:
    """Verilog sources needed to elaborate ``top``, leaf modules first.

    ``IP_TOP`` (default): everything, ``accel_ip`` included; ``TOP``: everything but the
    Vivado wrapper; a leaf module name: all leaf modules (leaves instantiate other leaves,
    e.g. drain -> axis_skid). Only files that exist are returned.
    """
    names = list(MODULES)
    if top != IP_TOP:
        names.remove(IP_TOP)
        if top != TOP:
            names.remove(TOP)
    return [p for p in (RTL_DIR / f"{n}.v" for n in names) if p.is_file()]


def write_spec_header(spec: Spec, directory: str | Path) -> Path:
    """Write ``accel_spec.vh`` for ``spec`` into ``directory`` (created); return its path.

    The file is only rewritten when its content changes, so build tools do not rebuild.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / SPEC_HEADER
    text = spec.verilog_header()
    if not path.is_file() or path.read_text() != text:
        tmp = path.with_suffix(f".tmp{id(text)}")
        tmp.write_text(text)
        tmp.replace(path)
    return path
