/**
 * The OpenAPI 3.1 document of the admin API and the webhook, built from the very zod schemas the routes
 * validate with (`z.toJSONSchema`, request side: defaults make a field optional), so it cannot drift from
 * validation. A pure function of those schemas: no I/O, built once. Responses have no zod schema (the
 * routes shape them in src/http/present.ts), so they are described in words; errors share one envelope.
 *
 * No secret is in it: credentials are marked writeOnly and carry no example, token parameters neither.
 */
import { z } from "zod";
import { EXECUTION_STATUSES } from "../db/executions";
import { MULTIPLIER_MAX, MULTIPLIER_MIN, multiplierSchema, recorderSettingsSchema } from "../domain/settings";
import { alertBodySchema } from "../domain/signal";
import { ERROR_CODES } from "../errors";
import { create as accountCreate, patch as accountPatch } from "./routes/accounts";
import { body as emergencyBody } from "./routes/emergency";
import { body as leaderBody } from "./routes/leader";
import { body as manualTradeBody } from "./routes/manual-trades";
import { body as paperPriceBody } from "./routes/paper";
import { identity as recorderIdentity } from "./routes/recorders";
import { create as traderCreate, patch as traderPatch } from "./routes/traders";
import { OUTCOMES } from "./routes/webhooks";
import { LIMIT_DEFAULT, LIMIT_MAX, UUID } from "./validate";

export type JsonSchema = { [key: string]: unknown };

/** Words for the body fields, applied wherever a field of that name appears in the body they are given to. */
export const SETTINGS_TEXT: Record<string, string> = {
  name: "A name you recognise it by.",
  enabled: "Off: the recorder takes no signals (or the trader copies none).",
  rotateToken: "true issues a new webhook URL; the old one stops working at once.",
  quantity: "Contracts per entry when the alert gives no quantity.",
  addQuantity: "Contracts per add (averaging down); unset: an add uses quantity.",
  takeProfit:
    "Take-profit targets, each one distance (ticks, points, dollars per contract or percent of the fill price) and the percent of the position it closes; empty or 0 ticks: none.",
  ticks: "Distance in ticks.",
  points: "Distance in points.",
  dollars: "Distance in dollars per contract.",
  percent: "Distance in percent of the fill price.",
  trimPercent: "Percent of the position this target closes.",
  stopLossTicks: "Stop-loss distance in ticks; 0: no stop.",
  stopLoss:
    "The stop in points, dollars per contract or percent of the fill price, instead of stopLossTicks.",
  avgDown: "Add on a same-direction signal while in a position (off: such signals are ignored).",
  maxContracts: "Cap on the position, in contracts; unset: no cap.",
  maxSignalAgeSeconds: "An entry signal older than this is refused as stale.",
  dedupWindowMs: "The same alert again within this many milliseconds is a duplicate.",
  tradingWindows: "When entries are taken (local time in timeZone); empty: always.",
  start: "Window start, HH:MM (24 h).",
  end: "Window end, HH:MM (24 h).",
  days: "Week days the window applies to; unset: every day.",
  timeZone: "Time zone of the trading windows, e.g. America/Chicago.",
  ticker: "Contract to trade instead of the alert's ticker, e.g. MNQ1! for alerts on NQ1!.",
  onOpposite: "On an opposite-direction signal: reverse (close, then open) or close only.",
  positionSync: "When the alert's expected position disagrees with the follower's real one.",
  discordChannelId: "Discord channel that receives this recorder's notifications.",
  discordUserIds: "Discord users who get this recorder's notifications as direct messages.",
  riskDollars: "Risk sizing: contracts = these dollars / the stop's dollar risk per contract, rounded down.",
  riskPercent: "Risk sizing from this percent of the broker sub-account's balance.",
  cooldownSeconds: "Seconds after a filled entry during which the next entry is refused; 0: off.",
  maxEntriesPerDay: "Filled entries per trading day; unset: no limit.",
  addEvery: "With avgDown, only every Nth same-direction signal adds (1: every one).",
  direction: "Which sides may be opened; a refused side still closes the opposite position.",
  inverse: "Trade the opposite of each signal (buy <-> sell); exits unchanged.",
  trailingStop: "Trail the stop behind the best price at the stop-loss distance.",
  trailTriggerTicks: "Ticks of profit before the trail starts; 0: from the start.",
  trailStepTicks: "The trailing stop moves only in whole steps of this many ticks.",
  breakEvenTicks: "Ticks of profit that move the stop to break-even; 0: off.",
  breakEvenOffsetTicks:
    "Where the break-even stop goes: this many ticks beyond the entry, on the profit side.",
  flattenAtWindowEnd: "Flatten every trader (exits cancelled) when the trading windows close.",
};

