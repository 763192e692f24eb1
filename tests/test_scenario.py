"""Scenario parsing and validation: every error names the field, the rule and the value."""

import copy

import pytest
from helpers import TINY

from simulator.data.scenario import Scenario, ScenarioError, builtin_scenarios, load_scenario


def error_of(data) -> str:
    with pytest.raises(ScenarioError) as info:
        Scenario.from_dict(data)
    return str(info.value)


def changed(path, value):
    data = copy.deepcopy(TINY)
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("skus", 0, "demand", "per_day"), {"dist": "normal", "mean": 5, "sd": -3},
         "skus[0].demand.per_day.sd: must be >= 0, got -3"),
        (("skus", 0, "unit_cost"), 0, "skus[0].unit_cost: must be > 0, got 0"),
        (("horizon_days",), 0, "horizon_days: must be >= 1, got 0"),
        (("unmet_demand",), "lost", "unmet_demand: must be 'backorder' or 'lost_sale', got 'lost'"),
        (("skus", 0, "supplier"), "nobody", "skus[0].supplier: must name a supplier (s), got 'nobody'"),
        (("suppliers", "s", "lead_time"), {"dist": "gama", "mean": 2, "sd": 1},
         "suppliers.s.lead_time.dist: must be one of"),
        (("policies", "bs"), {"type": "base_stock"}, "policies.bs.S: required, but missing"),
        (("policies", "bs"), {"type": "jit", "review_every_days": 0},
         "policies.bs.review_every_days: must be >= 1, got 0"),
        (("skus", 0, "demand"), {"per_day": {"dist": "poisson", "mean": 2},
                                 "customers": {"orders_per_day": 1,
                                               "order_size": {"dist": "constant", "value": 1}}},
         "skus[0].demand: give exactly one of 'per_day' or 'customers'"),
        (("policies", "bs"), {"type": "safety_stock", "service_level": 1.2},
         "policies.bs.service_level: must be < 1, got 1.2"),
        (("horizon_days",), "a year", "horizon_days: must be a valid integer"),
    ],
)  # fmt: skip
def test_errors_name_path_rule_and_value(path, value, expected):
    assert error_of(changed(path, value)).startswith(expected)


def test_misspelled_key_suggests_the_right_one():
    data = copy.deepcopy(TINY)
    data["skus"][0]["deamnd"] = data["skus"][0].pop("demand")
    msg = error_of(data)
    assert msg.splitlines()[0] == "skus[0].deamnd: unknown key (did you mean 'demand'?)"


def test_unknown_top_level_key():
    assert error_of({**TINY, "horizon": 3}).startswith("horizon: unknown key")


def test_duplicate_sku_ids():
    data = copy.deepcopy(TINY)
    data["skus"].append(copy.deepcopy(data["skus"][0]))
    assert "duplicate SKU id 'X'" in error_of(data)


def test_per_sku_policy_parameters_must_cover_every_sku():
    data = changed(("policies", "bs"), {"type": "base_stock", "S": {"Y": 3}})
    assert error_of(data) == "policies.bs.S: unknown SKU id 'Y'"


def test_frozen():
    scn = Scenario.from_dict(TINY)
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises its own error type
        scn.horizon_days = 3


def test_yaml_round_trip_is_identical():
    scn = Scenario.from_dict(TINY)
    again = Scenario.from_yaml_text(scn.to_yaml())
    assert again == scn
    assert again.content_hash() == scn.content_hash()


def test_invalid_yaml_names_the_line(tmp_path):
    f = tmp_path / "x.yaml"
    f.write_text("name: x\nskus: [\n")
    with pytest.raises(ScenarioError, match=r"line \d+"):
        Scenario.from_yaml(f)


def test_dates_and_day_numbers_for_campaigns():
    data = copy.deepcopy(TINY)
    data["start_date"] = "2026-03-01"
    data["skus"][0]["demand"]["campaigns"] = [
        {"start_day": "2026-03-03", "end_day": 5, "uplift": 2.0}
    ]
    scn = Scenario.from_dict(data)
    mult = scn.demand_multiplier(scn.skus[0])
    assert mult.tolist() == [1, 1, 2, 2, 2, 1, 1, 1]


def test_overrides_validate_again():
    scn = Scenario.from_dict(TINY)
    assert scn.with_overrides(replications=7, seed=3).replications == 7
    with pytest.raises(ScenarioError, match="--policy"):
        scn.with_overrides(policies=["nope"])


def test_builtins_are_listed_and_valid():
    names = builtin_scenarios()
    assert {"classroom", "catalog"} <= set(names)
    for name in names:
        scn = load_scenario(name)
        assert scn.description, f"{name} must say what question it answers"


def test_campaigns_accept_start_and_end_like_disruptions():
    def campaign(**window):
        data = copy.deepcopy(TINY)
        data["skus"][0]["demand"]["campaigns"] = [{"uplift": 2, **window}]
        return Scenario.from_dict(data).skus[0].demand.campaigns[0]

    a = campaign(start=5, end=9)
    b = campaign(start_day=5, end_day=9)
    c = campaign(start=5, days=4)
    assert (a.start, a.end) == (b.start, b.end) == (c.start, c.end) == (5, 9)
    with pytest.raises(ValueError, match="give 'start' or 'start_day', not both"):
        campaign(start=5, start_day=5, end=9)


def test_report_block_resolves_the_logo_next_to_the_scenario_file(tmp_path):
    import yaml

    data = copy.deepcopy(TINY)
    data["report"] = {"title": "Port strike review", "client": "Tea Co", "logo": "logo.png"}
    path = tmp_path / "sub" / "s.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ScenarioError, match="report.logo: no such file .*logo.png"):
        load_scenario(path)  # a missing logo is an error before anything runs
    (tmp_path / "sub" / "logo.png").write_bytes(b"\x89PNG")
    scn = load_scenario(path)
    assert scn.report.title == "Port strike review"
    assert scn.report.logo == str(tmp_path / "sub" / "logo.png")
    assert "report" not in Scenario.from_dict(TINY).to_dict()  # absent when not given
    with pytest.raises(ValueError, match="did you mean 'author'"):
        Scenario.from_dict({**TINY, "report": {"autor": "x"}})
