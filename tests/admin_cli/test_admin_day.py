"""A Cusco admin's day with psv-admin against the real `psv serve` (issue 15).

Each quoted message of the issue is a check here: «Hola , bienvenido(a)», two different
«version 1», «no earlier version … to roll back to», «(default: see help)», the raw parser text
«while parsing a block mapping», a code cut with «…», and an unknown service answered as an
empty list.
"""

from __future__ import annotations

import csv
import re
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from admin_cli.errors import ExitCode
from tests.admin_cli.test_live import Live, _buttons, _tap, _text, _token
from tests.e2e.stack import Stack

GREETING = "¿En qué le puedo ayudar?"


@pytest.fixture(scope="module")
async def live(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Live]:
    async with Stack(tmp_path_factory.mktemp("day")) as stack:
        tokens = {"regional": _token(stack, "--role", "regional", "--tenant", "PE-CUS")}
        yield Live(stack, tokens)


async def _menu_of_new_citizen(stack: Stack, chat: int) -> str:
    """What a new citizen of Cusco (deep link) reads once the notice is accepted."""
    before = len(stack.tg_sent(chat))
    assert await stack.tg_post(stack.tg_text(chat, "/start PE-CUS")) == 200
    replies = await stack.tg_wait(chat, before)
    assert "¿Acepta?" in _text(replies), _text(replies)
    return _text(await _tap(stack, chat, replies[-1], "Sí"))


def _with_greeting(template: str, greeting: str) -> str:
    assert f'es: "{GREETING}"' in template
    return template.replace(f'es: "{GREETING}"', f'es: "{greeting}"', 1)


def _where(text: str, needle: str) -> tuple[int, int]:
    """1-based line and column of the first `needle` in a text."""
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number, line.index(needle) + 1
    raise AssertionError(f"{needle!r} not in the text")


async def test_push_ask_publish_rollback_to_national_and_reset(live: Live, tmp_path: Path) -> None:
    shown = await live.run("flows", "show", "menu")
    assert "national template" in shown.stderr and "version 1" not in shown.stderr
    template = shown.stdout
    assert (tmp_path / "menu.yaml").write_text(template, encoding="utf-8")

    # A greeting with the name, without a fallback: a warning at its line and column.
    plain = _with_greeting(template, f"Hola {{first_name}}, bienvenido(a). {GREETING}")
    (tmp_path / "menu.yaml").write_text(plain, encoding="utf-8")
    line, column = _where(plain, "{first_name}")
    pushed = await live.run("flows", "push", str(tmp_path / "menu.yaml"), input="n\n")
    assert pushed.exit_code == 0, pushed.output
    assert f"línea {line}, columna {column}: {{first_name}} puede quedar vacío" in pushed.stderr
    assert "{first_name|}" in pushed.stderr
    assert "Stored draft version 1 of menu for PE-CUS" in pushed.stdout
    assert f'+      es: "Hola {{first_name}}, bienvenido(a). {GREETING}"' in pushed.stdout
    assert f'-      es: "{GREETING}"' in pushed.stdout
    assert "Not published" in pushed.stdout
    flows = {f["name"]: f for f in await live.json("flows", "list")}
    assert flows["menu"]["draft_version"] == 1 and flows["menu"]["live_version"] is None

    # Published as it is: a citizen whose name is not known never reads «Hola , bienvenido».
    assert (await live.run("flows", "publish", "menu")).exit_code == 0
    text = await _menu_of_new_citizen(live.stack, 9200001)
    assert "Hola , " not in text and "Hola, bienvenido(a)." in text, text

    # A fallback written in the flow, pushed with --yes: no warning, live at once.
    kind = _with_greeting(template, f"Hola {{first_name|vecino(a)}}, bienvenido(a). {GREETING}")
    (tmp_path / "menu.yaml").write_text(kind, encoding="utf-8")
    pushed = await live.run("flows", "push", str(tmp_path / "menu.yaml"), "--yes")
    assert pushed.exit_code == 0, pushed.output
    assert "puede quedar vacío" not in pushed.stderr
    assert "Published version 2 of menu for PE-CUS" in pushed.stdout
    assert "finishes that flow on the national version" in " ".join(pushed.stderr.split())
    assert "Hola vecino(a), bienvenido(a)." in await _menu_of_new_citizen(live.stack, 9200002)

    # The versions table says which one is live.
    table = await live.run("flows", "versions", "menu")
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\S*\s*(\d+) .*$", table.stdout, re.M)}
    assert "◀ live" in rows["2"] and "◀ live" not in rows["1"], table.stdout
    assert "Live for new conversations: version 2." in table.stdout

    # Rollback walks back to version 1, then to the national template.
    rolled = await live.run("flows", "rollback", "menu")
    assert "version 1 is live again" in rolled.stdout, rolled.output
    rolled = await live.run("flows", "rollback", "menu")
    assert rolled.exit_code == 0, rolled.output
    assert "no earlier version" not in rolled.output
    assert "the national template is live again" in rolled.stdout
    table = await live.run("flows", "versions", "menu")
    assert "◀ live" not in table.stdout
    assert "Live for new conversations: the national template" in table.stdout
    assert "Hola" not in await _menu_of_new_citizen(live.stack, 9200003)

    # reset: back to the national template from any version, audited; refused when it applies.
    assert (await live.run("flows", "reset", "menu", "--yes")).exit_code == ExitCode.CONFLICT
    assert (await live.run("flows", "publish", "menu", "--version", "2")).exit_code == 0
    assert (await live.run("flows", "reset", "menu")).exit_code == ExitCode.FAILURE  # no answer
    reset = await live.run("flows", "reset", "menu", input="y\n")
    assert reset.exit_code == 0, reset.output
    assert "the national template is live again" in reset.stdout
    [entry] = await live.json("audit", "list", "--action", "flow.reset")
    assert entry["before"]["version"] == 2 and entry["after"]["source"] == "national"
    assert (await live.json("flows", "list"))[0]["live_version"] is None


