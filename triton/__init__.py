"""Start and stop the real Triton Inference Server that ships inside the nvidia-pytriton wheel.

Imported as ``triton_launcher`` (the folder is ``triton/``): a top-level package named
``triton`` would collide with the OpenAI Triton compiler that torch installs.
"""

from triton_launcher.config import ServerConfig
from triton_launcher.errors import (
    LauncherError,
    PortInUseError,
    ServerExitedError,
    ServerNotFoundError,
    ServerStartTimeout,
)
from triton_launcher.server import TritonServer

__all__ = [
    "LauncherError",
    "PortInUseError",
    "ServerConfig",
    "ServerExitedError",
    "ServerNotFoundError",
    "ServerStartTimeout",
    "TritonServer",
]
