"""Fit a scenario from a sales export and, optionally, a purchase history.

``supplysim fit`` turns the files a shop or an ERP exports into a scenario that runs:

1. :func:`read_sales` and :func:`read_purchases` read a CSV, Parquet or Excel file,
   recognise the columns (Shopify, WooCommerce and generic ERP names, or the user's
   ``--column FIELD=NAME``), parse dates, numbers and SKUs strictly, and clean the
   lines (duplicates, returns and cancellations). A bad value is a :class:`FitError`
   naming the file, the row (as a spreadsheet numbers it: the header is row 1) and the
   column.
2. :func:`fit_history` fits each SKU's demand (customer orders or a daily quantity,
   the family chosen by a dispersion test and AIC), its calendar (a weekly profile, a
   monthly one and a trend, each only when a test supports it and the history is long
   enough), its price and unit cost, and each supplier's lead time.
3. The result carries the commented scenario YAML (validated before it is returned),
   a per-SKU summary and the data the ``--plot`` charts draw (:func:`daily_check`).

Every estimation choice, its reason and its source is in ``docs/fit.md``. This module
is the data layer: it imports nothing above :mod:`simulator.data`.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy import stats

__all__ = [
    "ALPHA",
    "PURCHASE_FIELDS",
    "SALES_FIELDS",
    "FitError",
    "FitOptions",
    "FitResult",
    "Purchases",
    "Sales",
    "SkuFit",
    "SupplierFit",
    "daily_check",
    "fit_history",
    "read_purchases",
    "read_sales",
    "read_table",
    "write_scenario",
]

ALPHA = 0.01
"""Significance level of every test that adds a parameter (over-dispersion, a weekly or
monthly profile, a trend): the simpler model is kept unless the data clearly reject it."""

ADI_CUTOFF = 1.32
"""Average inter-demand interval above which demand is intermittent (Syntetos, Boylan &
Croston 2005)."""

MIN_DAYS = 28
"""A SKU with fewer days of history than this is 'short'."""
MIN_DEMAND_DAYS = 5
"""A SKU with fewer days with a sale than this is 'short'."""
WEEKLY_MIN_DAYS = 56
"""Eight of each weekday before a weekly profile is tested."""
TREND_MIN_DAYS = 182
"""Half a year before a trend is tested."""
MONTHLY_MIN_DAYS = 365
"""A full year before a monthly profile is tested."""
EMPIRICAL_MIN_ORDERS = 30
"""Order sizes are resampled (empirical) from at least this many orders ..."""
EMPIRICAL_MAX_VALUES = 50
"""... with at most this many distinct sizes; else a gamma or lognormal is fitted."""

# Column names, normalised (lower case, letters and digits only), in order of preference.
_SKU = ["lineitemsku", "sku", "variantsku", "itemsku", "productsku", "itemno", "itemnumber",
        "itemcode", "itemid", "productcode", "productid", "productno", "articleno",
        "articlenumber", "article", "material", "materialnumber", "partnumber", "partno",
        "item"]  # fmt: skip
_QTY = ["lineitemquantity", "quantity", "qty", "itemquantity", "quantityrefund",
        "orderedquantity", "quantityordered", "orderqty", "qtyordered", "salesqty",
        "invoicedquantity", "invoicedqty", "units", "unitssold", "quantitysold"]  # fmt: skip
SALES_FIELDS: dict[str, list[str]] = {
    "date": ["createdat", "orderdate", "date", "datecreated", "orderdatetime", "orderedat",
             "orderplaced", "postingdate", "documentdate", "invoicedate", "transactiondate",
             "saledate", "salesdate", "createddate", "timestamp", "datetime", "paidat", "day"],
    "sku": _SKU,
    "quantity": _QTY,
    "order_id": ["ordernumber", "orderid", "orderno", "order", "documentno", "documentnumber",
                 "invoiceno", "invoicenumber", "invoice", "salesorder", "salesorderno",
                 "salesordernumber", "transactionid", "receiptno", "receiptnumber"],
    "price": ["lineitemprice", "unitprice", "price", "itemprice", "itemcost", "netprice",
              "salesprice", "sellingprice", "priceperunit"],
    "unit_cost": ["unitcost", "cost", "costprice", "costperunit", "cogs", "standardcost",
                  "purchaseprice"],
    "line_total": ["linetotal", "orderlinetotal", "lineamount", "linesubtotal", "itemtotal",
                   "netamount", "amount", "total", "revenue", "sales"],
    "status": ["financialstatus", "orderstatus", "status"],
}  # fmt: skip
"""Recognised sales columns, by field: Shopify's order export (``Name``, ``Created at``,
``Lineitem quantity/price/sku``, ``Financial Status``), WooCommerce's (``Order Number``,
``Order Date``, ``SKU``, ``Quantity``, ``Item Cost``, ``Order Status``) and ERP names."""

PURCHASE_FIELDS: dict[str, list[str]] = {
    "order_date": ["orderdate", "podate", "ordered", "orderedat", "dateordered", "orderplaced",
                   "purchasedate", "createdat", "created", "documentdate", "date"],
    "receipt_date": ["receiptdate", "received", "receivedat", "receiveddate", "datereceived",
                     "receivedon", "deliverydate", "delivered", "deliveredat", "arrivaldate",
                     "arrived", "grdate", "goodsreceiptdate", "receivingdate"],
    "sku": _SKU,
    "supplier": ["supplier", "vendor", "suppliername", "vendorname", "supplierid", "vendorid",
                 "supplierno", "vendorno"],
    "quantity": [*_QTY, "quantityreceived", "receivedqty", "qtyreceived"],
    "due_date": ["duedate", "promiseddate", "promisedate", "expecteddate", "expecteddelivery",
                 "eta", "confirmeddate", "requesteddate"],
    "unit_cost": ["unitcost", "cost", "costprice", "purchaseprice", "unitprice", "price",
                  "netprice"],
    "po_id": ["ponumber", "pono", "poid", "po", "purchaseorder", "purchaseorderno",
              "purchaseordernumber", "orderid", "ordernumber", "documentno"],
}  # fmt: skip
"""Recognised purchase-history columns, by field."""

_REQUIRED = {"sales": ("date", "sku", "quantity"),
             "purchases": ("order_date", "receipt_date", "sku")}
_CANCELLED = {"cancelled", "canceled", "voided", "void", "refunded", "failed", "trash",
              "storno", "reversed"}  # fmt: skip
"""Order statuses meaning the order was not fulfilled (Shopify, WooCommerce, ERP)."""


class FitError(ValueError):
    """A sales or purchase file that cannot be read: one line naming row and column."""


@dataclass(frozen=True)
class FitOptions:
    """What the user chose on the command line (see ``supplysim fit --help``)."""

    columns: Mapping[str, str] = field(default_factory=dict)
    """``{field: column}`` overrides; purchase fields are written ``po.FIELD``."""
    lead_time: float | None = None
    """Mean lead time in days for suppliers without a purchase history (default 14)."""
    lead_time_sd: float | None = None
    """Its sd (default 20 % of the mean)."""
    returns: str = "cancel"
    """``cancel``, ``net`` or ``ignore``: how negative quantities are treated."""
    short_history: str = "pool"
    """``pool`` or ``exclude``: what happens to SKUs with too little history."""
    timezone: str | None = None
    """Convert timestamps with an offset to this zone's wall clock (default: as written)."""
    date_format: str | None = None
    """A strftime format for the dates, when they cannot be recognised."""
    horizon_days: int = 365
    replications: int = 200
    order_cost: float = 0.0
    cost_share: float = 0.6
    """Unit cost as a share of price when no cost is given."""
    name: str = "fitted"


# =========================================================================== reading


def read_table(path: str | Path) -> tuple[pd.DataFrame, int]:
    """Read a CSV, Parquet or Excel file as text columns; return it and its first data row.

    Every cell is read as a string (so a SKU ``00123`` keeps its zeros) and parsed later
    with a message naming the row. The first data row is 2 for CSV and Excel (the header
    is row 1, as a spreadsheet shows it) and 1 for Parquet.
    """
    path = Path(path)
    if not path.is_file():
        raise FitError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix in {".parquet", ".pq"}:
            df = pd.read_parquet(path)
            first = 1
            for c in df.columns:
                if pd.api.types.is_datetime64_any_dtype(df[c]):
                    df[c] = df[c].dt.strftime("%Y-%m-%d %H:%M:%S")
            df = df.astype(object).where(df.notna(), "").astype(str)
        elif suffix in {".xlsx", ".xlsm", ".xls"}:
            try:
                import openpyxl  # noqa: F401 - pandas needs it for .xlsx
            except ImportError:
                raise FitError(
                    f"{path}: reading Excel files needs openpyxl (pip install openpyxl, or "
                    "pip install 'supplysim[excel]'); or save the sheet as CSV"
                ) from None
            df = pd.read_excel(path, dtype=str, keep_default_na=False)
            first = 2
        else:
            df = _read_csv(path)
            first = 2
    except FitError:
        raise
    except (ValueError, OSError, UnicodeError, pd.errors.ParserError) as exc:
        msg = " ".join(str(exc).split())
        raise FitError(f"{path}: cannot read the file ({msg})") from None
    except Exception as exc:  # noqa: BLE001 - pyarrow and openpyxl raise their own kinds
        raise FitError(f"{path}: cannot read the file ({type(exc).__name__}: {exc})") from None
    df.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    if df.empty:
        raise FitError(f"{path}: no data rows")
    return df, first


