/**
 * `npm run demo`: with the relay running locally (`npm start` in another terminal), sends a buy alert to
 * the demo recorder, shows the fill and the bracket, then moves the paper market through the take-profit.
 *
 * Options (environment): RELAY_URL (default http://localhost:3000), RELAY_ADMIN_TOKEN (default: the token
 * saved in DATA_DIR/admin-token on first start), DATA_DIR (default ./.data).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

const base = (process.env.RELAY_URL ?? `http://localhost:${process.env.PORT ?? 3000}`).replace(/\/+$/, "");
const dataDir = process.env.DATA_DIR ?? "./.data";

function adminToken(): string {
  if (process.env.RELAY_ADMIN_TOKEN) return process.env.RELAY_ADMIN_TOKEN;
  try {
    return readFileSync(join(dataDir, "admin-token"), "utf8").trim();
  } catch {
    throw new Error(
      `No admin token: set RELAY_ADMIN_TOKEN or run \`npm start\` once so it is saved in ${dataDir}/admin-token.`,
    );
  }
}

async function call<T>(method: string, path: string, body?: unknown, auth = true): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(auth ? { authorization: `Bearer ${adminToken()}` } : {}),
      ...(body ? { "content-type": "application/json" } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const json = (await res.json()) as T;
  if (res.status >= 400) throw new Error(`${method} ${path} -> ${res.status} ${JSON.stringify(json)}`);
  return json;
}

type Order = {
  leg: string;
  side: string;
  qty: number;
  type: string;
  price: string | null;
  stopPrice: string | null;
  status: string;
  fillPrice: string | null;
};
type Execution = {
  status: string;
  decision: string;
  reason: string;
  error: string | null;
  latencyMs: number | null;
  account: { name: string };
  orders: Order[];
};

async function execution(signalId: string): Promise<Execution[]> {
  for (let i = 0; i < 100; i++) {
    const s = await call<{ executions: Execution[] }>("GET", `/api/signals/${signalId}`);
    if (s.executions.length && s.executions.every((e) => e.status !== "pending" && e.status !== "running"))
      return s.executions;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the execution did not finish within 10 s");
}

function show(executions: Execution[]): void {
  for (const e of executions) {
    console.log(
      `  ${e.account.name}: ${e.status} - ${e.reason}${e.latencyMs !== null ? ` (${e.latencyMs} ms)` : ""}${e.error ? ` ! ${e.error}` : ""}`,
    );
    for (const o of e.orders) {
      const price = o.fillPrice
        ? `filled @ ${o.fillPrice}`
        : o.price
          ? `@ ${o.price}`
          : o.stopPrice
            ? `stop @ ${o.stopPrice}`
            : "";
      console.log(
        `    ${o.leg.padEnd(6)} ${o.side.padEnd(4)} ${o.qty} ${o.type.padEnd(6)} ${price.padEnd(20)} ${o.status}`,
      );
    }
  }
}

async function main(): Promise<void> {
  await fetch(`${base}/health`).catch(() => {
    throw new Error(`The relay is not running at ${base}: start it with \`npm start\` first.`);
  });
  const { recorders } = await call<{
    recorders: { name: string; webhookUrl: string; webhookToken: string; takeProfit: { ticks: number }[] }[];
  }>("GET", "/api/recorders");
  const recorder = recorders.find((r) => r.name === "Demo MNQ") ?? recorders[0];
  if (!recorder) throw new Error("No recorder yet: create one with POST /api/recorders (see README).");
  const price = "21000.25";
  console.log(`Sending a buy alert to "${recorder.name}" at ${price}:`);
  const alert = { ticker: "MNQ1!", action: "buy", price, time: new Date().toISOString() };
  console.log(`  POST /webhook/${recorder.webhookToken.slice(0, 4)}… ${JSON.stringify(alert)}`);
  const reply = await call<{ status: string; signalId: string }>(
    "POST",
    `/webhook/${recorder.webhookToken}`,
    alert,
    false,
  );
  console.log(`  -> ${reply.status}, signal ${reply.signalId}`);
  show(await execution(reply.signalId));

  const target = recorder.takeProfit[0]?.ticks;
  if (target) {
    const next = (Number(price) + target * 0.25).toFixed(2);
    console.log(`\nMoving the paper market to ${next} (the take-profit):`);
    await call("POST", "/api/paper/prices", { symbol: "MNQ1!", price: next });
    await new Promise((r) => setTimeout(r, 300));
    show(await execution(reply.signalId));
  }
  console.log(`\nEverything above is also at ${base}/api/signals/${reply.signalId}`);
}

main().catch((error) => {
  console.error(String(error instanceof Error ? error.message : error));
  process.exit(1);
});
