"""Runs the post service's HTTP API: `python -m post_service`."""

from __future__ import annotations

import uvicorn

from post_service.settings import Settings

if __name__ == "__main__":
    settings = Settings()
    uvicorn.run(
        "post_service.entrypoints.app:create_app_from_environment",
        factory=True,
        host=settings.http_host,
        port=settings.http_port,
        workers=settings.http_workers,
        log_level=settings.log_level,
        access_log=False,
    )
