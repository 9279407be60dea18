/** /api/recorders: signal sources with their webhook URL and settings. */
import { randomBytes } from "node:crypto";
import { Hono } from "hono";
import { z } from "zod";
import { audit } from "../../db/audit";
import {
  getRecorder,
  insertRecorder,
  listRecorders,
  rotateRecorderToken,
  softDeleteRecorder,
  updateRecorder,
} from "../../db/recorders";
import { countActiveTraders } from "../../db/traders";
import { recorderSettingsWithin } from "../../domain/settings";
import { RelayError } from "../../errors";
import type { Env, Services } from "../context";
import { presentRecorder } from "../present";
import { idParam, jsonBody, parse } from "../validate";

/** The name, enabled and rotateToken fields (the rest are settings), exported for src/http/openapi.ts. */
export const identity = z.object({
  name: z.string().trim().min(1).max(100).optional(),
  enabled: z.boolean().optional(),
  rotateToken: z.boolean().optional(),
});

/** 24 random bytes: the URL token is the only secret TradingView can carry. */
export const newWebhookToken = () => randomBytes(24).toString("base64url");

/** Splits name/enabled from the settings; `null` clears a setting back to its default. */
function split(body: unknown): { head: z.infer<typeof identity>; settings: Record<string, unknown> } {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new RelayError("invalid_request", "The request body must be a JSON object.");
  }
  const { name, enabled, rotateToken, ...rest } = body as Record<string, unknown>;
  return { head: parse(identity, { name, enabled, rotateToken }), settings: rest };
}

export function recorderRoutes(s: Services) {
  const app = new Hono<Env>();
  const url = s.config.publicUrl;

  app.get("/", async (c) =>
    c.json({ recorders: (await listRecorders(s.sql)).map((r) => presentRecorder(r, url)) }),
  );

  app.post("/", async (c) => {
    const { head, settings } = split(await jsonBody(c));
    if (!head.name) throw new RelayError("invalid_request", "name: is required");
    const parsed = parse(recorderSettingsWithin(s.config.MAX_ORDER_CONTRACTS), withoutNulls(settings));
    const recorder = await insertRecorder(s.sql, {
      name: head.name,
      webhookToken: newWebhookToken(),
      settings: parsed,
      enabled: head.enabled ?? true,
    });
    await audit(s.sql, c.get("actor"), "recorder.create", recorder.id, { name: recorder.name });
    await s.directory.refresh();
    return c.json(presentRecorder(recorder, url), 201);
  });

  app.get("/:id", async (c) => {
    const r = await getRecorder(s.sql, idParam(c, "recorder"));
    if (!r) throw new RelayError("not_found", "No such recorder.");
    return c.json(presentRecorder(r, url));
  });

  app.patch("/:id", async (c) => {
    const id = idParam(c, "recorder");
    const existing = await getRecorder(s.sql, id);
    if (!existing) throw new RelayError("not_found", "No such recorder.");
    const { head, settings } = split(await jsonBody(c));
    const merged = withoutNulls({ ...existing.settings, ...settings });
    // Only the sizes this request sets are held to MAX_ORDER_CONTRACTS: a recorder stored under a higher
    // limit can still be renamed or disabled (the planner's per-order cap still applies to it).
    const parsed = parse(recorderSettingsWithin(s.config.MAX_ORDER_CONTRACTS, Object.keys(settings)), merged);
    let updated = await updateRecorder(s.sql, id, {
      ...(head.name ? { name: head.name } : {}),
      ...(head.enabled !== undefined ? { enabled: head.enabled } : {}),
      settings: parsed,
    });
    if (head.rotateToken) {
      await rotateRecorderToken(s.sql, id, newWebhookToken());
      updated = await getRecorder(s.sql, id);
    }
    await audit(s.sql, c.get("actor"), "recorder.update", id, {
      fields: Object.keys({ ...settings, ...stripUndefined(head) }),
    });
    await s.directory.refresh();
    if (!updated) throw new RelayError("not_found", "No such recorder.");
    return c.json(presentRecorder(updated, url));
  });

  app.delete("/:id", async (c) => {
    const id = idParam(c, "recorder");
    const traders = await countActiveTraders(s.sql, { recorderId: id });
    if (traders > 0)
      throw new RelayError("conflict", `This recorder has ${traders} trader(s); delete those links first.`);
    if (!(await softDeleteRecorder(s.sql, id))) throw new RelayError("not_found", "No such recorder.");
    await audit(s.sql, c.get("actor"), "recorder.delete", id);
    await s.directory.refresh();
    return c.body(null, 204);
  });

  return app;
}

function withoutNulls(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined));
}

function stripUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
