// The console's one script: live regions over server-sent events, copy buttons, confirmations.
// Everything works without it (forms post, pages reload); it only makes pages current and quicker.
(() => {
  // Live regions: an element with an id and data-live-on="TypeA TypeB" is re-read from the server when an
  // event of one of those types arrives. A region holding the focus (a form being filled) is left alone.
  const pending = new Set();
  let timer = 0;

  function refresh() {
    timer = 0;
    const ids = [...pending];
    pending.clear();
    fetch(location.href, { headers: { accept: "text/html" }, credentials: "same-origin" })
      .then((r) => (r.ok ? r.text() : Promise.reject(new Error(String(r.status)))))
      .then((html) => {
        const next = new DOMParser().parseFromString(html, "text/html");
        for (const id of ids) {
          const now = document.getElementById(id);
          const fresh = next.getElementById(id);
          if (!now || !fresh || now.contains(document.activeElement)) continue;
          now.innerHTML = fresh.innerHTML;
          now.dispatchEvent(new CustomEvent("live:updated", { bubbles: true }));
        }
        document.body.dataset.liveUpdates = String(Number(document.body.dataset.liveUpdates || 0) + 1);
      })
      .catch(() => {
        // The next event tries again; the page itself stays usable.
      });
  }

  function onMessage(type) {
    for (const el of document.querySelectorAll("[data-live-on]")) {
      const types = (el.getAttribute("data-live-on") || "").split(/\s+/);
      if (el.id && (types.includes(type) || types.includes("*"))) pending.add(el.id);
    }
    if (pending.size && !timer) timer = setTimeout(refresh, 200);
  }

  // Regions that change without an event (P&L marked by every quote, heartbeats): data-live-every="5"
  // re-reads them every 5 seconds while the page is visible.
  function every() {
    for (const el of document.querySelectorAll("[data-live-every]")) {
      const seconds = Number(el.getAttribute("data-live-every"));
      if (!el.id || !(seconds >= 1)) continue;
      setInterval(() => {
        if (document.visibilityState !== "visible") return;
        pending.add(el.id);
        if (!timer) timer = setTimeout(refresh, 200);
      }, seconds * 1000);
    }
  }

  function connect() {
    every();
    if (!document.querySelector("[data-live-on]") || !window.EventSource) return;
    const source = new EventSource("/events");
    source.addEventListener("ready", () => {
      document.body.dataset.live = "connected";
    });
    source.onmessage = (e) => {
      try {
        onMessage(JSON.parse(e.data).type);
      } catch {
        /* a message we cannot read is ignored */
      }
    };
    source.onerror = () => {
      document.body.dataset.live = "reconnecting";
    };
  }

  // Copy buttons: <button data-copy="elementId"> copies that element's text (or an input's value).
  document.addEventListener("click", (e) => {
    const button = e.target instanceof Element ? e.target.closest("[data-copy]") : null;
    if (!button) return;
    const target = document.getElementById(button.getAttribute("data-copy") || "");
    if (!target) return;
    const text = "value" in target ? target.value : target.textContent || "";
    const done = () => {
      const was = button.textContent;
      button.textContent = "Copied";
      setTimeout(() => {
        button.textContent = was;
      }, 1500);
    };
    if (navigator.clipboard?.writeText)
      navigator.clipboard.writeText(text).then(done, () => {
        // Clipboard refused (no permission): the text is still on the page to select.
      });
    else if ("select" in target) {
      target.select();
      document.execCommand("copy");
      done();
    }
  });

  // Confirmations: <form data-confirm="Flatten every account?"> asks before it is sent.
  document.addEventListener("submit", (e) => {
    const form = e.target;
    if (!(form instanceof HTMLFormElement)) return;
    const message = form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) e.preventDefault();
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", connect);
  else connect();
})();
