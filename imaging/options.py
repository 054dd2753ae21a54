"""Encode options: one validated dataclass and the parser for untyped request parameters; the
`reduce` decode parameter (:func:`parse_reduce`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from contracts import parameters as names
from imaging.errors import InvalidOptionError
from imaging.formats import OUTPUT_FORMATS, default_output_format

FORMAT_ALIASES: dict[str, str] = {"jpg": "jpeg", "tif": "tiff", "jpeg2000": "jp2"}
LOSSY_ONLY_FORMATS = frozenset({"jpeg"})
RATIO_FORMATS = frozenset({"jp2", "j2k"})
JPEG2000_FIELDS = ("psnr", "tile_size", "resolutions")
MIN_TILE = 32
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True)
class EncodeOptions:
    """How to encode the output image.

    quality: 1-100, used by jpeg, lossy webp, and lossy jp2/j2k when no compression_ratio is set.
    lossless: png is always lossless; webp lossless; jp2/j2k with the reversible 5/3 wavelet.
    compression_ratio: lossy jp2/j2k target, raw size / encoded size (20 means about 1/20).
    psnr: lossy jp2/j2k target in dB (instead of the one ``quality`` stands for).
    tile_size: jp2/j2k tiles as (width, height); None writes one tile.
    resolutions: jp2/j2k resolution levels (1 + wavelet decompositions, 1-32); None: codec default.
    """

    format: str = "jpeg"
    quality: int = 90
    lossless: bool = False
    compression_ratio: float | None = None
    psnr: float | None = None
    tile_size: tuple[int, int] | None = None
    resolutions: int | None = None

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
        self._check_jpeg2000()

    def _check_jpeg2000(self) -> None:
        given = [name for name in JPEG2000_FIELDS if getattr(self, name) is not None]
        if given and self.format not in RATIO_FORMATS:
            raise InvalidOptionError(
                f"{given[0]} applies only to {sorted(RATIO_FORMATS)}, not {self.format}"
            )
        if self.psnr is not None:
            if self.lossless or self.compression_ratio is not None:
                raise InvalidOptionError("psnr cannot be combined with lossless or compression_ratio")
            if not _is_number(self.psnr) or not 10 <= self.psnr <= 100:
                raise InvalidOptionError(f"psnr must be a number of dB in 10-100, got {self.psnr!r}")
        if self.tile_size is not None and not _is_tile_size(self.tile_size):
            raise InvalidOptionError(
                f"tile_size must be (width, height) integers >= {MIN_TILE}, got {self.tile_size!r}"
            )
        resolutions = self.resolutions
        if resolutions is not None and (_as_int(resolutions) != resolutions or not 1 <= resolutions <= 32):
            raise InvalidOptionError(f"resolutions must be an integer 1-32, got {resolutions!r}")

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
    return _is_number(value) and value > 1  # type: ignore[operator]


def _is_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value)


def _is_tile_size(value: object) -> bool:
    if not isinstance(value, tuple) or len(value) != 2:
        return False
    return all(_as_int(side) == side and side >= MIN_TILE for side in value)


def parse_encode_options(raw: Mapping[str, object], default_format: str) -> EncodeOptions:
    """Build EncodeOptions from request parameters (strings or JSON scalars).

    Recognised keys: format, quality, lossless, compression_ratio, psnr, tile_size ("512" or
    "512x256", width x height), resolutions; other keys are ignored, so a caller may pass its whole
    parameter mapping. A missing or empty format means ``default_format``.
    Values may be str, bytes (UTF-8), JSON scalars or numpy scalars.
    """
    return EncodeOptions(
        format=parse_format(_scalar(raw, names.FORMAT), default_format),
        quality=_parse_quality(_scalar(raw, names.QUALITY)),
        lossless=_parse_bool(names.LOSSLESS, _scalar(raw, names.LOSSLESS)),
        compression_ratio=_parse_ratio(_scalar(raw, names.COMPRESSION_RATIO)),
        psnr=_parse_psnr(_scalar(raw, names.PSNR)),
        tile_size=_parse_tile_size(_scalar(raw, names.TILE_SIZE)),
        resolutions=_parse_resolutions(_scalar(raw, names.RESOLUTIONS)),
    )


def output_options(parameters: Mapping[str, object], source_format: str) -> EncodeOptions:
    """The encode options a request's ``parameters`` ask for an image read as ``source_format``
    (sniffed: "jpeg", "png", "jp2", ...): a missing `format` is the input's family
    (:func:`imaging.formats.default_output_format`: BMP -> PNG, JPEG 2000 -> jp2).

    The one parser of the encoding parameters: decode (early, before detection), encode,
    transcode and process call it. InvalidOptionError naming the option, as parse_encode_options.
    """
    return parse_encode_options(parameters, default_output_format(source_format))


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


def _parse_psnr(value: object) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)  # type: ignore[arg-type]  # range checked by EncodeOptions
    except (TypeError, ValueError):
        raise InvalidOptionError(f"psnr must be a number of dB, got {value!r}") from None


def _parse_tile_size(value: object) -> tuple[int, int] | None:
    """"512" -> (512, 512); "512x256" -> (512, 256); a JSON [w, h] list works too."""
    if value is None or value == "":
        return None
    sides = value if isinstance(value, (list, tuple)) else str(value).lower().split("x")
    parsed = tuple(_as_int(side) for side in sides)
    if len(parsed) == 1:
        parsed = parsed * 2
    if len(parsed) != 2 or None in parsed:
        raise InvalidOptionError(f"tile_size must be N or WxH (e.g. 512x512), got {value!r}")
    return parsed  # type: ignore[return-value]  # both sides are ints here


def _parse_resolutions(value: object) -> int | None:
    if value is None or value == "":
        return None
    resolutions = _as_int(value)
    if resolutions is None:
        raise InvalidOptionError(f"resolutions must be an integer 1-32, got {value!r}")
    return resolutions


def parse_reduce(parameters: Mapping[str, object]) -> int:
    """The `reduce` request parameter: JPEG 2000 resolution halvings, 0 when absent.

    InvalidOptionError unless it is a whole number (0, 1, 2...).
    """
    value = parameters.get(names.REDUCE, 0)
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit():
        raise InvalidOptionError(f"reduce must be a whole number of halvings (0, 1, 2...), got {value!r}")
    return int(text)
