/**
 * Raw-socket abuse of the webhook, one case per way a client can misbehave below JSON: huge and many
 * headers, bogus content-lengths, bodies cut short or trickled, chunked oversize, pipelining, HTTP/1.0,
 * Expect: 100-continue. Each case carries the request's user-agent tag so the raw log can be checked.
 */
import { head, type Piece } from "./raw-http";

export interface RawCase {
  label: string;
  pieces: (tag: string) => Piece[];
  /** Give up waiting for a reply after this long (cases the server is right to leave hanging). */
  timeoutMs?: number;
}

const ALERT = JSON.stringify({ ticker: "MNQ1!", action: "buy", price: "21000" });

export function rawCases(token: string): RawCase[] {
  const path = `/webhook/${token}`;
  const base = (tag: string, extra: [string, string][] = []): [string, string][] => [
    ["Host", "relay.test"],
    ["User-Agent", tag],
    ["Content-Type", "application/json"],
    ["Connection", "close"],
    ...extra,
  ];
  const withBody = (tag: string, body: string, extra: [string, string][] = []): Piece[] => [
    head(path, base(tag, [["Content-Length", String(Buffer.byteLength(body))], ...extra])),
    body,
  ];
  return [
    { label: "huge-header-20k", pieces: (t) => withBody(t, ALERT, [["X-Pad", "p".repeat(20_000)]]) },
    { label: "huge-header-100k", pieces: (t) => withBody(t, ALERT, [["X-Pad", "p".repeat(100_000)]]) },
    {
      label: "many-headers",
      pieces: (t) =>
        withBody(
          t,
          ALERT,
          Array.from({ length: 300 }, (_, i) => [`X-H${i}`, `v${i}`] as [string, string]),
        ),
    },
    { label: "huge-user-agent", pieces: (t) => withBody(`${t} ${"u".repeat(8_000)}`, ALERT) },
    {
      label: "latin1-header-bytes",
      pieces: (t) => [
        head(
          path,
          base(t, [
            ["X-Name", "caf\u00e9\u00ff"],
            ["Content-Length", String(ALERT.length)],
          ]),
        ),
        ALERT,
      ],
    },
    { label: "cl-not-a-number", pieces: (t) => [head(path, base(t, [["Content-Length", "abc"]])), ALERT] },
    { label: "cl-negative", pieces: (t) => [head(path, base(t, [["Content-Length", "-5"]])), ALERT] },
    {
      label: "cl-twice-different",
      pieces: (t) => [
        head(
          path,
          base(t, [
            ["Content-Length", "10"],
            ["Content-Length", "20"],
          ]),
        ),
        ALERT,
      ],
    },
    {
      label: "cl-and-chunked",
      pieces: (t) => [
        head(
          path,
          base(t, [
            ["Content-Length", "5"],
            ["Transfer-Encoding", "chunked"],
          ]),
        ),
        `${ALERT.length.toString(16)}\r\n${ALERT}\r\n0\r\n\r\n`,
      ],
    },
    {
      label: "cl-larger-then-close",
      pieces: (t) => [head(path, base(t, [["Content-Length", "5000"]])), ALERT, { end: true }],
    },
    {
      label: "cl-larger-then-stall",
      pieces: (t) => [head(path, base(t, [["Content-Length", "5000"]])), ALERT, { pauseMs: 1_500 }],
      timeoutMs: 3_000,
    },
    {
      label: "cl-smaller",
      pieces: (t) => [head(path, base(t, [["Content-Length", "10"]])), `${ALERT}${ALERT}`],
    },
    {
      label: "cl-huge-declared",
      pieces: (t) => [head(path, base(t, [["Content-Length", "99999999"]])), ALERT],
    },
    {
      label: "chunked-oversized",
      pieces: (t) => {
        const chunk = "y".repeat(8192);
        return [
          head(path, base(t, [["Transfer-Encoding", "chunked"]])),
          ...Array.from({ length: 40 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`),
          "0\r\n\r\n",
        ];
      },
    },
    {
      label: "slow-body",
      pieces: (t) => [
        head(path, base(t, [["Content-Length", String(ALERT.length)]])),
        ...(ALERT.match(/.{1,6}/g)?.flatMap((c) => [c, { pauseMs: 120 }]) ?? []),
      ],
    },
    {
      label: "slow-headers",
      pieces: (t) =>
        head(path, base(t, [["Content-Length", String(ALERT.length)]]))
          .split("\r\n")
          .flatMap((line, i, all) => [i < all.length - 1 ? `${line}\r\n` : line, { pauseMs: 150 }] as Piece[])
          .concat([ALERT]),
    },
    { label: "nul-in-body", pieces: (t) => withBody(t, '{"ticker":"MNQ1!\u0000","action":"buy\u0000"}') },
    {
      label: "http-1.0-no-host",
      pieces: (t) => [
        head(
          path,
          [
            ["User-Agent", t],
            ["Content-Length", String(ALERT.length)],
          ],
          "HTTP/1.0",
        ),
        ALERT,
      ],
    },
    {
      label: "expect-100-continue",
      pieces: (t) => [
        head(
          path,
          base(t, [
            ["Content-Length", String(ALERT.length)],
            ["Expect", "100-continue"],
          ]),
        ),
        { pauseMs: 100 },
        ALERT,
      ],
    },
    {
      label: "gzip-claimed",
      pieces: (t) => withBody(t, ALERT, [["Content-Encoding", "gzip"]]),
    },
    {
      label: "pipelined-two",
      pieces: (t) => {
        const keep = (tag: string): [string, string][] => [
          ["Host", "relay.test"],
          ["User-Agent", tag],
          ["Content-Type", "application/json"],
          ["Content-Length", String(ALERT.length)],
        ];
        return [
          head(path, keep(t)),
          ALERT,
          head(path, [...keep(`${t}-second`), ["Connection", "close"]]),
          ALERT,
        ];
      },
    },
    {
      label: "long-token-path",
      pieces: (t) => [
        head(`/webhook/${"z".repeat(12_000)}`, base(t, [["Content-Length", String(ALERT.length)]])),
        ALERT,
      ],
    },
  ];
}
