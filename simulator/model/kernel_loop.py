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
clearing-delay tape ran out; 3 a pipeline outgrew its buffer; 4 shipments went past
the weeks of capacity bookkeeping. The caller lengthens
what ran short and runs the replication again (the tapes are prefixes of the same
streams, so the result is unchanged).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

__all__ = ["NSTAT", "STAT", "run_replication"]

STAT = (
    "served", "backordered", "lost", "short", "placed", "ordered", "area", "shipped",
    "order_cost", "cycles", "cycles_short", "pos", "demand_orders", "demand_units",
    "value_sum", "backorder_sum", "backorder_days", "value_max", "capital_max",
    "on_hand_sum", "on_order_sum", "shipped_sum", "spent_sum", "stockout_days", "expedite",
    "on_hand_end",
)  # fmt: skip
"""Per policy × SKU statistics :func:`run_replication` writes, in this order."""
NSTAT = len(STAT)

@intrinsic
def _borrow(typingctx, arr):
    """Return a view of ``arr`` that is not reference counted (``arr`` must outlive it).

    numba counts references to an array each time the loop hands it to a helper, with an
    atomic increment and decrement: about 30 % of the loop's time, measured with
    ``perf`` (``NRT_incref``/``NRT_decref``). A view without a memory-info pointer
    skips them. :func:`run_replication` holds every array it borrows until the loop
    returns.
    """

    def codegen(context, builder, sig, args):
        view = context.make_array(sig.args[0])(context, builder, value=args[0])
        view.meminfo = context.get_constant_null(types.MemInfoPointer(types.voidptr))
        view.parent = context.get_constant_null(types.pyobject)
        return view._getvalue()

    return arr(arr), codegen


_EPS = 1e-9  # simulator.model.purchasing._EPS
_VALUE_EPS = 1e-12  # simulator.model.purchasing._VALUE_EPS


@njit(cache=True, inline="always")
def _order_units(need, moq, pack):
    """``purchasing.order_units`` (pack 0 means no pack)."""
    if not need > 0:
        return 0.0
    qty = need if need > moq else moq
    if pack == 0.0:
        return qty
    packs = np.ceil(qty / pack - _EPS)  # floats: numba's math.ceil is int64 (wraps)
    if packs < 1:
        packs = 1
    return packs * pack


@njit(cache=True, inline="always")
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
    return (np.floor((rop - ip) / lot) + 1) * lot


@njit(cache=True, inline="always")
def _outage_at(t, lo, hi, win):
    """``SupplierState.outage_at``: (end, refuse) of the outage in force at t; end NaN if none."""
    end = np.nan
    refuse = False
    for j in range(lo, hi):
        if win[0, j] > t:
            break
        if t < win[1, j] and (math.isnan(end) or win[1, j] > end):
            end = win[1, j]
            refuse = win[2, j] != 0.0
    return end, refuse


# Packed inputs (built by simulator.model.kernel), so that every helper takes few enough
# arguments for numba to inline it (a call passing dozens of arrays costs ~0.5 µs, and
# numba inlines only functions of fewer than about 25 arguments):
#   skuf[:, k]  unit cost, price, MOQ, pack (0: none), initial on-hand
#   skui[0, k]  supplier index; skui[1] is the turn order (SKU id order)
#   supf[:, s]  order cost, line cost, minimum order value, premium, pays on receipt,
#               delivers in order, units per week (NaN: no capacity limit)
#   win[:, j]   windows: outages (start, end, refuse), shocks (start, end, ×, +days),
#               closures (start, end, clearing distribution); woff[0|1|2, s] ..
#               woff[.., s + 1] index them
#   tape, toff  lead times from toff[0, k] (toff[1, k] of them), clearing delays from
#               toff[2, k] + p·toff[4, k] (toff[3, k] pairs: delay, its distribution)
#   pipe[0|1|2, k, :]  open shipments' arrival, units, amount due on receipt
#   ist[0|1|2|3, k]    pipeline head, pipeline size, lead times used, delays used
#   st[k, :]    0 on_hand 1 backorders 2 on_order 3 area 4 t_last 5 received 6 filled
#               7 cycles 8 cycles_short 9 lost_since 10 spent 11 last arrival
#   ct_[k, :]   0 served 1 backordered 2 lost 3 short 4 placed 5 ordered 6 order_cost
#               7 pos 8 served_before


@njit(cache=True, inline="always")
def _receive(k, time, inclusive, pipe, ist, st):
    """``Warehouse.receive_until``: apply every receipt due before ``time`` (or at it)."""
    h = ist[0, k]
    n = ist[1, k]
    while n > 0 and (pipe[0, k, h] < time or (inclusive and pipe[0, k, h] == time)):
        arrival = pipe[0, k, h]
        qty = pipe[1, k, h]
        due = pipe[2, k, h]
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
    ist[0, k] = h
    ist[1, k] = n


