// The supervisors' wallboard: log in, follow /ws/wallboard, draw the board. Text only
// (textContent): caller and agent names are untrusted.
"use strict";

const T = {
  zh: {
    title: "89000 热线 · 实时监控", login_title: "班长登录", login_agent: "工号",
    login_password: "密码", login_submit: "登录", agents: "坐席",
    waiting: "排队", longest: "最长等待", sl: "服务水平", in_target: "15秒接通率",
    answered: "已接", abandoned: "放弃", offered: "来电", avg_wait: "平均等待",
    available: "空闲", ringing: "振铃", talking: "通话", after_call_work: "话后处理",
    paused: "暂停", unavailable: "离线",
    break: "休息", meal: "用餐", training: "培训", meeting: "会议",
    live: "电话系统正常", down: "电话系统不可达", agrees: "与 Asterisk 一致",
    differs: "与 Asterisk 不一致", not_supervisor: "此账号不是班长账号",
    bad_login: "工号或密码错误", asterisk: "Asterisk 服务水平",
    zh: "中文", en: "英语", ko: "韩语",
  },
  en: {
    title: "89000 Hotline · Live", login_title: "Supervisor login", login_agent: "ID",
    login_password: "Password", login_submit: "Log in", agents: "Seats",
    waiting: "Waiting", longest: "Longest wait", sl: "Service level", in_target: "Answered ≤15 s",
    answered: "Answered", abandoned: "Abandoned", offered: "Calls", avg_wait: "Avg wait",
    available: "Available", ringing: "Ringing", talking: "Talking",
    after_call_work: "Wrap-up", paused: "Paused", unavailable: "Offline",
    break: "break", meal: "meal", training: "training", meeting: "meeting",
    live: "Phones OK", down: "Telephone system unreachable", agrees: "Agrees with Asterisk",
    differs: "Differs from Asterisk", not_supervisor: "This account is not a supervisor's",
    bad_login: "Unknown ID or wrong password", asterisk: "Asterisk service level",
    zh: "Chinese", en: "English", ko: "Korean",
  },
  ko: {
    title: "89000 핫라인 · 실시간", login_title: "관리자 로그인", login_agent: "ID",
    login_password: "비밀번호", login_submit: "로그인", agents: "좌석",
    waiting: "대기", longest: "최장 대기", sl: "서비스 수준", in_target: "15초 내 응답",
    answered: "응답", abandoned: "포기", offered: "통화", avg_wait: "평균 대기",
    available: "수신 가능", ringing: "벨 울림", talking: "통화 중",
    after_call_work: "후처리", paused: "일시정지", unavailable: "오프라인",
    break: "휴식", meal: "식사", training: "교육", meeting: "회의",
    live: "전화 시스템 정상", down: "전화 시스템 연결 불가", agrees: "Asterisk와 일치",
    differs: "Asterisk와 불일치", not_supervisor: "관리자 계정이 아닙니다",
    bad_login: "ID 또는 비밀번호 오류", asterisk: "Asterisk 서비스 수준",
    zh: "중국어", en: "영어", ko: "한국어",
  },
};
const STATES = ["available", "ringing", "talking", "after_call_work", "paused", "unavailable"];
let lang = new URLSearchParams(location.search).get("lang") || localStorage.getItem("wb-lang") || "zh";
if (!T[lang]) lang = "zh";
let board = null;
let skew = 0; // server clock minus ours, so "time in state" does not depend on the wall PC
let socket = null;

const $ = (sel) => document.querySelector(sel);
const t = (key) => (T[lang][key] !== undefined ? T[lang][key] : key);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function duration(seconds) {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) return "–";
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = String(m).padStart(h ? 2 : 1, "0"), ss = String(r).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

function since(iso) {
  return iso ? (Date.now() + skew - Date.parse(iso)) / 1000 : null;
}

function pct(v) { return v === null || v === undefined ? "–" : `${Math.round(v)}%`; }

function applyLang() {
  document.documentElement.lang = lang;
  for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
  for (const b of document.querySelectorAll("#langs button")) {
    b.setAttribute("aria-pressed", String(b.dataset.lang === lang));
  }
  $("#legend").textContent = STATES.map((s) => t(s)).join(" · ");
  if (board) draw();
  tick();
}

function stat(key, value, flags) {
  const node = el("div", { class: "stat", ...(flags || {}) }, el("span", { class: "v" }, value),
    el("span", { class: "k" }, t(key)));
  return node;
}

