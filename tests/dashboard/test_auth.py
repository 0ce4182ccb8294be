"""Optional password access: constant-time compare of SHA-256 digests, in the app."""

from __future__ import annotations

import hashlib

import pytest

from dashboard.auth import expected_digest, password_matches
from greenai.errors import ConfigError
from tests.dashboard.conftest import metrics, open_app
from tests.dashboard.seed import Seeded


def test_password_and_hashed_setting() -> None:
    assert password_matches("s3cret", "s3cret")
    assert not password_matches("s3cre", "s3cret")
    assert not password_matches("", "s3cret")
    hashed = "sha256:" + hashlib.sha256(b"s3cret").hexdigest().upper()
    assert password_matches("s3cret", hashed)
    assert not password_matches(hashed, hashed)  # the digest itself is not the password
    assert expected_digest("s3cret") == hashlib.sha256(b"s3cret").digest()


def test_malformed_hash_setting() -> None:
    with pytest.raises(ConfigError, match="GREENAI_DASHBOARD_PASSWORD"):
        expected_digest("sha256:abc")


def test_app_asks_for_the_password(seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREENAI_DASHBOARD_PASSWORD", "s3cret")
    at = open_app()
    assert not at.metric and not at.dataframe  # nothing shown before the password
    at.text_input[0].input("wrong")
    at.button[0].click().run()
    assert at.error[0].value == "Wrong password."
    assert not at.metric
    at.text_input[0].input("s3cret")
    at.button[0].click().run()
    assert metrics(at)["Runs"][0] == "20"
