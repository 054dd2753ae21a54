"""One photo through Triton with the in-flight bound, latency metrics and throughput stats."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping

from gateway.core.errors import TRANSIENT_ERRORS, InvalidRequestError
from gateway.core.metrics import GatewayMetrics
from gateway.core.stats import ThroughputStats
from gateway.inference.backends import TritonBackends
from gateway.inference.limiter import InFlightLimiter
from gateway.inference.triton import Processed
from gateway.jobs.models import OptionValue, Priority
from imaging.errors import ImageError


class Inference:
    """What sync requests and job workers call; ``wait=False`` refuses when the bound is full."""

    def __init__(
        self,
        pipeline: TritonBackends,
        limiter: InFlightLimiter,
        metrics: GatewayMetrics,
        stats: ThroughputStats,
        models: Mapping[str, str] | None = None,
        route: Callable[[int], Awaitable[str]] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.models = dict(models or {"pipeline": pipeline.model_name})  # role -> Triton model name
        self.limiter = limiter
        self.metrics = metrics
        self.stats = stats
        self.route = route  # detect version -> the Triton model serving it (see ModelAdmin.route)

    async def run(
        self, payload: bytes, options: Mapping[str, OptionValue], priority: Priority, *, wait: bool, model: str = "pipeline"
    ) -> tuple[Processed, float]:
        """The processed photo and the milliseconds Triton took; ``model`` is a role (see Settings).

        The option ``detect_version`` pins the detector: the request goes to the model serving it.
        """
        options = dict(options)
        detect_version = options.pop("detect_version", None)
        model_name = await self._model_name(model, detect_version)
        async with self.limiter.slot(wait=wait):
            started = time.perf_counter()
            outcome = "failed"
            try:
                [processed] = await self.pipeline.process([payload], options, int(priority), model_name)
                outcome = "succeeded"
            except ImageError:
                outcome = "rejected"
                raise
            except TRANSIENT_ERRORS as error:
                outcome = error.code  # not the photo's fate: counted in the histogram only
                raise
            finally:
                elapsed = time.perf_counter() - started
                self.metrics.triton_latency.labels(outcome).observe(elapsed)
                if outcome in ("succeeded", "rejected", "failed"):
                    self.stats.record(outcome, elapsed)
        return processed, 1000 * elapsed

    async def _model_name(self, role: str, detect_version: OptionValue | None) -> str:
        if detect_version is None:
            return self.models[role]
        if role != "pipeline" or self.route is None:
            raise InvalidRequestError("detect_version applies to the anonymize pipeline only")
        try:
            version = int(detect_version)
        except (TypeError, ValueError):
            raise InvalidRequestError(f"detect_version must be a version number, got {detect_version!r}") from None
        return await self.route(version)