const ACCOUNT_TEXT: Record<string, string> = {
  name: "A name you recognise the login by.",
  broker: "Which broker this login is at.",
  environment: "demo or live.",
  credentials:
    "The broker login, sealed before it is stored and never shown again. paper: {} or {startingBalance}; tradovate/ninjatrader: username, password, appId, appVersion?, cid, sec, deviceId (or accessToken, expirationTime? for OAuth); projectx: userName, apiKey, firmHost?, firmRtcHost?, bracketMode?; webull: appKey, appSecret, accessToken?, accountId?.",
  maxDailyLoss: "Daily loss limit of the whole login in dollars; null removes it.",
  tradingDayRoll: "HH:MM local time the trading day rolls at; null: the relay's default.",
  tradingDayTimeZone: "Time zone of tradingDayRoll; null: the relay's default.",
  propRules: "Prop-firm rules per broker sub-account (README: Prop-firm rules); null or [] removes them.",
  brokerAccountId: "The broker sub-account; none: every sub-account without an entry of its own.",
  riskPreset: "A firm's plan by name; explicit fields override it.",
  startingBalance: "The plan's starting balance in dollars.",
  highWaterBalance: "Seeds the high-water mark of an account part-way through its plan.",
  trailingDrawdown: "Floor that trails the high-water mark (mode eod or intraday, amount, lock, action).",
  dailyProfitTarget: "The day's P&L at or above amount triggers action (default pause).",
  dailyLossLimit: "The day's P&L at or below -amount triggers action (default flatten).",
  maxContracts: "Open contracts plus working orders on the sub-account, all symbols.",
};

const TRADER_TEXT: Record<string, string> = {
  recorderId: "The recorder (signal source) to follow.",
  accountId: "The broker login that trades.",
  brokerAccountId: "The sub-account inside the login; the first discovered one when omitted.",
  multiplier: `Copies the signal's size times this, from ${MULTIPLIER_MIN} to ${MULTIPLIER_MAX}, at most 2 decimal places; a number or a plain string such as "1.5". A new trader without it copies 1 for 1.`,
  enabled: "Off: this trader copies nothing.",
  maxDailyLoss: "Daily loss limit of this trader in dollars; null removes it.",
  overrides: "Recorder settings this trader sets for itself (they beat the recorder's).",
};

const ALERT_TEXT: Record<string, string> = {
  ticker: "The contract, e.g. MNQ1! (continuous, mapped to the front month), CME_MINI:MNQ1!, MNQZ2026.",
  symbol: "Another spelling of ticker.",
  action: "buy, sell, add, exit, close, flat or cancel.",
  data: "Another spelling of action.",
  sentiment: "long, short or flat (bullish/bearish accepted).",
  quantity: "Contracts (a whole number); qty and contracts are other spellings.",
  price: "The alert's price.",
  time: "When the alert fired (ISO time or epoch); older than maxSignalAgeSeconds is stale.",
  id: "The alert's id: the same id again is a duplicate.",
  takeProfit: "This alert's take-profit: ticks as a number, or {ticks|limitPrice|points|percent|amount}.",
  stopLoss: "This alert's stop: ticks as a number, or {ticks|stopPrice|points|percent|amount}.",
  marketPosition: "The strategy's position after this alert (long, short or flat), for the sync guard.",
  prevMarketPosition: "The strategy's position before this alert.",
  positionSize: "The strategy's signed position size after this alert.",
  comment: "Free text, kept with the signal.",
};

const LEADER_TEXT: Record<string, string> = {
  accountId: "The broker login whose own fills are copied.",
  brokerAccountId: "The sub-account inside the login; the first discovered one when omitted.",
};

const EMERGENCY_TEXT: Record<string, string> = {
  reason: "Why, kept in the audit log and the notification.",
  waitMs: "POST /flatten only: how long to wait for the brokers to read flat before answering (ms).",
};

const MANUAL_TRADE_TEXT: Record<string, string> = {
  requestId:
    "A UUID the caller makes once per trade: the same requestId again is the same trade (nothing is sent twice).",
  recorderId: "The recorder whose traders trade.",
  action: "buy, sell, add, exit, close, flat or cancel, as in an alert.",
  ticker: "The contract, e.g. MNQ1!, as in an alert (a recorder's or trader's ticker override applies).",
  quantity: "Contracts before each trader's multiplier; unset: the recorder's quantity.",
  price: "A reference price (paper fills at it); orders are market orders.",
  traderIds: "Only these traders of the recorder; unset: every enabled trader, each with its multiplier.",
};

