"""Use cases of notifications: applying post events, and reading what a subscriber was told."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from contract.events import PostCreated, PostDeleted, PostEvent
from subscribe_service.domain.deliveries import NewDelivery
from subscribe_service.domain.feed import FeedEntry
from subscribe_service.domain.notifications import Notification
from subscribe_service.domain.post_states import PostState
from subscribe_service.domain.subscriptions import Subscribers
from subscribe_service.service.ports import UnitOfWork


def notify_subscribers(
    unit_of_work: Callable[[], UnitOfWork], events: Sequence[PostEvent]
) -> tuple[list[Notification], int]:
    """Applies each event exactly once, all in one transaction: an event already in the inbox
    changes nothing. A new post notifies each subscriber of the author when it was created; those
    with a webhook endpoint also get a pending delivery, in the same transaction, which the
    dispatcher sends. Every event takes its post to its version, if that is newer than the one
    applied: notifications show the newest title, and none of a deleted post is listed. Returns
    the new notifications and how many events were duplicates.

    A statement does the whole batch's part at each step, not one per event: a consumer catching
    up applies hundreds of events per transaction."""
    with unit_of_work() as uow:
        new = uow.inbox.record(events)
        # A creation that comes after its post's deletion (a reconcile's late copy) notifies
        # nobody: no notification, no webhook, of a post that is gone, whether the deletion was
        # applied in an earlier batch or comes earlier in this one.
        creations = creations_not_after_deletion(new)
        gone = uow.post_states.deleted_among({e.post_id for e in creations})
        creations = [e for e in creations if e.post_id not in gone]
        created = notifications_of(uow, creations)
        uow.notifications.add(created)
        uow.post_states.advance([PostState.after(e) for e in new])
        with_endpoint = uow.endpoints.having({n.subscriber_id for n in created})
        uow.deliveries.add(
            [NewDelivery.of(n) for n in created if n.subscriber_id in with_endpoint],
            at=datetime.now(UTC),
        )
        uow.commit()
    return created, len(events) - len(new)


def creations_not_after_deletion(events: Sequence[PostEvent]) -> list[PostCreated]:
    """The batch's creations, but those that come after a deletion of their post in it."""
    deleted: set[int] = set()
    creations = []
    for event in events:
        if isinstance(event, PostDeleted):
            deleted.add(event.post_id)
        elif isinstance(event, PostCreated) and event.post_id not in deleted:
            creations.append(event)
    return creations


def notifications_of(uow: UnitOfWork, creations: Sequence[PostCreated]) -> list[Notification]:
    """For each post, one for each subscriber of its author when it was created."""
    if not creations:
        return []
    moments = [e.created_at for e in creations]
    subscribers = Subscribers(
        uow.subscriptions.periods_of({e.author_id for e in creations}, min(moments), max(moments))
    )
    return [
        Notification(
            event.event_id,
            subscriber_id,
            event.post_id,
            event.author_id,
            event.title,
            event.created_at,
        )
        for event in creations
        for subscriber_id in subscribers.of(event.author_id, at=event.created_at)
    ]


def feed(unit_of_work: Callable[[], UnitOfWork], subscriber_id: int, limit: int) -> list[FeedEntry]:
    with unit_of_work() as uow:
        return uow.feed.latest_for(subscriber_id, limit)


def latest_notifications(
    unit_of_work: Callable[[], UnitOfWork], subscriber_id: int, limit: int
) -> list[Notification]:
    with unit_of_work() as uow:
        return uow.notifications.latest_for(subscriber_id, limit)
