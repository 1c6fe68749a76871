"""Backend-independent engine pieces: ids, JSON, aggregation formats."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream_django.engine import ids, serializer
from stream_django.engine.activities import prepare_activity
from stream_django.engine.aggregation import Template, load_format
from stream_django.exceptions import InputException

VECTORS = [
    ("123sdsd333}}}", 1451260800, "f01c0000-acf5-11e5-8080-80006a8b5bc2"),
    ("6621934", 1452862482, "24f9d500-bb87-11e5-8080-80012ce3cc51"),
    ("UserPrediction:11127278", 1480174117, "00000080-b3ed-11e6-8080-8000444ef374"),
    ("467791-42-follow", 1481475921, "ffa65e80-bfc3-11e6-8080-800027086507"),
]


@pytest.mark.parametrize("foreign_id, timestamp, expected", VECTORS)
def test_activity_ids_match_the_hosted_service(foreign_id, timestamp, expected):
    assert ids.activity_id(foreign_id, datetime.fromtimestamp(timestamp, timezone.utc)) == expected


def test_murmur3_reference_values():
    assert ids.murmur3_32(b"") == 0
    assert ids.murmur3_32(b"hello") == 0x248BFA47
    assert ids.murmur3_32(b"The quick brown fox jumps over the lazy dog") == 0x2E4FF723


def test_naive_times_are_utc_and_truncated_to_the_millisecond():
    aware = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=2)))
    naive_utc = datetime(2026, 1, 2, 1, 4, 5, 678000)
    assert ids.activity_id("x", aware) == ids.activity_id("x", naive_utc)


times = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1)).map(
    lambda d: d.replace(tzinfo=timezone.utc)
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.text(min_size=1, max_size=20), times), min_size=2, max_size=20))
def test_keys_sort_like_times_and_round_trip(items):
    made = [(ids.to_utc_ms(t), ids.activity_id(f, t)) for f, t in items]
    for time, activity_id in made:
        key = ids.id_to_key(activity_id)
        assert len(key) == ids.KEY_LENGTH
        assert ids.key_to_id(key) == activity_id
        assert ids.key_time(key) == time
    by_key = sorted(made, key=lambda m: ids.id_to_key(m[1]))
    assert [m[0] for m in by_key] == sorted(m[0] for m in made)


def test_id_to_key_rejects_what_is_not_a_v1_uuid():
    with pytest.raises(InputException, match="id_lt"):
        ids.id_to_key("nope", param="id_lt")
    with pytest.raises(InputException):
        ids.id_to_key("3f1c2b2e-6b0d-4c9e-9f8e-0a1b2c3d4e5f")


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=30),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
        max_leaves=12,
    )
)
def test_json_round_trips_plain_data(value):
    def has_wire_date(v):
        if isinstance(v, str):
            return serializer.parse_wire_value(v) is not v
        if isinstance(v, list):
            return any(has_wire_date(x) for x in v)
        if isinstance(v, dict):
            return any(has_wire_date(x) for x in v.values())
        return False

    if not has_wire_date(value):
        assert serializer.loads(serializer.dumps({"v": value})) == {"v": value}


def test_json_dates_are_stream_pythons():
    text = serializer.dumps({"at": datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=timezone.utc), "day": date(2026, 1, 2)})
    assert text == '{"at":"2026-01-02T03:04:05.006000","day":"2026-01-02"}'
    assert serializer.loads(text) == {
        "at": datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=timezone.utc),
        "day": date(2026, 1, 2),
    }


def test_aggregation_templates():
    activity = prepare_activity(
        {
            "actor": "a",
            "verb": "like",
            "object": "o",
            "time": datetime(2026, 5, 6, 7, tzinfo=timezone.utc),
            "meta": {"kind": "x"},
        }
    ).decoded()
    assert Template('{{ verb }}_{{ time.strftime("%Y-%m-%d") }}')(activity) == "like_2026-05-06"
    assert Template("{{actor}}-{{ meta.kind }}-{{ missing }}")(activity) == "a-x-"
    assert Template("{{ time.strftime('%H') }}")(activity) == "07"
    with pytest.raises(ValueError, match="cannot evaluate"):
        Template("{{ verb|upper }}")
    with pytest.raises(ValueError):
        load_format("neither")
    assert load_format(len) is len
