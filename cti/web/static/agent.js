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
  const PAUSE_REASONS = ["break", "meal", "training", "meeting"];
  const DUTY_STATUSES = ["ready", "paused", "on_call", "after_call_work"];
  const DEVICE_STATUSES = [
    "unknown", "not_in_use", "in_use", "busy", "invalid", "unavailable", "ringing", "ringinuse", "onhold",
  ];
  // How each retract reason reads to the agent (docs/protocol.md), and its tone ("moved": the
  // call went on to someone else; "hung_up": the caller is gone). A reason this page does not
  // know reads as `cancelled` ("ringing stopped"), as the protocol asks, never as "moved".
  const RETRACT = {
    no_answer: { key: "retract_no_answer", tone: "moved" },
    cancelled: { key: "retract_cancelled", tone: "neutral" },
    answered_elsewhere: { key: "retract_answered_elsewhere", tone: "moved" },
    abandoned: { key: "retract_hung_up", tone: "hung_up" },
    caller_hung_up: { key: "retract_hung_up", tone: "hung_up" },
    ended: { key: "retract_ended", tone: "neutral" },
  };
  const RETRACT_UNKNOWN = RETRACT.cancelled;
  // A queue by the language it serves, in that language (the agent reads it at a glance).
  const QUEUE_LANGUAGES = { zh: "普通话", en: "English", ko: "한국어" };

  const $ = (id) => document.getElementById(id);
  const store = window.sessionStorage;

  let lang = localStorage.getItem("cti.lang") || browserLanguage();   // until the agent picks
  let session = loadSession();      // {token, agent:{id,name}, seat}
  let lastSeq = Number(store.getItem("cti.last_seq") || "0");
  let socket = null;
  let retryMs = 500;
  let connectAttempt = 0;           // a newer connect() makes an older one's answer moot
  let heartbeatS = 5;               // the server's heartbeat interval (it tells us)
  let heardAt = 0;                  // when the socket last carried anything
  let everOpened = false;
  let resyncedAt = null;            // Date of the last replay-after-reconnect or server resync
  let connState = "offline";
  const calls = new Map();          // call_id -> {pop, status, at, answeredAt, talk_s, chosen}
  let currentId = null;
  let focusWrapup = false;          // move keyboard focus into the wrap-up form on the next render
  let notice = null;                // {key, vars, tone}
  let queuesText = "";
  let duty = null;                  // the last `duty` from the server (docs/protocol.md)
  let dutyVersion = 0;              // bumped by every pushed `duty`: a slower POST reply is older
  let dutyBusy = false;
  let dutyError = null;             // {key, vars}
  let pauseMenuOpen = false;
  let copiedPhone = null;           // the kin number just copied (its button says so)
  // The telephone system as the server sees it. Assumed live until told otherwise (a server
  // without the duty API never says). The server says `live` only once it has logged in to
  // Asterisk and resynced (cti.ami.LinkState), so "live" on the page is never early.
  let pbx = { status: "live", since: null, reason: null };
  // Degraded mode: the server lost its shared store (Redis) and serves this page from what it
  // holds (`degraded` messages, docs/protocol.md). `since` is when this page was told.
  let degraded = { on: false, since: null };

  // ---- text helpers ------------------------------------------------------------------

  // The browser's languages (Accept-Language) in order: the first one the page speaks.
  function browserLanguage() {
    const wanted = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
    for (const tag of wanted) {
      const code = String(tag || "").toLowerCase().split("-")[0];
      if (Object.prototype.hasOwnProperty.call(TEXT, code)) return code;
    }
    return "zh";
  }

  // Text from a caller or the registry, isolated for bidi: a U+202E in a name cannot turn
  // the words around it (the age, the address digits) or drag them inside.
  function bdi(className, text) {
    return el("bdi", className, text);
  }

  // A sentence with values put in as isolated text nodes (never markup, never bidi leaks).
  function fillText(node, key, vars) {
    const parts = t(key).split(/(\{[a-z]+\})/);
    node.replaceChildren();
    for (const part of parts) {
      const name = /^\{([a-z]+)\}$/.exec(part);
      if (name && vars && Object.prototype.hasOwnProperty.call(vars, name[1])) {
        node.append(bdi("", vars[name[1]]));
      } else if (part) {
        node.append(document.createTextNode(part));
      }
    }
  }

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
    if (n < 60) return t("sec", { n });
    if (n < 3600) return t("min_sec", { m: Math.floor(n / 60), s: n % 60 });
    return t("hour_min", { h: Math.floor(n / 3600), m: Math.floor((n % 3600) / 60) });
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
    if (code === "1") {
      const nanp = /^(\d{3})(\d{3})(\d{4})$/.exec(rest);   // +1 212 555 0142 as 212-555-0142
      if (nanp) return nanp.slice(1).join("-");
    }
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
    forgetDuty();
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

  function endSession(messageKey, vars) {
    saveSession(null);
    if (socket) {
      socket.onclose = null;
      socket.close();
      socket = null;
    }
    calls.clear();
    currentId = null;
    forgetDuty();
    setConn("offline");
    setText("login-error", messageKey ? t(messageKey, vars) : "");
    render();
  }

  function forgetDuty() {
    duty = null;
    dutyError = null;
    pauseMenuOpen = false;
    pbx = { status: "live", since: null, reason: null };
    degraded = { on: false, since: null };
  }

  // ---- the socket -------------------------------------------------------------------

  // The socket opens with a single-use ticket (POST /api/agent/ticket): the session token
  // stays in a header, never in a URL. The server sends a `heartbeat` every `heartbeat_s`:
  // a browser cannot see ping frames, so two missed heartbeats mean the link is dead even
  // when nothing closed it (a network holding packets): the page says "stale" and reconnects
  // with last_seq.
  async function connect() {
    if (!session) return;
    const attempt = ++connectAttempt;
    setConn(everOpened ? (connState === "stale" ? "stale" : "reconnecting") : "connecting");
    let ticket;
    try {
      const resp = await fetchWithin(3000, "/api/agent/ticket", {
        method: "POST",
        headers: { Authorization: "Bearer " + session.token },
      });
      if (attempt !== connectAttempt || !session) return;
      if (resp.status === 401) {
        endSession("session_ended");
        return;
      }
      const data = await resp.json().catch(() => ({}));
      if (!resp.ok || typeof data.ticket !== "string") throw new Error("no ticket");
      ticket = data.ticket;
      if (Number(data.heartbeat_s) > 0) heartbeatS = Number(data.heartbeat_s);
    } catch (e) {
      if (attempt === connectAttempt) retryLater();
      return;
    }
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const url = proto + "//" + location.host + "/ws/agent?ticket=" +
      encodeURIComponent(ticket) + "&last_seq=" + lastSeq;
    const ws = new WebSocket(url);
    socket = ws;
    heardAt = Date.now();   // the open itself must come within the heartbeat window
    // "Live" once the server has said where things stand (its `duty`, with the PBX state,
    // comes first), so a page opened during an outage never flashes "live"; a server
    // without the duty API is taken as live after a second of silence.
    let opened = null;
    ws.onopen = () => {
      retryMs = 500;
      heardAt = Date.now();
      if (everOpened) resyncedAt = new Date();   // the server replays what we missed at once
      everOpened = true;
      opened = setTimeout(() => { if (socket === ws) setConn("live"); }, 1000);
    };
    ws.onmessage = (ev) => {
      heardAt = Date.now();
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      if (msg && msg.type === "heartbeat") {
        if (Number(msg.interval_s) > 0) heartbeatS = Number(msg.interval_s);
        if (connState === "stale") setConn("live");
        return;
      }
      if (opened !== null) {
        clearTimeout(opened);
        opened = null;
        setTimeout(() => { if (socket === ws) setConn("live"); }, 0);
      }
      receive(msg);
    };
    ws.onclose = (ev) => {
      if (socket !== ws) return;
      socket = null;
      degraded = { on: false, since: null };   // the next socket is told again if still so
      if (ev.code === SESSION_ENDED) {
        const taken = /^seat taken(?: by (.+))?$/.exec(ev.reason || "");
        if (taken && taken[1]) endSession("seat_taken_by", { who: taken[1] });
        else endSession(taken ? "seat_taken" : "session_ended");
        return;
      }
      if (connState !== "stale") setConn("reconnecting");
      retryLater();
    };
  }

  function retryLater() {
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 5000);
  }

  function fetchWithin(ms, url, init) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), ms);
    return fetch(url, Object.assign({}, init, { signal: abort.signal })).finally(() => clearTimeout(timer));
  }

  // Two heartbeats missed (plus a second of grace): the link is silent, whatever the socket
  // says. Drop it without waiting for a close handshake that cannot come, and reconnect.
  function checkHeartbeat() {
    if (!session || !socket) return;
    if (Date.now() - heardAt <= heartbeatS * 2000 + 1000) return;
    const ws = socket;
    socket = null;
    ws.onclose = null;
    ws.onmessage = null;
    try {
      ws.close();
    } catch (e) {
      // already closing
    }
    setConn("stale");
    retryMs = 500;
    connect();
  }

  function receive(msg) {
    if (msg.type === "degraded") {
      const on = msg.on === true;
      if (on !== degraded.on) degraded = { on, since: on ? new Date() : null };
      render();
      return;
    }
    if (msg.degraded === true && msg.seq === undefined) {
      // Sent by the server from its own state while Redis was down: show it, but it has no
      // seq (it is in no stream) and must not move lastSeq.
      if (apply(msg)) render();
      return;
    }
    const seq = Number(msg.seq);
    if (msg.type === "resynced" && msg.reason === "seq_ahead" && Number.isFinite(seq)) {
      // The server's stream is behind what we applied (it forgot it, e.g. Redis restarted
      // empty): start again from its seq, or every new message would look already seen.
      calls.clear();
      currentId = null;
      resyncedAt = new Date();
      setLastSeq(seq);
      render();
      return;
    }
    if (!Number.isFinite(seq) || seq <= lastSeq) return;   // duplicate or stale: ignore
    setLastSeq(seq);
    if (apply(msg)) render();
  }

  // Apply one message to what the page shows; false when it changes nothing shown.
  function apply(msg) {
    const call = msg.call_id !== undefined ? calls.get(msg.call_id) : undefined;
    switch (msg.type) {
      case "pop": {
        // A saved wrap-up on screen gives way to the new pop; a line keeps the "saved" in sight
        // (after-call work ends on the save, so the next caller often rings at once).
        const shown = currentId ? calls.get(currentId) : null;
        notice = shown && shown.wrapped ? savedNotice(shown) : null;
        for (const [id, c] of calls) if (c.wrapped) calls.delete(id);
        calls.set(msg.call_id, { pop: msg, status: "ringing", at: Date.now(), chosen: 0 });
        currentId = msg.call_id;
        break;
      }
      case "retract":
        if (call) {
          calls.delete(msg.call_id);
          if (currentId === msg.call_id) currentId = latestOpenCall();
          notice = retractNotice(call, msg.reason);
        }
        break;
      case "answered":
        if (call) {
          call.status = "answered";
          call.answeredAt = Date.now();
          call.waited_s = msg.waited_s;
          call.ring_s = msg.ring_s;
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
      case "duty":
        applyDuty(msg);
        dutyVersion += 1;
        break;
      case "pbx":
        applyPbx(msg);
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
        return false;
    }
    return true;
  }

  function savedNotice(call) {
    return { key: "wrapup_saved_for", vars: { n: callerLabel(call.pop), t: hhmmss(call.savedAt || new Date()) }, tone: "ok" };
  }

  function retractNotice(call, reason) {
    const how = Object.prototype.hasOwnProperty.call(RETRACT, reason) ? RETRACT[reason] : RETRACT_UNKNOWN;
    const who = how.tone === "hung_up" ? residentLabel(call) : callerLabel(call.pop);
    return { key: how.key, vars: { n: who, t: hhmmss(new Date()) }, tone: how.tone, reason: String(reason) };
  }

  // Who hung up, as the agent knows them: the resident when the number has one (or the one the
  // agent picked in a household), else the caller's name or number.
  function residentLabel(call) {
    const residents = Array.isArray(call.pop.residents) ? call.pop.residents : [];
    const r = residents.length === 1 ? residents[0] : call.picked ? residents[call.chosen] : null;
    return r && r.name ? r.name : callerLabel(call.pop);
  }

  // A `duty` message, or the `duty` of a POST reply (same fields, no seq/type).
  function applyDuty(d) {
    if (!d || typeof d !== "object") return;
    duty = {
      status: d.status,
      reason: d.reason === undefined ? null : d.reason,
      since: d.since || null,
      acw_until: d.acw_until || null,
      queues: Array.isArray(d.queues) ? d.queues : [],
    };
    if (d.pbx) applyPbx(d.pbx);
  }

  // A `pbx` message, or the `pbx` inside a `duty` (the state on connect).
  function applyPbx(p) {
    if (!p || (p.status !== "live" && p.status !== "down")) return;
    pbx = { status: p.status, since: p.since || null, reason: p.reason || null };
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

  // What the indicator says: the page's own link first (if it is down we know nothing newer),
  // then the telephone system behind the server.
  function shownConn() {
    if (connState !== "live") return connState;
    if (pbx.status === "down") return "pbx_down";
    if (degraded.on) return "degraded";
    return "live";
  }

  function renderConn() {
    const shown = shownConn();
    $("conn").dataset.state = shown;
    setText("conn-text", t("conn_" + shown));
    const r = $("conn-resynced");
    r.hidden = !resyncedAt || shown !== "live";
    if (resyncedAt) r.textContent = t("resynced_at", { t: hhmmss(resyncedAt) });
    $("pbx-banner").hidden = !session || pbx.status !== "down";
    $("pbx-banner").title = pbx.reason || "";   // the server's words, for whoever fixes it
    renderPbxSince();
    $("degraded-banner").hidden = !session || !degraded.on;
    renderDegradedSince();
    // What the call view shows may be out of date; with the PBX down the red banner says so.
    $("stale").hidden = connState === "live";
    setText("stale", t("stale"));
  }

  function renderDegradedSince() {
    setText("degraded-since", degraded.on && degraded.since
      ? t("pbx_since", { t: hhmmss(degraded.since), d: duration((Date.now() - degraded.since) / 1000) })
      : "");
  }

  function renderPbxSince() {
    const since = Date.parse(pbx.since);
    setText("pbx-since", pbx.status === "down" && Number.isFinite(since)
      ? t("pbx_since", { t: hhmmss(new Date(since)), d: duration((Date.now() - since) / 1000) })
      : "");
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
    if (notice) {
      fillText($("notice-text"), notice.key, notice.vars);
      $("notice").dataset.tone = notice.tone || "neutral";
      $("notice").dataset.reason = notice.reason || "";
    }
    renderDuty();
    setText("idle-text", t(idleKey()));
    renderOtherCalls();
    renderQueues();
    if (call) renderCall(call);
    renderWrapup();
    if (focusWrapup && call && call.status === "completed") {
      focusWrapup = false;
      // Never take the keyboard from a field the agent is typing in.
      if (!isTyping()) {
        const checked = document.querySelector("#outcomes input:checked");
        if (checked) checked.focus();
        $("wrapup").scrollIntoView({ block: "nearest" });
      }
    }
  }

  // What the agent waits for: a paused agent or a dead PBX gets no calls, so do not say so.
  function idleKey() {
    if (pbx.status === "down") return "idle_pbx_down";
    if (!duty) return "waiting";
    if (duty.status === "paused") return "idle_paused";
    if (duty.status === "after_call_work") return "idle_acw";
    if (duty.queues.length && duty.queues.every((q) => q.member === false)) return "idle_no_member";
    return "waiting";
  }

  function isTyping() {
    const a = document.activeElement;
    return !!a && (a.tagName === "TEXTAREA" || (a.tagName === "INPUT" && a.type !== "radio"));
  }

  // ---- duty: ready, pause, after-call work ------------------------------------------

  function renderDuty() {
    $("duty").hidden = !session || !duty;
    if (!duty) return;
    const status = DUTY_STATUSES.includes(duty.status) ? duty.status : "unknown";
    $("duty-state").dataset.status = status;
    $("duty").setAttribute("aria-busy", String(dutyBusy));
    $("duty").dataset.pbx = pbx.status;   // with the PBX down the state is only what we want
    let text;
    if (status === "ready") text = t("duty_ready");
    else if (status === "paused") text = t("duty_paused", { r: reasonText(duty.reason) });
    else if (status === "after_call_work") text = t("duty_acw");
    else if (status === "on_call") text = t("duty_on_call");
    else text = t("duty_unknown", { s: duty.status });
    setText("duty-status", text);
    renderDutyTimes();
    $("ready-btn").setAttribute("aria-pressed", String(status === "ready"));
    const pause = $("pause-btn");
    pause.setAttribute("aria-expanded", String(pauseMenuOpen));
    pause.classList.toggle("current", status === "paused");
    $("pause-reasons").hidden = !pauseMenuOpen;
    for (const b of $("pause-reasons").children) {
      b.setAttribute("aria-pressed", String(status === "paused" && duty.reason === b.dataset.reason));
    }
    const missing = duty.queues.filter((q) => q && q.member === false).map((q) => q.queue);
    $("duty-warn").hidden = missing.length === 0;
    setText("duty-warn", missing.length ? t("queues_missing", { q: missing.join(", ") }) : "");
    setText("duty-error", dutyError ? t(dutyError.key, dutyError.vars) : "");
  }

  function reasonText(reason) {
    if (PAUSE_REASONS.includes(reason)) return t("reason_" + reason);
    if (reason === "after-call-work") return t("duty_acw");
    if (reason === "callback") return t("reason_callback");  // the server's hold (docs/protocol.md)
    return reason ? String(reason) : t("reason_none");
  }

  function renderDutyTimes() {
    if (!duty) return;
    const since = Date.parse(duty.since);
    setText("duty-time", Number.isFinite(since) ? t("duty_for", { d: duration((Date.now() - since) / 1000) }) : "");
    const until = Date.parse(duty.acw_until);
    const acw = $("duty-acw");
    acw.hidden = !(duty.status === "after_call_work" && Number.isFinite(until));
    if (!acw.hidden) acw.textContent = t("acw_left", { d: duration(Math.max(0, (until - Date.now()) / 1000)) });
  }

  // The agent's queues: from `duty` when the server sends it, else the older `state` summary.
  function renderQueues() {
    const rows = $("queue-rows");
    rows.replaceChildren();
    $("queue-table").hidden = !duty || duty.queues.length === 0;
    if (!duty) {
      setText("queues", queuesText ? t("state_queues", { q: queuesText }) : "");
      return;
    }
    setText("queues", duty.queues.length ? "" : t("no_queues"));
    for (const q of duty.queues) {
      if (!q || typeof q !== "object") continue;
      const tr = el("tr");
      tr.classList.toggle("queue-paused", !!q.paused);
      tr.classList.toggle("queue-missing", q.member === false);
      const name = el("th", "queue-name", q.queue);
      name.scope = "row";
      const paused = el("td", "queue-pause", q.paused ? t("yes_paused") : t("not_paused"));
      const member = el("td", "queue-member", q.member === false ? t("member_no") : t("member_yes"));
      tr.append(
        name,
        el("td", "queue-language", languageName(q.language)),
        el("td", "queue-penalty", q.penalty === null || q.penalty === undefined ? "—" : q.penalty),
        paused,
        el("td", "queue-device", deviceText(q.status)),
        member,
      );
      rows.append(tr);
    }
  }

  function languageName(code) {
    if (!code) return "—";
    try {
      const names = new Intl.DisplayNames([lang === "zh" ? "zh-CN" : lang], { type: "language" });
      return names.of(String(code)) || String(code);
    } catch (e) {
      return String(code);
    }
  }

  function deviceText(status) {
    if (status === null || status === undefined) return "—";
    return DEVICE_STATUSES.includes(status) ? t("device_" + status) : String(status);
  }

  async function changeDuty(action, body) {
    if (!session || dutyBusy) return;
    dutyBusy = true;
    dutyError = null;
    renderDuty();
    const version = dutyVersion;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 10000);   // the buttons never stay stuck
    try {
      const resp = await fetch("/api/agent/" + action, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: "Bearer " + session.token },
        body: JSON.stringify(body || {}),
        signal: abort.signal,
      });
      const data = await resp.json().catch(() => ({}));
      if (resp.ok && data.duty) {
        if (version === dutyVersion) applyDuty(data.duty);   // else a pushed `duty` is newer
      } else if (resp.status === 401) {
        dutyBusy = false;
        endSession("session_ended");
        return;
      } else {
        dutyError = { key: "duty_failed", vars: { e: data.message || resp.status } };
      }
    } catch (e) {
      dutyError = { key: "duty_failed", vars: { e: t("server_unreachable") } };
    }
    clearTimeout(timer);
    dutyBusy = false;
    render();
  }

  function togglePauseMenu(open) {
    pauseMenuOpen = open;
    renderDuty();
    if (open) {
      const current = [...$("pause-reasons").children].find((b) => b.getAttribute("aria-pressed") === "true");
      (current || $("pause-reasons").firstElementChild).focus();
    }
  }

  // The reason buttons, made once (like the outcomes) so a re-render keeps the focus on them.
  function buildPauseReasons() {
    const box = $("pause-reasons");
    for (const r of PAUSE_REASONS) {
      const b = el("button", "duty-btn pause-reason");
      b.type = "button";
      b.dataset.reason = r;
      b.dataset.i18n = "reason_" + r;
      b.addEventListener("click", () => {
        pauseMenuOpen = false;
        $("pause-btn").focus();
        changeDuty("pause", { reason: r });
      });
      box.append(b);
    }
    $("duty").addEventListener("keydown", (ev) => {
      if (ev.key === "Escape" && pauseMenuOpen) {
        togglePauseMenu(false);
        $("pause-btn").focus();
      }
    });
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
      // Two calls from the same number read apart: the caller and when it rang.
      b.append(
        el("span", "other-call-status", t(c.status)),
        bdi("other-call-who", callerLabel(c.pop)),
        el("span", "other-call-at", hhmmss(new Date(c.at))),
      );
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
    renderIvr(pop.ivr);
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
    fillText($("caller-queue"), "queue", { q: queueLabel(pop.queue) });
    $("caller-queue").title = pop.queue || "";
    setText("caller-wait", waitText(call));

    const residents = callResidents(call);
    $("no-resident").hidden = residents.length > 0;
    setText("no-resident", residents.length ? "" : t(unknown ? "no_lookup_search" : "not_registered_search"));
    renderSearch(call, residents.length === 0);
    renderHousehold(call, residents);
    $("resident").hidden = residents.length === 0;
    if (residents.length) renderResident(call, residents[Math.min(call.chosen, residents.length - 1)]);
  }

  // What the language menu learnt on this call (`pop.ivr`, null when it did not go through
  // the menu): an emergency first and loudest, else how the language was settled.
  function renderIvr(ivr) {
    const badge = $("caller-ivr");
    badge.className = "caller-ivr";
    badge.hidden = !ivr;
    if (!ivr) {
      badge.textContent = "";
      return;
    }
    const lang = QUEUE_LANGUAGES[ivr.language] || String(ivr.language || "");
    if (ivr.emergency) {
      badge.classList.add("emergency");
      badge.textContent = t("ivr_emergency");
    } else if (ivr.recognised) {
      badge.textContent = t("ivr_recognised", { lang });
    } else if (ivr.how === "timeout" || ivr.how === "invalid") {
      badge.textContent = t("ivr_" + ivr.how, { lang });
    } else {
      badge.textContent = t("ivr_chosen", { lang });
    }
  }

  // The pop's residents, or the one the agent found in the registry and attached.
  function callResidents(call) {
    if (call.attached) return [call.attached];
    return Array.isArray(call.pop.residents) ? call.pop.residents : [];
  }

  // "普通话 / English / 한국어", not `q-zh`: the queue's language, from the agent's duty or
  // its name; a queue the page does not know keeps its name.
  function queueLabel(queue) {
    const q = String(queue || "");
    const known = duty && duty.queues.find((x) => x && x.queue === q);
    const language = known && known.language ? known.language : (/^q-([a-z]{2})$/.exec(q) || [])[1];
    return QUEUE_LANGUAGES[language] || q;
  }

  // How long the caller waited in the queue before this phone rang (and how long it rang,
  // once answered): apart from the ring timer, which counts this ring only.
  function waitText(call) {
    if (call.status === "ringing") return t("queue_wait", { s: duration(call.pop.waited_s) });
    if (call.waited_s !== undefined && call.waited_s !== null) {
      return t("queue_wait", { s: duration(call.waited_s) }) +
        (call.ring_s !== undefined && call.ring_s !== null ? " · " + t("rang", { s: duration(call.ring_s) }) : "");
    }
    return t("queue_wait", { s: duration(call.pop.waited_s) });
  }

  function renderTimer(call) {
    let text = "";
    if (call.status === "ringing") {
      text = t("ring_for", { s: duration((Date.now() - call.at) / 1000) });
    } else if (call.status === "answered") {
      text = t("talked", { s: duration((Date.now() - call.answeredAt) / 1000) });
    } else if (call.status === "completed" && call.talk_s !== undefined && call.talk_s !== null) {
      text = t("talk_total", { s: duration(call.talk_s) });
    }
    setText("call-timer", text);
  }

  // Who is calling on a shared landline: the first resident is shown, but only the one the
  // agent picks is "chosen" (ticked, solid); the shown one has a dashed border until then.
  function renderHousehold(call, residents) {
    const box = $("household-people");
    const refocus = focusedIndex(box);
    box.replaceChildren();
    $("household").hidden = residents.length < 2;
    if (residents.length < 2) return;
    residents.forEach((r, i) => {
      const shown = i === call.chosen;
      const picked = shown && !!call.picked;
      const b = el("button", "person" + (picked ? " chosen" : shown ? " shown" : ""));
      b.type = "button";
      b.setAttribute("aria-pressed", String(picked));
      b.append(bdi("person-name", r.name), el("span", "person-age", ageText(r.age)));
      for (const f of FLAGS) {
        if ((r.flags || []).includes(f)) b.append(el("span", "person-flag flag-" + f, t("flag_" + f)));
      }
      if (shown && !picked) b.append(el("span", "person-shown", t("shown_not_chosen")));
      b.addEventListener("click", () => {
        call.chosen = i;
        call.picked = true;
        call.who = { resident: r.id };
        render();
      });
      box.append(b);
    });
    restoreFocus(box, refocus);
  }

  function ageText(age) {
    return age === null || age === undefined ? "" : t("age", { n: age });
  }

  function renderResident(call, r) {
    setText("resident-name", r.name);
    setText("resident-age", ageText(r.age));
    setText("resident-address", r.address);
    setText("resident-community", r.community || "");
    $("resident-community").hidden = !r.community;
    setText("resident-lang", r.language ? t("speaks", { l: languageName(r.language) }) : "");
    $("resident-lang").hidden = !r.language;
    $("resident-found").hidden = !call.attached;
    const flags = $("resident-flags");
    flags.replaceChildren();
    for (const f of FLAGS) {
      if ((r.flags || []).includes(f)) flags.append(el("span", "flag flag-" + f, t("flag_" + f)));
    }
    const list = $("kin-list");
    const refocus = [...list.querySelectorAll("button")].indexOf(document.activeElement);
    list.replaceChildren();
    const kin = Array.isArray(r.next_of_kin) ? r.next_of_kin : [];
    $("kin-none").hidden = kin.length > 0;
    for (const k of kin) {
      const li = el("li", "kin-item");
      const head = el("div", "kin-head");
      head.append(bdi("kin-name", k.name), bdi("kin-relation", k.relation));
      const phones = el("div", "kin-phones");
      for (const p of k.phones || []) phones.append(phoneWithCopy(p));
      li.append(head, phones);
      list.append(li);
    }
    const buttons = list.querySelectorAll("button");
    if (refocus >= 0 && buttons.length) buttons[Math.min(refocus, buttons.length - 1)].focus();
    renderContacts(call, r);
  }

  // A kin number and a button that copies it as it is dialled (one click, or Enter/Space).
  function phoneWithCopy(raw) {
    const row = el("div", "kin-phone-row");
    const shown = formatPhone(raw);
    const b = el("button", "copy", copiedPhone === raw ? t("copied") : t("copy"));
    b.type = "button";
    b.dataset.phone = raw;
    b.setAttribute("aria-label", t("copy_number", { n: shown }));
    b.addEventListener("click", () => copyPhone(raw));
    row.append(bdi("kin-phone", shown), b);
    return row;
  }

  async function copyPhone(raw) {
    const digits = dialString(raw);
    try {
      await navigator.clipboard.writeText(digits);
    } catch (e) {
      const area = el("textarea");
      area.value = digits;
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    copiedPhone = raw;
    render();
    setTimeout(() => {
      if (copiedPhone === raw) {
        copiedPhone = null;
        render();
      }
    }, 2000);
  }

  // What to paste into a softphone: a Chinese number as dialled at home, others in E.164.
  function dialString(raw) {
    const s = String(raw || "").trim();
    if (/^\+86\d+$/.test(s)) {
      const national = s.slice(3);
      return /^1\d{10}$/.test(national) ? national : "0" + national;
    }
    return s;
  }

  // The resident's last contacts with the centre, asked once per call and resident.
  function renderContacts(call, r) {
    call.contacts = call.contacts || {};
    const got = call.contacts[r.id];
    if (got === undefined && session) {
      call.contacts[r.id] = null;   // asked
      const url = "/api/calls/" + encodeURIComponent(call.pop.call_id) + "/residents/" +
        encodeURIComponent(r.id) + "/contacts";
      fetch(url, { headers: { Authorization: "Bearer " + session.token } })
        .then((resp) => (resp.ok ? resp.json() : { contacts: [] }))
        .then((data) => {
          call.contacts[r.id] = Array.isArray(data.contacts) ? data.contacts : [];
          render();
        })
        .catch(() => { call.contacts[r.id] = []; });
    }
    const list = $("contact-list");
    list.replaceChildren();
    const items = Array.isArray(got) ? got : [];
    $("contacts").hidden = items.length === 0;
    for (const c of items) {
      const li = el("li", "contact");
      const when = new Date(c.ended_at);
      li.append(
        el("span", "contact-at", Number.isFinite(when.getTime()) ? when.toLocaleDateString(locale()) : ""),
        el("span", "contact-outcome", outcomeText(c.outcome)),
      );
      if (c.note) li.append(bdi("contact-note", c.note));
      list.append(li);
    }
  }

  function outcomeText(outcome) {
    if (OUTCOMES.includes(outcome)) return t("outcome_" + outcome);
    return t("call_" + outcome) !== "call_" + outcome ? t("call_" + outcome) : String(outcome || "");
  }

  function locale() {
    return lang === "zh" ? "zh-CN" : lang === "ko" ? "ko-KR" : "en-GB";
  }

  // The registry search, for a caller the number did not find; only while the call is open.
  function renderSearch(call, open) {
    const form = $("search");
    form.hidden = !open || call.wrapped;
    if (form.hidden) return;
    const q = $("search-q");
    if (form.dataset.callId !== call.pop.call_id) {
      form.dataset.callId = call.pop.call_id;
      if (document.activeElement !== q) q.value = call.searchText || "";
    }
    setText("search-status", call.searchStatus ? t(call.searchStatus.key, call.searchStatus.vars) : "");
    const list = $("search-results");
    const refocus = [...list.querySelectorAll("button")].indexOf(document.activeElement);
    list.replaceChildren();
    for (const r of call.searchResults || []) {
      const li = el("li", "search-result");
      const who = el("div", "search-who");
      who.append(bdi("search-name", r.name), el("span", "search-age", ageText(r.age)));
      for (const f of FLAGS) {
        if ((r.flags || []).includes(f)) who.append(el("span", "person-flag flag-" + f, t("flag_" + f)));
      }
      const where = el("div", "search-where");
      where.append(bdi("search-address", r.address), el("span", "search-id", r.id));
      const b = el("button", "attach", t("attach"));
      b.type = "button";
      b.addEventListener("click", () => attachResident(call, r));
      li.append(who, where, b);
      list.append(li);
    }
    const buttons = list.querySelectorAll("button");
    if (refocus >= 0 && buttons.length) buttons[Math.min(refocus, buttons.length - 1)].focus();
  }

  async function searchRegistry(ev) {
    ev.preventDefault();
    const call = currentId ? calls.get(currentId) : null;
    const q = $("search-q").value.trim();
    if (!call || !session || !q) return;
    call.searchText = q;
    call.searchStatus = { key: "searching" };
    render();
    try {
      const resp = await fetch("/api/calls/" + encodeURIComponent(call.pop.call_id) + "/residents?q=" +
        encodeURIComponent(q), { headers: { Authorization: "Bearer " + session.token } });
      const data = await resp.json().catch(() => ({}));
      if (resp.ok) {
        call.searchResults = Array.isArray(data.residents) ? data.residents : [];
        call.searchStatus = { key: call.searchResults.length ? "search_found" : "search_none", vars: { n: call.searchResults.length } };
      } else {
        call.searchResults = [];
        call.searchStatus = { key: data.error === "call_not_open" ? "search_closed" : "search_failed", vars: { e: data.message || resp.status } };
      }
    } catch (e) {
      call.searchStatus = { key: "search_failed", vars: { e: t("server_unreachable") } };
    }
    render();
  }

  async function attachResident(call, r) {
    if (!session) return;
    try {
      const resp = await fetch("/api/calls/" + encodeURIComponent(call.pop.call_id) + "/resident", {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: "Bearer " + session.token },
        body: JSON.stringify({ resident_id: r.id }),
      });
      const data = await resp.json().catch(() => ({}));
      if (!resp.ok || !data.resident) {
        call.searchStatus = { key: data.error === "call_not_open" ? "search_closed" : "search_failed", vars: { e: data.message || resp.status } };
        render();
        return;
      }
      call.attached = data.resident;
      call.chosen = 0;
      call.picked = true;
      call.who = { resident: data.resident.id };
    } catch (e) {
      call.searchStatus = { key: "search_failed", vars: { e: t("server_unreachable") } };
    }
    render();
    $("resident").scrollIntoView({ block: "nearest" });
  }

  // Who called, in the wrap-up: each resident of the pop, or "someone else" in words. Nobody
  // is ticked until the agent says so (in the household row or here).
  function renderWhoCalled(call) {
    const box = $("who-options");
    const refocus = focusedIndex(box);
    const residents = callResidents(call);
    const who = call.who || null;
    box.replaceChildren();
    const options = residents.map((r) => ({ value: "r:" + r.id, label: r.name, resident: r.id }));
    options.push({ value: "other", label: t("someone_else") });
    for (const o of options) {
      const label = el("label", "who-option");
      const input = document.createElement("input");
      input.type = "radio";
      input.name = "who-called";
      input.value = o.value;
      input.disabled = !!call.wrapped;
      input.checked = !!who && (o.resident ? who.resident === o.resident : who.other !== undefined);
      input.addEventListener("change", () => {
        if (o.resident) {
          call.who = { resident: o.resident };
          const i = residents.findIndex((r) => r.id === o.resident);
          if (i >= 0) {
            call.chosen = i;
            call.picked = true;
          }
        } else {
          call.who = { other: $("who-other-text").value };
        }
        render();
        if (!o.resident) $("who-other-text").focus();
      });
      label.append(input, o.resident ? bdi("", o.label) : el("span", "", o.label));
      box.append(label);
    }
    restoreFocus(box, refocus);
    const text = $("who-other-text");
    text.hidden = !(who && who.other !== undefined);
    text.placeholder = t("someone_else_hint");
    text.readOnly = !!call.wrapped;
    if (!text.hidden && document.activeElement !== text) text.value = who.other || "";
  }

  // The call whose wrap-up the form holds: the one on screen once it has ended, unless it is
  // saved and another still waits; else the oldest ended call whose wrap-up is not saved. A
  // new pop never takes the form away: it stays beside the ringing call until it is saved.
  function wrapupCallId() {
    let oldest = null;
    for (const [id, c] of calls) {
      if (c.status === "completed" && !c.wrapped && (!oldest || c.at < calls.get(oldest).at)) oldest = id;
    }
    const current = currentId ? calls.get(currentId) : null;
    if (current && current.status === "completed" && (!current.wrapped || !oldest)) return currentId;
    return oldest;
  }

  function wrapupCall() {
    const id = $("wrapup").dataset.callId;
    return id ? calls.get(id) || null : null;
  }

  function renderWrapup() {
    const form = $("wrapup");
    const id = wrapupCallId();
    const call = id ? calls.get(id) : null;
    form.hidden = !call;
    $("workspace").dataset.wrapup = String(!!call);
    if (!call) {
      delete form.dataset.callId;
      return;
    }
    const switched = form.dataset.callId !== id;
    form.dataset.callId = id;
    form.dataset.other = String(id !== currentId);   // the pop on screen is another call
    setText("wrapup-title", t(id !== currentId && !call.wrapped ? "wrapup_pending" : "wrapup"));
    const talk = call.talk_s === undefined || call.talk_s === null ? "" : " · " + t("talk_total", { s: duration(call.talk_s) });
    const label = $("wrapup-call");
    label.replaceChildren(bdi("", callerLabel(call.pop)), document.createTextNode(talk));
    renderWhoCalled(call);
    for (const input of document.querySelectorAll("#outcomes input")) {
      input.checked = (call.outcome || "resolved") === input.value;
      input.disabled = !!call.wrapped;
    }
    const note = $("wrapup-note");
    if (switched || document.activeElement !== note) note.value = call.note || "";
    note.readOnly = !!call.wrapped;
    $("wrapup-save").disabled = !!call.wrapped || !!call.saving;
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
        const call = wrapupCall();
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
    const call = wrapupCall();
    if (!call || !session || call.wrapped || call.saving) return;
    call.saving = true;
    call.note = $("wrapup-note").value;
    const body = { outcome: call.outcome || "resolved", note: call.note };
    if (call.who && call.who.resident) body.caller_resident = call.who.resident;
    else if (call.who && call.who.other !== undefined && call.who.other.trim()) body.caller_other = call.who.other.trim();
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
      if (resp.ok) {
        call.wrapped = true;
        call.savedAt = new Date();
      }
    } catch (e) {
      call.wrapupResult = { key: "save_failed", vars: { e: String(e) } };
    }
    call.saving = false;
    if (call.wrapped && wrapupCallId() !== call.pop.call_id) {
      // The form goes, or moves on to another call's wrap-up: say where this one went.
      notice = savedNotice(call);
      if (!wrapupCallId() && $("wrapup").contains(document.activeElement)) $("call-view").focus();
    }
    render();
  }

  // ---- start ------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", () => {
    $("login-form").addEventListener("submit", login);
    buildOutcomes();
    $("wrapup").addEventListener("submit", saveWrapup);
    $("search").addEventListener("submit", searchRegistry);
    $("search-q").addEventListener("input", () => {
      const call = currentId ? calls.get(currentId) : null;
      if (call) call.searchText = $("search-q").value;
    });
    $("who-other-text").addEventListener("input", () => {
      const call = wrapupCall();
      if (call) call.who = { other: $("who-other-text").value };
    });
    $("wrapup-note").addEventListener("input", () => {
      const call = wrapupCall();
      if (call) call.note = $("wrapup-note").value;   // a re-render must not wipe what is typed
    });
    buildPauseReasons();
    $("ready-btn").addEventListener("click", () => {
      pauseMenuOpen = false;
      changeDuty("ready");
    });
    $("pause-btn").addEventListener("click", () => togglePauseMenu(!pauseMenuOpen));
    $("notice-close").addEventListener("click", () => {
      notice = null;
      render();
    });
    $("logout").addEventListener("click", logout);
    for (const b of document.querySelectorAll(".lang")) {
      b.addEventListener("click", () => {
        lang = b.dataset.lang;
        localStorage.setItem("cti.lang", lang);
        render();
      });
    }
    setInterval(checkHeartbeat, 500);
    setInterval(() => {
      const call = currentId ? calls.get(currentId) : null;
      if (call && !$("call-view").hidden) renderTimer(call);
      renderDutyTimes();
      renderPbxSince();
      renderDegradedSince();
    }, 1000);
    render();
    if (session) connect();
  });
})();
