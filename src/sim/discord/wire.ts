/**
 * Discord REST v10 shapes the fake speaks: request bodies as zod schemas (unknown keys pass, as Discord
 * ignores them), the limits Discord enforces on a message, and the JSON error bodies it answers with
 * (`{message, code, errors?}`; rate limits `{message, retry_after, global}`).
 */
import { z } from "zod";

export const LIMITS = {
  content: 2000,
  embeds: 10,
  embedTotal: 6000,
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footer: 2048,
  author: 256,
  nonce: 25,
} as const;

export const embedSchema = z.looseObject({
  title: z.string().optional(),
  description: z.string().optional(),
  url: z.string().optional(),
  timestamp: z.string().optional(),
  color: z.number().int().min(0).max(0xffffff).optional(),
  footer: z.looseObject({ text: z.string() }).optional(),
  author: z.looseObject({ name: z.string() }).optional(),
  fields: z
    .array(z.looseObject({ name: z.string(), value: z.string(), inline: z.boolean().optional() }))
    .optional(),
});
export type WireEmbed = z.infer<typeof embedSchema>;

export const createMessageSchema = z.looseObject({
  content: z.string().optional(),
  embeds: z.array(embedSchema).optional(),
  nonce: z.union([z.string(), z.number().int()]).optional(),
  enforce_nonce: z.boolean().optional(),
  allowed_mentions: z
    .looseObject({
      parse: z.array(z.enum(["roles", "users", "everyone"])).optional(),
      users: z.array(z.string()).optional(),
      roles: z.array(z.string()).optional(),
    })
    .optional(),
});
export type CreateMessageBody = z.infer<typeof createMessageSchema>;

export const createDmSchema = z.looseObject({ recipient_id: z.string().regex(/^\d{15,25}$/) });

/** Discord's JSON error codes used here. */
export const CODES = {
  general: 0,
  unknownChannel: 10003,
  unknownUser: 10013,
  missingAccess: 50001,
  emptyMessage: 50006,
  cannotDmUser: 50007,
  invalidFormBody: 50035,
  invalidRecipient: 50033,
} as const;

export interface ErrorBody {
  message: string;
  code: number;
  errors?: Record<string, unknown>;
}

const fieldError = (code: string, message: string) => ({ _errors: [{ code, message }] });

/** The parts of a create-message body that Discord measures. */
export interface MeasuredMessage {
  content?: string | undefined;
  nonce?: string | number | undefined;
  embeds?:
    | {
        title?: string | undefined;
        description?: string | undefined;
        footer?: { text: string } | undefined;
        author?: { name: string } | undefined;
        fields?: { name: string; value: string }[] | undefined;
      }[]
    | undefined;
}

/** Every length check Discord applies to a create-message body; empty when the body is acceptable. */
export function messageProblems(body: MeasuredMessage): Record<string, unknown> {
  const errors: Record<string, unknown> = {};
  const tooLong = (max: number) => fieldError("BASE_TYPE_MAX_LENGTH", `Must be ${max} or fewer in length.`);
  if (body.content !== undefined && body.content.length > LIMITS.content) {
    errors.content = tooLong(LIMITS.content);
  }
  if (body.nonce !== undefined && String(body.nonce).length > LIMITS.nonce) {
    errors.nonce = tooLong(LIMITS.nonce);
  }
  const embeds = body.embeds ?? [];
  if (embeds.length > LIMITS.embeds) {
    errors.embeds = fieldError("BASE_TYPE_MAX_LENGTH", `Must be ${LIMITS.embeds} or fewer in length.`);
    return errors;
  }
  const perEmbed: Record<string, unknown> = {};
  let total = 0;
  embeds.forEach((e, i) => {
    const own: Record<string, unknown> = {};
    const check = (key: string, text: string | undefined, max: number) => {
      if (text === undefined) return;
      total += text.length;
      if (text.length > max) own[key] = tooLong(max);
    };
    check("title", e.title, LIMITS.title);
    check("description", e.description, LIMITS.description);
    check("footer", e.footer?.text, LIMITS.footer);
    check("author", e.author?.name, LIMITS.author);
    const fields = e.fields ?? [];
    if (fields.length > LIMITS.fields) own.fields = tooLong(LIMITS.fields);
    fields.forEach((f, j) => {
      total += f.name.length + f.value.length;
      if (f.name.length === 0 || f.value.length === 0) {
        own[`fields.${j}`] = fieldError("BASE_TYPE_REQUIRED", "This field is required");
      } else if (f.name.length > LIMITS.fieldName || f.value.length > LIMITS.fieldValue) {
        own[`fields.${j}`] = tooLong(f.name.length > LIMITS.fieldName ? LIMITS.fieldName : LIMITS.fieldValue);
      }
    });
    if (Object.keys(own).length > 0) perEmbed[String(i)] = own;
  });
  if (Object.keys(perEmbed).length > 0) errors.embeds = perEmbed;
  else if (total > LIMITS.embedTotal) {
    errors.embeds = fieldError(
      "MAX_EMBED_SIZE_EXCEEDED",
      `Embed size exceeds maximum size of ${LIMITS.embedTotal}`,
    );
  }
  return errors;
}

/** Total characters Discord counts against the 6000 limit for these embeds. */
export function embedChars(embeds: WireEmbed[]): number {
  let n = 0;
  for (const e of embeds) {
    n += (e.title?.length ?? 0) + (e.description?.length ?? 0);
    n += (e.footer?.text.length ?? 0) + (e.author?.name.length ?? 0);
    for (const f of e.fields ?? []) n += f.name.length + f.value.length;
  }
  return n;
}
