"""Locate the tritonserver distribution inside the nvidia-pytriton wheel and assemble its backends."""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

from triton_launcher.errors import ServerNotFoundError

STUB_NAME = "triton_python_backend_stub"


@dataclass(frozen=True)
class ServerDistribution:
    """Paths of one tritonserver installation."""

    binary: Path
    python_backend: Path
    stubs: Path
    libraries: Path

    def stub_for(self, version: tuple[int, int]) -> Path:
        stub = self.stubs / f"{version[0]}.{version[1]}" / STUB_NAME
        if not stub.is_file():
            raise ServerNotFoundError(f"no Python backend stub for Python {version[0]}.{version[1]} in {self.stubs}")
        return stub


def find_distribution() -> ServerDistribution:
    """The server shipped by the installed nvidia-pytriton wheel."""
    spec = find_spec("pytriton")
    if spec is None or spec.origin is None:
        raise ServerNotFoundError("nvidia-pytriton is not installed: `pip install nvidia-pytriton==0.7.0`")
    package = Path(spec.origin).parent
    root = package / "tritonserver"
    distribution = ServerDistribution(
        binary=root / "bin" / "tritonserver",
        python_backend=root / "backends" / "python",
        stubs=root / "python_backend_stubs",
        libraries=package.parent / "nvidia_pytriton.libs",
    )
    for path in (distribution.binary, distribution.python_backend, distribution.libraries):
        if not path.exists():
            raise ServerNotFoundError(f"incomplete tritonserver distribution: {path} is missing")
    return distribution


def assemble_backends(distribution: ServerDistribution, destination: Path) -> Path:
    """A backend directory whose python/ backend carries the stub matching this interpreter."""
    python_dir = destination / "python"
    if python_dir.exists():
        shutil.rmtree(python_dir)
    shutil.copytree(distribution.python_backend, python_dir, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(distribution.stub_for(sys.version_info[:2]), python_dir / STUB_NAME)
    return destination
