"""Switches the native stack between the tutorial's three relay modes: `cdc`, `polling`, `direct`.

What runs in each mode: `cdc`, the Debezium connector; `polling`, the post-relay process with the
connector paused; `direct`, neither (the post service publishes itself). The mode is kept in
.stack/post-service.env, which the post service and the relay read when they start.
"""

from __future__ import annotations

import structlog
from tenacity import Retrying, retry_if_result, stop_after_delay, wait_fixed

from connect.connector import EVENTS_CONNECTOR
from connect.register import RegistrationSettings, set_paused
from deploy import parts
from deploy.native import databases
from deploy.native.layout import Layout, read_env_file
from deploy.native.supervisor import Supervisor
from post_service.settings import RelayMode

log = structlog.get_logger()


def current(layout: Layout) -> RelayMode:
    if not layout.post_settings.exists():
        return RelayMode.CDC
    return RelayMode(read_env_file(layout.post_settings).get("POST_RELAY_MODE", "cdc"))


def unpublished_rows(layout: Layout) -> int:
    query = "SELECT COUNT(*) FROM post_service_db.post_event_outbox WHERE published_at IS NULL"
    ((count,),) = databases.query_as_admin(layout, databases.POST_DB, query)
    return int(count)


def switch(layout: Layout, supervisor: Supervisor, mode: RelayMode) -> None:
    """Sets the mode and starts or stops what it needs; nothing accepted is left behind."""
    previous = current(layout)
    connector = RegistrationSettings()
    layout.post_settings.write_text(f"POST_RELAY_MODE={mode}\n")
    if mode == RelayMode.CDC:
        set_paused(connector, EVENTS_CONNECTOR, paused=False)
    else:
        set_paused(connector, EVENTS_CONNECTOR, paused=True)
    supervisor.restart(parts.POST_SERVICE.name)
    if mode == RelayMode.POLLING:
        supervisor.start(parts.POST_RELAY.name)
    elif previous == RelayMode.POLLING:
        # Rows written in polling mode still go out through the relay before it stops.
        polling = Retrying(
            stop=stop_after_delay(120), wait=wait_fixed(0.5), retry=retry_if_result(bool)
        )
        polling(unpublished_rows, layout)
        supervisor.stop(parts.POST_RELAY.name)
    log.info("relay mode switched", previous=str(previous), mode=str(mode))
