"""`make up` is idempotent, and restarts a supervisord that runs an older configuration;
`make status` reports every part healthy."""

from __future__ import annotations

from deploy.native.layout import Layout, read_env_file
from deploy.native.supervisor import Supervisor
from tests.running_stack import make

PARTS = (
    "post-db",
    "subscribe-db",
    "kafka",
    "connect",
    "post-service",
    "subscribe-api",
    "subscribe-consumer",
)


def native_pids() -> list[str]:
    """supervisord's pid, then each program's."""
    layout = Layout.from_env()
    supervisor = Supervisor(layout, read_env_file(layout.secrets))
    return [supervisor.ctl("pid").stdout, supervisor.ctl("pid", "all").stdout]


def assert_all_ready(printed: str) -> None:
    for part in PARTS:
        assert any(line.split()[:3] == [part, "RUNNING", "ready"] for line in printed.splitlines())


def test_make_up_again_leaves_the_running_system_alone() -> None:
    before = native_pids()
    assert_all_ready(make("up"))
    assert native_pids() == before


def test_make_up_restarts_a_supervisord_started_with_another_configuration() -> None:
    # As after a pull that changed supervisord.conf: it runs with what it read at its start.
    (Layout.from_env().run / "supervisord.fingerprint").write_text("an older configuration")
    before = native_pids()

    printed = make("up")

    assert "the configuration or the passwords changed: restarting every process" in printed
    assert_all_ready(printed)
    after = native_pids()
    assert after[0] != before[0]
    make("up")
    assert native_pids() == after


def test_make_status_shows_every_part_and_connector_ready() -> None:
    printed = make("status")
    ready = {line.split()[0] for line in printed.splitlines() if " ready " in line}
    assert ready >= {*PARTS, "outbox-connector"}
    assert "NOT READY" not in printed


def test_every_process_serves_its_prometheus_metrics() -> None:
    import httpx

    from tests.running_stack import CONSUMER_METRICS_URL, POST_URL, SUBSCRIBE_URL

    httpx.post(f"{POST_URL}/posts", json={"author_id": 1, "title": "metrics", "content": ""})
    expected = {
        f"{POST_URL}/metrics": [
            'post_http_requests_total{method="POST",route="/posts",status="201"}',
            "post_http_request_duration_seconds_bucket",
        ],
        f"{SUBSCRIBE_URL}/metrics": [
            "subscribe_http_requests_total",
            "subscribe_http_request_duration_seconds",
        ],
        CONSUMER_METRICS_URL: ["subscribe_e2e_seconds_bucket", "subscribe_duplicates_skipped_total",
                               "subscribe_dead_letters_total", "subscribe_consumer_lag_messages"],
    }  # fmt: skip
    for url, names in expected.items():
        text = httpx.get(url, timeout=5).text
        assert all(name in text for name in names), url
