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
    assert configured_blur(config) == BlurOptions(
        kind="pixelate", strength=2.0, classes=frozenset({"plate", "person"}), always=frozenset({"license_plate"})
    )
    assert configured_blur(parameters(always_blur="")).always == frozenset()
    assert configured_decoder(config).max_pixels == 1000
    session = configured_session(config)
    assert (session.batch, session.intra_op_threads, session.allow_spinning) == (4, 1, False)
    assert configured_session(parameters(allow_spinning="1")).allow_spinning  # ONNX Runtime's own default, when asked
    assert not configured_session({}).allow_spinning, "the fallback is the committed configs' value"


def test_configured_detector_reads_thresholds_and_when_it_runs() -> None:
    from python_models.model_config import configured_detector, floor_threshold

    config = parameters(score_threshold="0.5", floor_threshold="0.3", threshold_parameter="face_threshold", run_when="requested")
    settings = configured_detector(config, "faces", "2", {0: "face"})
    assert (settings.threshold, settings.floor, settings.threshold_parameter, settings.run_when) == (0.5, 0.3, "face_threshold", "requested")
    assert floor_threshold(config, "0.9") == 0.3
    assert floor_threshold(parameters(score_threshold="0.4"), "0.9") == 0.4, "no floor: the detector runs at its threshold"
    assert configured_detector({}, "detect", "1", {0: "person"}).floor == 0.25
    assert configured_detector({}, "detect.v12", "12", {0: "person"}).model == "detect", "a pinned copy reports as its model"
