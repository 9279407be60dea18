/** /api/traders: links recorder -> account (+ broker sub-account). */
import { Hono } from "hono";
import { z } from "zod";
import { getAccount } from "../../db/accounts";
import { audit } from "../../db/audit";
import { workingOrdersOf } from "../../db/order-views";
import { listPositions } from "../../db/positions";
import { getRecorder } from "../../db/recorders";
import { getTrader, insertTrader, listTraders, updateTrader } from "../../db/traders";
import { dec, tryDec } from "../../domain/decimal";
import {
  multiplierSchema,
  overridesProblems,
  type RecorderSettings,
  type TraderOverrides,
  traderOverridesSchema,
} from "../../domain/settings";
import { RelayError } from "../../errors";
import type { Env, Services } from "../context";
import { presentTrader } from "../present";
import { retireTrader } from "../retire";
import { idParam, jsonBody, parse, UUID } from "../validate";

/** The trader's stop and sizing together with its recorder's: risk sizing needs a stop (issue 14). */
function overridesFit(recorder: RecorderSettings, overrides: TraderOverrides): void {
  const [problem] = overridesProblems(recorder, overrides);
  if (problem)
    throw new RelayError("invalid_request", `overrides.${problem.path.join(".")}: ${problem.message}.`);
}

const money = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const d = tryDec(v);
  if (d === undefined || d <= 0n)
    ctx.addIssue({ code: "custom", message: "must be a number greater than 0" });
  return d ?? dec(0);
});

/** Request bodies, exported for the OpenAPI document (src/http/openapi.ts). */
export const create = z.strictObject({
  recorderId: z.string().regex(UUID, "must be a recorder id"),
  accountId: z.string().regex(UUID, "must be an account id"),
  brokerAccountId: z.string().trim().min(1).max(64).optional(),
  multiplier: multiplierSchema.default(() => dec(1)),
  enabled: z.boolean().default(true),
  maxDailyLoss: money.nullable().optional(),
  overrides: traderOverridesSchema.default({}),
});
export const patch = z.strictObject({
  brokerAccountId: z.string().trim().min(1).max(64).optional(),
  multiplier: multiplierSchema.optional(),
  enabled: z.boolean().optional(),
  maxDailyLoss: money.nullable().optional(),
  overrides: traderOverridesSchema.optional(),
});

