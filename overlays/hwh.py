"""Generate the overlay's hardware handoff (``.hwh``) from the spec.

PYNQ learns an overlay from its ``.hwh``: the IP at each address (``Overlay.ip_dict``), the
driver bound to each IP by VLNV, and the AXI DMA's configuration (``c_include_sg``,
``c_sg_length_width``, data widths), which ``pynq.lib.dma.DMA`` reads at construction. The
simulated device has no Vivado run, so this module writes the ``.hwh`` a block design with
exactly our configuration produces, from the spec and its board alone:

- the board's Zynq PS (``processing_system7`` on the PYNQ-Z2, ``zynq_ultra_ps_e`` on the
  KV260; instance, ports, pins and DDR window from the board table, overlays/boards.toml) with
  its fabric clock as the divisors of the board preset's PLL (pynq writes them into the PS clock
  registers when the overlay loads), a master port mapping the DMA's and the accelerator's
  register windows and an HP slave port for DDR; no PL-to-PS interrupt (the block design has
  none: docs/BOARD.md says why);
- ``axi_dma`` 7.1 in the spec's ``[dma] mode``: scatter-gather (``C_INCLUDE_SG=1``, an ``M_AXI_SG``
  master for descriptors on the same HP port) or simple (direct register) mode, LENGTH width
  ``dma.length_width``, memory-map and stream widths ``array.stream_width``, DRE on (panel
  offsets of custom schedules need not be beat aligned), interrupts not connected (the
  runtime polls);
- the accelerator (VLNV ``ip.vlnv``) as Vivado describes a packaged RTL IP: its HDL parameters,
  ``C_BASEADDR``/``C_HIGHADDR``, the address block of its AXI-Lite slave at the packaged size
  (``2**axil.addr_width`` bytes) and the registers the IP package declares
  (:func:`accel_registers`: ``[registers]`` and the ``[counters]`` LO/HI words, added by
  build_overlay.tcl with ``ipx::add_register``), so ``ol.accel_0.register_map`` exists on the
  board and in the simulator alike. The runtime's driver reads offsets from the spec, not from it.

The checked-in ``overlays/hwh/<spec>.hwh`` files are this module's output
(``accel-run hwh --write``; a test asserts they are current). The Vivado flow
builds its block design to match them; the bitstream's own ``.hwh`` then replaces them
beside the ``.bit``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from pathlib import Path

from accel.errors import SpecError
from accel.overlays.boards import Board, get_board
from accel.overlays.spec import Spec, load_spec

HWH_DIR = Path(__file__).resolve().parent / "hwh"

AXIMM = "xilinx.com:interface:aximm:1.0"
AXIS = "xilinx.com:interface:axis:1.0"
HWH_VIVADO_VERSION = "2024.1"  # the Vivado PYNQ v3.1 images are built with
ACCEL_ADDRESS_BLOCK = "reg0"  # the address block of the accelerator's s_axil (named so in build_overlay.tcl too)


def _board(spec: Spec) -> Board:
    """The spec's board: its processing system, ports and address windows (overlays/boards.toml)."""
    return get_board(spec.board)


def _split_part(part: str, ps_kind: str) -> tuple[str, str, str]:
    """``xc7z020clg400-1`` -> (7z020, clg400, -1); ``xck26-sfvc784-2LV-c`` -> (xck26, sfvc784, -2LV).

    Zynq-7000 part names run device and package together; UltraScale+ names separate them."""
    p = part.lower()
    if ps_kind == "ps7":
        base, _, speed = p.partition("-")
        return base[2:8], base[8:], f"-{speed}"
    bits = part.split("-")
    return bits[0].lower(), bits[1].lower() if len(bits) > 1 else "", f"-{bits[2]}" if len(bits) > 2 else ""


CLOCK_TOLERANCE = 0.01  # the Vivado flow accepts the PS fabric clock within 1 % of the spec's, as here