@njit(cache=True, inline="always")
def _push(k, arrival, qty, due, planned, pipe, ist):
    """Add a shipment to SKU k's pipeline, sorted by (arrival, order placed); False if full.

    Fields: arrival, units, amount due on receipt, planned landing, sequence number.
    """
    h = ist[0, k]
    n = ist[1, k]
    cap = pipe.shape[2]
    if h + n >= cap:
        if n >= cap:
            return False
        for j in range(n):  # move the open shipments to the front
            for f in range(5):
                pipe[f, k, j] = pipe[f, k, h + j]
        h = 0
        ist[0, k] = 0
    j = h + n
    while j > h and pipe[0, k, j - 1] > arrival:  # later equal arrivals go after (heap by seq)
        for f in range(5):
            pipe[f, k, j] = pipe[f, k, j - 1]
        j -= 1
    ist[4, k] += 1
    pipe[0, k, j] = arrival
    pipe[1, k, j] = qty
    pipe[2, k, j] = due
    pipe[3, k, j] = planned
    pipe[4, k, j] = ist[4, k]
    ist[1, k] = n + 1
    return True


@njit(cache=True, inline="always")
def _schedule(qty, at, s, known, capw, which, sch, row, cap, win, woff, first):
    """``SupplierState._schedule``: take weekly capacity from ``at``; return the parts (-1: full).

    Writes each part's ship time to ``sch[row]`` and its units (``known``: the units
    shipped by then) to ``sch[row + 1]``; ``capw[which, s]`` is the capacity used per week
    (0: as it happens, 1: as the buyer books it, with the announced outages only).
    """
    W = capw.shape[2]
    wmin = math.floor(first / 7) - 1
    lo, hi = (woff[3, s], woff[3, s + 1]) if known else (woff[0, s], woff[0, s + 1])
    cnt = 0
    total = 0.0
    while qty > 1e-12:
        end, refuse = _outage_at(at, lo, hi, win)  # up_from(at, known)
        while not math.isnan(end):
            at = end
            end, refuse = _outage_at(at, lo, hi, win)
        week = math.floor(at / 7)
        w = week - wmin
        if w < 0 or w >= W or cnt >= sch.shape[1]:
            return -1
        room = cap - capw[which, s, w]
        if room > 1e-12:
            take = qty if qty < room else room
            capw[which, s, w] = capw[which, s, w] + take
            total += take
            sch[row, cnt] = at
            sch[row + 1, cnt] = total if known else take
            cnt += 1
            qty -= take
        nxt = 7.0 * (week + 1)
        at = nxt if nxt > at else at
    return cnt


