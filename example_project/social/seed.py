"""
Demo data for the example site, created through the models.

``seed(...)`` saves users, follows, posts and likes one by one, so model
tracking publishes each activity and fans it out exactly as it does for a
person using the site. The data is planned from a fixed random seed and
placed in time relative to an *anchor*: the moment of the first run, kept as
the demo users' join date plus ``JOINED_BEFORE``. A second run with the same
options therefore plans the same rows, finds them all and adds nothing.
"""

from __future__ import annotations

import functools
import itertools
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TextIO

from django.contrib.auth import get_user_model
from django.core.management.base import OutputWrapper
from django.db import transaction
from django.utils import timezone

from example_project.social.models import Follow, Like, Post

#: Users joined this long before the anchor.
JOINED_BEFORE = timedelta(days=40)
#: Posts are spread over this period before the anchor.
POSTING_PERIOD = timedelta(days=30)
#: Average time between a post and a like of it.
LIKE_DELAY = timedelta(hours=5)
#: Rows saved per transaction (their activities publish when it commits).
CHUNK = 50

FIRST_NAMES = [
    "Ann",
    "Ben",
    "Chloe",
    "Dev",
    "Elif",
    "Femi",
    "Greta",
    "Hiro",
    "Ines",
    "Jonas",
    "Kira",
    "Luca",
    "Maya",
    "Nils",
    "Olga",
    "Pablo",
    "Quinn",
    "Rosa",
    "Sami",
    "Tara",
    "Umar",
    "Vera",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
    "Arjun",
    "Bea",
    "Caio",
    "Dana",
    "Emil",
    "Freya",
    "Gil",
    "Hana",
    "Ivo",
    "Jade",
    "Kofi",
    "Lena",
    "Milo",
    "Nora",
    "Omar",
    "Pia",
    "Rafa",
    "Sofia",
    "Theo",
    "Uma",
    "Viktor",
    "Wanda",
    "Yara",
    "Zane",
]
LAST_NAMES = [
    "Abbott",
    "Baker",
    "Castro",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quist",
    "Rossi",
    "Silva",
    "Tanaka",
    "Umarov",
    "Varga",
    "Weber",
    "Yilmaz",
    "Zhang",
]

_OPENERS = [
    "Finally finished",
    "Spent the whole morning on",
    "Can't stop thinking about",
    "Small win today:",
    "Trying out",
    "Halfway through",
    "Just got back from",
    "Quick note on",
    "Really enjoying",
    "Taking a break from",
]
_TOPICS = [
    "the new bike route along the river",
    "a sourdough starter that refuses to rise",
    "rewriting the garden shed plans",
    "a 1,000-piece puzzle of a lighthouse",
    "the reading list for the book club",
    "fixing the kitchen tap myself",
    "learning the opening chords of a jazz standard",
    "a long walk through the old town",
    "sorting twenty years of photos",
    "the first swim of the season",
    "a tiny balcony tomato harvest",
    "the neighbourhood board game night",
    "planning a train trip across the Alps",
    "restoring a second-hand desk",
    "a slow Sunday with pancakes",
    "the local football derby",
    "teaching my nephew to play chess",
    "a workshop on bookbinding",
]
_CLOSERS = [
    "Recommended.",
    "Would do it again.",
    "More photos soon.",
    "Who's in next time?",
    "Any tips welcome!",
    "Not bad for a first try.",
    "Worth every minute.",
    "",
    "Slow progress, still progress.",
    "Tell me I'm not the only one.",
]


@dataclass(frozen=True)
class SeedPlan:
    """The rows to create; times are offsets before the anchor."""

    users: list[tuple[str, str, str]]  # username, first name, last name
    follows: list[tuple[int, int, timedelta]]  # follower, followed (user indexes), age
    posts: list[tuple[int, str, timedelta]]  # author index, text, age
    likes: list[tuple[int, int, timedelta]]  # user index, post index, age


@dataclass
class SeedReport:
    """What a run created, and how long it took."""

    created: dict[str, int] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def added_anything(self) -> bool:
        return any(self.created.values())


