"""Exceptions raised by the export package: one root, one subclass per kind of failure."""

from __future__ import annotations


class ExportError(Exception):
    """Root of every error raised while exporting or publishing a model."""


class SourceNotFoundError(ExportError):
    """A checkpoint or ONNX file the export starts from does not exist."""


class YoloExportError(ExportError):
    """Ultralytics could not export a detector, or its ONNX graph has an unexpected shape."""


class NmsGraphError(ExportError):
    """Non-maximum suppression could not be appended to a detector graph."""


class CenterFaceConversionError(ExportError):
    """The CenterFace ONNX file could not be converted to the served form."""


class ModelValidationError(ExportError):
    """A freshly built model version failed its smoke test; it was not published."""


class PublishError(ExportError):
    """A version folder could not be built or moved into the model repository."""