async def test_help_names_each_default(live: Live) -> None:
    for command, default in (
        ("publish", "the newest draft"),
        ("show", "the live version, else the national template"),
        ("edit", "the newest draft, else the live version"),
    ):
        helped = await live.run("flows", command, "--help")
        assert "see help" not in helped.stdout
        assert default in " ".join(helped.stdout.split()), helped.stdout


async def test_validation_names_line_column_text_and_what_is_allowed(
    live: Live, tmp_path: Path
) -> None:
    template = (await live.run("flows", "show", "book")).stdout
    first_prompt = re.search(r'^      es: "(.*)"$', template, re.M)
    assert first_prompt
    wrong = template.replace(first_prompt.group(0), '      es: "Hola {nombre}, ¿qué tema?"', 1)
    file = tmp_path / "book.yaml"
    file.write_text(wrong, encoding="utf-8")
    line, column = _where(wrong, "{nombre}")
    refused = await live.run("flows", "validate", "book", str(file))
    assert refused.exit_code == ExitCode.INVALID
    err = refused.stderr
    assert f"línea {line}, columna {column}: el marcador {{nombre}} no existe" in err, err
    assert '      es: "Hola {nombre}, ¿qué tema?"' in err  # the line, quoted
    shown = err.splitlines()
    at = next(i for i, x in enumerate(shown) if "| " in x and "{nombre}" in x)
    assert shown[at + 1].index("^") == shown[at].index("{nombre}")  # the caret under it
    assert "Se puede escribir: {answer_when}" in err and "{first_name}" in err
    english = await live.run("flows", "validate", "book", str(file), "--lang", "en")
    assert f"line {line}, column {column}: unknown placeholder {{nombre}}" in english.stderr
    assert "Allowed: {answer_when}" in english.stderr
    assert (await live.run("flows", "push", str(file))).exit_code == ExitCode.INVALID
    assert (await live.json("flows", "list"))[0]["draft_version"] is None  # nothing stored

    # A stray quote: explained in words at its line, never the parser's own text.
    stray = template.replace(first_prompt.group(0), '      es: "Hola" vecino"', 1)
    file.write_text(stray, encoding="utf-8")
    line, _ = _where(stray, 'es: "Hola" vecino"')
    refused = await live.run("flows", "validate", "book", str(file))
    assert refused.exit_code == ExitCode.INVALID
    assert "while parsing" not in refused.stderr and "expected" not in refused.stderr
    assert f"línea {line}, columna" in refused.stderr and "sobran unas comillas" in refused.stderr
    assert f'{line:>6} |       es: "Hola" vecino"' in refused.stderr
    # A tab at the start of a line.
    file.write_text(template.replace("\n  ", "\n\t", 1), encoding="utf-8")
    refused = await live.run("flows", "validate", "book", str(file))
    assert "tabulador" in refused.stderr and "while scanning" not in refused.stderr