def user_names(count: int) -> list[tuple[str, str, str]]:
    """Return ``count`` distinct (username, first name, last name) triples."""
    names = []
    for i in range(count):
        first = FIRST_NAMES[i % len(FIRST_NAMES)]
        rounds = i // len(FIRST_NAMES)
        username = first.lower() + (str(rounds + 1) if rounds else "")
        names.append((username, first, LAST_NAMES[(i * 7) % len(LAST_NAMES)]))
    return names


def make_plan(users: int = 50, posts: int = 2000, likes: int = 3000, seed: int = 2024) -> SeedPlan:
    """Plan the demo data; the same arguments always give the same plan."""
    if users < 2:
        raise ValueError("the demo needs at least 2 users")
    rng = random.Random(seed)
    people = user_names(users)
    # Some people follow many others; everyone follows somebody.
    follows = []
    following: dict[int, set[int]] = {i: set() for i in range(users)}
    for follower in range(users):
        count = min(users - 1, rng.randint(4, 12))
        for followed in rng.sample([u for u in range(users) if u != follower], count):
            following[follower].add(followed)
            age = JOINED_BEFORE - timedelta(days=2, minutes=rng.randint(0, 7 * 24 * 60))
            follows.append((follower, followed, age))
    # The first people in the list write the most posts.
    weights = [1 / (rank + 4) for rank in range(users)]
    period = int(POSTING_PERIOD.total_seconds())
    planned_posts = []
    taken: set[tuple[int, int]] = set()
    for author in rng.choices(range(users), weights=weights, k=posts):
        text = " ".join(filter(None, [rng.choice(_OPENERS), rng.choice(_TOPICS) + ".", rng.choice(_CLOSERS)]))
        seconds = rng.randint(300, period)
        while (author, seconds) in taken:  # an author's posts are told apart by time
            seconds = rng.randint(300, period)
        taken.add((author, seconds))
        planned_posts.append((author, text, timedelta(seconds=seconds)))
    # Some posts are far more liked than others. Likes come mostly from the
    # author's followers, a few hours after the post on average; a like that
    # would fall after the anchor has not happened yet.
    appeal = list(itertools.accumulate(rng.paretovariate(1.5) for _ in range(posts)))
    followers: dict[int, list[int]] = {i: [] for i in range(users)}
    for follower, followed in ((f, t) for f, ts in following.items() for t in ts):
        followers[followed].append(follower)
    planned_likes = []
    seen: set[tuple[int, int]] = set()
    attempts = 0
    while len(planned_likes) < likes and posts and attempts < likes * 20:
        attempts += 1
        post = rng.choices(range(posts), cum_weights=appeal)[0]
        author, _, post_age = planned_posts[post]
        fans = followers[author]
        user = rng.choice(fans) if fans and rng.random() < 0.8 else rng.randrange(users)
        delay = timedelta(seconds=60 + int(rng.expovariate(1 / LIKE_DELAY.total_seconds())))
        if user == author or (user, post) in seen or post_age - delay < timedelta(seconds=30):
            continue
        seen.add((user, post))
        planned_likes.append((user, post, post_age - delay))
    return SeedPlan(users=people, follows=follows, posts=planned_posts, likes=planned_likes)


class ProgressBar:
    """A plain-text progress bar.

    On a terminal it is redrawn in place; elsewhere (logs, pipes) a line is
    written every 10 %.
    """

    def __init__(self, out: TextIO, label: str, total: int, width: int = 30) -> None:
        self.out, self.label, self.total, self.width = out, label, total, width
        # A management command's OutputWrapper ends every write with a newline
        # unless told otherwise; the bar draws partial lines.
        self._write = functools.partial(out.write, ending="") if isinstance(out, OutputWrapper) else out.write
        self.tty = bool(getattr(out, "isatty", lambda: False)())
        self._last_step = -1
        self.started = time.perf_counter()

    def line(self, done: int) -> str:
        """Return the bar for ``done`` of ``total``, e.g. ``posts [###---] 1/2 50%``."""
        fraction = done / self.total if self.total else 1.0
        filled = int(self.width * fraction)
        return (
            f"{self.label:<8} [{'#' * filled}{'-' * (self.width - filled)}] "
            f"{done:>{len(str(self.total))}}/{self.total} {fraction:4.0%}"
        )

    def update(self, done: int) -> None:
        """Show that ``done`` of ``total`` are finished."""
        if self.tty:
            self._write("\r" + self.line(done))
            self.out.flush()
            return
        step = int(10 * done / self.total) if self.total else 10
        if step > self._last_step and done < self.total:
            self._last_step = step
            self._write(self.line(done) + "\n")

    def finish(self) -> None:
        """Draw the full bar with the time taken, and end the line."""
        elapsed = time.perf_counter() - self.started
        self._write(("\r" if self.tty else "") + f"{self.line(self.total)}  {elapsed:.1f}s\n")
        self.out.flush()