@njit(cache=True, inline="always")
def _place(k, r, s, p, qty, now, x, first, skuf, supf, win, woff, pl, tape, toff, ist, pipe,
           st, ct_, capw, sch):  # fmt: skip
    """``Replication.place`` + ``Route.ship`` under policy p: 1 placed, 0 refused, <0 error.

    Route r is SKU k's primary (r = k) or its backup (r = K + k, ``x``: an expedite) to
    supplier s. A capacity splits the order over weeks (``SupplierState.allocate``), each
    part with its own lead time. Each shipment's planned landing
    (``Replication.planned_arrival``) is kept for the planner's view (``_expedite``).
    """
    K = skuf.shape[1]
    lo, hi = woff[0, s], woff[0, s + 1]
    t = now
    if hi > lo:
        end, refuse = _outage_at(now, lo, hi, win)
        if not math.isnan(end) and refuse:
            return 0
        while not math.isnan(end):  # up_from: held until the supplier is back
            t = end
            end, refuse = _outage_at(t, lo, hi, win)
    expected = now  # up_from(now, known=True): the announced outages only
    lo, hi = woff[3, s], woff[3, s + 1]
    end, refuse = _outage_at(expected, lo, hi, win)
    while not math.isnan(end):
        expected = end
        end, refuse = _outage_at(expected, lo, hi, win)
    mult = 1.0
    extra = 0.0
    for j in range(woff[1, s], woff[1, s + 1]):
        if win[0, j] <= now and now < win[1, j]:
            mult *= win[2, j]
            extra += win[3, j]
    cap = supf[6, s]
    if math.isnan(cap):
        parts = 1
        sch[0, 0] = t
        sch[1, 0] = qty
        sch[2, 0] = expected
    else:  # SupplierState.allocate: the booked schedule first, then the real one
        booked = _schedule(qty, expected, s, True, capw, 1, sch, 3, cap, win, woff, first)
        if booked < 0:
            return -4
        parts = _schedule(qty, t, s, False, capw, 0, sch, 0, cap, win, woff, first)
        if parts < 0:
            return -4
        done = 0.0
        for a in range(parts):
            done += sch[1, a]
            when = sch[3, booked - 1]
            for e in range(booked):
                if sch[4, e] >= done - 1e-9:
                    when = sch[3, e]
                    break
            sch[2, a] = when
    col = 11 if r < K else 12  # the route's last landing (shipments in order)
    pay_later = supf[4, s] != 0.0
    for a in range(parts):
        if ist[2, r] >= toff[1, r]:
            return -1
        lead = tape[toff[0, r] + ist[2, r]]
        ist[2, r] += 1
        arrival = sch[0, a] + lead * mult + extra
        moved = woff[2, s + 1] > woff[2, s]
        while moved:  # Route._land: held by a port closure until it ends, plus clearing
            moved = False
            for j in range(woff[2, s], woff[2, s + 1]):
                if win[0, j] <= arrival and arrival < win[1, j]:
                    if ist[3, r] >= toff[3, r]:
                        return -2
                    at = toff[2, r] + p * toff[4, r] + 2 * ist[3, r]  # (delay, its kind)
                    if tape[at + 1] != win[2, j]:  # drawn from another closure's kind:
                        tape[at + 1] = -1.0 - win[2, j]  # say which, to be drawn again
                        return -2
                    arrival = win[1, j] + tape[at]
                    ist[3, r] += 1
                    moved = True
        if supf[5, s] != 0.0:
            if arrival < st[k, col]:
                arrival = st[k, col]
            st[k, col] = arrival
        shipped = sch[2, a]
        if x:
            planned = shipped + skuf[6, k]
        else:
            day = math.floor(shipped)
            idx = day - first
            if 0 <= idx < pl.shape[2]:
                planned = pl[0, k, idx] + (shipped - day)
            else:
                planned = shipped + skuf[7, k]
        q = sch[1, a]
        due = q * skuf[0, k] * (1 + supf[3, s]) if pay_later else 0.0
        if not _push(k, arrival, q, due, planned, pipe, ist):
            return -3
        st[k, 2] += q
    if not pay_later:
        st[k, 10] += qty * skuf[0, k] * (1 + supf[3, s])
    ct_[k, 4] += 1
    ct_[k, 5] += qty
    if x:
        ct_[k, 9] += qty * skuf[0, k] * supf[3, s]
    return 1


@njit(cache=True, inline="always")
def _expedite(k, i, now, qty, skuf, skui, win, woff, pl, pipe, ist, st):
    """``Replication.expedite``: units of an order to take from the backup (0: none).

    All of it when the primary is down now; else the shortfall when the stock, with what
    is *planned* to land before a primary order could, runs out before that order would
    land and the backup is faster.
    """
    s = skui[0, k]
    end, refuse = _outage_at(now, woff[0, s], woff[0, s + 1], win)
    if not math.isnan(end):
        return qty
    delay = pl[2, k, i]
    if math.isnan(skuf[6, k]) or delay <= skuf[6, k]:
        return 0.0
    horizon = now + delay
    landing = 0.0
    h = ist[0, k]
    last = -1.0
    while True:  # the open shipments in the order they were placed (the planner's dict)
        best = -1
        low = np.inf
        for j in range(h, h + ist[1, k]):
            if pipe[4, k, j] > last and pipe[4, k, j] < low:
                low = pipe[4, k, j]
                best = j
        if best < 0:
            break
        last = low
        planned = pipe[3, k, best]
        if now <= planned and planned <= horizon:
            landing += pipe[1, k, best]
    short = pl[1, k, i] - (st[k, 0] - st[k, 1] + landing)
    if short > 0:
        return short if short < qty else qty
    return 0.0


@njit(cache=True, inline="always")
def _order(k, i, now, qty, p, ent, ne, skuf, skui, pol_i, win, woff, pl, pipe, ist, st):
    """``Replication.order``: SKU k's line(s) for a need of ``qty``; return the lines written.

    ``ent[:, e]`` is line e: SKU, supplier, units, route, expedite (1) or not (0).
    """
    K = skuf.shape[1]
    qty = _order_units(qty, skuf[2, k], skuf[3, k])
    if pol_i[3, p, k] != 0:
        fast = _expedite(k, i, now, qty, skuf, skui, win, woff, pl, pipe, ist, st)
        if fast > 0:
            fast = _order_units(fast, skuf[2, k], skuf[3, k])
            fast = qty if qty < fast else fast
            ent[0, ne] = k
            ent[1, ne] = skuf[5, k]
            ent[2, ne] = fast
            ent[3, ne] = K + k
            ent[4, ne] = 1.0
            ne += 1
            qty = _order_units(qty - fast, skuf[2, k], skuf[3, k]) if qty > fast else 0.0
    if qty > 0:
        ent[0, ne] = k
        ent[1, ne] = skui[0, k]
        ent[2, ne] = qty
        ent[3, ne] = k
        ent[4, ne] = 0.0
        ne += 1
    return ne


