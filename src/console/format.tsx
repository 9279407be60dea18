/** Small shared renderers for console pages: money with its sign, times, session states. */

/** A decimal string (exact, from the API) with a sign colour; never parsed into a float. */
export function Money(p: { value: string | null | undefined }) {
  if (p.value === null || p.value === undefined) return <span class="muted">–</span>;
  const negative = p.value.startsWith("-");
  const zero = /^-?0(\.0+)?$/.test(p.value);
  return (
    <span class={zero ? "" : negative ? "neg" : "pos"}>
      {negative ? p.value : `${zero ? "" : "+"}${p.value}`}
    </span>
  );
}

/** An ISO time as a <time> element, shown in UTC to the second (the relay's logs are UTC too). */
export function When(p: { at: string | Date | null | undefined }) {
  if (!p.at) return <span class="muted">–</span>;
  const iso = typeof p.at === "string" ? p.at : p.at.toISOString();
  return <time datetime={iso}>{iso.replace("T", " ").slice(0, 19)} UTC</time>;
}

const STATE_CLASS: Record<string, string> = {
  ready: "good",
  connected: "good",
  done: "good",
  accepted: "good",
  connecting: "warn",
  reconnecting: "warn",
  waiting_for_broker: "warn",
  pending: "warn",
  running: "warn",
  down: "bad",
  failed: "bad",
  unknown: "bad",
  rejected: "bad",
};

/** A state word in a badge: colour and the word itself (never colour alone). */
export function State(p: { state: string | null | undefined }) {
  const s = p.state ?? "unknown";
  return <span class={`badge ${STATE_CLASS[s] ?? ""}`}>{s.replaceAll("_", " ")}</span>;
}
