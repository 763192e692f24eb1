"""The fast engine's compiled day loop (numba); imported only when the fast engine runs.

This module imports numba at the top, so nothing on the CLI's start-up path may import
it: :mod:`simulator.model.kernel` imports it inside the functions that run a batch.
The loop is the SimPy model's day, written out over flat arrays, step for step and
operation for operation (``simulator/model/replication.py``: ``Replication.clock``,
``Warehouse.receive_until``, ``Replication.order/flush/place``, ``Route.ship``), so that
its floating-point results are the SimPy engine's to the last bit wherever the same
operations are done in the same order. The random numbers come in as arrays prepared
from the engine's own streams (:mod:`simulator.model.kernel`); the loop draws none.

Policy kinds: 0 order up to S when IP < S (``BaseStock``), 1 order up to S when
IP <= s (``OrderUpTo``), 2 multiples of Q when IP <= r (``FixedLots``).

Return codes of :func:`run_replication`: 0 done; 1 a lead-time tape ran out; 2 a
clearing-delay tape ran out; 3 a pipeline outgrew its buffer. The caller lengthens
what ran short and runs the replication again (the tapes are prefixes of the same
streams, so the result is unchanged).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["NSTAT", "STAT", "run_replication"]

STAT = (
    "served", "backordered", "lost", "short", "placed", "ordered", "area", "shipped",
    "order_cost", "cycles", "cycles_short", "pos", "demand_orders", "demand_units",
    "value_sum", "backorder_sum", "backorder_days", "value_max", "capital_max",
    "on_hand_sum", "on_order_sum", "shipped_sum", "spent_sum", "stockout_days",
)  # fmt: skip
"""Per policy × SKU statistics :func:`run_replication` writes, in this order."""
NSTAT = len(STAT)

_EPS = 1e-9  # simulator.model.purchasing._EPS
_VALUE_EPS = 1e-12  # simulator.model.purchasing._VALUE_EPS


@njit(cache=True)
def _order_units(need, moq, pack):
    """``purchasing.order_units`` (pack 0 means no pack)."""
    if not need > 0:
        return 0.0
    qty = need if need > moq else moq
    if pack == 0.0:
        return qty
    packs = math.ceil(qty / pack - _EPS)
    if packs < 1:
        packs = 1
    return packs * pack


@njit(cache=True)
def _review(kind, ip, rop, upto, lot):
    """Review as a policy does: ``BaseStock``, ``OrderUpTo`` or ``FixedLots``."""
    if kind == 0:
        gap = upto - ip
        return gap if gap > 1e-9 else 0.0
    if kind == 1:
        if ip <= rop:
            gap = upto - ip
            return gap if gap >= 0.0 else 0.0
        return 0.0
    if ip > rop:
        return 0.0
    if lot <= 0:
        return 0.0
    return (math.floor((rop - ip) / lot) + 1) * lot


@njit(cache=True)
def _outage_at(t, lo, hi, o_start, o_end, o_refuse):
    """``SupplierState.outage_at``: (end, refuse) of the outage in force at t; end NaN if none."""
    end = np.nan
    refuse = False
    for j in range(lo, hi):
        if o_start[j] > t:
            break
        if t < o_end[j] and (math.isnan(end) or o_end[j] > end):
            end = o_end[j]
            refuse = o_refuse[j]
    return end, refuse


@njit(cache=True)
def _receive(k, time, inclusive, pa, pq, pd, head, size, st):
    """``Warehouse.receive_until``: apply every receipt due before ``time`` (or at it)."""
    # st columns: 0 on_hand 1 backorders 2 on_order 3 area 4 t_last 5 received 6 filled
    # 7 cycles 8 cycles_short 9 lost_since 10 spent
    h = head[k]
    n = size[k]
    while n > 0 and (pa[k, h] < time or (inclusive and pa[k, h] == time)):
        arrival = pa[k, h]
        qty = pq[k, h]
        due = pd[k, h]
        h += 1
        n -= 1
        st[k, 7] += 1
        if st[k, 1] > 0 or st[k, 9] != 0.0:
            st[k, 8] += 1
        st[k, 9] = 0.0
        st[k, 3] += st[k, 0] * (arrival - st[k, 4])
        st[k, 4] = arrival
        st[k, 2] = st[k, 2] - qty if n > 0 else 0.0
        st[k, 5] += qty
        if due != 0.0:
            st[k, 10] += due
        b = st[k, 1]
        fill = qty if qty < b else b
        if fill > 0:
            st[k, 1] = b - fill
            st[k, 6] += fill
        st[k, 0] += qty - fill
    head[k] = h
    size[k] = n


@njit(cache=True)
def _push(k, arrival, qty, due, pa, pq, pd, head, size):
    """Add a shipment to SKU k's pipeline, kept sorted by (arrival, order placed); False if full."""
    h = head[k]
    n = size[k]
    cap = pa.shape[1]
    if h + n >= cap:
        if n >= cap:
            return False
        for j in range(n):  # move the open shipments to the front
            pa[k, j] = pa[k, h + j]
            pq[k, j] = pq[k, h + j]
            pd[k, j] = pd[k, h + j]
        h = 0
        head[k] = 0
    j = h + n
    while j > h and pa[k, j - 1] > arrival:  # later equal arrivals go after (heap by seq)
        pa[k, j] = pa[k, j - 1]
        pq[k, j] = pq[k, j - 1]
        pd[k, j] = pd[k, j - 1]
        j -= 1
    pa[k, j] = arrival
    pq[k, j] = qty
    pd[k, j] = due
    size[k] = n + 1
    return True