export function traderRoutes(s: Services) {
  const app = new Hono<Env>();

  const subAccount = async (accountId: string, wanted: string | undefined): Promise<string> => {
    const account = await getAccount(s.sql, accountId);
    if (!account) throw new RelayError("unprocessable", "accountId: no such account.");
    const subs = account.brokerAccounts;
    if (wanted) {
      if (subs.length > 0 && !subs.some((x) => x.id === wanted)) {
        throw new RelayError(
          "unprocessable",
          `brokerAccountId: the login has no sub-account "${wanted}" (it has ${subs.map((x) => x.id).join(", ")}).`,
        );
      }
      return wanted;
    }
    const first = subs[0];
    if (!first) {
      throw new RelayError(
        "unprocessable",
        `The account has no discovered broker sub-accounts yet (status ${account.status}${account.statusMessage ? `: ${account.statusMessage}` : ""}); fix the login or pass brokerAccountId.`,
      );
    }
    return first.id;
  };

  app.get("/", async (c) => {
    const recorderId = c.req.query("recorderId");
    const accountId = c.req.query("accountId");
    const traders = await listTraders(s.sql, {
      ...(recorderId && UUID.test(recorderId) ? { recorderId } : {}),
      ...(accountId && UUID.test(accountId) ? { accountId } : {}),
    });
    const [positions, working] = await Promise.all([
      listPositions(s.sql, { open: true }),
      workingOrdersOf(s.sql),
    ]);
    return c.json({ traders: traders.map((t) => presentTrader(t, positions, working)) });
  });

  app.post("/", async (c) => {
    const body = parse(create, await jsonBody(c));
    const recorder = await getRecorder(s.sql, body.recorderId);
    if (!recorder) throw new RelayError("unprocessable", "recorderId: no such recorder.");
    overridesFit(recorder.settings, body.overrides);
    const brokerAccountId = await subAccount(body.accountId, body.brokerAccountId);
    let trader: Awaited<ReturnType<typeof insertTrader>>;
    try {
      trader = await insertTrader(s.sql, {
        recorderId: body.recorderId,
        accountId: body.accountId,
        brokerAccountId,
        multiplier: body.multiplier,
        enabled: body.enabled,
        maxDailyLoss: body.maxDailyLoss ?? null,
        overrides: body.overrides,
      });
    } catch (error) {
      leaderConflict(error);
      if ((error as { code?: string }).code === "23505") {
        throw new RelayError(
          "conflict",
          "This broker sub-account already follows this recorder; one link per sub-account.",
        );
      }
      throw error;
    }
    if (!trader) {
      throw new RelayError(
        "conflict",
        "accountId: the account is being deleted (or was deleted); link the recorder to another account.",
      );
    }
    await audit(s.sql, c.get("actor"), "trader.create", trader.id, {
      recorderId: body.recorderId,
      accountId: body.accountId,
    });
    await s.directory.refresh();
    if (trader.enabled) void s.pool.warm([trader.accountId]);
    return c.json(presentTrader(trader), 201);
  });

  app.get("/:id", async (c) => {
    const t = await getTrader(s.sql, idParam(c, "trader"));
    if (!t) throw new RelayError("not_found", "No such trader.");
    const [positions, working] = await Promise.all([
      listPositions(s.sql, { traderId: t.id, open: true }),
      workingOrdersOf(s.sql, t.id),
    ]);
    return c.json(presentTrader(t, positions, working));
  });

  app.patch("/:id", async (c) => {
    const id = idParam(c, "trader");
    const body = parse(patch, await jsonBody(c));
    const existing = await getTrader(s.sql, id);
    if (!existing) throw new RelayError("not_found", "No such trader.");
    const recorder = body.overrides ? await getRecorder(s.sql, existing.recorderId) : undefined;
    if (recorder && body.overrides) overridesFit(recorder.settings, body.overrides);
    const brokerAccountId = body.brokerAccountId
      ? await subAccount(existing.accountId, body.brokerAccountId)
      : undefined;
    const updated = await updateTrader(s.sql, id, {
      ...(body.multiplier !== undefined ? { multiplier: body.multiplier } : {}),
      ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
      ...(body.maxDailyLoss !== undefined ? { maxDailyLoss: body.maxDailyLoss } : {}),
      ...(body.overrides !== undefined ? { overrides: body.overrides } : {}),
      ...(brokerAccountId ? { brokerAccountId } : {}),
    }).catch((error: unknown) => {
      leaderConflict(error);
      throw error;
    });
    await audit(s.sql, c.get("actor"), "trader.update", id, { fields: Object.keys(body) });
    await s.directory.refresh();
    if (!updated) throw new RelayError("not_found", "No such trader.");
    if (updated.enabled) void s.pool.warm([updated.accountId]);
    return c.json(presentTrader(updated, await listPositions(s.sql, { traderId: id, open: true })));
  });

  app.delete("/:id", async (c) => {
    const id = idParam(c, "trader");
    if (c.req.query("force") !== undefined) {
      throw new RelayError(
        "unprocessable",
        "force is no longer accepted: it left orders working at the broker. Pass ?flatten=true to cancel the trader's orders and close its position, then delete it.",
      );
    }
    const done = await retireTrader(s, id, c.req.query("flatten") === "true");
    await audit(s.sql, c.get("actor"), "trader.delete", id, { ...done });
    return c.body(null, 204);
  });

  return app;
}

/** Issue 14, leader copying: the database refuses a follower on the recorder's own leader (RL001). */
function leaderConflict(error: unknown): void {
  if ((error as { code?: string }).code === "RL001")
    throw new RelayError(
      "conflict",
      "This sub-account leads the recorder: it cannot also follow it (its copies would be copied back).",
    );
}