const PAPER_TEXT: Record<string, string> = {
  symbol: "A product of the catalogue, e.g. MNQ.",
  price: "The new price, a number or a plain decimal string, above 0.",
};

/** Field names that hold a secret: the document never carries a value (example, default) for them. */
export const SECRET_FIELD =
  /pass(word)?|secret|apikey|api_key|token|credential|^sec$|^cid$|accesskey|appkey/i;

function toSchema(schema: z.ZodType, texts: Record<string, string> = {}): JsonSchema {
  const json = z.toJSONSchema(schema, {
    io: "input",
    target: "draft-2020-12",
    unrepresentable: "any",
    override: (ctx) => {
      // The routes' id pattern is case-insensitive; a JSON Schema pattern has no flags.
      if (ctx.jsonSchema.pattern === UUID.source) {
        ctx.jsonSchema.pattern = UUID.source.replaceAll("0-9a-f", "0-9a-fA-F");
        ctx.jsonSchema.format = "uuid";
      }
      // The multiplier is read from unknown input by hand: say what it takes.
      if (ctx.zodSchema === multiplierSchema) {
        Object.assign(ctx.jsonSchema, {
          type: ["number", "string"],
          minimum: Number(MULTIPLIER_MIN),
          maximum: Number(MULTIPLIER_MAX),
        });
      }
    },
  }) as JsonSchema;
  delete json.$schema;
  describeFields(json, texts);
  return json;
}

/** Adds the field texts, marks credentials writeOnly and drops any value a secret-looking field carries. */
function describeFields(schema: unknown, texts: Record<string, string>): void {
  if (Array.isArray(schema)) {
    for (const s of schema) describeFields(s, texts);
    return;
  }
  if (typeof schema !== "object" || schema === null) return;
  const s = schema as JsonSchema;
  const props = s.properties as Record<string, JsonSchema> | undefined;
  if (props) {
    for (const [name, prop] of Object.entries(props)) {
      const text = texts[name];
      if (text && prop.description === undefined) prop.description = text;
      if (name === "credentials") prop.writeOnly = true;
      if (SECRET_FIELD.test(name)) {
        delete prop.default;
        delete prop.example;
        delete prop.examples;
      }
    }
  }
  for (const [key, value] of Object.entries(s)) if (key !== "description") describeFields(value, texts);
}

/** Recorder bodies: name/enabled/rotateToken plus every setting, each of which `null` resets. */
function recorderBody(kind: "create" | "update"): z.ZodType {
  const settings = Object.fromEntries(
    Object.entries(recorderSettingsSchema.shape).map(([k, v]) => [k, (v as z.ZodType).nullable()]),
  );
  const head = recorderIdentity.shape;
  return kind === "create"
    ? z.strictObject({ name: head.name.unwrap(), enabled: head.enabled, ...settings })
    : z.strictObject({ ...head, ...settings });
}

/** The request bodies of the document, by operation id; exported so the tests compare them with the routes. */
export const REQUEST_BODIES = {
  createAccount: { schema: accountCreate, texts: ACCOUNT_TEXT },
  updateAccount: { schema: accountPatch, texts: ACCOUNT_TEXT },
  createRecorder: { schema: recorderBody("create"), texts: SETTINGS_TEXT },
  updateRecorder: { schema: recorderBody("update"), texts: SETTINGS_TEXT },
  setLeader: { schema: leaderBody, texts: LEADER_TEXT },
  createTrader: { schema: traderCreate, texts: { ...SETTINGS_TEXT, ...TRADER_TEXT } },
  updateTrader: { schema: traderPatch, texts: { ...SETTINGS_TEXT, ...TRADER_TEXT } },
  setPaperPrice: { schema: paperPriceBody, texts: PAPER_TEXT },
  emergencyStop: { schema: emergencyBody, texts: EMERGENCY_TEXT },
  emergencyFlatten: { schema: emergencyBody, texts: EMERGENCY_TEXT },
  emergencyResume: { schema: emergencyBody, texts: EMERGENCY_TEXT },
  receiveWebhook: { schema: alertBodySchema, texts: ALERT_TEXT },
  placeManualTrade: { schema: manualTradeBody, texts: MANUAL_TRADE_TEXT },
} as const satisfies Record<string, { schema: z.ZodType; texts: Record<string, string> }>;

type OperationId = keyof typeof REQUEST_BODIES | string;

interface QueryParam {
  name: string;
  description: string;
  schema: JsonSchema;
}

