"""
The cap on the activities an aggregated group keeps (``activities_per_group``).

A group keeps its newest ``activities_per_group`` activities; older ones are
dropped when the newer ones are written, whatever path wrote them (a direct
add, a batch, fan-out from a followed feed, the copy of a follow), so a busy
group stays bounded. ``activity_count`` and ``actor_count`` keep counting
every activity the group received and every actor who took part, as the
hosted service does (docs/settings.md, ``activities_per_group``).

Raising the cap afterwards shows only what was kept: the dropped activities
are gone from the store, not just from the page.
"""

from __future__ import annotations

import pytest

from .helpers import act

CAP = 3


@pytest.fixture
def capped(settings, feeds):
    """Feed groups with ``activities_per_group`` = CAP; ``widen()`` raises it."""
    base = dict(settings.STREAM_FEEDS)
    groups = {
        "capped": {"type": "aggregated", "aggregation_format": "{{ verb }}", "activities_per_group": CAP},
        "capnote": {"type": "notification", "aggregation_format": "{{ verb }}", "activities_per_group": CAP},
        "capsource": {"type": "flat"},
    }
    settings.STREAM_FEEDS = {**base, **groups}

    def widen(per_group: int = 50) -> None:
        settings.STREAM_FEEDS = {
            **base,
            **{slug: {**options, "activities_per_group": per_group} for slug, options in groups.items()},
        }

    feeds.widen = widen
    return feeds


def only_group(feed):
    (group,) = feed.get()["results"]
    return group


def kept(group) -> list[int]:
    return [int(a["foreign_id"].split(":")[1]) for a in group["activities"]]


@pytest.mark.parametrize("slug", ["capped", "capnote"])
def test_a_group_keeps_its_newest_activities_and_counts_all(capped, slug):
    feed = capped.feed(slug, 1)
    for n in range(1, 9):
        feed.add_activity(act(n))
    group = only_group(feed)
    assert (group["activity_count"], group["actor_count"]) == (8, 1)
    assert kept(group) == [8, 7, 6]
    capped.widen()
    group = only_group(feed)
    assert kept(group) == [8, 7, 6], "the activities past the cap were dropped when written"
    assert (group["activity_count"], group["actor_count"]) == (8, 1)


@pytest.mark.parametrize("slug", ["capped", "capnote"])
def test_actors_of_activities_cut_by_the_cap_still_count(capped, slug):
    feed = capped.feed(slug, 1)
    for n in range(1, 9):
        feed.add_activity(act(n, actor=f"auth.User:{n % 4}"))
    group = only_group(feed)
    assert (group["activity_count"], group["actor_count"]) == (8, 4)
    assert kept(group) == [8, 7, 6]


def test_one_batch_is_capped_too(capped):
    feed = capped.feed("capped", 1)
    feed.add_activities([act(n) for n in range(1, 11)])
    capped.widen()
    group = only_group(feed)
    assert kept(group) == [10, 9, 8]
    assert (group["activity_count"], group["actor_count"]) == (10, 1)


def test_an_older_activity_arriving_late_is_dropped_at_once(capped):
    feed = capped.feed("capped", 1)
    feed.add_activities([act(n) for n in (5, 6, 7)])
    feed.add_activity(act(1))  # older than everything kept
    capped.widen()
    group = only_group(feed)
    assert kept(group) == [7, 6, 5]
    assert group["activity_count"] == 4


def test_an_actor_whose_activities_were_all_dropped_still_counts_once(capped):
    feed = capped.feed("capped", 1)
    feed.add_activity(act(1, actor="auth.User:ann"))
    for n in (2, 3, 4):
        feed.add_activity(act(n, actor="auth.User:bob"))  # Ann's activity is dropped at 4
    group = only_group(feed)
    assert (group["activity_count"], group["actor_count"]) == (4, 2)
    feed.add_activity(act(5, actor="auth.User:ann"))  # Ann again: still one actor
    group = only_group(feed)
    assert (group["activity_count"], group["actor_count"]) == (5, 2)
    assert kept(group) == [5, 4, 3]


def test_fan_out_and_the_copy_of_a_follow_are_capped(capped):
    source = capped.feed("capsource", 1)
    for n in range(1, 7):
        source.add_activity(act(n))
    copied = capped.feed("capped", 2)
    copied.follow("capsource", 1)  # copies the newest activities
    fanned = capped.feed("capnote", 3)
    fanned.follow("capsource", 1, activity_copy_limit=0)
    for n in range(7, 12):
        source.add_activity(act(n))  # fan-out into both
    capped.widen()
    group = only_group(copied)
    assert kept(group) == [11, 10, 9]
    assert group["activity_count"] == 11
    group = only_group(fanned)
    assert kept(group) == [11, 10, 9]
    assert group["activity_count"] == 5


def test_removing_a_kept_activity_leaves_the_others(capped):
    feed = capped.feed("capped", 1)
    added = [feed.add_activity(act(n)) for n in range(1, 7)]
    feed.remove_activity(added[-1]["id"])
    group = only_group(feed)
    assert kept(group) == [5, 4]
    assert group["activity_count"] == 5
    feed.add_activity(act(7))
    capped.widen()
    group = only_group(feed)
    assert kept(group) == [7, 5, 4]
    assert group["activity_count"] == 6


def test_a_group_whose_kept_activities_are_all_removed_goes(capped):
    feed = capped.feed("capped", 1)
    added = [feed.add_activity(act(n)) for n in range(1, 7)]
    for activity in added[-3:]:
        feed.remove_activity(activity["id"])
    assert feed.get()["results"] == []  # the cut activities do not come back
    feed.add_activity(act(7))
    group = only_group(feed)
    assert (kept(group), group["activity_count"]) == ([7], 1)


def test_the_cap_applies_per_group(capped):
    feed = capped.feed("capped", 1)
    feed.add_activities([act(n, verb="like" if n % 2 else "tweet") for n in range(1, 13)])
    capped.widen()
    groups = {g["group"]: g for g in feed.get()["results"]}
    assert kept(groups["like"]) == [11, 9, 7]
    assert kept(groups["tweet"]) == [12, 10, 8]
    assert groups["like"]["activity_count"] == groups["tweet"]["activity_count"] == 6
