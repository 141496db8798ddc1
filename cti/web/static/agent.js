// The agent's second-monitor page: login, the agent WebSocket (docs/protocol.md), the pop.
// Every string that came from a caller, the registry or the server is put into the page with
// textContent (via el()/setText()), never as markup.
"use strict";

(function () {
  const TEXT = window.CTI_TEXT;
  const OUTCOMES = ["resolved", "handed_over", "callback", "emergency", "other"];
  const FLAGS = ["lives_alone", "empty_nest", "lost_only_child"];
  const CALLING_CODES = {
    KR: "82", US: "1", CA: "1", JP: "81", GB: "44", RU: "7", HK: "852", MO: "853",
    TW: "886", SG: "65", DE: "49", FR: "33", AU: "61", MN: "976", VN: "84", TH: "66",
  };
  const SESSION_ENDED = 4001;

  const $ = (id) => document.getElementById(id);
  const store = window.sessionStorage;

  let lang = localStorage.getItem("cti.lang") || "zh";
  let session = loadSession();      // {token, agent:{id,name}, seat}
  let lastSeq = Number(store.getItem("cti.last_seq") || "0");
  let socket = null;
  let retryMs = 500;
  let everOpened = false;
  let resyncedAt = null;            // Date of the last replay-after-reconnect or server resync
  let connState = "offline";
  const calls = new Map();          // call_id -> {pop, status, at, answeredAt, talk_s, chosen}
  let currentId = null;
  let focusWrapup = false;          // move keyboard focus into the wrap-up form on the next render
  let notice = null;                // {key, vars}
  let queuesText = "";

  // ---- text helpers ------------------------------------------------------------------

  function t(key, vars) {
    const table = TEXT[lang] || TEXT.zh;
    let s = table[key] !== undefined ? table[key] : TEXT.zh[key] !== undefined ? TEXT.zh[key] : key;
    if (vars) for (const k of Object.keys(vars)) s = s.split("{" + k + "}").join(String(vars[k]));
    return s;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function setText(id, text) {
    $(id).textContent = text === undefined || text === null ? "" : String(text);
  }

  function duration(seconds) {
    const n = Math.max(0, Math.round(Number(seconds) || 0));
    return n < 60 ? t("sec", { n }) : t("min_sec", { m: Math.floor(n / 60), s: n % 60 });
  }

  function hhmmss(date) {
    const p = (n) => String(n).padStart(2, "0");
    return p(date.getHours()) + ":" + p(date.getMinutes()) + ":" + p(date.getSeconds());
  }

  // Numbers as an agent in China dials them: +86 numbers in national form (mobile grouped
  // 3-4-4, landline with its area code), other countries with their code set apart.
  function formatPhone(raw) {
    const s = String(raw || "").trim();
    let national = null;
    if (/^\+86\d+$/.test(s)) national = s.slice(3);
    else if (/^\d+$/.test(s)) national = s.replace(/^0(?=1\d{10}$)/, "");
    if (national !== null) {
      if (/^1\d{10}$/.test(national)) {
        return national.slice(0, 3) + " " + national.slice(3, 7) + " " + national.slice(7);
      }
      const landline = national.startsWith("0") ? national : "0" + national;
      const area = /^0(10|2\d)/.test(landline) ? 3 : 4;
      if (landline.length >= area + 7) return landline.slice(0, area) + "-" + landline.slice(area);
      return s;
    }
    const intl = /^\+(\d+)$/.exec(s);
    if (intl) {
      const codes = Object.values(CALLING_CODES).sort((a, b) => b.length - a.length);
      const code = codes.find((c) => intl[1].startsWith(c));
      if (code) return "+" + code + " " + groupForeign(code, intl[1].slice(code.length));
    }
    return s;
  }

  // Korean numbers as Koreans write them (010-1234-5678 is "+82 10 1234 5678"); others as given.
  function groupForeign(code, rest) {
    if (code === "82") {
      const mobile = /^(1\d)(\d{3,4})(\d{4})$/.exec(rest);
      if (mobile) return mobile.slice(1).join(" ");
      const seoul = /^(2)(\d{3,4})(\d{4})$/.exec(rest);
      if (seoul) return seoul.slice(1).join(" ");
      const area = /^([3-6]\d)(\d{3,4})(\d{4})$/.exec(rest);
      if (area) return area.slice(1).join(" ");
    }
    return rest;
  }

  function countryName(region) {
    try {
      const names = new Intl.DisplayNames([lang === "zh" ? "zh-CN" : lang], { type: "region" });
      return names.of(region) || region;
    } catch (e) {
      return region;
    }
  }

  // ---- session ----------------------------------------------------------------------

  function loadSession() {
    try {
      return JSON.parse(store.getItem("cti.session") || "null");
    } catch (e) {
      return null;
    }
  }

  function saveSession(s) {
    session = s;
    if (s) store.setItem("cti.session", JSON.stringify(s));
    else store.removeItem("cti.session");
  }

  function setLastSeq(seq) {
    lastSeq = seq;
    store.setItem("cti.last_seq", String(seq));
  }

  async function login(ev) {
    ev.preventDefault();
    setText("login-error", "");
    const body = {
      agent: $("login-agent").value.trim(),
      password: $("login-password").value,
      seat: $("login-seat").value.trim().toLowerCase(),
    };
    let resp;
    try {
      resp = await fetch("/api/login", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
    } catch (e) {
      setText("login-error", t("login_error"));
      return;
    }
    const data = await resp.json().catch(() => ({}));
    if (!resp.ok) {
      setText("login-error", data.error === "invalid_credentials" ? t("login_failed") : t("login_error"));
      return;
    }
    $("login-password").value = "";
    localStorage.setItem("cti.seat", data.seat);
    saveSession({ token: data.token, agent: data.agent, seat: data.seat });
    setLastSeq(Number(data.last_seq) || 0);
    calls.clear();
    currentId = null;
    notice = null;
    everOpened = false;
    connect();
    render();
  }

  async function logout() {
    if (session) {
      fetch("/api/logout", { method: "POST", headers: { Authorization: "Bearer " + session.token } })
        .catch(() => {});
    }
    endSession(null);
  }

  function endSession(messageKey) {
    saveSession(null);
    if (socket) {
      socket.onclose = null;
      socket.close();
      socket = null;
    }
    calls.clear();
    currentId = null;
    setConn("offline");
    setText("login-error", messageKey ? t(messageKey) : "");
    render();
  }

  // ---- the socket -------------------------------------------------------------------

  function connect() {
    if (!session) return;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const url = proto + "//" + location.host + "/ws/agent?token=" +
      encodeURIComponent(session.token) + "&last_seq=" + lastSeq;
    setConn(everOpened ? "reconnecting" : "connecting");
    const ws = new WebSocket(url);
    socket = ws;
    ws.onopen = () => {
      retryMs = 500;
      if (everOpened) resyncedAt = new Date();   // the server replays what we missed at once
      everOpened = true;
      setConn("live");
    };
    ws.onmessage = (ev) => {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      receive(msg);
    };
    ws.onclose = (ev) => {
      if (socket !== ws) return;
      socket = null;
      if (ev.code === SESSION_ENDED) {
        endSession("session_ended");
        return;
      }
      setConn("reconnecting");
      setTimeout(checkThenReconnect, retryMs);
      retryMs = Math.min(retryMs * 2, 5000);
    };
  }

  // A refused upgrade looks the same as a network error to a WebSocket: ask over HTTP
  // whether the token is still good before trying again.
  async function checkThenReconnect() {
    if (!session) return;
    try {
      const resp = await fetch("/ws/agent?token=" + encodeURIComponent(session.token));
      if (resp.status === 401) {
        endSession("session_ended");
        return;
      }
    } catch (e) {
      // server unreachable: keep trying
    }
    connect();
  }

  function receive(msg) {
    const seq = Number(msg.seq);
    if (!Number.isFinite(seq) || seq <= lastSeq) return;   // duplicate or stale: ignore
    setLastSeq(seq);
    const call = msg.call_id !== undefined ? calls.get(msg.call_id) : undefined;
    switch (msg.type) {
      case "pop":
        for (const [id, c] of calls) if (c.wrapped) calls.delete(id);
        calls.set(msg.call_id, { pop: msg, status: "ringing", at: Date.now(), chosen: 0 });
        currentId = msg.call_id;
        notice = null;
        break;
      case "retract":
        if (call) {
          calls.delete(msg.call_id);
          if (currentId === msg.call_id) currentId = latestOpenCall();
          notice = { key: "retract_notice", vars: { n: callerLabel(call.pop), t: hhmmss(new Date()) } };
        }
        break;
      case "answered":
        if (call) {
          call.status = "answered";
          call.answeredAt = Date.now();
          currentId = msg.call_id;
        }
        break;
      case "completed":
        if (call) {
          call.status = "completed";
          call.talk_s = msg.talk_s;
          currentId = msg.call_id;
          focusWrapup = true;
        }
        break;
      case "state":
        queuesText = (msg.queues || [])
          .map((q) => q.queue + (q.paused ? " (" + t("paused") + ")" : ""))
          .join(", ");
        break;
      case "resynced":
        resyncedAt = new Date();
        if (msg.reason === "history_truncated") {
          calls.clear();
          currentId = null;
        }
        break;
      default:
        return;
    }
    render();
  }

  // The call to show when the current one goes: the newest one that still needs the agent
  // (a call whose wrap-up is saved is done with and never comes back on screen).
  function latestOpenCall() {
    let best = null;
    for (const [id, c] of calls) {
      if (c.wrapped) continue;
      if (!best || c.at >= calls.get(best).at) best = id;
    }
    return best;
  }

  // ---- rendering --------------------------------------------------------------------

  function setConn(state) {
    connState = state;
    renderConn();
  }

  function renderConn() {
    $("conn").dataset.state = connState;
    setText("conn-text", t("conn_" + connState));
    const r = $("conn-resynced");
    r.hidden = !resyncedAt;
    if (resyncedAt) r.textContent = t("resynced_at", { t: hhmmss(resyncedAt) });
    $("stale").hidden = connState === "live";   // what the call view shows may be out of date
  }

  function callerLabel(pop) {
    const c = (pop && pop.caller) || {};
    if (c.name) return c.name;
    return isUnknownNumber(c.number) ? t("unknown_caller") : formatPhone(c.number);
  }

  function isUnknownNumber(n) {
    return !n || /^(<unknown>|unknown|anonymous|restricted|private)$/i.test(String(n).trim());
  }

  function render() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : lang;
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    for (const b of document.querySelectorAll(".lang")) b.setAttribute("aria-pressed", String(b.dataset.lang === lang));
    document.title = t("title");
    renderConn();

    const loggedIn = !!session;
    $("login-view").hidden = loggedIn;
    $("logout").hidden = !loggedIn;
    $("who").hidden = !loggedIn;
    if (loggedIn) setText("who", session.agent.name + " · " + session.seat);
    if (!loggedIn) {
      $("idle-view").hidden = true;
      $("call-view").hidden = true;
      if (!$("login-seat").value) $("login-seat").value = localStorage.getItem("cti.seat") || "";
      return;
    }
    const call = currentId ? calls.get(currentId) : null;
    $("idle-view").hidden = !!call;
    $("call-view").hidden = !call;
    $("notice").hidden = !notice;
    if (notice) setText("notice", t(notice.key, notice.vars));
    renderOtherCalls();
    setText("queues", queuesText ? t("state_queues", { q: queuesText }) : "");
    if (call) renderCall(call);
    if (focusWrapup && call && call.status === "completed") {
      focusWrapup = false;
      const checked = document.querySelector("#outcomes input:checked");
      if (checked) checked.focus();
      $("wrapup").scrollIntoView({ block: "nearest" });
    }
  }

  // Calls other than the one on screen that still need the agent (a pop that rang while the
  // agent was wrapping up, a wrap-up not yet saved): one button each, to switch to it.
  function renderOtherCalls() {
    const list = $("other-calls-list");
    const refocus = focusedIndex(list);
    list.replaceChildren();
    const others = [...calls].filter(([id, c]) => id !== currentId && !c.wrapped);
    $("other-calls").hidden = others.length === 0;
    for (const [id, c] of others) {
      const b = el("button", "other-call other-" + c.status);
      b.type = "button";
      b.append(el("span", "other-call-status", t(c.status)), el("span", "other-call-who", callerLabel(c.pop)));
      b.addEventListener("click", () => {
        currentId = id;
        render();
      });
      list.append(b);
    }
    restoreFocus(list, refocus);
  }

  // Lists rebuilt on render keep the keyboard where it was.
  function focusedIndex(box) {
    return [...box.children].indexOf(document.activeElement);
  }

  function restoreFocus(box, index) {
    if (index >= 0 && box.children.length) box.children[Math.min(index, box.children.length - 1)].focus();
  }

  function renderCall(call) {
    const pop = call.pop;
    const caller = pop.caller || {};
    $("call-status").dataset.status = call.status;
    setText("call-status-text", t(call.status));
    renderTimer(call);

    const unknown = isUnknownNumber(caller.number) && !caller.normalized;
    setText("caller-name", caller.name || "");
    $("caller-name").hidden = !caller.name;
    setText("caller-number", unknown ? t("no_number") : formatPhone(caller.number));
    const kind = $("caller-kind");
    kind.hidden = true;
    kind.className = "caller-kind";
    if (caller.kind === "foreign") {
      const code = CALLING_CODES[caller.region] ? "+" + CALLING_CODES[caller.region] + " " : "";
      kind.textContent = t("foreign", { code, country: caller.region ? countryName(caller.region) : "" });
      kind.classList.add("foreign");
      kind.hidden = false;
    } else if (unknown || caller.kind === "unknown") {
      kind.textContent = t("unknown_caller");
      kind.classList.add("unknown");
      kind.hidden = false;
    }
    setText("caller-queue", t("queue", { q: pop.queue || "" }));

    const residents = Array.isArray(pop.residents) ? pop.residents : [];
    $("no-resident").hidden = residents.length > 0;
    setText("no-resident", residents.length ? "" : t(unknown ? "no_lookup" : "not_registered"));
    renderHousehold(call, residents);
    $("resident").hidden = residents.length === 0;
    if (residents.length) renderResident(residents[Math.min(call.chosen, residents.length - 1)]);
    renderWrapup(call);
  }

  function renderTimer(call) {
    let text = "";
    if (call.status === "ringing") {
      text = t("waited", { s: duration((Number(call.pop.waited_s) || 0) + (Date.now() - call.at) / 1000) });
    } else if (call.status === "answered") {
      text = t("talked", { s: duration((Date.now() - call.answeredAt) / 1000) });
    } else if (call.status === "completed" && call.talk_s !== undefined && call.talk_s !== null) {
      text = t("talk_total", { s: duration(call.talk_s) });
    }
    setText("call-timer", text);
  }

  function renderHousehold(call, residents) {
    const box = $("household-people");
    const refocus = focusedIndex(box);
    box.replaceChildren();
    $("household").hidden = residents.length < 2;
    if (residents.length < 2) return;
    residents.forEach((r, i) => {
      const b = el("button", "person" + (i === call.chosen ? " chosen" : ""));
      b.type = "button";
      b.setAttribute("aria-pressed", String(i === call.chosen));
      b.append(el("span", "person-name", r.name), el("span", "person-age", ageText(r.age)));
      for (const f of FLAGS) {
        if ((r.flags || []).includes(f)) b.append(el("span", "person-flag flag-" + f, t("flag_" + f)));
      }
      b.addEventListener("click", () => {
        call.chosen = i;
        render();
      });
      box.append(b);
    });
    restoreFocus(box, refocus);
  }

  function ageText(age) {
    return age === null || age === undefined ? "" : t("age", { n: age });
  }

  function renderResident(r) {
    setText("resident-name", r.name);
    setText("resident-age", ageText(r.age));
    setText("resident-address", r.address);
    const flags = $("resident-flags");
    flags.replaceChildren();
    for (const f of FLAGS) {
      if ((r.flags || []).includes(f)) flags.append(el("span", "flag flag-" + f, t("flag_" + f)));
    }
    const list = $("kin-list");
    list.replaceChildren();
    const kin = Array.isArray(r.next_of_kin) ? r.next_of_kin : [];
    $("kin-none").hidden = kin.length > 0;
    for (const k of kin) {
      const li = el("li", "kin-item");
      const head = el("div", "kin-head");
      head.append(el("span", "kin-name", k.name), el("span", "kin-relation", k.relation));
      const phones = el("div", "kin-phones");
      for (const p of k.phones || []) phones.append(el("span", "kin-phone", formatPhone(p)));
      li.append(head, phones);
      list.append(li);
    }
  }

  function renderWrapup(call) {
    const form = $("wrapup");
    form.hidden = call.status !== "completed";
    if (form.hidden) return;
    form.dataset.callId = call.pop.call_id;
    for (const input of document.querySelectorAll("#outcomes input")) {
      input.checked = (call.outcome || "resolved") === input.value;
    }
    if (document.activeElement !== $("wrapup-note")) $("wrapup-note").value = call.note || "";
    setText("wrapup-result", call.wrapupResult ? t(call.wrapupResult.key, call.wrapupResult.vars) : "");
    $("wrapup-result").dataset.ok = String(!!call.wrapped);
  }

  // The outcome choices, made once: re-rendering never takes the keyboard focus off them.
  function buildOutcomes() {
    const box = $("outcomes");
    for (const o of OUTCOMES) {
      const label = el("label", "outcome");
      const input = document.createElement("input");
      input.type = "radio";
      input.name = "outcome";
      input.value = o;
      input.addEventListener("change", () => {
        const call = currentId ? calls.get(currentId) : null;
        if (call) call.outcome = o;
      });
      const text = el("span");
      text.dataset.i18n = "outcome_" + o;
      label.append(input, text);
      box.append(label);
    }
  }

  async function saveWrapup(ev) {
    ev.preventDefault();
    const call = currentId ? calls.get(currentId) : null;
    if (!call || !session) return;
    call.note = $("wrapup-note").value;
    const body = { outcome: call.outcome || "resolved", note: call.note };
    try {
      const resp = await fetch("/api/calls/" + encodeURIComponent(call.pop.call_id) + "/wrapup", {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: "Bearer " + session.token },
        body: JSON.stringify(body),
      });
      const data = await resp.json().catch(() => ({}));
      call.wrapupResult = resp.ok
        ? { key: "saved" }
        : { key: "save_failed", vars: { e: data.message || resp.status } };
      if (resp.ok) call.wrapped = true;
    } catch (e) {
      call.wrapupResult = { key: "save_failed", vars: { e: String(e) } };
    }
    render();
  }

  // ---- start ------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", () => {
    $("login-form").addEventListener("submit", login);
    buildOutcomes();
    $("wrapup").addEventListener("submit", saveWrapup);
    $("wrapup-note").addEventListener("input", () => {
      const call = currentId ? calls.get(currentId) : null;
      if (call) call.note = $("wrapup-note").value;   // a re-render must not wipe what is typed
    });
    $("logout").addEventListener("click", logout);
    for (const b of document.querySelectorAll(".lang")) {
      b.addEventListener("click", () => {
        lang = b.dataset.lang;
        localStorage.setItem("cti.lang", lang);
        render();
      });
    }
    setInterval(() => {
      const call = currentId ? calls.get(currentId) : null;
      if (call && !$("call-view").hidden) renderTimer(call);
    }, 1000);
    render();
    if (session) connect();
  });
})();
