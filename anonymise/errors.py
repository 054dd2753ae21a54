"""The client's exceptions: one root, a subclass per kind of failure and the exit code it means."""

from __future__ import annotations


class AnonymiseError(Exception):
    """Root of the client's errors."""


class UsageError(AnonymiseError):
    """The command line or its setup is wrong (exit code 2): a missing path, clashing outputs, a refused key."""


class GatewayError(AnonymiseError):
    """The gateway refused or failed one request; ``code`` is its JSON ``error`` (e.g. ``corrupt_image``).

    Fails only the file it concerns.
    """

    def __init__(self, code: str, detail: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.status = status


class GatewayUnreachable(AnonymiseError):
    """No answer from the gateway after the retries: the whole run stops (exit code 1)."""
