"""The peer tool, deface==1.5.0, in its own virtual environment, run through its CLI as users do.

    .venv/bin/python -m perf.peer setup     # once: var/peer-venv with deface==1.5.0 and onnxruntime

Its dependencies (numpy 2, opencv-python, imageio, scikit-image) stay out of the project's venv.
The harness never builds it on import: :func:`find_peer` answers None until ``setup`` has run.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
import venv
from dataclasses import dataclass
from pathlib import Path

from perf.errors import MeasurementError, ServiceStartError

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
PEER_VENV = ROOT / "var" / "peer-venv"
PEER_REQUIREMENTS = ("deface==1.5.0", "onnxruntime")
PEER_VERSION = "1.5.0"
SUFFIX = "_anonymized"  # deface writes <name>_anonymized<ext> beside each input


@dataclass(frozen=True)
class Peer:
    """deface's CLI in ``venv_dir``; ``scale`` None = full resolution (its default), else e.g. '640x360'."""

    venv_dir: Path
    scale: str | None = None

    @property
    def executable(self) -> Path:
        return self.venv_dir / "bin" / "deface"

    @property
    def label(self) -> str:
        return "deface " + (f"--scale {self.scale}" if self.scale else "full resolution")

    def command(self, inputs: Path) -> list[str]:
        """deface's CLI on every file of the folder ``inputs``, its defaults otherwise (threshold 0.2, blur)."""
        scale = ["--scale", self.scale] if self.scale else []
        return [str(self.executable), *scale, str(inputs)]

    def anonymise_folder(self, inputs: Path, timeout_s: float = 3600.0) -> float:
        """Run the CLI once over the folder; the wall time in seconds. Raises MeasurementError on failure."""
        started = time.perf_counter()
        done = subprocess.run(self.command(inputs), capture_output=True, text=True, timeout=timeout_s, check=False,
                              env={**os.environ, "PYTHONWARNINGS": "ignore"})
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            raise MeasurementError(f"{self.label} exited with {done.returncode}: {done.stderr[-500:]}")
        return elapsed


def output_path(image: Path) -> Path:
    """Where deface writes the anonymised copy of ``image``."""
    return image.with_name(f"{image.stem}{SUFFIX}{image.suffix}")


def find_peer(venv_dir: Path = PEER_VENV) -> Path | None:
    """The peer venv if ``setup`` built it (its deface answers the expected version), else None."""
    executable = venv_dir / "bin" / "deface"
    if not executable.exists():
        return None
    try:
        done = subprocess.run([str(executable), "--version"], capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return venv_dir if done.returncode == 0 and done.stdout.strip() == PEER_VERSION else None


def setup(venv_dir: Path = PEER_VENV) -> Path:
    """Create ``venv_dir`` and pip-install the peer into it (from the package registry). Idempotent."""
    if find_peer(venv_dir) is not None:
        logger.info("peer venv already set up: %s", venv_dir)
        return venv_dir
    logger.info("creating %s (%s)", venv_dir, " ".join(PEER_REQUIREMENTS))
    venv.EnvBuilder(with_pip=True, clear=True).create(venv_dir)
    pip = [str(venv_dir / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, *PEER_REQUIREMENTS], check=True)
    if find_peer(venv_dir) is None:
        raise ServiceStartError(f"deface {PEER_VERSION} does not answer in {venv_dir} after installing it")
    return venv_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m perf.peer", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["setup"], help="setup: build the peer's virtual environment")
    parser.add_argument("--venv", type=Path, default=PEER_VENV, help="where (default var/peer-venv)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    print(setup(args.venv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
