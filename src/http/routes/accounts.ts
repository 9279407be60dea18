/** /api/accounts: broker logins. Credentials go in, never come out. */
import { randomUUID } from "node:crypto";
import { Hono } from "hono";
import { z } from "zod";
import { BROKER_KINDS } from "../../brokers/port";
import { getAccount, insertAccount, listAccounts, updateAccount } from "../../db/accounts";
import { audit } from "../../db/audit";
import { announceSessionReset } from "../../db/owners";
import { dec, tryDec } from "../../domain/decimal";
import { propRulesSchema } from "../../domain/prop-settings";
import { RelayError } from "../../errors";
import { loadPropRules, savePropRules, setAccountLossSettings, validRule } from "../../monitor/index";
import { NotOwner } from "../../sessions/ownership";
import type { Env, Services } from "../context";
import { presentAccount } from "../present";
import { retireAccount } from "../retire";
import { idParam, jsonBody, parse } from "../validate";

/** Request bodies, exported for the OpenAPI document (src/http/openapi.ts). */
export const create = z.strictObject({
  name: z.string().trim().min(1).max(100),
  broker: z.enum(BROKER_KINDS as [string, ...string[]]),
  environment: z.enum(["demo", "live"]).default("demo"),
  credentials: z.record(z.string(), z.unknown()).default({}),
});
const money = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const d = tryDec(v);
  if (d === undefined || d <= 0n)
    ctx.addIssue({ code: "custom", message: "must be a number greater than 0" });
  return d ?? dec(0);
});

export const patch = z.strictObject({
  name: z.string().trim().min(1).max(100).optional(),
  environment: z.enum(["demo", "live"]).optional(),
  credentials: z.record(z.string(), z.unknown()).optional(),
  /** Daily loss limit of the whole login; null removes it. */
  maxDailyLoss: money.nullable().optional(),
  /** "HH:MM" local time the trading day rolls at for this account; null = the relay's default. */
  tradingDayRoll: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, "must be HH:MM")
    .nullable()
    .optional(),
  tradingDayTimeZone: z.string().min(1).nullable().optional(),
  /** Prop-firm rules per broker sub-account (src/domain/prop-settings.ts); null or [] removes them. */
  propRules: propRulesSchema.nullable().optional(),
});

/** Logging in can take a while at a real broker; the API answers after this, session still starting. */
const CONNECT_WAIT_MS = 10_000;