@njit(cache=True)
def run_replication(
    n, w0, first, lost_sales,
    turns, unit_cost, price, moq, pack, init_on_hand, sup,
    oo_sku, oo_at, oo_qty,
    s_order_cost, s_line_cost, s_min_value, s_pay_later, s_premium, s_in_order,
    o_off, o_start, o_end, o_refuse,
    sh_off, sh_start, sh_end, sh_mult, sh_extra,
    cl_off, cl_start, cl_end,
    kind, period, cont, can, rop, upto, lot,
    d_off, d_t, d_q,
    lt, lt_off, lt_len, ct, ct_off, ct_len,
    pipe_cap, want_daily, per_sku,
    stats, port, daily_sku, daily_all,
):  # fmt: skip
    """Run one replication under every policy; write the statistics; return a status code.

    Arrays are per SKU in file order; ``turns`` is SKU id order, the order SKUs take
    their turn in. ``d_off[k, i]`` .. ``d_off[k, i + 1]`` index SKU k's customer
    orders of day index i in ``d_t``/``d_q``. ``lt`` holds every SKU's lead-time tape
    (primary route) from ``lt_off[k]``, ``lt_len[k]`` long; ``ct`` the clearing delays.
    """
    K = unit_cost.size
    P = kind.shape[0]
    S = s_order_cost.size
    H = n - w0
    pa = np.empty((K, pipe_cap))
    pq = np.empty((K, pipe_cap))
    pd = np.empty((K, pipe_cap))
    head = np.zeros(K, np.int64)
    size = np.zeros(K, np.int64)
    st = np.zeros((K, 11))
    # counters: 0 served 1 backordered 2 lost 3 short 4 placed 5 ordered 6 order_cost
    # 7 pos 8 served_before
    ct_ = np.zeros((K, 9))
    snap = np.zeros((K, 14))
    last_arrival = np.empty(K)
    lead_pos = np.zeros(K, np.int64)
    clear_pos = np.zeros(K, np.int64)
    line_q = np.zeros(K)
    line_on = np.zeros(K, np.bool_)
    sup_lines = np.zeros(S, np.int64)
    placed_ok = np.zeros(K, np.bool_)
    rec = np.zeros((K, 5, H))  # on_hand, backorders, on_order, shipped (cum), spent (cum)
    stock_day = np.zeros((K, n), np.bool_)
    vals = np.zeros(K)
    for p in range(P):
        anyjoin = False
        for k in range(K):
            if can[p, k] > 0 and kind[p, k] == 2:
                anyjoin = True
        for k in range(K):
            head[k] = 0
            size[k] = 0
            for c in range(11):
                st[k, c] = 0.0
            for c in range(9):
                ct_[k, c] = 0.0
            st[k, 0] = init_on_hand[k]
            st[k, 4] = float(first)
            last_arrival[k] = -np.inf
            lead_pos[k] = 0
            clear_pos[k] = 0
            line_on[k] = False
            line_q[k] = 0.0
            for i in range(n):
                stock_day[k, i] = False
        for j in range(oo_sku.size):  # open orders, landing as announced
            k = oo_sku[j]
            if not _push(k, oo_at[j], oo_qty[j], 0.0, pa, pq, pd, head, size):
                return 3
            st[k, 2] += oo_qty[j]
        nlines = 0
        for i in range(n + 1):
            day = first + i
            now = float(day)
            for kk in range(K):
                k = turns[kk]
                if i > 0:
                    y = i - 1
                    if size[k] > 0 and pa[k, head[k]] < now:
                        _receive(k, now, False, pa, pq, pd, head, size, st)
                    if y >= w0:
                        rec[k, 0, y - w0] = st[k, 0]
                        rec[k, 1, y - w0] = st[k, 1]
                        rec[k, 2, y - w0] = st[k, 2]
                        rec[k, 3, y - w0] = ct_[k, 0] + st[k, 6]
                        rec[k, 4, y - w0] = st[k, 10]
                if day == 0:
                    st[k, 3] += st[k, 0] * (now - st[k, 4])
                    st[k, 4] = now
                    ct_[k, 8] = ct_[k, 0]
                    ct_[k, 0] = 0.0
                    snap[k, 0] = ct_[k, 0]
                    snap[k, 1] = ct_[k, 1]
                    snap[k, 2] = ct_[k, 2]
                    snap[k, 3] = ct_[k, 3]
                    snap[k, 4] = ct_[k, 4]
                    snap[k, 5] = ct_[k, 5]
                    snap[k, 6] = st[k, 3]
                    snap[k, 7] = st[k, 6]
                    snap[k, 8] = ct_[k, 6]
                    snap[k, 10] = st[k, 7]
                    snap[k, 11] = st[k, 8]
                    snap[k, 12] = ct_[k, 7]
                    snap[k, 13] = st[k, 10]
                per = period[p, k] if not cont[p, k] else n + 1
                if i % per == 0 and i < n:
                    ip = st[k, 0] - st[k, 1] + st[k, 2]
                    qty = _review(kind[p, k], ip, rop[p, k, i], upto[p, k, i], lot[p, k, i])
                    if qty > 0:
                        line_q[k] = _order_units(qty, moq[k], pack[k])
                        line_on[k] = True
                        sup_lines[sup[k]] += 1
                        nlines += 1
            if nlines > 0:
                code = _flush(
                    now, i, True, anyjoin, K, S, turns, sup, moq, pack, unit_cost,
                    s_order_cost, s_line_cost, s_min_value, s_pay_later, s_premium, s_in_order,
                    o_off, o_start, o_end, o_refuse, sh_off, sh_start, sh_end, sh_mult,
                    sh_extra, cl_off, cl_start, cl_end, kind[p], can[p], rop[p], lot[p],
                    lt, lt_off, lt_len, lead_pos, ct, ct_off, ct_len, clear_pos, last_arrival,
                    line_q, line_on, sup_lines, placed_ok, pa, pq, pd, head, size, st, ct_,
                )  # fmt: skip
                if code != 0:
                    return code
                nlines = 0
            if i == n:
                break
            for kk in range(K):
                k = turns[kk]
                cont_k = cont[p, k]
                for j in range(d_off[k, i], d_off[k, i + 1]):
                    t = d_t[j]
                    qty = d_q[j]
                    if size[k] > 0 and pa[k, head[k]] <= t:
                        _receive(k, t, True, pa, pq, pd, head, size, st)
                    on_hand = st[k, 0]
                    if qty <= on_hand:
                        if qty > 0:
                            st[k, 3] += on_hand * (t - st[k, 4])
                            st[k, 4] = t
                            st[k, 0] = on_hand - qty
                            ct_[k, 0] += qty
                    else:
                        st[k, 3] += on_hand * (t - st[k, 4])
                        st[k, 4] = t
                        ct_[k, 0] += on_hand
                        st[k, 0] = 0.0
                        ct_[k, 3] += 1
                        stock_day[k, i] = True
                        if lost_sales:
                            ct_[k, 2] += qty - on_hand
                            st[k, 9] = 1.0
                        else:
                            st[k, 1] += qty - on_hand
                            ct_[k, 1] += qty - on_hand
                    if cont_k:
                        ip = st[k, 0] - st[k, 1] + st[k, 2]
                        want = _review(kind[p, k], ip, rop[p, k, i], upto[p, k, i], lot[p, k, i])
                        if want > 0:
                            line_q[k] = _order_units(want, moq[k], pack[k])
                            line_on[k] = True
                            sup_lines[sup[k]] += 1
                            code = _flush(
                                t, i, False, anyjoin, K, S, turns, sup, moq, pack, unit_cost,
                                s_order_cost, s_line_cost, s_min_value, s_pay_later, s_premium,
                                s_in_order, o_off, o_start, o_end, o_refuse, sh_off, sh_start,
                                sh_end, sh_mult, sh_extra, cl_off, cl_start, cl_end, kind[p],
                                can[p], rop[p], lot[p], lt, lt_off, lt_len, lead_pos, ct, ct_off,
                                ct_len, clear_pos, last_arrival, line_q, line_on, sup_lines,
                                placed_ok, pa, pq, pd, head, size, st, ct_,
                            )  # fmt: skip
                            if code != 0:
                                return code
        end = float(first + n)
        for k in range(K):
            st[k, 3] += st[k, 0] * (end - st[k, 4])
            st[k, 4] = end
        _finish(p, n, w0, H, K, d_off, d_q, unit_cost, price, turns, rec, stock_day, st, ct_,
                snap, stats, port, vals, want_daily, per_sku, daily_sku, daily_all)  # fmt: skip
    return 0