@njit(cache=True, inline="always")
def _flush(now, i, periodic, p, ent, ne, first, skuf, skui, supf, win, woff, pol_i, can, lev,
           pl, tape, toff, ist, pipe, st, ct_, rank, scr, capw, sch):  # fmt: skip
    """``Replication.flush``: one purchase order per supplier of the lines written now.

    Suppliers in the order their first line was written; on each, the lines in turn
    order, SKUs at their can-order level joining (periodic reviews), topped up to the
    minimum order value; the order cost split over the lines the supplier accepted.
    ``scr`` is scratch: [0] the suppliers' order, [1] a purchase order's lines, [2] which
    were placed.
    """
    K = skuf.shape[1]
    turns = skui[1]
    ns = 0
    for e in range(ne):
        s = int(ent[1, e])
        seen = False
        for j in range(ns):
            if scr[0, j] == s:
                seen = True
        if not seen:
            scr[0, ns] = s
            ns += 1
    for js in range(ns):
        s = scr[0, js]
        m = 0
        for e in range(ne):
            if int(ent[1, e]) == s:
                scr[1, m] = e
                m += 1
        if periodic:  # Replication.joined: SKUs at their can-order level join
            joined = False
            for kk in range(K):
                k = turns[kk]
                if skui[0, k] != s or pol_i[0, p, k] != 2 or not can[p, k] > 0:
                    continue
                on = False
                for a in range(m):
                    if int(ent[0, scr[1, a]]) == k:
                        on = True
                if on:
                    continue
                q = lev[2, p, k, i]
                if q <= 0:
                    continue
                c = lev[0, p, k, i] + can[p, k] * q
                ip = st[k, 0] - st[k, 1] + st[k, 2]
                if ip > c:
                    continue
                want = (np.floor((c - ip) / q) + 1) * q
                if want > 0:
                    ent[0, ne] = k
                    ent[1, ne] = s
                    ent[2, ne] = _order_units(want, skuf[2, k], skuf[3, k])
                    ent[3, ne] = k
                    ent[4, ne] = 0.0
                    scr[1, m] = ne
                    ne += 1
                    m += 1
                    joined = True
            if joined:  # back into turn order
                for a in range(1, m):
                    x = scr[1, a]
                    rx = rank[int(ent[0, x])]
                    b = a
                    while b > 0 and rank[int(ent[0, scr[1, b - 1]])] > rx:
                        scr[1, b] = scr[1, b - 1]
                        b -= 1
                    scr[1, b] = x
        min_value = supf[2, s]
        if min_value > 0:  # purchasing.purchase_order, lines in turn order
            value = 0.0
            for a in range(m):
                e = scr[1, a]
                value += ent[2, e] * skuf[0, int(ent[0, e])]
            if value > 0 and value < min_value:
                scale = min_value / value
                for a in range(m):
                    e = scr[1, a]
                    k = int(ent[0, e])
                    q = ent[2, e]
                    if q > 0:
                        x = q * scale
                        if skuf[3, k] != 0.0:
                            x = np.floor(x / skuf[3, k] + _EPS) * skuf[3, k]
                        ent[2, e] = q if q >= x else x
                value = 0.0
                for a in range(m):
                    e = scr[1, a]
                    value += ent[2, e] * skuf[0, int(ent[0, e])]
                for a in range(m):
                    if value >= min_value * (1 - _VALUE_EPS):
                        break
                    e = scr[1, a]
                    k = int(ent[0, e])
                    q = ent[2, e]
                    if q > 0:
                        step = skuf[3, k] if skuf[3, k] != 0.0 else (min_value - value) / skuf[0, k]
                        ent[2, e] = q + step
                        value += step * skuf[0, k]
        placed = 0
        for a in range(m):
            e = scr[1, a]
            k = int(ent[0, e])
            code = _place(k, int(ent[3, e]), s, p, ent[2, e], now, ent[4, e] != 0.0, first,
                          skuf, supf, win, woff, pl, tape, toff, ist, pipe, st, ct_, capw,
                          sch)  # fmt: skip
            if code < 0:
                return -code
            scr[2, a] = code
            placed += code
        if placed:
            cost = supf[0, s] / placed + supf[1, s]
            share = 1.0 / placed
            for a in range(m):
                if scr[2, a] == 1:
                    k = int(ent[0, scr[1, a]])
                    ct_[k, 6] += cost
                    st[k, 10] += cost
                    ct_[k, 7] += share
    return 0


