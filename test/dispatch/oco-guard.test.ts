/**
 * The other half of a filled exit never stays working. On ProjectX the gateway has no OCO for two exits:
 * the adapter links them in memory, so a restart forgets the link. The relay's own guard works from the
 * book: after the restart the take-profit fills, and the stop, which would otherwise open a short when
 * price comes back through it, is cancelled at the broker without waiting for reconciliation.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dec } from "../../src/domain/decimal";
import { ProjectXSim } from "../../src/sim/projectx/index";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { startTestRelay, type TestRelay } from "../support/relay";
import { waitFor } from "../support/wait";

type Order = { leg: string; clientOrderId: string; status: string; filledQty: number };
type Execution = { status: string; decision: string; orders: Order[] };

let db: TestDatabase;
let sim: ProjectXSim;
let relays: TestRelay[] = [];

const env = () => ({ PROJECTX_API_URL: sim.apiUrl, PROJECTX_RTC_URL: sim.rtcUrl.replace(/^ws/, "http") });

beforeAll(async () => {
  db = await createTestDatabase();
  sim = new ProjectXSim({ hubPingMs: 500 });
  await sim.start();
});
afterAll(async () => {
  for (const r of relays) await r.stop().catch(() => undefined);
  await sim.stop();
  await db.drop();
});

async function executions(t: TestRelay, signalId: string): Promise<Execution[]> {
  return waitFor(async () => {
    const res = await t.api<{ executions: Execution[] }>("GET", `/api/signals/${signalId}`);
    const list = res.body.executions ?? [];
    return list.length > 0 && list.every((e) => !["pending", "running"].includes(e.status))
      ? list
      : undefined;
  }, `the executions of ${signalId}`);
}

describe("exit pairs across a restart", () => {
  it("O01 a take-profit filled after a restart cancels its stop at once; price back through the stop opens nothing", async () => {
    const { accounts } = sim.addUser({
      userName: "oco-trader",
      apiKey: "oco-key-0001",
      accounts: [{ name: "PRAC-OCO", balance: 50_000 }],
    });
    const pxAccount = accounts[0]?.id ?? 0;
    const a = await startTestRelay({ url: db.url, logLevel: "info", env: env() });
    relays.push(a);
    const account = await a.api<{ id: string; status: string }>("POST", "/api/accounts", {
      name: "TopstepX OCO",
      broker: "projectx",
      environment: "demo",
      credentials: { userName: "oco-trader", apiKey: "oco-key-0001" },
    });
    expect(account.body.status, JSON.stringify(account.body)).toBe("connected");
    const recorder = await a.api<{ id: string; webhookToken: string }>("POST", "/api/recorders", {
      name: "OCO across restarts",
      quantity: 1,
      takeProfit: [{ ticks: 20, trimPercent: 100 }],
      stopLossTicks: 16,
    });
    const trader = await a.api<{ id: string }>("POST", "/api/traders", {
      recorderId: recorder.body.id,
      accountId: account.body.id,
    });
    expect(trader.status, JSON.stringify(trader.body)).toBe(201);

    sim.setPrice("MNQ", dec("21000"));
    const entry = await a.webhook(
      recorder.body.webhookToken,
      JSON.stringify({ ticker: "MNQ1!", action: "buy", price: "21000" }),
    );
    expect(entry.status).toBe(202);
    const [opened] = await executions(a, String(entry.body.signalId));
    expect(opened).toMatchObject({ status: "done", decision: "opened" });
    const leg = Object.fromEntries((opened?.orders ?? []).map((o) => [o.leg, o]));
    const tp = leg.tp1?.clientOrderId ?? "";
    const sl = leg.sl1?.clientOrderId ?? "";
    const atBroker = (tag: string) => sim.orders(pxAccount).find((o) => o.customTag === tag);
    expect(atBroker(tp)).toMatchObject({ status: 1, type: 1, limitPrice: 21005 });
    expect(atBroker(sl)).toMatchObject({ status: 1, type: 4, stopPrice: 20996 });

    // The restart: a new relay on the same database; its ProjectX adapter has never seen the pair.
    await a.stop();
    relays = relays.filter((r) => r !== a);
    const b = await startTestRelay({ url: db.url, logLevel: "info", env: env() });
    relays.push(b);
    await waitFor(async () => {
      const s = await b.api<{ sessions: { state: string }[] }>("GET", "/api/status");
      return s.body.sessions.some((x) => x.state === "ready") ? true : undefined;
    }, "the ProjectX session ready after the restart");

    sim.setPrice("MNQ", dec("21005")); // the take-profit fills
    await waitFor(() => atBroker(tp)?.status === 2, "the take-profit filled at the broker");
    // The stop goes well before reconciliation's next pass (a minute away).
    await waitFor(() => atBroker(sl)?.status === 3, "the stop cancelled at the broker", 10_000);
    expect(sim.positions(pxAccount)).toEqual([]);
    const cancelled = await waitFor(
      () =>
        b.logs
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .find((l) => l.event === "OcoPartnerCancelled" && l.cancelled === sl),
      "the relay's guard to report the cancel",
    );
    expect(cancelled).toMatchObject({ signalId: entry.body.signalId, filled: tp });
    await waitFor(async () => {
      const rows = await b.sql<{ leg: string; status: string }[]>`
        select leg, status from broker_orders where client_order_id = any(${[tp, sl]})`;
      const by = Object.fromEntries(rows.map((r) => [r.leg, r.status]));
      return by.tp1 === "filled" && by.sl1 === "cancelled" ? true : undefined;
    }, "the book: take-profit filled, stop cancelled");
    const [position] = await b.sql<{ net_qty: number }[]>`
      select net_qty from positions where trader_id = ${trader.body.id}`;
    expect(position?.net_qty ?? 0).toBe(0);

    // Price comes back through where the stop was: nothing is left to fill there.
    sim.setPrice("MNQ", dec("20990"));
    sim.setPrice("MNQ", dec("20980"));
    expect(sim.positions(pxAccount)).toEqual([]);
    expect(sim.trades(pxAccount)).toHaveLength(2); // the entry and the take-profit, nothing else
    expect(sim.duplicateCustomTags()).toEqual([]);
  });
});
