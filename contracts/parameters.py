"""Request parameter names (Triton's request `parameters`, passed to every step of `pipeline`).

README "The `pipeline` model" documents each one's values; one parser per set reads them:
`imaging.options` (encoding: `output_options`; `reduce`), `python_models.options` (blur) and
`python_models.detections` (detection).
"""

from __future__ import annotations

# Encoding (`pipeline`, `transcode`, `process`'s `format` step)
FORMAT = "format"
QUALITY = "quality"
LOSSLESS = "lossless"
COMPRESSION_RATIO = "compression_ratio"
PSNR = "psnr"
TILE_SIZE = "tile_size"
RESOLUTIONS = "resolutions"
ENCODE = (FORMAT, QUALITY, LOSSLESS, COMPRESSION_RATIO, PSNR, TILE_SIZE, RESOLUTIONS)

# Blurring (`pipeline`, `process`)
BLUR_KIND = "blur_kind"
BLUR_STRENGTH = "blur_strength"
BLUR_CLASSES = "blur_classes"
BLUR_UNCERTAIN = "blur_uncertain"
VERIFY = "verify"
BLUR = (BLUR_KIND, BLUR_STRENGTH, BLUR_CLASSES, BLUR_UNCERTAIN, VERIFY)

# Detection (`detect`, `plates`, `faces`; `pipeline` and `process` pass them on)
FACE_THRESHOLD = "face_threshold"
PLATE_THRESHOLD = "plate_threshold"
THOROUGH = "thorough"
DETECTION = (FACE_THRESHOLD, PLATE_THRESHOLD, THOROUGH)

# One model each
REDUCE = "reduce"  # transcode: JPEG 2000 decoded at 1/2^reduce
OPERATIONS = "operations"  # process: the JSON list of steps

ALL = (*ENCODE, *BLUR, *DETECTION, REDUCE, OPERATIONS)