interface Operation {
  id: OperationId;
  method: "get" | "post" | "put" | "patch" | "delete";
  path: string;
  tag: string;
  summary: string;
  description?: string;
  query?: QueryParam[];
  /** The request body is optional (an empty body is accepted). */
  bodyOptional?: boolean;
  success: { status: number; description: string };
  errors: number[];
  /** Served without the admin token. */
  open?: boolean;
}

const uuid: JsonSchema = { type: "string", format: "uuid" };
const limit: QueryParam = {
  name: "limit",
  description: `How many to return, 1 to ${LIMIT_MAX}.`,
  schema: { type: "integer", minimum: 1, maximum: LIMIT_MAX, default: LIMIT_DEFAULT },
};
const flatten = (what: string): QueryParam => ({
  name: "flatten",
  description: `true: cancel ${what} orders and close ${what} positions first, then delete.`,
  schema: { type: "string", enum: ["true"] },
});

const OPERATIONS: Operation[] = [
  {
    id: "listAccounts",
    method: "get",
    path: "/api/accounts",
    tag: "Accounts",
    summary: "List broker logins",
    description: "Each login with its discovered sub-accounts, session and prop rules; never credentials.",
    success: { status: 200, description: "`{accounts: [...]}`" },
    errors: [401],
  },
  {
    id: "createAccount",
    method: "post",
    path: "/api/accounts",
    tag: "Accounts",
    summary: "Add a broker login",
    description: "Logs in (waits up to 10 s) and discovers the login's sub-accounts.",
    success: { status: 201, description: "The account, its sub-accounts and session; never credentials." },
    errors: [400, 401, 413, 422],
  },
  {
    id: "getAccount",
    method: "get",
    path: "/api/accounts/{id}",
    tag: "Accounts",
    summary: "Read one broker login",
    success: { status: 200, description: "The account with its prop rules; never credentials." },
    errors: [401, 404],
  },
  {
    id: "updateAccount",
    method: "patch",
    path: "/api/accounts/{id}",
    tag: "Accounts",
    summary: "Change a login: name, environment, new credentials, loss limit, trading day, prop rules",
    success: { status: 200, description: "The account with its prop rules; never credentials." },
    errors: [400, 401, 404, 413],
  },
  {
    id: "connectAccount",
    method: "post",
    path: "/api/accounts/{id}/connect",
    tag: "Accounts",
    summary: "Test a login's connection",
    description:
      "A ready session answers at once; an absent, refused or down one logs in again now; waits up to 10 s for the session to be ready, refused or down, then answers the account with its session state and the broker's error.",
    success: {
      status: 200,
      description: "The account with its session and sub-accounts; never credentials.",
    },
    errors: [401, 404],
  },
  {
    id: "deleteAccount",
    method: "delete",
    path: "/api/accounts/{id}",
    tag: "Accounts",
    summary: "Delete a broker login",
    description: "Refused (409) while traders use it, unless ?flatten=true.",
    query: [flatten("its traders'")],
    success: { status: 204, description: "Deleted." },
    errors: [401, 404, 409],
  },
  {
    id: "listRecorders",
    method: "get",
    path: "/api/recorders",
    tag: "Recorders",
    summary: "List signal sources",
    success: { status: 200, description: "`{recorders: [...]}`, each with webhookUrl and its settings." },
    errors: [401],
  },
  {
    id: "createRecorder",
    method: "post",
    path: "/api/recorders",
    tag: "Recorders",
    summary: "Add a signal source and get its webhook URL",
    success: { status: 201, description: "The recorder with webhookToken, webhookUrl and every setting." },
    errors: [400, 401, 413],
  },
  {
    id: "getRecorder",
    method: "get",
    path: "/api/recorders/{id}",
    tag: "Recorders",
    summary: "Read one signal source",
    success: { status: 200, description: "The recorder with webhookToken, webhookUrl and every setting." },
    errors: [401, 404],
  },
  {
    id: "updateRecorder",
    method: "patch",
    path: "/api/recorders/{id}",
    tag: "Recorders",
    summary: "Change a signal source's settings, or issue a new webhook URL",
    description: "Only the fields sent change; null resets a setting to its default.",
    success: { status: 200, description: "The recorder with webhookToken, webhookUrl and every setting." },
    errors: [400, 401, 404, 413],
  },
  {
    id: "deleteRecorder",
    method: "delete",
    path: "/api/recorders/{id}",
    tag: "Recorders",
    summary: "Delete a signal source",
    description: "Refused (409) while traders follow it.",
    success: { status: 204, description: "Deleted." },
    errors: [401, 404, 409],
  },
  {
    id: "getLeader",
    method: "get",
    path: "/api/recorders/{id}/leader",
    tag: "Recorders",
    summary: "Read the recorder's leader account",
    success: { status: 200, description: "`{leader: {recorderId, accountId, brokerAccountId, ...} | null}`" },
    errors: [401, 404],
  },
  {
    id: "setLeader",
    method: "put",
    path: "/api/recorders/{id}/leader",
    tag: "Recorders",
    summary: "Copy a leader account's own fills to the recorder's traders",
    description: "Refused (409) when that sub-account follows the recorder.",
    success: { status: 200, description: "`{leader: {recorderId, accountId, brokerAccountId, ...}}`" },
    errors: [400, 401, 404, 409, 413, 422],
  },
  {
    id: "removeLeader",
    method: "delete",
    path: "/api/recorders/{id}/leader",
    tag: "Recorders",
    summary: "Stop copying the leader account",
    success: { status: 200, description: "`{leader: null}`" },
    errors: [401, 404],
  },
  {
    id: "listTraders",
    method: "get",
    path: "/api/traders",
    tag: "Traders",
    summary: "List traders (recorder to account links) with their open positions",
    query: [
      { name: "recorderId", description: "Only traders following this recorder.", schema: uuid },
      { name: "accountId", description: "Only traders on this broker login.", schema: uuid },
    ],
    success: {
      status: 200,
      description:
        "`{traders: [...]}`; each open position lists its `workingOrders` (our take-profits, stops and resting orders still working at the broker: leg, side, type, qty, price, stopPrice, status).",
    },
    errors: [401],
  },
  {
    id: "createTrader",
    method: "post",
    path: "/api/traders",
    tag: "Traders",
    summary: "Link a recorder to a broker account (start copying)",
    success: { status: 201, description: "The trader; money as decimal strings." },
    errors: [400, 401, 409, 413, 422],
  },
  {
    id: "getTrader",
    method: "get",
    path: "/api/traders/{id}",
    tag: "Traders",
    summary: "Read one trader and its open positions",
    success: { status: 200, description: "The trader with its open positions and their `workingOrders`." },
    errors: [401, 404],
  },
  {
    id: "updateTrader",
    method: "patch",
    path: "/api/traders/{id}",
    tag: "Traders",
    summary: "Change a trader: multiplier, on/off, loss limit, overrides, sub-account",
    success: { status: 200, description: "The trader with its open positions." },
    errors: [400, 401, 404, 409, 413, 422],
  },
  {
    id: "deleteTrader",
    method: "delete",
    path: "/api/traders/{id}",
    tag: "Traders",
    summary: "Delete a trader",
    description:
      "Refused (409, saying what it holds) while it has a position or working orders, unless ?flatten=true.",
    query: [flatten("its")],
    success: { status: 204, description: "Deleted." },
    errors: [401, 404, 409, 422],
  },
  {
    id: "listSignals",
    method: "get",
    path: "/api/signals",
    tag: "Activity",
    summary: "Accepted signals, newest first, with execution counts per status",
    query: [
      limit,
      {
        name: "before",
        description: "Page on: the `next` of the previous page (a signal id).",
        schema: uuid,
      },
      { name: "recorderId", description: "Only this recorder's signals.", schema: uuid },
    ],
    success: { status: 200, description: "`{signals: [...], next: id | null}`" },
    errors: [400, 401],
  },
  {
    id: "getSignal",
    method: "get",
    path: "/api/signals/{id}",
    tag: "Activity",
    summary: "One signal, its raw webhook and what each trader did with it",
    success: {
      status: 200,
      description:
        "The signal with `webhook` and `executions`: per trader the decision and reason, `orders[]` each with its `fills[]` ({qty, price, at}), and `latency` in ms from the webhook's arrival per stage ({committedMs, dispatchedMs, sentMs, acknowledgedMs, filledMs}, null for a stage not reached).",
    },
    errors: [401, 404],
  },
  {
    id: "placeManualTrade",
    method: "post",
    path: "/api/manual-trades",
    tag: "Activity",
    summary: "Buy, sell or close by hand on chosen traders of a recorder, or on all of them",
    description:
      "The trade becomes a signal (source manual) committed before the answer and executed like any signal: filters, loss limits, the kill switch (entries refused while stopped, closes always run) and MAX_ORDER_CONTRACTS apply. The same requestId again answers 200 with the same signal.",
    success: {
      status: 202,
      description:
        '`{status: "accepted", signalId, traders: [{traderId, accountId, executionId}]}`; 200 `{status: "duplicate", ...}` for a requestId seen before.',
    },
    errors: [400, 401, 409, 413, 422],
  },
  {
    id: "listWebhooks",
    method: "get",
    path: "/api/webhooks",
    tag: "Activity",
    summary: "The raw webhook log, refused requests included, with the reason",
    query: [
      limit,
      {
        name: "before",
        description: "Page on: the `next` of the previous page (a webhook id).",
        schema: { type: "string", pattern: "^\\d{1,18}$" },
      },
      { name: "outcome", description: "Only this outcome.", schema: { type: "string", enum: [...OUTCOMES] } },
      { name: "recorderId", description: "Only this recorder's webhooks.", schema: uuid },
    ],
    success: { status: 200, description: "`{webhooks: [...], next: id | null}`" },
    errors: [400, 401],
  },
  {
    id: "listExecutions",
    method: "get",
    path: "/api/executions",
    tag: "Activity",
    summary: "Executions by status, e.g. everything that failed, with the broker's words",
    query: [
      {
        name: "status",
        description: `Comma-separated statuses among ${EXECUTION_STATUSES.join(", ")}.`,
        schema: { type: "string" },
      },
      limit,
      { name: "traderId", description: "Only this trader's executions.", schema: uuid },
      { name: "accountId", description: "Only executions on this broker login.", schema: uuid },
      {
        name: "before",
        description: "Page on: the `next` of the previous page (a time).",
        schema: { type: "string", format: "date-time" },
      },
    ],
    success: { status: 200, description: "`{executions: [...], next: time | null}`" },
    errors: [400, 401],
  },
  // Issue 15: history (src/http/routes/trades.ts).
  ...(() => {
    const filters: QueryParam[] = [
      { name: "accountId", description: "Only trades on this broker login.", schema: uuid },
      { name: "traderId", description: "Only this trader's trades.", schema: uuid },
      { name: "recorderId", description: "Only trades of this recorder's traders.", schema: uuid },
      {
        name: "from",
        description: "Trades opened at or after (a time).",
        schema: { type: "string", format: "date-time" },
      },
      {
        name: "to",
        description: "Trades opened before (a time).",
        schema: { type: "string", format: "date-time" },
      },
    ];
    const day = (what: string): QueryParam => ({
      name: what,
      description: `${what === "from" ? "First" : "Last"} trading day (YYYY-MM-DD), inclusive.`,
      schema: { type: "string", format: "date" },
    });
    const list: Operation[] = [
      {
        id: "listTrades",
        method: "get",
        path: "/api/trades",
        tag: "History",
        summary: "Round-trip trades, newest first: entry, exit, size, P&L",
        description:
          "A trade runs from a position leaving flat to its return to flat; a reverse starts the next. " +
          "`highPrice`/`lowPrice`: the highest and lowest price seen while it was open (its fills and the " +
          "quotes the loss monitor received, written every few seconds and when it closes). `mfe` (>= 0) and " +
          "`mae` (<= 0): the maximum favourable and adverse excursion in dollars, (best or worst price - " +
          "entry price) x qty x value per point; null for trades booked before excursions were kept.",
        query: [...filters, limit],
        success: {
          status: 200,
          description:
            "`{trades: [{id, accountId, traderId, recorderId, brokerAccountId, contract, direction, status, qty, " +
            "maxSize, openQty, entryPrice, exitPrice, exitQty, pnl, highPrice, lowPrice, mfe, mae, fills, " +
            "openedAt, closedAt}]}`",
        },
        errors: [400, 401, 422],
      },
      {
        id: "exportTrades",
        method: "get",
        path: "/api/trades.csv",
        tag: "History",
        summary: "The same trades as CSV (RFC 4180, header row, exact decimals, MFE/MAE included)",
        query: [
          ...filters,
          {
            name: "limit",
            description: "How many rows, 1 to 10000.",
            schema: { type: "integer", minimum: 1, maximum: 10000, default: 10000 },
          },
        ],
        success: { status: 200, description: "text/csv" },
        errors: [400, 401, 422],
      },
      {
        id: "dailyPnl",
        method: "get",
        path: "/api/pnl/daily",
        tag: "History",
        summary: "Realized P&L per trading day per account, trader or recorder",
        description: "Closed trades summed by the trading day (the account's roll) they closed on.",
        query: [
          {
            name: "by",
            description: "account, trader or recorder.",
            schema: { type: "string", enum: ["account", "trader", "recorder"] },
          },
          day("from"),
          day("to"),
          ...filters.slice(0, 3),
        ],
        success: {
          status: 200,
          description: "`{by, from, to, days: [{tradingDay, <by>Id, realized, trades}]}`",
        },
        errors: [400, 401, 422],
      },
    ];
    return list;
  })(),
  {
    id: "getStatus",
    method: "get",
    path: "/api/status",
    tag: "Monitoring",
    summary: "Is the relay healthy: sessions per account, queue, counters, open drift",
    success: {
      status: 200,
      description:
        "Sessions, queue depth, counters, drift, kill switch, notifications, and the relays sharing the database with the accounts each holds.",
    },
    errors: [401],
  },
  {
    id: "getLossMonitor",
    method: "get",
    path: "/api/loss-monitor",
    tag: "Monitoring",
    summary: "Live P&L per trader and account against its limits, breaches and prop-rule figures",
    success: {
      status: 200,
      description: "Traders and accounts with lossLeft, drawdownLeft and prop[]; money as strings.",
    },
    errors: [401],
  },
  {
    id: "getEmergency",
    method: "get",
    path: "/api/emergency",
    tag: "Kill switch",
    summary: "Is the kill switch on",
    success: { status: 200, description: "The kill switch state." },
    errors: [401],
  },
  {
    id: "emergencyStop",
    method: "post",
    path: "/api/emergency/stop",
    tag: "Kill switch",
    summary: "Stop new entries everywhere (exits still go through)",
    bodyOptional: true,
    success: { status: 200, description: "`{killSwitch: {...}}`" },
    errors: [400, 401, 413],
  },
  {
    id: "emergencyFlatten",
    method: "post",
    path: "/api/emergency/flatten",
    tag: "Kill switch",
    summary: "Stop, then flatten every account",
    description: "Answers with what each broker reads afterwards.",
    bodyOptional: true,
    success: { status: 200, description: "Per account: what the broker reads after the flatten." },
    errors: [400, 401, 413],
  },
  {
    id: "emergencyResume",
    method: "post",
    path: "/api/emergency/resume",
    tag: "Kill switch",
    summary: "Allow new entries again (today's loss-limit breaches stay)",
    bodyOptional: true,
    success: { status: 200, description: "`{killSwitch: {...}}`" },
    errors: [400, 401, 413],
  },
  {
    id: "setPaperPrice",
    method: "post",
    path: "/api/paper/prices",
    tag: "Paper",
    summary: "Move the paper market (paper take-profits and stops react)",
    success: { status: 200, description: "`{contract, price}`" },
    errors: [400, 401, 413],
  },
  {
    id: "getOpenApi",
    method: "get",
    path: "/api/openapi.json",
    tag: "Reference",
    summary: "This document (no token needed)",
    success: { status: 200, description: "The OpenAPI 3.1 document." },
    errors: [],
    open: true,
  },
  {
    id: "getDocs",
    method: "get",
    path: "/api/docs",
    tag: "Reference",
    summary: "A readable reference page of this API (no token needed)",
    success: { status: 200, description: "An HTML page." },
    errors: [],
    open: true,
  },
];