@njit(cache=True, inline="always")
def _flush_plain(now, lines, nl, skuf, skui, supf, tape, toff, ist, pipe, st, ct_, line_q,
                 per_sup):  # fmt: skip
    """:func:`_flush` where no supplier has windows or a minimum value and no SKU joins.

    The same operations in the same order for each SKU (its line placed, then its share of
    the purchase order's cost), written straight: the general flush, inlined in the day
    loop, made the whole loop about twice as slow.
    """
    for j in range(nl):
        per_sup[skui[0, lines[j]]] += 1
    for j in range(nl):
        k = lines[j]
        s = skui[0, k]
        qty = line_q[k]
        if ist[2, k] >= toff[1, k]:
            return 1
        arrival = now + tape[toff[0, k] + ist[2, k]]
        ist[2, k] += 1
        if supf[5, s] != 0.0:
            if arrival < st[k, 11]:
                arrival = st[k, 11]
            st[k, 11] = arrival
        pay_later = supf[4, s] != 0.0
        due = qty * skuf[0, k] * (1 + supf[3, s]) if pay_later else 0.0
        if not _push(k, arrival, qty, due, np.nan, pipe, ist):
            return 3
        st[k, 2] += qty
        if not pay_later:
            st[k, 10] += qty * skuf[0, k] * (1 + supf[3, s])
        ct_[k, 4] += 1
        ct_[k, 5] += qty
    for j in range(nl):
        k = lines[j]
        s = skui[0, k]
        cost = supf[0, s] / per_sup[s] + supf[1, s]
        ct_[k, 6] += cost
        st[k, 10] += cost
        ct_[k, 7] += 1.0 / per_sup[s]
        line_q[k] = 0.0
    for j in range(nl):
        per_sup[skui[0, lines[j]]] = 0
    return 0


@njit(cache=True)
def run_replication(
    n, w0, first, lost_sales, skuf, skui, supf, win, woff, oo, pol_i, can, lev, pl,
    d_off, d_t, d_q, tape, toff, pipe_cap, weeks, want_daily, per_sku, stats, port,
    daily_sku, daily_all,
):  # fmt: skip
    """Run one replication under every policy; write the statistics; return a status code.

    Arrays are per SKU in file order; SKUs take their turn in SKU id order (``skui[1]``).
    ``d_off[k, i]`` .. ``d_off[k, i + 1]`` index SKU k's customer orders of day index i
    in ``d_t``/``d_q``. ``pol_i[0|1|2, p, k]`` is policy p's kind, review period and
    continuous flag for SKU k, ``can[p, k]`` its can-order fraction, ``lev[0|1|2, p, k, i]``
    its reorder point, order-up-to level and lot on day index i; ``oo[0|1|2, j]`` the open
    orders' SKU, landing and units; ``pol_i[3, p, k]`` whether policy p expedites SKU k
    from its backup; ``pl[0|1|2, k, i]`` the planner's expected landing of an order placed
    on day index i, the forecast over the wait for it, and that wait.
    """
    K = skuf.shape[1]
    P = pol_i.shape[1]
    H = n - w0
    pipe = np.empty((5, K, pipe_cap))
    ist = np.zeros((5, 2 * K), np.int64)
    st = np.zeros((K, 13))
    ct_ = np.zeros((K, 10))
    ent = np.zeros((5, 3 * K))
    scr = np.zeros((3, 3 * K), np.int64)
    S = supf.shape[1]
    capw = np.zeros((2, S, weeks))  # capacity used per week: as it happens, as booked
    sch = np.zeros((5, weeks))
    most = 0  # the most customer orders in one day, all SKUs together
    for i in range(n):
        c = 0
        for k in range(K):
            c += d_off[k, i + 1] - d_off[k, i]
        most = c if c > most else most
    day_k = np.zeros(most, np.int64)  # the day's customer orders in the order they are served
    day_j = np.zeros(most, np.int64)
    ptr = np.zeros(K, np.int64)
    users = np.zeros(S, np.int64)
    snap = np.zeros((K, 14))
    line_q = np.zeros(K)
    lines = np.zeros(K, np.int64)
    rec = np.zeros((K, 5, H))  # on_hand, backorders, on_order, shipped (cum), spent (cum)
    stock_day = np.zeros((K, n), np.bool_)
    next_review = np.zeros(K, np.int64)
    per_sup = np.zeros(supf.shape[1], np.int64)
    return _replicate(
        n, w0, first, lost_sales, pipe_cap, weeks, want_daily, per_sku, K, P, H, S,
        skuf, skui, supf, win, woff, oo, pol_i, can, lev, pl,
        d_off, d_t, d_q, tape, toff, stats, port, daily_sku, daily_all,
        pipe, ist, st, ct_, ent, scr, capw, sch, day_k, day_j,
        ptr, users, snap, line_q, lines, rec, stock_day, next_review, per_sup,
    )  # fmt: skip


