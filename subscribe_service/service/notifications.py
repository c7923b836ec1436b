"""Use cases of notifications: applying post events, and reading what a subscriber was told."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from contract.events import PostCreated, PostDeleted, PostEvent
from subscribe_service.domain.deliveries import NewDelivery
from subscribe_service.domain.feed import FeedEntry
from subscribe_service.domain.notifications import Notification
from subscribe_service.service.ports import UnitOfWork


def notify_subscribers(
    unit_of_work: Callable[[], UnitOfWork], events: Sequence[PostEvent]
) -> tuple[list[Notification], int]:
    """Applies each event exactly once, all in one transaction: an event already in the inbox
    changes nothing. A new post notifies each subscriber of the author when it was created; those
    with a webhook endpoint also get a pending delivery, in the same transaction, which the
    dispatcher sends. Every event takes its post to its version, if that is newer than the one
    applied: notifications show the newest title, and none of a deleted post is listed. Returns
    the new notifications and how many events were duplicates."""
    created: list[Notification] = []
    duplicates = 0
    with unit_of_work() as uow:
        # A creation that comes after its post's deletion was applied (a reconcile's late copy)
        # notifies nobody: no notification, no webhook, of a post that is gone.
        created_posts = {e.post_id for e in events if isinstance(e, PostCreated)}
        gone = uow.post_states.deleted_among(created_posts)
        for event in events:
            if not uow.inbox.record(event):
                duplicates += 1
                continue
            if isinstance(event, PostCreated) and event.post_id not in gone:
                notifications = notifications_of(uow, event)
                uow.notifications.add(notifications)
                created.extend(notifications)
            deleted_at = event.deleted_at if isinstance(event, PostDeleted) else None
            title = None if isinstance(event, PostDeleted) else event.title
            uow.post_states.advance(event.post_id, event.version, title, deleted_at)
        with_endpoint = uow.endpoints.having({n.subscriber_id for n in created})
        uow.deliveries.add(
            [NewDelivery.of(n) for n in created if n.subscriber_id in with_endpoint],
            at=datetime.now(UTC),
        )
        uow.commit()
    return created, duplicates


def notifications_of(uow: UnitOfWork, event: PostCreated) -> list[Notification]:
    """One for each subscriber of the author when the post was created."""
    return [
        Notification(
            event.event_id,
            subscriber_id,
            event.post_id,
            event.author_id,
            event.title,
            event.created_at,
        )
        for subscriber_id in uow.subscriptions.subscribers_of(event.author_id, at=event.created_at)
    ]


def feed(unit_of_work: Callable[[], UnitOfWork], subscriber_id: int, limit: int) -> list[FeedEntry]:
    with unit_of_work() as uow:
        return uow.feed.latest_for(subscriber_id, limit)


def latest_notifications(
    unit_of_work: Callable[[], UnitOfWork], subscriber_id: int, limit: int
) -> list[Notification]:
    with unit_of_work() as uow:
        return uow.notifications.latest_for(subscriber_id, limit)
