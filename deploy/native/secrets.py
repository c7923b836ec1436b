"""The native stack's database passwords: generated once per machine, kept in .stack/secrets.env."""

from __future__ import annotations

import secrets

from deploy.native.layout import Layout, read_env_file

PASSWORD_VARIABLES = (
    "POST_SERVICE_DB_PASSWORD",
    "POST_MIGRATOR_DB_PASSWORD",
    "POST_RELAY_DB_PASSWORD",
    "DEBEZIUM_DB_PASSWORD",
    "SUBSCRIBE_SERVICE_DB_PASSWORD",
    "SUBSCRIBE_MIGRATOR_DB_PASSWORD",
    "READ_MODEL_SINK_DB_PASSWORD",
)


def ensure_secrets(layout: Layout) -> dict[str, str]:
    """Returns every password, generating those the file does not have yet."""
    existing = read_env_file(layout.secrets) if layout.secrets.exists() else {}
    passwords = {
        name: existing.get(name) or secrets.token_urlsafe(24) for name in PASSWORD_VARIABLES
    }
    if passwords != existing:
        layout.secrets.parent.mkdir(parents=True, exist_ok=True)
        layout.secrets.touch(mode=0o600)
        layout.secrets.write_text("".join(f"{k}={v}\n" for k, v in passwords.items()))
    return passwords
