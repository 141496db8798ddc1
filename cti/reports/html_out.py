"""The report as one self-contained HTML page: tables, and charts drawn by matplotlib (SVG
embedded inline, no script, nothing fetched). Texts are in English and Chinese."""

from __future__ import annotations

import html
import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # no display: the server and CI draw to files

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from cti.reports.figures import Report
from cti.reports.tables import Value, call_values

_FONTS = ["Noto Sans CJK SC", "Noto Serif CJK SC", "Noto Sans CJK JP", "DejaVu Sans"]
ANSWERED, ABANDONED, TARGET = "#2e7d32", "#c62828", "#1565c0"
_PAUSE_COLOURS = ["#8e24aa", "#f9a825", "#00838f", "#6d4c41", "#546e7a", "#d81b60"]


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog and DOCTYPE: inline in HTML


def _figure(width: float, height: float) -> Figure:
    plt.rcParams["font.family"] = "sans-serif"
    plt.rcParams["font.sans-serif"] = _FONTS
    plt.rcParams["svg.fonttype"] = "none"  # text stays text: searchable, sharp, small
    fig = plt.figure(figsize=(width, height))
    return fig


def calls_per_hour_chart(report: Report) -> str:
    """Stacked bars: answered and abandoned calls per hour, service level as a line."""
    hours = list(range(24))
    answered = [report.by_hour[h].answered for h in hours]
    abandoned = [report.by_hour[h].abandoned for h in hours]
    fig = _figure(10, 3.6)
    ax = fig.add_subplot()
    ax.bar(hours, answered, color=ANSWERED, label="answered 已接")
    ax.bar(hours, abandoned, bottom=answered, color=ABANDONED, label="abandoned 放弃")
    ax.set_xticks(hours, [f"{h:02d}" for h in hours])
    ax.set_xlabel("hour 时段")
    ax.set_ylabel("calls 来电")
    level = ax.twinx()
    levels = [report.by_hour[h].service_level for h in hours]
    level.plot(
        [h for h, v in zip(hours, levels, strict=True) if v is not None],
        [v for v in levels if v is not None],
        color=TARGET,
        marker="o",
        label="answered ≤15 s % 15秒接通率",
    )
    level.set_ylim(0, 105)
    level.set_ylabel("%")
    lines = ax.get_legend_handles_labels()
    more = level.get_legend_handles_labels()
    ax.legend(
        lines[0] + more[0],
        lines[1] + more[1],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.2),
        ncol=3,
        fontsize=8,
        frameon=False,
    )
    ax.set_title("Calls per hour 每小时来电")
    return _svg(fig)


def queues_chart(report: Report) -> str:
    """Per queue: service level and abandon rate side by side."""
    keys = sorted(report.by_queue)
    labels = [f"{q}\n{lang or '-'}" for q, lang in keys]
    service = [report.by_queue[k].service_level or 0.0 for k in keys]
    abandon = [report.by_queue[k].abandon_rate or 0.0 for k in keys]
    fig = _figure(6, 3.4)
    ax = fig.add_subplot()
    x = list(range(len(keys)))
    ax.bar([i - 0.2 for i in x], service, width=0.4, color=TARGET, label="≤15 s % 15秒接通")
    ax.bar([i + 0.2 for i in x], abandon, width=0.4, color=ABANDONED, label="abandoned % 放弃率")
    ax.set_xticks(x, labels)
    ax.set_ylim(0, 105)
    ax.set_ylabel("%")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title("Queues 队列")
    return _svg(fig)


def agents_chart(report: Report) -> str:
    """Per agent: minutes talking, in after-call work and paused by reason (stacked)."""
    agents = sorted(report.agents)
    reasons = sorted(report.pause_s)
    fig = _figure(8, max(2.4, 0.45 * len(agents) + 1.2))
    ax = fig.add_subplot()
    left = [0.0] * len(agents)

    def stack(values: Sequence[float], colour: str, label: str) -> None:
        ax.barh(agents, values, left=left, color=colour, label=label)
        for i, v in enumerate(values):
            left[i] += v

    stack([report.agents[a].calls.talk_sum_s / 60 for a in agents], ANSWERED, "talk 通话")
    stack([report.agents[a].after_call_work_s / 60 for a in agents], TARGET, "after-call work 话后")
    for i, reason in enumerate(reasons):
        colour = _PAUSE_COLOURS[i % len(_PAUSE_COLOURS)]
        values = [report.agents[a].pause_s.get(reason, 0.0) / 60 for a in agents]
        stack(values, colour, f"pause: {reason} 暂停")
    ax.set_xlabel("minutes 分钟")
    ax.invert_yaxis()
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title("Agents' time 坐席时间")
    return _svg(fig)


