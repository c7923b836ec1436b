"""In-memory fakes that subclass the real ports: a transaction that commits or rolls back."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime
from uuid import uuid4

from contract.events import PostCreated
from post_service.domain.idempotency import EarlierAttempt, IdempotencyKey
from post_service.domain.posts import NewPost, Post, now
from post_service.service import ports as post_ports
from subscribe_service.domain.notifications import Notification
from subscribe_service.service import ports as subscribe_ports


class PostStore:
    """What the fake database holds; each unit of work edits a copy and commits it back."""

    def __init__(self) -> None:
        self.posts: dict[int, Post] = {}
        self.outbox: list[PostCreated] = []
        self.keys: dict[str, EarlierAttempt] = {}


class FakePosts(post_ports.PostRepository):
    def __init__(self, store: PostStore) -> None:
        self.store = store

    def add(self, new_post: NewPost) -> Post:
        post_id = len(self.store.posts) + 1
        post = Post(post_id, new_post.author_id, new_post.title, new_post.content, now(), uuid4())
        self.store.posts[post.post_id] = post
        return post

    def get(self, post_id: int) -> Post | None:
        return self.store.posts.get(post_id)

    def created_since(self, since: datetime, after_post_id: int, limit: int) -> list[Post]:
        found = [p for p in self.store.posts.values() if p.created_at >= since]
        return sorted((p for p in found if p.post_id > after_post_id), key=lambda p: p.post_id)[
            :limit
        ]


class FakeOutbox(post_ports.Outbox):
    def __init__(self, store: PostStore, fail: bool = False) -> None:
        self.store = store
        self.fail = fail

    def append(self, event: PostCreated) -> None:
        if self.fail:
            raise RuntimeError("the outbox insert failed")
        self.store.outbox.append(event)

    def append_again(self, event: PostCreated) -> None:
        self.store.outbox = [e for e in self.store.outbox if e.event_id != event.event_id]
        self.append(event)


class FakeIdempotencyKeys(post_ports.IdempotencyKeys):
    def __init__(self, store: PostStore) -> None:
        self.store = store

    def claim(self, key: IdempotencyKey) -> EarlierAttempt | None:
        earlier = self.store.keys.get(key.key)
        if earlier is not None and earlier.post_id:
            return earlier
        self.store.keys[key.key] = EarlierAttempt(key.fingerprint, 0)
        return None

    def complete(self, key: str, post_id: int) -> None:
        self.store.keys[key] = EarlierAttempt(self.store.keys[key].fingerprint, post_id)

    def purge_expired(self, limit: int) -> int:
        return 0


class FakePostUnitOfWork(post_ports.UnitOfWork):
    def __init__(self, committed: PostStore, fail_outbox: bool = False) -> None:
        self.committed = committed
        self.fail_outbox = fail_outbox

    def __enter__(self) -> FakePostUnitOfWork:
        self.pending = copy.deepcopy(self.committed)
        self.posts = FakePosts(self.pending)
        self.outbox = FakeOutbox(self.pending, self.fail_outbox)
        self.keys = FakeIdempotencyKeys(self.pending)
        return self

    def commit(self) -> None:
        self.committed.__dict__.update(self.pending.__dict__)

    def rollback(self) -> None:
        self.pending = PostStore()


class SubscribeStore:
    def __init__(self) -> None:
        self.subscriptions: set[tuple[int, int]] = set()
        self.processed: set[str] = set()
        self.notifications: list[Notification] = []


class FakeSubscriptions(subscribe_ports.Subscriptions):
    def __init__(self, store: SubscribeStore) -> None:
        self.store = store

    def add(self, subscriber_id: int, author_id: int) -> None:
        self.store.subscriptions.add((subscriber_id, author_id))

    def remove(self, subscriber_id: int, author_id: int) -> bool:
        found = (subscriber_id, author_id) in self.store.subscriptions
        self.store.subscriptions.discard((subscriber_id, author_id))
        return found

    def subscribers_of(self, author_id: int) -> list[int]:
        return sorted(s for s, a in self.store.subscriptions if a == author_id)


class FakeInbox(subscribe_ports.Inbox):
    def __init__(self, store: SubscribeStore) -> None:
        self.store = store

    def record(self, event: PostCreated) -> bool:
        if str(event.event_id) in self.store.processed:
            return False
        self.store.processed.add(str(event.event_id))
        return True


class FakeNotifications(subscribe_ports.Notifications):
    def __init__(self, store: SubscribeStore) -> None:
        self.store = store

    def add(self, notifications: Sequence[Notification]) -> None:
        self.store.notifications.extend(notifications)

    def latest_for(self, subscriber_id: int, limit: int) -> list[Notification]:
        mine = [n for n in self.store.notifications if n.subscriber_id == subscriber_id]
        return mine[::-1][:limit]


class FakeSubscribeUnitOfWork(subscribe_ports.UnitOfWork):
    def __init__(self, committed: SubscribeStore) -> None:
        self.committed = committed

    def __enter__(self) -> FakeSubscribeUnitOfWork:
        self.pending = copy.deepcopy(self.committed)
        self.subscriptions = FakeSubscriptions(self.pending)
        self.inbox = FakeInbox(self.pending)
        self.notifications = FakeNotifications(self.pending)
        return self

    def commit(self) -> None:
        self.committed.__dict__.update(self.pending.__dict__)

    def rollback(self) -> None:
        self.pending = SubscribeStore()
