"""Optional access control of the dashboard.

Password: set ``GREENAI_DASHBOARD_PASSWORD`` in the environment of ``greenai dashboard``
(the password itself, or ``sha256:<hex digest>`` of it so that the plain password never
sits in a unit file). Visitors then type it once per browser session; it is checked by
comparing SHA-256 digests in constant time (:func:`hmac.compare_digest`).

Single sign-on (OIDC) for deployments: Streamlit's ``st.login`` does the OpenID Connect
flow. Put the provider in ``.streamlit/secrets.toml`` next to where the app runs::

    [auth]
    redirect_uri = "https://dashboard.example.com/oauth2callback"
    cookie_secret = "a long random string"
    client_id = "..."
    client_secret = "..."
    server_metadata_url = "https://login.example.com/.well-known/openid-configuration"

With an ``[auth]`` section present, visitors must log in with that provider first
(``pip install Authlib`` is required by Streamlit for this). Both can be combined.
Without either, the dashboard is open to whoever reaches its port: by default
``greenai dashboard`` listens on 127.0.0.1 only.
"""

from __future__ import annotations

import hashlib
import hmac
import os

import streamlit as st

PASSWORD_ENV = "GREENAI_DASHBOARD_PASSWORD"
SESSION_KEY = "greenai_authenticated"
_HASH_PREFIX = "sha256:"


def expected_digest(setting: str) -> bytes:
    """The SHA-256 digest a password must have, from the environment's setting.

    Args:
        setting: The password, or ``sha256:<64 hex digits>`` of it.

    Raises:
        greenai.errors.ConfigError: A ``sha256:`` value that is not 64 hex digits.
    """
    if setting.startswith(_HASH_PREFIX):
        hex_digest = setting[len(_HASH_PREFIX) :].strip().lower()
        try:
            digest = bytes.fromhex(hex_digest)
        except ValueError:
            digest = b""
        if len(digest) != 32:
            from greenai.errors import ConfigError

            raise ConfigError(PASSWORD_ENV, "sha256:...", "sha256: followed by 64 hex digits")
        return digest
    return hashlib.sha256(setting.encode()).digest()


def password_matches(given: str, setting: str) -> bool:
    """Whether ``given`` is the password of ``setting`` (constant-time digest compare)."""
    candidate = hashlib.sha256(given.encode()).digest()
    return hmac.compare_digest(candidate, expected_digest(setting))


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: Streamlit raises its own error types
        return False


def _require_login() -> None:
    if st.user.is_logged_in:
        return
    st.title("greenai")
    st.write("Log in to see the dashboard.")
    st.button("Log in", on_click=st.login)
    st.stop()


def _require_password(setting: str) -> None:
    if st.session_state.get(SESSION_KEY):
        return
    st.title("greenai")
    with st.form("login"):
        given = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Enter")
    if submitted:
        if password_matches(given, setting):
            st.session_state[SESSION_KEY] = True
            st.rerun()
        st.error("Wrong password.")
    st.stop()


def require_access() -> None:
    """Stops the script unless the visitor may see the dashboard (see module docstring)."""
    if _oidc_configured():
        _require_login()
    setting = os.environ.get(PASSWORD_ENV, "")
    if setting:
        _require_password(setting)
