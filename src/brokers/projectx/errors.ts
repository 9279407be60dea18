/**
 * The gateway's error codes, which differ per endpoint (reference section A9), turned into messages a
 * trader understands. The broker's own `errorMessage` is always kept after the explanation.
 */

const CANCEL = [
  "Success",
  "AccountNotFound",
  "OrderNotFound",
  "Rejected",
  "Pending",
  "UnknownError",
  "AccountRejected",
];
const CLOSE = [
  "Success",
  "AccountNotFound",
  "PositionNotFound",
  "ContractNotFound",
  "ContractNotActive",
  "OrderRejected",
  "OrderPending",
  "UnknownError",
  "AccountRejected",
];

export const ERROR_CODES = {
  loginKey: [
    "Success",
    "UserNotFound",
    "PasswordVerificationFailed",
    "InvalidCredentials",
    "AppNotFound",
    "AppVerificationFailed",
    "InvalidDevice",
    "AgreementsNotSigned",
    "UnknownError",
    "ApiSubscriptionNotFound",
    "ApiKeyAuthenticationDisabled",
  ],
  validate: ["Success", "InvalidSession", "SessionNotFound", "ExpiredToken", "UnknownError"],
  place: [
    "Success",
    "AccountNotFound",
    "OrderRejected",
    "InsufficientFunds",
    "AccountViolation",
    "OutsideTradingHours",
    "OrderPending",
    "UnknownError",
    "ContractNotFound",
    "ContractNotActive",
    "AccountRejected",
  ],
  cancel: CANCEL,
  modify: [...CANCEL, "ContractNotFound"],
  closeContract: CLOSE,
  partialCloseContract: [...CLOSE.slice(0, 5), "InvalidCloseSize", ...CLOSE.slice(5)],
  search: ["Success", "AccountNotFound"],
} as const;

export type Endpoint = keyof typeof ERROR_CODES;

const EXPLAIN: Record<string, string> = {
  UserNotFound: "ProjectX does not know this user name",
  PasswordVerificationFailed: "ProjectX rejected the user name or API key",
  InvalidCredentials: "ProjectX rejected the user name or API key",
  AppNotFound: "ProjectX refused the login: application not recognised",
  AppVerificationFailed: "ProjectX refused the login: application verification failed",
  InvalidDevice: "ProjectX refused the login: device not recognised",
  AgreementsNotSigned: "ProjectX refused the login: the platform agreements are not signed yet",
  ApiSubscriptionNotFound: "ProjectX refused the login: this user has no API access subscription",
  ApiKeyAuthenticationDisabled: "ProjectX refused the login: API key login is disabled for this user",
  InvalidSession: "ProjectX no longer recognises the session",
  SessionNotFound: "ProjectX no longer recognises the session",
  ExpiredToken: "the ProjectX session token expired",
  AccountNotFound: "ProjectX does not know this account (or it belongs to another login)",
  OrderRejected: "ProjectX rejected the order",
  InsufficientFunds: "ProjectX refused the order: insufficient funds",
  AccountViolation: "ProjectX refused the order: the account is in violation of its rules",
  OutsideTradingHours: "ProjectX refused the order: outside trading hours",
  OrderPending: "ProjectX refused: an order for this is still pending",
  ContractNotFound: "ProjectX does not know this contract",
  ContractNotActive: "ProjectX refused: the contract is not active",
  AccountRejected: "ProjectX refused: the account was rejected",
  OrderNotFound: "ProjectX has no such order",
  Rejected: "ProjectX refused the change",
  Pending: "ProjectX refused: the order is pending",
  PositionNotFound: "ProjectX has no open position in this contract",
  InvalidCloseSize: "ProjectX refused the close: invalid size",
  UnknownError: "ProjectX failed with an unknown error",
};

export function errorName(endpoint: Endpoint, code: number): string {
  const names: readonly string[] = ERROR_CODES[endpoint];
  return names[code] ?? `Code${code}`;
}

/** "ProjectX rejected the order (code 2 OrderRejected): Invalid stop price." */
export function describeError(endpoint: Endpoint, code: number, brokerMessage?: string | null): string {
  const name = errorName(endpoint, code);
  const text = EXPLAIN[name] ?? `ProjectX refused the request`;
  const words = brokerMessage?.trim();
  return `${text} (code ${code} ${name})${words ? `: ${words}` : ""}`;
}

/** Login codes that no retry can fix: the login itself must change. */
export function isCredentialProblem(code: number): boolean {
  return code !== 8 && code !== 0;
}
