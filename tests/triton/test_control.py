"""Model control on the real tritonserver: swap, broken version, roll back, pin, restart, under load.

One server for the module, on a copy of the pipeline's models in tmp_path (the real repository is
never modified). The tests run in file order and each starts from the state the previous left.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from export.publish import publish_version
from export.smoke import validate_detect
from tests.triton.load import SteadyLoad
from tests.triton.repositories import copy_repository, copy_version, write_broken_version
from triton_launcher import ServerConfig, TritonServer
from triton_launcher.config import ControlSettings
from triton_launcher.control import ModelControl
from triton_launcher.errors import ComposingModelError, ModelLoadError, NothingToRollBackError, VersionNotPinnedError
from triton_launcher.models_cli import main as models_cli

pytestmark = pytest.mark.server

MODEL = "detect"
SWAP_BOUND_S = 60.0
"""A swap (load the new version, reload the ensemble) must be done, and visible, within this."""


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_repository(tmp_path_factory.mktemp("swap") / "model_repository")


@pytest.fixture(scope="module")
def server(repository: Path) -> Iterator[TritonServer]:
    with TritonServer(ServerConfig(model_repository=repository), log_path=repository.parent / "tritonserver.log") as running:
        yield running


@pytest.fixture(scope="module")
def control(server: TritonServer, repository: Path) -> Iterator[ModelControl]:
    with ModelControl(ControlSettings(grpc_url=server.grpc_url, model_repository=repository)) as connected:
        yield connected


def cli(server: TritonServer, repository: Path, *arguments: str) -> tuple[int, str, str]:
    """Run `python -m triton_launcher models ...` in-process; (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = models_cli(["--url", server.grpc_url, "--repository", str(repository), *arguments])
    return status, out.getvalue(), err.getvalue()


def assert_no_failures(load: SteadyLoad) -> None:
    failures = load.failures()
    assert not failures, f"{len(failures)} of {len(load.outcomes)} requests failed, first: {failures[0].error}"


def test_publish_and_swap_under_load_fail_no_request(control: ModelControl, repository: Path, server: TritonServer) -> None:
    (old,) = control.ready_versions(MODEL)
    with SteadyLoad(server.grpc_url) as load:
        new = int(publish_version(repository / MODEL, copy_version(repository, MODEL, old), validate_detect).name)
        started = time.monotonic()
        result = control.swap(new)
        swapped = time.monotonic()
        load.wait_for_successes(3, after=swapped)
    assert_no_failures(load)
    assert (result.previous, result.current) == ([old], new) and swapped - started < SWAP_BOUND_S
    assert load.versions(finished_before=started) == {str(old)}
    assert load.first_seen(str(new)) - started < SWAP_BOUND_S
    assert load.versions(started_after=swapped) == {str(new)}, "a request sent after the swap returned met the old version"
    assert control.status(MODEL).fixed == [new] and control.status(MODEL).history == [old, new]


def test_broken_version_fails_to_load_and_the_old_one_keeps_serving(
    control: ModelControl, repository: Path, server: TritonServer
) -> None:
    (serving,) = control.ready_versions(MODEL)
    broken = write_broken_version(repository, MODEL, source=serving)
    with SteadyLoad(server.grpc_url) as load:
        with pytest.raises(ModelLoadError, match=f"(?s)version {broken}.*(INVALID_PROTOBUF|Protobuf parsing failed)"):
            control.swap(broken)
        status, out, err = cli(server, repository, "swap", str(broken))
        load.wait_for_successes(3, after=time.monotonic())
    assert_no_failures(load)
    assert load.versions() == {str(serving)}
    assert status == 1 and out == "" and "Triton could not load detect" in err and "Protobuf parsing failed" in err
    assert control.ready_versions(MODEL) == [serving] and control.ready_versions("pipeline") == [1]
    assert control.status(MODEL).fixed == [serving], "the serving config must still name the version served"


def test_rollback_under_load_fails_no_request(control: ModelControl, server: TritonServer) -> None:
    before, current = control.status(MODEL).history[-2:]
    with SteadyLoad(server.grpc_url) as load:
        result = control.rollback()
        rolled_back = time.monotonic()
        load.wait_for_successes(3, after=rolled_back)
    assert_no_failures(load)
    assert (result.previous, result.current) == ([current], before)
    assert load.versions(started_after=rolled_back) == {str(before)}
    assert control.status(MODEL).history == [before]
    with pytest.raises(NothingToRollBackError):
        control.rollback()


def test_pinned_version_serves_its_own_requests(control: ModelControl, server: TritonServer, repository: Path) -> None:
    (serving,) = control.ready_versions(MODEL)
    *good, _broken = control.status(MODEL).on_disk
    pinned = max(good)  # published by the first test, rolled back since
    assert control.pin(pinned) == [f"detect.v{pinned}", f"pipeline.detect.v{pinned}"]
    assert control.route(pinned) == f"pipeline.detect.v{pinned}" and control.route(serving) == "pipeline"
    with pytest.raises(VersionNotPinnedError):
        control.route(99)
    with SteadyLoad(server.grpc_url, model=control.route(pinned), clients=1) as pinned_load, SteadyLoad(
        server.grpc_url, clients=1
    ) as served_load:
        pass
    assert pinned_load.versions() == {str(pinned)} and served_load.versions() == {str(serving)}
    status, out, _ = cli(server, repository, "--json", "list")
    listed = {model["name"]: model for model in json.loads(out)}
    assert status == 0 and listed[MODEL]["ready"] == [serving]
    assert listed[MODEL]["pinned"] == {str(pinned): [f"detect.v{pinned}", f"pipeline.detect.v{pinned}"]}
    assert listed[f"pipeline.detect.v{pinned}"]["ready"] == [1]


def test_unloading_a_composing_model_is_refused(control: ModelControl, server: TritonServer, repository: Path) -> None:
    with pytest.raises(ComposingModelError, match="pipeline"):
        control.unload("faces")
    status, _, err = cli(server, repository, "unload", "faces")
    assert status == 1 and "swap versions instead" in err
    assert control.ready_versions("faces") == [1] and control.ready_versions("pipeline") == [1]


def test_restart_serves_the_chosen_version_and_pins(control: ModelControl, server: TritonServer, repository: Path) -> None:
    """The newest folder on disk is the broken one; the serving config keeps the rolled-back version."""
    status = control.status(MODEL)
    server.stop()
    server.start()
    assert control.ready_versions(MODEL) == status.fixed and max(status.on_disk) not in status.fixed
    assert control.route(max(status.pinned)) == f"pipeline.detect.v{max(status.pinned)}"
    assert control.unpin(max(status.pinned)) == [f"detect.v{max(status.pinned)}", f"pipeline.detect.v{max(status.pinned)}"]
    assert control.status(MODEL).pinned == {} and not (repository / f"detect.v{max(status.pinned)}").exists()
