"""The carry folder for the device run: everything the GPU machine lacks, split into call-sized parts.

The device machine (perf/device_run.py) has Python 3.12, torch, CuPy and numpy 2 but no package
registry, so this side gathers what it needs: cp312 wheels (numpy<2 for Triton 2.51's Python
stub, tritonclient and its gRPC/protobuf runtime, nvImageCodec with nvJPEG and nvJPEG2000), the
tritonserver distribution of the nvidia-pytriton wheel (only the Python 3.12 stub), the served
detector versions (model.onnx, labels.json) and the 1080p JPEG / JPEG 2000 inputs. Files are
packed first-fit into at most :data:`MAX_PARTS` parts of at most ``part_bytes`` each (a call
carries 64 MiB including the working tree); ``manifest.json`` lists them.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from importlib.util import find_spec
from pathlib import Path

from perf.errors import ConfigError

logger = logging.getLogger(__name__)

MiB = 1 << 20
CALL_BYTES = 64 * MiB  # what one device call carries, the working tree included
PART_BYTES = 60 * MiB  # when the working tree's size is unknown (no git): it was 2.7 MiB
MARGIN_BYTES = MiB // 2
MAX_PARTS = 3
MANIFEST = "manifest.json"
SERVER_ARCHIVE = "tritonserver.tar.xz"
# Pinned to what the CPU install resolves, for the device's CPython 3.12 (manylinux, x86_64).
WHEELS = (
    "numpy==1.26.4",
    "tritonclient==2.73.0",
    "python-rapidjson==1.25",
    "protobuf==6.33.6",
    "grpcio==1.85.3",
    "nvidia-nvimgcodec-cu12==0.9.0.20",
    "nvidia-nvjpeg-cu12==12.4.0.76",
    "nvidia-nvjpeg2k-cu12==0.11.0.51",
)
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_24_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")
DEVICE_PYTHON = "3.12"
DETECTORS = ("detect", "plates", "faces")
MODEL_FILES = ("model.onnx", "labels.json")


@dataclass(frozen=True)
class CarryFile:
    """One file to carry: its path inside a part, its size, and what it is (wheel, server, model, input)."""

    path: str
    size: int
    kind: str


def plan_parts(files: Sequence[CarryFile], part_bytes: int = PART_BYTES, max_parts: int = MAX_PARTS) -> list[list[CarryFile]]:
    """First-fit decreasing: the fewest parts (each <= ``part_bytes``) that hold ``files``.
    ConfigError naming the file or the total when they need a larger part or more parts."""
    parts: list[list[CarryFile]] = []
    for item in sorted(files, key=lambda item: item.size, reverse=True):
        if item.size > part_bytes:
            raise ConfigError(f"{item.path} is {item.size / MiB:.1f} MiB, more than a part ({part_bytes / MiB:.0f} MiB)")
        fitting = next((part for part in parts if sum(other.size for other in part) + item.size <= part_bytes), None)
        if fitting is None:
            parts.append(fitting := [])
        fitting.append(item)
    if len(parts) > max_parts:
        total = sum(item.size for item in files) / MiB
        raise ConfigError(f"{total:.0f} MiB of files need {len(parts)} parts of {part_bytes / MiB:.0f} MiB, more than {max_parts}")
    return parts


def working_tree_bytes(root: Path) -> int | None:
    """Bytes of what a device call sends besides the carried paths: tracked files and untracked
    ones git does not ignore. None where git cannot tell."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    paths = (root / name for name in listed.decode().split("\0") if name)
    return sum(path.stat().st_size for path in paths if path.is_file())


def part_limit(root: Path) -> int:
    """The largest part that fits a call beside the working tree (less a margin for its growth)."""
    tree = working_tree_bytes(root)
    return PART_BYTES if tree is None else CALL_BYTES - tree - MARGIN_BYTES


def pip_download(requirements: Sequence[str], destination: Path) -> None:
    """The cp312 manylinux wheels of ``requirements`` (exact pins, no dependencies) into ``destination``."""
    platforms = [argument for platform in PLATFORMS for argument in ("--platform", platform)]
    command = [
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
        "--python-version", DEVICE_PYTHON, "--implementation", "cp", *platforms, "--dest", str(destination), *requirements,
    ]
    subprocess.run(command, check=True)


def pytriton_root() -> Path:
    """site-packages of the installed nvidia-pytriton (holding pytriton/ and nvidia_pytriton.libs/)."""
    spec = find_spec("pytriton")
    if spec is None or spec.origin is None:
        raise ConfigError("nvidia-pytriton is not installed")
    return Path(spec.origin).parent.parent