def _read_csv(path: Path) -> pd.DataFrame:
    raw = path.read_bytes()[:65536]
    for enc in ("utf-8-sig", "cp1252"):
        try:
            head = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    header = head.splitlines()[0] if head.strip() else ""
    if not header:
        raise FitError(f"{path}: empty file")
    # The delimiter is the candidate that splits the header most (outside quotes).
    unquoted = re.sub(r'"[^"]*"', "", header)
    sep = max([",", ";", "\t", "|"], key=unquoted.count)
    kw = {"sep": sep, "dtype": str, "keep_default_na": False, "encoding": enc,
          "skipinitialspace": True}  # fmt: skip
    try:
        return pd.read_csv(path, **kw)
    except pd.errors.ParserError as exc:
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if m:
            raise FitError(
                f"{path}: row {m.group(2)}: {m.group(3)} fields, the header has {m.group(1)} "
                f"(a stray '{sep}' or quote?)"
            ) from None
        raise


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _resolve(df: pd.DataFrame, fields: dict[str, list[str]], given: Mapping[str, str],
             what: str, path: Path) -> dict[str, str]:
    """Map each field to a column of ``df``: the user's choice, else the first alias found."""
    by_norm: dict[str, str] = {}
    for c in df.columns:
        by_norm.setdefault(_norm(c), c)
    out: dict[str, str] = {}
    for f, col in given.items():
        if col not in df.columns:
            found = by_norm.get(_norm(col))
            if found is None:
                raise FitError(
                    f"{path}: --column {'po.' if what == 'purchases' else ''}{f}={col}: no "
                    f"such column (the file has: {', '.join(map(repr, df.columns))})"
                )
            col = found
        out[f] = col
    shopify = "lineitemquantity" in by_norm
    used = set(out.values())
    for f, aliases in fields.items():
        if f in out:
            continue
        names = list(aliases)
        if f == "order_id" and shopify:
            names.insert(0, "name")  # Shopify's order number column is called "Name"
        if f == "line_total" and shopify:
            names = [n for n in names if n != "total"]  # Shopify's "Total" is per order
        for n in names:
            if n in by_norm and by_norm[n] not in used:
                out[f] = by_norm[n]
                used.add(by_norm[n])
                break
    for f in _REQUIRED[what]:
        if f not in out:
            flag = f"po.{f}" if what == "purchases" else f
            raise FitError(
                f"{path}: no {f.replace('_', ' ')} column (looked for names such as "
                f"{', '.join(repr(a) for a in fields[f][:4])}; the file has "
                f"{', '.join(map(repr, df.columns))}); name it with --column {flag}=NAME"
            )
    return out


# --------------------------------------------------------------------------- values

_OFFSET = re.compile(r"\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2})$", re.I)
_DATES = ["%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%m-%d-%Y", "%Y/%m/%d", "%Y.%m.%d",
          "%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%d-%b-%Y", "%d-%b-%y",
          "%m/%d/%y", "%d/%m/%y", "%d.%m.%y", "%Y%m%d"]  # fmt: skip
_TIMES = ["", " %H:%M", " %H:%M:%S", " %I:%M %p", " %I:%M:%S %p", " %H:%M:%S.%f", "T%H:%M:%S"]


def _row_of(col: pd.Series, value: Any, first: int) -> int:
    """Spreadsheet row number of the first cell holding ``value``."""
    pos = int(np.flatnonzero((col == value).to_numpy())[0])
    return pos + first


class _Where:
    """Names a column of a file in error messages."""

    def __init__(self, path: Path, column: str, first: int) -> None:
        self.path, self.column, self.first = path, column, first

    def error(self, col: pd.Series, value: Any, rule: str) -> FitError:
        row = _row_of(col, value, self.first)
        return FitError(f"{self.path}: row {row}, column '{self.column}': {rule}, got {value!r}")


def _parse_dates(col: pd.Series, where: _Where, fmt: str | None, tz: str | None,
                 notes: list[str]) -> pd.Series:
    """Parse a text column of dates or timestamps; empty cells become NaT.

    Offsets (``-0500``, ``Z``) are dropped and the wall clock as written is kept, so a
    shop's evening order stays on its own day; with ``tz`` an offset timestamp is
    converted to that zone first. The format is found once for the whole column (ISO
    8601, then day/month and month/day orders with ``/ . -``, month names, Excel serial
    numbers); a column where month/day and day/month both read every value is read as
    month/day, with a note.
    """
    uniq = pd.Series(pd.unique(col.to_numpy()), dtype=object)
    text = uniq.astype(str).str.strip()
    empty = text == ""
    offset = text.str.extract(_OFFSET, expand=False)
    bare = text.str.replace(_OFFSET, "", regex=True).str.strip()
    vals = bare[~empty]
    parsed = None
    if fmt is not None:
        parsed = pd.to_datetime(vals, format=fmt, errors="coerce")
    else:
        try:
            parsed = pd.to_datetime(vals, format="ISO8601")
        except (ValueError, TypeError):
            parsed = None
        if parsed is None and len(vals) and vals.str.fullmatch(r"\d{5}(\.\d+)?").all():
            serial = pd.to_numeric(vals)
            if serial.between(20000, 80000).all():  # Excel day numbers, 1954..2119
                parsed = pd.to_datetime(serial, unit="D", origin="1899-12-30")
        if parsed is None:
            found = []
            for d in _DATES:
                for t in _TIMES:
                    p = pd.to_datetime(vals, format=d + t, errors="coerce")
                    if p.notna().all():
                        found.append((d + t, p))
                        break
                if found and not (found[0][0].startswith("%m/%d") and d == _DATES[0]):
                    break
            if found:
                chosen, parsed = found[0]
                if chosen.startswith("%m/%d") and len(vals):
                    alt = pd.to_datetime(vals, format=chosen.replace("%m/%d", "%d/%m", 1),
                                         errors="coerce")
                    if alt.notna().all():
                        notes.append(
                            f"{where.path}: column '{where.column}': dates such as "
                            f"{vals.iloc[0]} read as month/day; give --date-format "
                            f"'{chosen.replace('%m/%d', '%d/%m', 1)}' if they are day/month"
                        )
            else:
                parsed = pd.to_datetime(vals, format="ISO8601", errors="coerce")
    parsed = pd.Series(parsed, index=vals.index)
    bad = parsed.isna()
    if bad.any():
        example = uniq[bad[bad].index[0]]
        raise where.error(col, example, "cannot read it as a date (e.g. 2025-03-31, "
                          "03/31/2025, 31.03.2025; or give --date-format)")
    if tz is not None:
        aware = offset[~empty].notna()
        if aware.any():
            off = offset[~empty][aware].str.upper().replace({"Z": "+0000", "UTC": "+0000",
                                                             "GMT": "+0000"})
            sign = np.where(off.str[0] == "-", -1, 1)
            digits = off.str.replace(r"[^0-9]", "", regex=True)
            minutes = sign * (digits.str[:2].astype(int) * 60 + digits.str[2:4].astype(int))
            utc = parsed[aware] - pd.to_timedelta(minutes, unit="m")
            try:
                local = utc.dt.tz_localize("UTC").dt.tz_convert(tz).dt.tz_localize(None)
            except Exception as exc:  # noqa: BLE001 - zoneinfo's own error kinds
                raise FitError(f"--timezone {tz}: unknown time zone ({exc})") from None
            parsed[aware] = local
    full = pd.Series(pd.NaT, index=uniq.index, dtype="datetime64[ns]")
    full[~empty] = parsed.astype("datetime64[ns]")
    return col.map(pd.Series(full.to_numpy(), index=uniq.to_numpy()))


_NUM_STRIP = re.compile(r"^[^\d\-+.,(]*|[^\d.,)\-]*$")


def _parse_numbers(col: pd.Series, where: _Where, required: bool) -> pd.Series:
    """Parse a text column of numbers; return floats (NaN for empty cells when optional).

    Accepts thousands separators (``1,234``, ``1.234.567``, ``1 234``, ``1'234``),
    a decimal comma (``12,50``), currency signs and codes around the number
    (``$12.50``, ``12,50 EUR``), accounting negatives ``(3)`` and SAP's trailing
    minus ``3-``. Which of ``,`` and ``.`` is the decimal mark is decided once for the
    whole column, so ``1,234`` cannot mean 1234 on one row and 1.234 on the next.
    """
    uniq = pd.Series(pd.unique(col.to_numpy()), dtype=object)
    text = uniq.astype(str).str.replace(r"[\s\u00a0\u202f'’]", "", regex=True)
    empty = text == ""
    t = text.str.replace(_NUM_STRIP, "", regex=True)
    neg = t.str.fullmatch(r"\(.*\)") | t.str.fullmatch(r"[^-]+-")
    t = t.str.strip("()").str.replace(r"^(.*[^-])-$", r"\1", regex=True)
    both = t.str.contains(",") & t.str.contains(r"\.")
    commas, dots = t.str.contains(","), t.str.contains(r"\.")
    if both.any():
        last_comma = (t[both].str.rfind(",") > t[both].str.rfind(".")).mean() > 0.5
        decimal = "," if last_comma else "."
    elif commas.any():
        thousands = t[commas].str.fullmatch(r"[-+]?\d{1,3}(,\d{3})+").all()
        decimal = "." if thousands else ","
    elif dots.any():
        groups = t[dots].str.fullmatch(r"[-+]?\d{1,3}(\.\d{3}){2,}")
        decimal = "," if groups.any() else "."
    else:
        decimal = "."
    if decimal == ",":
        t = t.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        t = t.str.replace(",", "", regex=False)
    num = pd.to_numeric(t.where(~empty, "nan"), errors="coerce")
    num = num.where(~neg, -num.abs())
    bad = num.isna() & ~empty
    if bad.any():
        raise where.error(col, uniq[bad[bad].index[0]], "cannot read it as a number")
    if required and empty.any():
        raise where.error(col, uniq[empty[empty].index[0]], "must not be empty")
    if not np.isfinite(num[~empty]).all() or (num[~empty].abs() > 1e12).any():
        big = (~np.isfinite(num) | (num.abs() > 1e12)) & ~empty
        raise where.error(col, uniq[big[big].index[0]], "must be a number of at most 1e12")
    return col.map(pd.Series(num.to_numpy(), index=uniq.to_numpy())).astype(float)