@njit(cache=True)
def _flush(
    now, i, periodic, anyjoin, K, S, turns, sup, moq, pack, unit_cost,
    s_order_cost, s_line_cost, s_min_value, s_pay_later, s_premium, s_in_order,
    o_off, o_start, o_end, o_refuse, sh_off, sh_start, sh_end, sh_mult, sh_extra,
    cl_off, cl_start, cl_end, kind, can, rop, lot,
    lt, lt_off, lt_len, lead_pos, ct, ct_off, ct_len, clear_pos, last_arrival,
    line_q, line_on, sup_lines, placed_ok, pa, pq, pd, head, size, st, ct_,
):  # fmt: skip
    """``Replication.flush``: one purchase order per supplier of the lines written now."""
    for s in range(S):
        if sup_lines[s] == 0:
            continue
        if periodic and anyjoin:  # Replication.joined: SKUs at their can-order level join
            for kk in range(K):
                k = turns[kk]
                if sup[k] != s or line_on[k] or kind[k] != 2 or not can[k] > 0:
                    continue
                q = lot[k, i]
                if q <= 0:
                    continue
                c = rop[k, i] + can[k] * q
                ip = st[k, 0] - st[k, 1] + st[k, 2]
                if ip > c:
                    continue
                want = (math.floor((c - ip) / q) + 1) * q
                if want > 0:
                    line_q[k] = _order_units(want, moq[k], pack[k])
                    line_on[k] = True
        min_value = s_min_value[s]
        if min_value > 0:  # purchasing.purchase_order, lines in turn order
            value = 0.0
            for kk in range(K):
                k = turns[kk]
                if line_on[k] and sup[k] == s:
                    value += line_q[k] * unit_cost[k]
            if value > 0 and value < min_value:
                scale = min_value / value
                for kk in range(K):
                    k = turns[kk]
                    if line_on[k] and sup[k] == s and line_q[k] > 0:
                        q = line_q[k]
                        x = q * scale
                        if pack[k] != 0.0:
                            x = math.floor(x / pack[k] + _EPS) * pack[k]
                        line_q[k] = q if q >= x else x
                value = 0.0
                for kk in range(K):
                    k = turns[kk]
                    if line_on[k] and sup[k] == s:
                        value += line_q[k] * unit_cost[k]
                for kk in range(K):
                    k = turns[kk]
                    if not (line_on[k] and sup[k] == s):
                        continue
                    if value >= min_value * (1 - _VALUE_EPS):
                        break
                    q = line_q[k]
                    if q > 0:
                        step = pack[k] if pack[k] != 0.0 else (min_value - value) / unit_cost[k]
                        line_q[k] = q + step
                        value += step * unit_cost[k]
        placed = 0
        for kk in range(K):
            k = turns[kk]
            placed_ok[k] = False
            if not (line_on[k] and sup[k] == s):
                continue
            code = _place(
                k, s, line_q[k], now, unit_cost, s_pay_later, s_premium, s_in_order,
                o_off, o_start, o_end, o_refuse, sh_off, sh_start, sh_end, sh_mult, sh_extra,
                cl_off, cl_start, cl_end, lt, lt_off, lt_len, lead_pos, ct, ct_off, ct_len,
                clear_pos, last_arrival, pa, pq, pd, head, size, st, ct_,
            )  # fmt: skip
            if code < 0:
                return -code
            if code == 1:
                placed_ok[k] = True
                placed += 1
        if placed:
            cost = s_order_cost[s] / placed + s_line_cost[s]
            share = 1.0 / placed
            for kk in range(K):
                k = turns[kk]
                if placed_ok[k]:
                    ct_[k, 6] += cost
                    st[k, 10] += cost
                    ct_[k, 7] += share
                    placed_ok[k] = False
        for kk in range(K):
            k = turns[kk]
            if sup[k] == s:
                line_on[k] = False
                line_q[k] = 0.0
        sup_lines[s] = 0
    return 0