def pack_server(site_packages: Path, archive: Path, python: str = DEVICE_PYTHON) -> Path:
    """pytriton/tritonserver (bin, backends, the Python ``python`` stub only) and nvidia_pytriton.libs
    (less other Pythons' libpython) as tar.xz: what triton_launcher.distribution looks for."""
    stubs = site_packages / "pytriton" / "tritonserver" / "python_backend_stubs"
    if not (stubs / python).is_dir():
        raise ConfigError(f"no Python {python} stub in {stubs}")

    def keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        parts = Path(info.name).parts
        if "__pycache__" in parts:
            return None
        if len(parts) > 3 and parts[2] == "python_backend_stubs" and parts[3] != python:
            return None
        if parts[0] == "nvidia_pytriton.libs" and len(parts) > 1 and parts[1].startswith("libpython"):
            return None
        return info

    with tarfile.open(archive, "w:xz", preset=1) as tar:
        tar.add(site_packages / "pytriton" / "__init__.py", "pytriton/__init__.py")
        tar.add(site_packages / "pytriton" / "tritonserver", "pytriton/tritonserver", filter=keep)
        tar.add(site_packages / "nvidia_pytriton.libs", "nvidia_pytriton.libs", filter=keep)
    return archive


def copy_models(repository: Path, destination: Path) -> list[Path]:
    """The newest version of each detector: models/<name>/<version>/{model.onnx, labels.json}."""
    copied = []
    for name in DETECTORS:
        versions = sorted((path for path in (repository / name).iterdir() if (path / "model.onnx").is_file() and path.name.isdigit()),
                          key=lambda path: int(path.name))
        if not versions:
            raise ConfigError(f"{repository / name} has no version with model.onnx: run `python -m export ensure`")
        target = destination / name / versions[-1].name
        target.mkdir(parents=True)
        for file_name in MODEL_FILES:
            if (versions[-1] / file_name).is_file():
                copied.append(Path(shutil.copy2(versions[-1] / file_name, target / file_name)))
    return copied


def write_inputs(destination: Path, inputs: dict[str, bytes]) -> list[Path]:
    destination.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, payload in inputs.items():
        (destination / name).write_bytes(payload)
        paths.append(destination / name)
    return paths


def prepare(
    carry: Path,
    repository: Path,
    inputs: dict[str, bytes],
    *,
    download: Callable[[Sequence[str], Path], None] = pip_download,
    site_packages: Path | None = None,
    part_bytes: int = PART_BYTES,
) -> list[list[CarryFile]]:
    """Write ``carry``/part1..N and ``carry``/manifest.json (the parts' files); return the parts.

    ``carry`` must be absent or empty. ConfigError when something is missing or too large."""
    if carry.exists() and any(carry.iterdir()):
        raise ConfigError(f"{carry} is not empty: remove it or name another folder")
    staging = carry / "staging"
    (staging / "wheels").mkdir(parents=True)
    download(WHEELS, staging / "wheels")
    files = [CarryFile(f"wheels/{path.name}", path.stat().st_size, "wheel") for path in sorted((staging / "wheels").glob("*.whl"))]
    server = pack_server(site_packages or pytriton_root(), staging / SERVER_ARCHIVE)
    files.append(CarryFile(SERVER_ARCHIVE, server.stat().st_size, "server"))
    for path in copy_models(repository, staging / "models"):
        files.append(CarryFile(path.relative_to(staging).as_posix(), path.stat().st_size, "model"))
    for path in write_inputs(staging / "inputs", inputs):
        files.append(CarryFile(path.relative_to(staging).as_posix(), path.stat().st_size, "input"))
    parts = plan_parts(files, part_bytes)
    for number, part in enumerate(parts, start=1):
        for item in part:
            target = carry / f"part{number}" / item.path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(staging / item.path, target)
    shutil.rmtree(staging)
    manifest = {"parts": [[asdict(item) for item in part] for part in parts], "wheels": list(WHEELS), "python": DEVICE_PYTHON}
    (carry / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return parts


def unpack(part_dir: Path, site: Path, repository: Path, inputs: Path) -> None:
    """On the device: wheels unpacked into ``site`` (no index, no dependency resolution), the server archive into
    ``site``, models into ``repository``'s version folders, inputs into ``inputs``."""
    site.mkdir(parents=True, exist_ok=True)
    for wheel in sorted((part_dir / "wheels").glob("*.whl")):
        # A wheel is a zip of its install tree; extracting merges the `nvidia` namespace folder that
        # several wheels share, where `pip install --target --upgrade` in a later call would replace it.
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(site)
    if (part_dir / SERVER_ARCHIVE).is_file():
        with tarfile.open(part_dir / SERVER_ARCHIVE) as tar:
            tar.extractall(site, filter="tar")
    for path in sorted((part_dir / "models").glob("*/*/*")):
        target = repository / path.relative_to(part_dir / "models")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        adapter = target.parent / "model.py"  # each version links the model's shared adapter, as export/ does
        if not adapter.is_symlink() and (target.parent.parent / "model.py").is_file():
            adapter.symlink_to("../model.py")
    for path in sorted((part_dir / "inputs").glob("*")):
        inputs.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, inputs / path.name)
