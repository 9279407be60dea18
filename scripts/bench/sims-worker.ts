/**
 * The ProjectX and Webull simulators in their own process for the memory benchmark, so their sockets and
 * books are not billed to the relay. Driven over IPC like tradovate-worker.ts:
 * { id, cmd, ... } -> { id, ok, result | error }.
 */
import { ProjectXSim } from "../../src/sim/projectx/index";
import { WebullSim } from "../../src/sim/webull/index";

type Command =
  | { id: number; cmd: "start"; broker: "projectx" | "webull" }
  | { id: number; cmd: "addLogins"; prefix: string; from: number; count: number }
  | { id: number; cmd: "stop" };

/** What the relay needs to log in: ProjectX { userName, apiKey }, Webull { appKey, appSecret }. */
export interface SimLogin {
  name: string;
  credentials: Record<string, string>;
}

let projectx: ProjectXSim | undefined;
let webull: WebullSim | undefined;

async function handle(c: Command): Promise<unknown> {
  switch (c.cmd) {
    case "start":
      if (c.broker === "projectx") {
        projectx = new ProjectXSim();
        await projectx.start();
        return { PROJECTX_API_URL: projectx.apiUrl, PROJECTX_RTC_URL: projectx.rtcUrl };
      }
      webull = new WebullSim();
      await webull.start();
      return { WEBULL_API_URL: webull.baseUrl, WEBULL_DEMO_API_URL: webull.baseUrl };
    case "addLogins": {
      const out: SimLogin[] = [];
      for (let i = c.from; i < c.from + c.count; i++) {
        const name = `${c.prefix}${i}`;
        if (projectx) {
          projectx.addUser({
            userName: name,
            apiKey: `key-${name}`,
            accounts: [{ name, balance: 1_000_000 }],
          });
          out.push({ name, credentials: { userName: name, apiKey: `key-${name}` } });
        } else if (webull) {
          webull.addApp({
            appKey: `app-${name}`,
            appSecret: `secret-${name}`,
            accounts: [{ accountId: `WB${i}`, balance: "1000000" }],
          });
          out.push({ name, credentials: { appKey: `app-${name}`, appSecret: `secret-${name}` } });
        }
      }
      return out;
    }
    case "stop":
      await projectx?.stop();
      await webull?.stop();
      setImmediate(() => process.exit(0));
      return null;
  }
}

process.on("message", (message) => {
  const c = message as Command;
  handle(c).then(
    (result) => process.send?.({ id: c.id, ok: true, result }),
    (error) => process.send?.({ id: c.id, ok: false, error: String(error) }),
  );
});
