/**
 * Discord's message limits and the helpers that keep every message inside them: long lists end with
 * "... and N more" instead of being refused, and a final guard trims any embed that is still too big.
 *
 * @example
 *   listWithin(["• a", "• b", "• c"], 10); // "• a\n... and 2 more"
 */

export const LIMITS = {
  content: 2000,
  embedsPerMessage: 10,
  embedTotal: 6000,
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footer: 2048,
} as const;

export interface EmbedField {
  name: string;
  value: string;
  inline?: boolean;
}

/** The subset of Discord's embed object the relay sends. */
export interface Embed {
  title?: string;
  description?: string;
  color?: number;
  fields?: EmbedField[];
  footer?: { text: string };
  /** ISO-8601; phones show it in the reader's own time zone. */
  timestamp?: string;
}

export const COLORS = {
  red: 0xe02424,
  orange: 0xe67e22,
  yellow: 0xf1c40f,
  green: 0x2ecc71,
  blue: 0x3498db,
  grey: 0x95a5a6,
} as const;

/** Cuts `text` to at most `max` characters, ending with an ellipsis when it was cut. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, Math.max(0, max - 1)).trimEnd()}…`;
}

/**
 * Joins lines while they fit in `max` characters; what does not fit becomes "... and N more", where N
 * counts `weights` (traders) of the lines left out when given, else the lines themselves.
 */
export function listWithin(lines: string[], max: number, weights?: number[]): string {
  const total = (from: number) =>
    weights ? weights.slice(from).reduce((a, b) => a + b, 0) : lines.length - from;
  let out = "";
  for (let i = 0; i < lines.length; i++) {
    const restAfter = total(i + 1);
    const tail = restAfter > 0 ? `\n... and ${restAfter} more` : "";
    // A first line too long for the room is cut rather than hidden; later ones fit whole or are counted.
    const line = clip(lines[i] ?? "", out ? max : Math.max(1, max - tail.length));
    const next = out ? `${out}\n${line}` : line;
    if (next.length + tail.length <= max) {
      out = next;
      continue;
    }
    const more = `... and ${total(i)} more`;
    return out ? `${out}\n${more}`.slice(0, max) : more.slice(0, max);
  }
  return out;
}

/** Characters Discord counts against the 6000 total for one embed. */
export function embedSize(e: Embed): number {
  let n = (e.title?.length ?? 0) + (e.description?.length ?? 0) + (e.footer?.text.length ?? 0);
  for (const f of e.fields ?? []) n += f.name.length + f.value.length;
  return n;
}

/** Applies every per-part limit, then trims fields and description until the whole embed fits. */
export function fitEmbed(e: Embed, total: number = LIMITS.embedTotal): Embed {
  const out: Embed = { ...e };
  if (out.title !== undefined) out.title = clip(out.title, LIMITS.title);
  if (out.description !== undefined) out.description = clip(out.description, LIMITS.description);
  if (out.footer) out.footer = { text: clip(out.footer.text, LIMITS.footer) };
  if (out.fields) {
    out.fields = out.fields
      .filter((f) => f.name && f.value)
      .slice(0, LIMITS.fields)
      .map((f) => ({ ...f, name: clip(f.name, LIMITS.fieldName), value: clip(f.value, LIMITS.fieldValue) }));
  }
  while (embedSize(out) > total && out.fields && out.fields.length > 0) {
    const over = embedSize(out) - total;
    const last = out.fields[out.fields.length - 1];
    if (!last) break;
    if (last.value.length - over >= 40) {
      out.fields = [
        ...out.fields.slice(0, -1),
        { ...last, value: clip(last.value, last.value.length - over) },
      ];
    } else {
      out.fields = out.fields.slice(0, -1);
    }
  }
  if (embedSize(out) > total && out.description) {
    const over = embedSize(out) - total;
    out.description = clip(out.description, Math.max(1, out.description.length - over));
  }
  return out;
}
