"""Settings come from GATEWAY_* variables; lists are comma-separated; the dependency is overridable."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.core.config import Settings, get_settings
from gateway.main import create_app
from triton_launcher.model_config import read_config

DECODE_CONFIG = Path(__file__).resolve().parents[2] / "model_repository" / "decode" / "config.pbtxt"


def test_defaults_point_at_local_triton_and_a_local_folder() -> None:
    settings = Settings(_env_file=None)
    assert settings.triton_url == "127.0.0.1:8001"
    assert settings.model_name == "pipeline"
    assert not settings.storage_url.startswith("s3://")
    assert not settings.auth_enabled


def test_environment_with_prefix_and_comma_lists(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GATEWAY_TRITON_URL", "triton:9001")
    monkeypatch.setenv("GATEWAY_API_KEYS", "alpha, beta")
    monkeypatch.setenv("GATEWAY_ALLOWED_ROOTS", f"{tmp_path},/srv/photos")
    monkeypatch.setenv("GATEWAY_ALLOWED_BUCKETS", "photos")
    monkeypatch.setenv("GATEWAY_MAX_IN_FLIGHT", "3")
    monkeypatch.setenv("GATEWAY_MAX_PIXELS", "1000000")
    settings = Settings()
    assert settings.triton_url == "triton:9001"
    assert settings.api_keys == ["alpha", "beta"]
    assert settings.allowed_roots == [tmp_path, Path("/srv/photos")]
    assert settings.allowed_buckets == ["photos"]
    assert settings.max_in_flight == 3
    assert settings.max_pixels == 1_000_000


def test_pixel_limit_matches_the_decode_model() -> None:
    decode_limit = read_config(DECODE_CONFIG).parameters["max_pixels"].string_value
    assert Settings(_env_file=None).max_pixels == int(decode_limit)


def test_explicit_settings_are_the_dependency(tmp_path: Path) -> None:
    settings = Settings(storage_url=str(tmp_path), model_name="other")
    app = create_app(settings)
    assert app.state.settings is settings
    # not a dependency override: FastAPI would re-inspect its signature on every request
    assert get_settings not in app.dependency_overrides
