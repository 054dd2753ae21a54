"""Gateway settings: defaults < environment (GATEWAY_*) < explicit arguments."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from fastapi import Request
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MIB = 1024 * 1024


class Settings(BaseSettings):
    """Every knob of the gateway; lists are comma-separated in the environment."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    # Triton
    triton_url: str = Field("127.0.0.1:8001", description="Triton gRPC address host:port")
    triton_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="several Triton gRPC addresses host:port, or one DNS name:port whose A records are the replicas; empty = triton_url",
    )
    triton_dns_refresh_s: float = Field(10.0, gt=0, description="how often the one DNS name of triton_urls is resolved again")
    backend_probe_max_s: float = Field(
        5.0, gt=0, description="longest back-off between readiness probes of a Triton backend taken out (circuit open)"
    )
    model_name: str = Field("pipeline", description="Triton model that processes one photo")
    transcode_model: str = Field("transcode", description="Triton model for the decode and encode operations")
    process_model: str = Field("process", description="Triton model for operation chains (the operations field)")
    model_version: str = Field("", description="model version; empty = the latest loaded")
    triton_timeout_s: float = Field(120.0, gt=0, description="deadline of one inference call")
    start_triton: bool = Field(True, description="`python -m gateway` starts Triton itself")
    canary_interval_s: float = Field(10.0, gt=0, description="how often the readiness canary runs a tiny PNG through each model")
    canary_timeout_s: float = Field(30.0, gt=0, description="longest wait for one canary answer; then not ready")
    readiness_timeout_s: float = Field(3.0, gt=0, description="longest wait of /readyz for Triton's and storage's answers")
    reload_crashed_models: bool = Field(
        True, description="reload a model whose stub died (explicit model control); false: wait for whoever supervises Triton"
    )
    recovery_wait_s: float = Field(30.0, gt=0, description="longest a request waits for a model being reloaded after a stub crash")
    model_repository: Path | None = Field(None, description="Triton's model repository, for model swaps; empty = the launcher's")
    # HTTP
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = Field("", description="base URL in links; empty = derived from the request")
    api_keys: Annotated[list[str], NoDecode] = Field(default_factory=list, description="accepted X-API-Key values")
    # Storage
    storage_url: str = Field("./var/storage", description="local folder, or s3://bucket[/prefix]")
    s3_endpoint_url: str | None = Field(None, description="S3-compatible endpoint (MinIO, moto); empty = AWS")
    s3_region: str | None = None
    multipart_threshold_bytes: int = Field(8 * MIB, ge=5 * MIB, description="S3 multipart upload above this")
    allowed_roots: Annotated[list[Path], NoDecode] = Field(default_factory=list, description="folders jobs may read/write")
    allowed_buckets: Annotated[list[str], NoDecode] = Field(default_factory=list, description="buckets jobs may read/write")
    storage_timeout_s: float = Field(60.0, gt=0, description="longest wait for one storage or file call, then storage_error")
    s3_connect_timeout_s: float = Field(5.0, gt=0, description="S3 connect timeout per attempt")
    s3_read_timeout_s: float = Field(30.0, gt=0, description="S3 read timeout per attempt")
    s3_max_attempts: int = Field(3, ge=1, description="attempts of one S3 call (botocore standard retries)")
    # Retention (-1: forever)
    keep_originals_s: float = Field(-1, ge=-1, description="seconds an original is kept after its job ended; 0: not kept")
    keep_jobs_s: float = Field(-1, ge=-1, description="seconds a finished job (record, result, metadata) is kept")
    retention_sweep_s: float = Field(60.0, gt=0, description="period of the retention sweep")
    retention_sweep_limit: int = Field(100, gt=0, description="most originals and most jobs expired per sweep")
    # Limits and backpressure
    max_upload_bytes: int = Field(50 * MIB, gt=0, description="largest accepted image file")
    max_pixels: int = Field(100_000_000, gt=0, description="most pixels an image header may announce (Triton's decode max_pixels)")
    max_batch_files: int = Field(32, gt=0, description="most files in one batch upload")
    max_in_flight: int = Field(8, gt=0, description="concurrent Triton calls, sync and jobs together")
    workers: int = Field(4, gt=0, description="job workers pulling from the local queue")
    retry_after_s: int = Field(1, ge=0, description="Retry-After sent with 429 and 503")
    retry_initial_s: float = Field(0.5, gt=0, description="first back-off delay while Triton is down")
    retry_max_s: float = Field(30.0, gt=0, description="longest back-off delay")
    max_queued_jobs: int = Field(1000, gt=0, description="unfinished jobs at once; beyond it new jobs get 429 queue_full")
    job_deadline_s: float = Field(3600.0, gt=0, description="a job not finished this long after acceptance fails (job_expired)")
    job_max_timeouts: int = Field(3, ge=1, description="attempts outlasting triton_timeout_s before a job fails (inference_timeout)")
    job_max_crashes: int = Field(
        2, ge=1, description="attempts ending in a model crash before a job fails (model_crashed); earlier ones are retried"
    )
    max_wait_s: float = Field(60.0, ge=0, description="cap of ?wait= long polls")
    # Job engine (gateway.jobs.engine)
    nats_url: str = Field("", description="NATS JetStream shared by every replica, e.g. nats://127.0.0.1:4222; empty = in-process queue")
    nats_ack_wait_s: float = Field(30.0, gt=0, description="a delivered job not acked or kept alive this long goes to another worker")
    job_max_deliveries: int = Field(100, ge=2, description="deliveries of one job (retries included) before it fails (delivery_limit)")
    start_nats: bool = Field(False, description="`python -m gateway` starts a local nats-server (store var/nats) when nats_url is empty")
    nats_port: int = Field(4222, description="port of the nats-server `python -m gateway` starts (GATEWAY_START_NATS)")
    replica_name: str = Field("", description="this replica's name in /v1/stats; empty = host name and process id")
    stats_interval_s: float = Field(2.0, gt=0, description="how often this replica publishes its figures and refreshes queue depth")
    # Webhooks (a job's callback_url)
    webhook_secret: SecretStr = Field(SecretStr(""), description="HMAC-SHA256 key of X-Signature-256; empty: callbacks refused")
    webhook_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="callback hosts: exact names or *.domain; empty: callbacks refused"
    )
    webhook_attempts: int = Field(5, ge=1, description="most POSTs of one job's outcome (5xx, 429, no answer are retried)")
    webhook_initial_delay_s: float = Field(1.0, gt=0, description="delay before the second attempt; doubles each time")
    webhook_max_delay_s: float = Field(60.0, gt=0, description="longest delay between two attempts")
    webhook_timeout_s: float = Field(10.0, gt=0, description="longest one attempt may take (connect, send, answer)")
    webhook_sweep_s: float = Field(60.0, gt=0, description="how often pending deliveries a dead replica left are looked for")
    log_level: str = "INFO"

    @field_validator("api_keys", "allowed_buckets", "allowed_roots", "triton_urls", "webhook_allowed_hosts", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def auth_enabled(self) -> bool:
        return bool(self.api_keys)

    @property
    def triton_addresses(self) -> list[str]:
        """The Triton backends as configured: ``triton_urls``, else the one ``triton_url``."""
        return list(self.triton_urls) or [self.triton_url]


@lru_cache
def load_settings() -> Settings:
    """The process-wide settings from the environment, read once."""
    return Settings()


def get_settings(request: Request) -> Settings:
    """The settings dependency: the app's own (``create_app``); tests may override it.

    Read from ``app.state`` rather than installed as a dependency override: FastAPI re-inspects
    an override's signature on every request (about 0.6 ms of the gateway's ~3 ms per call).
    """
    return request.app.state.settings
