"""docker/*.Dockerfile, .dockerignore and the images compose.yaml and Kubernetes run: base images
pinned, every file a build copies exists and reaches the build context, and the Triton command
is one command everywhere (the Dockerfile, compose.yaml, the Kubernetes Deployment)."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gateway.core.config import Settings
from tests.deploy.compose_files import load
from tests.deploy.contracts import launcher_flags
from tests.deploy.dockerfiles import instructions

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILES = sorted((ROOT / "docker").glob("*.Dockerfile"))
TRITON_BASE = "nvcr.io/nvidia/tritonserver:24.10-py3"


def ignored(relative: str, patterns: list[str]) -> bool:
    """Whether .dockerignore keeps ``relative`` (a path in the repository) out of the context."""
    parts = relative.split("/")
    prefixes = ["/".join(parts[: index + 1]) for index in range(len(parts))]
    return any(
        fnmatch.fnmatch(prefix, pattern)
        or fnmatch.fnmatch(prefix, pattern.removeprefix("**/"))
        or fnmatch.fnmatch(parts[len(prefix.split("/")) - 1], pattern.removeprefix("**/"))
        for pattern in patterns
        for prefix in prefixes
    )


@pytest.fixture(scope="module")
def ignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def pinned(image: str) -> bool:
    """A tag carrying a version number (or a digest), never `latest` nor a bare name."""
    if "@sha256:" in image:
        return True
    name, _, tag = image.rpartition(":")
    return bool(name) and "/" not in tag and tag != "latest" and bool(re.search(r"\d", tag))


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_base_images_are_pinned_and_sources_exist(dockerfile: Path, ignore_patterns: list[str]) -> None:
    stages: set[str] = set()
    for instruction, arguments in instructions(dockerfile):
        words = arguments.split()
        if instruction == "FROM":
            image = words[0]
            assert image in stages or pinned(image), f"{dockerfile.name}: {image} is not pinned"
            if len(words) == 3 and words[1].upper() == "AS":
                stages.add(words[2])
        elif instruction == "COPY" and not any(word.startswith("--from=") for word in words):
            sources = [word for word in words if not word.startswith("--")][:-1]
            for source in sources:
                assert (ROOT / source).exists(), f"{dockerfile.name}: COPY {source} does not exist"
                assert not ignored(source, ignore_patterns), f"{dockerfile.name}: .dockerignore drops {source}"
        for mount in re.findall(r"--mount=(\S+)", arguments):
            options = {key: value for key, _, value in (option.partition("=") for option in mount.split(","))}
            if options.get("type") == "bind":
                assert (ROOT / options.get("source", ".")).exists()


def test_the_triton_image_is_the_one_the_launcher_matches() -> None:
    steps = instructions(ROOT / "docker" / "triton.Dockerfile")
    assert steps[0] == ("FROM", TRITON_BASE)
    install = next(arguments for instruction, arguments in steps if instruction == "RUN" and "/src[" in arguments)
    assert '"/src[gpu]"' in install and "numpy.__version__ < '2'" in install
    text = (ROOT / "docker" / "triton.Dockerfile").read_text()
    (venv,) = set(re.findall(r"python(3\.\d+) -m venv", text))
    assert set(re.findall(r"python_backend_stubs/(3\.\d+)/", text)) == {venv}, "the stub must match the venv's Python"


def test_triton_runs_one_command_everywhere() -> None:
    steps = dict(instructions(ROOT / "docker" / "triton.Dockerfile"))
    command = json.loads(steps["CMD"])
    assert set(launcher_flags()) <= set(command)
    assert load("compose.yaml")["services"]["triton"]["command"] == command
    deployment = next(
        item
        for item in yaml.safe_load_all((ROOT / "deploy" / "kubernetes" / "triton.yaml").read_text())
        if item["kind"] == "Deployment"
    )
    assert deployment["spec"]["template"]["spec"]["containers"][0]["args"] == command


def test_gateway_image_settings_are_real() -> None:
    steps = instructions(ROOT / "docker" / "gateway.Dockerfile")
    variables = {
        name: value
        for instruction, arguments in steps
        if instruction == "ENV"
        for name, value in re.findall(r"(\w+)=(\S+)", arguments)
    }
    fields = {f"GATEWAY_{field.upper()}" for field in Settings.model_fields}
    assert {name for name in variables if name.startswith("GATEWAY_")} <= fields
    assert variables["GATEWAY_START_TRITON"] == "false"
    assert ("EXPOSE", variables["GATEWAY_PORT"]) in steps
    assert json.loads(dict(steps)["CMD"]) == ["python", "-m", "gateway"]


def test_the_build_context_holds_the_project_and_not_the_local_state(ignore_patterns: list[str]) -> None:
    needed = ["pyproject.toml", "model_repository/pipeline/config.pbtxt", "model_repository/detect/model.py"]
    needed += [path.parent.name for path in ROOT.glob("*/__init__.py") if path.parent.name != "tests"]
    for path in needed:
        assert not ignored(path, ignore_patterns), f".dockerignore drops {path}, which the images need"
    for path in (
        ".venv/bin/python",
        ".git/HEAD",
        "var/storage",
        "gateway/__pycache__/main.pyc",
        "model_repository/detect/configs/serving.pbtxt",
        "model_repository/detect/.staging-2",
    ):
        assert ignored(path, ignore_patterns), f".dockerignore lets {path} into the build context"


def test_compose_and_kubernetes_run_the_images_the_dockerfiles_build() -> None:
    services = load("compose.yaml")["services"]
    built = {}
    for name, service in services.items():
        if "build" in service:
            assert (ROOT / service["build"]["context"] / service["build"]["dockerfile"]).is_file()
            built[service["image"].split(":")[0]] = service["build"]["dockerfile"]
        else:
            assert pinned(service["image"]), f"compose service {name}: {service['image']} is not pinned"
    assert set(built) == {"photo-anonymiser/triton", "photo-anonymiser/gateway"}
    for path in (ROOT / "deploy" / "kubernetes").glob("*.yaml"):
        for item in yaml.safe_load_all(path.read_text()):
            if item and item["kind"] in {"Deployment", "StatefulSet", "Job"}:
                spec = item["spec"]["template"]["spec"]
                for container in spec.get("initContainers", []) + spec["containers"]:
                    image = container["image"]
                    assert image.split(":")[0] in built or pinned(image), f"{path.name}: {image}"


def test_the_project_installs_from_the_build_context(ignore_patterns: list[str], tmp_path: Path) -> None:
    """What `pip install "/src[...]"` sees in both Dockerfiles: the repository less .dockerignore.
    Built here without its dependencies (they are this venv's), then imported from the install."""
    context = tmp_path / "context"
    for folder, folders, names in os.walk(ROOT):
        base = Path(folder).relative_to(ROOT)
        folders[:] = [name for name in folders if not ignored((base / name).as_posix(), ignore_patterns)]
        folders[:] = [name for name in folders if (base / name).as_posix() != "model_repository"]  # not installed
        for name in names:
            relative = (base / name).as_posix()
            if not ignored(relative, ignore_patterns) and not (ROOT / relative).is_symlink():
                (context / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / relative, context / relative)
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(context),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    imported = subprocess.run(
        [
            sys.executable,
            "-c",
            "import gateway.main, triton_launcher, imaging.codec, python_models.options; print(gateway.main.__file__)",
        ],
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.startswith(str(target))


def test_the_linked_backend_stub_finds_its_libraries(tmp_path: Path) -> None:
    """The Triton image links (not copies) nvidia-pytriton's stub into the Python backend: its RPATH
    ($ORIGIN/../../../../nvidia_pytriton.libs) is resolved from the real file, so the link loads
    its CUDA runtime where a copy fails ("libcudart-....so: cannot open shared object file")."""
    import pytriton

    text = (ROOT / "docker" / "triton.Dockerfile").read_text()
    (version,) = set(re.findall(r"python_backend_stubs/(3\.\d+)/", text))
    assert re.search(r"ln -sf \"\$stub\" /opt/tritonserver/backends/python/triton_python_backend_stub", text)
    stub = (
        Path(pytriton.__file__).parent
        / "tritonserver"
        / "python_backend_stubs"
        / version
        / "triton_python_backend_stub"
    )
    link, copy = tmp_path / "linked", tmp_path / "copied"
    link.symlink_to(stub)
    shutil.copy2(stub, copy)
    linked = subprocess.run([str(link)], capture_output=True, text=True, timeout=30)
    copied = subprocess.run([str(copy)], capture_output=True, text=True, timeout=30)
    assert "libcudart" in copied.stderr, "a copy cannot find the wheel's libraries"
    assert "libcudart" not in linked.stderr + linked.stdout, linked.stderr
    if "libpython" not in linked.stderr:  # hosts with that Python's shared library: the stub itself ran
        assert "Expected 9 arguments" in linked.stdout + linked.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_the_build_time_python_checks_pass_here(dockerfile: Path, tmp_path: Path) -> None:
    """Each `python -c "..."` a RUN step makes, run with this environment's interpreter outside any
    Triton (as at build time): e.g. importing a module that needs Triton's stub would fail the build."""
    scripts = [
        script
        for instruction, arguments in instructions(dockerfile)
        if instruction == "RUN"
        for script in re.findall(r'python3? -c "([^"]+)"', arguments)
    ]
    assert scripts, f"{dockerfile.name} checks its install"
    for script in scripts:
        result = subprocess.run(
            [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, f"{script}\n{result.stderr[-2000:]}"
