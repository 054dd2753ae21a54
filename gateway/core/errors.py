"""The gateway's exception family. Each failure has a stable ``code``; the HTTP status for each
class is chosen in exactly one place, :mod:`gateway.api.errors`.

Image problems reuse :mod:`imaging.errors` (``EmptyImageError``, ``CorruptImageError``...): the
gateway raises them when it sniffs an upload, and re-raises them from Triton's error codes.
"""

from __future__ import annotations


class GatewayError(Exception):
    """Root of every error raised by :mod:`gateway`."""

    code: str = "gateway_error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidRequestError(GatewayError):
    """The request is malformed (bad JSON, unknown option, bad priority...)."""

    code = "invalid_request"


class UploadTooLargeError(GatewayError):
    """An uploaded or referenced file is bigger than GATEWAY_MAX_UPLOAD_BYTES."""

    code = "upload_too_large"


class AccessDeniedError(GatewayError):
    """A path or bucket outside what the configuration allows."""

    code = "access_denied"


class UnauthorizedError(GatewayError):
    """API keys are configured and the request carries none that matches."""

    code = "unauthorized"


class AdminDisabledError(GatewayError):
    """An admin route was called but no API keys are configured, so admin is off."""

    code = "admin_disabled"


class ModelNotFoundError(GatewayError):
    """An admin route names a model that neither Triton nor the model repository knows."""

    code = "model_not_found"


class JobNotFoundError(GatewayError):
    code = "job_not_found"


class JobNotFinishedError(GatewayError):
    """The result of a job that has not succeeded was asked for."""

    code = "job_not_finished"


class JobFailedError(GatewayError):
    """The result of a failed job was asked for; the detail names the job's own error."""

    code = "job_failed"


class CallbackNotAllowedError(GatewayError):
    """A callback_url that is not http(s), carries credentials, or names a host outside
    GATEWAY_WEBHOOK_ALLOWED_HOSTS (or webhooks are not configured)."""

    code = "callback_not_allowed"


class SourceNotFoundError(GatewayError):
    """A job names an input path or object that does not exist."""

    code = "source_not_found"


class BusyError(GatewayError):
    """Too many Triton calls in flight, or Triton's own queue is full: retry later."""

    code = "busy"


class TritonUnavailableError(GatewayError):
    """Triton cannot be reached or is not ready."""

    code = "triton_unavailable"


class InferenceTimeoutError(GatewayError):
    """Triton is up but one inference outlasted GATEWAY_TRITON_TIMEOUT_S (the per-attempt deadline)."""

    code = "inference_timeout"


class QueueFullError(GatewayError):
    """GATEWAY_MAX_QUEUED_JOBS unfinished jobs already: a new one is refused before anything is stored."""

    code = "queue_full"


class JobRunningError(GatewayError):
    """A running job cannot be deleted: its worker is writing its outputs."""

    code = "job_running"


class NotAFileError(GatewayError):
    """A referenced path is a FIFO, device, socket or folder, not a regular file."""

    code = "not_a_regular_file"


class InferenceError(GatewayError):
    """Triton answered with an error that is neither the caller's fault nor transient."""

    code = "inference_failed"


class ModelCrashedError(InferenceError):
    """A model's Python stub died while this request was in it or in its batch (crafted input,
    native crash); the gateway has the model reloaded. ``model`` names it, ``instance`` the stub."""

    code = "model_crashed"

    def __init__(self, detail: str, model: str = "", instance: str = "") -> None:
        super().__init__(detail)
        self.model = model
        self.instance = instance


class StorageError(GatewayError):
    """The store could not be read or written."""

    code = "storage_error"


class QueueUnavailableError(GatewayError):
    """The job engine (NATS JetStream) did not answer or did not take the job."""

    code = "queue_unavailable"


class CorruptRecordError(GatewayError):
    """A stored job record that is not a job record (edited or damaged by hand)."""

    code = "corrupt_record"


class ObjectMissingError(StorageError):
    """A key that should exist in the store does not."""

    code = "object_missing"


# Failures worth retrying later rather than recording as the job's fate.
TRANSIENT_ERRORS: tuple[type[GatewayError], ...] = (BusyError, TritonUnavailableError, InferenceTimeoutError)
