/**
 * The Discord fake itself: it must answer like Discord (auth, limits, DM channels, nonce, 429 shapes) or
 * the notification tests prove nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DiscordSim } from "../../src/sim/discord";

const TOKEN = "fake-discord-bot-token-0123456789";
const CHANNEL = "112233445566778899";
let sim: DiscordSim;
let clock = Date.now();

beforeAll(async () => {
  sim = new DiscordSim({ token: TOKEN, rateLimit: { limit: 3, windowMs: 60_000 }, now: () => clock });
  await sim.start();
});
afterAll(async () => sim.stop());

async function call(path: string, body?: unknown, token = TOKEN, signal?: AbortSignal) {
  const res = await fetch(`${sim.apiUrl}/v10${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { authorization: `Bot ${token}`, "content-type": "application/json" },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    ...(signal ? { signal } : {}),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

describe("Discord fake", () => {
  it("D01 refuses a wrong bot token with Discord's 401 body", async () => {
    const res = await call(`/channels/${CHANNEL}/messages`, { content: "hi" }, "wrong-token-0123456789");
    expect(res).toMatchObject({ status: 401, body: { message: "401: Unauthorized", code: 0 } });
    expect(sim.messages()).toHaveLength(0);
  });

  it("D02 creates a message, records it and reports the channel's bucket in X-RateLimit headers", async () => {
    const res = await call(`/channels/${CHANNEL}/messages`, { content: "hello", embeds: [{ title: "t" }] });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ channel_id: CHANNEL, content: "hello", author: { bot: true } });
    expect(res.headers.get("x-ratelimit-limit")).toBe("3");
    expect(res.headers.get("x-ratelimit-remaining")).toBe("2");
    expect(Number(res.headers.get("x-ratelimit-reset-after"))).toBeGreaterThan(0);
    expect(sim.messagesIn(CHANNEL).map((m) => m.content)).toEqual(["hello"]);
  });

  it("D03 enforces Discord's limits with 50035 Invalid Form Body", async () => {
    const long = await call(`/channels/${CHANNEL}/messages`, { content: "x".repeat(2001) });
    expect(long).toMatchObject({
      status: 400,
      body: { code: 50035, errors: { content: { _errors: [{ code: "BASE_TYPE_MAX_LENGTH" }] } } },
    });
    const big = await call(`/channels/${CHANNEL}/messages`, {
      embeds: [{ description: "x".repeat(4000) }, { description: "y".repeat(2500) }],
    });
    expect(big).toMatchObject({
      status: 400,
      body: { code: 50035, errors: { embeds: { _errors: [{ code: "MAX_EMBED_SIZE_EXCEEDED" }] } } },
    });
    const empty = await call("/channels/998877665544332211/messages", { content: "" });
    expect(empty).toMatchObject({ status: 400, body: { code: 50006 } });
    expect(sim.messagesIn(CHANNEL)).toHaveLength(1);
  });

  it("D04 answers 429 with retry_after, global and X-RateLimit headers when a bucket is empty", async () => {
    const other = "223344556677889900";
    for (let i = 0; i < 3; i++)
      expect((await call(`/channels/${other}/messages`, { content: `m${i}` })).status).toBe(200);
    const res = await call(`/channels/${other}/messages`, { content: "too many" });
    expect(res.status).toBe(429);
    expect(res.body).toMatchObject({ message: "You are being rate limited.", global: false });
    expect(res.body.retry_after).toBeGreaterThan(0);
    expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(res.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(res.headers.get("x-ratelimit-scope")).toBe("user");
    expect(sim.messagesIn(other)).toHaveLength(3);
  });

  it("D05 forced rate limits and errors answer without creating anything", async () => {
    const ch = "334455667788990011";
    sim.rateLimitNext(1, { retryAfterMs: 1500, global: true });
    const limited = await call(`/channels/${ch}/messages`, { content: "a" });
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ retry_after: 1.5, global: true });
    expect(limited.headers.get("x-ratelimit-global")).toBe("true");
    expect(limited.headers.get("retry-after")).toBe("2");
    // While the global limit lasts, every request is refused.
    expect((await call(`/channels/${ch}/messages`, { content: "b" })).status).toBe(429);
    sim.clearFaults();
    sim.failNext(1, 502, { message: "Bad Gateway", code: 0 });
    expect(sim.messagesIn(ch)).toHaveLength(0);
  });

  it("D06 opens one DM channel per user and delivers to it; closed DMs answer 50007", async () => {
    clock += 1600; // the global limit from D05 runs out on the fake's clock
    sim.clearFaults();
    const a = await call("/users/@me/channels", { recipient_id: "445566778899001122" });
    const b = await call("/users/@me/channels", { recipient_id: "445566778899001122" });
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({ type: 1, recipients: [{ id: "445566778899001122" }] });
    expect(b.body.id).toBe(a.body.id);
    const sent = await call(`/channels/${a.body.id}/messages`, { content: "dm" });
    expect(sent.status).toBe(200);
    expect(sim.dmsTo("445566778899001122").map((m) => m.content)).toEqual(["dm"]);
    sim.closeDms("556677889900112233");
    const c = await call("/users/@me/channels", { recipient_id: "556677889900112233" });
    const refused = await call(`/channels/${c.body.id}/messages`, { content: "dm" });
    expect(refused).toMatchObject({ status: 403, body: { code: 50007 } });
  });

  it("D07 enforce_nonce returns the first message instead of creating a second", async () => {
    const ch = "667788990011223344";
    const first = await call(`/channels/${ch}/messages`, {
      content: "once",
      nonce: "relay-42",
      enforce_nonce: true,
    });
    const again = await call(`/channels/${ch}/messages`, {
      content: "once",
      nonce: "relay-42",
      enforce_nonce: true,
    });
    expect(again.body.id).toBe(first.body.id);
    expect(sim.messagesIn(ch)).toHaveLength(1);
  });

  it("D08 down: refused connections, then hung requests, then back on the same port", async () => {
    const ch = "778899001122334455";
    const url = sim.apiUrl;
    await sim.down("refuse");
    await expect(call(`/channels/${ch}/messages`, { content: "x" })).rejects.toThrow();
    await sim.down("hang");
    const ac = new AbortController();
    const pending = call(`/channels/${ch}/messages`, { content: "x" }, TOKEN, ac.signal);
    await expect.poll(() => sim.requests({ path: `/api/v10/channels/${ch}/messages` }).length).toBe(1);
    ac.abort();
    await expect(pending).rejects.toThrow();
    const [hung] = sim.requests({ path: `/api/v10/channels/${ch}/messages` });
    expect(hung?.hung).toBe(true);
    expect(hung?.status).toBeUndefined();
    await sim.up();
    expect(sim.apiUrl).toBe(url);
    expect((await call(`/channels/${ch}/messages`, { content: "back" })).status).toBe(200);
    expect(sim.messagesIn(ch).map((m) => m.content)).toEqual(["back"]);
  });
});
