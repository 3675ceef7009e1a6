"""The spec is one document per configuration: a shared table (ISA, registers, counters, errors,
AXI DMA map) merged with what the configuration chooses, and the board's part; every limit that
follows from an instruction field's width is derived from ``[isa.fields]``; the simulator's C ABI
codes are generated from one Python table."""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from accel.contract.schedule import Schedule, check_schedule
from accel.errors import ShapeError, SpecError
from accel.overlays import sim, sim_abi
from accel.overlays import spec as spec_mod
from accel.overlays.boards import get_board
from accel.overlays.spec import SHARED_SPEC, SPECS_DIR, available_specs, load_spec

SPECS = available_specs()
SHARED_KEYS = ("version", "axil", "registers", "counters", "isa", "errors")
SHARED_DMA_KEYS = ("vlnv", "channels", "registers", "dmacr_bits", "dmasr_bits")


def _toml(path: Path) -> dict:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def _config_with(tmp_path: Path, extra: str, base: str = "z2_default") -> Path:
    path = tmp_path / f"{base}_changed.toml"
    path.write_text((SPECS_DIR / f"{base}.toml").read_text() + "\n" + extra + "\n")
    return path


# ------------------------------------------------------------------ one shared table
def test_only_the_configurations_are_listed():
    assert SPECS == ["kv260", "z2_default"]


def test_both_configurations_use_the_shared_table():
    shared = _toml(SHARED_SPEC)
    for name in SPECS:
        config = _toml(SPECS_DIR / f"{name}.toml")
        raw = load_spec(name).raw
        for key in SHARED_KEYS:
            assert key not in config, f"{name}.toml redefines [{key}]"
            assert raw[key] == shared[key], key
        for key in SHARED_DMA_KEYS:
            assert key not in config["dma"], f"{name}.toml redefines dma.{key}"
            assert raw["dma"][key] == shared["dma"][key], key
        assert "part" not in config and raw["part"] == get_board(config["board"]).part
    z2, kv = (load_spec(n) for n in ("z2_default", "kv260"))
    assert (z2.registers, z2.counters, z2.opcodes, z2.isa_fields, z2.errors, z2.dma) == (
        kv.registers, kv.counters, kv.opcodes, kv.isa_fields, kv.errors, kv.dma)


def test_raw_is_the_merged_document():
    for name in SPECS:
        s = load_spec(name)
        merged = spec_mod.merge_config(_toml(SHARED_SPEC), _toml(SPECS_DIR / f"{name}.toml"))
        assert s.raw == merged
        assert s.part == get_board(s.board).part


@pytest.mark.parametrize(
    ("extra", "entry"),
    [
        ("[isa.opcodes]\nLOAD_A = 7", "isa.opcodes.LOAD_A"),
        ("[isa.opcodes]\nNOP = 9", "isa.opcodes.NOP"),  # extending a shared table is overriding it too
        ("[registers]\nCTRL = { offset = 0x100, access = 'rw' }", "registers.CTRL"),
        ("[counters]\nEXTRA = 0x80", "counters.EXTRA"),
        ("[errors]\nNONE = 1", "errors.NONE"),
        ("[dma.channels]\nS2MM = 0x40", "dma.channels.S2MM"),
        ("[axil]\naddr_width = 16", "axil.addr_width"),
    ],
)
def test_a_configuration_cannot_override_a_shared_entry(tmp_path, extra, entry):
    with pytest.raises(SpecError, match=re.escape(entry)) as ei:
        load_spec(_config_with(tmp_path, extra))
    assert "shared" in str(ei.value) and "accelerator.toml" in str(ei.value)


def test_the_part_comes_from_the_board(tmp_path):
    path = tmp_path / "z2_part.toml"
    path.write_text((SPECS_DIR / "z2_default.toml").read_text().replace(
        'board = "pynq-z2"', 'board = "pynq-z2"\npart = "xc7z020clg400-1"'))
    with pytest.raises(SpecError, match="part is a board fact"):
        load_spec(path)
    path.write_text((SPECS_DIR / "z2_default.toml").read_text().replace('board = "pynq-z2"', 'board = "zcu999"'))
    with pytest.raises(SpecError, match=r"no board 'zcu999'.*known boards: kv260, pynq-z2"):
        load_spec(path)


def test_a_configuration_file_elsewhere_still_gets_the_shared_table(tmp_path):
    path = tmp_path / "z2_small_k.toml"
    path.write_text((SPECS_DIR / "z2_default.toml").read_text().replace("kmax = 4096", "kmax = 2048")
                    .replace('name = "z2_default"', 'name = "z2_small_k"'))
    s = load_spec(path)
    assert s.kmax == 2048 and s.opcodes == load_spec("z2_default").opcodes


