/**
 * One recorder's flood never holds back another recorder's signal on a shared account by more than one
 * execution, and entries a recorder sends faster than its traders can trade are refused at once instead
 * of queuing for minutes (issue 13). The broker is a paper venue slowed down, so executions queue.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PaperFactory } from "../../src/brokers/paper/index";
import type { BrokerFactory, BrokerSession } from "../../src/brokers/port";
import type { PaperExchange } from "../../src/brokers/registry";
import type { ExecutionJob } from "../../src/dispatch/executor";
import { AccountLane } from "../../src/dispatch/lanes";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { startTestRelay } from "../support/relay";
import { waitFor } from "../support/wait";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

/** Paper sessions whose orders take `ms` to be answered, like a busy broker. */
function slow(ms: number): (paper: PaperExchange) => BrokerFactory[] {
  return (paper) => {
    const inner = new PaperFactory(paper);
    return [
      {
        kinds: inner.kinds,
        validateCredentials: (c) => inner.validateCredentials(c),
        create: (ctx): BrokerSession => {
          const s = inner.create(ctx);
          const place = s.placeOrder.bind(s);
          s.placeOrder = async (req) => {
            await new Promise((r) => setTimeout(r, ms));
            return place(req);
          };
          return s;
        },
      },
    ];
  };
}

const job = (recorderId: string, n: number) =>
  ({
    executionId: `${recorderId}${n}`,
    signalId: `${recorderId}${n}`,
    recorderId,
  }) as unknown as ExecutionJob;

describe("fairness between recorders on one account", () => {
  it("Q01 a lane serves recorders in turn, each in its own order", () => {
    const lane = new AccountLane();
    for (let i = 1; i <= 4; i++) lane.push(job("a", i));
    const order: string[] = [];
    // a1 is running when b's first signal arrives: b goes next, then they take turns.
    order.push(lane.take()?.executionId ?? "");
    lane.push(job("b", 1));
    lane.push(job("b", 2));
    for (let j = lane.take(); j; j = lane.take()) order.push(j.executionId);
    expect(order).toEqual(["a1", "b1", "a2", "b2", "a3", "a4"]);
    // A recorder served last and coming back at once waits for the others' turn: nobody starves.
    const again = new AccountLane();
    again.push(job("a", 1));
    again.push(job("a", 2));
    again.push(job("b", 1));
    expect(again.take()?.executionId).toBe("b1");
    again.push(job("b", 2));
    expect([again.take()?.executionId, again.take()?.executionId]).toEqual(["a1", "b2"]);
  });

  it("Q02 a flood on one recorder delays another's signal by at most one execution; entries past the backlog are refused, exits are not", async () => {
    const t = await startTestRelay({
      url: db.url,
      factories: slow(40),
      env: {
        RECORDER_MAX_PENDING_SIGNALS: "8",
        WEBHOOK_RATE_PER_MINUTE: "100000",
        WEBHOOK_RATE_BURST: "100000",
      },
    });
    try {
      const account = await t.api<{ id: string }>("POST", "/api/accounts", {
        name: "shared",
        broker: "paper",
      });
      const recorder = async (name: string) => {
        const r = await t.api<{ id: string; webhookToken: string }>("POST", "/api/recorders", {
          name,
          quantity: 1,
          avgDown: true,
        });
        await t.api("POST", "/api/traders", { recorderId: r.body.id, accountId: account.body.id });
        return r.body;
      };
      const flood = await recorder("flood");
      const quiet = await recorder("quiet");
      const send = (token: string, action: string, i: number) =>
        t.webhook(token, JSON.stringify({ ticker: "MNQ1!", action, price: "21000", id: `${action}-${i}` }));

      const replies = [];
      for (let i = 0; i < 30; i++) replies.push(await send(flood.webhookToken, "buy", i));
      const refused = replies.filter((r) => r.status === 429);
      expect(refused.length).toBeGreaterThan(0);
      expect(String((refused[0]?.body.error as { message?: string } | undefined)?.message)).toMatch(
        /already has \d+ signals waiting to be executed/,
      );
      // An exit is taken whatever the backlog.
      expect((await send(flood.webhookToken, "exit", 99)).status).toBe(202);

      const q = await send(quiet.webhookToken, "buy", 1);
      expect(q.status).toBe(202);
      await waitFor(
        async () => {
          const open = await db.sql`select 1 from executions where status in ('pending', 'running') limit 1`;
          return open.length === 0 ? true : undefined;
        },
        "every execution to finish",
        60_000,
      );
      const [mine] =
        await db.sql`select started_at from executions where signal_id = ${q.body.signalId as string}`;
      const before = await db.sql`
        select count(*)::int as n from executions e join signals s on s.id = e.signal_id
         where s.recorder_id = ${flood.id} and e.started_at > ${mine?.committed_at as Date} and e.started_at < ${mine?.started_at as Date}`;
      expect(before[0]?.n).toBeLessThanOrEqual(1);
    } finally {
      await t.stop();
    }
  }, 60_000);
});
