import { describe, expect, it } from "vitest";
import {
  bodyDigest,
  percentEncodeAll,
  type SignInput,
  signature,
  signatureTimestamp,
  signedHeaders,
  stringToSign,
} from "../../src/brokers/webull/sign";
import { expectedSignature, expectedStringToSign } from "../../src/sim/webull";

// Vectors computed by hand from the reference algorithm with Python (urllib.parse.quote(safe=""),
// hashlib.md5, hmac/sha1, base64), independently of both TypeScript implementations.
const BODY =
  '{"account_id":"4MHS0LDRC1AKG6PIQIV3T6EI5U","new_orders":[{"combo_type":"NORMAL","client_order_id":"cr4k9xq2m7v1b8n3d5f6-entry","symbol":"ESZ5","instrument_type":"FUTURES","market":"US","order_type":"LIMIT","limit_price":"4500","quantity":"1","side":"BUY","time_in_force":"DAY","entrust_type":"QTY"}]}';

const PLACE: SignInput = {
  appKey: "a1b2c3d4e5f6",
  appSecret: "s3cr3t-app-secret",
  host: "api.webull.com",
  path: "/openapi/trade/order/place",
  body: BODY,
  timestamp: "2025-11-14T15:30:00Z",
  nonce: "2f1c5d0e-8b7a-4e3f-9c21-6d5a4b3c2e10",
};

const DETAIL: SignInput = {
  appKey: "a1b2c3d4e5f6",
  appSecret: "s3cr3t-app-secret",
  host: "api.webull.com",
  path: "/openapi/trade/order/detail",
  query: [
    ["account_id", "4MHS0LDRC1AKG6PIQIV3T6EI5U"],
    ["client_order_id", "cr4k9xq2m7v1b8n3d5f6-entry"],
  ],
  timestamp: "2025-11-14T15:30:01Z",
  nonce: "7d0e4c1b-2a3f-4b5c-8d9e-0f1a2b3c4d5e",
};

/** What the simulator sees when the adapter sends `input`. */
function asReceived(input: SignInput) {
  const h = signedHeaders(input);
  return {
    path: input.path,
    query: (input.query ?? []).map(([k, v]) => [k, v] as [string, string]),
    rawBody: input.body ?? "",
    headers: {
      ...Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v])),
      host: input.host,
    },
  };
}

describe("Webull signer", () => {
  it("matches the hand-computed vector for a POST with a body", () => {
    expect(bodyDigest(BODY)).toBe("C3DA9BDA9D06AF5A074D974B2DC98AB8");
    expect(stringToSign(PLACE)).toBe(
      "%2Fopenapi%2Ftrade%2Forder%2Fplace%26host%3Dapi.webull.com%26x-app-key%3Da1b2c3d4e5f6" +
        "%26x-signature-algorithm%3DHMAC-SHA1%26x-signature-nonce%3D2f1c5d0e-8b7a-4e3f-9c21-6d5a4b3c2e10" +
        "%26x-signature-version%3D1.0%26x-timestamp%3D2025-11-14T15%3A30%3A00Z%26C3DA9BDA9D06AF5A074D974B2DC98AB8",
    );
    expect(signature(PLACE)).toBe("tUdNvxUjZD3d5w8NBus+wB+rn4E=");
  });

  it("matches the hand-computed vector for a GET with query params and no body", () => {
    expect(stringToSign(DETAIL)).toBe(
      "%2Fopenapi%2Ftrade%2Forder%2Fdetail%26account_id%3D4MHS0LDRC1AKG6PIQIV3T6EI5U" +
        "%26client_order_id%3Dcr4k9xq2m7v1b8n3d5f6-entry%26host%3Dapi.webull.com%26x-app-key%3Da1b2c3d4e5f6" +
        "%26x-signature-algorithm%3DHMAC-SHA1%26x-signature-nonce%3D7d0e4c1b-2a3f-4b5c-8d9e-0f1a2b3c4d5e" +
        "%26x-signature-version%3D1.0%26x-timestamp%3D2025-11-14T15%3A30%3A01Z",
    );
    expect(signature(DETAIL)).toBe("p2HHMvi6kikSKWvRnX0Apq3fZQI=");
  });

  it("percent-encodes like Python's quote(safe='')", () => {
    // python3 -c "from urllib.parse import quote; print(quote(\"a-b_c.d~e !'()*/&=+é€\", safe=''))"
    expect(percentEncodeAll("a-b_c.d~e !'()*/&=+é€")).toBe(
      "a-b_c.d~e%20%21%27%28%29%2A%2F%26%3D%2B%C3%A9%E2%82%AC",
    );
  });

  it("formats x-timestamp as UTC seconds", () => {
    expect(signatureTimestamp(new Date("2025-01-02T03:04:05.678Z"))).toBe("2025-01-02T03:04:05Z");
  });

  it("agrees with the simulator's independent verifier, including repeated query keys and unicode", () => {
    const cases: SignInput[] = [
      PLACE,
      DETAIL,
      {
        ...DETAIL,
        host: "127.0.0.1:40123",
        query: [
          ["account_id", "A1"],
          ["symbol", "ES Z5"],
          ["symbol", "MNQ*"],
          ["host", "spoof"],
        ],
      },
      { ...PLACE, body: JSON.stringify({ note: "café ☕ 'quoted' (x)", n: "1.25" }) },
    ];
    for (const input of cases) {
      const received = asReceived(input);
      expect(expectedStringToSign(received)).toBe(stringToSign(input));
      expect(expectedSignature(received, input.appSecret)).toBe(signature(input));
    }
  });
});