def _text(col: pd.Series) -> pd.Series:
    return col.astype(str).str.strip()


# --------------------------------------------------------------------------- sales


@dataclass
class Sales:
    """Cleaned sales: one row per customer order and SKU, or per sales line."""

    lines: pd.DataFrame
    """``day`` (midnight), ``time``, ``sku``, ``units``, ``order`` (key or NaN); positive units."""
    prices: pd.DataFrame
    """Per SKU: ``price`` and ``unit_cost`` (revenue-weighted means; NaN when absent)."""
    path: Path
    rows_read: int
    rows_used: int
    orders: str | None
    """How customer orders are identified: ``order id``, ``timestamp`` or None."""
    columns: dict[str, str]
    notes: list[str]
    first_day: pd.Timestamp
    last_day: pd.Timestamp


def read_sales(path: str | Path, options: FitOptions | None = None) -> Sales:
    """Read and clean a sales export (see the module docstring)."""
    options = options or FitOptions()
    path = Path(path)
    df, first = read_table(path)
    given = {k: v for k, v in options.columns.items() if not k.startswith("po.")}
    unknown = set(given) - set(SALES_FIELDS)
    if unknown:
        raise FitError(f"--column {sorted(unknown)[0]}=...: unknown field (sales fields: "
                       f"{', '.join(SALES_FIELDS)}; purchase fields: "
                       f"po.{', po.'.join(PURCHASE_FIELDS)})")
    cols = _resolve(df, SALES_FIELDS, given, "sales", path)
    notes: list[str] = []
    n_read = len(df)

    def where(f: str) -> _Where:
        return _Where(path, cols[f], first)

    sku = _text(df[cols["sku"]])
    blank = (sku == "") | sku.str.lower().isin(["nan", "none", "null"])
    if blank.all():
        raise FitError(f"{path}: column '{cols['sku']}' is empty on every row")
    qty = _parse_numbers(df[cols["quantity"]].where(~blank, "0"), where("quantity"), True)
    order = _text(df[cols["order_id"]]) if "order_id" in cols else None
    date_col = df[cols["date"]].astype(str)
    if order is not None:
        # Multi-line orders (Shopify) may carry the date on their first line only.
        filled = date_col.where(date_col.str.strip() != "")
        filled = filled.groupby(order).transform("first").fillna("")
        date_col = date_col.where(date_col.str.strip() != "", filled)
    when = _parse_dates(date_col.where(~blank, date_col[~blank].iloc[0]), where("date"),
                        options.date_format, options.timezone, notes)
    if when.isna().any():
        empty_row = when.isna() & ~blank
        if empty_row.any():
            r = int(np.flatnonzero(empty_row.to_numpy())[0]) + first
            raise FitError(f"{path}: row {r}, column '{cols['date']}': must not be empty")
    price = _parse_numbers(df[cols["price"]], where("price"), False) if "price" in cols else None
    cost = (_parse_numbers(df[cols["unit_cost"]], where("unit_cost"), False)
            if "unit_cost" in cols else None)  # fmt: skip
    total = None
    if price is None and "line_total" in cols:
        total = _parse_numbers(df[cols["line_total"]], where("line_total"), False)
    lines = pd.DataFrame({"time": when, "sku": sku, "units": qty,
                          "order": order if order is not None else np.nan})
    if price is None:
        price = (total / qty.where(qty != 0)).abs() if total is not None else np.nan
    lines["price"] = price
    lines["cost"] = cost if cost is not None else np.nan
    if blank.any():
        notes.append(f"{int(blank.sum())} line(s) without a SKU left out "
                     f"(first: row {int(np.flatnonzero(blank.to_numpy())[0]) + first})")
    keep = ~blank
    if "status" in cols and options.returns != "ignore":
        status = _text(df[cols["status"]]).str.lower().str.replace(r"^wc-", "", regex=True)
        cancelled = status.isin(_CANCELLED) & keep
        if cancelled.any():
            notes.append(f"{int(cancelled.sum())} line(s) of cancelled or refunded orders "
                         f"left out (column '{cols['status']}')")
            keep &= ~cancelled
    lines = lines[keep]
    has_time = bool((lines["time"] != lines["time"].dt.normalize()).any())
    ident = order is not None and (lines["order"] != "").any()
    orders = "order id" if ident else ("timestamp" if has_time else None)
    # Duplicate rows: exact repeats are dropped only when the rows can be told apart
    # (an order id or a time of day); without them two equal rows may be two sales.
    dup = df.loc[lines.index].duplicated()
    dropped = 0
    if dup.any() and orders is not None:
        dup = _repeated_orders(df.loc[lines.index], lines, orders)
    if dup.any():
        if orders is not None:
            dropped = int(dup.sum())
            notes.append(f"{int(dup.sum())} duplicate row(s) dropped (first: row "
                         f"{int(lines.index[np.flatnonzero(dup.to_numpy())[0]]) + first})")
            lines = lines[~dup.to_numpy()]
        else:
            notes.append(f"{int(dup.sum())} identical row(s) kept: without an order id or "
                         "time of day they may be separate sales")
    lines = lines.assign(day=lines["time"].dt.normalize())
    if lines.empty:
        raise FitError(f"{path}: no sales lines left after cleaning")
    prices = _prices(lines)
    lines, orders = _apply_returns(lines, orders, options.returns, notes)
    if orders == "order id":
        lines = _orders_by_id(lines)
    elif orders == "timestamp":
        lines = (lines[lines["units"] > 0]
                 .groupby(["time", "sku"], sort=False, as_index=False)
                 .agg(day=("day", "min"), units=("units", "sum")))
        lines["order"] = np.nan
    lines = lines[lines["units"] > 0]
    if lines.empty:
        raise FitError(f"{path}: no positive quantities (no sales to fit)")
    used = int(keep.sum()) - dropped
    return Sales(lines=lines.reset_index(drop=True)[["day", "time", "sku", "units", "order"]],
                 prices=prices, path=path, rows_read=n_read, rows_used=used, orders=orders,
                 columns=cols, notes=notes, first_day=lines["day"].min(),
                 last_day=max(lines["day"].max(), lines["day"].min()))


