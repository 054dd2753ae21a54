"""Failures of the launcher, one subclass per kind."""


class LauncherError(Exception):
    """Root of every error the launcher raises."""


class ServerNotFoundError(LauncherError):
    """The tritonserver binary, its backends or the stub for this interpreter are missing."""


class ServerStartTimeout(LauncherError):
    """The server did not report ready in time."""


class ServerExitedError(LauncherError):
    """The server process ended while we waited for it."""
