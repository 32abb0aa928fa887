import uuid
from datetime import UTC, datetime

import pytest

from mcm_shared.errors import InvalidInput
from mcm_shared.pagination import (
    decode_cursor,
    encode_cursor,
    invalid_cursor,
    make_cursor,
    next_page,
    parse_datetime,
    parse_int,
    parse_str,
    read_cursor,
)


def test_cursor_round_trips():
    cursor = encode_cursor({"name": "Oak", "id": "1"})
    assert decode_cursor(cursor, {"name", "id"}) == {"name": "Oak", "id": "1"}


@pytest.mark.parametrize("bad", ["%%%", "bm90IGpzb24", encode_cursor({"other": 1}), encode_cursor([1, 2])])
def test_tampered_cursor_is_invalid_input(bad):
    with pytest.raises(InvalidInput):
        decode_cursor(bad, {"name", "id"})


def test_invalid_cursor_is_the_one_422_problem():
    problem = invalid_cursor()
    assert problem.status == 422
    assert problem.detail == "The cursor is not valid."
    assert problem.errors == [{"loc": ["query", "cursor"], "msg": "invalid cursor", "type": "cursor"}]


def test_keyset_cursor_round_trips_a_timestamp_and_id():
    moment = datetime(2026, 5, 1, 18, 30, tzinfo=UTC)
    item_id = uuid.uuid4()
    cursor = make_cursor("created", moment, item_id)
    assert read_cursor(cursor, "created", parse_datetime) == (moment, item_id)
    assert read_cursor(None, "created", parse_datetime) is None


def test_keyset_cursor_of_another_sort_is_refused():
    cursor = make_cursor("name", "Oak", uuid.uuid4())
    with pytest.raises(InvalidInput):
        read_cursor(cursor, "created", parse_str)


@pytest.mark.parametrize(
    ("value", "item_id", "parse"),
    [
        ("2026-05-01T18:30:00", str(uuid.uuid4()), parse_datetime),  # naive timestamp
        (5, str(uuid.uuid4()), parse_str),
        (True, str(uuid.uuid4()), parse_int),
        ("7", str(uuid.uuid4()), parse_int),
        (7, "not-a-uuid", parse_int),
    ],
)
def test_keyset_cursor_with_a_foreign_value_is_refused(value, item_id, parse):
    cursor = encode_cursor({"sort": "s", "value": value, "id": item_id})
    with pytest.raises(InvalidInput):
        read_cursor(cursor, "s", parse)


def test_next_page_gives_a_cursor_only_when_more_rows():
    rows = [(i, uuid.uuid4()) for i in range(3)]
    items, cursor = next_page(rows, 2, "rank", lambda row: row)
    assert items == rows[:2]
    assert read_cursor(cursor, "rank", parse_int) == rows[1]
    assert next_page(rows, 3, "rank", lambda row: row) == (rows, None)
    assert next_page([], 3, "rank", lambda row: row) == ([], None)