def _repeated_orders(raw: pd.DataFrame, lines: pd.DataFrame, orders: str) -> pd.Series:
    """Mark the rows of orders exported more than once (True: drop the row).

    Two identical lines of one order are two sales; an order exported twice repeats
    all its lines. So within each order (id and day, or timestamp) the counts of its
    identical rows are divided by their greatest common divisor g: g > 1 means the
    whole order was repeated g times, and the copies beyond the first are dropped. An
    order of nothing but identical lines cannot be told from one exported twice: it
    is read as exported twice.
    """
    row = pd.Series(pd.util.hash_pandas_object(raw, index=False).to_numpy(), index=raw.index)
    key = ([lines["order"], lines["time"].dt.normalize()] if orders == "order id"
           else [lines["time"]])  # fmt: skip
    n = row.groupby([*key, row]).transform("size").to_numpy()
    group = pd.Series(0, index=raw.index).groupby(key).ngroup().to_numpy()
    g = pd.Series(n).groupby(group).transform("min").to_numpy()
    while True:  # the gcd per order: min of gcd(g, n) until it divides every count
        new = pd.Series(np.gcd(g, n)).groupby(group).transform("min").to_numpy()
        if (new == g).all():
            break
        g = new
    nth = row.groupby([*key, row]).cumcount()
    return pd.Series(nth.to_numpy() >= n // g, index=raw.index)


def _orders_by_id(lines: pd.DataFrame) -> pd.DataFrame:
    """Sum each order's lines of a SKU per day; a cancellation reduces its own order.

    An order id seen on several days is one order per day: a till's receipt numbers or
    an ERP's document numbers restart (daily, yearly), and merging them would move every
    later day's orders onto the first. A cancellation (a negative line kept by
    ``--returns cancel``) reduces the same order and SKU on the latest day up to its
    own, else the first day after it.
    """
    key = ["order", "sku", "day"]
    pos = (lines[lines["units"] > 0].groupby(key, sort=False, as_index=False)
           .agg(time=("time", "min"), units=("units", "sum")))
    neg = lines[lines["units"] < 0].groupby(key, as_index=False)["units"].sum()
    if neg.empty:
        return pos
    targets = pos[key].rename(columns={"day": "target"}).sort_values("target")
    neg = neg.sort_values("day")
    back = pd.merge_asof(neg, targets, left_on="day", right_on="target", by=["order", "sku"],
                         direction="backward")
    fwd = pd.merge_asof(neg, targets, left_on="day", right_on="target", by=["order", "sku"],
                        direction="forward")
    back["target"] = back["target"].fillna(fwd["target"])
    back = back.dropna(subset=["target"])
    less = back.groupby(["order", "sku", "target"])["units"].sum()
    idx = pd.MultiIndex.from_frame(pos[key])
    pos["units"] = pos["units"].to_numpy() + less.reindex(idx).fillna(0.0).to_numpy()
    return pos


def _prices(lines: pd.DataFrame) -> pd.DataFrame:
    """Per SKU: mean selling price and unit cost weighted by units sold (sales only)."""
    sold = lines[lines["units"] > 0]
    out = {}
    for what in ("price", "cost"):
        ok = sold[sold[what].notna() & (sold[what] >= 0)]
        w = ok["units"] * ok[what]
        g = pd.DataFrame({"w": w, "u": ok["units"], "sku": ok["sku"]}).groupby("sku").sum()
        out["unit_cost" if what == "cost" else "price"] = g["w"] / g["u"]
    return pd.DataFrame(out)


def _apply_returns(lines: pd.DataFrame, orders: str | None, how: str,
                   notes: list[str]) -> tuple[pd.DataFrame, str | None]:
    """Treat negative quantities (returns, cancellations) as ``how`` says.

    ``cancel`` (default): a negative line with an order id cancels units of the same
    order and SKU; other negative lines are left out, as a return after the sale does
    not undo the demand that happened. ``net``: each day's quantity is net of that day's
    returns (never below zero). ``ignore``: negative lines are left out.
    """
    neg = lines["units"] < 0
    if not neg.any():
        return lines, orders
    n = int(neg.sum())
    if how == "net":
        day = lines.groupby(["day", "sku"], as_index=False).agg(
            units=("units", "sum"), time=("time", "min"))
        day["units"] = day["units"].clip(lower=0)
        day["order"] = np.nan
        notes.append(f"{n} negative line(s) netted against their day's sales (--returns net); "
                     "orders are no longer told apart")
        return day, None
    if how == "cancel" and orders == "order id":
        matched = lines["order"].notna() & (lines["order"] != "")
        pos_keys = set(zip(lines.loc[~neg, "order"], lines.loc[~neg, "sku"], strict=True))
        key = pd.Series(list(zip(lines["order"], lines["sku"], strict=True)), index=lines.index)
        cancels = neg & matched & key.isin(pos_keys)
        notes.append(f"{n} negative line(s): {int(cancels.sum())} cancel units of their own "
                     f"order, {n - int(cancels.sum())} returns of other orders left out")
        return lines[~neg | cancels], orders  # summed per order later
    notes.append(f"{n} negative line(s) (returns) left out: demand is what customers ordered")
    return lines[~neg], orders


# --------------------------------------------------------------------------- purchases


@dataclass
class Purchases:
    """Cleaned purchase history: one row per receipt line."""

    lines: pd.DataFrame
    """``ordered``, ``received``, ``due`` (or NaT), ``sku``, ``supplier``, ``units``, ``cost``,
    ``po``, ``lead`` (days)."""
    path: Path
    rows_read: int
    open_lines: int
    notes: list[str]


def read_purchases(path: str | Path, options: FitOptions | None = None) -> Purchases:
    """Read a purchase history: order date, receipt date, SKU, supplier, quantity."""
    options = options or FitOptions()
    path = Path(path)
    df, first = read_table(path)
    given = {k[3:]: v for k, v in options.columns.items() if k.startswith("po.")}
    unknown = set(given) - set(PURCHASE_FIELDS)
    if unknown:
        raise FitError(f"--column po.{sorted(unknown)[0]}=...: unknown field (purchase fields: "
                       f"po.{', po.'.join(PURCHASE_FIELDS)})")
    cols = _resolve(df, PURCHASE_FIELDS, given, "purchases", path)
    notes: list[str] = []

    def where(f: str) -> _Where:
        return _Where(path, cols[f], first)

    sku = _text(df[cols["sku"]])
    ordered = _parse_dates(df[cols["order_date"]].astype(str), where("order_date"),
                           options.date_format, options.timezone, notes).dt.normalize()
    if ordered.isna().any():
        r = int(np.flatnonzero(ordered.isna().to_numpy())[0]) + first
        raise FitError(f"{path}: row {r}, column '{cols['order_date']}': must not be empty")
    received = _parse_dates(df[cols["receipt_date"]].astype(str), where("receipt_date"),
                            options.date_format, options.timezone, notes).dt.normalize()
    due = (_parse_dates(df[cols["due_date"]].astype(str), where("due_date"),
                        options.date_format, options.timezone, notes).dt.normalize()
           if "due_date" in cols else pd.Series(pd.NaT, index=df.index))  # fmt: skip
    supplier = (_text(df[cols["supplier"]]) if "supplier" in cols
                else pd.Series("supplier", index=df.index))  # fmt: skip
    supplier = supplier.where(supplier != "", "supplier")
    units = (_parse_numbers(df[cols["quantity"]], where("quantity"), False)
             if "quantity" in cols else pd.Series(np.nan, index=df.index))  # fmt: skip
    cost = (_parse_numbers(df[cols["unit_cost"]], where("unit_cost"), False)
            if "unit_cost" in cols else pd.Series(np.nan, index=df.index))  # fmt: skip
    po = _text(df[cols["po_id"]]) if "po_id" in cols else pd.Series("", index=df.index)
    lead = (received - ordered).dt.days
    early = lead < 0
    if early.any():
        i = int(np.flatnonzero(early.to_numpy())[0])
        raise FitError(
            f"{path}: row {i + first}, column '{cols['receipt_date']}': received before it was "
            f"ordered ({received.iloc[i]:%Y-%m-%d} < {ordered.iloc[i]:%Y-%m-%d})"
        )
    lines = pd.DataFrame({"ordered": ordered, "received": received, "due": due, "sku": sku,
                          "supplier": supplier, "units": units, "cost": cost, "po": po,
                          "lead": lead})  # fmt: skip
    lines = lines[sku != ""]
    open_lines = int(lines["received"].isna().sum())
    if open_lines:
        notes.append(f"{open_lines} purchase line(s) not yet received: left out of lead times")
    dup = df.loc[lines.index].duplicated()
    if dup.any():
        notes.append(f"{int(dup.sum())} duplicate purchase row(s) dropped")
        lines = lines[~dup.to_numpy()]
    return Purchases(lines=lines.reset_index(drop=True), path=path, rows_read=len(df),
                     open_lines=open_lines, notes=notes)


# =========================================================================== fitting


@dataclass
class SkuFit:
    """One SKU's fit: its demand model, calendar, prices and where each came from."""

    sku: str
    start: pd.Timestamp
    units: np.ndarray
    """Units on each day of its history (absent days are zeros)."""
    counts: np.ndarray | None
    """Customer orders on each day, when orders are identified."""
    sizes: np.ndarray | None
    multiplier: np.ndarray
    """The fitted calendar multiplier on each history day (weekly × monthly × trend)."""
    demand: dict[str, Any]
    """The scenario's ``per_day`` or ``customers`` entry."""
    model: str
    dist: str
    why: str
    base_mean: float
    weekly: list[float] | None = None
    weekly_p: float = math.nan
    monthly: list[float] | None = None
    monthly_p: float = math.nan
    trend: float = 0.0
    trend_p: float = math.nan
    price: float = 1.0
    unit_cost: float = 0.6
    price_source: str = "sales"
    cost_source: str = "sales"
    supplier: str = "default"
    short: bool = False
    pooled: bool = False
    gof_p: float = math.nan
    notes: list[str] = field(default_factory=list)
    abc: str = ""
    revenue_share: float = 0.0

    @property
    def mean_per_day(self) -> float:
        """Mean units a day over the history."""
        return float(self.units.mean()) if self.units.size else 0.0


@dataclass
class SupplierFit:
    """One supplier's lead time, fitted from receipts or assumed."""

    name: str
    lead_time: dict[str, Any]
    leads: np.ndarray
    """Observed lead times in days, one per shipment."""
    source: str
    """``purchases`` or ``assumed``."""
    why: str
    on_time: float = math.nan
    crossed: int = 0
    deliver_in_order: bool = True


@dataclass
class FitResult:
    """Everything a fit produces: the scenario text, the summaries and the chart data."""

    text: str
    skus: list[SkuFit]
    suppliers: dict[str, SupplierFit]
    excluded: list[str]
    notes: list[str]
    provenance: dict[str, Any]
    seconds: float

    def summary(self) -> pd.DataFrame:
        """Return one row per SKU: class, demand model and why, calendar, prices, supplier."""
        rows = []
        for s in self.skus:
            rows.append({
                "sku": s.sku, "abc_class": s.abc, "revenue_share": s.revenue_share,
                "days": int(s.units.size), "demand_days": int((s.units > 0).sum()),
                "orders": int(s.counts.sum()) if s.counts is not None else None,
                "units": float(s.units.sum()), "mean_per_day": s.mean_per_day,
                "model": s.model, "dist": s.dist, "why": s.why,
                "weekly": s.weekly is not None, "weekly_p": s.weekly_p,
                "monthly": s.monthly is not None, "monthly_p": s.monthly_p,
                "trend_per_year": s.trend, "trend_p": s.trend_p, "gof_p": s.gof_p,
                "price": s.price, "price_source": s.price_source,
                "unit_cost": s.unit_cost, "cost_source": s.cost_source,
                "supplier": s.supplier, "lead_time_source": self.suppliers[s.supplier].source,
                "short": s.short, "pooled": s.pooled, "notes": "; ".join(s.notes),
            })  # fmt: skip
        return pd.DataFrame(rows)

    def supplier_summary(self) -> pd.DataFrame:
        """Return one row per supplier: lead-time model, on-time share, crossing."""
        return pd.DataFrame([{
            "supplier": s.name, "source": s.source, "shipments": int(s.leads.size),
            "lead_time": _describe(s.lead_time), "mean": _dist_mean(s.lead_time),
            "sd": _dist_sd(s.lead_time), "on_time": s.on_time, "crossed": s.crossed,
            "deliver_in_order": s.deliver_in_order, "why": s.why,
        } for s in self.suppliers.values()])  # fmt: skip


def fit_history(sales_path: str | Path, purchases_path: str | Path | None = None,
                options: FitOptions | None = None) -> FitResult:
    """Read the files and fit a scenario (see the module docstring)."""
    t0 = time.perf_counter()
    options = options or FitOptions()
    if options.returns not in {"cancel", "net", "ignore"}:
        raise FitError(f"--returns: must be cancel, net or ignore, got {options.returns!r}")
    sales = read_sales(sales_path, options)
    purchases = read_purchases(purchases_path, options) if purchases_path is not None else None
    notes = list(sales.notes) + (purchases.notes if purchases else [])
    suppliers, sku_supplier = _fit_suppliers(purchases, options, notes)
    fits, excluded = _fit_skus(sales, options, notes)
    if not fits:
        raise FitError(f"{sales.path}: no SKU has enough history to fit "
                       f"(excluded: {', '.join(excluded)})")
    _prices_and_costs(fits, sales, purchases, options)
    default = None
    for f in fits:
        f.supplier = sku_supplier.get(f.sku, "")
        if f.supplier == "":
            if default is None:
                default = _assumed_supplier(options, "default" if "default" not in suppliers
                                            else "default-assumed")
                suppliers[default.name] = default
            f.supplier = default.name
    used = {f.supplier for f in fits}
    suppliers = {k: v for k, v in suppliers.items() if k in used}
    provenance = {
        "sales": str(sales.path), "first_day": sales.first_day.date().isoformat(),
        "last_day": sales.last_day.date().isoformat(), "rows_read": sales.rows_read,
        "rows_used": sales.rows_used, "orders": sales.orders,
        "purchases": str(purchases.path) if purchases else None,
        "purchase_rows": purchases.rows_read if purchases else 0,
        "columns": sales.columns,
    }  # fmt: skip
    _abc(fits, sales.last_day.date() + dt.timedelta(days=1), options.horizon_days)
    text = _scenario_text(fits, suppliers, provenance, options)
    from simulator.data.scenario import Scenario, ScenarioError

    try:
        # libyaml's parser where available (the pure-Python one took a minute on 17,000
        # SKUs); the text is fit's own, with no dates the safe loader would refuse.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        Scenario.from_dict(yaml.load(text, Loader=loader))
    except ScenarioError as exc:  # a bug here, not the user's: exit 1 with the reason
        raise RuntimeError(f"fit wrote an invalid scenario: {exc}") from None
    return FitResult(text=text, skus=fits, suppliers=suppliers, excluded=excluded,
                     notes=notes, provenance=provenance, seconds=time.perf_counter() - t0)


# --------------------------------------------------------------------------- demand


def _fit_skus(sales: Sales, options: FitOptions, notes: list[str]) -> tuple[list[SkuFit], list]:
    lines = sales.lines
    first, last = sales.first_day, sales.last_day
    n_all = int((last - first).days) + 1
    day_idx = ((lines["day"] - first).dt.days).to_numpy()
    codes, skus = pd.factorize(lines["sku"], sort=True)
    units = np.zeros((len(skus), n_all))
    np.add.at(units, (codes, day_idx), lines["units"].to_numpy())
    counts = None
    if sales.orders is not None:
        counts = np.zeros((len(skus), n_all))
        np.add.at(counts, (codes, day_idx), 1.0)
    sizes_all = lines["units"].to_numpy()
    order_of = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order_of], np.arange(len(skus) + 1))
    dates = pd.date_range(first, last, freq="D")
    fits: list[SkuFit] = []
    short: list[tuple[str, np.ndarray, np.ndarray | None, int, int]] = []
    excluded: list[str] = []
    for k, sku in enumerate(skus):
        if sku == "ALL":
            notes.append("SKU 'ALL' left out: the name is reserved for the portfolio")
            excluded.append(sku)
            continue
        x = units[k]
        demand_days = np.flatnonzero(x > 0)
        start, end = int(demand_days[0]), int(demand_days[-1])
        # Launched late, or stopped selling (discontinued, or out of stock to the end)?
        # Only if a silent stretch this long before its first or after its last sale
        # would be unlikely (< 0.1 %) at the rate it sold in between; otherwise those
        # days are ordinary zero days.
        # At a constant rate the D sale days fall anywhere in the history: all of them
        # in its last N - s days has probability ((N - s) / N) ** D. (Testing the gap at
        # the rate after the first sale cut 8 % of 17,000 steady slow sellers.)
        if start > 0 and ((n_all - start) / n_all) ** demand_days.size < 1e-3:
            notes.append(f"{sku}: first sale on {dates[start]:%Y-%m-%d}, history taken "
                         "from then (treated as launched then)")
        else:
            start = 0
        # Likewise the end: all of them in the first L days, (L / N) ** D.
        gap = n_all - 1 - end
        if gap > 0 and ((end + 1 - start) / (n_all - start)) ** demand_days.size < 1e-3:
            notes.append(f"{sku}: no sale in the last {gap} days (discontinued, or out of "
                         f"stock?): demand fitted to its last sale on {dates[end]:%Y-%m-%d}; "
                         "remove it from the scenario if it is no longer sold")
            stop = end + 1
        else:
            stop = n_all
        x = x[start:stop]
        c = counts[k, start:stop] if counts is not None else None
        sz = sizes_all[order_of[bounds[k]:bounds[k + 1]]] if counts is not None else None
        if x.size < MIN_DAYS or demand_days.size < MIN_DEMAND_DAYS:
            short.append((sku, x, c, start, stop))
            continue
        fits.append(_fit_one(sku, dates[start:stop], x, c, sz))
    if short:
        names = ", ".join(s[0] for s in short[:8]) + (" …" if len(short) > 8 else "")
        if options.short_history == "exclude":
            notes.append(f"warning: {len(short)} SKU(s) with too little history (under "
                         f"{MIN_DAYS} days or {MIN_DEMAND_DAYS} days with a sale) left out: "
                         f"{names}")
            excluded += [s[0] for s in short]
        else:
            notes.append(f"warning: {len(short)} SKU(s) with too little history (under "
                         f"{MIN_DAYS} days or {MIN_DEMAND_DAYS} days with a sale) get a pooled "
                         f"model (their own mean, the other SKUs' dispersion): {names}")
            ratio = float(np.median([_var_ratio(f) for f in fits])) if fits else 1.0
            for sku, x, c, start, stop in short:
                fits.append(_pooled(sku, dates[start:stop], x, c, ratio))
    fits.sort(key=lambda f: f.sku)
    return fits, excluded


