"""The gateway-overhead probe runs end to end against the real Triton and gateway (no timing asserted)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from perf.gateway_overhead import measure
from perf.inputs import sized_photos
from tests.gateway.conftest import RunningGateway, make_settings

pytestmark = pytest.mark.server


def test_the_probe_pairs_gateway_and_direct_calls(triton_server: Any, tmp_path: Path) -> None:
    gateway = RunningGateway(make_settings(tmp_path / "store", triton_url=triton_server.grpc_url)).start()
    try:
        payload = sized_photos("vga", ("zidane.jpg",)).payloads[0]
        overhead = measure(gateway.url, triton_server.grpc_url, payload, pairs=2, warmup=0)
    finally:
        gateway.stop()
    assert overhead.pairs == 2 and overhead.direct_ms > 0 and overhead.gateway_ms > 0
    assert overhead.outside_triton_ms > 0  # the gateway's own X-Processing-Ms is below the client's view
    assert "paired difference" in overhead.describe()
