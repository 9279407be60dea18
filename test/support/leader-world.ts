/**
 * Leader copying tests: one database, the Tradovate and ProjectX simulators and a relay on them, with a
 * "desk" per broker through which a human trades a sub-account at the broker's own platform.
 */
import { expect } from "vitest";
import type { BrokerEvent } from "../../src/brokers/port";
import { dec } from "../../src/domain/decimal";
import { ProjectXSim } from "../../src/sim/projectx/index";
import { TradovateSim } from "../../src/sim/tradovate/index";
import { createTestDatabase, type TestDatabase } from "./db";
import { startTestRelay, type TestRelay } from "./relay";
import { waitFor } from "./wait";

export interface Desk {
  name: "Tradovate" | "ProjectX";
  /** Creates one login with four sub-accounts; returns the relay's account id and the sub-account ids. */
  login(name: string): Promise<{ accountId: string; subs: number[] }>;
  buy(sub: number, qty: number): void;
  sell(sub: number, qty: number): void;
  close(sub: number): void;
  position(sub: number): number;
}

export class LeaderWorld {
  db!: TestDatabase;
  tv!: TradovateSim;
  px!: ProjectXSim;
  t!: TestRelay;
  /** Every broker event the relay's sessions reported (re-subscribed after a restart). */
  readonly events: { accountId: string; event: BrokerEvent }[] = [];
  /** The relay's clock runs this far ahead of the simulators' (a fill then looks old). */
  shiftMs = 0;
  private readonly now = () => new Date(Date.now() + this.shiftMs);

  async start(): Promise<void> {
    this.db = await createTestDatabase();
    this.tv = new TradovateSim();
    this.px = new ProjectXSim({ hubPingMs: 500 });
    await Promise.all([this.tv.start(), this.px.start()]);
    this.t = await this.relay();
  }

  async stop(): Promise<void> {
    await this.t.stop();
    await Promise.all([this.tv.stop(), this.px.stop()]);
    await this.db.drop();
  }

  /** A new relay on the same database (the previous one stopped first by the caller). */
  async relay(): Promise<TestRelay> {
    const { tv, px } = this;
    const r = await startTestRelay({
      url: this.db.url,
      logLevel: "debug",
      env: {
        TRADOVATE_DEMO_URL: tv.restUrl,
        TRADOVATE_LIVE_URL: tv.restUrl,
        TRADOVATE_MD_URL: tv.mdUrl,
        PROJECTX_API_URL: px.apiUrl,
        PROJECTX_RTC_URL: px.rtcUrl.replace(/^ws/, "http"),
      },
      now: this.now,
      lossMonitor: { now: this.now },
    });
    r.relay.services.pool.onEvent((accountId, event) => this.events.push({ accountId, event }));
    return r;
  }

  /** Usable before `start`: every call reads the simulators and the relay of the moment. */
  desks(): Desk[] {
    const w = this;
    const api = () => w.t;
    const tradovate: Desk = {
      name: "Tradovate",
      async login(name) {
        const ids = w.tv.addUser({
          name,
          password: "pw",
          accounts: [0, 1, 2, 3].map((i) => ({ name: `D${name}${i}`, balance: dec(100_000) })),
        });
        w.tv.setPrice(w.tv.front("MNQ"), dec("21000"));
        const acc = await api().api<{ id: string; status: string }>("POST", "/api/accounts", {
          name,
          broker: "tradovate",
          credentials: { username: name, password: "pw", appId: "Relay", deviceId: `d-${name}` },
        });
        expect(acc.body.status).toBe("connected");
        return { accountId: acc.body.id, subs: ids.accounts.map((a) => a.id) };
      },
      buy: (sub, qty) => void w.tv.manual.marketOrder(sub, w.tv.front("MNQ"), "Buy", qty),
      sell: (sub, qty) => void w.tv.manual.marketOrder(sub, w.tv.front("MNQ"), "Sell", qty),
      close: (sub) => void w.tv.manual.closePosition(sub, w.tv.front("MNQ")),
      position: (sub) => w.tv.venue.position(String(sub), w.tv.front("MNQ"))?.netPos ?? 0,
    };
    const projectx: Desk = {
      name: "ProjectX",
      async login(name) {
        const { accounts } = w.px.addUser({
          userName: name,
          apiKey: `key-${name}`,
          accounts: [0, 1, 2, 3].map((i) => ({ name: `PRAC-${name}${i}`, balance: 50_000 })),
        });
        w.px.setPrice("MNQ", dec("21000"));
        const acc = await api().api<{ id: string; status: string }>("POST", "/api/accounts", {
          name,
          broker: "projectx",
          environment: "demo",
          credentials: { userName: name, apiKey: `key-${name}` },
        });
        expect(acc.body.status, JSON.stringify(acc.body)).toBe("connected");
        return { accountId: acc.body.id, subs: accounts.map((a) => a.id) };
      },
      buy: (sub, qty) => void w.px.manual.marketOrder(sub, w.px.contractId("MNQ"), 0, qty),
      sell: (sub, qty) => void w.px.manual.marketOrder(sub, w.px.contractId("MNQ"), 1, qty),
      close: (sub) => void w.px.manual.closePosition(sub, w.px.contractId("MNQ")),
      position: (sub) => {
        const p = w.px.positions(sub).find((x) => x.contractId === w.px.contractId("MNQ"));
        return p ? (p.type === 1 ? p.size : -p.size) : 0;
      },
    };
    return [tradovate, projectx];
  }

  /** Signals the relay made from the recorder's leader fills. */
  async leaderSignals(recorderId: string): Promise<number> {
    const [row] = await this.t.sql`
      select count(*)::int as n from signals where recorder_id = ${recorderId} and source = 'leader'`;
    return Number(row?.n ?? 0);
  }

  /** Waits for every follower to hold `want` at the broker and every execution to be finished. */
  async follows(desk: Desk, want: [number, number][], what: string): Promise<void> {
    await waitFor(async () => {
      if (!want.every(([sub, qty]) => desk.position(sub) === qty)) return undefined;
      await this.t.relay.leaders.idle();
      const [open] = await this.t.sql`
        select count(*)::int as n from executions where status in ('pending', 'running', 'waiting_for_broker')`;
      return Number(open?.n) === 0 ? true : undefined;
    }, what);
  }

  /** A recorder with a follower per (sub-account, multiplier) and `leader` as its leader. */
  async recorder(
    name: string,
    accountId: string,
    leader: number,
    followers: [number, number][],
  ): Promise<string> {
    const t = this.t;
    const rec = await t.api<{ id: string }>("POST", "/api/recorders", { name });
    for (const [sub, multiplier] of followers) {
      const tr = await t.api("POST", "/api/traders", {
        recorderId: rec.body.id,
        accountId,
        brokerAccountId: String(sub),
        multiplier,
      });
      expect(tr.status, JSON.stringify(tr.body)).toBe(201);
    }
    const set = await t.api("PUT", `/api/recorders/${rec.body.id}/leader`, {
      accountId,
      brokerAccountId: String(leader),
    });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    return rec.body.id;
  }
}