def _var_ratio(f: SkuFit) -> float:
    base = f.units / np.maximum(f.multiplier, 1e-9)
    m = base.mean()
    return float(base.var(ddof=1) / m) if m > 0 else 1.0


def _pooled(sku: str, dates: pd.DatetimeIndex, x: np.ndarray, c: np.ndarray | None,
            ratio: float) -> SkuFit:
    mean = float(x.mean())
    if ratio > 1.05:
        sd = _r(math.sqrt(mean * ratio))
        demand = {"per_day": {"dist": "negbin", "mean": _r(mean), "sd": sd}}
        dist = "negbin"
    else:
        demand = {"per_day": {"dist": "poisson", "mean": _r(mean)}}
        dist = "poisson"
    why = (f"pooled: {int((x > 0).sum())} sale day(s) in {x.size} days; its own mean, the "
           f"median variance/mean {ratio:.2f} of the other SKUs")
    return SkuFit(sku=sku, start=dates[0], units=x, counts=c, sizes=None,
                  multiplier=np.ones(x.size), demand=demand, model="per_day", dist=dist,
                  why=why, base_mean=mean, short=True, pooled=True)


def _kruskal(x: np.ndarray, groups: np.ndarray) -> float:
    parts = [x[groups == g] for g in np.unique(groups)]
    if len(parts) < 2 or np.ptp(x) == 0:
        return 1.0
    try:
        return float(stats.kruskal(*parts).pvalue)
    except ValueError:
        return 1.0


