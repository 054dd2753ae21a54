"""ICC v2 matrix/TRC RGB profiles built in code (no profile files ship offline).

``display_p3()`` has the primaries of Apple's Display P3 (D50-adapted colorants, as in the
profile macOS embeds) and a 2.2 gamma curve, described as "Display P3".
"""

from __future__ import annotations

import struct

D50 = (0.9642, 1.0, 0.8249)
P3_COLORANTS = ((0.515121, 0.241196, -0.001053), (0.291977, 0.692245, 0.041885), (0.157104, 0.066574, 0.784073))


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(xyz: tuple[float, float, float]) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(_s15(value) for value in xyz)


def _desc(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\0"
    return b"desc\0\0\0\0" + struct.pack(">I", len(ascii_text)) + ascii_text + b"\0" * 8 + b"\0\0\0" + b"\0" * 67


def _curve(gamma: float) -> bytes:
    return b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"


def rgb_profile(description: str, colorants: tuple[tuple[float, float, float], ...], gamma: float) -> bytes:
    """A display-class RGB profile (PCS XYZ) with these colorants, white D50 and one gamma for all."""
    curve = _curve(gamma)
    tags = [
        (b"desc", _desc(description)),
        (b"cprt", b"text\0\0\0\0generated for tests\0"),
        (b"wtpt", _xyz(D50)),
        (b"rXYZ", _xyz(colorants[0])),
        (b"gXYZ", _xyz(colorants[1])),
        (b"bXYZ", _xyz(colorants[2])),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for signature, data in tags:
        data += b"\0" * (-len(data) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = (
        struct.pack(">I", size) + b"lcms" + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ "
        + struct.pack(">6H", 2026, 1, 1, 0, 0, 0) + b"acsp" + b"\0" * 24
        + struct.pack(">I", 0) + b"".join(_s15(value) for value in D50) + b"\0" * 48
    )  # fmt: skip
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


def display_p3() -> bytes:
    return rgb_profile("Display P3", P3_COLORANTS, 2.2)
