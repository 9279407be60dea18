/**
 * POST /api/manual-trades (issue 15) on paper: a manual trade is a signal (source "manual") executed by
 * the dispatcher with each trader's multiplier, limited to chosen traders when asked, never doubled by
 * its requestId seen again, subject to the kill switch like any signal, and refused clearly when wrong.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { paperSetup, startTestRelay, type TestRelay } from "../support/relay";
import { waitFor } from "../support/wait";

let db: TestDatabase;
let t: TestRelay;

beforeAll(async () => {
  db = await createTestDatabase();
  t = await startTestRelay({ url: db.url, env: { MAX_ORDER_CONTRACTS: "20" } });
});
afterAll(async () => {
  await t?.stop();
  await db?.drop();
});

type Reply = {
  status?: string;
  signalId?: string;
  traders?: { traderId: string; accountId: string; executionId: string }[];
  error?: { code: string; message: string };
};
type Execution = { traderId: string; status: string; decision: string | null; reason: string | null };

const OPEN = ["pending", "running", "waiting_for_broker"];

/** The signal once every execution of it has finished. */
async function settled(signalId: string) {
  return waitFor(async () => {
    const s = await t.api<{ source: string; executions: Execution[] }>("GET", `/api/signals/${signalId}`);
    return s.status === 200 && s.body.executions.every((e) => !OPEN.includes(e.status)) ? s.body : undefined;
  }, `signal ${signalId} executed`);
}

async function netQty(traderId: string): Promise<number> {
  const [row] = await t.sql`
    select coalesce(sum(net_qty), 0)::int as n from positions where trader_id = ${traderId}`;
  return Number(row?.n ?? 0);
}

async function ordersOf(signalId: string): Promise<number> {
  const [row] = await t.sql`
    select count(*)::int as n from broker_orders o join executions e on e.id = o.execution_id
     where e.signal_id = ${signalId}`;
  return Number(row?.n ?? 0);
}

const trade = (b: Record<string, unknown>) => t.api<Reply>("POST", "/api/manual-trades", b);

