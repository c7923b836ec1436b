"""Settings: secrets come from the environment and have no default."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network

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


@pytest.mark.parametrize(
    ("written", "networks"),
    [
        ("", []),
        ("127.0.0.2/32", [IPv4Network("127.0.0.2/32")]),
        ("10.0.5.0/24, fd00::/8", [IPv4Network("10.0.5.0/24"), IPv6Network("fd00::/8")]),
    ],
)
def test_the_networks_allowed_to_receive_webhooks_are_read_comma_separated(
    written: str, networks: list[IPv4Network | IPv6Network], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUBSCRIBE_SERVICE_DB_PASSWORD", "unused")
    monkeypatch.setenv("SUBSCRIBE_WEBHOOK_ALLOWED_NETWORKS", written)
    assert SubscribeSettings().webhook_allowed_networks == networks


def test_a_network_that_is_not_one_is_refused_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUBSCRIBE_SERVICE_DB_PASSWORD", "unused")
    monkeypatch.setenv("SUBSCRIBE_WEBHOOK_ALLOWED_NETWORKS", "localhost")
    with pytest.raises(ValidationError, match="webhook_allowed_networks"):
        SubscribeSettings()
