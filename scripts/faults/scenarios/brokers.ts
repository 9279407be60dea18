/**
 * Scenarios 2-5: the broker misbehaves while orders flow. Trading sockets dropped mid fan-out, 10% of
 * order replies delayed past the relay's 5 s request timeout, penalty tickets on order endpoints (and a
 * captcha, which must end as a rejection with the broker's words), access tokens expired mid-session
 * (some sockets dropped too, so they must log in again). Each round is one alert to every follower;
 * after it the relay must have settled every order by asking the broker, never by re-sending.
 */
import type { RecorderHandle } from "../harness";
import { nextAction, type ScenarioContext, type ScenarioResult, ScenarioRun, until } from "../scenario";
import { OrderWatch } from "../watch";

export interface BrokerFaultOptions {
  recorder: RecorderHandle;
  rounds: number;
}

/**
 * One alert per round with a fault armed by `arm`; waits until every execution ended, then clears faults.
 * A last round without faults proves the sessions recovered.
 */
async function rounds(
  ctx: ScenarioContext,
  run: ScenarioRun,
  o: BrokerFaultOptions,
  arm: (round: number, action: "buy" | "exit", watch: OrderWatch) => void,
): Promise<void> {
  const { h } = ctx;
  for (let round = 0; round <= o.rounds; round++) {
    const action = await nextAction(h, o.recorder);
    const watch = new OrderWatch(h.sim);
    const clean = round === o.rounds;
    try {
      if (!clean) arm(round, action, watch);
      const { key, body } = run.alert(action);
      const rec = await h.client.send(run.name, key, o.recorder.token, body);
      const open = await h.waitQuiet();
      await until(() => watch.fired, 1_000);
      run.note(
        `${clean ? "clean round" : `round ${round}`}: ${action} ${key} -> ${rec.status ?? rec.error}; ${watch.counts.market} market, ${watch.counts.exit} exit orders, ${watch.counts.cancel} cancels${open ? `; ${open} executions still open` : ""}`,
      );
    } finally {
      watch.dispose();
      h.sim.clearFaults();
    }
  }
}

export async function socketDropScenario(
  ctx: ScenarioContext,
  o: BrokerFaultOptions,
): Promise<ScenarioResult> {
  const run = new ScenarioRun("sockets", "trading sockets dropped while orders flow");
  const n = o.recorder.followers.length;
  await rounds(ctx, run, o, (_round, _action, watch) => {
    const drops = ctx.rng.chance(0.5) ? 2 : 1;
    for (let d = 0; d < drops; d++) {
      const at = ctx.rng.int(
        1 + Math.floor((d * 3 * n) / drops),
        Math.max(1, Math.floor(((d + 1) * 3 * n) / drops) - 1),
      );
      watch.at("any", at, () => {
        const sockets = ctx.h.sim.dropSockets({ kind: "trading" });
        run.fault("socketDrops");
        run.count("socketsDropped", sockets);
      });
    }
  });
  return run.result;
}

export async function delayedReplyScenario(
  ctx: ScenarioContext,
  o: BrokerFaultOptions & { delayMs: number },
): Promise<ScenarioResult> {
  const run = new ScenarioRun(
    "delays",
    `10% of order replies delayed ${o.delayMs} ms (past the relay's timeout)`,
  );
  await rounds(ctx, run, o, (_round, action) => {
    const endpoints =
      action === "buy" ? ["order/placeorder", "order/placeoco"] : ["order/cancelorder", "order/placeorder"];
    const pairs = o.recorder.followers.flatMap((f) => endpoints.map((endpoint) => ({ f, endpoint })));
    for (const { f, endpoint } of ctx.rng.sample(pairs, Math.max(1, Math.ceil(pairs.length / 10)))) {
      ctx.h.sim.delayReplies(endpoint, o.delayMs, { accountId: f.tvAccountId, count: 1 });
      run.fault("delayedReplies");
    }
  });
  return run.result;
}

export async function penaltyScenario(ctx: ScenarioContext, o: BrokerFaultOptions): Promise<ScenarioResult> {
  const run = new ScenarioRun("penalties", "penalty tickets (p-ticket/p-time) on order endpoints");
  const n = o.recorder.followers.length;
  await rounds(ctx, run, o, (round, action) => {
    const endpoints =
      action === "buy" ? ["order/placeorder", "order/placeoco"] : ["order/cancelorder", "order/placeorder"];
    const count = Math.max(1, Math.round(n / 5));
    for (const endpoint of endpoints) {
      ctx.h.sim.penalize(endpoint, { pTime: ctx.rng.pick([0.5, 1, 2]), count });
      run.fault("penaltyTickets", count);
    }
    if (round === 0) {
      // A captcha never clears: that order must end rejected with a reason, not re-sent.
      ctx.h.sim.penalize(endpoints[1] as string, { pTime: 1, captcha: true, count: 1 });
      run.fault("captchas");
    }
  });
  return run.result;
}

export async function tokenExpiryScenario(
  ctx: ScenarioContext,
  o: BrokerFaultOptions,
): Promise<ScenarioResult> {
  const run = new ScenarioRun("tokens", "access tokens expired mid-session (some sockets dropped too)");
  const n = o.recorder.followers.length;
  await rounds(ctx, run, o, (_round, _action, watch) => {
    const expired = ctx.rng.sample(o.recorder.followers, Math.max(2, Math.ceil(n * 0.3)));
    const at = ctx.rng.int(1, Math.max(1, 2 * n));
    watch.at("any", at, () => {
      for (const [i, f] of expired.entries()) {
        ctx.h.sim.expireToken(f.user);
        run.fault("tokensExpired");
        // Half of them also lose their socket: re-authorizing with the dead token must lead to a new login.
        if (i % 2 === 0)
          run.count("socketsDropped", ctx.h.sim.dropSockets({ user: f.user, kind: "trading" }));
      }
    });
  });
  return run.result;
}
