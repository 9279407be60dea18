/**
 * GET /api/docs: the OpenAPI document as one readable page, rendered here from the document itself. No
 * script, no stylesheet and nothing loaded: the relay's Content-Security-Policy (`default-src 'none'`,
 * src/http/hardening.ts) applies to it unchanged, so the page is plain semantic HTML that a phone's browser
 * lays out by itself (lists, not wide tables), with a contents list of links to every route.
 */
import { type JsonSchema, openApiDocument } from "./openapi";

const esc = (s: unknown) =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string,
  );

/** "integer", "string or null", "list of object", "one of: demo, live". */
export function typeText(schema: JsonSchema | undefined): string {
  if (!schema || Object.keys(schema).length === 0) return "any";
  if (Array.isArray(schema.enum)) return `one of: ${schema.enum.map((v) => JSON.stringify(v)).join(", ")}`;
  if (Array.isArray(schema.anyOf)) return (schema.anyOf as JsonSchema[]).map(typeText).join(" or ");
  const type = schema.type;
  if (type === "array") return `list of ${typeText(schema.items as JsonSchema | undefined)}`;
  if (Array.isArray(type)) return type.join(" or ");
  if (typeof type === "string") return type;
  return "any";
}

function limits(s: JsonSchema): string[] {
  const out: string[] = [];
  if (s.minimum !== undefined) out.push(`at least ${s.minimum}`);
  if (s.exclusiveMinimum !== undefined) out.push(`above ${s.exclusiveMinimum}`);
  if (s.maximum !== undefined) out.push(`at most ${s.maximum}`);
  if (s.minLength !== undefined && s.maxLength !== undefined)
    out.push(`${s.minLength} to ${s.maxLength} characters`);
  else if (s.minLength !== undefined) out.push(`at least ${s.minLength} characters`);
  else if (s.maxLength !== undefined) out.push(`up to ${s.maxLength} characters`);
  if (s.pattern !== undefined && s.format === undefined) out.push(`pattern ${s.pattern}`);
  if (s.maxItems !== undefined) out.push(`up to ${s.maxItems} items`);
  if (s.format !== undefined) out.push(String(s.format));
  return out;
}

function fieldList(schema: JsonSchema, depth = 0): string {
  const props = schema.properties as Record<string, JsonSchema> | undefined;
  if (!props) return "";
  const required = new Set((schema.required as string[] | undefined) ?? []);
  const items = Object.entries(props).map(([name, raw]) => {
    // A nullable setting is anyOf [x, null]: show x, say "or null".
    const branches = (raw.anyOf as JsonSchema[] | undefined) ?? [];
    const inner =
      branches.length === 2 && branches.some((b) => b.type === "null")
        ? branches.find((b) => b.type !== "null")
        : undefined;
    const s = inner ? { ...inner, ...raw, anyOf: undefined } : raw;
    const facts = [
      `<code>${esc(typeText(s))}${inner ? " or null" : ""}</code>`,
      required.has(name) ? "<strong>required</strong>" : "optional",
      ...(s.default !== undefined ? [`default <code>${esc(JSON.stringify(s.default))}</code>`] : []),
      ...limits(s).map(esc),
      ...(s.writeOnly ? ["write-only, never returned"] : []),
    ];
    const nested =
      depth < 2
        ? fieldList(s, depth + 1) ||
          (s.type === "array" && s.items ? fieldList(s.items as JsonSchema, depth + 1) : "")
        : "";
    const text = s.description ? ` ${esc(s.description)}` : "";
    return `<li><code>${esc(name)}</code>: ${facts.join(", ")}.${text}${nested}</li>`;
  });
  return `<ul>${items.join("")}</ul>`;
}

const anchor = (method: string, path: string) =>
  `${method}-${path}`.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "");

type Op = JsonSchema & { tags: string[]; summary: string };

