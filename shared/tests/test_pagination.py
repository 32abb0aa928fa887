import pytest

from mcm_shared.errors import InvalidInput
from mcm_shared.pagination import decode_cursor, encode_cursor, paginate


def test_cursor_round_trips():
    cursor = encode_cursor({"name": "Oak", "id": "1"})
    assert decode_cursor(cursor, {"name", "id"}) == {"name": "Oak", "id": "1"}


@pytest.mark.parametrize("bad", ["%%%", "bm90IGpzb24", encode_cursor({"other": 1}), encode_cursor([1, 2])])
def test_tampered_cursor_is_invalid_input(bad):
    with pytest.raises(InvalidInput):
        decode_cursor(bad, {"name", "id"})


def test_paginate_gives_next_cursor_only_when_more_rows():
    rows = [{"id": i} for i in range(3)]
    page = paginate(rows, 2, lambda row: {"id": row["id"]})
    assert [r["id"] for r in page.items] == [0, 1]
    assert decode_cursor(page.next_cursor, {"id"}) == {"id": 1}
    assert paginate(rows, 3, lambda row: {"id": row["id"]}).next_cursor is None