export function accountRoutes(s: Services) {
  const app = new Hono<Env>();
  const sessionOf = (id: string) => s.pool.sessions().find((x) => x.accountId === id);

  const connect = async (id: string) => {
    const deadline = Date.now() + CONNECT_WAIT_MS;
    const elsewhere = await Promise.race([
      s.pool.session(id).then(
        () => false,
        (error: unknown) => error instanceof NotOwner,
      ),
      new Promise<false>((r) => setTimeout(() => r(false), CONNECT_WAIT_MS).unref()),
    ]);
    // Another relay holds the login (issue 16): it logs in and writes the account's status; wait for it.
    while (elsewhere && Date.now() < deadline) {
      const account = await getAccount(s.sql, id);
      if (account?.status !== "new") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await s.directory.refresh();
  };

  // The account as presented, with its prop rules list as stored.
  const withRules = async (account: Parameters<typeof presentAccount>[0]) => ({
    ...presentAccount(account, sessionOf(account.id)),
    propRules: (await loadPropRules(s.sql)).get(account.id) ?? [],
  });

  app.get("/", async (c) => {
    const [accounts, rules] = await Promise.all([listAccounts(s.sql), loadPropRules(s.sql)]);
    return c.json({
      accounts: accounts.map((a) => ({
        ...presentAccount(a, sessionOf(a.id)),
        propRules: rules.get(a.id) ?? [],
      })),
    });
  });

  app.post("/", async (c) => {
    const body = parse(create, await jsonBody(c));
    const broker = body.broker as (typeof BROKER_KINDS)[number];
    const factory = s.pool.factory(broker);
    if (!factory)
      throw new RelayError("unprocessable", `The ${broker} broker is not available in this relay yet.`);
    const valid = factory.validateCredentials(body.credentials);
    if (!valid.ok) throw new RelayError("invalid_request", `credentials: ${valid.message}`);
    const id = randomUUID();
    await insertAccount(s.sql, {
      id,
      name: body.name,
      broker,
      environment: body.environment,
      credentials: s.sealer.seal(id, body.credentials),
    });
    await audit(s.sql, c.get("actor"), "account.create", id, {
      name: body.name,
      broker,
      environment: body.environment,
    });
    await s.directory.refresh();
    await connect(id);
    const account = await getAccount(s.sql, id);
    if (!account) throw new RelayError("internal", "the account vanished while it was being created");
    return c.json(presentAccount(account, sessionOf(id)), 201);
  });

  app.get("/:id", async (c) => {
    const account = await getAccount(s.sql, idParam(c, "account"));
    if (!account) throw new RelayError("not_found", "No such account.");
    return c.json(await withRules(account));
  });

  app.patch("/:id", async (c) => {
    const id = idParam(c, "account");
    const body = parse(patch, await jsonBody(c));
    const existing = await getAccount(s.sql, id);
    if (!existing) throw new RelayError("not_found", "No such account.");
    if (body.credentials) {
      const valid = s.pool.factory(existing.broker)?.validateCredentials(body.credentials);
      if (valid && !valid.ok) throw new RelayError("invalid_request", `credentials: ${valid.message}`);
    }
    const roll = body.tradingDayRoll ?? existing.tradingDayRoll ?? s.config.TRADING_DAY_ROLL;
    const zone = body.tradingDayTimeZone ?? existing.tradingDayTimeZone ?? s.config.TRADING_DAY_TIME_ZONE;
    if (!validRule({ roll, timeZone: zone })) {
      throw new RelayError(
        "invalid_request",
        "tradingDayTimeZone: is not a known time zone (e.g. America/Chicago)",
      );
    }
    if (body.propRules !== undefined) {
      const known = new Set(existing.brokerAccounts.map((b) => b.id));
      const unknown = (body.propRules ?? []).find(
        (e) => e.brokerAccountId && known.size && !known.has(e.brokerAccountId),
      );
      if (unknown)
        throw new RelayError(
          "invalid_request",
          `propRules: sub-account ${unknown.brokerAccountId} is not on this login (it has ${[...known].join(", ")})`,
        );
      await savePropRules(s.sql, id, body.propRules ?? []);
    }
    if (
      body.maxDailyLoss !== undefined ||
      body.tradingDayRoll !== undefined ||
      body.tradingDayTimeZone !== undefined
    ) {
      await setAccountLossSettings(s.sql, id, {
        ...(body.maxDailyLoss !== undefined ? { maxDailyLoss: body.maxDailyLoss } : {}),
        ...(body.tradingDayRoll !== undefined ? { tradingDayRoll: body.tradingDayRoll } : {}),
        ...(body.tradingDayTimeZone !== undefined ? { tradingDayTimeZone: body.tradingDayTimeZone } : {}),
      });
    }
    await updateAccount(s.sql, id, {
      ...(body.name ? { name: body.name } : {}),
      ...(body.environment ? { environment: body.environment } : {}),
      ...(body.credentials ? { credentials: s.sealer.seal(id, body.credentials) } : {}),
    });
    await audit(s.sql, c.get("actor"), "account.update", id, {
      fields: Object.keys(body).map((k) => (k === "credentials" ? "credentials (new)" : k)),
    });
    await s.directory.refresh();
    if (body.credentials || body.environment) {
      await s.pool.remove(id);
      // The relay holding the login may be another one (issue 16): it logs in again with the new details.
      await announceSessionReset(s.sql, id, s.config.instanceId);
      await connect(id);
    }
    if (body.propRules !== undefined) await s.lossMonitor.prop.reload();
    const account = await getAccount(s.sql, id);
    if (!account) throw new RelayError("not_found", "No such account.");
    return c.json(await withRules(account));
  });

  // Test the connection: a ready session answers at once; one that is absent, refused or down logs in
  // again now; one connecting or reconnecting is waited for. Bounded: after 10 s the answer is the state.
  app.post("/:id/connect", async (c) => {
    const id = idParam(c, "account");
    const existing = await getAccount(s.sql, id);
    if (!existing) throw new RelayError("not_found", "No such account.");
    const state = sessionOf(id)?.status.state;
    if (state !== "ready") {
      if (state !== "connecting" && state !== "reconnecting") {
        await s.pool.remove(id);
        // An account in use keeps retrying in the background, as after a restart; others only try now.
        const inUse = s.directory.accountsInUse().some((a) => a.id === id);
        void (inUse ? s.pool.warm([id]) : s.pool.session(id).catch(() => undefined));
      }
      const deadline = Date.now() + CONNECT_WAIT_MS;
      const settled = () => ["ready", "error", "down"].includes(sessionOf(id)?.status.state ?? "");
      while (!settled() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      await s.directory.refresh();
    }
    await audit(s.sql, c.get("actor"), "account.connect", id, { state: sessionOf(id)?.status.state ?? null });
    const account = await getAccount(s.sql, id);
    if (!account) throw new RelayError("not_found", "No such account.");
    return c.json(await withRules(account));
  });

  app.delete("/:id", async (c) => {
    const id = idParam(c, "account");
    const traders = await retireAccount(s, id, c.req.query("flatten") === "true");
    await audit(s.sql, c.get("actor"), "account.delete", id, { traders });
    return c.body(null, 204);
  });

  return app;
}
