/** The conformance list against NinjaTrader Brokerage: the Tradovate adapter and simulator, kind "ninjatrader". */
import { tradovateDriver } from "../support/conformance-tradovate";
import { conformance } from "./scenarios";

conformance("ninjatrader", () => tradovateDriver("ninjatrader"));
