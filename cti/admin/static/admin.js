// The administrators' page: edit a draft of the configuration, preview the change-set
// (dry-run), apply it, roll back. Everything goes through /api/admin (docs in
// /api/openapi.json); the server checks versions, so two administrators never overwrite
// each other silently (409 → reload).
"use strict";

const T = {
  zh: { title: "热线管理", account: "账号", password: "密码", login: "登录", queues: "队列",
    q_name: "队列", q_lang: "语言", q_kind: "类型", q_strategy: "振铃策略", q_ring: "振铃(秒)",
    q_sl: "服务水平(秒)", q_wait: "最长等待(秒)", q_overflow: "溢出(秒)", groups: "班组",
    agent: "坐席员", to_group: "调到班组", move: "调组", override: "坐席员队列(覆盖)",
    ov_queues: "队列:优先级", set: "设置", comment: "说明", dry_run: "预览变更", apply: "应用",
    discard: "放弃修改", plan: "变更预览", changes: "修改内容", ami_actions: "AMI 动作", requeues: "坐席员队列变化",
    conf_lines: "配置变化", versions: "版本", author: "操作人", when: "时间", result: "结果",
    rollback: "回滚到此版本", version: "当前版本", nothing: "没有变化", applied: "已应用为版本",
    conflict: "别人已修改(版本 {v})，已重新载入，请再修改一次", operator: "需要运维重新加载：",
    moved: "{a} 已调到 {g} 组（尚未应用）", unknown_agent: "请输入坐席员", ok: "成功", failed: "失败",
    day: "白班", night: "夜班", off_night: "下夜班", rest: "休息", long_day: "长白班" },
  en: { title: "Hotline administration", account: "Account", password: "Password", login: "Log in",
    queues: "Queues", q_name: "Queue", q_lang: "Language", q_kind: "Kind", q_strategy: "Strategy",
    q_ring: "Ring (s)", q_sl: "Service level (s)", q_wait: "Max wait (s)", q_overflow: "Overflow (s)",
    groups: "Shift groups", agent: "Agent", to_group: "Move to group", move: "Move",
    override: "Agent queues (override)", ov_queues: "queue:penalty", set: "Set", comment: "Comment",
    dry_run: "Preview change", apply: "Apply", discard: "Discard edits", plan: "Change preview", changes: "What changes",
    ami_actions: "AMI actions", requeues: "Agents' queues", conf_lines: "Configuration lines",
    versions: "Versions", author: "By", when: "When", result: "Result", rollback: "Roll back to this",
    version: "Version in force", nothing: "No change", applied: "Applied as version",
    conflict: "Someone else changed it (version {v}); reloaded, please edit again",
    operator: "Needs an operator's reload: ", moved: "{a} moved to group {g} (not applied yet)",
    unknown_agent: "Enter an agent", ok: "ok", failed: "failed", day: "day", night: "night",
    off_night: "off night", rest: "rest", long_day: "long day" },
  ko: { title: "핫라인 관리", account: "계정", password: "비밀번호", login: "로그인", queues: "대기열",
    q_name: "대기열", q_lang: "언어", q_kind: "종류", q_strategy: "전략", q_ring: "벨(초)",
    q_sl: "서비스 수준(초)", q_wait: "최대 대기(초)", q_overflow: "넘침(초)", groups: "근무조",
    agent: "상담원", to_group: "이동할 조", move: "이동", override: "상담원 대기열(지정)",
    ov_queues: "대기열:우선순위", set: "설정", comment: "설명", dry_run: "변경 미리보기", apply: "적용",
    discard: "편집 취소", plan: "변경 미리보기", changes: "변경 내용", ami_actions: "AMI 동작", requeues: "상담원 대기열",
    conf_lines: "설정 변경", versions: "버전", author: "작업자", when: "시각", result: "결과",
    rollback: "이 버전으로 되돌리기", version: "현재 버전", nothing: "변경 없음", applied: "적용된 버전",
    conflict: "다른 관리자가 변경함(버전 {v}); 다시 불러왔으니 다시 편집하세요",
    operator: "운영자 재로드 필요: ", moved: "{a}: {g}조로 이동(미적용)", unknown_agent: "상담원을 입력하세요",
    ok: "성공", failed: "실패", day: "주간", night: "야간", off_night: "야간 후", rest: "휴무",
    long_day: "긴 주간" },
};
const STRATEGIES = ["ringall", "leastrecent", "fewestcalls", "random", "rrmemory", "rrordered", "linear", "wrandom"];
let lang = localStorage.getItem("admin-lang") || "zh";
let token = sessionStorage.getItem("admin-token");
let current = null;  // {version, config}
let draft = null;

