"""Who listens on a TCP port: checked before a server binds, so a clash names the other process.

Linux only for the name (``/proc/net/tcp*`` and ``/proc/<pid>/fd``); elsewhere, or for another
user's process, the answer says the holder is not visible.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from pathlib import Path

from triton_launcher.errors import PortInUseError

_LISTEN = "0A"
_PROC = Path("/proc")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def is_free(host: str, port: int) -> bool:
    """True when nothing listens on ``host:port``: a plain bind (no SO_REUSEPORT) succeeds.

    SO_REUSEADDR is set, as servers set it, so a port in TIME_WAIT counts as free; gRPC's
    SO_REUSEPORT listener still counts as taken (our probe does not share it).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def holder(port: int) -> str:
    """``pid 123 (tritonserver --model-repository=...)``, or why the holder cannot be named."""
    inodes = _listening_inodes(port)
    if not inodes:
        return "a process this user cannot see"
    sockets = {f"socket:[{inode}]" for inode in inodes}
    for pid in pids():
        if _links(_PROC / pid / "fd") & sockets:
            return f"pid {pid} ({command_line(int(pid))})"
    return "a process this user cannot see"


def require_free(ports: Mapping[str, int], host: str) -> None:
    """Raise PortInUseError naming the first taken port of ``ports`` (label -> port) and its holder."""
    for label, port in ports.items():
        if port and not is_free(host, port):
            raise PortInUseError(f"{label} port {host}:{port} is already in use by {holder(port)}", port)


def command_line(pid: int, limit: int = 120) -> str:
    """The process's arguments joined by spaces, shortened to ``limit`` characters."""
    try:
        words = (_PROC / str(pid) / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    text = " ".join(word.decode(errors="replace") for word in words if word)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (_PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == _LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def _links(folder: Path) -> set[str]:
    """Where the entries of a /proc fd folder point; entries that vanish or are hidden are skipped."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return set()
    links = set()
    for entry in entries:
        try:
            links.add(os.readlink(entry))
        except OSError:
            continue
    return links


def pids() -> list[str]:
    """The process ids listed in /proc, as strings."""
    try:
        return [entry for entry in os.listdir(_PROC) if entry.isdigit()]
    except OSError:
        return []