@njit(cache=True)
def _replicate(
    n, w0, first, lost_sales, pipe_cap, weeks, want_daily, per_sku, K, P, H, S,
    skuf, skui, supf, win, woff, oo, pol_i, can, lev, pl,
    d_off, d_t, d_q, tape, toff, stats, port, daily_sku, daily_all,
    pipe, ist, st, ct_, ent, scr, capw, sch, day_k, day_j,
    ptr, users, snap, line_q, lines, rec, stock_day, next_review, per_sup,
):  # fmt: skip
    """Run the loop of :func:`run_replication` over its arrays (the same names).

    Every array is borrowed first (:func:`_borrow`): the caller holds them until this
    returns, and the loop does no reference counting on them.
    """
    skuf = _borrow(skuf)
    skui = _borrow(skui)
    supf = _borrow(supf)
    win = _borrow(win)
    woff = _borrow(woff)
    oo = _borrow(oo)
    pol_i = _borrow(pol_i)
    can = _borrow(can)
    lev = _borrow(lev)
    pl = _borrow(pl)
    d_off = _borrow(d_off)
    d_t = _borrow(d_t)
    d_q = _borrow(d_q)
    tape = _borrow(tape)
    toff = _borrow(toff)
    stats = _borrow(stats)
    port = _borrow(port)
    daily_sku = _borrow(daily_sku)
    daily_all = _borrow(daily_all)
    pipe = _borrow(pipe)
    ist = _borrow(ist)
    st = _borrow(st)
    ct_ = _borrow(ct_)
    ent = _borrow(ent)
    scr = _borrow(scr)
    capw = _borrow(capw)
    sch = _borrow(sch)
    day_k = _borrow(day_k)
    day_j = _borrow(day_j)
    ptr = _borrow(ptr)
    users = _borrow(users)
    snap = _borrow(snap)
    line_q = _borrow(line_q)
    lines = _borrow(lines)
    rec = _borrow(rec)
    stock_day = _borrow(stock_day)
    next_review = _borrow(next_review)
    per_sup = _borrow(per_sup)
    plain = win.shape[1] == 0
    for s in range(supf.shape[1]):
        if supf[2, s] > 0 or not math.isnan(supf[6, s]):
            plain = False
    turns = skui[1]
    rank = np.empty(K, np.int64)  # each SKU's turn
    for kk in range(K):
        rank[turns[kk]] = kk
    for p in range(P):
        anyjoin = False
        for k in range(K):
            if can[p, k] > 0 and pol_i[0, p, k] == 2:
                anyjoin = True
        general = anyjoin or not plain  # lines through the general path (_order, _flush)
        for k in range(K):
            if pol_i[3, p, k] != 0:
                general = True
        for r in range(2 * K):
            for c in range(5):
                ist[c, r] = 0
        for s in range(S):
            users[s] = 0
            for w in range(weeks):
                capw[0, s, w] = 0.0
                capw[1, s, w] = 0.0
        for k in range(K):  # routes on a capacity (Replication.interleave)
            if not math.isnan(supf[6, skui[0, k]]):
                users[skui[0, k]] += 1
            if pol_i[3, p, k] != 0 and not math.isnan(supf[6, int(skuf[5, k])]):
                users[int(skuf[5, k])] += 1
        interleave = False
        for s in range(S):
            if users[s] > 1:
                interleave = True
        for k in range(K):
            for c in range(13):
                st[k, c] = 0.0
            for c in range(10):
                ct_[k, c] = 0.0
            st[k, 0] = skuf[4, k]
            st[k, 4] = float(first)
            st[k, 11] = -np.inf
            st[k, 12] = -np.inf
            line_q[k] = 0.0
            next_review[k] = 0
            for i in range(n):
                stock_day[k, i] = False
        for j in range(oo.shape[1]):  # open orders, landing as announced
            k = int(oo[0, j])
            if not _push(k, oo[1, j], oo[2, j], 0.0, oo[1, j], pipe, ist):
                return 3
            st[k, 2] += oo[2, j]
        nlines = 0
        ne = 0
        for i in range(n + 1):
            day = first + i
            now = float(day)
            for kk in range(K):
                k = turns[kk]
                if i > 0:
                    y = i - 1
                    if ist[1, k] > 0 and pipe[0, k, ist[0, k]] < now:
                        _receive(k, now, False, pipe, ist, st)
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
                    for c in range(6):
                        snap[k, c] = ct_[k, c]
                    snap[k, 6] = st[k, 3]
                    snap[k, 7] = st[k, 6]
                    snap[k, 8] = ct_[k, 6]
                    snap[k, 9] = ct_[k, 9]
                    snap[k, 10] = st[k, 7]
                    snap[k, 11] = st[k, 8]
                    snap[k, 12] = ct_[k, 7]
                    snap[k, 13] = st[k, 10]
                if i == next_review[k] and i < n:  # every R days from day 0 (continuous: day 0)
                    next_review[k] += pol_i[1, p, k] if pol_i[2, p, k] == 0 else n + 1
                    ip = st[k, 0] - st[k, 1] + st[k, 2]
                    qty = _review(pol_i[0, p, k], ip, lev[0, p, k, i], lev[1, p, k, i],
                                  lev[2, p, k, i])  # fmt: skip
                    if qty > 0 and general:
                        ne = _order(k, i, now, qty, p, ent, ne, skuf, skui, pol_i, win, woff, pl,
                                    pipe, ist, st)  # fmt: skip
                    elif qty > 0:
                        line_q[k] = _order_units(qty, skuf[2, k], skuf[3, k])
                        lines[nlines] = k
                        nlines += 1
            if ne > 0:
                code = _flush(now, i, True, p, ent, ne, first, skuf, skui, supf, win, woff,
                              pol_i, can, lev, pl, tape, toff, ist, pipe, st, ct_, rank,
                              scr, capw, sch)  # fmt: skip
                if code != 0:
                    return code
                ne = 0
            if nlines > 0:
                code = _flush_plain(now, lines, nlines, skuf, skui, supf, tape, toff, ist, pipe,
                                    st, ct_, line_q, per_sup)  # fmt: skip
                if code != 0:
                    return code
                nlines = 0
            if i == n:
                break
            m = 0
            if interleave:  # all SKUs' orders in time order (ties: SKU id order)
                for kk in range(K):
                    ptr[turns[kk]] = d_off[turns[kk], i]
                while True:
                    best = -1
                    low = 0.0
                    for kk in range(K):
                        k = turns[kk]
                        if ptr[k] < d_off[k, i + 1] and (best < 0 or d_t[ptr[k]] < low):
                            best = k
                            low = d_t[ptr[k]]
                    if best < 0:
                        break
                    day_k[m] = best
                    day_j[m] = ptr[best]
                    ptr[best] += 1
                    m += 1
            else:
                for kk in range(K):
                    k = turns[kk]
                    for j in range(d_off[k, i], d_off[k, i + 1]):
                        day_k[m] = k
                        day_j[m] = j
                        m += 1
            for a in range(m):
                k = day_k[a]
                j = day_j[a]
                cont_k = pol_i[2, p, k] != 0
                t = d_t[j]
                qty = d_q[j]
                if ist[1, k] > 0 and pipe[0, k, ist[0, k]] <= t:
                    _receive(k, t, True, pipe, ist, st)
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
                    want = _review(pol_i[0, p, k], ip, lev[0, p, k, i], lev[1, p, k, i],
                                   lev[2, p, k, i])  # fmt: skip
                    if want > 0 and general:
                        ne = _order(k, i, t, want, p, ent, 0, skuf, skui, pol_i, win, woff,
                                    pl, pipe, ist, st)  # fmt: skip
                        code = _flush(t, i, False, p, ent, ne, first, skuf, skui, supf, win,
                                      woff, pol_i, can, lev, pl, tape, toff, ist, pipe, st,
                                      ct_, rank, scr, capw, sch)  # fmt: skip
                        ne = 0
                        if code != 0:
                            return code
                    elif want > 0:
                        line_q[k] = _order_units(want, skuf[2, k], skuf[3, k])
                        lines[0] = k
                        code = _flush_plain(t, lines, 1, skuf, skui, supf, tape, toff, ist,
                                            pipe, st, ct_, line_q, per_sup)  # fmt: skip
                        if code != 0:
                            return code
        end = float(first + n)
        for k in range(K):
            st[k, 3] += st[k, 0] * (end - st[k, 4])
            st[k, 4] = end
        _finish(p, n, w0, H, K, d_off, d_q, skuf, turns, rec, stock_day, st, ct_, snap, stats,
                port, want_daily, per_sku, daily_sku, daily_all)  # fmt: skip
    return 0


