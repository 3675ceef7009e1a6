"""``accel-run``: the command line over the whole stack.

Each room registers its own subcommands from a module of its own, imported by name when the
CLI starts (never at package import); each module imports its room only inside its commands,
so ``accel-run --help`` on a board needs no compiler: runtime (demo, matmul, info), compiler
(compile, run, opt, irdl), bench (bench, bench-costmodel, sim-speed, docs), overlays (spec, hwh,
estimate, sim-build, vivado-params, build-bitstream). The scripts in ``scripts/`` are thin
entry points over :func:`main`. User errors (``AccelError``, and an ``OSError`` on a path the
user gave) print one clear line and exit 2; no tracebacks for them. Every command that opens a
backend defaults to ``--backend auto`` (the board when its overlay is installed, else the
simulator).
"""

from __future__ import annotations

import sys

import click

from accel.errors import AccelError

_ARGV = "accel.argv"


class _Group(click.Group):
    """Turns AccelError into a one-line message and exit code 2; remembers the command line."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta.setdefault(_ARGV, list(args))  # the root group sees the whole command line first
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except AccelError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(2)
        except OSError as exc:  # a path the user gave cannot be read or written: theirs to fix
            where = f" {exc.filename}" if exc.filename else ""
            hint = " (does its folder exist?)" if isinstance(exc, FileNotFoundError) else ""
            click.secho(f"error: cannot access{where}: {exc.strerror or exc}{hint}", fg="red", err=True)
            sys.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pynq-accel")
def cli() -> None:
    """pynq-accel: linalg.matmul from MLIR onto a PYNQ matmul overlay (board or Verilator)."""


def command_line() -> str:
    """The running command as a shell line (``accel-run bench --quick``): what a result file's
    stamp records, so that re-running it refreshes the file."""
    import shlex

    ctx = click.get_current_context()
    return shlex.join(["accel-run", *ctx.meta.get(_ARGV, sys.argv[1:])])


def _register() -> None:
    from accel.cli import bench_cmds, compiler_cmds, overlays_cmds, runtime_cmds

    for module in (runtime_cmds, compiler_cmds, bench_cmds, overlays_cmds):
        module.register(cli)


def main(argv: list[str] | None = None) -> int:
    _register()
    return cli.main(args=argv, prog_name="accel-run", standalone_mode=True) or 0
