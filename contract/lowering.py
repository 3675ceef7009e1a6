"""Schedule lowering: a :class:`~accel.contract.schedule.Schedule` becomes instructions (encoded
from the spec's ISA) and the exact MM2S/S2MM transfer lists of a driver program.

The one lowering in the project: the compiler's ``accel-lower`` pass, the runtime's built-in
matmul and the benchmarks all call :func:`build_program`.
"""

from __future__ import annotations

import base64
from typing import Any

from accel.contract.program import DriverProgram
from accel.contract.schedule import Schedule, check_schedule
from accel.contract.walker import COMMAND_BUFFER, DRAIN_RESULT_BYTES, LOAD_EPI, encode_instruction
from accel.errors import DtypeError, ShapeError, TransferTooLargeError

#: the params operand of an epilogue program: the LOAD_EPI packets, built at bind time
PARAMS_OPERAND = "epi"


def build_program(spec: Any, s: Schedule, *, name: str = "matmul", c_init: str = "zero", a_dtype: str = "int8",
                  b_dtype: str = "int8", out_dtype: str = "int32") -> DriverProgram:
    """Lower a schedule to instructions and DMA transfers (deterministic, pure Python).

    ``a_dtype``/``b_dtype`` "uint8" set the u8 flag of LOAD_A/STREAM_B (the input path converts
    to int8 on the fly); ``out_dtype`` "int8"/"uint8" drains through the fused epilogue
    (DRAIN_Q, 8-bit results, C of M*N bytes) with a LOAD_EPI packet from the params operand
    ``epi`` before the first STREAM_B into an accumulator bank whose window changed. The
    defaults build exactly the int32 programs of before (same instructions, packets, JSON)."""
    check_schedule(spec, s)
    for what, dt, allowed in (("a_dtype", a_dtype, ("int8", "uint8")), ("b_dtype", b_dtype, ("int8", "uint8")),
                              ("out_dtype", out_dtype, ("int32", "int8", "uint8"))):
        if dt not in allowed:
            raise DtypeError(f"build_program: {what}={dt!r} must be one of {list(allowed)}")
    fused = out_dtype != "int32"
    drain_op = "DRAIN_Q" if fused else "DRAIN"
    out_bytes = DRAIN_RESULT_BYTES[drain_op]
    u8a = {"u8": 1} if a_dtype == "uint8" else {}
    u8b = {"u8": 1} if b_dtype == "uint8" else {}
    M, N, K = s.m, s.n, s.k
    tm, tn, tk = s.tile_m, min(s.tile_n, N), min(s.tile_k, K)
    panels = [(i, min(tm, M - i)) for i in range(0, M, tm)]
    ntiles = [(j, min(tn, N - j)) for j in range(0, N, tn)]
    kchunks = [(q, min(tk, K - q)) for q in range(0, K, tk)]
    partial_k = s.stationarity == "N" and len(kchunks) > 1
    # C rows are contiguous only when a tile spans all of N; else drain into scratch.
    c_direct = not s.staging and len(ntiles) == 1 and not partial_k and c_init == "zero"
    if fused and (partial_k or c_init != "zero"):
        raise ShapeError(
            f"the fused epilogue ({out_dtype} output) requantizes whole-K accumulators once: "
            + ("stationarity 'N' with K split drains partial sums; use stationarity 'A' or 'C'" if partial_k
               else f"c_init={c_init!r} cannot accumulate into {out_dtype}; use c_init='zero'")
        )
    windows: list[list[int]] = []  # [col0, cols, offset in the params operand] per output window
    win_off: dict[tuple[int, int], int] = {}
    if fused:
        for j, nc in ntiles:
            win_off[(j, nc)] = sum(spec.epilogue.packet_bytes(w[1]) for w in windows)
            windows.append([j, nc, win_off[(j, nc)]])
    epi_bank: dict[int, tuple[int, int]] = {}  # acc bank -> window whose parameters it holds

    instrs: list[tuple[bytes, list[Any] | None]] = []  # (command-buffer beat, mm2s data entry or None)
    drains: list[list[Any]] = []
    scratch: dict[str, dict[str, Any]] = {}
    stage_bytes = {"stage_a": 0, "stage_b": 0, "stage_c": 0}
    counters = {"abank": 0, "acc": 0, "tiles": 0}

    def a_entry(i: int, rows: int, q: int, kc: int) -> tuple[list[Any], dict[str, int]]:
        if s.staging:  # pack the A tile contiguously: row_len = kc, no window
            stage_bytes["stage_a"] = max(stage_bytes["stage_a"], rows * kc)
            pack = {"src": "a", "row0": i, "col0": q, "rows": rows, "cols": kc}
            return ["stage_a", 0, rows * kc, pack], {"row_len": kc, "win_lo": 0}
        return ["a", i * K, rows * K, None], {"row_len": K, "win_lo": q}

    def b_entry(q: int, kc: int, j: int, nc: int) -> tuple[list[Any], dict[str, int]]:
        if s.staging:
            stage_bytes["stage_b"] = max(stage_bytes["stage_b"], kc * nc)
            pack = {"src": "b", "row0": q, "col0": j, "rows": kc, "cols": nc}
            return ["stage_b", 0, kc * nc, pack], {"row_len": nc, "win_lo": 0}
        return ["b", q * N, kc * N, None], {"row_len": N, "win_lo": j}

    def load_a(i: int, rows: int, q: int, kc: int) -> int:
        bank = counters["abank"] % 2 if s.double_buffer else 0
        counters["abank"] += 1
        entry, f = a_entry(i, rows, q, kc)
        instrs.append((encode_instruction(spec, "LOAD_A", abuf=bank, rows=rows, win_cnt=kc, **f, **u8a), entry))
        return bank

    def stream_b(bank: int, acc: int, accumulate: bool, q: int, kc: int, j: int, nc: int) -> None:
        if fused and not accumulate and epi_bank.get(acc) != (j, nc):  # the bank's parameters, when they change
            epi = [PARAMS_OPERAND, win_off[(j, nc)], spec.epilogue.packet_bytes(nc), None]
            instrs.append((encode_instruction(spec, LOAD_EPI, acc=acc, win_cnt=nc), epi))
            epi_bank[acc] = (j, nc)
        entry, f = b_entry(q, kc, j, nc)
        beat = encode_instruction(spec, "STREAM_B", abuf=bank, acc=acc, accumulate=int(accumulate), win_cnt=nc,
                                  **f, **u8b)
        instrs.append((beat, entry))

    def drain(acc: int, i: int, rows: int, j: int, nc: int, add: bool) -> None:
        instrs.append((encode_instruction(spec, drain_op, acc=acc, rows=rows, win_cnt=nc), None))
        nbytes = rows * nc * out_bytes
        if c_direct:
            drains.append(["c", i * N * out_bytes, nbytes, None])
        else:
            stage_bytes["stage_c"] = max(stage_bytes["stage_c"], nbytes)
            unpack = {"dst": "c", "row0": i, "col0": j, "rows": rows, "cols": nc, "add": add}
            drains.append(["stage_c", 0, nbytes, unpack])

    def next_acc() -> int:
        acc = counters["acc"] % 2 if s.double_buffer else 0
        counters["acc"] += 1
        counters["tiles"] += 1
        return acc

    outer = [(p, t) for p in panels for t in ntiles] if s.order == "mn" else [
        (p, t) for t in ntiles for p in panels
    ]
    add_c = c_init == "accumulate"
    if s.stationarity == "A" and len(kchunks) == 1:
        loaded: tuple[int, int] | None = None
        bank = 0
        for (i, rows), (j, nc) in outer:
            if loaded != (i, rows):  # reload A only when the panel changes
                bank = load_a(i, rows, 0, K)
                loaded = (i, rows)
            acc = next_acc()
            stream_b(bank, acc, False, 0, K, j, nc)
            drain(acc, i, rows, j, nc, add_c)
    else:
        for (i, rows), (j, nc) in outer:
            acc = next_acc() if s.stationarity != "N" else None
            for qi, (q, kc) in enumerate(kchunks):
                if s.stationarity == "N":
                    acc = next_acc()
                bank = load_a(i, rows, q, kc)
                stream_b(bank, acc, s.stationarity != "N" and qi > 0, q, kc, j, nc)
                if s.stationarity == "N":
                    drain(acc, i, rows, j, nc, add_c or qi > 0)
            if s.stationarity != "N":
                drain(acc, i, rows, j, nc, add_c)

    # Command segments: at most ififo_depth instructions; a segment is sent when the
    # accelerator's FIFO has run empty, i.e. before the first data packet of the segment.
    ib = spec.instr_bytes
    cmd = bytearray()
    mm2s: list[list[Any]] = []
    depth = spec.ififo_depth
    for seg in range(0, len(instrs), depth):
        chunk = instrs[seg : seg + depth]
        mm2s.append([COMMAND_BUFFER, len(cmd), len(chunk) * ib, None])
        for beat, entry in chunk:
            cmd += beat
            if entry is not None:
                mm2s.append(entry)
    scratch[COMMAND_BUFFER] = {"bytes": len(cmd), "init": base64.b64encode(bytes(cmd)).decode()}
    for sname, nbytes in stage_bytes.items():
        if nbytes:
            scratch[sname] = {"bytes": nbytes}

    for chan, entries in (("MM2S", mm2s), ("S2MM", drains)):
        for buf, _, nbytes, _ in entries:
            if nbytes > spec.dma_max_bytes:
                raise TransferTooLargeError(
                    f"{chan} transfer of {nbytes} bytes from {buf!r} exceeds the DMA LENGTH register "
                    f"({spec.dma_length_width} bits: at most {spec.dma_max_bytes} bytes); "
                    f"use a smaller tile_k/tile_m or a spec with a wider dma.length_width"
                )

    operands = {
        "a": {"shape": [M, K], "dtype": a_dtype, "role": "in"},
        "b": {"shape": [K, N], "dtype": b_dtype, "role": "in"},
        "c": {"shape": [M, N], "dtype": out_dtype, "role": "inout" if add_c else "out"},
    }
    epilogue: dict[str, Any] = {}
    if fused:
        operands[PARAMS_OPERAND] = {"shape": [windows[-1][2] + spec.epilogue.packet_bytes(windows[-1][1])],
                                    "dtype": "uint8", "role": "in"}
        epilogue = {"params": PARAMS_OPERAND, "out_dtype": out_dtype, "windows": windows}
    stats = {
        "instructions": len(instrs),
        "tiles": counters["tiles"],
        "panels": len(panels),
        "mm2s_transfers": len(mm2s),
        "s2mm_transfers": len(drains),
        "dma_bytes_in": sum(e[2] for e in mm2s),
        "dma_bytes_out": sum(e[2] for e in drains),
        "macs": M * N * K,
    }
    prog = DriverProgram(
        spec_name=spec.name,
        spec_hash=spec.hash,
        name=name,
        operands=operands,
        c_init=c_init,
        scratch=scratch,
        mm2s=mm2s,
        s2mm=drains,
        schedule=s.to_dict(),
        stats=stats,
        epilogue=epilogue,
    )
    prog.validate()
    return prog