@njit(cache=True)
def _finish(p, n, w0, H, K, d_off, d_q, skuf, turns, rec, stock_day, st, ct_, snap, stats,
            port, want_daily, per_sku, daily_sku, daily_all):  # fmt: skip
    """Reduce one policy's run to the statistics the rows need (and the daily paths)."""
    unit_cost = skuf[0]
    price = skuf[1]
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
        out[24] = ct_[k, 9] - snap[k, 9]
        out[25] = st[k, 0]
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


@njit(cache=True)
def whole_units(x):
    """``purchasing.whole_units`` compiled: the same sequential sum, rounding and differences."""
    out = np.empty(x.size)
    total = 0.0
    prev = 0.0
    for i in range(x.size):
        total = total + x[i] if i else x[i]
        rounded = np.floor(total + 0.5)  # a float, as numpy's (math.floor is int64: wraps)
        out[i] = rounded - prev
        prev = rounded
    return out


@njit(cache=True)
def sort_within_days(times, counts):
    """``replication._sort_within_days`` compiled: each day's times in order (the same values).

    A day of a few customer orders is sorted by insertion; a busier day is first spread
    over as many buckets as it has orders (the times are uniform on [0, 1)), which
    leaves it nearly sorted, then finished by insertion: linear in practice, where
    insertion alone is quadratic (5 ms a SKU-year at 200 orders a day). The values are
    the same whatever the method: a sorted list of numbers is unique.
    """
    out = np.empty_like(times)
    most = 0
    for d in range(counts.size):
        most = max(most, counts[d])
    count = np.zeros(most + 1, np.int64)
    start = 0
    for d in range(counts.size):
        m = counts[d]
        end = start + m
        if m < 24:
            for a in range(start, end):
                out[a] = times[a]
        else:  # counting sort by bucket floor(t·m), in order of the buckets
            for j in range(m + 1):
                count[j] = 0
            for a in range(start, end):
                count[min(int(times[a] * m), m - 1) + 1] += 1
            for j in range(m):
                count[j + 1] += count[j]
            for a in range(start, end):
                j = min(int(times[a] * m), m - 1)
                out[start + count[j]] = times[a]
                count[j] += 1
        for a in range(start + 1, end):
            x = out[a]
            b = a
            while b > start and out[b - 1] > x:
                out[b] = out[b - 1]
                b -= 1
            out[b] = x
        start = end
    return out


