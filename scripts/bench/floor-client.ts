/**
 * The fan-out floor: a bare ws client holding N authorized Tradovate sockets to the simulator, sending one
 * placeorder on each at once and timing until the last reply. Nothing the relay does (intake, Postgres,
 * planning, bookkeeping) happens here: only the wire.
 */
import WebSocket from "ws";

export interface FloorUser {
  name: string;
  password: string;
  accountId: number;
}

interface Line {
  ws: WebSocket;
  user: FloorUser;
  pending: Map<number, () => void>;
  nextId: number;
}

async function login(restUrl: string, user: FloorUser): Promise<string> {
  const res = await fetch(`${restUrl}/auth/accesstokenrequest`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      name: user.name,
      password: user.password,
      appId: "floor",
      appVersion: "1",
      deviceId: `floor-${user.name}`,
    }),
  });
  const body = (await res.json()) as { accessToken?: string; errorText?: string };
  if (!body.accessToken) throw new Error(`floor login failed: ${body.errorText ?? res.status}`);
  return body.accessToken;
}

function open(wsUrl: string, user: FloorUser, token: string): Promise<Line> {
  return new Promise((ok, fail) => {
    const ws = new WebSocket(wsUrl);
    const line: Line = { ws, user, pending: new Map(), nextId: 1 };
    ws.on("message", (raw) => {
      const text = raw.toString();
      if (text === "o") {
        ws.send(`authorize\n0\n\n${token}`);
        return;
      }
      if (!text.startsWith("a")) return;
      for (const m of JSON.parse(text.slice(1)) as { i?: number; s?: number }[]) {
        if (m.i === 0) {
          if (m.s === 200) ok(line);
          else fail(new Error(`authorize failed ${m.s}`));
        } else if (m.i !== undefined) {
          line.pending.get(m.i)?.();
          line.pending.delete(m.i);
        }
      }
    });
    ws.on("error", fail);
  });
}

export class FloorClient {
  private lines: Line[] = [];
  private heartbeat: NodeJS.Timeout | undefined;

  async connect(restUrl: string, wsUrl: string, users: FloorUser[]): Promise<void> {
    for (let i = 0; i < users.length; i += 50) {
      const batch = users.slice(i, i + 50);
      const lines = await Promise.all(batch.map(async (u) => open(wsUrl, u, await login(restUrl, u))));
      this.lines.push(...lines);
    }
    this.heartbeat = setInterval(() => {
      for (const l of this.lines) if (l.ws.readyState === WebSocket.OPEN) l.ws.send("[]");
    }, 2500);
  }

  /** One market order on every socket at once; milliseconds until the last reply. */
  async fire(symbol: string, action: "Buy" | "Sell"): Promise<number> {
    const started = performance.now();
    await Promise.all(
      this.lines.map(
        (l) =>
          new Promise<void>((done) => {
            const id = l.nextId++;
            l.pending.set(id, done);
            const body = {
              accountSpec: `BENCH`,
              accountId: l.user.accountId,
              action,
              symbol,
              orderQty: 1,
              orderType: "Market",
              isAutomated: true,
              clOrdId: `floor-${l.user.name}-${id}-${Date.now()}`,
            };
            l.ws.send(`order/placeorder\n${id}\n\n${JSON.stringify(body)}`);
          }),
      ),
    );
    return performance.now() - started;
  }

  close(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const l of this.lines) l.ws.terminate();
    this.lines = [];
  }
}
