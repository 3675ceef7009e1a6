"""pynq-accel: the rooms compiler/, contract/, runtime/, overlays/, bench/ map to accel.compiler,
accel.contract, accel.runtime, accel.overlays, accel.bench (no bare top-level packages)."""

from setuptools import setup

ROOMS = {
    "accel.compiler": "compiler",
    "accel.contract": "contract",
    "accel.runtime": "runtime",
    "accel.overlays": "overlays",
    "accel.bench": "bench",
}


def _packages() -> tuple[list[str], dict[str, str]]:
    from pathlib import Path

    packages, package_dir = [], {"accel": "accel"}
    for pkg, root in {"accel": "accel", **ROOMS}.items():
        package_dir[pkg] = root
        for init in sorted(Path(root).rglob("__init__.py")):
            rel = init.parent.relative_to(root)
            packages.append(".".join([pkg, *rel.parts]) if rel.parts else pkg)
            if rel.parts:
                package_dir[packages[-1]] = str(init.parent)
    return packages, package_dir


PACKAGES, PACKAGE_DIR = _packages()

setup(
    packages=PACKAGES,
    package_dir=PACKAGE_DIR,
    package_data={
        "accel.overlays": [
            "specs/*.toml", "specs/common/*.toml", "boards.toml", "rtl/*.v", "sim/*.cpp", "sim/*.h", "hwh/*",
            "vivado/*", "*.bit", "*.hwh",
        ],
    },
    include_package_data=True,
)
