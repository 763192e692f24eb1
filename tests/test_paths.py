"""Dotted paths into a scenario's data: parse, get, set_value, delete and their errors."""

import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.data.paths import (
    PathError,
    delete,
    delete_many,
    format_path,
    get,
    parse,
    resolve,
    set_value,
)
from simulator.data.scenario import load_scenario

DATA = {
    "suppliers": {
        "overseas": {
            "order_cost": 150,
            "disruptions": [
                {"kind": "port_closure", "start": "2026-10-05", "end": "2026-10-26"},
                {"kind": "random_outage", "per_year": 2},
            ],
        },
        "my.supplier": {"order_cost": 10, "disruptions": []},
    },
    "skus": [
        {"id": "MUG-01", "unit_cost": 4.0, "demand": {"per_day": {"dist": "normal", "sd": 6}}},
        {"id": "TEA-02", "unit_cost": 2.5, "demand": {"per_day": {"dist": "poisson"}}},
        {"id": "A.B", "unit_cost": 1.0, "demand": {}},
    ],
    "policies": {"jit": {"type": "jit"}, "safety_stock": {"type": "safety_stock",
                                                          "service_level": 0.95}},
    "horizon_days": 90,
}


def message(fn, *args) -> str:
    with pytest.raises(PathError) as info:
        fn(*args)
    text = str(info.value)
    assert "\n" not in text
    return text


# --------------------------------------------------------------------------- parse


@pytest.mark.parametrize(
    ("path", "parts"),
    [
        ("suppliers.overseas.disruptions.0", ["suppliers", "overseas", "disruptions", 0]),
        ("policies.safety_stock.service_level", ["policies", "safety_stock", "service_level"]),
        ("skus.MUG-01.demand.per_day.sd", ["skus", "MUG-01", "demand", "per_day", "sd"]),
        ('skus["A.B"].unit_cost', ["skus", "A.B", "unit_cost"]),
        ("skus['A.B'].unit_cost", ["skus", "A.B", "unit_cost"]),
        ('suppliers."my.supplier".order_cost', ["suppliers", "my.supplier", "order_cost"]),
        ("skus[1].unit_cost", ["skus", 1, "unit_cost"]),
        ("a[0][2]", ["a", 0, 2]),
        ('skus["12"]', ["skus", "12"]),
        (r'a["q\"x"]', ["a", 'q"x']),
    ],
)
def test_parse(path, parts):
    assert parse(path) == parts


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("", "empty path"),
        ("a..b", "empty part at position 3"),
        ("a.", "ends with a dot"),
        (".a", "empty part at position 1"),
        ('skus["A.B', "unclosed quote"),
        ("skus[1", "unclosed ["),
        ("skus[x]", "[x] at position 5 must be an item number or a quoted key"),
        ('a"b', "quote inside a part"),
        ('"a"b', "expected '.' or '['"),
    ],
)
def test_parse_errors_name_the_path_and_the_problem(path, words):
    text = message(parse, path)
    assert words in text
    assert text.startswith(f"{path}: " if path else "path: ")


@given(st.lists(st.one_of(st.integers(0, 10**6), st.text(max_size=8)), min_size=1, max_size=5))
def test_format_path_round_trips(parts):
    assert parse(format_path(parts)) == parts


def test_format_path_is_plain_where_it_can_be():
    assert format_path(["suppliers", "overseas", "disruptions", 0]) == (
        "suppliers.overseas.disruptions.0"
    )
    assert format_path(["skus", "A.B", "unit_cost"]) == 'skus["A.B"].unit_cost'


# --------------------------------------------------------------------------- get


def test_get_by_key_index_and_sku_id():
    assert get(DATA, "suppliers.overseas.disruptions.1.per_year") == 2
    assert get(DATA, "policies.safety_stock.service_level") == 0.95
    assert get(DATA, "skus.MUG-01.demand.per_day.sd") == 6
    assert get(DATA, "skus.1.unit_cost") == 2.5
    assert get(DATA, "skus[1].unit_cost") == 2.5
    assert get(DATA, "skus.TEA-02") is DATA["skus"][1]
    assert get(DATA, 'skus["A.B"].unit_cost') == 1.0
    assert get(DATA, ["skus", "A.B", "unit_cost"]) == 1.0  # parts already split
    assert get(DATA, 'suppliers."my.supplier".order_cost') == 10


def test_resolve_gives_item_numbers_for_sku_ids():
    assert resolve(DATA, "skus.TEA-02.unit_cost") == ["skus", 1, "unit_cost"]
    assert resolve(DATA, "skus.TEA-02") == resolve(DATA, "skus.1")


def test_get_on_a_real_scenario():
    data = load_scenario("port-strike").to_dict()
    assert get(data, "suppliers.overseas.disruptions.0.kind") == "port_closure"
    assert get(data, "skus.ZINC-90.demand.per_day.sd") == 12
    assert get(data, "skus.VITC-60.demand.seasonality.monthly.11") == 1.3


# --------------------------------------------------------------------------- errors


