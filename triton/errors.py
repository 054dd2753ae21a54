"""Failures of the launcher, one subclass per kind."""


class LauncherError(Exception):
    """Root of every error the launcher raises."""


class ServerNotFoundError(LauncherError):
    """The tritonserver binary, its backends or the stub for this interpreter are missing."""


class ServerStartTimeout(LauncherError):
    """The server did not report ready in time."""


class ServerExitedError(LauncherError):
    """The server process ended while we waited for it."""


class PortInUseError(LauncherError):
    """A port the server must bind is held by another process (named in the message)."""

    def __init__(self, message: str, port: int) -> None:
        super().__init__(message)
        self.port = port


class ModelControlError(LauncherError):
    """Root of the failures of model control: swap, pin, roll back, load, unload."""


class ControlUnavailableError(ModelControlError):
    """Triton did not answer the repository API (down, wrong URL, timed out)."""


class ModelLoadError(ModelControlError):
    """Triton refused to load a model or version; the message carries Triton's own reason."""


class VersionNotFoundError(ModelControlError):
    """The requested version has no folder in the model repository."""


class VersionNotPinnedError(ModelControlError):
    """A request asked for a version that is neither served nor pinned."""


class NothingToRollBackError(ModelControlError):
    """The swap history holds no earlier version to go back to."""


class ComposingModelError(ModelControlError):
    """Unloading this model would take down the loaded ensembles that use it."""


class RepositoryStateError(ModelControlError):
    """A generated file in the model repository could not be read or written."""