def _in_chunks(rows: list, label: str, out: TextIO | None, save: Callable[[object], None]) -> None:
    """Save ``rows`` in transactions of ``CHUNK``, drawing a progress bar."""
    if not rows:
        return
    bar = ProgressBar(out, label, len(rows)) if out is not None else None
    for start in range(0, len(rows), CHUNK):
        with transaction.atomic():
            for row in rows[start : start + CHUNK]:
                save(row)
        if bar:
            bar.update(min(start + CHUNK, len(rows)))
    if bar:
        bar.finish()


def _anchor(first_username: str) -> datetime:
    User = get_user_model()
    first = User.objects.filter(username=first_username).first()
    if first is not None:
        return first.date_joined + JOINED_BEFORE
    return timezone.now().replace(microsecond=0)


def seed(plan: SeedPlan, out: TextIO | None = sys.stdout) -> SeedReport:
    """Create what ``plan`` lists and the database lacks; report counts and time."""
    started = time.perf_counter()
    User = get_user_model()
    report = SeedReport()
    anchor = _anchor(plan.users[0][0])

    existing_users = {u.username: u for u in User.objects.filter(username__in=[u[0] for u in plan.users])}
    missing_users = [u for u in plan.users if u[0] not in existing_users]

    def save_user(row: object) -> None:
        username, first, last = row  # type: ignore[misc]
        user = User(username=username, first_name=first, last_name=last, date_joined=anchor - JOINED_BEFORE)
        user.set_unusable_password()
        user.save()
        existing_users[username] = user

    _in_chunks(missing_users, "users", out, save_user)
    report.created["users"] = len(missing_users)
    users = [existing_users[u[0]] for u in plan.users]
    ids = [u.pk for u in users]

    have_follows = set(Follow.objects.filter(user_id__in=ids).values_list("user_id", "target_id"))
    missing_follows = [f for f in plan.follows if (users[f[0]].pk, users[f[1]].pk) not in have_follows]
    _in_chunks(
        missing_follows,
        "follows",
        out,
        lambda row: Follow(user=users[row[0]], target=users[row[1]], created_at=anchor - row[2]).save(),  # type: ignore[index]
    )
    report.created["follows"] = len(missing_follows)

    have_posts = {
        (user_id, created_at): pk
        for pk, user_id, created_at in Post.objects.filter(user_id__in=ids).values_list("pk", "user_id", "created_at")
    }
    posts: list[Post | None] = []
    missing_posts = []
    for index, (author, text, age) in enumerate(plan.posts):
        key = (users[author].pk, anchor - age)
        if key in have_posts:
            posts.append(Post(pk=have_posts[key], user=users[author], text=text, created_at=key[1]))
        else:
            posts.append(None)
            missing_posts.append(index)

    def save_post(index: object) -> None:
        author, text, age = plan.posts[index]  # type: ignore[index]
        post = Post(user=users[author], text=text, created_at=anchor - age)
        post.save()
        posts[index] = post  # type: ignore[index]

    _in_chunks(missing_posts, "posts", out, save_post)
    report.created["posts"] = len(missing_posts)

    have_likes = set(Like.objects.filter(user_id__in=ids).values_list("user_id", "post_id"))
    missing_likes = [
        like
        for like in plan.likes
        if (users[like[0]].pk, posts[like[1]].pk) not in have_likes  # type: ignore[union-attr]
    ]
    _in_chunks(
        missing_likes,
        "likes",
        out,
        lambda row: Like(user=users[row[0]], post=posts[row[1]], created_at=anchor - row[2]).save(),  # type: ignore[index]
    )
    report.created["likes"] = len(missing_likes)

    report.totals = {
        "users": len(plan.users),
        "follows": len(plan.follows),
        "posts": len(plan.posts),
        "likes": len(plan.likes),
    }
    report.seconds = time.perf_counter() - started
    return report