def test_missing_list_item_names_the_items():
    assert message(get, DATA, "suppliers.overseas.disruptions.3") == (
        "suppliers.overseas.disruptions.3: no such item (the list has 2 items: 0, 1)"
    )
    assert message(get, DATA, "suppliers.my.supplier").startswith(
        "suppliers.my.supplier: suppliers.my: no such key (overseas, my.supplier"
    )
    assert message(get, DATA, 'suppliers["my.supplier"].disruptions.0') == (
        'suppliers["my.supplier"].disruptions.0: no such item (the list is empty)'
    )


def test_missing_sku_lists_the_ids_and_a_close_one():
    assert message(get, DATA, "skus.MUG-02") == (
        "skus.MUG-02: no SKU with that id (MUG-01, TEA-02, A.B; did you mean 'MUG-01'?)"
    )
    assert message(get, DATA, "skus.ZZZ.unit_cost") == (
        "skus.ZZZ.unit_cost: skus.ZZZ: no SKU with that id (MUG-01, TEA-02, A.B)"
    )
    assert message(get, DATA, "skus.7") == (
        "skus.7: no such item (the list has 3 items: 0, 1, 2; SKUs MUG-01, TEA-02, A.B)"
    )


def test_missing_key_suggests_a_close_name_and_names_the_prefix():
    assert message(get, DATA, "policies.safety_stok.service_level") == (
        "policies.safety_stok.service_level: policies.safety_stok: no such key "
        "(jit, safety_stock; did you mean 'safety_stock'?)"
    )


def test_a_value_has_no_parts_and_a_list_needs_numbers():
    assert message(get, DATA, "skus.0.unit_cost.x") == (
        "skus.0.unit_cost.x: skus.0.unit_cost is a number (4.0), it has no part 'x'"
    )
    assert message(get, DATA, "suppliers.overseas.disruptions.first") == (
        "suppliers.overseas.disruptions.first: a list is entered by item number, got 'first' "
        "(the list has 2 items: 0, 1)"
    )


def test_a_number_that_is_an_item_and_another_skus_id_is_ambiguous():
    data = {"skus": [{"id": "3"}, {"id": "A"}, {"id": "B"}, {"id": "C"}]}
    text = message(get, data, "skus.3")
    assert "ambiguous: item 3 is SKU 'C', and SKU '3' is item 0" in text
    assert get(data, "skus[3]") == {"id": "C"}  # brackets: the item number
    assert get(data, 'skus["3"]') == {"id": "3"}  # quotes: the id
    assert get({"skus": [{"id": "7"}]}, "skus.7") == {"id": "7"}  # no item 7: only the id fits


# --------------------------------------------------------------------------- set and delete


def test_set_value_returns_a_changed_copy_and_leaves_the_input():
    before = copy.deepcopy(DATA)
    out = set_value(DATA, "skus.TEA-02.unit_cost", 3.0)
    assert get(out, "skus.1.unit_cost") == 3.0
    assert DATA == before
    out = set_value(DATA, "policies.jit.review_every_days", 5)  # a new key in a mapping
    assert out["policies"]["jit"] == {"type": "jit", "review_every_days": 5}
    value = {"kind": "capacity", "units_per_week": 100}
    out = set_value(DATA, "suppliers.overseas.disruptions.2", value)  # append one past the end
    assert get(out, "suppliers.overseas.disruptions.2") == value
    assert get(out, "suppliers.overseas.disruptions.2") is not value  # copied in
    assert DATA == before


def test_set_value_refuses_a_missing_parent_and_a_gap():
    assert "policies.nope: no such key" in message(set_value, DATA, "policies.nope.x", 1)
    assert "no such item (the list has 2 items: 0, 1)" in message(
        set_value, DATA, "suppliers.overseas.disruptions.5", {}
    )
    assert "no SKU with that id" in message(set_value, DATA, "skus.NEW", {})


def test_delete_removes_a_key_or_an_item_from_a_copy():
    before = copy.deepcopy(DATA)
    out = delete(DATA, "suppliers.overseas.disruptions.0")
    assert get(out, "suppliers.overseas.disruptions") == [
        {"kind": "random_outage", "per_year": 2}
    ]
    out = delete(DATA, "skus.MUG-01")
    assert [s["id"] for s in out["skus"]] == ["TEA-02", "A.B"]
    out = delete(DATA, "policies.safety_stock.service_level")
    assert out["policies"]["safety_stock"] == {"type": "safety_stock"}
    assert DATA == before
    assert "no such item" in message(delete, DATA, "suppliers.overseas.disruptions.2")


def test_delete_many_resolves_every_path_in_the_original():
    both = ["suppliers.overseas.disruptions.0", "suppliers.overseas.disruptions.1"]
    for paths in (both, both[::-1]):
        assert get(delete_many(DATA, paths), "suppliers.overseas.disruptions") == []
    out = delete_many(DATA, ["skus.0", "skus.MUG-01", "skus.0.unit_cost"])  # one place
    assert [s["id"] for s in out["skus"]] == ["TEA-02", "A.B"]
    out = delete_many(DATA, ['skus["A.B"]', "skus.MUG-01"])
    assert [s["id"] for s in out["skus"]] == ["TEA-02"]
