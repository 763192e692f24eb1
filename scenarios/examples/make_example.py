"""Write the example sales export and purchase history that `supplysim fit` reads.

Run from the repository root: ``python scenarios/examples/make_example.py``. The output
is deterministic (one seeded ``numpy.random.Generator``) and the parameters below are
the truth that ``supplysim fit`` should recover (see README.md beside this file).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
SEED = 20240101
FIRST, LAST = dt.date(2024, 1, 1), dt.date(2025, 6, 30)
WEEKEND = [0.9, 0.9, 0.9, 0.9, 1.0, 1.2, 1.2]  # Monday first; mean 1
WINTER = [1.5, 1.3, 1.0, 0.8, 0.7, 0.6, 0.6, 0.7, 0.9, 1.1, 1.3, 1.5]  # mean 1

# id: orders/day, order sizes {size: probability}, weekly, monthly, price, cost, supplier, first day
SKUS = {
    "VITC-60": (4.0, {1: 0.6, 2: 0.25, 3: 0.1, 6: 0.05}, WEEKEND, None, 19.0, 6.5, "overseas",
                FIRST),
    "00417": (1.5, {1: 0.8, 2: 0.2}, None, None, 35.0, 14.0, "domestic", FIRST),
    "TEA-GREEN": (2.0, {1: 0.5, 2: 0.3, 4: 0.2}, None, WINTER, 9.0, 3.0, "overseas", FIRST),
    "MUG-XL": (0.15, {1: 0.4, 2: 0.2, 5: 0.2, 10: 0.2}, None, None, 24.0, 8.0, "domestic", FIRST),
    "GIFT-BOX": (1.0, {1: 0.7, 2: 0.3}, None, None, 49.0, 20.0, "domestic", dt.date(2025, 3, 1)),
    "NEW-SKU": (0.8, {1: 1.0}, None, None, 15.0, 5.0, "domestic", dt.date(2025, 6, 21)),
}
# supplier: lead time mean, sd (gamma), days between purchase orders, promised days
SUPPLIERS = {"overseas": (21.0, 4.0, 28, 24), "domestic": (5.0, 1.5, 7, 6)}


def sales(rng: np.random.Generator) -> pd.DataFrame:
    """Return customer orders, one line per order and SKU, with a few returns and a duplicate."""
    days = pd.date_range(FIRST, LAST, freq="D")
    rows = []
    for sku, (rate, sizes, weekly, monthly, price, _, _, first) in SKUS.items():
        mult = np.ones(days.size)
        if weekly:
            mult *= np.asarray(weekly)[days.day_of_week]
        if monthly:
            mult *= np.asarray(monthly)[days.month - 1]
        live = days >= pd.Timestamp(first)
        counts = rng.poisson(rate * mult * live)
        when = np.repeat(days.to_numpy(), counts) + pd.to_timedelta(
            rng.uniform(8 * 3600, 22 * 3600, counts.sum()).round(), unit="s")
        qty = rng.choice(list(sizes), counts.sum(), p=list(sizes.values()))
        for t, q in zip(when, qty, strict=True):
            rows.append({"time": pd.Timestamp(t), "sku": sku, "qty": int(q), "price": price})
    df = pd.DataFrame(rows).sort_values("time", kind="stable").reset_index(drop=True)
    df["order"] = [f"#{1001 + i}" for i in range(len(df))]
    # 1 % of orders are partly cancelled (a negative line on the same order) and 1 % come
    # back later as a return on a refund document of its own.
    cancel = df.sample(frac=0.01, random_state=SEED)
    cancel = cancel.assign(qty=-1)
    back = df.sample(frac=0.01, random_state=SEED + 1)
    back = back.assign(qty=-back["qty"], time=back["time"] + pd.Timedelta(days=9),
                       order=[f"R-{i}" for i in range(len(back))])
    dup = df.iloc[[10, 500]]
    df = pd.concat([df, cancel, back, dup]).sort_values("time", kind="stable")
    df = df[df["time"] <= pd.Timestamp(LAST) + pd.Timedelta(days=1)]
    return pd.DataFrame({
        "Name": df["order"],
        "Created at": df["time"].dt.strftime("%Y-%m-%d %H:%M:%S -0500"),
        "Lineitem quantity": df["qty"],
        "Lineitem price": df["price"].map(lambda p: f"{p:.2f}"),
        "Lineitem sku": df["sku"],
        "Financial Status": "paid",
    })


def purchases(rng: np.random.Generator) -> pd.DataFrame:
    """Return purchase orders of each supplier at a fixed rhythm, with gamma lead times."""
    rows = []
    n = 0
    for supplier, (mean, sd, every, promised) in SUPPLIERS.items():
        for day in pd.date_range(FIRST, LAST - dt.timedelta(days=40), freq=f"{every}D"):
            lead = int(round(rng.gamma((mean / sd) ** 2, sd * sd / mean)))
            n += 1
            for sku, spec in SKUS.items():
                if spec[6] != supplier or day < pd.Timestamp(spec[7]):
                    continue
                rows.append({
                    "PO Number": f"PO-{n:04d}", "Supplier": supplier, "SKU": sku,
                    "Order Date": f"{day:%Y-%m-%d}",
                    "Promised Date": f"{day + pd.Timedelta(days=promised):%Y-%m-%d}",
                    "Received Date": f"{day + pd.Timedelta(days=lead):%Y-%m-%d}",
                    "Quantity": int(spec[0] * 1.8 * every * 1.2), "Unit Cost": f"{spec[5]:.2f}",
                })  # fmt: skip
    return pd.DataFrame(rows)


def main() -> None:
    """Write sales.csv and purchases.csv beside this script."""
    rng = np.random.default_rng(SEED)
    sales(rng).to_csv(HERE / "sales.csv", index=False)
    purchases(rng).to_csv(HERE / "purchases.csv", index=False)


if __name__ == "__main__":
    main()
