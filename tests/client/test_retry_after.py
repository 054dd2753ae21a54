"""anonymise.client._retry_after: the wait a 429/503 asks for, bounded and always a finite number."""

from __future__ import annotations

import httpx
import pytest

from anonymise.client import RETRY_AFTER_CAP_S, _retry_after


@pytest.mark.parametrize(
    ("header", "seconds"),
    [(None, 1.0), ("3", 3.0), ("0", 0.1), ("-5", 0.1), ("1e9", RETRY_AFTER_CAP_S), ("nan", 1.0), ("inf", 1.0),
     ("-inf", 1.0), ("Wed, 21 Oct 2015 07:28:00 GMT", 1.0), ("", 1.0)],
)
def test_retry_after_is_finite_and_bounded(header: str | None, seconds: float) -> None:
    headers = {} if header is None else {"Retry-After": header}
    assert _retry_after(httpx.Response(429, headers=headers)) == seconds