def fabric_clock_divisors(board: Board, mhz: float) -> tuple[int, int, float]:
    """The two 6-bit PL clock dividers that make ``mhz`` from the board preset's PLL, and the frequency.

    pynq's ``Overlay.download`` writes exactly these (``DIVISOR0``/``DIVISOR1`` of PL clock 0 in
    the .hwh) into the PS clock registers, so they must divide the PLL the board really runs."""
    ratio = max(1, round(board.pll_mhz / mhz))
    achieved = board.pll_mhz / ratio
    if abs(achieved - mhz) > CLOCK_TOLERANCE * mhz:
        raise SpecError(
            f"fabric clock {mhz:g} MHz is not an integer division of board {board.name}'s {board.pll_mhz:g} MHz PLL "
            f"(nearest {achieved:g} MHz); choose clock.fabric_mhz = {board.pll_mhz:g} / N"
        )
    for d1 in range(1, 64):
        if ratio % d1 == 0 and ratio // d1 < 64:
            return ratio // d1, d1, achieved
    raise SpecError(f"fabric clock {mhz:g} MHz cannot be made from a {board.pll_mhz:g} MHz PLL by two 6-bit dividers")


def _hex(value: int, digits: int = 8) -> str:
    return f"0x{value:0{digits}X}"


def _sub(parent: ET.Element, tag: str, **attrs: object) -> ET.Element:
    return ET.SubElement(parent, tag, {k: str(v) for k, v in attrs.items()})


def _params(parent: ET.Element, params: Iterable[tuple[str, object]]) -> None:
    box = _sub(parent, "PARAMETERS")
    for name, value in params:
        _sub(box, "PARAMETER", NAME=name, VALUE=value)


# (logical, physical suffix, direction seen from the initiator, width)
_AXIS_SIGS = (("TDATA", "tdata", "O", None), ("TKEEP", "tkeep", "O", None), ("TLAST", "tlast", "O", 1),
              ("TVALID", "tvalid", "O", 1), ("TREADY", "tready", "I", 1))
_AXIL_SIGS = (("AWADDR", "awaddr", "O", None), ("AWPROT", "awprot", "O", 3), ("AWVALID", "awvalid", "O", 1),
              ("AWREADY", "awready", "I", 1), ("WDATA", "wdata", "O", 32), ("WSTRB", "wstrb", "O", 4),
              ("WVALID", "wvalid", "O", 1), ("WREADY", "wready", "I", 1), ("BRESP", "bresp", "I", 2),
              ("BVALID", "bvalid", "I", 1), ("BREADY", "bready", "O", 1), ("ARADDR", "araddr", "O", None),
              ("ARPROT", "arprot", "O", 3), ("ARVALID", "arvalid", "O", 1), ("ARREADY", "arready", "I", 1),
              ("RDATA", "rdata", "I", 32), ("RRESP", "rresp", "I", 2), ("RVALID", "rvalid", "I", 1),
              ("RREADY", "rready", "O", 1))