function renderOperation(method: string, path: string, op: Op): string {
  const id = anchor(method, path);
  const params = (op.parameters as JsonSchema[] | undefined) ?? [];
  const body = (op.requestBody as JsonSchema | undefined)?.content as
    | Record<string, { schema: JsonSchema }>
    | undefined;
  const bodySchema = body?.["application/json"]?.schema;
  const responses = Object.entries(op.responses as Record<string, JsonSchema>);
  const doc = openApiDocument() as { components: { responses: Record<string, { description: string }> } };
  const responseText = (r: JsonSchema) => {
    const ref = r.$ref as string | undefined;
    return ref
      ? (doc.components.responses[ref.split("/").pop() ?? ""]?.description ?? "")
      : String(r.description);
  };
  const open = Array.isArray(op.security) && op.security.length === 0;
  return [
    `<section id="${id}" aria-labelledby="${id}-h">`,
    `<h3 id="${id}-h"><code>${method.toUpperCase()} ${esc(path)}</code></h3>`,
    `<p>${esc(op.summary)}.${op.description ? ` ${esc(op.description)}` : ""}</p>`,
    `<p>${open ? "No admin token needed." : "Needs <code>Authorization: Bearer &lt;admin token&gt;</code>."}</p>`,
    params.length
      ? `<h4>Parameters</h4><ul>${params
          .map(
            (p) =>
              `<li><code>${esc(p.name)}</code> (${esc(p.in)}): <code>${esc(typeText(p.schema as JsonSchema))}</code>, ${
                p.required ? "<strong>required</strong>" : "optional"
              }${(p.schema as JsonSchema).default !== undefined ? `, default <code>${esc(JSON.stringify((p.schema as JsonSchema).default))}</code>` : ""}. ${esc(p.description ?? "")}</li>`,
          )
          .join("")}</ul>`
      : "",
    bodySchema
      ? `<h4>Body${(op.requestBody as JsonSchema).required ? "" : " (optional)"}</h4>${
          bodySchema.additionalProperties === false ? "<p>Unknown fields are refused.</p>" : ""
        }${fieldList(bodySchema)}`
      : "",
    `<h4>Replies</h4><ul>${responses.map(([status, r]) => `<li><strong>${esc(status)}</strong>: ${esc(responseText(r))}</li>`).join("")}</ul>`,
    `<p><a href="#contents">Back to the contents</a></p>`,
    "</section>",
  ].join("\n");
}

function render(): string {
  const doc = openApiDocument() as {
    info: { title: string; description: string };
    tags: { name: string }[];
    paths: Record<string, Record<string, Op>>;
  };
  const ops = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ path, method, op })),
  );
  const groups = doc.tags.map((t) => ({ tag: t.name, ops: ops.filter((o) => o.op.tags.includes(t.name)) }));
  const contents = groups
    .map(
      (g) =>
        `<li>${esc(g.tag)}<ul>${g.ops
          .map(
            (o) =>
              `<li><a href="#${anchor(o.method, o.path)}"><code>${o.method.toUpperCase()} ${esc(o.path)}</code></a></li>`,
          )
          .join("")}</ul></li>`,
    )
    .join("");
  const sections = groups
    .map(
      (g) =>
        `<section aria-labelledby="tag-${anchor("t", g.tag)}"><h2 id="tag-${anchor("t", g.tag)}">${esc(g.tag)}</h2>\n${g.ops
          .map((o) => renderOperation(o.method, o.path, o.op))
          .join("\n")}</section>`,
    )
    .join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(doc.info.title)}</title>
</head>
<body>
<a href="#main">Skip to the routes</a>
<header>
<h1>${esc(doc.info.title)}</h1>
<p>${esc(doc.info.description)}</p>
<p>Errors are <code>{"error":{"code","message"}}</code>. The machine-readable document: <a href="/api/openapi.json">/api/openapi.json</a> (OpenAPI 3.1).</p>
</header>
<nav id="contents" aria-label="Routes">
<h2>Contents</h2>
<ul>${contents}</ul>
</nav>
<main id="main">
${sections}
</main>
</body>
</html>
`;
}

let cached: string | undefined;

/** The page, rendered on first use and kept. */
export function docsPage(): string {
  cached ??= render();
  return cached;
}
