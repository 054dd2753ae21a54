"""Inputs that killed a Triton Python stub on `main` (issue 11), built in code.

Both went straight into nvImageCodec's native code and took the hosting process down: a
division by zero (SIGFPE) for the JPEG 2000 tile width, a segfault for the EXIF orientations
(nvImageCodec sizes its output from the first EXIF block and rotates by the last). The header
validators (:mod:`imaging.validate_header`) refuse both; the fuzz corpus replays them.
"""

from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image


def j2k_zero_tile_width() -> bytes:
    """47 bytes: SOC, a SIZ for one 8-bit 64x64 component with tiles 0 wide, EOC."""
    siz = struct.pack(">HIIIIIIIIH", 0, 64, 64, 0, 0, 0, 64, 0, 0, 1) + bytes([7, 1, 1])
    return b"\xff\x4f\xff\x51" + struct.pack(">H", 2 + len(siz)) + siz + b"\xff\xd9"


def exif_segment(orientation: int) -> bytes:
    """An APP1 EXIF segment (big-endian TIFF block) whose IFD0 holds only the orientation tag."""
    ifd = struct.pack(">HHHIHHI", 1, 0x0112, 3, 1, orientation, 0, 0)
    body = b"Exif\x00\x00" + b"MM\x00\x2a" + struct.pack(">I", 8) + ifd
    return b"\xff\xe1" + struct.pack(">H", 2 + len(body)) + body


def jpeg_with_exif(*orientations: int, width: int = 384, height: int = 512) -> bytes:
    """A real JPEG (noise, stored width x height) with one APP1 EXIF segment per orientation."""
    pixels = np.random.default_rng(11).integers(0, 256, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=80)
    data = buffer.getvalue()
    return data[:2] + b"".join(exif_segment(value) for value in orientations) + data[2:]


def jpeg_conflicting_exif() -> bytes:
    """Stored 384x512; the first EXIF block says orientation 1, the second 6."""
    return jpeg_with_exif(1, 6)


CRASHERS = {"j2k-zero-tile-width.j2k": j2k_zero_tile_width, "jpeg-conflicting-exif.jpg": jpeg_conflicting_exif}
