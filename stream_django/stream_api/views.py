"""
The routes of Stream's Feeds API (v1.0), each through the feeds API.

Every handler names the permission it needs (``call.require``) before it
reads or writes anything, so a token that does not grant it stores nothing.
Resources and actions are the ones stream-python signs for each call:
``feed`` (read, write, delete), ``follower`` (read, write, delete),
``feed_targets`` (write), ``activities`` (read, write).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from stream_django.client import stream_client
from stream_django.engine.feeds import feed_id, parse_feed_id
from stream_django.exceptions import InputException
from stream_django.feeds.params import FALSE_VALUES, TRUE_VALUES
from stream_django.stream_api.http import Call, endpoint, unknown_route

#: What a feed read passes to ``Feed.get``; other query parameters
#: (``api_key``, the JS client's ``location``, enrichment flags) are not
#: feed-read options.
READ_PARAMS = ("limit", "offset", "id_lt", "id_lte", "id_gt", "id_gte", "mark_seen", "mark_read", "ranking")
#: Enrichment flags whose fields an enriched read adds to every activity.
REACTION_FIELDS = {
    "withOwnReactions": "own_reactions",
    "withRecentReactions": "latest_reactions",
    "withReactionCounts": "reaction_counts",
}


def _feed(slug: str, user_id: str) -> str:
    return feed_id(slug, user_id)


def _flag(value: Any) -> bool:
    return value in TRUE_VALUES or (value not in FALSE_VALUES and value is not None)


# -- feeds ----------------------------------------------------------------


def add_activities(call: Call, slug: str, user_id: str) -> tuple[int, Any]:
    """POST ``feed/<slug>/<user_id>/``: one activity, or ``{"activities": [...]}``."""
    feed = _feed(slug, user_id)
    call.require("feed", "write", feed)
    body = call.object_body()
    many = "activities" in body and "actor" not in body
    activities = body["activities"] if many else [body]
    if not isinstance(activities, list):
        raise InputException("'activities' must be a list of activities")
    for activity in activities:
        if isinstance(activity, dict):
            call.require_targets(activity.get("to"))
    target = stream_client.feed(slug, user_id)
    if many:
        if not activities:
            raise InputException("'activities' is empty")
        return 201, target.add_activities(activities)
    return 201, target.add_activity(body)


def read_feed(call: Call, slug: str, user_id: str, enriched: bool = False) -> tuple[int, Any]:
    """GET ``[enrich/]feed/<slug>/<user_id>/``: a page of the feed."""
    feed = _feed(slug, user_id)
    call.require("feed", "read", feed)
    params = {name: call.param(name) for name in READ_PARAMS if call.param(name) is not None}
    result = dict(stream_client.feed(slug, user_id).get(**params))
    if enriched:
        _add_reaction_fields(call, result["results"])
    results = result["results"]
    if result.get("next"):
        carried = [
            (k, v)
            for k, v in call.params.items()
            if k not in ("api_key", "location", "offset", "limit", "mark_seen", "mark_read") and not k.startswith("id_")
        ]
        limit = params.get("limit", 25)
        query = urlencode([*carried, ("id_lt", results[-1]["id"]), ("limit", limit)])
        result["next"] = f"{call.request.path}?{query}"
    return 200, result


def _add_reaction_fields(call: Call, results: list[dict[str, Any]]) -> None:
    """Reactions are not served, so an enriched activity has none."""
    fields = [field for flag, field in REACTION_FIELDS.items() if _flag(call.param(flag))]
    for item in results:
        for activity in item.get("activities", [item]):
            for field in fields:
                activity.setdefault(field, {})


def read_enriched_feed(call: Call, slug: str, user_id: str) -> tuple[int, Any]:
    return read_feed(call, slug, user_id, enriched=True)


def remove_activity(call: Call, slug: str, user_id: str, identifier: str) -> tuple[int, Any]:
    """DELETE ``feed/<slug>/<user_id>/<id or foreign_id>/`` (``?foreign_id=1``)."""
    call.require("feed", "delete", _feed(slug, user_id))
    feed = stream_client.feed(slug, user_id)
    if _flag(call.param("foreign_id")):
        return 200, feed.remove_activity(foreign_id=identifier)
    return 200, feed.remove_activity(activity_id=identifier)


# -- follows --------------------------------------------------------------


def follow(call: Call, slug: str, user_id: str, **_: str) -> tuple[int, Any]:
    """POST ``feed/<slug>/<user_id>/follows/`` (or ``following/``) ``{"target", "activity_copy_limit"}``."""
    call.require("follower", "write", _feed(slug, user_id))
    body = call.object_body()
    if "target" not in body:
        raise InputException("the body needs 'target', the feed id to follow ('slug:user_id')")
    target = parse_feed_id(body["target"], what="target")
    target_slug, target_user = target.split(":", 1)
    copy_limit = body.get("activity_copy_limit")
    return 201, stream_client.feed(slug, user_id).follow(target_slug, target_user, activity_copy_limit=copy_limit)


def following(call: Call, slug: str, user_id: str, **_: str) -> tuple[int, Any]:
    """GET ``feed/<slug>/<user_id>/follows/`` (or ``following/``): the feeds it follows."""
    call.require("follower", "read", _feed(slug, user_id))
    return 200, stream_client.feed(slug, user_id).following(**_follow_page(call))


def followers(call: Call, slug: str, user_id: str, **_: str) -> tuple[int, Any]:
    """GET ``feed/<slug>/<user_id>/followers/``: the feeds following it."""
    call.require("follower", "read", _feed(slug, user_id))
    return 200, stream_client.feed(slug, user_id).followers(**_follow_page(call))


def _follow_page(call: Call) -> dict[str, Any]:
    feeds = [f for f in (call.param("filter") or "").split(",") if f]
    return {"offset": call.param("offset", 0), "limit": call.param("limit", 25), "feeds": feeds or None}


def unfollow(call: Call, slug: str, user_id: str, target: str) -> tuple[int, Any]:
    """DELETE ``feed/<slug>/<user_id>/follows/<target>/`` (``?keep_history=1``)."""
    call.require("follower", "delete", _feed(slug, user_id))
    target_slug, target_user = parse_feed_id(target, what="target").split(":", 1)
    keep = _flag(call.param("keep_history"))
    return 200, stream_client.feed(slug, user_id).unfollow(target_slug, target_user, keep_history=keep)


def follows_or_remove(call: Call, slug: str, user_id: str, identifier: str) -> tuple[int, Any]:
    """DELETE on ``feed/<slug>/<user_id>/follows/`` is the removal of the
    activity whose id or foreign id is ``follows``."""
    return remove_activity(call, slug, user_id, identifier)


def follow_many(call: Call) -> tuple[int, Any]:
    """POST ``follow_many/`` ``[{"source", "target"}]`` (``?activity_copy_limit=``)."""
    call.require("follower", "write", None)
    follows = _list_body(call)
    return 201, stream_client.follow_many(follows, activity_copy_limit=call.param("activity_copy_limit"))


def unfollow_many(call: Call) -> tuple[int, Any]:
    """POST ``unfollow_many/`` ``[{"source", "target", "keep_history"}]``."""
    call.require("follower", "delete", None)
    return 201, stream_client.unfollow_many(_list_body(call))


def _list_body(call: Call) -> list[Any]:
    body = call.body()
    if not isinstance(body, list):
        raise InputException(f"the request body must be a JSON array, got {type(body).__name__}")
    return body


def follow_stats(call: Call) -> tuple[int, Any]:
    """GET ``stats/follow/?followers=<feed>&following=<feed>`` (+ ``*_slugs``)."""
    named = {kind: call.param(kind) for kind in ("followers", "following") if call.param(kind)}
    if not named:
        raise InputException("give the feed to count in 'followers' and/or 'following' ('slug:user_id')")
    for feed in named.values():
        call.require("follower", "read", parse_feed_id(feed, what="follow_stats feed"))
    slugs = {kind: [s for s in (call.param(f"{kind}_slugs") or "").split(",") if s] or None for kind in named}
    results: dict[str, Any] = {}
    for kind, feed in named.items():
        counted = stream_client.follow_stats(
            feed,
            followers_slugs=slugs.get("followers") if kind == "followers" else None,
            following_slugs=slugs.get("following") if kind == "following" else None,
        )
        results[kind] = counted["results"][kind]
    return 200, {"results": results}


# -- many feeds and activities by id --------------------------------------


def add_to_many(call: Call) -> tuple[int, Any]:
    """POST ``feed/add_to_many/`` ``{"activity", "feeds"}``."""
    call.require("feed", "write", None)
    body = call.object_body()
    if "activity" not in body or "feeds" not in body:
        raise InputException("the body needs 'activity' and 'feeds' (a list of 'slug:user_id')")
    if not isinstance(body["feeds"], list):
        raise InputException("'feeds' must be a list of 'slug:user_id' feed ids")
    return 201, stream_client.add_to_many(body["activity"], body["feeds"])


def get_activities(call: Call, enriched: bool = False) -> tuple[int, Any]:
    """GET ``[enrich/]activities/?ids=a,b`` or ``?foreign_ids=f1,f2&timestamps=t1,t2``."""
    call.require("activities", "read", None)
    ids, foreign_ids, times = call.param("ids"), call.param("foreign_ids"), call.param("timestamps")
    if ids:
        result = stream_client.get_activities(ids=[i for i in ids.split(",") if i])
    elif foreign_ids and times:
        fids, stamps = foreign_ids.split(","), times.split(",")
        if len(fids) != len(stamps):
            raise InputException(f"{len(fids)} foreign_ids but {len(stamps)} timestamps: give one time per foreign id")
        result = stream_client.get_activities(foreign_id_times=list(zip(fids, stamps)))
    else:
        raise InputException("give ids=<id,id...>, or foreign_ids=<fid,...> with timestamps=<time,...>")
    result = dict(result)
    if enriched:
        _add_reaction_fields(call, result["results"])
    return 200, result


def get_enriched_activities(call: Call) -> tuple[int, Any]:
    return get_activities(call, enriched=True)


def update_activities(call: Call) -> tuple[int, Any]:
    """POST ``activities/`` ``{"activities": [...]}``: full replacement by ``foreign_id`` + ``time``."""
    call.require("activities", "write", None)
    activities = call.object_body().get("activities")
    if not isinstance(activities, list):
        raise InputException("the body needs 'activities', a list of activities with foreign_id and time")
    return 201, stream_client.update_activities(activities)


def partial_update(call: Call) -> tuple[int, Any]:
    """POST ``activity/`` ``{"changes": [{"id" | "foreign_id"+"time", "set", "unset"}]}``."""
    call.require("activities", "write", None)
    changes = call.object_body().get("changes")
    if not isinstance(changes, list) or not all(isinstance(c, dict) for c in changes):
        raise InputException("the body needs 'changes', a list of {id or foreign_id+time, set, unset}")
    return 201, stream_client.activities_partial_update(changes)


def update_to_targets(call: Call, slug: str, user_id: str) -> tuple[int, Any]:
    """POST ``feed_targets/<slug>/<user_id>/activity_to_targets/``."""
    call.require("feed_targets", "write", _feed(slug, user_id))
    body = call.object_body()
    for name in ("foreign_id", "time"):
        if not body.get(name):
            raise InputException(f"the body needs {name!r}")
    # stream-python signs this call with a feed-scoped feed_targets/write
    # token: that resource is the grant to move the activity to any targets.
    result = stream_client.feed(slug, user_id).update_activity_to_targets(
        body["foreign_id"],
        body["time"],
        new_targets=body.get("new_targets"),
        added_targets=body.get("added_targets"),
        removed_targets=body.get("removed_targets"),
    )
    return 201, result


feed_view = endpoint({"GET": read_feed, "POST": add_activities})
enriched_feed_view = endpoint({"GET": read_enriched_feed})
activity_view = endpoint({"DELETE": remove_activity})
follows_view = endpoint({"GET": following, "POST": follow, "DELETE": follows_or_remove})
followers_view = endpoint({"GET": followers, "DELETE": follows_or_remove})
unfollow_view = endpoint({"DELETE": unfollow})
add_to_many_view = endpoint({"POST": add_to_many})
follow_many_view = endpoint({"POST": follow_many})
unfollow_many_view = endpoint({"POST": unfollow_many})
follow_stats_view = endpoint({"GET": follow_stats})
activities_view = endpoint({"GET": get_activities, "POST": update_activities})
enriched_activities_view = endpoint({"GET": get_enriched_activities})
partial_update_view = endpoint({"POST": partial_update})
to_targets_view = endpoint({"POST": update_to_targets})
unknown_view = endpoint(dict.fromkeys(("GET", "POST", "PUT", "PATCH", "DELETE"), unknown_route))