const ERROR_TEXT: Record<number, string> = {
  400: "The request is malformed; the message names the field.",
  401: "Missing or wrong admin token.",
  404: "No such thing (an id that is not an id is not found either).",
  409: "Refused because of what it holds or what uses it; the message says what.",
  413: "Request bodies are limited to 64 KiB.",
  422: "Well-formed but not possible here; the message says why.",
};

const WEBHOOK_REPLIES: [number, string][] = [
  ["202", "Accepted: committed with one execution per enabled trader (`signalId`, `traders`)."],
  ["200", "Duplicate: the same alert id seen before, or the same alert within the dedup window."],
  ["422", "Refused: invalid, stale or disabled; the message says what is wrong."],
  ["404", "Unknown webhook URL (code unknown_token)."],
  ["403", "Sender not in WEBHOOK_IP_ALLOWLIST (code forbidden)."],
  ["413", "Body over WEBHOOK_MAX_BYTES (code too_large)."],
  ["429", "Over the rate limit, or the recorder has too many signals waiting (code rate_limited)."],
  [
    "503",
    "Not recorded (code not_recorded): TradingView re-sends; a late commit makes the re-sends duplicates.",
  ],
].map(([s, d]) => [Number(s), d as string]);

function pathParams(path: string): JsonSchema[] {
  return [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) =>
    name === "token"
      ? {
          name,
          in: "path",
          required: true,
          description: "The recorder's webhook token (from its webhookUrl).",
          schema: { type: "string" },
        }
      : { name, in: "path", required: true, description: "An id.", schema: uuid },
  );
}

