/**
 * /api/recorders/:id/leader (issue 14): zod-validated, one error envelope, bearer auth, audited, and the
 * loop-safety refusal both ways (a follower cannot lead its recorder; the leader cannot follow it).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { paperSetup, startTestRelay, type TestRelay } from "../support/relay";

let db: TestDatabase;
let t: TestRelay;

beforeAll(async () => {
  db = await createTestDatabase();
  t = await startTestRelay({ url: db.url });
});
afterAll(async () => {
  await t.stop();
  await db.drop();
});

type Body = { leader?: Record<string, unknown> | null; error?: { code: string; message: string } };

describe("leader API", () => {
  it("LA01 sets, reads, refuses and removes a recorder's leader", async () => {
    const { recorderId, accountIds } = await paperSetup(t, { multipliers: [1] });
    const follower = accountIds[0] ?? "";
    const other = await t.api<{ id: string; brokerAccounts: { id: string }[] }>("POST", "/api/accounts", {
      name: "Leader login",
      broker: "paper",
    });
    const path = `/api/recorders/${recorderId}/leader`;

    expect((await t.api<Body>("GET", path)).body).toEqual({ leader: null });
    expect(
      (await t.api<Body>("PUT", path, { accountId: other.body.id }, "wrong-token-wrong-token-x")).status,
    ).toBe(401);
    const unknownField = await t.api<Body>("PUT", path, { accountId: other.body.id, multiplier: 2 });
    expect(unknownField).toMatchObject({ status: 400, body: { error: { code: "invalid_request" } } });
    expect(unknownField.body.error?.message).toContain("multiplier");
    const badId = await t.api<Body>("PUT", path, { accountId: "nope" });
    expect(badId.body.error?.message).toBe("accountId: must be an account id");
    const noSuch = await t.api<Body>("PUT", path, { accountId: "00000000-0000-4000-8000-000000000000" });
    expect(noSuch).toMatchObject({
      status: 422,
      body: { error: { message: "accountId: no such account." } },
    });
    const noSub = await t.api<Body>("PUT", path, { accountId: other.body.id, brokerAccountId: "X-9" });
    expect(noSub.status).toBe(422);
    expect(
      (
        await t.api<Body>("PUT", "/api/recorders/00000000-0000-4000-8000-000000000000/leader", {
          accountId: other.body.id,
        })
      ).status,
    ).toBe(404);

    // The follower's own sub-account cannot lead the recorder it follows.
    const loop = await t.api<Body>("PUT", path, { accountId: follower });
    expect(loop).toMatchObject({ status: 409, body: { error: { code: "conflict" } } });

    const set = await t.api<Body>("PUT", path, { accountId: other.body.id });
    expect(set.status).toBe(200);
    expect(set.body.leader).toMatchObject({
      recorderId,
      accountId: other.body.id,
      brokerAccountId: other.body.brokerAccounts[0]?.id,
    });
    expect((await t.api<Body>("GET", path)).body.leader).toMatchObject({ accountId: other.body.id });
    // ...and the leader cannot become a follower of it.
    const asFollower = await t.api<Body>("POST", "/api/traders", { recorderId, accountId: other.body.id });
    expect(asFollower).toMatchObject({ status: 409, body: { error: { code: "conflict" } } });
    const [audited] = await t.sql`select count(*)::int as n from audit where action like 'recorder.leader.%'`;
    expect(Number(audited?.n)).toBe(1);

    expect((await t.api<Body>("DELETE", path)).body).toEqual({ leader: null });
    expect((await t.api<Body>("DELETE", path)).status).toBe(404);
    // Once it no longer leads, the login may follow.
    expect((await t.api<Body>("POST", "/api/traders", { recorderId, accountId: other.body.id })).status).toBe(
      201,
    );
  });
});
