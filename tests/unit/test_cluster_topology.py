"""The cluster topology's hosts and the configuration rendered for them (deploy/cluster): what
a typo there would break only on a cluster, found here without one."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest

from deploy import parts
from deploy.cluster import config
from deploy.cluster.topology import (
    BALANCER,
    BOOTSTRAP_SERVERS,
    CONNECT_HOSTS,
    CONSUMER_HOSTS,
    EVENTS_PARTITIONS,
    GATEWAY,
    HOSTS,
    KAFKA_HOSTS,
    POST_SERVICE_HOSTS,
    SERVICES,
)
from deploy.native.layout import Layout

LINK_NAME_MAX = 15  # IFNAMSIZ - 1 in Linux


def properties(text: str) -> dict[str, str]:
    """As java.util.Properties reads a file: a key given twice takes its last value."""
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs if not k.lstrip().startswith("#")}


@pytest.fixture
def rendered(tmp_path: Path) -> Layout:
    cluster = Layout(tmp_path / "cluster")
    config.write(cluster, Layout(tmp_path / "cache"))
    return cluster


def test_every_host_has_its_own_name_address_and_link_that_linux_takes() -> None:
    for attribute in ("name", "address", "namespace", "link"):
        values = [getattr(host, attribute) for host in HOSTS]
        assert len(set(values)) == len(HOSTS), attribute
    assert all(len(host.link) <= LINK_NAME_MAX for host in HOSTS)
    assert GATEWAY not in {host.address for host in HOSTS}


def test_the_cluster_has_the_shape_its_faults_need() -> None:
    # A broker can be lost with min.insync.replicas=2, a Connect task has a worker to move to,
    # the load balancer has an instance to fall back on, the consumer group has partitions for
    # each member.
    assert (len(KAFKA_HOSTS), len(CONNECT_HOSTS), len(POST_SERVICE_HOSTS)) == (3, 2, 2)
    assert 2 * len(CONSUMER_HOSTS) <= EVENTS_PARTITIONS
    assert BOOTSTRAP_SERVERS.count(",") == len(KAFKA_HOSTS) - 1


def test_each_broker_is_rendered_with_three_copies_winning_over_the_shared_single_node_file(
    rendered: Layout,
) -> None:
    voters = set()
    for number, host in enumerate(KAFKA_HOSTS, 1):
        broker = properties(config.kafka_properties(rendered, host).read_text())
        assert broker["node.id"] == str(number)
        assert broker["advertised.listeners"] == f"PLAINTEXT://{host.address}:{parts.KAFKA.port}"
        assert broker["default.replication.factor"] == "3"
        assert broker["min.insync.replicas"] == "2"
        assert broker["offsets.topic.replication.factor"] == "3"
        assert broker["unclean.leader.election.enable"] == "false"
        voters.add(broker["controller.quorum.voters"])
    assert len(voters) == 1  # one quorum, the same on every node
    assert voters.pop().count("@") == len(KAFKA_HOSTS)


def test_each_connect_worker_replicates_connects_own_topics_and_lets_a_lost_task_move(
    rendered: Layout,
) -> None:
    for host in CONNECT_HOSTS:
        worker = properties((rendered.root / host.name / "worker.properties").read_text())
        assert worker["bootstrap.servers"] == BOOTSTRAP_SERVERS
        assert worker["rest.advertised.host.name"] == host.address
        for topic in ("config", "offset", "status"):
            assert worker[f"{topic}.storage.replication.factor"] == "3"
        assert int(worker["scheduled.rebalance.max.delay.ms"]) <= 30_000
        assert worker["group.id"] == "outbox-connect"  # one group for both


def test_every_host_runs_its_part_in_its_own_namespace_at_its_own_address(
    rendered: Layout,
) -> None:
    supervisord = configparser.RawConfigParser()
    supervisord.read(config.supervisord_conf(rendered))
    for host in HOSTS:
        program = supervisord[f"program:{host.name}"]
        assert program["command"].startswith(f"ip netns exec {host.namespace} ")
        environment = program.get("environment", "")
        if host in SERVICES:
            assert f'="{host.address}"' in environment, host.name
            assert f'KAFKA_BOOTSTRAP_SERVERS="{BOOTSTRAP_SERVERS}"' in environment
    # Stopped in the reverse order: the databases last, the load balancer first.
    order = {host.name: int(supervisord[f"program:{host.name}"]["priority"]) for host in HOSTS}
    assert order["post-db"] < order["kafka-1"] < order["connect-1"] < order["post-service-1"]
    assert order["post-service-1"] < order[BALANCER.name]


def test_the_load_balancer_sends_to_each_post_service_instance_and_never_resends_a_post(
    rendered: Layout,
) -> None:
    nginx = (rendered.root / "nginx.conf").read_text()
    upstreams = re.findall(r"server (\S+) max_fails", nginx)
    assert upstreams == [f"{host.address}:{parts.POST_SERVICE.port}" for host in POST_SERVICE_HOSTS]
    assert f"listen {BALANCER.address}:{parts.POST_SERVICE.port}" in nginx
    # non_idempotent would send a POST that reached a dying instance to the other one as well.
    next_upstream = re.search(r"proxy_next_upstream ([^;]+);", nginx)
    assert next_upstream is not None
    assert "non_idempotent" not in next_upstream.group(1)