class _Module:
    """One MODULE element with its PORTS, BUSINTERFACES and MEMORYMAP built incrementally."""

    def __init__(self, root: ET.Element, instance: str, vlnv: str, modtype: str, params: Sequence[tuple[str, object]],
                 *, is_pl: bool = True) -> None:
        version = vlnv.rsplit(":", 1)[1]
        attrs: dict[str, object] = dict(FULLNAME=f"/{instance}", HWVERSION=version, INSTANCE=instance,
                                        IPTYPE="PERIPHERAL", IS_ENABLE=1, MODCLASS="PERIPHERAL", MODTYPE=modtype,
                                        VLNV=vlnv)
        if not is_pl:
            attrs["IS_PL"] = "FALSE"
        self.el = _sub(root, "MODULE", **attrs)
        self.instance = instance
        self.addrblocks: ET.Element | None = None
        _params(self.el, params)
        self.ports = _sub(self.el, "PORTS")
        self.busifs = _sub(self.el, "BUSINTERFACES")
        self.memmap: ET.Element | None = None

    def port(self, name: str, direction: str, width: int = 1, *, sigis: str | None = None, freq_hz: int | None = None,
             connect: Sequence[tuple[str, str]] = ()) -> None:
        attrs: dict[str, object] = {"DIR": direction, "NAME": name}
        if width > 1:
            attrs.update(LEFT=width - 1, RIGHT=0)
        if sigis:
            attrs["SIGIS"] = sigis
        if freq_hz:
            attrs["CLKFREQUENCY"] = freq_hz
        el = _sub(self.ports, "PORT", **attrs)
        if connect:
            box = _sub(el, "CONNECTIONS")
            for inst, pname in connect:
                _sub(box, "CONNECTION", INSTANCE=inst, PORT=pname)

    def busif(self, name: str, vlnv: str, btype: str, busname: str, params: Sequence[tuple[str, object]] = (),
              portmap: Sequence[tuple[str, str]] = (), datawidth: int | None = None) -> None:
        attrs: dict[str, object] = {"BUSNAME": busname, "NAME": name, "TYPE": btype, "VLNV": vlnv}
        if datawidth:
            attrs["DATAWIDTH"] = datawidth
        el = _sub(self.busifs, "BUSINTERFACE", **attrs)
        for pname, value in params:
            _sub(el, "PARAMETER", NAME=pname, VALUE=value)
        if portmap:
            box = _sub(el, "PORTMAPS")
            for logical, physical in portmap:
                _sub(box, "PORTMAP", LOGICAL=logical, PHYSICAL=physical)

    def memrange(self, block: str, base: int, high: int, instance: str, master: str, slave: str, memtype: str,
                 basename: str = "C_BASEADDR", highname: str = "C_HIGHADDR") -> None:
        if self.memmap is None:
            self.memmap = _sub(self.el, "MEMORYMAP")
        _sub(self.memmap, "MEMRANGE", ADDRESSBLOCK=block, BASENAME=basename, BASEVALUE=_hex(base),
             HIGHNAME=highname, HIGHVALUE=_hex(high), INSTANCE=instance, IS_DATA="TRUE", IS_INSTRUCTION="TRUE",
             MASTERBUSINTERFACE=master, MEMTYPE=memtype, SLAVEBUSINTERFACE=slave)

    def regblock(self, interface: str, name: str, nbytes: int,
                 registers: Sequence[tuple[str, int, str, str, Sequence[tuple[str, int, int]]]]) -> None:
        """ADDRESSBLOCK with (name, offset, access, description, [(field, bit, width)]) registers."""
        if self.addrblocks is None:
            self.addrblocks = ET.Element("ADDRESSBLOCKS")
            self.el.insert(0, self.addrblocks)
        blk = _sub(self.addrblocks, "ADDRESSBLOCK", ACCESS="read-write", INTERFACE=interface, NAME=name,
                   RANGE=nbytes, USAGE="register")
        regs = _sub(blk, "REGISTERS")
        for rname, offset, access, desc, fields in registers:
            reg = _sub(regs, "REGISTER", NAME=rname)
            for pname, value in (("DESCRIPTION", desc), ("ADDRESS_OFFSET", _hex(offset, 1)), ("SIZE", 32),
                                 ("ACCESS", access), ("IS_ENABLED", "true"), ("RESET_VALUE", "0x0")):
                _sub(reg, "PROPERTY", NAME=pname, VALUE=value)
            if fields:
                fbox = _sub(reg, "FIELDS")
                for fname, bit, width in fields:
                    fel = _sub(fbox, "FIELD", NAME=fname)
                    for pname, value in (("DESCRIPTION", fname), ("ADDRESS_OFFSET", 0), ("ACCESS", access),
                                         ("BIT_OFFSET", bit), ("BIT_WIDTH", width)):
                        _sub(fel, "PROPERTY", NAME=pname, VALUE=value)


