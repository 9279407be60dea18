/** The console's request context: the API's, plus the signed-in session. */
import type { Env } from "../http/context";
import type { ConsoleSession } from "./session";

export interface ConsoleEnv {
  Variables: Env["Variables"] & { session: ConsoleSession };
  Bindings: Env["Bindings"];
}
