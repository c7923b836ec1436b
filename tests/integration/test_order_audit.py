"""The load test's order audit on the real database: it finds a post whose events the consumer
applied out of their order, and only such a post."""

from __future__ import annotations

from sqlalchemy import Engine

from loadtest.audit import Audience, Auditor
from loadtest.generator import Sent
from subscribe_service.bootstrap import Bootstrapped
from subscribe_service.service.notifications import notify_subscribers
from tests.integration.test_post_versions import history
from tests.random_refs import random_id


def test_the_audit_counts_the_posts_whose_versions_were_applied_out_of_order(
    subscribe_deps: Bootstrapped, post_engine: Engine
) -> None:
    author = random_id()
    in_order, out_of_order = random_id(), random_id()
    notify_subscribers(subscribe_deps.unit_of_work, history(in_order, author, 2, deleted=True))
    created, edit, later_edit = history(out_of_order, author, 2, deleted=False)
    notify_subscribers(subscribe_deps.unit_of_work, [created, later_edit])
    notify_subscribers(subscribe_deps.unit_of_work, [edit])  # applied after a newer version

    auditor = Auditor(subscribe_deps.engine, Audience([author], {author: []}), post_engine)
    sent = [Sent(0, 0, 201, author, post_id=post_id) for post_id in (in_order, out_of_order)]

    assert auditor.order_violations(sent) == 1
    assert auditor.order_violations(sent[:1]) == 0