@njit(cache=True)
def _place(
    k, s, qty, now, unit_cost, s_pay_later, s_premium, s_in_order,
    o_off, o_start, o_end, o_refuse, sh_off, sh_start, sh_end, sh_mult, sh_extra,
    cl_off, cl_start, cl_end, lt, lt_off, lt_len, lead_pos, ct, ct_off, ct_len,
    clear_pos, last_arrival, pa, pq, pd, head, size, st, ct_,
):  # fmt: skip
    """``Replication.place`` + ``Route.ship`` without capacity: 1 placed, 0 refused, <0 error."""
    lo, hi = o_off[s], o_off[s + 1]
    t = now
    if hi > lo:
        end, refuse = _outage_at(now, lo, hi, o_start, o_end, o_refuse)
        if not math.isnan(end) and refuse:
            return 0
        while not math.isnan(end):  # up_from: held until the supplier is back
            t = end
            end, refuse = _outage_at(t, lo, hi, o_start, o_end, o_refuse)
    mult = 1.0
    extra = 0.0
    for j in range(sh_off[s], sh_off[s + 1]):
        if sh_start[j] <= now and now < sh_end[j]:
            mult *= sh_mult[j]
            extra += sh_extra[j]
    if lead_pos[k] >= lt_len[k]:
        return -1
    lead = lt[lt_off[k] + lead_pos[k]]
    lead_pos[k] += 1
    arrival = t + lead * mult + extra
    moved = cl_off[s + 1] > cl_off[s]
    while moved:  # Route._land: held by a port closure until it ends, plus clearing
        moved = False
        for j in range(cl_off[s], cl_off[s + 1]):
            if cl_start[j] <= arrival and arrival < cl_end[j]:
                if clear_pos[k] >= ct_len[k]:
                    return -2
                arrival = cl_end[j] + ct[ct_off[k] + clear_pos[k]]
                clear_pos[k] += 1
                moved = True
    if s_in_order[s]:
        if arrival < last_arrival[k]:
            arrival = last_arrival[k]
        last_arrival[k] = arrival
    price = unit_cost[k] * (1 + s_premium[s])
    due = qty * price if s_pay_later[s] else 0.0
    if not _push(k, arrival, qty, due, pa, pq, pd, head, size):
        return -3
    st[k, 2] += qty
    if not s_pay_later[s]:
        st[k, 10] += qty * price
    ct_[k, 4] += 1
    ct_[k, 5] += qty
    return 1


