from __future__ import annotations

from python_models.model_config import config_parameter, configured_blur, configured_decoder, configured_session
from python_models.options import BlurOptions


def parameters(**values: str) -> dict:
    return {"parameters": {key: {"string_value": value} for key, value in values.items()}}


def test_parameter_or_default() -> None:
    assert config_parameter(parameters(kind="pixelate"), "kind", "gaussian") == "pixelate"
    assert config_parameter({}, "kind", "gaussian") == "gaussian"


def test_configured_objects_read_their_knobs() -> None:
    config = parameters(kind="pixelate", strength="2", blur_classes="plate, person", max_pixels="1000",
                        device="cpu", session_batch="4", intra_op_threads="1", allow_spinning="0")
    assert configured_blur(config) == BlurOptions(kind="pixelate", strength=2.0, classes=frozenset({"plate", "person"}))
    assert configured_decoder(config).max_pixels == 1000
    session = configured_session(config)
    assert (session.batch, session.intra_op_threads, session.allow_spinning) == (4, 1, False)
    assert configured_session({}).allow_spinning, "ONNX Runtime's own default unless config.pbtxt says otherwise"
