/**
 * One Tradovate simulator, one relay and one database for the break-even / trailing-stop tests
 * (test/e2e/stops-tradovate*.test.ts): recorders and followers made through the API, signals sent through
 * the webhook, and the simulator's stops read back. Registers its own beforeAll/afterAll.
 */
import { afterAll, beforeAll, expect } from "vitest";
import { dec, toNum } from "../../src/domain/decimal";
import { TradovateSim } from "../../src/sim/tradovate/index";
import { createTestDatabase, type TestDatabase } from "./db";
import { startTestRelay, type TestRelay } from "./relay";
import { waitFor } from "./wait";

export interface Follower {
  token: string;
  traderId: string;
  user: string;
  account: string;
}

export function tradovateStopsWorld() {
  let db: TestDatabase;
  let tv: TradovateSim;
  let t: TestRelay;
  let n = 0;
  const MNQ = () => tv.front("MNQ");
  const env = () => ({
    TRADOVATE_DEMO_URL: tv.restUrl,
    TRADOVATE_LIVE_URL: tv.restUrl,
    TRADOVATE_MD_URL: tv.mdUrl,
  });
  const start = () => startTestRelay({ url: db.url, env: env(), logLevel: "info" });

  beforeAll(async () => {
    db = await createTestDatabase();
    tv = new TradovateSim();
    await tv.start();
    tv.setPrice(MNQ(), dec("21000"));
    t = await start();
  });
  afterAll(async () => {
    await t?.stop();
    await tv?.stop();
    await db?.drop();
  });

  async function recorder(settings: Record<string, unknown>) {
    n++;
    const rec = await t.api<{ id: string; webhookToken: string }>("POST", "/api/recorders", {
      name: `stops ${n}`,
      quantity: 2,
      takeProfit: [{ ticks: 80, trimPercent: 100 }],
      stopLossTicks: 8,
      ...settings,
    });
    expect(rec.status, JSON.stringify(rec.body)).toBe(201);
    return rec.body;
  }

  async function follower(rec: { id: string; webhookToken: string }): Promise<Follower> {
    n++;
    const user = `stops${n}`;
    const ids = tv.addUser({
      name: user,
      password: "pw-stops",
      accounts: [{ name: `STOPS${n}`, balance: dec(100_000) }],
    });
    const acc = await t.api<{ id: string }>("POST", "/api/accounts", {
      name: `tradovate stops ${n}`,
      broker: "tradovate",
      credentials: { username: user, password: "pw-stops", appId: "Relay", deviceId: user },
    });
    expect(acc.status, JSON.stringify(acc.body)).toBe(201);
    const tr = await t.api<{ id: string }>("POST", "/api/traders", {
      recorderId: rec.id,
      accountId: acc.body.id,
    });
    expect(tr.status, JSON.stringify(tr.body)).toBe(201);
    return { token: rec.webhookToken, traderId: tr.body.id, user, account: String(ids.accounts[0]?.id) };
  }

  async function signal(token: string, body: Record<string, unknown>) {
    const res = await t.webhook(token, JSON.stringify({ ticker: "MNQ1!", price: "21000", ...body }));
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    return waitFor(async () => {
      const rows = await db.sql`
        select status, decision, error from executions where signal_id = ${res.body.signalId as string}`;
      return rows.length > 0 &&
        rows.every((e) => !["pending", "running", "waiting_for_broker"].includes(e.status))
        ? rows
        : undefined;
    }, "the executions to finish");
  }

  const stops = (f: Follower) =>
    tv.venue.listOrders(f.account).filter((o) => o.status === "working" && o.type === "stop");
  const stopAt = (f: Follower) => stops(f).map((o) => toNum(o.stopPrice ?? dec(0)));
  const modifies = (f: Follower) => tv.requests({ endpoint: "order/modifyorder", user: f.user });
  const logged = (event: string, traderId: string) =>
    t.logs.filter((l) => l.includes(`"event":"${event}"`) && l.includes(traderId)).length;

  /** Moves the market and waits until the stop sits at `want` (or just lets the quote go when undefined). */
  async function quote(price: string, f?: Follower, want?: number): Promise<void> {
    tv.setPrice(MNQ(), dec(price));
    if (f && want !== undefined)
      await waitFor(() => stopAt(f).every((s) => s === want) && stopAt(f).length > 0, `the stop at ${want}`);
  }

  /** The relay stopped and started again on the same database and simulator. */
  async function restart(): Promise<TestRelay> {
    await t.stop();
    t = await start();
    return t;
  }

  return {
    get db() {
      return db;
    },
    get tv() {
      return tv;
    },
    get t() {
      return t;
    },
    MNQ,
    recorder,
    follower,
    signal,
    stops,
    stopAt,
    modifies,
    logged,
    quote,
    restart,
  };
}