describe("manual trades API", () => {
  it("MT01 a manual buy fans out to every trader with its multiplier (1 and 2) as a signal of source manual", async () => {
    const { recorderId, traderIds } = await paperSetup(t, { multipliers: [1, 2], recorderName: "MT01" });
    const requestId = crypto.randomUUID();
    const r = await trade({
      requestId,
      recorderId,
      action: "buy",
      ticker: "MNQ1!",
      quantity: 1,
      price: "21000",
    });
    expect(r.status).toBe(202);
    expect(r.body.status).toBe("accepted");
    expect(r.body.traders?.map((x) => x.traderId).sort()).toEqual([...traderIds].sort());
    const signal = await settled(r.body.signalId ?? "");
    expect(signal.source).toBe("manual");
    expect(signal.executions.map((e) => e.status)).toEqual(["done", "done"]);
    expect(await netQty(traderIds[0] ?? "")).toBe(1);
    expect(await netQty(traderIds[1] ?? "")).toBe(2);
    const [audited] =
      await t.sql`select actor from audit where action = 'trade.manual' and subject = ${r.body.signalId ?? ""}`;
    expect(audited?.actor).toBe("admin");
  });

  it("MT02 traderIds limits the trade to the traders named: the other follower sends nothing", async () => {
    const { recorderId, traderIds } = await paperSetup(t, { multipliers: [1, 2], recorderName: "MT02" });
    const [one = "", two = ""] = traderIds;
    const r = await trade({
      requestId: crypto.randomUUID(),
      recorderId,
      action: "sell",
      ticker: "MNQ1!",
      quantity: 3,
      price: "21000",
      traderIds: [two],
    });
    expect(r.status).toBe(202);
    expect(r.body.traders?.map((x) => x.traderId)).toEqual([two]);
    const signal = await settled(r.body.signalId ?? "");
    expect(signal.executions).toHaveLength(1);
    expect(await netQty(two)).toBe(-6);
    expect(await netQty(one)).toBe(0);
  });

  it("MT03 the same requestId again, in sequence or at once, is one signal and one order per trader; another trade under it is refused", async () => {
    const { recorderId, traderIds } = await paperSetup(t, { multipliers: [1, 2], recorderName: "MT03" });
    const requestId = crypto.randomUUID();
    const b = { requestId, recorderId, action: "buy", ticker: "MES1!", quantity: 1, price: "5000" };
    // A double click: two at once.
    const [first, second] = await Promise.all([trade(b), trade(b)]);
    const statuses = [first.status, second.status].sort();
    expect(statuses).toEqual([200, 202]);
    expect(first.body.signalId).toBe(second.body.signalId);
    const signalId = first.body.signalId ?? "";
    await settled(signalId);
    // A retried POST later.
    const retry = await trade(b);
    expect(retry).toMatchObject({ status: 200, body: { status: "duplicate", signalId } });
    expect(retry.body.traders).toHaveLength(2);
    const [signals] = await t.sql`select count(*)::int as n from signals where recorder_id = ${recorderId}`;
    expect(Number(signals?.n)).toBe(1);
    expect(await ordersOf(signalId)).toBe(2);
    expect(await netQty(traderIds[0] ?? "")).toBe(1);
    expect(await netQty(traderIds[1] ?? "")).toBe(2);

    const other = await trade({ ...b, quantity: 2 });
    expect(other).toMatchObject({ status: 409, body: { error: { code: "conflict" } } });
    expect(other.body.error?.message).toContain("requestId");
    const { recorderId: elsewhere } = await paperSetup(t, { multipliers: [1], recorderName: "MT03b" });
    expect((await trade({ ...b, recorderId: elsewhere })).status).toBe(409);
    expect(await ordersOf(signalId)).toBe(2);
  });

  it("MT04 with the kill switch stopped a manual buy opens nothing, and a manual close still closes", async () => {
    const { recorderId, traderIds } = await paperSetup(t, { multipliers: [1, 2], recorderName: "MT04" });
    const open = await trade({
      requestId: crypto.randomUUID(),
      recorderId,
      action: "buy",
      ticker: "MNQ1!",
      quantity: 1,
      price: "21000",
    });
    await settled(open.body.signalId ?? "");
    expect(await netQty(traderIds[1] ?? "")).toBe(2);

    expect((await t.api("POST", "/api/emergency/stop", { reason: "MT04" })).status).toBe(200);
    try {
      // A new position (another contract): refused while stopped.
      const buy = await trade({
        requestId: crypto.randomUUID(),
        recorderId,
        action: "buy",
        ticker: "MES1!",
        quantity: 1,
        price: "5000",
      });
      expect(buy.status).toBe(202);
      const refused = await settled(buy.body.signalId ?? "");
      expect(await ordersOf(buy.body.signalId ?? "")).toBe(0);
      for (const e of refused.executions) expect(e.reason ?? "").toMatch(/kill switch|stopped/i);
      const [mes] = await t.sql`
        select count(*)::int as n from positions
         where trader_id = any(${traderIds}::uuid[]) and contract like 'MES%' and net_qty <> 0`;
      expect(Number(mes?.n)).toBe(0);

      const close = await trade({
        requestId: crypto.randomUUID(),
        recorderId,
        action: "close",
        ticker: "MNQ1!",
        price: "21001",
      });
      expect(close.status).toBe(202);
      const closed = await settled(close.body.signalId ?? "");
      expect(closed.executions.map((e) => e.status)).toEqual(["done", "done"]);
      expect(await netQty(traderIds[0] ?? "")).toBe(0);
      expect(await netQty(traderIds[1] ?? "")).toBe(0);
    } finally {
      await t.api("POST", "/api/emergency/resume", { reason: "MT04 done" });
    }
  });

  it("MT05 MAX_ORDER_CONTRACTS holds after the multiplier: 15 x 1 goes, 15 x 2 (30 > 20) is refused whole", async () => {
    const { recorderId, traderIds } = await paperSetup(t, { multipliers: [1, 2], recorderName: "MT06" });
    const r = await trade({
      requestId: crypto.randomUUID(),
      recorderId,
      action: "buy",
      ticker: "MNQ1!",
      quantity: 15,
      price: "21000",
    });
    expect(r.status).toBe(202);
    const signal = await settled(r.body.signalId ?? "");
    expect(await netQty(traderIds[0] ?? "")).toBe(15);
    expect(await netQty(traderIds[1] ?? "")).toBe(0);
    const refused = signal.executions.find((e) => e.traderId === traderIds[1]);
    expect(refused?.reason ?? "").toContain("MAX_ORDER_CONTRACTS");
  });

  it("MT06 wrong requests are 400 or 422 with a message naming the field, and commit nothing", async () => {
    const { recorderId, traderIds } = await paperSetup(t, { multipliers: [1], recorderName: "MT05" });
    const { traderIds: foreign } = await paperSetup(t, { multipliers: [1], recorderName: "MT05b" });
    const ok = { requestId: crypto.randomUUID(), recorderId, action: "buy", ticker: "MNQ1!", quantity: 1 };
    const cases: [Record<string, unknown>, number, string][] = [
      [{ ...ok, requestId: undefined }, 400, "requestId:"],
      [{ ...ok, requestId: "twice-clicked" }, 400, "requestId: must be a UUID"],
      [{ ...ok, action: "yolo" }, 400, "action: must be one of buy, sell"],
      [{ ...ok, quantity: 0 }, 400, "quantity:"],
      [{ ...ok, quantity: 1.5 }, 400, "quantity: must be a whole number"],
      [{ ...ok, quantity: 21 }, 400, "quantity: is more than this relay allows in one order: at most 20"],
      [{ ...ok, ticker: "" }, 400, "ticker: is empty"],
      [{ ...ok, ticker: "NOPE1!" }, 400, "ticker: Unknown ticker"],
      [{ ...ok, price: "1,5" }, 400, "price:"],
      [{ ...ok, traderIds: [] }, 400, "traderIds: names no trader"],
      [{ ...ok, traderIds: [traderIds[0], traderIds[0]] }, 400, "traderIds: names a trader twice"],
      [{ ...ok, multiplier: 2 }, 400, "unknown field: multiplier"],
      [{ ...ok, traderIds: [foreign[0]] }, 422, "does not follow this recorder"],
      [{ ...ok, recorderId: crypto.randomUUID() }, 422, "recorderId: no such recorder."],
    ];
    for (const [b, status, message] of cases) {
      const r = await trade(b);
      expect(r.status, JSON.stringify(b)).toBe(status);
      expect(r.body.error?.message, JSON.stringify(b)).toContain(message);
    }
    await t.api("PATCH", `/api/traders/${traderIds[0]}`, { enabled: false });
    const none = await trade(ok);
    expect(none).toMatchObject({ status: 422, body: { error: { code: "unprocessable" } } });
    expect((await t.api("POST", "/api/manual-trades", "{not json")).status).toBe(400);
    expect((await t.api("POST", "/api/manual-trades", ok, "wrong-token-wrong-token-x")).status).toBe(401);
    const [signals] = await t.sql`select count(*)::int as n from signals where recorder_id = ${recorderId}`;
    expect(Number(signals?.n)).toBe(0);
  });
});