def _stream(mod: _Module, busif: str, prefix: str, initiator: bool, width: int, busname: str, peer: str,
            peer_prefix: str, freq_hz: int, xilinx_names: bool) -> None:
    """An AXI4-Stream interface with its ports, each connected to the peer's matching port."""
    portmap = []
    for logical, suffix, direction, w in _AXIS_SIGS:
        bits = w if w is not None else (width if suffix == "tdata" else width // 8)
        d = direction if initiator else ("I" if direction == "O" else "O")
        physical = f"{prefix}_{suffix}"
        mod.port(physical, d, bits, connect=[(peer, f"{peer_prefix}_{suffix}")])
        portmap.append((logical, physical))
    if xilinx_names:
        btype = "INITIATOR" if initiator else "TARGET"
    else:
        btype = "MASTER" if initiator else "SLAVE"
    params = [("TDATA_NUM_BYTES", width // 8), ("TDEST_WIDTH", 0), ("TID_WIDTH", 0), ("TUSER_WIDTH", 0),
              ("HAS_TREADY", 1), ("HAS_TSTRB", 0), ("HAS_TKEEP", 1), ("HAS_TLAST", 1), ("FREQ_HZ", freq_hz)]
    mod.busif(busif, AXIS, btype, busname, params, portmap)


def _mm_params(width: int, addr_width: int, freq_hz: int, protocol: str, mode: str) -> list[tuple[str, object]]:
    return [("DATA_WIDTH", width), ("PROTOCOL", protocol), ("FREQ_HZ", freq_hz), ("ID_WIDTH", 0),
            ("ADDR_WIDTH", addr_width), ("READ_WRITE_MODE", mode)]


def _dma_registers(spec: Spec) -> list[tuple[str, int, str, str, Sequence[tuple[str, int, int]]]]:
    """AXI DMA 7.1 registers of the configured mode (direct or scatter-gather), from the spec's [dma.*]
    map (PG021 names)."""
    d = spec.dma
    cr = (("RS", d.dmacr_bits["RS"], 1), ("Reset", d.dmacr_bits["RESET"], 1), ("Keyhole", d.dmacr_bits["KEYHOLE"], 1),
          ("IOC_IrqEn", d.dmacr_bits["IOC_IRQEN"], 1), ("Dly_IrqEn", d.dmacr_bits["DLY_IRQEN"], 1),
          ("Err_IrqEn", d.dmacr_bits["ERR_IRQEN"], 1),
          # interrupt coalescing fields (PG021)
          ("IRQThreshold", *d.dmacr_fields["IRQTHRESHOLD"]), ("IRQDelay", *d.dmacr_fields["IRQDELAY"]))
    names = {"HALTED": "Halted", "IDLE": "Idle", "SGINCLD": "SGIncld", "INTERR": "DMAIntErr", "SLVERR": "DMASlvErr",
             "DECERR": "DMADecErr", "IOC_IRQ": "IOC_Irq", "DLY_IRQ": "Dly_Irq", "ERR_IRQ": "Err_Irq",
             "SGINTERR": "SGIntErr", "SGSLVERR": "SGSlvErr", "SGDECERR": "SGDecErr"}
    sr = tuple((names[k], bit, 1) for k, bit in d.dmasr_bits.items())
    out: list[tuple[str, int, str, str, Sequence[tuple[str, int, int]]]] = []
    for chan, addr in (("MM2S", "SA"), ("S2MM", "DA")):
        out += [
            (f"{chan}_DMACR", d.offset(chan, "DMACR"), "read-write", f"{chan} DMA Control Register", cr),
            (f"{chan}_DMASR", d.offset(chan, "DMASR"), "read-write", f"{chan} DMA Status Register", sr),
        ]
        if spec.dma_sg:
            out += [
                (f"{chan}_{reg}", d.offset(chan, reg), "read-write", f"{chan} {what}", ())
                for reg, what in (("CURDESC", "current descriptor pointer"),
                                  ("CURDESC_MSB", "current descriptor pointer (high 32 bits)"),
                                  ("TAILDESC", "tail descriptor pointer"),
                                  ("TAILDESC_MSB", "tail descriptor pointer (high 32 bits)"))
            ]
            continue
        out += [
            (f"{chan}_{addr}", d.offset(chan, "ADDR"), "read-write", f"{chan} address (low 32 bits)", ()),
            (f"{chan}_{addr}_MSB", d.offset(chan, "ADDR_MSB"), "read-write", f"{chan} address (high 32 bits)", ()),
            (f"{chan}_LENGTH", d.offset(chan, "LENGTH"), "read-write", f"{chan} transfer length in bytes", ()),
        ]
    return out


IPXACT_ACCESS = {"ro": "read-only", "rw": "read-write", "wo": "write-only"}  # spec access -> IP-XACT access


def accel_registers(spec: Spec) -> list[tuple[str, int, str, str, Sequence[tuple[str, int, int]]]]:
    """The accelerator's registers as its IP package declares them (build_overlay.tcl adds them with
    ``ipx::add_register``, so Vivado's .hwh lists the same): (name, offset, IP-XACT access,
    description, [(field, bit, width)]), by offset. ``[registers]`` plus each counter's LO/HI words."""
    out: list[tuple[str, int, str, str, Sequence[tuple[str, int, int]]]] = []
    for reg in spec.registers.values():
        fields = [(name, bit, 1) for name, bit in reg.fields.items()]
        out.append((reg.name, reg.offset, IPXACT_ACCESS.get(reg.access, "read-write"), f"{reg.name} ({reg.access})",
                    fields))
    for name, offset in spec.counters.items():
        out.append((f"{name}_LO", offset, "read-only", f"counter {name}, low word of the snapshot", ()))
        out.append((f"{name}_HI", offset + 4, "read-only", f"counter {name}, high word of the snapshot", ()))
    return sorted(out, key=lambda r: r[1])


def _ps_params(ps: Board, spec: Spec, stream_width: int) -> list[tuple[str, object]]:
    d0, d1, achieved = fabric_clock_divisors(ps, spec.fabric_mhz)
    params: list[tuple[str, object]] = []
    for i in range(4):  # pynq's clock_dict reads all four PL clocks
        on = i == 0
        if ps.ps_kind == "ps7":
            params += [
                (f"PCW_FPGA_FCLK{i}_ENABLE", int(on)),
                (f"PCW_FPGA{i}_PERIPHERAL_FREQMHZ", f"{spec.fabric_mhz:g}" if on else 50),
                (f"PCW_ACT_FPGA{i}_PERIPHERAL_FREQMHZ", f"{achieved:.6f}" if on else "10.000000"),
                (f"PCW_FCLK{i}_PERIPHERAL_DIVISOR0", d0 if on else 1),
                (f"PCW_FCLK{i}_PERIPHERAL_DIVISOR1", d1 if on else 1),
                (f"PCW_FCLK{i}_PERIPHERAL_CLKSRC", "IO PLL"),
            ]
        else:
            params += [
                (f"PSU__FPGA_PL{i}_ENABLE", int(on)),
                (f"PSU__CRL_APB__PL{i}_REF_CTRL__FREQMHZ", f"{spec.fabric_mhz:g}" if on else 100),
                (f"PSU__CRL_APB__PL{i}_REF_CTRL__ACT_FREQMHZ", f"{achieved:.6f}" if on else "100.000000"),
                (f"PSU__CRL_APB__PL{i}_REF_CTRL__DIVISOR0", d0 if on else 15),
                (f"PSU__CRL_APB__PL{i}_REF_CTRL__DIVISOR1", d1 if on else 1),
                (f"PSU__CRL_APB__PL{i}_REF_CTRL__SRCSEL", "IOPLL"),
            ]
    if ps.ps_kind == "ps7":
        params += [("PCW_USE_M_AXI_GP0", 1), ("PCW_USE_S_AXI_HP0", 1), ("C_S_AXI_HP0_DATA_WIDTH", stream_width),
                   ("PCW_S_AXI_HP0_DATA_WIDTH", stream_width), ("PCW_USE_FABRIC_INTERRUPT", 0)]
    else:
        params += [("PSU__USE__M_AXI_GP0", 1), ("PSU__USE__S_AXI_GP2", 1), ("C_MAXIGP0_DATA_WIDTH", 32),
                   ("C_SAXIGP2_DATA_WIDTH", stream_width), ("PSU__USE__IRQ0", 0)]
    return params


def generate_hwh(spec: Spec | str) -> str:
    """The ``.hwh`` text for ``spec`` (deterministic: no timestamps)."""
    spec = load_spec(spec)
    ps = _board(spec)
    device, package, speed = _split_part(spec.part, ps.ps_kind)
    freq_hz = round(spec.fabric_mhz * 1e6)
    W = spec.stream_width
    dma, acc = spec.dma_name, spec.ip_name

    root = ET.Element("EDKSYSTEM", EDWVERSION="1.2", TIMESTAMP="generated", VIVADOVERSION=HWH_VIVADO_VERSION)
    _sub(root, "SYSTEMINFO", ARCH=ps.ps_family, DEVICE=device, NAME=f"accel_{spec.name}", PACKAGE=package,
         SPEEDGRADE=speed)
    _sub(root, "EXTERNALPORTS")
    _sub(root, "EXTERNALINTERFACES")
    mods = _sub(root, "MODULES")

    # --------------------------------------------------------------- AXI DMA
    dma_high = spec.dma_base + spec.dma_range - 1
    dma_cfg = {
        "include_sg": int(spec.dma_sg), "sg_length_width": spec.dma_length_width, "micro_dma": 0,
        "include_mm2s": 1, "m_axi_mm2s_data_width": W, "m_axis_mm2s_tdata_width": W, "include_mm2s_dre": 1,
        "include_mm2s_sf": 1, "mm2s_burst_size": 256,
        "include_s2mm": 1, "m_axi_s2mm_data_width": W, "s_axis_s2mm_tdata_width": W, "include_s2mm_dre": 1,
        "include_s2mm_sf": 1, "s2mm_burst_size": 256,
        "addr_width": spec.dma_addr_width, "enable_multi_channel": 0, "num_mm2s_channels": 1,
        "num_s2mm_channels": 1, "sg_include_stscntrl_strm": 0, "increase_throughput": 0,
    }
    dma_params: list[tuple[str, object]] = [("C_S_AXI_LITE_ADDR_WIDTH", 10), ("C_S_AXI_LITE_DATA_WIDTH", 32)]
    dma_params += [(f"C_{k.upper()}", v) for k, v in dma_cfg.items() if k != "addr_width"]
    dma_params += [("C_M_AXI_MM2S_ADDR_WIDTH", spec.dma_addr_width), ("C_M_AXI_S2MM_ADDR_WIDTH", spec.dma_addr_width),
                   ("C_FAMILY", ps.ps_family), ("Component_Name", f"accel_{spec.name}_{dma}_0")]
    dma_params += [(f"c_{k}", v) for k, v in dma_cfg.items()]
    dma_params += [("EDK_IPTYPE", "PERIPHERAL"), ("C_BASEADDR", _hex(spec.dma_base)), ("C_HIGHADDR", _hex(dma_high))]
    dm = _Module(mods, dma, spec.dma_vlnv, "axi_dma", dma_params)
    dm.regblock("S_AXI_LITE", "Reg", 4096, _dma_registers(spec))
    sg_masters = ("M_AXI_SG",) if spec.dma_sg else ()  # descriptor fetches/updates (scatter-gather)
    for clk in ("s_axi_lite_aclk", "m_axi_mm2s_aclk", "m_axi_s2mm_aclk", *(m.lower() + "_aclk" for m in sg_masters)):
        dm.port(clk, "I", sigis="clk", freq_hz=freq_hz, connect=[(ps.ps_instance, ps.pins["CLK"])])
    dm.port("axi_resetn", "I", sigis="rst")
    dm.port("mm2s_introut", "O", sigis="INTERRUPT")  # not connected: the runtime polls DMASR
    dm.port("s2mm_introut", "O", sigis="INTERRUPT")
    _stream(dm, "M_AXIS_MM2S", "m_axis_mm2s", True, W, f"{dma}_M_AXIS_MM2S", acc, "s_axis", freq_hz, True)
    _stream(dm, "S_AXIS_S2MM", "s_axis_s2mm", False, W, f"{acc}_m_axis", acc, "m_axis", freq_hz, True)
    dm.busif("S_AXI_LITE", AXIMM, "SLAVE", f"{ps.ps_instance}_{ps.gp_port}",
             _mm_params(32, 10, freq_hz, "AXI4LITE", "READ_WRITE"), datawidth=32)
    dm.busif("M_AXI_MM2S", AXIMM, "MASTER", f"{dma}_M_AXI_MM2S",
             _mm_params(W, spec.dma_addr_width, freq_hz, "AXI4", "READ_ONLY"), datawidth=W)
    dm.busif("M_AXI_S2MM", AXIMM, "MASTER", f"{dma}_M_AXI_S2MM",
             _mm_params(W, spec.dma_addr_width, freq_hz, "AXI4", "WRITE_ONLY"), datawidth=W)
    for master in sg_masters:  # 32-bit descriptor words (PG021: M_AXI_SG data width 32)
        dm.busif(master, AXIMM, "MASTER", f"{dma}_{master}",
                 _mm_params(32, spec.dma_addr_width, freq_hz, "AXI4", "READ_WRITE"), datawidth=32)
    lo, hi = ps.hp_ddr_range
    for master in ("M_AXI_MM2S", "M_AXI_S2MM", *sg_masters):
        dm.memrange(ps.hp_block, lo, hi, ps.ps_instance, master, ps.hp_port, "MEMORY")

    # --------------------------------------------------------------- accelerator
    acc_high = spec.accel_base + spec.accel_range - 1
    acc_params: list[tuple[str, object]] = list(spec.verilog_params().items())
    acc_params += [("Component_Name", f"accel_{spec.name}_{acc}_0"), ("EDK_IPTYPE", "PERIPHERAL"),
                   ("C_BASEADDR", _hex(spec.accel_base)), ("C_HIGHADDR", _hex(acc_high))]
    am = _Module(mods, acc, spec.ip_vlnv, spec.ip_vlnv.split(":")[2], acc_params)
    # the packaged address block (build_overlay.tcl: RANGE 2**AXIL_ADDR_WIDTH); the window the PS
    # maps it into (the MEMRANGE below) is the larger addresses.accel_range
    am.regblock("s_axil", ACCEL_ADDRESS_BLOCK, 1 << spec.axil_addr_width, accel_registers(spec))
    am.port("aclk", "I", sigis="clk", freq_hz=freq_hz, connect=[(ps.ps_instance, ps.pins["CLK"])])
    am.port("aresetn", "I", sigis="rst")
    am.port("irq", "O", sigis="INTERRUPT")  # STATUS.ERROR && CTRL.IRQ_EN; not connected in the block design
    portmap = []
    for logical, suffix, direction, w in _AXIL_SIGS:
        bits = w if w is not None else spec.axil_addr_width
        physical = f"s_axil_{suffix}"
        am.port(physical, "I" if direction == "O" else "O", bits)
        portmap.append((logical, physical))
    am.busif("s_axil", AXIMM, "SLAVE", f"{ps.ps_instance}_{ps.gp_port}",
             _mm_params(32, spec.axil_addr_width, freq_hz, "AXI4LITE", "READ_WRITE"), portmap, datawidth=32)
    _stream(am, "s_axis", "s_axis", False, W, f"{dma}_M_AXIS_MM2S", dma, "m_axis_mm2s", freq_hz, False)
    _stream(am, "m_axis", "m_axis", True, W, f"{acc}_m_axis", dma, "s_axis_s2mm", freq_hz, False)

    # --------------------------------------------------------------- processing system
    pm = _Module(mods, ps.ps_instance, ps.ps_vlnv, ps.ps_modtype, _ps_params(ps, spec, W), is_pl=False)
    clk_users = [(dma, "s_axi_lite_aclk"), (dma, "m_axi_mm2s_aclk"), (dma, "m_axi_s2mm_aclk"), (acc, "aclk")]
    pm.port(ps.pins["CLK"], "O", sigis="clk", freq_hz=freq_hz, connect=clk_users)
    pm.port(ps.pins["RESETN"], "O", sigis="rst")
    pm.busif(ps.gp_port, AXIMM, "MASTER", f"{ps.ps_instance}_{ps.gp_port}",
             _mm_params(32, ps.gp_addr_width, freq_hz, ps.gp_protocol, "READ_WRITE"), datawidth=32)
    pm.busif(ps.hp_port, AXIMM, "SLAVE", f"{dma}_M_AXI",
             _mm_params(W, spec.dma_addr_width, freq_hz, ps.hp_protocol, "READ_WRITE"), datawidth=W)
    pm.memrange("Reg", spec.dma_base, dma_high, dma, ps.gp_port, "S_AXI_LITE", "REGISTER")
    pm.memrange(ACCEL_ADDRESS_BLOCK, spec.accel_base, acc_high, acc, ps.gp_port, "s_axil", "REGISTER")

    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    header = (f'<?xml version="1.0" encoding="UTF-8" standalone="no" ?>\n'
              f"<!-- Generated by accel.overlays.hwh from overlays/specs/{spec.name}.toml "
              f"(spec hash {spec.hash[:16]}). Do not edit: regenerate with its write option. -->\n")
    return header + body + "\n"


def hwh_path(spec: Spec | str) -> Path:
    """The checked-in ``.hwh`` of a spec."""
    name = spec.name if isinstance(spec, Spec) else str(spec)
    return HWH_DIR / f"{name}.hwh"


def write_hwh(spec: Spec | str, path: Path | None = None) -> Path:
    """Write the generated ``.hwh`` (atomically: parallel test workers may race)."""
    import os
    import tempfile

    spec = load_spec(spec)
    path = Path(path) if path else hwh_path(spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = generate_hwh(spec)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
    return path