@njit(cache=True)
def pick(values, cdf, u):
    """Return ``Generator.choice(values, p=p)`` given its uniforms ``u`` (the same values).

    numpy's choice is ``values[cdf.searchsorted(u, side="right")]`` with ``u`` from
    ``random(size)`` and ``cdf`` from ``p.cumsum()`` divided by its last entry; a short
    linear scan of ``cdf`` for each draw finds the same index as the binary search.
    """
    out = np.empty(u.size)
    last = cdf.size - 1  # cdf[last] is 1.0 and u < 1: the scan stops by then
    for i in range(u.size):
        x = u[i]
        j = 0
        while j < last and cdf[j] <= x:
            j += 1
        out[i] = values[j]
    return out


_M32 = np.uint64(0xFFFFFFFF)


@njit(cache=True, inline="always")
def _hashmix(value, h):
    """Mix one word as SeedSequence's ``hashmix`` does (32-bit words held in uint64)."""
    value = (value ^ h) & _M32
    h = (h * np.uint64(0x931E8875)) & _M32
    value = (value * h) & _M32
    value ^= value >> np.uint64(16)
    return value, h


@njit(cache=True)
def seed_states(entropy, keys, lens, out):
    """Write ``SeedSequence(entropy, spawn_key=key).generate_state(4, np.uint64)`` per key.

    numpy's algorithm (``numpy.random.bit_generator.SeedSequence``: ``mix_entropy`` over
    a pool of four 32-bit words, then ``generate_state``), compiled: ``entropy`` is the
    root seed's 32-bit words, row i of ``keys`` the first ``lens[i]`` words of key i
    (each key part as numpy splits an integer into words), ``out[i]`` the four 64-bit
    words PCG64 seeds itself from. The streams equal numpy's bit for bit
    (``tests/test_kernel.py`` compares them); about 0.2 µs a stream against numpy's 12.
    """
    pool = np.zeros(4, np.uint64)
    words = np.zeros(max(4, entropy.size) + keys.shape[1], np.uint64)  # root, padded, + key
    for i in range(keys.shape[0]):
        m = 0
        for j in range(entropy.size):
            words[m] = entropy[j]
            m += 1
        while m < 4:  # a spawn key pads the root's words to the pool size
            words[m] = 0
            m += 1
        for j in range(lens[i]):
            words[m] = keys[i, j]
            m += 1
        h = np.uint64(0x43B0D7E5)
        for j in range(4):
            pool[j], h = _hashmix(words[j] if j < m else np.uint64(0), h)
        for src in range(4):
            for dst in range(4):
                if src != dst:
                    v, h = _hashmix(pool[src], h)
                    pool[dst] = _mix(pool[dst], v)
        for src in range(4, m):
            for dst in range(4):
                v, h = _hashmix(words[src], h)
                pool[dst] = _mix(pool[dst], v)
        h = np.uint64(0x8B51F9DD)
        for w in range(8):
            v = (pool[w % 4] ^ h) & _M32
            h = (h * np.uint64(0x58F38DED)) & _M32
            v = (v * h) & _M32
            v ^= v >> np.uint64(16)
            if w % 2 == 0:
                out[i, w // 2] = v
            else:
                out[i, w // 2] |= v << np.uint64(32)


@njit(cache=True, inline="always")
def _mix(x, y):
    """Mix two words as SeedSequence's ``mix`` does (32-bit words held in uint64)."""
    r = ((np.uint64(0xCA01F9DD) * x) - (np.uint64(0x4973F715) * y)) & _M32
    return r ^ (r >> np.uint64(16))