# ------------------------------------------------------------------ widths from [isa.fields]
def _with_shared(monkeypatch, tmp_path: Path, old: str, new: str) -> None:
    text = SHARED_SPEC.read_text()
    assert old in text
    shared = tmp_path / "accelerator.toml"
    shared.write_text(text.replace(old, new))
    monkeypatch.setattr(spec_mod, "SHARED_SPEC", shared)


def test_field_limits_follow_the_isa_fields(monkeypatch, tmp_path):
    z2 = load_spec("z2_default")
    assert z2.field_max("rows") == 255 and z2.field_max("win_cnt") == 65535
    _with_shared(monkeypatch, tmp_path, "rows = [8, 8]", "rows = [8, 4]")  # a 4-bit rows field
    with pytest.raises(SpecError, match=r"rows 16 must be 1\.\.15 \(4-bit rows field\)"):
        load_spec("z2_default")
    _with_shared(monkeypatch, tmp_path, "win_cnt = [48, 16]", "win_cnt = [48, 12]")
    with pytest.raises(SpecError, match=r"kmax 4096 must be .* below 4096 \(12-bit win_cnt field\)"):
        load_spec("z2_default")


def test_overlapping_fields_are_refused(monkeypatch, tmp_path):
    _with_shared(monkeypatch, tmp_path, "row_len = [16, 16]", "row_len = [12, 16]")
    with pytest.raises(SpecError, match="rows and row_len overlap at bit 12"):
        load_spec("z2_default")


def test_schedule_dimension_limit_follows_the_fields():
    z2 = load_spec("z2_default")
    check_schedule(z2, Schedule(16, 5000, 64, 16, 512, 64))  # fits 16-bit fields
    with pytest.raises(ShapeError, match="N=70000 exceeds the 16-bit row_len/window fields"):
        check_schedule(z2, Schedule(16, 70000, 64, 16, 512, 64))
    narrow = dataclasses.replace(z2, isa_fields={**z2.isa_fields, "row_len": (16, 12)})
    with pytest.raises(ShapeError, match="N=5000 exceeds the 12-bit row_len/window fields"):
        check_schedule(narrow, Schedule(16, 5000, 64, 16, 512, 64))


def test_instruction_word_bytes_from_the_layout():
    for name in SPECS:
        s = load_spec(name)
        assert s.instr_word_bytes == 8
        assert s.instr_bytes == s.beat_bytes >= s.instr_word_bytes
    z2 = load_spec("z2_default")
    assert dataclasses.replace(z2, isa_fields={**z2.isa_fields, "win_cnt": (48, 8)}).instr_word_bytes == 7
    assert dataclasses.replace(z2, isa_fields={**z2.isa_fields, "win_cnt": (64, 16)}).instr_word_bytes == 10


# ------------------------------------------------------------------ the simulator's C ABI
def _enum(header: str, name: str) -> dict[str, int]:
    body = re.search(rf"enum {name} : int \{{(.*?)\}};", header, re.S)
    assert body, name
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"(\w+) = (-?\d+),", body.group(1))}


def test_c_abi_is_generated_from_the_python_table():
    header = load_spec("z2_default").c_header()
    assert _enum(header, "Fault") == {f"FAULT_{f.name.upper()}": f.code for f in sim_abi.FAULTS}
    assert _enum(header, "Channel") == {"CH_MM2S": 0, "CH_S2MM": 1, "CH_NONE": sim_abi.NO_CHANNEL}
    assert _enum(header, "Status") == {f"SIM_{s.name}": int(s) for s in sim_abi.Status}
    assert _enum(header, "IrqLine") == {f"IRQ_{n.upper()}_BIT": b for n, b in sim_abi.IRQ_LINES.items()}
    assert f"SIM_ABI_VERSION = {sim_abi.ABI_VERSION};" in header
    # the numbers the C ABI has always had
    assert sim.FAULTS == {"dma_slverr": 0, "dma_decerr": 1, "mm2s_stall": 2, "s2mm_stall": 3, "drop_tlast": 4,
                          "accel_hang": 5, "sg_fetch_error": 6, "sg_bad_pointer": 7, "sg_reused": 8}
    assert sim.CHANNELS == {"mm2s": 0, "s2mm": 1}
    assert [int(s) for s in sim_abi.Status] == [0, -1, -2, -3, -4, -5]


def test_harness_sources_do_not_redefine_the_abi():
    sim_dir = Path(spec_mod.__file__).resolve().parent / "sim"
    text = (sim_dir / "harness.h").read_text() + (sim_dir / "harness.cpp").read_text()
    for name in ("Fault", "Channel", "Status", "IrqLine"):
        assert f"enum {name} :" not in text, name
    assert not re.search(r"\b(SIM_E\w+|FAULT_\w+|CH_\w+)\s*=", text)
