"""What a failed tritonclient call means, decided once for model control and the gateway."""

from __future__ import annotations

from typing import Literal

from tritonclient.utils import InferenceServerException

UNREACHABLE_STATUSES = ("StatusCode.UNAVAILABLE", "StatusCode.CANCELLED")
DEADLINE_STATUS = "StatusCode.DEADLINE_EXCEEDED"

Failure = Literal["unreachable", "deadline", "refused"]


def failure_kind(error: InferenceServerException) -> Failure:
    """`unreachable`: no server answered (connection refused, channel closed); `deadline`: the
    call's timeout passed; `refused`: the server answered with an error of its own."""
    message = str(error.message() or error)
    if str(error.status()) == DEADLINE_STATUS:
        return "deadline"
    if str(error.status()) in UNREACHABLE_STATUSES or "failed to connect" in message.lower():
        return "unreachable"
    return "refused"
