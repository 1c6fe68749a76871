"""Random sequences of operations agree with a plain Python model of the semantics."""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .helpers import at

USERS = range(3)
TIMELINES = range(3)

ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.sampled_from(USERS), st.integers(0, 6)),
        st.tuples(st.just("remove"), st.sampled_from(USERS), st.integers(0, 6)),
        st.tuples(st.just("follow"), st.sampled_from(TIMELINES), st.sampled_from(USERS)),
        st.tuples(st.just("unfollow"), st.sampled_from(TIMELINES), st.sampled_from(USERS)),
    ),
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops)
def test_flat_feeds_follow_the_model(feeds, operations):
    run = uuid.uuid4().hex[:8]  # feeds of this example only
    user = {u: feeds.feed("user", f"{run}-u{u}") for u in USERS}
    timeline = {t: feeds.feed("timeline", f"{run}-t{t}") for t in TIMELINES}
    posted: dict[int, set[int]] = {u: set() for u in USERS}
    following: dict[int, set[int]] = {t: set() for t in TIMELINES}
    seen: dict[int, dict[tuple[int, int], int]] = {t: {} for t in TIMELINES}

    def activity(u: int, n: int) -> dict:
        return {"actor": f"u{u}", "verb": "post", "object": f"o{n}", "foreign_id": f"{u}-{n}", "time": at(n * 10 + u)}

    for op, a, b in operations:
        if op == "add":
            user[a].add_activity(activity(a, b))
            posted[a].add(b)
            for t in TIMELINES:
                if a in following[t]:
                    seen[t].setdefault((a, b), a)
        elif op == "remove":
            user[a].remove_activity(foreign_id=f"{a}-{b}")
            posted[a].discard(b)
            for t in TIMELINES:
                seen[t].pop((a, b), None)
        elif op == "follow":
            timeline[a].follow("user", user[b].user_id)
            following[a].add(b)
            for n in posted[b]:
                seen[a].setdefault((b, n), b)
        else:
            timeline[a].unfollow("user", user[b].user_id)
            following[a].discard(b)
            seen[a] = {k: v for k, v in seen[a].items() if v != b}

        for u in USERS:
            got = [x["foreign_id"] for x in user[u].get(limit=100)["results"]]
            assert got == [f"{u}-{n}" for n in sorted(posted[u], reverse=True)]
        for t in TIMELINES:
            results = timeline[t].get(limit=100)["results"]
            expected = sorted(seen[t], key=lambda k: k[1] * 10 + k[0], reverse=True)
            assert [x["foreign_id"] for x in results] == [f"{u}-{n}" for u, n in expected]
            assert [x["origin"] for x in results] == [f"user:{run}-u{seen[t][k]}" for k in expected]