const $ = (id) => document.getElementById(id);
const t = (key, vars = {}) => (T[lang][key] || key).replace(/\{(\w+)\}/g, (_, k) => vars[k]);

function translate() {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  $("lang").value = lang;
  if (current) render();
}

async function api(method, path, body) {
  const resp = await fetch(path, {
    method,
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await resp.json();
  if (resp.status === 401 && path !== "/api/admin/login") { logout(); }
  return { status: resp.status, data };
}

function logout() {
  token = null;
  sessionStorage.removeItem("admin-token");
  $("app").hidden = true;
  $("login").hidden = false;
}

async function load() {
  const { status, data } = await api("GET", "/api/admin/config");
  if (status !== 200) return;
  current = { version: data.version, config: data.config };
  draft = structuredClone(data.config);
  $("login").hidden = true;
  $("app").hidden = false;
  render();
  loadVersions();
}

function input(value, onChange, type = "number") {
  const el = document.createElement("input");
  el.type = type;
  el.value = value ?? "";
  el.addEventListener("change", () => onChange(el.value));
  return el;
}

function render() {
  $("version-line").textContent = `${t("version")}: ${current.version}`;
  const body = $("queues").querySelector("tbody");
  body.replaceChildren();
  draft.queues.forEach((q, i) => {
    const before = current.config.queues.find((c) => c.name === q.name);
    const tr = document.createElement("tr");
    tr.dataset.queue = q.name;
    const cells = [q.name, q.language, q.kind];
    for (const text of cells) { const td = document.createElement("td"); td.textContent = text; tr.append(td); }
    const strategy = document.createElement("select");
    for (const s of STRATEGIES) strategy.append(new Option(s, s, false, s === q.strategy));
    strategy.addEventListener("change", () => { draft.queues[i].strategy = strategy.value; render(); });
    const td = document.createElement("td"); td.append(strategy); tr.append(td);
    for (const [key, nullable] of [["ring_timeout_s"], ["service_level_s"], ["max_wait_s"], ["overflow_after_s", true]]) {
      const cell = document.createElement("td");
      const el = input(q[key], (v) => {
        draft.queues[i][key] = v === "" && nullable ? null : Number(v);
        render();
      });
      el.name = `${q.name}.${key}`;
      if (before && before[key] !== q[key]) cell.classList.add("changed");
      cell.append(el);
      tr.append(cell);
    }
    body.append(tr);
  });

  const groups = $("groups");
  groups.replaceChildren();
  const select = $("move-group");
  const chosen = select.value;
  select.replaceChildren();
  for (const g of draft.shifts.groups) {
    const box = document.createElement("div");
    box.className = "group";
    box.dataset.group = g.name;
    const was = current.config.shifts.groups.find((c) => c.name === g.name);
    if (was && was.members.join() !== g.members.join()) box.classList.add("changed");
    const title = document.createElement("b");
    title.textContent = g.kind === "leaders" ? `${g.name} (${t("long_day")})` : g.name;
    const members = document.createElement("span");
    members.className = "members";
    members.textContent = g.members.join(", ") || "—";
    box.append(title, members);
    groups.append(box);
    select.append(new Option(g.name, g.name, false, g.name === chosen));
  }

  const list = $("overrides");
  list.replaceChildren();
  for (const o of draft.agents) {
    const li = document.createElement("li");
    li.textContent = `${o.agent}: ${(o.queues || []).map((q) => `${q.queue}:${q.penalty}`).join(", ") || "—"}`;
    list.append(li);
  }
}

function moveAgent() {
  const agent = $("move-agent").value.trim();
  const target = $("move-group").value;
  if (!agent) { say(t("unknown_agent"), true); return; }
  for (const g of draft.shifts.groups) g.members = g.members.filter((m) => m !== agent);
  draft.shifts.groups.find((g) => g.name === target).members.push(agent);
  render();
  say(t("moved", { a: agent, g: target }));
}

function setOverride() {
  const agent = $("ov-agent").value.trim();
  if (!agent) { say(t("unknown_agent"), true); return; }
  const text = $("ov-queues").value.trim();
  draft.agents = draft.agents.filter((o) => o.agent !== agent);
  if (text) {
    const queues = text.split(",").map((item) => {
      const [queue, penalty] = item.trim().split(":");
      return { queue, penalty: Number(penalty || 0) };
    });
    draft.agents.push({ agent, queues });
  }
  render();
}

function say(text, error = false) {
  $("message").textContent = text;
  $("message").className = error ? "error" : "";
}

function problem(data) {
  return `${data.message}${data.details && data.details.field ? ` (${data.details.field})` : ""}`;
}

function showPlan(plan) {
  $("plan").hidden = false;
  const changes = $("plan-changes");
  changes.replaceChildren();
  for (const line of plan.changes) {
    const li = document.createElement("li");
    li.textContent = line;
    changes.append(li);
  }
  const actions = $("plan-actions");
  actions.replaceChildren();
  for (const a of plan.actions) {
    const li = document.createElement("li");
    li.textContent = `${a.action} ${Object.entries(a.fields).map(([k, v]) => `${k}: ${v}`).join(", ")} — ${a.sender}`;
    actions.append(li);
  }
  const requeues = $("plan-requeues");
  requeues.replaceChildren();
  for (const r of plan.requeues) {
    const li = document.createElement("li");
    li.textContent = `${r.agent} @ ${r.seat}: ${r.before.join(", ") || "—"} → ${r.after.join(", ") || "—"}`;
    requeues.append(li);
  }
  const pre = $("plan-diff");
  pre.replaceChildren();
  const files = Object.entries(plan.files);
  if (!files.length && !plan.requeues.length) pre.textContent = t("nothing");
  for (const [, lines] of files) {
    for (const line of lines) {
      const span = document.createElement("span");
      if (line.startsWith("+") && !line.startsWith("+++")) span.className = "add";
      if (line.startsWith("-") && !line.startsWith("---")) span.className = "del";
      span.textContent = `${line}\n`;
      pre.append(span);
    }
  }
  $("plan-operator").textContent = plan.operator_reloads.length
    ? t("operator") + plan.operator_reloads.join(", ") : "";
}

async function conflictOr(status, data) {
  if (status === 409) {
    await load();
    say(t("conflict", { v: data.details.current }), true);
    return true;
  }
  if (status !== 200 && status !== 201) { say(problem(data), true); return true; }
  return false;
}

async function dryRun() {
  const { status, data } = await api("POST", "/api/admin/changes/dry-run",
    { base_version: current.version, config: draft });
  if (await conflictOr(status, data)) return;
  showPlan(data);
  say("");
}

async function apply() {
  const { status, data } = await api("POST", "/api/admin/changes",
    { base_version: current.version, config: draft, comment: $("comment").value });
  if (await conflictOr(status, data)) return;
  showPlan(data.plan);
  await load();
  const failed = data.version.results.filter((r) => !r.ok);
  say(`${t("applied")} ${data.version.version}` +
    (failed.length ? ` — ${t("failed")}: ${failed.map((r) => `${r.action}: ${r.message}`).join("; ")}` : ""),
    failed.length > 0);
}

async function rollback(version) {
  const { status, data } = await api("POST", `/api/admin/versions/${version}/rollback`,
    { base_version: current.version });
  if (await conflictOr(status, data)) return;
  showPlan(data.plan);
  await load();
  say(`${t("applied")} ${data.version.version}`);
}

async function loadVersions() {
  const { status, data } = await api("GET", "/api/admin/versions");
  if (status !== 200) return;
  const body = $("versions").querySelector("tbody");
  body.replaceChildren();
  for (const v of data.versions) {
    const tr = document.createElement("tr");
    tr.dataset.version = v.version;
    const result = v.results.map((r) => `${r.action} ${r.ok ? "✓" : "✗ " + r.message}`).join("; ");
    for (const text of [v.version, v.author, new Date(v.at).toLocaleString(lang), v.comment, result]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    tr.lastChild.className = v.asterisk_applied ? "ok" : "fail";
    const td = document.createElement("td");
    if (v.version !== current.version) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = t("rollback");
      button.addEventListener("click", () => rollback(v.version));
      td.append(button);
    }
    tr.append(td);
    body.append(tr);
  }
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const { status, data } = await api("POST", "/api/admin/login",
    { agent: $("agent").value, password: $("password").value });
  if (status !== 200) { $("login-error").textContent = problem(data); return; }
  token = data.token;
  sessionStorage.setItem("admin-token", token);
  $("who").textContent = data.administrator;
  $("login-error").textContent = "";
  await load();
});
$("lang").addEventListener("change", () => { lang = $("lang").value; localStorage.setItem("admin-lang", lang); translate(); if (current) loadVersions(); });
$("move").addEventListener("click", moveAgent);
$("ov-set").addEventListener("click", setOverride);
$("dry-run").addEventListener("click", dryRun);
$("apply").addEventListener("click", apply);
$("discard").addEventListener("click", () => { draft = structuredClone(current.config); render(); $("plan").hidden = true; });
translate();
if (token) load();
