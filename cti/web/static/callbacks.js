// The callback list on the agent page (docs/protocol.md, Callbacks): abandoned callers to
// call back, emergency and registered elderly first. It follows the list with a long poll
// (GET /api/callbacks?after=VERSION) while the agent is logged in. Text via textContent only.
"use strict";

(function () {
  const TEXT = window.CTI_TEXT;
  const $ = (id) => document.getElementById(id);
  let version = null;
  let items = [];
  let serverSkewMs = 0;    // server clock − page clock, from the list's `now`
  let error = null;        // {key, vars}
  let busy = false;
  let polling = false;

  function lang() {
    return localStorage.getItem("cti.lang") || "zh";
  }

  function t(key, vars) {
    const table = TEXT[lang()] || TEXT.zh;
    let s = table[key] !== undefined ? table[key] : TEXT.zh[key] !== undefined ? TEXT.zh[key] : key;
    if (vars) for (const k of Object.keys(vars)) s = s.split("{" + k + "}").join(String(vars[k]));
    return s;
  }

  function session() {
    try {
      return JSON.parse(sessionStorage.getItem("cti.session") || "null");
    } catch (e) {
      return null;
    }
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function duration(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return s + "s";
    const m = Math.floor(s / 60);
    if (m < 60) return m + ":" + String(s % 60).padStart(2, "0");
    return t("hour_min", { h: Math.floor(m / 60), m: m % 60 });
  }

  async function api(path, options) {
    const s = session();
    if (!s) throw new Error("logged out");
    const resp = await fetch(path, {
      ...(options || {}),
      headers: { Authorization: "Bearer " + s.token, "Content-Type": "application/json" },
    });
    const body = await resp.json().catch(() => ({}));
    if (!resp.ok) {
      const err = new Error(body.message || String(resp.status));
      err.status = resp.status;
      throw err;
    }
    return body;
  }

  async function poll() {
    if (polling) return;
    polling = true;
    while (session()) {
      try {
        const query = version === null ? "" : "?after=" + version;
        const body = await api("/api/callbacks" + query);
        version = body.version;
        items = body.callbacks;
        serverSkewMs = Date.parse(body.now) - Date.now();
        render();
      } catch (e) {
        if (e.status === 401) break;        // logged out: the agent page says so
        await new Promise((r) => setTimeout(r, e.status === 503 ? 10000 : 2000));
      }
    }
    polling = false;
    version = null;
    render();
  }

  async function act(cb, action, body) {
    if (busy) return;
    busy = true;
    error = null;
    render();
    try {
      const answer = await api("/api/callbacks/" + cb.id + "/" + action, {
        method: "POST",
        body: JSON.stringify(body || {}),
      });
      items = items.map((c) => (c.id === cb.id ? answer.callback : c));
    } catch (e) {
      error = { key: "cb_error", vars: { m: e.message } };
    } finally {
      busy = false;
      render();
    }
  }

  function button(label, className, onClick) {
    const b = el("button", "cb-btn " + className, label);
    b.type = "button";
    b.disabled = busy;
    b.addEventListener("click", onClick);
    return b;
  }

  function renderItem(cb) {
    const now = Date.now() + serverSkewMs;
    const li = el("li", "cb-item");
    li.dataset.kind = cb.kind;
    li.dataset.status = cb.status;
    li.dataset.id = String(cb.id);
    const head = el("div", "cb-head");
    head.append(el("span", "cb-kind", t("cb_kind_" + cb.kind)));
    const who = cb.residents.length
      ? cb.residents.map((r) => r.name + (r.age ? " " + r.age : "")).join("、")
      : cb.number || t("cb_no_number");
    head.append(el("bdi", "cb-who", who));
    if (cb.residents.some((r) => r.flags.includes("lives_alone"))) {
      head.append(el("span", "cb-flag", t("cb_lives_alone")));
    }
    if (cb.residents.length && cb.number) head.append(el("bdi", "cb-number", cb.number));
    li.append(head);

    const meta = el("div", "cb-meta");
    meta.append(el("span", "cb-queue", cb.queue));
    meta.append(el("span", "cb-ago", t("cb_abandoned", { t: duration(now - Date.parse(cb.abandoned_at)) })));
    if (cb.status === "pending" || cb.status === "claimed") {
      const left = Date.parse(cb.deadline_at) - now;
      const due = el("span", "cb-due", left >= 0 ? t("cb_due_in", { t: duration(left) }) : t("cb_overdue", { t: duration(-left) }));
      due.dataset.overdue = String(left < 0);
      meta.append(due);
    }
    if (cb.repeats) meta.append(el("span", "cb-repeats", t("cb_repeats", { n: cb.repeats })));
    if (cb.status === "claimed" && !cb.mine) meta.append(el("span", "cb-taken", t("cb_claimed_by", { a: cb.claimed_by })));
    li.append(meta);

    if (cb.attempts.length) {
      const tried = el("ol", "cb-attempts");
      for (const a of cb.attempts) {
        const line = el("li", "cb-attempt");
        line.dataset.result = a.result;
        line.textContent = new Date(a.placed_at).toLocaleTimeString() + " " + a.number + " · " + t("cb_result_" + a.result);
        tried.append(line);
      }
      li.append(tried);
    }
    if (cb.outcome && cb.status !== "pending") li.append(el("div", "cb-outcome", t("cb_outcome_" + cb.outcome)));

    const actions = el("div", "cb-actions");
    if (cb.status === "pending") {
      actions.append(button(t("cb_claim"), "cb-claim primary", () => act(cb, "claim")));
    } else if (cb.status === "claimed" && cb.mine) {
      if (cb.placing) {
        actions.append(el("span", "cb-placing", t("cb_placing")));
      } else {
        if (!cb.numbers.length) actions.append(el("span", "cb-no-number", t("cb_no_number")));
        if (cb.numbers.some((n) => n.target === "kin")) actions.append(el("div", "cb-kin-offered", t("cb_kin_offered")));
        for (const n of cb.numbers) {
          const label = n.target === "kin"
            ? t("cb_call_kin", { name: n.name, relation: n.relation, n: n.dial })
            : t("cb_call_caller", { n: n.dial });
          actions.append(button(label, "cb-call " + (n.target === "kin" ? "cb-call-kin" : "primary"), () => act(cb, "place", { number: n.dial })));
        }
        const record = el("div", "cb-record");
        record.append(el("span", "cb-record-label", t("cb_record")));
        for (const o of ["reached", "kin_reached", "retry_later", "unreachable", "not_needed"]) {
          record.append(button(t("cb_outcome_" + o), "cb-outcome-btn", () => act(cb, "outcome", { outcome: o })));
        }
        actions.append(record);
        actions.append(button(t("cb_release"), "cb-release", () => act(cb, "release")));
      }
    }
    if (actions.childNodes.length) li.append(actions);
    return li;
  }

  function render() {
    const section = $("callbacks");
    if (!section) return;
    const loggedIn = !!session() && version !== null;
    section.hidden = !loggedIn;
    if (!loggedIn) return;
    $("cb-title").textContent = t("cb_title");
    const open = items.filter((c) => c.status === "pending" || c.status === "claimed");
    $("cb-count").textContent = String(open.length);
    $("cb-error").textContent = error ? t(error.key, error.vars) : "";
    const list = $("cb-list");
    list.replaceChildren(...items.map(renderItem));
    $("cb-empty").hidden = items.length > 0;
    $("cb-empty").textContent = t("cb_empty");
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const b of document.querySelectorAll(".lang")) b.addEventListener("click", () => setTimeout(render, 0));
    // The agent page logs in and out in this tab: start following once a session is there.
    setInterval(() => {
      if (session() && !polling) poll();
      else render();                   // deadlines count down
    }, 1000);
    if (session()) poll();
  });
})();
