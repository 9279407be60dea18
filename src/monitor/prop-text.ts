/**
 * Prop-rule breach messages in a trader's words: what was reached, at what figure, and what the relay did.
 *
 * @example
 *   breachMessage("trailingDrawdown", "fail", dec("48010"), dec("48000"))
 *   // "trailing drawdown: balance 48,010 reached the floor 48,000; account flattened and its traders disabled"
 */
import { abs, type Dec, dec, roundToStep, toStr } from "../domain/decimal";
import type { RuleAction } from "../domain/prop-rules";
import type { PropRuleName } from "./prop-repo";

/** "48,010", "-1,250.50": thousands grouped, cents only when there are some. */
export function dollars(d: Dec): string {
  const cents = roundToStep(d, dec("0.01"));
  const [whole = "0", frac] = toStr(abs(cents)).split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const sign = cents < 0n ? "-" : "";
  return `${sign}${grouped}${frac ? `.${frac.padEnd(2, "0")}` : ""}`;
}

const CONSEQUENCE: Record<RuleAction, string> = {
  pause: "new entries refused for the rest of the trading day",
  flatten: "account flattened and new entries refused for the rest of the trading day",
  fail: "account flattened and its traders disabled",
};

/** `equity`: balance + open P&L (trailing drawdown) or the day's P&L; `threshold`: floor, -limit or target. */
export function breachMessage(rule: PropRuleName, action: RuleAction, equity: Dec, threshold: Dec): string {
  const what =
    rule === "trailingDrawdown"
      ? `trailing drawdown: balance ${dollars(equity)} reached the floor ${dollars(threshold)}`
      : rule === "dailyLossLimit"
        ? `daily loss limit: the day's P&L ${dollars(equity)} reached ${dollars(threshold)}`
        : `daily profit target: the day's P&L ${dollars(equity)} reached the target ${dollars(threshold)}`;
  return `${what}; ${CONSEQUENCE[action]}`;
}
