"""Settings: secrets come from the environment and have no default."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from post_service.settings import Settings as PostSettings
from subscribe_service.settings import Settings as SubscribeSettings


@pytest.mark.parametrize(
    ("settings", "variable"),
    [
        (PostSettings, "POST_SERVICE_DB_PASSWORD"),
        (SubscribeSettings, "SUBSCRIBE_SERVICE_DB_PASSWORD"),
    ],
)
def test_a_service_refuses_to_start_without_its_password(
    settings: type[PostSettings | SubscribeSettings], variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(variable, raising=False)
    with pytest.raises(ValidationError, match="service_db_password"):
        settings()


def test_the_password_is_read_from_the_environment_and_kept_out_of_reprs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POST_SERVICE_DB_PASSWORD", "s3cret")
    settings = PostSettings()
    assert settings.service_db_password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)
    assert settings.db_url("u", settings.service_db_password).password == "s3cret"
