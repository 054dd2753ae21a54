"""What the gateway adds to one request: paired sequential calls, gateway vs direct gRPC.

    .venv/bin/python -m perf.gateway_overhead [--gateway http://127.0.0.1:8080] [--triton 127.0.0.1:8001]
                                              [--size 720p] [--pairs 60]

Against a running service (`make run`). Each pair sends the same photo once straight to Triton's
`pipeline` over gRPC and once as an upload to the gateway's `/v1/process`, one after the other, so
drift on a shared machine hits both alike. Reported (medians): both latencies, their paired
difference, and the part of the gateway call outside its own Triton call (`X-Processing-Ms`):
HTTP, multipart, routing, the client's own work. A probe, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass

import httpx
import numpy as np
import tritonclient.grpc as grpcclient

from contracts.tensors import IMAGE, METADATA, RESULT
from perf.inputs import SIZES, sized_photos


@dataclass(frozen=True)
class Overhead:
    pairs: int
    direct_ms: float
    gateway_ms: float
    paired_difference_ms: float
    outside_triton_ms: float

    def describe(self) -> str:
        return (f"{self.pairs} pairs: direct gRPC p50 {self.direct_ms:.1f} ms, gateway p50 {self.gateway_ms:.1f} ms, "
                f"paired difference p50 {self.paired_difference_ms:.1f} ms, "
                f"gateway time outside its Triton call p50 {self.outside_triton_ms:.1f} ms")


def measure(gateway_url: str, triton_url: str, payload: bytes, pairs: int, warmup: int = 3) -> Overhead:
    direct, through, outside = [], [], []
    with httpx.Client(base_url=gateway_url, timeout=120) as gateway, grpcclient.InferenceServerClient(triton_url) as triton:
        for index in range(warmup + pairs):
            started = time.perf_counter()
            _infer(triton, payload)
            direct_ms = 1000 * (time.perf_counter() - started)
            started = time.perf_counter()
            reply = gateway.post("/v1/process", files={"file": ("photo.jpg", payload)})
            gateway_ms = 1000 * (time.perf_counter() - started)
            reply.raise_for_status()
            if index >= warmup:
                direct.append(direct_ms)
                through.append(gateway_ms)
                outside.append(gateway_ms - float(reply.headers["X-Processing-Ms"]))
    return Overhead(pairs, statistics.median(direct), statistics.median(through),
                    statistics.median(b - a for a, b in zip(direct, through, strict=True)), statistics.median(outside))


def _infer(client: grpcclient.InferenceServerClient, payload: bytes) -> None:
    array = np.empty((1, 1), dtype=np.object_)
    array[0, 0] = payload
    tensor = grpcclient.InferInput(IMAGE, [1, 1], "BYTES")
    tensor.set_data_from_numpy(array)
    client.infer("pipeline", [tensor], outputs=[grpcclient.InferRequestedOutput(RESULT), grpcclient.InferRequestedOutput(METADATA)])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m perf.gateway_overhead", description=__doc__.splitlines()[0])
    parser.add_argument("--gateway", default="http://127.0.0.1:8080")
    parser.add_argument("--triton", default="127.0.0.1:8001", help="Triton's gRPC host:port")
    parser.add_argument("--size", default="720p", choices=sorted(SIZES))
    parser.add_argument("--pairs", type=int, default=60)
    args = parser.parse_args()
    payload = sized_photos(args.size, ("zidane.jpg",)).payloads[0]
    print(f"{args.size} JPEG ({len(payload) // 1024} KiB), " + measure(args.gateway, args.triton, payload, args.pairs).describe())


if __name__ == "__main__":
    main()
