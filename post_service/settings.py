"""The post service's settings, read from the environment (POST_*)."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import URL


class DatabaseSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POST_")

    db_host: str = "127.0.0.1"
    db_port: int = 3306
    db_name: str = "post_service_db"

    def db_url(self, user: str, password: SecretStr) -> URL:
        return URL.create(
            "mysql+pymysql",
            username=user,
            password=password.get_secret_value(),
            host=self.db_host,
            port=self.db_port,
            database=self.db_name,
            query={"charset": "utf8mb4"},
        )


class Settings(DatabaseSettings):
    """What the running service needs; the password has no default and must come from outside."""

    service_db_user: str = "post_service"
    service_db_password: SecretStr
    db_pool_size: int = 16
    http_host: str = "127.0.0.1"
    http_port: int = 8081
    http_workers: int = 1
    log_level: str = "info"


class MigrationSettings(DatabaseSettings):
    """What Alembic needs: a user allowed to change the schema, and only that database's."""

    migrator_db_user: str = "post_migrator"
    migrator_db_password: SecretStr
