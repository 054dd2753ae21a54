"""Encode options: one validated dataclass and the parser for untyped request parameters."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from imaging.errors import InvalidOptionError
from imaging.formats import OUTPUT_FORMATS

FORMAT_ALIASES: dict[str, str] = {"jpg": "jpeg", "tif": "tiff", "jpeg2000": "jp2"}
LOSSY_ONLY_FORMATS = frozenset({"jpeg"})
RATIO_FORMATS = frozenset({"jp2", "j2k"})
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True)
class EncodeOptions:
    """How to encode the output image.

    quality: 1-100, used by jpeg, lossy webp, and lossy jp2/j2k when no compression_ratio is set.
    lossless: png is always lossless; webp lossless; jp2/j2k with the reversible 5/3 wavelet.
    compression_ratio: lossy jp2/j2k target, raw size / encoded size (20 means about 1/20).
    """

    format: str = "jpeg"
    quality: int = 90
    lossless: bool = False
    compression_ratio: float | None = None

    def __post_init__(self) -> None:
        if self.format not in OUTPUT_FORMATS:
            raise InvalidOptionError(
                f"format must be one of {sorted(OUTPUT_FORMATS)}, got {self.format!r}"
            )
        quality = self.quality
        if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
            raise InvalidOptionError(f"quality must be an integer 1-100, got {self.quality!r}")
        if not isinstance(self.lossless, bool):
            raise InvalidOptionError(f"lossless must be a boolean, got {self.lossless!r}")
        self._check_combination()

    def _check_combination(self) -> None:
        if self.lossless and self.format in LOSSY_ONLY_FORMATS:
            raise InvalidOptionError(
                f"lossless is not available for {self.format}; use png, webp, jp2 or j2k"
            )
        if self.compression_ratio is None:
            return
        if self.format not in RATIO_FORMATS:
            raise InvalidOptionError(
                f"compression_ratio applies only to {sorted(RATIO_FORMATS)}, not {self.format}"
            )
        if self.lossless:
            raise InvalidOptionError("compression_ratio cannot be combined with lossless=true")
        if not _is_ratio(self.compression_ratio):
            raise InvalidOptionError(
                f"compression_ratio must be a finite number > 1, got {self.compression_ratio!r}"
            )


def _is_ratio(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value) and value > 1


def parse_encode_options(raw: Mapping[str, object], default_format: str) -> EncodeOptions:
    """Build EncodeOptions from request parameters (strings or JSON scalars).

    Recognised keys: format, quality, lossless, compression_ratio; other keys are ignored, so a
    caller may pass its whole parameter mapping. A missing or empty format means ``default_format``.
    Values may be str, bytes (UTF-8), JSON scalars or numpy scalars.
    """
    return EncodeOptions(
        format=parse_format(_scalar(raw, "format"), default_format),
        quality=_parse_quality(_scalar(raw, "quality")),
        lossless=_parse_bool("lossless", _scalar(raw, "lossless")),
        compression_ratio=_parse_ratio(_scalar(raw, "compression_ratio")),
    )


def _scalar(raw: Mapping[str, object], field: str) -> object:
    """``raw[field]`` as a plain Python value: bytes decoded, numpy scalars unwrapped."""
    value = raw.get(field)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidOptionError(f"{field} must be UTF-8 text, got {value!r}") from exc
    return value


def parse_format(value: object, default_format: str) -> str:
    """Normalise a format name ("JPG" -> "jpeg"); None or "" gives ``default_format``."""
    if value is None or value == "":
        value = default_format
    if not isinstance(value, str):
        raise InvalidOptionError(f"format must be a string, got {value!r}")
    name = value.strip().lower().lstrip(".")
    name = FORMAT_ALIASES.get(name, name)
    if name not in OUTPUT_FORMATS:
        allowed = sorted(OUTPUT_FORMATS | FORMAT_ALIASES.keys())
        raise InvalidOptionError(f"format must be one of {allowed}, got {value!r}")
    return name


def _parse_quality(value: object) -> int:
    if value is None or value == "":
        return EncodeOptions.quality
    quality = _as_int(value)
    if quality is None or not 1 <= quality <= 100:
        raise InvalidOptionError(f"quality must be an integer 1-100, got {value!r}")
    return quality


def _as_int(value: object) -> int | None:
    """``value`` as an int when it is one written any usual way ("75", 75, 75.0); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return int(value.strip())
    return None


def _parse_bool(field: str, value: object) -> bool:
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, (str, int)) else None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidOptionError(f"{field} must be a boolean (true/false/1/0), got {value!r}")


def _parse_ratio(value: object) -> float | None:
    if value is None or value == "":
        return None
    ratio: float | None = None
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        try:
            ratio = float(value)
        except ValueError:
            ratio = None
    if ratio is None or not _is_ratio(ratio):
        raise InvalidOptionError(f"compression_ratio must be a finite number > 1, got {value!r}")
    return ratio
