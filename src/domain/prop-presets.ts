/**
 * Prop-firm plan presets, selectable by name (`riskPreset`) on a broker account's prop rules. Explicit
 * fields override the preset. The numbers are the firms' published evaluation rules as publicly known in
 * 2025 (full-size contracts; micros count 10 to 1 at most firms, which these limits do not model).
 * Firms change their rules often: every preset is "as published by <firm>, check before use".
 *
 * Lock: dollars above the starting balance where the trailing floor stops (0: it stops at the starting
 * balance; 100: Apex's start + $100).
 */
import { dec } from "./decimal";
import type { PropRules } from "./prop-rules";

type Preset = Omit<PropRules, "preset" | "highWaterBalance">;

function plan(
  size: number,
  mode: "eod" | "intraday",
  drawdown: number,
  lock: number,
  maxContracts: number,
  dailyLoss?: number,
): Preset {
  return {
    startingBalance: dec(size),
    trailingDrawdown: { mode, amount: dec(drawdown), lock: dec(lock), action: "fail" },
    dailyProfitTarget: null,
    dailyLossLimit: dailyLoss === undefined ? null : { amount: dec(dailyLoss), action: "flatten" },
    maxContracts,
  };
}

export const PROP_PRESETS = {
  // Topstep Trading Combine (topstep.com help center, "Maximum Loss Limit", "Daily Loss Limit",
  // "Maximum Position Size"): the Maximum Loss Limit trails the end-of-day balance and stops at the
  // starting balance. As published by Topstep, check before use.
  "topstep-50k": plan(50_000, "eod", 2_000, 0, 5, 1_000),
  "topstep-100k": plan(100_000, "eod", 3_000, 0, 10, 2_000),
  "topstep-150k": plan(150_000, "eod", 4_500, 0, 15, 3_000),
  // Apex Trader Funding evaluations (apextraderfunding.com, "Trailing Threshold"): the threshold trails
  // the highest balance including open P&L and stops trailing at starting balance + $100; no daily loss
  // limit. As published by Apex, check before use.
  "apex-50k": plan(50_000, "intraday", 2_500, 100, 10),
  "apex-100k": plan(100_000, "intraday", 3_000, 100, 14),
  "apex-150k": plan(150_000, "intraday", 5_000, 100, 17),
  // Take Profit Trader Test accounts (takeprofittrader.com FAQ, "End of day trailing drawdown",
  // "Daily loss limit"): end-of-day trailing, locking at the starting balance. As published by
  // TakeProfitTrader, check before use.
  "takeprofittrader-50k": plan(50_000, "eod", 2_000, 0, 6, 1_100),
  "takeprofittrader-100k": plan(100_000, "eod", 3_000, 0, 12, 2_200),
  "takeprofittrader-150k": plan(150_000, "eod", 4_500, 0, 15, 3_300),
  // MyFundedFutures Core evaluations (myfundedfutures.com, "Maximum Loss Limit (EOD)"): end-of-day
  // trailing, locking at the starting balance; no daily loss limit. As published by MyFundedFutures,
  // check before use.
  "myfundedfutures-50k": plan(50_000, "eod", 2_000, 0, 5),
  "myfundedfutures-100k": plan(100_000, "eod", 3_000, 0, 10),
  "myfundedfutures-150k": plan(150_000, "eod", 4_500, 0, 15),
} satisfies Record<string, Preset>;

export type PresetName = keyof typeof PROP_PRESETS;
export const PRESET_NAMES = Object.keys(PROP_PRESETS) as [PresetName, ...PresetName[]];
