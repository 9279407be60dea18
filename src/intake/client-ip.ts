/**
 * The sender's address: the socket peer, or, when the peer is one of our configured proxies, the first
 * untrusted address walking X-Forwarded-For from the right. Anything a client writes into the header
 * itself sits to the left of what our proxies appended and is never trusted.
 */
import { isIP } from "node:net";

interface Cidr {
  version: 4 | 6;
  base: bigint;
  bits: number;
}

export class AddressSet {
  private readonly cidrs: Cidr[];

  constructor(entries: string[]) {
    this.cidrs = entries.map(parseCidr).filter((c): c is Cidr => c !== undefined);
  }

  /** From a comma-separated setting such as TRUSTED_PROXIES ("10.0.0.0/8, 192.168.1.5"). */
  static fromList(csv: string): AddressSet {
    return new AddressSet(csv.split(",").filter((x) => x.trim()));
  }

  get size(): number {
    return this.cidrs.length;
  }

  has(address: string): boolean {
    const a = parseAddress(address);
    if (!a) return false;
    return this.cidrs.some((c) => {
      if (c.version !== a.version) return false;
      const width = c.version === 4 ? 32 : 128;
      const shift = BigInt(width - c.bits);
      return a.value >> shift === c.base >> shift;
    });
  }
}

export function normalizeAddress(address: string): string {
  const a = address.trim().replace(/^\[|\]$/g, "");
  return a.startsWith("::ffff:") && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
}

export function clientAddress(
  peer: string | undefined,
  forwardedFor: string | null,
  trusted: AddressSet,
): string | undefined {
  if (!peer) return undefined;
  const socket = normalizeAddress(peer);
  if (!forwardedFor || trusted.size === 0 || !trusted.has(socket)) return socket;
  const hops = forwardedFor
    .split(",")
    .map((h) => normalizeAddress(h))
    .filter((h) => isIP(h) !== 0);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as string;
    if (!trusted.has(hop)) return hop;
  }
  return hops[0] ?? socket;
}

function parseAddress(address: string): { version: 4 | 6; value: bigint } | undefined {
  const a = normalizeAddress(address);
  const v = isIP(a);
  if (v === 4)
    return { version: 4, value: a.split(".").reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n) };
  if (v === 6) {
    const [head = "", tail = ""] = a.split("::");
    const h = head ? head.split(":") : [];
    const t = a.includes("::") && tail ? tail.split(":") : [];
    const groups = a.includes("::") ? [...h, ...Array(8 - h.length - t.length).fill("0"), ...t] : h;
    return {
      version: 6,
      value: groups.reduce((acc, g) => (acc << 16n) | BigInt(Number.parseInt(g || "0", 16)), 0n),
    };
  }
  return undefined;
}

function parseCidr(entry: string): Cidr | undefined {
  const [addr = "", bitsText] = entry.trim().split("/");
  const a = parseAddress(addr);
  if (!a) return undefined;
  const width = a.version === 4 ? 32 : 128;
  const bits = bitsText === undefined ? width : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > width) return undefined;
  return { version: a.version, base: a.value, bits };
}

export const TRADINGVIEW_ADDRESSES = ["52.89.214.238", "34.212.75.30", "54.218.53.128", "52.32.178.7"];

/** WEBHOOK_IP_ALLOWLIST: empty = off; "tradingview" stands for TradingView's four senders. */
export function parseAllowlist(setting: string): AddressSet | undefined {
  const entries = setting
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .flatMap((s) => (s.toLowerCase() === "tradingview" ? TRADINGVIEW_ADDRESSES : [s]));
  return entries.length ? new AddressSet(entries) : undefined;
}