def _fit_one(sku: str, dates: pd.DatetimeIndex, x: np.ndarray, c: np.ndarray | None,
             sizes: np.ndarray | None) -> SkuFit:
    """Fit one SKU: calendar first, then the demand model on the calendar-adjusted days."""
    n = x.size
    notes: list[str] = []
    dow = dates.day_of_week.to_numpy()
    month = dates.month.to_numpy() - 1
    mult = np.ones(n)
    weekly = monthly = None
    weekly_p = monthly_p = trend_p = math.nan
    trend = 0.0
    n_params = 0
    if n >= WEEKLY_MIN_DAYS:
        weekly_p = _kruskal(x, dow)
        if weekly_p < ALPHA:
            means = np.array([x[dow == d].mean() for d in range(7)])
            weekly = means / means.mean()
            mult *= weekly[dow]
            n_params += 6
    if n >= TREND_MIN_DAYS:
        weeks = (n // 7)
        tot = x[n - 7 * weeks:].reshape(weeks, 7).sum(axis=1)  # whole weeks: no weekday effect
        fit = stats.linregress(np.arange(weeks), tot)
        trend_p = float(fit.pvalue) if np.isfinite(fit.pvalue) else 1.0
        level_end = fit.intercept + fit.slope * (weeks - 0.5)
        if trend_p < ALPHA and level_end > 0:
            trend = float(np.clip(fit.slope * 365 / 7 / level_end, -0.9, 10.0))
            mult *= np.maximum(1 + trend * (np.arange(n) - (n - 1)) / 365, 0.05)
            n_params += 1
    if n >= MONTHLY_MIN_DAYS:
        adj = _div(x, mult)
        open_days = np.isfinite(adj)
        monthly_p = _kruskal(adj[open_days], month[open_days])
        if monthly_p < ALPHA:
            if trend and n < 730:
                notes.append("trend dropped: under two years it cannot be told from the season")
                mult /= np.maximum(1 + trend * (np.arange(n) - (n - 1)) / 365, 0.05)
                trend, n_params = 0.0, n_params - 1
                adj = _div(x, mult)
            means = np.array([np.nanmean(adj[month == m]) for m in range(12)])
            monthly = means / means.mean()
            mult *= monthly[month]
            n_params += 11
    base = _div(x, mult)  # NaN on days the calendar closes (a weekday without sales)
    mean = float(np.nanmean(base))
    kw = dict(sku=sku, start=dates[0], units=x, counts=c, sizes=sizes, multiplier=mult,
              base_mean=mean, weekly=_rl(weekly), weekly_p=weekly_p, monthly=_rl(monthly),
              monthly_p=monthly_p, trend=round(trend, 4), trend_p=trend_p, notes=notes)
    adi = n / max(int((x > 0).sum()), 1)
    intermittent = adi > ADI_CUTOFF
    if c is not None and sizes is not None:
        lam = float(c.sum() / mult.sum())
        mu = lam * mult
        ok = mu > 0
        x2 = float(((c[ok] - mu[ok]) ** 2 / mu[ok]).sum())
        df = max(int(ok.sum()) - 1 - n_params, 1)
        p_over, p_under = float(stats.chi2.sf(x2, df)), float(stats.chi2.cdf(x2, df))
        if (p_over >= ALPHA and p_under >= ALPHA) or intermittent:
            size, size_why = _order_size(sizes)
            p_two = min(1.0, 2 * min(p_over, p_under))
            why = (f"customer orders: {int(c.sum())} orders, {lam:.3g}/day (order counts "
                   f"variance/mean {x2 / df:.2f}, Poisson test p={_p(p_two)}"
                   f"{'; intermittent, ADI ' + f'{adi:.2f}' if intermittent else ''}); "
                   f"size {size_why}")
            demand = {"customers": {"orders_per_day": _r(lam), "order_size": size}}
            return SkuFit(demand=demand, model="customers", dist=size["dist"], why=why, **kw)
        kind, wrong = (("over", "understate") if p_over < ALPHA else ("under", "overstate"))
        notes.append(f"order counts {kind}-dispersed (variance/mean {x2 / df:.2f}, "
                     f"p={_p(min(p_over, p_under))}): Poisson orders would {wrong} the "
                     "variance; daily quantities fitted")
    if intermittent:
        # Croston's view: a demand occurrence (share of days with a sale) and a size.
        nz = x[x > 0]
        lam = float((x > 0).sum() / mult.sum())
        size, size_why = _order_size(nz)
        why = (f"intermittent (ADI {adi:.2f} > {ADI_CUTOFF}, Syntetos-Boylan): "
               f"{int((x > 0).sum())} sale days, rate {lam:.3g}/day; size {size_why}")
        demand = {"customers": {"orders_per_day": _r(lam), "order_size": size}}
        return SkuFit(demand=demand, model="customers", dist=size["dist"], why=why, **kw)
    dist, why, gof = _per_day(x, mult, mean, float(np.nanstd(base, ddof=1)), n_params)
    return SkuFit(demand={"per_day": dist}, model="per_day", dist=dist["dist"], why=why,
                  gof_p=gof, **kw)


def _div(x: np.ndarray, mult: np.ndarray) -> np.ndarray:
    """Return x / mult, NaN where the multiplier is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(mult > 0, x / np.where(mult > 0, mult, 1.0), np.nan)


def _order_size(sizes: np.ndarray) -> tuple[dict[str, Any], str]:
    """Order sizes: resampled when there are enough orders and few distinct sizes."""
    sizes = sizes[sizes > 0]
    values, counts = np.unique(sizes, return_counts=True)
    if values.size == 1:
        return {"dist": "constant", "value": _r(values[0])}, f"always {values[0]:g}"
    if sizes.size >= EMPIRICAL_MIN_ORDERS and values.size <= EMPIRICAL_MAX_VALUES:
        return ({"dist": "empirical", "values": [_r(v) for v in values],
                 "weights": [int(w) for w in counts]},
                f"empirical, {values.size} sizes seen in {sizes.size} orders (mean "
                f"{sizes.mean():.3g})")  # fmt: skip
    m, s = float(sizes.mean()), float(sizes.std(ddof=1))
    ll = {"gamma": stats.gamma.logpdf(sizes, (m / s) ** 2, scale=s * s / m).sum(),
          "lognormal": _lognormal_ll(sizes, m, s)}
    best = max(ll, key=ll.get)
    return ({"dist": best, "mean": _r(m), "sd": _r(s)},
            f"{best} (mean {m:.3g}, sd {s:.3g}) from {sizes.size} orders, "
            f"{values.size} distinct sizes; log-likelihood " +
            ", ".join(f"{k} {v:.1f}" for k, v in ll.items()))  # fmt: skip


def _lognormal_ll(x: np.ndarray, m: float, s: float) -> float:
    sig2 = math.log1p((s / m) ** 2)
    scale = math.exp(math.log(m) - sig2 / 2)
    return float(stats.lognorm.logpdf(x, math.sqrt(sig2), scale=scale).sum())


def _cells(family: str, mu: np.ndarray, sd: np.ndarray):
    """Return F(k) for whole units k: P(X <= k) as the simulator rounds draws."""
    if family == "poisson":
        return lambda k: stats.poisson.cdf(k, mu)
    if family == "negbin":
        var = sd**2
        return lambda k: stats.nbinom.cdf(k, mu**2 / (var - mu), mu / var)
    if family == "normal":
        return lambda k: np.where(k < 0, 0.0, stats.norm.cdf(k + 0.5, mu, sd))
    shape, scale = (mu / sd) ** 2, sd**2 / mu
    return lambda k: np.where(k < 0, 0.0, stats.gamma.cdf(k + 0.5, shape, scale=scale))


def _per_day(x: np.ndarray, mult: np.ndarray, mean: float, sd: float,
             n_params: int) -> tuple[dict[str, Any], str, float]:
    """Choose the daily-quantity family: dispersion test first, then AIC."""
    k = np.round(x)
    integer = bool(np.allclose(x, k))
    if sd == 0:
        return ({"dist": "constant", "value": _r(mean)},
                f"the same {mean:g} units every day", math.nan)
    ok = mult > 0  # days the calendar closes carry no information
    x, k, mult = x[ok], k[ok], mult[ok]
    mu = mean * mult
    x2 = float(((x - mu) ** 2 / mu).sum())
    df = max(int(ok.sum()) - 1 - n_params, 1)
    ratio = x2 / df
    p_over, p_under = float(stats.chi2.sf(x2, df)), float(stats.chi2.cdf(x2, df))
    disp = f"variance/mean {ratio:.2f}"
    if integer and p_over >= ALPHA and p_under >= ALPHA:
        fam, params = "poisson", {"mean": _r(mean)}
        why = f"counts with {disp}, dispersion test p={_p(min(p_over, p_under) * 2)}: Poisson"
        gof = _gof(k, _cells("poisson", mu, mu))
        return {"dist": "poisson", **params}, why + f"; PIT p={_p(gof)}", gof
    cands = []
    if integer and ratio > 1:
        cands.append("negbin")
    if sd <= mean / 2:
        cands.append("normal")
    cands.append("gamma")
    sdt = sd * mult
    aic = {}
    for fam in cands:
        F = _cells(fam, mu, sdt)
        p = np.clip(F(k) - F(k - 1), 1e-300, 1)
        aic[fam] = 2 * 2 - 2 * float(np.log(p).sum())
    fam = min(aic, key=aic.get)
    if fam == "negbin" and sd**2 <= mean:
        sd = math.sqrt(mean * 1.01)
    kind = ("over-dispersed" if p_over < ALPHA else "under-dispersed" if p_under < ALPHA
            else "not whole units")  # fmt: skip
    gof = _gof(k, _cells(fam, mu, sd * mult))
    why = (f"{kind} ({disp}, p={_p(min(p_over, p_under))}); AIC " +
           ", ".join(f"{f} {a:.0f}" for f, a in sorted(aic.items(), key=lambda i: i[1])) +
           f"; PIT p={_p(gof)}")  # fmt: skip
    return {"dist": fam, "mean": _r(mean), "sd": _r(sd)}, why, gof


def _gof(k: np.ndarray, F, rng: np.random.Generator | None = None) -> float:
    """Kolmogorov-Smirnov p-value of the randomised PIT (uniform under the model)."""
    rng = rng or np.random.default_rng(0)
    lo, hi = F(k - 1), F(k)
    u = lo + rng.random(k.size) * (hi - lo)
    return float(stats.kstest(u, "uniform").pvalue)


# --------------------------------------------------------------------------- prices


def _prices_and_costs(fits: list[SkuFit], sales: Sales, purchases: Purchases | None,
                      options: FitOptions) -> None:
    po_cost = pd.Series(dtype=float)
    if purchases is not None:
        pl = purchases.lines[purchases.lines["cost"] > 0]
        w = pl["units"].fillna(1.0)
        g = pd.DataFrame({"c": pl["cost"] * w, "w": w, "sku": pl["sku"]}).groupby("sku").sum()
        po_cost = g["c"] / g["w"]
    any_price = sales.prices["price"].notna().any() if "price" in sales.prices else False
    for f in fits:
        price = sales.prices["price"].get(f.sku, math.nan) if any_price else math.nan
        if not price > 0:
            f.price, f.price_source = 1.0, "assumed (no price in the file)"
        else:
            f.price, f.price_source = float(price), "sales"
        cost = po_cost.get(f.sku, math.nan)
        if cost > 0:
            f.unit_cost, f.cost_source = float(cost), "purchases"
        else:
            cost = sales.prices["unit_cost"].get(f.sku, math.nan)
            if cost > 0:
                f.unit_cost, f.cost_source = float(cost), "sales"
            else:
                f.unit_cost = f.price * options.cost_share
                f.cost_source = f"assumed ({options.cost_share:.0%} of price)"


def _abc(fits: list[SkuFit], start: dt.date, horizon: int) -> None:
    """ABC classes exactly as the simulator's hybrid policy draws them (80 % / 15 %).

    Expected revenue over the horizon: price × base daily mean × the sum of the calendar
    multipliers over the horizon (``Scenario.demand_multiplier``, computed here for the
    seasonality and trend this module writes).
    """
    from pydantic import TypeAdapter

    from simulator.data.distributions import Distribution

    dists = TypeAdapter(Distribution)
    dates = pd.date_range(start, periods=horizon, freq="D")
    days = np.arange(horizon)
    revenue = {}
    for f in fits:
        d = f.demand
        if "per_day" in d:
            mean = dists.validate_python(d["per_day"]).mean
        else:
            c = d["customers"]
            mean = c["orders_per_day"] * dists.validate_python(c["order_size"]).mean
        mult = np.ones(horizon)
        if f.monthly is not None:
            mult *= np.asarray(f.monthly)[dates.month.to_numpy() - 1]
        if f.weekly is not None:
            mult *= np.asarray(f.weekly)[dates.day_of_week.to_numpy()]
        if f.trend:
            mult *= np.maximum(1 + f.trend * days / 365, 0.0)
        revenue[f.sku] = _r(f.price) * mean * float(mult.sum())
    total = sum(revenue.values()) or 1.0
    above = 0.0
    by_id = {f.sku: f for f in fits}
    for sku_id in sorted(revenue, key=lambda s: (-revenue[s], s)):
        share = above / total
        by_id[sku_id].abc = "A" if share < 0.8 else ("B" if share < 0.95 else "C")
        by_id[sku_id].revenue_share = revenue[sku_id] / total
        above += revenue[sku_id]


# --------------------------------------------------------------------------- lead times


def _assumed_supplier(options: FitOptions, name: str) -> SupplierFit:
    mean = options.lead_time if options.lead_time is not None else 14.0
    sd = options.lead_time_sd if options.lead_time_sd is not None else 0.2 * mean
    lt = ({"dist": "gamma", "mean": _r(mean), "sd": _r(sd)} if sd > 0 and mean > 0
          else {"dist": "constant", "value": _r(mean)})  # fmt: skip
    given = options.lead_time is not None or options.lead_time_sd is not None
    why = ("from --lead-time/--lead-time-sd" if given
           else "no purchase history (default 14 days, sd 20 %; set --lead-time)")
    return SupplierFit(name=name, lead_time=lt, leads=np.array([]), source="assumed", why=why)


def _fit_suppliers(purchases: Purchases | None, options: FitOptions,
                   notes: list[str]) -> tuple[dict[str, SupplierFit], dict[str, str]]:
    if purchases is None:
        return {}, {}
    pl = purchases.lines[purchases.lines["received"].notna()]
    if pl.empty:
        notes.append("warning: no received purchase lines: lead times assumed")
        return {}, {}
    out: dict[str, SupplierFit] = {}
    for name, g in pl.groupby("supplier", sort=True):
        ship, partial = _per_order(g)
        leads = ship["lead"].to_numpy(dtype=float)
        # Crossing: a shipment ordered later that lands before an earlier order's.
        rec = ship["received"].to_numpy()
        ordd = ship["ordered"].to_numpy()
        crossed = 0
        for i in range(1, rec.size):
            earlier = ordd < ordd[i]
            if earlier.any() and (rec[:i][earlier[:i]] > rec[i]).any():
                crossed += 1
        due = ship["due"]
        if due.notna().any():
            has = due.notna()
            on_time = float((ship["complete"][has] <= due[has]).mean())
        elif options.lead_time is not None:
            on_time = float((leads <= options.lead_time).mean())
        else:
            on_time = math.nan
        lt, why = _lead_dist(leads)
        if partial:
            why += (f"; {partial} order(s) received in parts: one lead time per order, "
                    "the mean wait of its units (on time: complete by the due date)")
        out[str(name)] = SupplierFit(name=str(name), lead_time=lt, leads=leads,
                                     source="purchases", why=why, on_time=on_time,
                                     crossed=crossed, deliver_in_order=crossed == 0)
    counts = pl.groupby(["sku", "supplier"]).agg(n=("lead", "size"), last=("ordered", "max"))
    counts = counts.reset_index().sort_values(["sku", "n", "last"], ascending=[True, False, False])
    sku_supplier = dict(counts.drop_duplicates("sku")[["sku", "supplier"]].to_numpy())
    return out, {str(k): str(v) for k, v in sku_supplier.items()}


def _per_order(g: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """One row per purchase order of one supplier, and how many came in parts.

    A purchase order is its PO id, else its order date. A PO of ten lines is one lead
    time, not ten; a PO received in parts is one lead time too (the simulator delivers
    an order at once): the mean wait of its units (lines without a quantity count
    once). ``received`` is the order date plus that wait, ``complete`` its last receipt.
    """
    order = g["po"].where(g["po"] != "", "@" + g["ordered"].dt.strftime("%Y-%m-%d"))
    w = g["units"].where(g["units"] > 0, 1.0).fillna(1.0)
    t = pd.DataFrame({"order": order, "ordered": g["ordered"], "received": g["received"],
                      "due": g["due"], "wl": w * g["lead"], "w": w})  # fmt: skip
    per = t.groupby("order", sort=False).agg(
        ordered=("ordered", "min"), complete=("received", "max"), due=("due", "min"),
        wl=("wl", "sum"), w=("w", "sum"), receipts=("received", "nunique"))
    per["lead"] = per["wl"] / per["w"]
    per["received"] = per["ordered"] + pd.to_timedelta(per["lead"], unit="D")
    per = per.reset_index().sort_values(["ordered", "received", "complete", "order"])
    return per, int((per["receipts"] > 1).sum())


def _lead_dist(leads: np.ndarray) -> tuple[dict[str, Any], str]:
    n = leads.size
    m = float(leads.mean())
    s = float(leads.std(ddof=1)) if n > 1 else 0.0
    if m <= 0:
        return {"dist": "constant", "value": 0.0}, f"{n} receipts, all on the day ordered"
    if n < 5:
        s = max(s, 0.2 * m)
        return ({"dist": "gamma", "mean": _r(m), "sd": _r(s)},
                f"only {n} receipt(s): gamma with the sd at least 20 % of the mean")
    if s == 0:
        return {"dist": "constant", "value": _r(m)}, f"{n} receipts, always {m:g} days"
    k = np.round(leads)
    aic = {}
    for fam in ["gamma", "lognormal", "normal"] if s <= m / 3 else ["gamma", "lognormal"]:
        if fam == "lognormal":
            sig2 = math.log1p((s / m) ** 2)
            d = stats.lognorm(math.sqrt(sig2), scale=math.exp(math.log(m) - sig2 / 2))
        elif fam == "gamma":
            d = stats.gamma((m / s) ** 2, scale=s * s / m)
        else:
            d = stats.norm(m, s)
        p = np.clip(d.cdf(k + 0.5) - d.cdf(k - 0.5), 1e-300, 1)
        aic[fam] = 4 - 2 * float(np.log(p).sum())
    fam = min(aic, key=aic.get)
    return ({"dist": fam, "mean": _r(m), "sd": _r(s)},
            f"{n} receipts, mean {m:.1f} d, sd {s:.1f} d; AIC " +
            ", ".join(f"{f} {a:.0f}" for f, a in sorted(aic.items(), key=lambda i: i[1])))


# =========================================================================== output


def _r(v: float) -> float:
    """Round to 4 significant digits (values below the scenario's 1e-9 floor become 0)."""
    v = float(v)
    if v == 0 or abs(v) < 1e-9:
        return 0.0
    out = float(f"{v:.4g}")
    return int(out) if out.is_integer() and abs(out) < 1e15 else out


def _rl(a: np.ndarray | None) -> list[float] | None:
    if a is None:
        return None
    return [round(float(v), 3) for v in a]


def _p(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _y(value: Any) -> str:
    """One YAML value on one line (flow style), quoted where YAML needs it."""
    out = yaml.dump(value, Dumper=_DUMPER, default_flow_style=True, width=10**9,
                    sort_keys=False, allow_unicode=True).strip()
    return out[:-3].strip() if out.endswith("...") else out


def _comment(text: str) -> str:
    return " ".join(str(text).split())


def _dist_mean(d: Mapping[str, Any]) -> float:
    return float(d.get("mean", d.get("value", math.nan)))


def _dist_sd(d: Mapping[str, Any]) -> float:
    return float(d.get("sd", 0.0))


def _describe(d: Mapping[str, Any]) -> str:
    inner = ", ".join(f"{k} {v:g}" if isinstance(v, float | int) else f"{k} …"
                      for k, v in d.items() if k != "dist")
    return f"{d['dist']}({inner})"


def _scenario_text(fits: list[SkuFit], suppliers: dict[str, SupplierFit],
                   prov: dict[str, Any], options: FitOptions) -> str:
    """Write the commented scenario YAML."""
    last = dt.date.fromisoformat(prov["last_day"])
    start = last + dt.timedelta(days=1)
    lead_max = max(_dist_mean(s.lead_time) for s in suppliers.values())
    warmup = int(min(365, math.ceil(2 * lead_max + 28)))
    days = (last - dt.date.fromisoformat(prov["first_day"])).days + 1
    desc = (f"Fitted by supplysim fit from {Path(prov['sales']).name}: {prov['first_day']} to "
            f"{prov['last_day']} ({days} days), {prov['rows_used']:,} of {prov['rows_read']:,} "
            f"rows used, {len(fits)} SKUs")
    if prov["purchases"]:
        desc += (f"; lead times from {Path(prov['purchases']).name} "
                 f"({prov['purchase_rows']:,} rows)")
    assumed = [s.name for s in suppliers.values() if s.source == "assumed"]
    if assumed:
        desc += f"; lead times of {', '.join(assumed)} assumed"
    desc += ". Every number is an estimate: check it (docs/fit.md)."
    o = [
        "# A scenario fitted from a sales history by `supplysim fit`; edit it freely.",
        "# Run it with: supplysim run " + (options.name + ".yaml"),
        "# Every estimate, and why it was chosen, is in the comments (docs/fit.md explains them).",
        f"name: {_y(options.name)}",
        f"description: {_y(desc)}",
        f"start_date: {start.isoformat()}   # the day after the history ends",
        f"horizon_days: {options.horizon_days}",
        f"warmup_days: {warmup}   # policies settle from the starting stock before day 0 "
        "(2 × the longest mean lead time + 4 weeks)",
        f"replications: {options.replications}",
        "seed: 0",
        "# A shop's customer who finds the shelf empty mostly buys elsewhere: the sale and its",
        "# margin are lost. Use backorder (with skus' backorder_cost_per_day) if they wait.",
        "unmet_demand: lost_sale",
        "suppliers:",
    ]
    for s in suppliers.values():
        o.append(f"  {_y(s.name)}:")
        o.append(f"    # lead time {s.source}: {_comment(s.why)}")
        if s.source == "purchases":
            ot = "n/a (no promised dates)" if math.isnan(s.on_time) else f"{s.on_time:.0%}"
            o.append(f"    # on time: {ot}; orders that overtook an earlier one: {s.crossed}")
        o.append(f"    lead_time: {_y(s.lead_time)}")
        o.append(f"    order_cost: {_y(_r(options.order_cost))}   # cost of one purchase order: "
                 "set yours (EOQ lots use it)")
        if not s.deliver_in_order:
            o.append("    deliver_in_order: false   # orders crossed in the history")
    o.append("skus:")
    for f in fits:
        sup = suppliers[f.supplier]
        lead = _dist_mean(sup.lead_time)
        daily = f.base_mean
        on_hand = math.ceil(daily * (lead + 14))
        cls = f" class {f.abc} ({f.revenue_share:.1%} of expected revenue)" if f.abc else ""
        o.append(f"  # {_comment(f.sku)}:{cls}; {f.units.size} days of history, "
                 f"{int((f.units > 0).sum())} with sales, mean {f.mean_per_day:.3g} units/day")
        o.append(f"  - id: {_y(f.sku)}")
        o.append(f"    price: {_y(_r(f.price))}   # {_comment(f.price_source)}: mean selling "
                 "price, weighted by units")
        o.append(f"    unit_cost: {_y(_r(max(f.unit_cost, 1e-6)))}   # {_comment(f.cost_source)}")
        o.append(f"    supplier: {_y(f.supplier)}")
        o.append(f"    initial_on_hand: {on_hand}   # about the lead time + 2 weeks of demand")
        o.append("    demand:")
        o.append(f"      # {_comment(f.why)}")
        for n in f.notes:
            o.append(f"      # note: {_comment(n)}")
        key = next(iter(f.demand))
        o.append(f"      {key}: {_y(f.demand[key])}")
        season = {}
        if f.monthly is not None:
            season["monthly"] = f.monthly
        if f.weekly is not None:
            season["weekly"] = f.weekly
        tests = []
        if not math.isnan(f.weekly_p):
            tests.append(f"weekly Kruskal-Wallis p={_p(f.weekly_p)}")
        if not math.isnan(f.monthly_p):
            tests.append(f"monthly p={_p(f.monthly_p)}")
        if not math.isnan(f.trend_p):
            tests.append(f"trend p={_p(f.trend_p)}")
        if tests:
            o.append(f"      # calendar tests (kept when p < {ALPHA}): {', '.join(tests)}")
        if season:
            o.append(f"      seasonality: {_y(season)}")
        if f.trend:
            o.append(f"      trend_per_year: {_y(f.trend)}")
    o += [
        "# JIT and the hybrid buy once a week (a daily review means a purchase order almost",
        "# every day); the safety-stock policy checks daily and buys an EOQ lot at its reorder",
        "# point. Change review_every_days to your buying rhythm.",
        "policies:",
        "  jit: {type: jit, review_every_days: 7}   # order up to the forecast over lead time "
        "+ review; no buffer",
        "  safety_stock: {type: safety_stock, service_level: 0.95}   # reorder point at a 95 % "
        "cycle service level, EOQ lots",
        "  hybrid: {type: hybrid, review_every_days: 7}   # ABC by expected revenue: A 98 %, "
        "B 90 %, C just in time",
        "",
    ]
    return "\n".join(o)


def write_scenario(text: str, path: str | Path, force: bool = False) -> Path:
    """Write the scenario atomically (a temporary sibling, then a rename).

    Raises:
        FitError: the file exists and ``force`` is false.

    """
    path = Path(path)
    if path.exists() and not force:
        raise FitError(f"{path}: already exists; use --force to overwrite it")
    if path.parent and not path.parent.exists():
        raise FitError(f"{path.parent}: no such folder")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# =========================================================================== charts data


def daily_check(f: SkuFit, draws: int = 400, seed: int = 0) -> pd.DataFrame:
    """Return the history against the fit: per day units, fitted mean, 90 % band, PIT.

    The band and the randomised PIT come from ``draws`` simulated days of the fitted
    model on each history day (its calendar multiplier applied), drawn from an explicit
    generator: no global random state.
    """
    rng = np.random.default_rng(seed)
    n = f.units.size
    mult = f.multiplier
    if "per_day" in f.demand:
        d = f.demand["per_day"]
        m = float(d["mean"])
        if d["dist"] == "poisson":
            base = rng.poisson(m, (draws, 1)).astype(float)
        elif d["dist"] == "negbin":
            var = float(d["sd"]) ** 2
            base = rng.negative_binomial(m * m / (var - m), m / var, (draws, 1)).astype(float)
        elif d["dist"] == "normal":
            base = np.maximum(rng.normal(m, float(d["sd"]), (draws, 1)), 0)
        else:
            s = float(d["sd"])
            base = rng.gamma((m / s) ** 2, s * s / m, (draws, 1))
        sim = np.round(base * mult[None, :])
        mean = m * mult
    else:
        c = f.demand["customers"]
        lam = float(c["orders_per_day"]) * mult
        size = c["order_size"]
        es, es2 = _size_moments(size)
        mean = lam * es
        if lam.sum() * draws > 3e6:  # compound Poisson by its normal limit for busy SKUs
            sim = np.maximum(np.round(rng.normal(mean, np.sqrt(lam * es2), (draws, n))), 0)
        else:
            k = rng.poisson(lam, (draws, n))
            total = int(k.sum())
            sz = _draw_sizes(size, rng, total)
            idx = np.repeat(np.arange(draws * n), k.ravel())
            sim = np.bincount(idx, weights=sz, minlength=draws * n).reshape(draws, n)
            sim = np.round(sim)
    lo, hi = np.quantile(sim, [0.05, 0.95], axis=0)
    x = f.units
    below, equal = (sim < x).mean(axis=0), (sim == np.round(x)).mean(axis=0)
    pit = below + rng.random(n) * equal
    dates = pd.date_range(f.start, periods=n, freq="D")
    return pd.DataFrame({"date": dates, "units": x, "mean": mean, "p05": lo, "p95": hi,
                         "pit": pit})


def _size_moments(size: Mapping[str, Any]) -> tuple[float, float]:
    if size["dist"] == "constant":
        v = float(size["value"])
        return v, v * v
    if size["dist"] == "empirical":
        v = np.asarray(size["values"], float)
        w = np.asarray(size["weights"], float)
        w = w / w.sum()
        return float(v @ w), float((v * v) @ w)
    m, s = float(size["mean"]), float(size["sd"])
    return m, s * s + m * m


def _draw_sizes(size: Mapping[str, Any], rng: np.random.Generator, n: int) -> np.ndarray:
    if size["dist"] == "constant":
        return np.full(n, float(size["value"]))
    if size["dist"] == "empirical":
        v = np.asarray(size["values"], float)
        w = np.asarray(size["weights"], float)
        return rng.choice(v, n, p=w / w.sum())
    m, s = float(size["mean"]), float(size["sd"])
    if size["dist"] == "gamma":
        return rng.gamma((m / s) ** 2, s * s / m, n)
    sig2 = math.log1p((s / m) ** 2)
    return rng.lognormal(math.log(m) - sig2 / 2, math.sqrt(sig2), n)