def _cell(value: Value) -> str:
    return "–" if value is None else html.escape(str(value))


def _table(head: Sequence[str], body: Sequence[Sequence[Value]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    trs = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in body)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"


_CALL_HEAD = [
    "offered 来电",
    "answered 接通",
    "abandoned 放弃",
    "≤15 s",
    "service level % 服务水平",
    "abandon % 放弃率",
    "avg wait s 平均等待",
    "avg talk s 平均通话",
]


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f}"


def to_html(report: Report, *, title: str = "Hotline report 热线报表") -> str:
    """The whole page."""
    period = f"{report.start:%Y-%m-%d %H:%M} – {report.end:%Y-%m-%d %H:%M %Z}"
    total = call_values(report.total)
    cb = report.callbacks
    summary = _table(
        ["", *_CALL_HEAD],
        [["all 全部", *(total[k] for k in total)]],
    )
    queues = _table(
        ["queue 队列", "language 语言", *_CALL_HEAD],
        [
            [q, lang or "–", *call_values(c).values()]
            for (q, lang), c in sorted(report.by_queue.items())
        ],
    )
    reasons = sorted(report.pause_s)
    agents = _table(
        [
            "agent 坐席",
            "answered 接通",
            "avg talk s",
            "talk min 通话",
            "after-call work min 话后",
            "ready min 就绪",
            *(f"pause {r} min" for r in reasons),
            "callbacks 回拨",
            "before deadline 按时",
        ],
        [
            [
                agent,
                day.calls.answered,
                call_values(day.calls)["average_talk_s"],
                _minutes(day.calls.talk_sum_s),
                _minutes(day.after_call_work_s),
                _minutes(day.seconds.get("ready", 0.0)),
                *(_minutes(day.pause_s.get(r, 0.0)) for r in reasons),
                day.callbacks,
                day.callbacks_in_time,
            ]
            for agent, day in sorted(report.agents.items())
        ],
    )
    pauses = _table(
        ["pause reason 暂停原因", "minutes 分钟"],
        [[r, _minutes(s)] for r, s in sorted(report.pause_s.items())]
        + [["after-call work 话后处理", _minutes(report.after_call_work_s)]],
    )
    callbacks = _table(
        ["", "callbacks 回拨", "placed 已拨", "before deadline 按时", "%"],
        [
            [
                "all 全部",
                cb.total,
                cb.placed,
                cb.in_time,
                None if cb.in_time_rate is None else round(cb.in_time_rate, 1),
            ],
            [
                "elderly / emergency 老人 / 紧急",
                cb.elderly_or_emergency,
                None,
                cb.elderly_or_emergency_in_time,
                None,
            ],
        ],
    )
    charts = (
        f'<figure class="wide">{calls_per_hour_chart(report)}</figure>'
        f"<figure>{queues_chart(report)}</figure>"
        f'<figure class="wide">{agents_chart(report)}</figure>'
    )
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>{html.escape(title)} {html.escape(period)}</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "Noto Sans", sans-serif; margin: 24px; color: #222; }}
h1 {{ font-size: 24px; margin: 0 0 4px; }} h2 {{ font-size: 18px; margin: 28px 0 8px; }}
.period {{ color: #555; margin-bottom: 16px; }}
table {{ border-collapse: collapse; font-size: 14px; margin-bottom: 8px; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: right; }}
th {{ background: #f1f3f5; }} td:first-child, th:first-child {{ text-align: left; }}
figure {{ margin: 8px 0; display: inline-block; vertical-align: top; }}
figure svg {{ max-width: 100%; height: auto; }} figure.wide {{ display: block; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<div class="period">{html.escape(period)}</div>
<h2>Summary 总览</h2>{summary}
<h2>Charts 图表</h2>{charts}
<h2>Queues and languages 队列与语言</h2>{queues}
<h2>Callbacks 回拨</h2>{callbacks}
<h2>Pauses 暂停</h2>{pauses}
<h2>Agents 坐席</h2>{agents}
</body></html>
"""