async def test_services_show_whole_codes_and_an_unknown_one_is_an_error(live: Live) -> None:
    codes = [s["code"] for s in await live.json("services", "list")]
    longest = max(codes, key=len)
    assert len(longest) > 25
    narrow = await live.run("services", "list", COLUMNS="80")
    assert narrow.exit_code == 0, narrow.output
    assert all(code in narrow.stdout for code in codes), narrow.stdout
    assert "…" not in narrow.stdout
    refused = await live.run("appointments", "list", "--service", "patrocinio")
    assert refused.exit_code == ExitCode.INVALID
    assert "patrocinio" in refused.stderr and longest in refused.stderr
    assert await live.json("appointments", "list", "--service", longest) == []


async def test_events_on_closed_days_need_force_and_national_holidays_stay(live: Live) -> None:
    holiday = next(c for c in await live.json("closures", "list") if c["national"])
    table = await live.run("closures", "list")
    assert "national holiday" in table.stdout and "only the national team" in table.stderr
    refused = await live.run("closures", "remove", str(holiday["id"]))
    assert refused.exit_code == ExitCode.FORBIDDEN
    assert "no such closure in this region" not in refused.stderr
    assert "is a national holiday" in refused.stderr and "national team" in refused.stderr

    day = holiday["starts_on"]
    event = ("events", "create", "--title", "Derechos", "--service", "capacitacion-laboral",
             "--start", f"{day}T10:00", "--seats", "10")  # fmt: skip
    refused = await live.run(*event)
    assert refused.exit_code == ExitCode.CONFLICT, refused.output
    assert f"{day} is a national holiday" in refused.stderr and "--force" in refused.stderr
    assert "send force" not in refused.stderr
    forced = await live.run(*event, "--force")
    assert forced.exit_code == 0, forced.output
    assert "Warning:" in forced.stderr and "national holiday" in forced.stderr

    # A closure of the region, added with the day written as people write it.
    closed = await live.json("closures", "add", "--from", "07/12/2031", "--reason", "Aniversario")
    assert closed["starts_on"] == closed["ends_on"] == "2031-12-07"
    on_closure = ("events", "create", "--title", "Taller", "--service", "capacitacion-laboral",
                  "--start", "07/12/2031 10:00", "--seats", "10")  # fmt: skip
    refused = await live.run(*on_closure)
    assert refused.exit_code == ExitCode.CONFLICT
    assert "2031-12-07 is a closure of the region (Aniversario)" in refused.stderr
    assert (await live.run(*on_closure, "--force")).exit_code == 0
    fine = await live.run(*on_closure[:-4], "--start", "09/12/2031 10:00", "--seats", "10")
    assert fine.exit_code == 0 and "Warning" not in fine.stderr, fine.output


async def test_import_reports_every_error_at_once_and_reads_spanish_hours(
    live: Live, tmp_path: Path
) -> None:
    people = tmp_path / "people.csv"
    people.write_text(
        "name,contact_channel,contact_address,services,hours\n"
        "Rosa Apaza,telegram,7770001,consultas-laborales,lunes 8-13;miércoles 8:30 a 13\n"
        "Luis Mamani,telegram,abc,magia-negra,lunes 25-26\n",
        encoding="utf-8",
    )
    refused = await live.run("specialists", "import", str(people))
    assert refused.exit_code == ExitCode.INVALID
    problems = [line for line in refused.stderr.splitlines() if line.startswith("  line 3:")]
    assert len(problems) == 3, refused.stderr  # address, service and hours, in one round
    assert "send skip_bad" not in refused.stderr and "--skip-bad" in refused.stderr
    assert "line 2:" not in refused.stderr
    taken = await live.run("specialists", "import", str(people), "--skip-bad")
    assert "Imported 1 of 2 rows" in taken.stdout, taken.output
    rosa = next(p for p in await live.json("specialists", "list") if p["name"] == "Rosa Apaza")
    assert rosa["hours"] == ["mon 08:00-13:00", "wed 08:30-13:00"]
    off = await live.run("specialists", "day-off", str(rosa["id"]), "--from", "02/03/2031")
    assert off.exit_code == 0, off.output


