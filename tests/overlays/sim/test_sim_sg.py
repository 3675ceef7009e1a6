"""The harness's AXI DMA scatter-gather model (PG021), register- and descriptor-exact, driven raw:
descriptor fetch and STATUS write-back, Idle at TAILDESC, IOC, CURDESC only while halted, the SG
errors. MM2S data goes into the accelerator, which sinks what it cannot decode (an accelerator
error, not a DMA one); end-to-end chains through the accelerator are in tests/runtime/test_sgdma.py.
"""

from __future__ import annotations

import struct

import pytest

from accel.overlays.sim import SimModel


@pytest.fixture
def sg(z2_sg_spec):
    with SimModel(z2_sg_spec) as model:
        yield model


def _reg(spec, chan, name):
    return spec.dma_base + spec.dma.offset(chan, name)


def _desc(sim, index, nxt, buf, nbytes, sof=True, eof=True, status=0):
    """Write descriptor ``index`` (64-byte slots from DDR offset 0); returns its physical address."""
    spec = sim.spec
    d = spec.dma
    off = index * d.desc_bytes
    words = [0] * 16
    words[d.desc_words["NXTDESC"]] = nxt & 0xFFFFFFFF
    words[d.desc_words["BUFFER_ADDRESS"]] = buf & 0xFFFFFFFF
    words[d.desc_words["CONTROL"]] = nbytes | (d.control("SOF") if sof else 0) | (d.control("EOF") if eof else 0)
    words[d.desc_words["STATUS"]] = status
    sim.ddr[off : off + 64] = struct.pack("<16I", *words)
    return spec.ddr_base + off


def _status(sim, index):
    d = sim.spec.dma
    off = index * d.desc_bytes + d.desc_offset("STATUS")
    return struct.unpack("<I", bytes(sim.ddr[off : off + 4]))[0]


def _start(sim, chan, first, tail):
    d = sim.spec.dma
    sim.write32(_reg(sim.spec, chan, "CURDESC"), first)
    sim.write32(_reg(sim.spec, chan, "DMACR"), d.dmacr_reset_value | d.dmacr("RS") | d.dmacr("IOC_IRQEN"))
    sim.write32(_reg(sim.spec, chan, "TAILDESC"), tail)


def test_dmasr_says_sg_and_dmacr_resets_to_threshold_one(sg) -> None:
    d = sg.spec.dma
    assert sg.read32(_reg(sg.spec, "mm2s", "DMASR")) & d.dmasr("SGINCLD")
    assert sg.read32(_reg(sg.spec, "mm2s", "DMACR")) == d.dmacr_field("IRQTHRESHOLD", 1)


def test_mm2s_chain_completes_with_status_written_back(sg) -> None:
    """Two packets into the accelerator (which sinks them after its first, unknown, word: an error
    the accelerator reports, not the DMA): both descriptors complete, Cmplt + bytes, Idle at the tail."""
    spec, d = sg.spec, sg.spec.dma
    data = spec.ddr_base + 0x10000
    first = _desc(sg, 0, spec.ddr_base + 64, data, 24)
    tail = _desc(sg, 1, first, data + 64, 40)
    _start(sg, "mm2s", first, tail)
    sr = sg.read32(_reg(spec, "mm2s", "DMASR"))  # runs the clock until the chain is done
    assert sr & d.dmasr("IDLE") and not sr & (d.dmasr("SGINTERR") | d.dmasr("SGDECERR") | d.dmasr("SGSLVERR"))
    assert sr & d.dmasr("IOC_IRQ")
    for i, n in ((0, 24), (1, 40)):
        st = _status(sg, i)
        assert st & d.status("CMPLT") and st & spec.dma_max_bytes == n
    assert sg.stats()["desc_fetches"] >= 2


def test_completed_descriptor_reused_is_sginterr(sg) -> None:
    spec, d = sg.spec, sg.spec.dma
    first = _desc(sg, 0, spec.ddr_base, spec.ddr_base + 0x10000, 8, status=d.status("CMPLT"))
    _start(sg, "mm2s", first, first)
    sr = sg.read32(_reg(spec, "mm2s", "DMASR"))
    assert sr & d.dmasr("SGINTERR") and sr & d.dmasr("ERR_IRQ")


def test_chain_pointing_outside_memory_is_sgdecerr(sg) -> None:
    spec, d = sg.spec, sg.spec.dma
    outside = spec.ddr_base + spec.ddr_size + 0x1000
    first = _desc(sg, 0, outside, spec.ddr_base + 0x10000, 8, eof=False)
    _start(sg, "mm2s", first, outside)
    sr = sg.read32(_reg(spec, "mm2s", "DMASR"))
    assert sr & d.dmasr("SGDECERR") and sr & d.dmasr("ERR_IRQ")  # the fetcher runs ahead: found at once
    assert not sg.read32(_reg(spec, "mm2s", "DMACR")) & d.dmacr("RS")  # halted on the error


@pytest.mark.parametrize(("fault", "bit"), [("sg_fetch_error", "SGSLVERR"), ("sg_bad_pointer", "SGDECERR"),
                                             ("sg_reused", "SGINTERR")])
def test_injected_sg_faults_then_reset(sg, fault, bit) -> None:
    spec, d = sg.spec, sg.spec.dma
    sg.inject(fault, "s2mm")
    first = _desc(sg, 0, spec.ddr_base, spec.ddr_base + 0x10000, 64)
    _start(sg, "s2mm", first, first)
    sr = sg.read32(_reg(spec, "s2mm", "DMASR"))
    assert sr & d.dmasr(bit)
    sg.write32(_reg(spec, "mm2s", "DMACR"), d.dmacr("RESET"))
    assert not sg.read32(_reg(spec, "s2mm", "DMASR")) & d.dmasr(bit)


def test_curdesc_is_read_only_while_running(sg) -> None:
    spec, d = sg.spec, sg.spec.dma
    sg.write32(_reg(spec, "s2mm", "CURDESC"), spec.ddr_base + 0x40)
    sg.write32(_reg(spec, "s2mm", "DMACR"), d.dmacr("RS"))
    sg.write32(_reg(spec, "s2mm", "CURDESC"), spec.ddr_base + 0x80)
    assert sg.read32(_reg(spec, "s2mm", "CURDESC")) == spec.ddr_base + 0x40