function requestBody(id: OperationId, optional = false): JsonSchema | undefined {
  const entry = (REQUEST_BODIES as Record<string, { schema: z.ZodType; texts: Record<string, string> }>)[id];
  if (!entry) return undefined;
  return {
    required: !optional,
    content: { "application/json": { schema: toSchema(entry.schema, entry.texts) } },
  };
}

function operation(op: Operation): JsonSchema {
  const responses: Record<string, JsonSchema> = {
    [op.success.status]:
      op.success.status === 204
        ? { description: op.success.description }
        : op.id === "getDocs" || op.id === "exportTrades"
          ? {
              description: op.success.description,
              content: { [op.id === "getDocs" ? "text/html" : "text/csv"]: { schema: { type: "string" } } },
            }
          : {
              description: op.success.description,
              content: { "application/json": { schema: { type: "object" } } },
            },
  };
  for (const status of op.errors) responses[status] = { $ref: `#/components/responses/E${status}` };
  const parameters = [
    ...pathParams(op.path),
    ...(op.query ?? []).map((q) => ({
      name: q.name,
      in: "query",
      description: q.description,
      schema: q.schema,
    })),
  ];
  const body = requestBody(op.id, op.bodyOptional);
  return {
    operationId: op.id,
    tags: [op.tag],
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    ...(op.open ? { security: [] } : {}),
    ...(parameters.length ? { parameters } : {}),
    ...(body ? { requestBody: body } : {}),
    responses,
  };
}

