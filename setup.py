"""pynq-accel: the rooms compiler/, runtime/, overlays/ map to accel.compiler, accel.runtime,
accel.overlays (no bare top-level packages)."""

from setuptools import setup

ROOMS = {"accel.compiler": "compiler", "accel.runtime": "runtime", "accel.overlays": "overlays"}


def _packages() -> tuple[list[str], dict[str, str]]:
    from pathlib import Path

    packages, package_dir = ["accel"], {"accel": "accel"}
    for pkg, root in ROOMS.items():
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
        "accel.overlays": ["specs/*.toml", "rtl/*.v", "sim/*.cpp", "sim/*.h", "hwh/*", "vivado/*", "*.bit", "*.hwh"],
    },
    include_package_data=True,
)
