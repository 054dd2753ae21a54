"""Fuzz on the real server: seeded mutations of real photos in every format through `pipeline`,
`transcode`, `process` and the gateway get an answer or a named refusal, no stub dies, and a good
photo still works afterwards; every input in the fuzz corpus (and the two crashers of issue 11,
built in code) is refused by name. ``python -m tests.fuzz`` runs the long version."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import tritonclient.grpc as grpcclient

from tests.crashers import CRASHERS
from tests.fuzz import CORPUS, CORPUS_SUFFIXES, TARGETS, answer, cases, healthy, seed_files
from tests.gateway.conftest import RunningGateway, make_settings

pytestmark = pytest.mark.server

MUTATIONS = 800  # 200 per target, about 10 s
GATEWAY_MUTATIONS = 60


@pytest.fixture(scope="module")
def client(triton_server: Any) -> Iterator[grpcclient.InferenceServerClient]:
    with grpcclient.InferenceServerClient(triton_server.grpc_url) as connection:
        yield connection


def corpus() -> dict[str, bytes]:
    """The findings of long fuzz runs (tests/fuzz_corpus/), and the crashers built in code."""
    found = {path.name: path.read_bytes() for path in sorted(CORPUS.glob("*")) if path.suffix[1:] in CORPUS_SUFFIXES}
    return found | {name: build() for name, build in CRASHERS.items()}


def test_mutations_get_an_answer_or_a_named_refusal(client: grpcclient.InferenceServerClient) -> None:
    batch = list(cases(MUTATIONS, seed=11))
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda case: answer(client, case[1], case[2]), batch))
    findings = [(name, target.label, result.detail) for (name, target, _), result in zip(batch, answers, strict=True) if result.kind == "problem"]
    assert not findings, findings[:5]
    kinds = Counter(result.kind for result in answers)
    assert kinds["ok"] > MUTATIONS // 10 and kinds["refused"] > MUTATIONS // 10, kinds  # both paths were exercised
    assert client.is_server_ready() and healthy(client)


@pytest.mark.parametrize("name", sorted(corpus()))
def test_corpus_inputs_are_refused_by_name(client: grpcclient.InferenceServerClient, name: str) -> None:
    data = corpus()[name]
    answers = {target.label: answer(client, target, data) for target in TARGETS}
    assert all(result.kind == "refused" for result in answers.values()), answers
    assert healthy(client)


@pytest.fixture(scope="module")
def gateway(triton_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    running = RunningGateway(make_settings(tmp_path_factory.mktemp("storage"), triton_url=triton_server.grpc_url)).start()
    yield running
    running.stop()


def test_mutations_through_the_gateway_get_named_json_answers(gateway: RunningGateway) -> None:
    answers = []
    with gateway.client() as http:
        for name, _, data in cases(GATEWAY_MUTATIONS, seed=12):
            reply = http.post("/v1/process", files={"file": (name, data)})
            answers.append((name, reply.status_code, "ok" if reply.status_code == 200 else reply.json().get("error")))
        good = http.post("/v1/process", files={"file": ("baseline.jpg", seed_files()["baseline.jpg"])})
    unexpected = [item for item in answers if item[1] != 200 and not (400 <= item[1] < 500 and item[2] != "internal_error")]
    assert not unexpected, unexpected[:5]
    assert sum(item[1] == 200 for item in answers) > 0 and sum(item[1] != 200 for item in answers) > 0  # both kinds were sent
    assert good.status_code == 200 and good.headers["content-type"] == "image/jpeg"
