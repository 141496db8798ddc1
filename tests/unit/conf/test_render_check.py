"""`cti conf render` is deterministic and `cti conf check` finds what would break."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from cti.conf import PLACEHOLDER, HotlineConfig, RenderError, RenderOptions, check, render, write
from cti.conf.live import diff_files, operator_reloads, reload_actions
from cti.settings import AsteriskConfSettings, Settings
from queues.model import QueueSpec

SETTINGS = Settings(conf=AsteriskConfSettings(seat_secret_key="deploy-key"))


def _written(tmp_path: Path, files: dict[str, str]) -> Path:
    write(files, tmp_path)
    return tmp_path


def test_render_is_byte_for_byte_deterministic() -> None:
    assert render(HotlineConfig(), SETTINGS) == render(HotlineConfig(), SETTINGS)


def test_render_then_check_round_trip_has_no_problem(tmp_path: Path) -> None:
    assert check(_written(tmp_path, render(HotlineConfig(), SETTINGS))) == []


def test_secrets_come_from_settings_and_never_from_the_model() -> None:
    files = render(HotlineConfig(), SETTINGS)
    assert PLACEHOLDER not in files["pjsip.conf"]
    other = render(HotlineConfig(), Settings(conf=AsteriskConfSettings(seat_secret_key="other")))
    assert files["pjsip.conf"] != other["pjsip.conf"]
    assert "deploy-key" not in "".join(files.values())
    with pytest.raises(RenderError, match="CTI_CONF__SEAT_SECRET_KEY"):
        render(HotlineConfig(), Settings())


def test_placeholder_secrets_are_refused_unless_the_files_are_a_template(tmp_path: Path) -> None:
    root = _written(tmp_path, render(HotlineConfig(), Settings(), RenderOptions(placeholders=True)))
    problems = check(root)
    assert len(problems) == 53 and all("placeholder" in p.message for p in problems)
    assert check(root, template=True) == []


def test_the_committed_asterisk_conf_is_the_rendered_template(tmp_path: Path) -> None:
    committed = Path(__file__).resolve().parents[3] / "asterisk-conf"
    files = render(HotlineConfig(), Settings(), RenderOptions(placeholders=True))
    for name, text in files.items():
        assert (committed / name).read_text(encoding="utf-8") == text, name
    assert check(committed, template=True) == []


def test_52_seats_each_with_endpoint_auth_and_aor() -> None:
    pjsip = render(HotlineConfig(), SETTINGS)["pjsip.conf"]
    assert pjsip.count("type = endpoint") == 53
    assert pjsip.count("type = auth") == 52
    assert "[seat52-auth]" in pjsip and "[seat53" not in pjsip


def test_inbound_goes_through_the_ivr_agi_to_every_queue_of_the_model() -> None:
    model = HotlineConfig()
    text = render(model, SETTINGS)["extensions.conf"]
    assert "AGI(agi://127.0.0.1:4573/language-menu)" in text
    assert "#include extensions-ivr.conf" in text
    for queue in model.queues:
        assert f"Queue({queue.name},,,,{queue.max_wait_s})" in text


def test_overflow_becomes_a_queue_rule() -> None:
    files = render(HotlineConfig(), SETTINGS)
    assert "defaultrule = overflow-q-zh" in files["queues.conf"]
    assert (
        "[overflow-q-zh]\npenaltychange => 30,1\npenaltychange => 60,2" in files["queuerules.conf"]
    )
    assert "overflow-q-duty" not in files["queues.conf"]


@pytest.mark.parametrize(
    ("file", "old", "new", "problem"),
    [
        ("extensions.conf", "Queue(q-en,,,,120)", "Queue(q-fr,,,,120)", "queue q-fr is not in"),
        (
            "queues.conf",
            "[q-ko]\n",
            "[q-ko]\nmember => PJSIP/seat99\n",
            "member PJSIP/seat99 is no seat",
        ),
        ("queues.conf", "[q-ko]\n", "[q-ko]\nmember => PJSIP/trunk\n", "is no seat"),
        ("pjsip.conf", "auth = seat07-auth\n", "", "seat seat07 has no auth"),
        ("pjsip.conf", "[seat08-auth]", "[seat07-auth]", "duplicate section [seat07-auth]"),
        ("queues.conf", "[q-en]", "[q-zh]", "duplicate section [q-zh]"),
        ("queuerules.conf", "[overflow-q-ko]", "[overflow-q-kr]", "defaultrule overflow-q-ko"),
        ("extensions.conf", "Goto(hotline,s,1)", "Goto(hotlin,s,1)", "goto to no context hotlin"),
        ("manager.conf", "reporting,originate\n", "reporting,config\n", "grants config"),
        ("extensions.conf", "#include extensions-ivr.conf", "#include nope.conf", "no such file"),
    ],
)
def test_check_names_a_broken_reference(
    tmp_path: Path, file: str, old: str, new: str, problem: str
) -> None:
    files = render(HotlineConfig(), SETTINGS)
    assert old in files[file]
    files[file] = files[file].replace(old, new, 1)
    found = [str(p) for p in check(_written(tmp_path, files))]
    assert any(problem in p for p in found), found


def test_a_parameter_change_reloads_queues_live_and_names_what_needs_an_operator() -> None:
    model = HotlineConfig()
    slower = model.model_copy(
        update={"queues": tuple(q.model_copy(update={"ring_timeout_s": 20}) for q in model.queues)}
    )
    diff = diff_files(render(model, SETTINGS), render(slower, SETTINGS))
    assert set(diff) == {"queues.conf"}
    assert [a.action for a in reload_actions(diff)] == ["QueueReload"]
    assert operator_reloads(diff) == []
    longer = model.model_copy(
        update={"queues": tuple(q.model_copy(update={"max_wait_s": 200}) for q in model.queues)}
    )
    diff = diff_files(render(model, SETTINGS), render(longer, SETTINGS))
    assert reload_actions(diff) == [] and operator_reloads(diff) == ["extensions.conf"]


def test_the_model_refuses_an_inconsistent_set_of_queues() -> None:
    model = HotlineConfig()
    with pytest.raises(ValidationError, match="two language queues for zh"):
        HotlineConfig(queues=(*model.queues, QueueSpec(name="q-zh2", language="zh")))
    with pytest.raises(ValidationError, match="exactly one duty queue"):
        HotlineConfig(queues=tuple(q for q in model.queues if q.kind != "duty"))
    with pytest.raises(ValidationError, match="ends_on"):
        QueueSpec(name="q-zh", language="zh", ends_on="2027-01-01")
