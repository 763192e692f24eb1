"""Small scenario builders shared by the tests."""

from __future__ import annotations

import copy
from typing import Any

from simulator.data.scenario import Scenario
from simulator.model.replication import Streams, build_policies, draw_demand, make_plans, simulate

TINY: dict[str, Any] = {
    "name": "tiny",
    "horizon_days": 8,
    "seed": 1,
    "replications": 2,
    "suppliers": {"s": {"lead_time": {"dist": "constant", "value": 2}, "order_cost": 10}},
    "skus": [
        {
            "id": "X",
            "unit_cost": 2.0,
            "price": 5.0,
            "supplier": "s",
            "initial_on_hand": 30,
            "demand": {"per_day": {"dist": "constant", "value": 10}},
        }
    ],
    "policies": {"bs": {"type": "base_stock", "S": 35}},
}


def scenario(**changes: Any) -> Scenario:
    """The tiny deterministic scenario with top-level keys replaced."""
    data = copy.deepcopy(TINY)
    data.update(changes)
    return Scenario.from_dict(data)


def with_sku(data: dict[str, Any], **sku_changes: Any) -> dict[str, Any]:
    """A copy of a scenario dict whose first SKU has keys replaced."""
    out = copy.deepcopy(data)
    out["skus"][0].update(sku_changes)
    return out


def run_one(scn: Scenario, policy: str | None = None, replication: int = 0, log=None):
    """Simulate one replication of one policy; return its SKU traces."""
    plans = make_plans(scn)
    built = build_policies(scn, plans)[policy or next(iter(scn.policies))]
    streams = Streams(scn.seed, replication)
    return simulate(scn, built, draw_demand(scn, streams, plans), streams, log=log, plans=plans)
