/**
 * THE broker conformance list: every scenario is written once here and run against every broker through
 * its driver (test/support/conformance-*.ts). Scenarios talk to the adapter only through the broker port
 * and check the broker's side through the driver's simulator records. Where adapters legitimately differ
 * (native vs adapter-managed OCO, fill in the reply vs as an event) a scenario checks the observable
 * contract, not the mechanism.
 *
 * Transport scenarios (C09-C13) need a network; paper has none, so they are skipped for paper, visibly.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { BrokerEvent, BrokerOrder, OrderOutcome, OrderRequest } from "../../src/brokers/port";
import { newPart } from "../../src/db/orders";
import { specFromTable } from "../../src/domain/contract";
import { add, type Dec, dec, mul, sub, times, toStr } from "../../src/domain/decimal";
import { asBrokerOrderId, type ClientOrderId } from "../../src/domain/ids";
import { fillKey } from "../../src/orders/fills";
import {
  accepted,
  type ConformanceBroker,
  type ConformanceDriver,
  type DriverFactory,
  fillsOf,
  freshId,
  orderFor,
  show,
} from "../support/conformance";
import { waitFor } from "../support/wait";

const P = (s: string): Dec => dec(s);

export function conformance(broker: ConformanceBroker, start: DriverFactory): void {
  // Paper has no network: there is no reply to lose, no connection to drop and no rate limit.
  const noNetwork = broker === "paper";
  /** Transport scenarios say in their title why paper skips them. */
  const transport = (title: string) =>
    noNetwork ? `${title} [not applicable to paper: it has no network]` : title;
  let d: ConformanceDriver;
  /** The driver to stop after the scenario (unset when its start failed). */
  let running: ConformanceDriver | undefined;

  beforeEach(async () => {
    d = await start();
    running = d;
  });

  afterEach(async () => {
    const driver = running;
    running = undefined;
    if (!driver) return;
    try {
      // Nothing doubled, and every order we sent reached the broker with our client order id.
      expect(driver.duplicates()).toEqual([]);
      for (const row of driver.received()) {
        if (!row.generated) expect(row.clientOrderId, "order without our client order id").toBeTruthy();
        if (broker === "tradovate" || broker === "ninjatrader") {
          if (!row.generated) expect(row.automated, `isAutomated on ${row.clientOrderId}`).toBe(true);
        }
      }
    } finally {
      await driver.stop();
    }
  });

  // ---- helpers (all read the broker through the port or the driver's simulator) ----

  const place = (o: OrderRequest) => d.session.placeOrder(o);
  const timesReceived = (id: string) => d.received().filter((r) => r.clientOrderId === id).length;

  /** The fill of an accepted order, from the reply or, failing that, its OrderFilled event. */
  async function fillOf(outcome: OrderOutcome, req: OrderRequest): Promise<{ price: Dec; qty: number }> {
    const ok = accepted(outcome, req.clientOrderId);
    if (ok.fill) return ok.fill;
    const [event] = await waitFor(() => {
      const f = fillsOf(d.events, req.clientOrderId, ok.brokerOrderId);
      return f.length > 0 ? f : undefined;
    }, `a fill for ${req.clientOrderId}`);
    if (!event) throw new Error("no fill event");
    return event.fill;
  }

  /** Quantity the relay books from every report of one order's fills (reply and events), as it books them. */
  function bookedQty(outcome: OrderOutcome, clientOrderId: ClientOrderId, orderQty = 1): number {
    const ok = accepted(outcome, clientOrderId);
    const reports = [
      ...(ok.fill ? [{ key: fillKey(ok.brokerOrderId, ok.fill), fill: ok.fill }] : []),
      ...fillsOf(d.events, clientOrderId, ok.brokerOrderId).map((e) => ({
        key: fillKey(e.brokerOrderId, e.fill),
        fill: e.fill,
      })),
    ];
    const seen = new Set<string>();
    const order = { qty: orderQty, filledQty: 0, fillPrice: null as Dec | null };
    for (const r of reports) {
      if (seen.has(r.key)) continue;
      seen.add(r.key);
      const part = newPart(order, r.fill);
      if (part) {
        order.filledQty += part.qty;
        order.fillPrice = part.price;
      }
    }
    return order.filledQty;
  }

  const held = (id: ClientOrderId, status: string) =>
    waitFor(() => d.heldOrder(id)?.status === status, `${id} ${status} at the broker`);

  const heldPosition = (qty: number) =>
    waitFor(() => d.heldPosition() === qty, `a position of ${qty} at the broker (is ${d.heldPosition()})`);

  async function open(side: "buy" | "sell", qty: number, at: string): Promise<void> {
    await d.setPrice(P(at));
    const entry = orderFor(d, "entry", { side, type: "market", qty });
    accepted(await place(entry), "entry");
    await heldPosition(side === "buy" ? qty : -qty);
  }

  const netPos = async () =>
    (await d.session.positions(d.account))
      .filter((p) => p.contract === d.contract.name)
      .reduce((n, p) => n + p.netPos, 0);

  const working = async (): Promise<BrokerOrder[]> =>
    (await d.session.workingOrders(d.account)).filter(
      (o) => o.status === "working" || o.status === "pending",
    );

  const since = (mark: number) => d.events.slice(mark);

  describe(`${broker} conformance`, () => {
    it("C01 a market order fills at the market; the real fill price is reported once; our id reaches the broker", async () => {
      await d.setPrice(P("21000.25"));
      const req = orderFor(d, "entry", { side: "buy", type: "market" });
      const outcome = await place(req);
      const fill = await fillOf(outcome, req);
      expect(fill.price).toBe(P("21000.25"));
      expect(fill.qty).toBe(1);
      // Reported in the reply and/or as an event, the fill books once.
      const { brokerOrderId } = accepted(outcome, "market");
      await waitFor(
        () => fillsOf(d.events, req.clientOrderId, brokerOrderId).length > 0,
        "the OrderFilled event",
      );
      expect(bookedQty(outcome, req.clientOrderId)).toBe(1);
      expect(timesReceived(req.clientOrderId)).toBe(1);
      expect(d.heldOrder(req.clientOrderId)?.status).toBe("filled");
      await heldPosition(1);
    });

    it("C02 a limit order away from the market rests as working, with our id", async () => {
      const req = orderFor(d, "tp", { side: "buy", type: "limit", price: P("20990") });
      const outcome = accepted(await place(req), "limit");
      expect(outcome.fill).toBeUndefined();
      expect(d.heldOrder(req.clientOrderId)).toMatchObject({ status: "working", price: P("20990"), qty: 1 });
      expect(timesReceived(req.clientOrderId)).toBe(1);
      const listed = await waitFor(
        async () => (await working()).find((o) => o.clientOrderId === req.clientOrderId),
        "the limit order among the working orders",
      );
      expect(listed).toMatchObject({
        brokerOrderId: outcome.brokerOrderId,
        brokerAccountId: d.account,
        contract: d.contract.name,
        side: "buy",
        type: "limit",
        qty: 1,
      });
      expect(listed.price).toBe(P("20990"));
      expect(d.heldPosition()).toBe(0);
    });

    it("C03 bracket: after the entry fill both OCO exits work; the target fills and the stop is cancelled at the broker", async () => {
      await open("buy", 1, "21000");
      const tp = orderFor(d, "tp1", { side: "sell", type: "limit", price: P("21005") });
      const sl = orderFor(d, "sl1", { side: "sell", type: "stop", stopPrice: P("20995") });
      const [a, b] = await d.session.placeOco(tp, sl);
      accepted(a, "take-profit");
      accepted(b, "stop");
      expect(d.heldOrder(tp.clientOrderId)?.status).toBe("working");
      expect(d.heldOrder(sl.clientOrderId)?.status).toBe("working");
      await d.setPrice(P("21005"));
      await held(tp.clientOrderId, "filled");
      await held(sl.clientOrderId, "cancelled");
      await heldPosition(0);
      await waitFor(async () => (await netPos()) === 0, "the session to report flat");
      await waitFor(async () => (await working()).length === 0, "no working orders left");
    });

    it("C04 bracket: the stop fills and the target is cancelled at the broker", async () => {
      await open("buy", 1, "21000");
      const tp = orderFor(d, "tp1", { side: "sell", type: "limit", price: P("21005") });
      const sl = orderFor(d, "sl1", { side: "sell", type: "stop", stopPrice: P("20995") });
      const [a, b] = await d.session.placeOco(tp, sl);
      accepted(a, "take-profit");
      accepted(b, "stop");
      await d.setPrice(P("20995"));
      await held(sl.clientOrderId, "filled");
      await held(tp.clientOrderId, "cancelled");
      await heldPosition(0);
      await waitFor(async () => (await netPos()) === 0, "the session to report flat");
      await waitFor(async () => (await working()).length === 0, "no working orders left");
    });

    it("C05 cancel: a working order is cancelled; cancelling it again, a filled order or an id never issued is gone", async () => {
      const req = orderFor(d, "tp", { side: "buy", type: "limit", price: P("20990") });
      const { brokerOrderId } = accepted(await place(req), "limit");
      expect(await d.session.cancelOrder(d.account, brokerOrderId)).toEqual({ kind: "cancelled" });
      await held(req.clientOrderId, "cancelled");
      expect(await d.session.cancelOrder(d.account, brokerOrderId)).toMatchObject({ kind: "gone" });

      await d.setPrice(P("21000"));
      const mkt = orderFor(d, "entry", { side: "buy", type: "market" });
      const filled = accepted(await place(mkt), "market");
      await held(mkt.clientOrderId, "filled");
      expect(await d.session.cancelOrder(d.account, filled.brokerOrderId)).toMatchObject({ kind: "gone" });
      expect(d.heldPosition()).toBe(1);
      // An id the broker never issued: nothing to cancel.
      expect(await d.session.cancelOrder(d.account, asBrokerOrderId("987654321"))).toMatchObject({
        kind: "gone",
      });
    });

    it("C06 modify: a working limit's price and a working stop's trigger change at the broker", async () => {
      const req = orderFor(d, "tp", { side: "buy", type: "limit", price: P("20990") });
      const { brokerOrderId } = accepted(await place(req), "limit");
      const outcome = await d.session.modifyOrder(d.account, brokerOrderId, { price: P("20992.5") });
      expect(outcome).toMatchObject({ kind: "accepted", brokerOrderId });
      await waitFor(
        () => d.heldOrder(req.clientOrderId)?.price === P("20992.5"),
        "the new price at the broker",
      );
      expect(d.heldOrder(req.clientOrderId)).toMatchObject({ status: "working", qty: 1 });
      const found = await waitFor(async () => {
        const o = await d.session.findOrder(d.account, req.clientOrderId);
        return o?.price === P("20992.5") ? o : undefined;
      }, "findOrder to show the new price");
      expect(found).toMatchObject({ status: "working", qty: 1, brokerOrderId });
      expect(timesReceived(req.clientOrderId)).toBe(1);

      // A protective stop moves the same way (exits are re-placed from a new average price).
      await open("buy", 1, "21000");
      const stop = orderFor(d, "sl1", { side: "sell", type: "stop", stopPrice: P("20980") });
      const placed = accepted(await place(stop), "stop");
      const moved = await d.session.modifyOrder(d.account, placed.brokerOrderId, {
        stopPrice: P("20985.25"),
      });
      expect(moved).toMatchObject({ kind: "accepted", brokerOrderId: placed.brokerOrderId });
      await waitFor(
        () => d.heldOrder(stop.clientOrderId)?.stopPrice === P("20985.25"),
        "the new stop price at the broker",
      );
      expect(d.heldOrder(stop.clientOrderId)).toMatchObject({ status: "working", qty: 1, side: "sell" });
    });

    it("C07 flatten closes the position and cancels the contract's working exits, nothing else; flat again is harmless", async () => {
      await open("sell", 2, "21000");
      const tp = orderFor(d, "tp1", { side: "buy", type: "limit", price: P("20990"), qty: 2 });
      const sl = orderFor(d, "sl1", { side: "buy", type: "stop", stopPrice: P("21010"), qty: 2 });
      const [a, b] = await d.session.placeOco(tp, sl);
      accepted(a, "take-profit");
      accepted(b, "stop");
      // A working order in another contract belongs to something else: flatten must leave it alone.
      const mes = await d.session.contract("MES1!");
      const other = {
        ...orderFor(d, "entry", { side: "buy", type: "limit", price: P("5000") }),
        contract: mes,
      };
      accepted(await place(other), "other contract");

      const closeId = freshId("close");
      const outcome = accepted(await d.session.flatten(d.account, d.contract, closeId), "flatten");
      await heldPosition(0);
      // The close's fill is reported, and books once whether it came in the reply, as events, or both.
      await waitFor(
        () => fillsOf(d.events, closeId, outcome.brokerOrderId).length > 0,
        "the close's fill event",
      );
      expect(bookedQty(outcome, closeId, 2)).toBe(2);
      // The close is ours: findOrder by the flatten's client order id finds it (an unknown flatten is
      // settled this way; null would claim the broker never received it).
      const close = await d.session.findOrder(d.account, closeId);
      expect(close, "findOrder of the flatten's client order id").toMatchObject({
        status: "filled",
        side: "buy",
        filledQty: 2,
      });
      await held(tp.clientOrderId, "cancelled");
      await held(sl.clientOrderId, "cancelled");
      expect(d.heldOrder(other.clientOrderId)?.status).toBe("working");
      await waitFor(async () => (await netPos()) === 0, "the session to report flat");
      await waitFor(
        async () => (await working()).every((o) => o.contract !== d.contract.name),
        "no working orders left in the contract",
      );

      const before = d.received().length;
      const again = await d.session.flatten(d.account, d.contract, freshId("close"));
      expect(again.kind, show(again)).toBe("accepted");
      expect(d.received().length).toBe(before);
      expect(d.heldPosition()).toBe(0);
      expect(d.heldOrder(other.clientOrderId)?.status).toBe("working");
    });

    it("C08 findOrder finds our order by client order id with its status and fill; null for an id never sent", async () => {
      const rest = orderFor(d, "tp", { side: "buy", type: "limit", price: P("20990") });
      const resting = accepted(await place(rest), "limit");
      const foundRest = await d.session.findOrder(d.account, rest.clientOrderId);
      expect(foundRest).toMatchObject({
        brokerOrderId: resting.brokerOrderId,
        clientOrderId: rest.clientOrderId,
        brokerAccountId: d.account,
        contract: d.contract.name,
        status: "working",
        side: "buy",
        type: "limit",
        qty: 1,
        filledQty: 0,
      });
      expect(foundRest?.price).toBe(P("20990"));

      await d.setPrice(P("21000.75"));
      const mkt = orderFor(d, "entry", { side: "buy", type: "market" });
      const filled = accepted(await place(mkt), "market");
      const foundFill = await waitFor(async () => {
        const o = await d.session.findOrder(d.account, mkt.clientOrderId);
        return o?.status === "filled" ? o : undefined;
      }, "findOrder to report the fill");
      expect(foundFill).toMatchObject({ brokerOrderId: filled.brokerOrderId, filledQty: 1, qty: 1 });
      expect(foundFill.avgFillPrice).toBe(P("21000.75"));

      expect(await d.session.findOrder(d.account, freshId("never"))).toBeNull();
    });

    // Paper has no network: no reply can be lost.
    it.skipIf(noNetwork)(
      transport("C09 a reply that never comes is unknown, not rejected; findOrder finds exactly one order"),
      async () => {
        await d.setPrice(P("21000"));
        d.faults?.swallowNext("place");
        const req = orderFor(d, "entry", { side: "buy", type: "market" });
        const outcome = await place(req);
        expect(outcome.kind, show(outcome)).toBe("unknown");
        const found = await waitFor(
          () => d.session.findOrder(d.account, req.clientOrderId),
          "findOrder to settle the unknown outcome",
        );
        expect(found).toMatchObject({ clientOrderId: req.clientOrderId, status: "filled", filledQty: 1 });
        expect(timesReceived(req.clientOrderId)).toBe(1);
        expect(d.duplicates()).toEqual([]);
        await heldPosition(1);
      },
    );

    // Paper has no network: no reply can be lost.
    it.skipIf(noNetwork)(
      transport(
        "C10 every write whose reply never comes is unknown, never rejected; the broker's state settles it",
      ),
      async () => {
        const faults = d.faults;
        if (!faults) throw new Error("driver has no transport faults");
        await open("buy", 1, "21000");
        // OCO exits: both legs unknown; both exist at the broker and findOrder finds them.
        const tp = orderFor(d, "tp1", { side: "sell", type: "limit", price: P("21005") });
        const sl = orderFor(d, "sl1", { side: "sell", type: "stop", stopPrice: P("20995") });
        faults.swallowNext("oco");
        const [a, b] = await d.session.placeOco(tp, sl);
        expect([a.kind, b.kind], show([a, b])).toEqual(["unknown", "unknown"]);
        const foundTp = await waitFor(() => d.session.findOrder(d.account, tp.clientOrderId), "the target");
        const foundSl = await waitFor(() => d.session.findOrder(d.account, sl.clientOrderId), "the stop");
        expect(foundTp).toMatchObject({ status: "working" });
        expect(foundSl).toMatchObject({ status: "working" });
        expect(timesReceived(tp.clientOrderId)).toBe(1);
        expect(timesReceived(sl.clientOrderId)).toBe(1);

        // A modify of one exit and a cancel of the other, both unanswered (run together to save a timeout).
        faults.swallowNext("modify");
        faults.swallowNext("cancel");
        const [modified, cancelled] = await Promise.all([
          d.session.modifyOrder(d.account, foundTp.brokerOrderId, { price: P("21006") }),
          d.session.cancelOrder(d.account, foundSl.brokerOrderId),
        ]);
        expect(modified.kind, show(modified)).toBe("unknown");
        expect(cancelled.kind, show(cancelled)).toBe("unknown");
        await waitFor(() => d.heldOrder(tp.clientOrderId)?.price === P("21006"), "the modify to have landed");
        await held(sl.clientOrderId, "cancelled");

        faults.swallowNext("flatten");
        const closeId = freshId("close");
        const flat = await d.session.flatten(d.account, d.contract, closeId);
        expect(flat.kind, show(flat)).not.toBe("rejected");
        await heldPosition(0);
        // However the flatten ended, its client order id finds the close that the broker executed.
        const close = await waitFor(() => d.session.findOrder(d.account, closeId), "findOrder of the close");
        expect(close).toMatchObject({ status: "filled", side: "sell", filledQty: 1 });
      },
    );

    // Paper has no network: there is no connection to drop.
    it.skipIf(noNetwork)(
      transport(
        "C11 dropped connections: the session recovers by itself, missed fills arrive once, a new order works",
      ),
      async () => {
        const faults = d.faults;
        if (!faults) throw new Error("driver has no transport faults");
        await d.setPrice(P("21000"));
        // A fill reported before the drop must not be reported again by the re-sync after it.
        const early = orderFor(d, "entry", { side: "sell", type: "market" });
        const earlyOutcome = accepted(await place(early), "order before the drop");
        await waitFor(
          () => fillsOf(d.events, early.clientOrderId, earlyOutcome.brokerOrderId).length > 0,
          "the first fill event",
        );
        const rest = orderFor(d, "entry", { side: "buy", type: "limit", price: P("20990") });
        const resting = accepted(await place(rest), "limit");
        const mark = d.events.length;
        await faults.dropConnections();
        await d.setPrice(P("20990")); // fills while the session is cut off
        await waitFor(
          () => since(mark).some((e) => e.type === "SessionChanged" && e.status.state !== "ready"),
          "the session to notice the drop",
        );
        faults.restoreConnections();
        await waitFor(
          () =>
            d.session.status().state === "ready" &&
            since(mark).some((e) => e.type === "SessionChanged" && e.status.state === "ready"),
          "the session to recover",
        );
        const [missed] = await waitFor(() => {
          const f = fillsOf(since(mark), rest.clientOrderId, resting.brokerOrderId);
          return f.length > 0 ? f : undefined;
        }, "the fill made while disconnected");
        expect(missed?.fill.price).toBe(P("20990"));
        expect(bookedQty(resting, rest.clientOrderId)).toBe(1);

        // Events flow again: the next order's fill arrives as an event, not only in its reply.
        const next = orderFor(d, "entry", { side: "buy", type: "market" });
        const outcome = accepted(await place(next), "order after the reconnect");
        const [fresh] = await waitFor(() => {
          const f = fillsOf(d.events, next.clientOrderId, outcome.brokerOrderId);
          return f.length > 0 ? f : undefined;
        }, "an OrderFilled event after the reconnect");
        expect(fresh?.fill.price).toBe(P("20990"));
        expect(bookedQty(outcome, next.clientOrderId)).toBe(1);
        expect(bookedQty(earlyOutcome, early.clientOrderId)).toBe(1);
        await heldPosition(1);
        await waitFor(async () => (await netPos()) === 1, "the session to report the position");
        expect(timesReceived(rest.clientOrderId)).toBe(1);
        expect(timesReceived(next.clientOrderId)).toBe(1);
      },
    );

    // Paper has no network: there is no connection to drop.
    it.skipIf(noNetwork)(
      transport(
        "C12 the target fills while disconnected: after recovery the stop is cancelled at the broker, flat",
      ),
      async () => {
        const faults = d.faults;
        if (!faults) throw new Error("driver has no transport faults");
        await open("buy", 1, "21000");
        const tp = orderFor(d, "tp1", { side: "sell", type: "limit", price: P("21005") });
        const sl = orderFor(d, "sl1", { side: "sell", type: "stop", stopPrice: P("20995") });
        const [a, b] = await d.session.placeOco(tp, sl);
        const target = accepted(a, "take-profit");
        accepted(b, "stop");
        const mark = d.events.length;
        await faults.dropConnections();
        await d.setPrice(P("21005"));
        await waitFor(
          () => since(mark).some((e) => e.type === "SessionChanged" && e.status.state !== "ready"),
          "the session to notice the drop",
        );
        faults.restoreConnections();
        await held(tp.clientOrderId, "filled");
        // A stop left working after its target filled would open a new short when the market falls.
        await held(sl.clientOrderId, "cancelled");
        await heldPosition(0);
        await waitFor(() => d.session.status().state === "ready", "the session to recover");
        await waitFor(async () => (await netPos()) === 0, "the session to report flat");
        await waitFor(async () => (await working()).length === 0, "no working orders left");
        await waitFor(
          () => fillsOf(since(mark), tp.clientOrderId, target.brokerOrderId).length > 0,
          "the target's fill event",
        );
      },
    );

    // Paper has no network: no broker rate limit applies.
    it.skipIf(noNetwork)(
      transport("C13 a rate limit never doubles an order: the caller gets the order or a clear rejection"),
      async () => {
        const faults = d.faults;
        if (!faults) throw new Error("driver has no transport faults");
        await d.setPrice(P("21000"));
        let filled = 0;
        for (const fault of faults.rateLimits) {
          fault.inject();
          const req = orderFor(d, "entry", { side: "buy", type: "market" });
          const outcome = await place(req);
          if (outcome.kind === "accepted") {
            expect(timesReceived(req.clientOrderId), fault.name).toBe(1);
            filled++;
          } else {
            expect(outcome.kind, `${fault.name}: ${show(outcome)}`).toBe("rejected");
            if (outcome.kind === "rejected") expect(outcome.reason).toMatch(/429|rate limit|penalty/i);
            expect(timesReceived(req.clientOrderId), fault.name).toBe(0);
          }
          await heldPosition(filled);
        }
        // The session still trades afterwards.
        const after = orderFor(d, "entry", { side: "buy", type: "market" });
        accepted(await place(after), "order after the rate limit");
        await heldPosition(filled + 1);
      },
    );

    it("C14 an order the broker refuses is rejected in the broker's own words", async () => {
      const base = orderFor(d, "entry", { side: "buy", type: "limit", price: P("20990") });
      const { order, words } = await d.refusal(base);
      const outcome = await place(order);
      expect(outcome.kind, show(outcome)).toBe("rejected");
      if (outcome.kind === "rejected") expect(outcome.reason).toMatch(words);
      expect(timesReceived(order.clientOrderId)).toBe(0);
      expect(d.heldPosition()).toBe(0);
    });

    it("C15 fills, positions and cash arrive as events with exact decimals", async () => {
      await d.setPrice(P("21000.25"));
      const buy = orderFor(d, "entry", { side: "buy", type: "market" });
      const mark = d.events.length;
      const buyOutcome = accepted(await place(buy), "buy");
      const [bought] = await waitFor(() => {
        const f = fillsOf(d.events, buy.clientOrderId, buyOutcome.brokerOrderId);
        return f.length > 0 ? f : undefined;
      }, "the buy's OrderFilled");
      expect(bought).toMatchObject({ brokerAccountId: d.account, contract: d.contract.name, side: "buy" });
      expect(bought?.fill.price).toBe(P("21000.25"));
      expect(bought?.fill.qty).toBe(1);
      const long = await waitFor(() => position(since(mark), 1), "PositionChanged to long 1");
      expect(long.avgPrice).toBe(P("21000.25"));
      const [reported] = (await d.session.positions(d.account)).filter((p) => p.contract === d.contract.name);
      expect(reported).toMatchObject({ brokerAccountId: d.account, netPos: 1 });
      expect(reported?.avgPrice).toBe(P("21000.25"));

      await d.setPrice(P("21003.75"));
      const sell = orderFor(d, "close", { side: "sell", type: "market" });
      const sellOutcome = accepted(await place(sell), "sell");
      const [sold] = await waitFor(() => {
        const f = fillsOf(d.events, sell.clientOrderId, sellOutcome.brokerOrderId);
        return f.length > 0 ? f : undefined;
      }, "the sell's OrderFilled");
      expect(sold?.fill.price).toBe(P("21003.75"));
      await waitFor(() => position(since(mark), 0), "PositionChanged to flat");

      // 3.5 points on MNQ at $2 a point, less the broker's fees on both fills.
      const gross = mul(sub(P("21003.75"), P("21000.25")), d.contract.valuePerPoint);
      const realized = sub(gross, times(d.feePerContract, 2));
      const balance = add(d.startingBalance, realized);
      await waitFor(
        () => cash(since(mark)).some((c) => c.realizedPnl === realized),
        `CashChanged with realized P&L ${toStr(realized)}`,
      );
      await waitFor(
        () => cash(since(mark)).some((c) => c.balance === balance),
        `CashChanged with balance ${toStr(balance)}`,
      );
      expect(realized).toBe(broker === "projectx" ? P("6.26") : P("7"));
      // The account list reports the same cash.
      await waitFor(
        async () => {
          const [info] = (await d.session.brokerAccounts()).filter((a) => a.id === d.account);
          return info?.balance === balance;
        },
        `brokerAccounts to report the balance ${toStr(balance)}`,
      );
    });

    it("C16 continuous symbols resolve to the front month with the exact tick size and point value", async () => {
      for (const symbol of ["MNQ1!", "ES1!", "ZN1!", "6J1!", "CL1!", "MBT1!", "SIL1!"]) {
        const table = specFromTable(symbol);
        if (!table) throw new Error(`${symbol} missing from the product table`);
        const spec = await d.session.contract(symbol);
        expect(
          { name: spec.name, root: spec.root, tick: toStr(spec.tickSize), point: toStr(spec.valuePerPoint) },
          symbol,
        ).toEqual({
          name: table.name,
          root: table.root,
          tick: toStr(table.tickSize),
          point: toStr(table.valuePerPoint),
        });
      }
    });
  });

  function position(events: BrokerEvent[], netPos: number) {
    return events
      .flatMap((e) => (e.type === "PositionChanged" ? [e.position] : []))
      .filter((p) => p.brokerAccountId === d.account && p.contract === d.contract.name)
      .find((p) => p.netPos === netPos);
  }

  function cash(events: BrokerEvent[]) {
    return events.flatMap((e) => (e.type === "CashChanged" && e.brokerAccountId === d.account ? [e] : []));
  }
}
