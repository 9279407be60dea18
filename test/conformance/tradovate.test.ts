/** The conformance list against the Tradovate adapter and its simulator. */
import { tradovateDriver } from "../support/conformance-tradovate";
import { conformance } from "./scenarios";

conformance("tradovate", () => tradovateDriver("tradovate"));