@njit(cache=True)
def _finish(p, n, w0, H, K, d_off, d_q, unit_cost, price, turns, rec, stock_day, st, ct_,
            snap, stats, port, vals, want_daily, per_sku, daily_sku, daily_all):  # fmt: skip
    """Reduce one policy's run to the statistics the rows need (and the daily paths)."""
    for k in range(K):
        orders = 0
        units = 0.0
        for j in range(d_off[k, w0], d_off[k, n]):
            q = d_q[j]
            if q != 0:
                orders += 1
            units += q
        c = unit_cost[k]
        out = stats[p, k]
        out[0] = ct_[k, 0]
        out[1] = ct_[k, 1] - snap[k, 1]
        out[2] = ct_[k, 2] - snap[k, 2]
        out[3] = ct_[k, 3] - snap[k, 3]
        out[4] = ct_[k, 4] - snap[k, 4]
        out[5] = ct_[k, 5] - snap[k, 5]
        out[6] = st[k, 3] - snap[k, 6]
        out[7] = ct_[k, 0] + st[k, 6] - snap[k, 7]
        out[8] = ct_[k, 6] - snap[k, 8]
        out[9] = st[k, 7] - snap[k, 10]
        out[10] = st[k, 8] - snap[k, 11]
        out[11] = ct_[k, 7] - snap[k, 12]
        out[12] = orders
        out[13] = units
        value_sum = 0.0
        bo_sum = 0.0
        bo_days = 0.0
        value_max = -np.inf
        cap_max = -np.inf
        oh_sum = 0.0
        oo_sum = 0.0
        shipped_sum = 0.0
        spent_sum = 0.0
        prev_ship = snap[k, 7]
        prev_spent = snap[k, 13]
        days_out = 0.0
        for y in range(H):
            oh = rec[k, 0, y]
            bo = rec[k, 1, y]
            oo = rec[k, 2, y]
            v = oh * c
            value_sum += v
            if v > value_max:
                value_max = v
            cap = (oh + oo) * c
            if cap > cap_max:
                cap_max = cap
            bo_sum += bo
            if bo > 0:
                bo_days += 1
            oh_sum += oh
            oo_sum += oo
            shipped_sum += rec[k, 3, y] - prev_ship
            prev_ship = rec[k, 3, y]
            spent_sum += rec[k, 4, y] - prev_spent
            prev_spent = rec[k, 4, y]
            if stock_day[k, w0 + y]:
                days_out += 1
        out[14] = value_sum
        out[15] = bo_sum
        out[16] = bo_days
        out[17] = value_max
        out[18] = cap_max
        out[19] = oh_sum
        out[20] = oo_sum
        out[21] = shipped_sum
        out[22] = spent_sum
        out[23] = days_out
    # Portfolio paths, summed in SKU id order: stock value, stock + pipeline, any stockout.
    vmax = -np.inf
    cmax = -np.inf
    anyout = 0.0
    vsum = 0.0
    for y in range(H):
        v = 0.0
        cap = 0.0
        out_ = False
        for kk in range(K):
            k = turns[kk]
            if kk == 0:
                v = rec[k, 0, y] * unit_cost[k]
                cap = (rec[k, 0, y] + rec[k, 2, y]) * unit_cost[k]
            else:
                v = v + rec[k, 0, y] * unit_cost[k]
                cap = cap + (rec[k, 0, y] + rec[k, 2, y]) * unit_cost[k]
            out_ = out_ or stock_day[k, w0 + y]
        vsum += v
        if v > vmax:
            vmax = v
        if cap > cmax:
            cmax = cap
        if out_:
            anyout += 1
    port[p, 0] = vmax
    port[p, 1] = cmax
    port[p, 2] = anyout
    port[p, 3] = vsum
    if not want_daily:
        return
    # metrics.daily_paths: on_hand, backorders, cash tied up, on order, cash position,
    # inventory position; the portfolio summed in file order.
    for k in range(K):
        cash = 0.0
        prev_ship = snap[k, 7]
        prev_spent = snap[k, 13]
        for y in range(H):
            oh = rec[k, 0, y]
            bo = rec[k, 1, y]
            oo = rec[k, 2, y]
            shipped = rec[k, 3, y] - prev_ship
            prev_ship = rec[k, 3, y]
            spent = rec[k, 4, y] - prev_spent
            prev_spent = rec[k, 4, y]
            cash += shipped * price[k] - spent
            f0 = oh
            f1 = bo
            f2 = oh * unit_cost[k]
            f3 = oo
            f4 = cash
            f5 = oh - bo + oo
            if per_sku:
                daily_sku[p, k, 0, y] = f0
                daily_sku[p, k, 1, y] = f1
                daily_sku[p, k, 2, y] = f2
                daily_sku[p, k, 3, y] = f3
                daily_sku[p, k, 4, y] = f4
                daily_sku[p, k, 5, y] = f5
            if k == 0:
                daily_all[p, 0, y] = f0
                daily_all[p, 1, y] = f1
                daily_all[p, 2, y] = f2
                daily_all[p, 3, y] = f3
                daily_all[p, 4, y] = f4
                daily_all[p, 5, y] = f5
            else:
                daily_all[p, 0, y] += f0
                daily_all[p, 1, y] += f1
                daily_all[p, 2, y] += f2
                daily_all[p, 3, y] += f3
                daily_all[p, 4, y] += f4
                daily_all[p, 5, y] += f5