function drawQueues() {
  const box = $("#queues");
  box.replaceChildren();
  for (const q of board.queues) {
    const longest = q.oldest_since ? since(q.oldest_since) : 0;
    const card = el("article", { class: "queue", "data-queue": q.queue },
      el("h2", {}, el("span", {}, `${t(q.language || q.queue)} · ${q.queue}`),
        el("span", { class: "offered" }, `${t("offered")} ${q.offered}`)));
    const big = el("div", { class: "big" },
      stat("waiting", q.waiting, { "data-alert": String(q.waiting > 0), "data-field": "waiting" }),
      stat("longest", duration(longest), { "data-alert": String(longest > board.target_s), "data-field": "longest" }),
      stat("sl", pct(q.service_level_pct), { "data-good": String((q.service_level_pct ?? 0) >= 80), "data-field": "sl" }),
      stat("in_target", pct(q.answered_in_target_pct), { "data-field": "in_target" }),
      stat("answered", q.answered, { "data-field": "answered" }),
      stat("abandoned", q.abandoned, { "data-alert": String(q.abandoned > 0), "data-field": "abandoned" }));
    const counts = el("div", { class: "counts" });
    for (const s of STATES) {
      if (s === "unavailable" && !q.members[s]) continue;
      let text = `${t(s)} ${q.members[s]}`;
      if (s === "paused" && q.members.paused) {
        const reasons = Object.entries(q.paused_reasons).map(([r, n]) => `${t(r || "paused")} ${n}`);
        text += ` (${reasons.join(", ")})`;
      }
      counts.append(el("span", { "data-state": s, "data-field": s }, text));
    }
    card.append(big, counts);
    if (q.asterisk && q.asterisk.service_level_s) {
      card.append(el("div", { class: "asterisk" },
        `${t("asterisk")} (${q.asterisk.service_level_s} s): ${pct(q.asterisk.service_level_perf)}`));
    }
    box.append(card);
  }
}

function drawAgents() {
  const list = $("#agents");
  list.replaceChildren();
  for (const a of board.agents) {
    // A paused tile names only its reason (meal, break…): the grey already says "paused".
    const word = a.reason && a.state === "paused" ? t(a.reason) : t(a.state);
    list.append(el("li", { "data-state": a.state, "data-seat": a.seat, "data-since": a.since || "" },
      el("span", { class: "seat" }, a.seat),
      el("span", { class: "name" }, a.name || a.agent || "—"),
      el("span", { class: "state" }, word),
      el("span", { class: "since" }, duration(since(a.since)))));
  }
}

function draw() {
  const pbx = $("#pbx");
  const live = board.pbx ? board.pbx.live : null;
  pbx.dataset.state = live === null ? "unknown" : live ? "live" : "down";
  pbx.textContent = live === null ? "" : t(live ? "live" : "down");
  if (board.pbx && board.pbx.reason) pbx.title = board.pbx.reason;
  const check = $("#check");
  if (board.check) {
    check.dataset.state = board.check.agrees ? "agrees" : "differs";
    check.textContent = t(board.check.agrees ? "agrees" : "differs");
    check.title = board.check.differences
      .map((d) => `${d.queue} ${d.what}: ${d.ours} / ${d.asterisk}`).join("\n");
  }
  drawQueues();
  drawAgents();
}

function tick() {
  const now = new Date(Date.now() + skew);
  $("#clock").textContent = now.toLocaleTimeString(lang === "en" ? "en-GB" : lang, { hour12: false });
  if (!board) return;
  for (const li of document.querySelectorAll("#agents li")) {
    li.querySelector(".since").textContent = duration(since(li.dataset.since || null));
  }
  for (const q of board.queues) {
    const node = document.querySelector(`[data-queue="${q.queue}"] [data-field=longest] .v`);
    if (node) node.textContent = duration(q.oldest_since ? since(q.oldest_since) : 0);
  }
}

function connect(token) {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${proto}://${location.host}/ws/wallboard?token=${encodeURIComponent(token)}`);
  socket.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.type !== "board") return;
    board = msg;
    skew = Date.parse(msg.at) - Date.now();
    $("#login").hidden = true;
    $("#board").hidden = false;
    document.body.dataset.ready = "true";
    draw();
  };
  socket.onclose = async () => {
    const probe = await fetch(`/api/wallboard?token=${encodeURIComponent(token)}`).catch(() => null);
    if (probe && probe.status === 401) {
      sessionStorage.removeItem("wb-token");
      showLogin();
      return;
    }
    setTimeout(() => connect(token), 2000);
  };
}

function showLogin() {
  $("#board").hidden = true;
  $("#login").hidden = false;
}

async function login(ev) {
  ev.preventDefault();
  const resp = await fetch("/api/supervisor/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ agent: $("#login-agent").value, password: $("#login-password").value }),
  });
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    $("#login-error").textContent = t(body.error === "supervisor_required" ? "not_supervisor" : "bad_login");
    return;
  }
  $("#login-error").textContent = "";
  sessionStorage.setItem("wb-token", body.token);
  connect(body.token);
}

document.addEventListener("DOMContentLoaded", () => {
  for (const b of document.querySelectorAll("#langs button")) {
    b.addEventListener("click", () => {
      lang = b.dataset.lang;
      localStorage.setItem("wb-lang", lang);
      applyLang();
    });
  }
  $("#login").addEventListener("submit", login);
  applyLang();
  setInterval(tick, 1000);
  tick();
  const token = sessionStorage.getItem("wb-token");
  if (token) connect(token); else showLogin();
});