function webhookOperation(): JsonSchema {
  const reply = { "application/json": { schema: { $ref: "#/components/schemas/WebhookReply" } } };
  return {
    operationId: "receiveWebhook",
    tags: ["Webhook"],
    summary: "Receive a TradingView alert (the recorder's webhook URL)",
    description:
      "No admin token: the URL's token is the recorder's secret. Every request is in the raw webhook log.",
    security: [],
    parameters: pathParams("/webhook/{token}"),
    requestBody: requestBody("receiveWebhook"),
    responses: Object.fromEntries(WEBHOOK_REPLIES.map(([s, d]) => [s, { description: d, content: reply }])),
  };
}

function build(): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const op of OPERATIONS) {
    paths[op.path] ??= {};
    (paths[op.path] as Record<string, JsonSchema>)[op.method] = operation(op);
  }
  paths["/webhook/{token}"] = { post: webhookOperation() };
  const tags = [...new Set([...OPERATIONS.map((o) => o.tag), "Webhook"])].map((name) => ({ name }));
  return {
    openapi: "3.1.0",
    info: {
      title: "Copy relay admin API",
      version: "1",
      description:
        "Broker logins, signal sources (recorders), the traders that copy them, what happened to each signal, and the kill switch. Every /api route but this document and its page needs `Authorization: Bearer <admin token>`. JSON in and out; money and prices are decimal strings; credentials are never returned.",
    },
    tags,
    security: [{ bearerAuth: [] }],
    paths,
    components: {
      securitySchemes: {
        bearerAuth: { type: "http", scheme: "bearer", description: "The relay's admin token." },
      },
      schemas: {
        Error: {
          type: "object",
          description: "The one error envelope of the relay.",
          required: ["error"],
          properties: {
            status: {
              type: "string",
              description: "Webhook replies only: accepted, duplicate, invalid, ...",
            },
            error: {
              type: "object",
              required: ["code", "message"],
              properties: {
                code: { type: "string", enum: Object.keys(ERROR_CODES) },
                message: { type: "string", description: "What is wrong, in a trader's words." },
              },
            },
          },
        },
        WebhookReply: {
          type: "object",
          required: ["status"],
          properties: {
            status: {
              type: "string",
              enum: ["accepted", "duplicate", "invalid", "stale", "disabled", "rejected", "error"],
            },
            signalId: { type: "string", format: "uuid" },
            traders: { type: "integer", description: "Executions created (one per enabled trader)." },
            error: {
              type: "object",
              required: ["code", "message"],
              properties: {
                code: {
                  type: "string",
                  description: "e.g. unknown_token, too_large, rate_limited, not_recorded.",
                },
                message: { type: "string", description: "What is wrong, in a trader's words." },
              },
            },
          },
        },
      },
      responses: Object.fromEntries(
        Object.entries(ERROR_TEXT).map(([status, text]) => [
          `E${status}`,
          {
            description: text,
            content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
          },
        ]),
      ),
    },
  };
}

let cached: JsonSchema | undefined;

/** The document, built on first use and kept (it depends on nothing but the schemas). */
export function openApiDocument(): JsonSchema {
  cached ??= build();
  return cached;
}
