/**
 * /api/recorders/:id/leader (issue 14, leader copying): the broker sub-account whose own fills are
 * copied to the recorder's traders. PUT sets or moves it, GET reads it, DELETE stops copying.
 */
import { Hono } from "hono";
import { z } from "zod";
import { getAccount } from "../../db/accounts";
import { audit } from "../../db/audit";
import { getLeader, type LeaderRow, removeLeader, setLeader } from "../../db/leaders";
import { getRecorder } from "../../db/recorders";
import { RelayError } from "../../errors";
import type { Env, Services } from "../context";
import { idParam, jsonBody, parse } from "../validate";

/** The request body, exported for the OpenAPI document (src/http/openapi.ts). */
export const body = z.strictObject({
  accountId: z.uuid("must be an account id"),
  /** The sub-account inside the login; the login's first discovered one when omitted. */
  brokerAccountId: z.string().trim().min(1).max(64).optional(),
});

const present = (l: LeaderRow) => ({
  recorderId: l.recorderId,
  accountId: l.accountId,
  brokerAccountId: l.brokerAccountId,
  createdAt: l.createdAt,
  updatedAt: l.updatedAt,
});

export function leaderRoutes(s: Services) {
  const app = new Hono<Env>();

  const recorderOf = async (c: Parameters<typeof idParam>[0]) => {
    const id = idParam(c, "recorder");
    if (!(await getRecorder(s.sql, id))) throw new RelayError("not_found", "No such recorder.");
    return id;
  };

  app.get("/:id/leader", async (c) => {
    const leader = await getLeader(s.sql, await recorderOf(c));
    return c.json({ leader: leader ? present(leader) : null });
  });

  app.put("/:id/leader", async (c) => {
    const recorderId = await recorderOf(c);
    const input = parse(body, await jsonBody(c));
    const account = await getAccount(s.sql, input.accountId);
    if (!account) throw new RelayError("unprocessable", "accountId: no such account.");
    const subs = account.brokerAccounts;
    const brokerAccountId = input.brokerAccountId ?? subs[0]?.id;
    if (!brokerAccountId)
      throw new RelayError(
        "unprocessable",
        "The account has no discovered broker sub-accounts yet; fix the login or pass brokerAccountId.",
      );
    if (subs.length > 0 && !subs.some((x) => x.id === brokerAccountId))
      throw new RelayError(
        "unprocessable",
        `brokerAccountId: the login has no sub-account "${brokerAccountId}" (it has ${subs.map((x) => x.id).join(", ")}).`,
      );
    let leader: LeaderRow;
    try {
      leader = await setLeader(s.sql, { recorderId, accountId: input.accountId, brokerAccountId });
    } catch (error) {
      if ((error as { code?: string }).code === "RL001")
        throw new RelayError(
          "conflict",
          "This sub-account follows the recorder: it cannot also lead it (its copies would be copied back). Remove that trader first.",
        );
      throw error;
    }
    await audit(s.sql, c.get("actor"), "recorder.leader.set", recorderId, {
      accountId: leader.accountId,
      brokerAccountId: leader.brokerAccountId,
    });
    await s.directory.refresh();
    await s.leaders?.reload();
    return c.json({ leader: present(leader) });
  });

  app.delete("/:id/leader", async (c) => {
    const recorderId = await recorderOf(c);
    if (!(await removeLeader(s.sql, recorderId)))
      throw new RelayError("not_found", "The recorder has no leader.");
    await audit(s.sql, c.get("actor"), "recorder.leader.remove", recorderId, {});
    await s.directory.refresh();
    await s.leaders?.reload();
    return c.json({ leader: null });
  });

  return app;
}