async def _start(stack: Stack, chat: int) -> list[dict[str, Any]]:
    before = len(stack.tg_sent(chat))
    assert await stack.tg_post(stack.tg_text(chat, "/start PE-CUS")) == 200
    replies = await stack.tg_wait(chat, before)
    return await _tap(stack, chat, replies[-1], "Sí")


async def _say(stack: Stack, chat: int, text: str) -> list[dict[str, Any]]:
    before = len(stack.tg_sent(chat))
    assert await stack.tg_post(stack.tg_text(chat, text)) == 200
    return await stack.tg_wait(chat, before)


async def test_exports_are_in_local_time_with_the_offset(live: Live, tmp_path: Path) -> None:
    stack, chat = live.stack, 9200040
    replies = await _tap(stack, chat, (await _start(stack, chat))[-1], "Pedir una cita")
    replies = await _say(stack, chat, "me despidieron")
    replies = await _tap(stack, chat, replies[-1], "Consultas laborales")
    replies = await _tap(stack, chat, replies[-1], "Lo antes posible")
    replies = await _tap(stack, chat, replies[-1], next(iter(_buttons(replies[-1]))))
    replies = await _tap(stack, chat, replies[-1], "DNI")
    replies = await _say(stack, chat, "40123457")
    replies = await _say(stack, chat, "Lucía Quispe")
    replies = await _say(stack, chat, "Me despidieron sin liquidación")
    replies = await _tap(stack, chat, replies[-1], "Sí")
    assert "Su cita está confirmada" in _text(replies), _text(replies)
    [booked] = await live.json("appointments", "list", "--status", "booked")
    target = tmp_path / "citas.csv"
    assert (await live.run("appointments", "export", str(target))).exit_code == 0
    with target.open(encoding="utf-8-sig", newline="") as handle:
        [row] = list(csv.DictReader(handle))
    for key in ("start", "end", "created_at"):
        assert row[key].endswith("-05:00"), row  # Lima, never +00:00
    assert datetime.fromisoformat(row["start"]) == datetime.fromisoformat(booked["start"])
    shown = await live.run("appointments", "list")
    assert datetime.fromisoformat(row["start"]).strftime("%Y-%m-%d %H:%M") in shown.stdout


async def test_tickets_show_who_and_go_only_to_specialists_who_can_relay(live: Live) -> None:
    stack, chat = live.stack, 9200050
    replies = await _tap(stack, chat, (await _start(stack, chat))[-1], "Hablar con una persona")
    if "¿en qué necesita ayuda?" in _text(replies):
        replies = await _say(stack, chat, "Me despidieron sin pagarme la liquidación")
    [ticket] = [t for t in await live.json("tickets", "list") if t["status"] == "open"]
    assert ticket["region"] == "PE-CUS" and "first_name" in ticket
    table = await live.run("tickets", "list")
    assert "Citizen" in table.stdout and "Region" in table.stdout and "PE-CUS" in table.stdout
    people = [p for p in await live.json("specialists", "list") if p["active"]]
    demo = next(p for p in people if p["contact_channel"] not in ("telegram", "whatsapp"))
    refused = await live.run(
        "tickets", "assign", str(ticket["id"]), "--specialist", str(demo["id"])
    )
    assert refused.exit_code == ExitCode.INVALID
    assert "no Telegram or WhatsApp chat" in refused.stderr
    able = await live.json(
        "specialists", "add", "--name", "Julia Ticona", "--address", "7770077",
        "--service", "consultas-laborales", "--hours", "lunes 8-13",
    )  # fmt: skip
    assert f"{able['id']} (Julia Ticona)" in refused.stderr or "Julia" not in refused.stderr
    assigned = await live.run(
        "tickets", "assign", str(ticket["id"]), "--specialist", str(able["id"])
    )
    assert assigned.exit_code == 0, assigned.output
