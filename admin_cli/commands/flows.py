"""`psv-admin flows ...`: a region's conversation flows, from editing to publishing."""

from __future__ import annotations

import re
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from admin_cli import flow_report, output
from admin_cli import graph as diagrams
from admin_cli.client import Client, path
from admin_cli.commands.common import JsonOpt, TenantOpt, connect
from admin_cli.editor import edit_text
from admin_cli.errors import CliError, ExitCode
from admin_cli.output import Column

app = typer.Typer(help="Conversation flows: show, edit, validate, publish, roll back, try.")

NameArg = Annotated[str, typer.Argument(help="The flow's name, e.g. menu or book.")]


def _version_opt(default: str) -> Any:
    return typer.Option(
        "--version",
        "-v",
        min=1,
        help=f"A version number of the region, as `flows versions` lists it (default: {default}).",
    )


VersionOpt = Annotated[int | None, _version_opt("the live version, else the national template")]
EditVersionOpt = Annotated[
    int | None, _version_opt("the newest draft, else the live version, else the national template")
]
DiffVersionOpt = Annotated[int | None, _version_opt("the newest draft, else the live version")]
PublishVersionOpt = Annotated[int | None, _version_opt("the newest draft")]
TryVersionOpt = Annotated[int | None, _version_opt("the newest draft, else the live version")]
LangOpt = Annotated[
    str | None,
    typer.Option(
        "--lang",
        help="Language of validation messages: es (default) or en; or set PSV_ADMIN_LANG.",
    ),
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before publishing.")]

COLUMNS = [
    Column("name", "Flow"),
    Column("live_version", "Live", justify="right"),
    Column("draft_version", "Draft", justify="right"),
    Column("source", "Source"),
]


class Against(StrEnum):
    """What `flows diff` compares with."""

    previous = "previous"
    live = "live"
    national = "national"


class ImageFormat(StrEnum):
    """Image formats of `flows graph`."""

    svg = "svg"
    png = "png"


WHICH_VERSION = (
    "Which citizens see it: a flow takes its version when it starts, from the region known then. "
    "Citizens who came by {code}'s link or whose region is remembered get it from their first "
    "message; a new citizen who names {code} inside a flow (the region question of book) "
    "finishes that flow on the national version, and every flow started afterwards is {code}'s "
    "(docs/flows.md, 'Which version runs')."
)


def _flow_path(tenant: str, name: str, *rest: str) -> str:
    return path("tenants", tenant, "flows", name, *rest)


def _flow_entry(client: Client, tenant: str, name: str) -> dict[str, Any]:
    items, _ = client.items(path("tenants", tenant, "flows"), limit=None)
    for item in items:
        if isinstance(item, dict) and item.get("name") == name:
            return item
    known = ", ".join(sorted(str(i.get("name")) for i in items if isinstance(i, dict)))
    raise CliError(f"No flow named {name!r} in {tenant}. Flows: {known}.", ExitCode.NOT_FOUND)


def _fetch(client: Client, tenant: str, name: str, version: int | None) -> dict[str, Any]:
    answer = client.get(_flow_path(tenant, name), version=version)
    if not isinstance(answer, dict) or not isinstance(answer.get("yaml"), str):
        raise CliError(f"The server's answer for flow {name!r} has no YAML.", ExitCode.SERVER)
    return answer


def _describe(flow: dict[str, Any]) -> str:
    if flow.get("source_of") == "national":
        return f"flow {flow.get('name')}: the national template (no version of the region is live)"
    return f"flow {flow.get('name')} version {flow.get('version')} ({flow.get('status')})"


def _first_line(problem: CliError) -> int | None:
    details = problem.details if isinstance(problem.details, dict) else {}
    for entry in details.get("errors") or []:
        if isinstance(entry, dict) and isinstance(entry.get("line"), int):
            return int(entry["line"])
    return None


@app.command("list")
def list_flows(tenant: TenantOpt = None, as_json: JsonOpt = False) -> None:
    """List the region's flows with their live and draft versions."""
    with connect() as client:
        code = client.tenant(tenant)
        items, _ = client.items(path("tenants", code, "flows"), limit=None)
    output.listing(items, COLUMNS, as_json=as_json, title=f"Flows of {code}")


@app.command("versions")
def versions(name: NameArg, tenant: TenantOpt = None, as_json: JsonOpt = False) -> None:
    """List every version of one flow (draft, published, retired)."""
    with connect() as client:
        code = client.tenant(tenant)
        items, _ = client.items(_flow_path(code, name, "versions"), limit=None)
    columns = [
        Column("version", "Version", justify="right"),
        Column("status", "Status"),
        Column("live", "Live", lambda v: "◀ live" if v else ""),
        Column("created_by", "By"),
        Column("created_at", "Created", output.when),
        Column("published_at", "Published", output.when),
    ]
    output.listing(items, columns, as_json=as_json, title=f"Versions of {name} in {code}")
    if not as_json:
        live = [i for i in items if isinstance(i, dict) and i.get("live")]
        output.say(
            f"Live for new conversations: version {live[0]['version']}."
            if live
            else "Live for new conversations: the national template (no version of the region)."
        )


@app.command("show")
def show(
    name: NameArg, tenant: TenantOpt = None, version: VersionOpt = None, as_json: JsonOpt = False
) -> None:
    """Print a flow's YAML: the region's live version, else the national template."""
    with connect() as client:
        flow = _fetch(client, client.tenant(tenant), name, version)
    if as_json:
        output.print_json(flow)
        return
    output.note(f"[dim]# {escape(_describe(flow))}[/dim]")
    typer.echo(flow["yaml"], nl=not flow["yaml"].endswith("\n"))


@app.command("export")
def export(
    name: NameArg,
    file: Annotated[Path, typer.Argument(help="Where to write the YAML ('-': stdout).")],
    tenant: TenantOpt = None,
    version: VersionOpt = None,
) -> None:
    """Write a flow's YAML to a file."""
    with connect() as client:
        flow = _fetch(client, client.tenant(tenant), name, version)
    if str(file) == "-":
        typer.echo(flow["yaml"], nl=False)
        return
    try:
        file.write_text(flow["yaml"], encoding="utf-8")
    except OSError as exc:
        raise CliError(f"Cannot write {file}: {exc.strerror}.", ExitCode.FAILURE) from exc
    output.say(f"Wrote {escape(_describe(flow))} to {escape(str(file))}.")


@app.command("validate")
def validate(
    name: NameArg,
    file: Annotated[Path, typer.Argument(help="The YAML file to check.")],
    tenant: TenantOpt = None,
    lang: LangOpt = None,
) -> None:
    """Check a YAML file against the validator (nothing is stored); errors at their line."""
    words = flow_report.language(lang)
    text = _read(file)
    with connect() as client:
        try:
            answer = client.post(
                _flow_path(client.tenant(tenant), name, "validate"), {"yaml": text}
            )
        except CliError as problem:
            raise flow_report.refused(problem, words, text) from None
    flow_report.warn(answer, words, text)
    shown = flow_report.word(words, "valid", file=escape(str(file)), name=escape(name))
    output.say(f"[green]{shown}[/green]")


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"Cannot read {file}: {exc.strerror}.", ExitCode.USAGE) from exc
    except UnicodeDecodeError as exc:
        raise CliError(f"{file} is not UTF-8 text.", ExitCode.USAGE) from exc


@app.command("edit")
def edit(
    name: NameArg, tenant: TenantOpt = None, version: EditVersionOpt = None, lang: LangOpt = None
) -> None:
    """Edit a flow in $EDITOR and keep it as a draft (reopened while it does not validate).

    Starts from the region's unpublished draft if there is one, else its live version, else the
    national template (or from --version).
    """
    words = flow_report.language(lang)
    with connect() as client:
        code = client.tenant(tenant)
        if version is None:
            version = _flow_entry(client, code, name).get("draft_version") or None
        flow = _fetch(client, code, name, version)
        output.note(f"Editing {escape(_describe(flow))} of {code}.")
        original = text = flow["yaml"]
        line: int | None = None
        while True:
            text = edit_text(text, line=line)
            if text == original:
                output.say("No changes; nothing stored.")
                return
            try:
                answer = client.post(_flow_path(code, name, "drafts"), {"yaml": text})
            except CliError as problem:
                if problem.exit_code not in (ExitCode.INVALID, ExitCode.CONFLICT):
                    raise
                output.error(flow_report.refused(problem, words, text))
                line = _first_line(problem)
                if not typer.confirm("Edit again?", default=True):
                    raise CliError("Edit abandoned; nothing stored.", ExitCode.INVALID) from None
                continue
            break
    stored = answer.get("version") if isinstance(answer, dict) else None
    flow_report.warn(answer, words, text)
    output.say(f"[green]Stored draft version {stored} of {escape(name)} for {code}.[/green]")
    output.note(
        f"Try it: psv-admin flows try {name} --version {stored}    "
        f"Publish it: psv-admin flows publish {name} --version {stored}"
    )


def _named(text: str) -> str | None:
    """The flow's name as its text says (`flow: book`), without parsing the rest."""
    found = re.search(r"^flow:\s*[\"']?([a-z][a-z0-9_]*)", text, re.MULTILINE)
    return found.group(1) if found else None


@app.command("push")
def push(
    file: Annotated[Path, typer.Argument(help="The YAML file, edited in any editor.")],
    flow: Annotated[
        str | None, typer.Option("--flow", help="The flow's name (default: its `flow:` line).")
    ] = None,
    tenant: TenantOpt = None,
    yes: YesOpt = False,
    lang: LangOpt = None,
) -> None:
    """Store a YAML file as a draft, show what it changes against what is live, then publish it
    after asking (--yes: without asking). A file that does not validate stores nothing."""
    words = flow_report.language(lang)
    text = _read(file)
    name = flow or _named(text) or file.stem
    with connect() as client:
        code = client.tenant(tenant)
        try:
            answer = client.post(_flow_path(code, name, "drafts"), {"yaml": text})
        except CliError as problem:
            raise flow_report.refused(problem, words, text) from None
        stored = answer.get("version") if isinstance(answer, dict) else None
        flow_report.warn(answer, words, text)
        output.say(f"[green]Stored draft version {stored} of {escape(name)} for {code}.[/green]")
        changes = client.get(_flow_path(code, name, "diff"), against="live", version=stored)
        output.say(f"What it changes against what is live ({escape(str(changes.get('from')))}):")
        _print_diff(str((changes or {}).get("diff") or ""))
        if not yes and not _ask(f"Publish version {stored} of {name} for {code} now?"):
            output.say(
                f"Not published. Try it: psv-admin flows try {name} --version {stored}    "
                f"Publish it: psv-admin flows publish {name} --version {stored}"
            )
            return
        client.post(_flow_path(code, name, "publish"), {"version": stored})
    output.say(
        f"[green]Published version {stored} of {escape(name)} for {code}.[/green] New "
        "conversations use it; conversations already running finish on their version."
    )
    output.note(WHICH_VERSION.format(code=code))


def _ask(question: str) -> bool:
    """A yes/no question; no answer (no terminal, end of input) is no."""
    try:
        return bool(typer.confirm(question, default=False))
    except typer.Abort:
        return False


@app.command("diff")
def diff(
    name: NameArg,
    against: Annotated[
        Against,
        typer.Option("--against", help="previous version, what is live, or the national template"),
    ] = Against.previous,
    tenant: TenantOpt = None,
    version: DiffVersionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show what a version changes (default: the newest) as a unified diff."""
    with connect() as client:
        code = client.tenant(tenant)
        answer = client.get(_flow_path(code, name, "diff"), against=against.value, version=version)
    if as_json:
        output.print_json(answer)
        return
    _print_diff(str((answer or {}).get("diff") or ""))


def _print_diff(text: str) -> None:
    if not text.strip():
        output.say("No differences.")
        return
    if not sys.stdout.isatty():
        typer.echo(text, nl=not text.endswith("\n"))
        return
    console = output.out()
    for line in text.splitlines():
        style = {"+": "green", "-": "red", "@": "cyan"}.get(line[:1], "")
        if line.startswith(("+++", "---")):
            style = "bold"
        console.print(escape(line), style=style or None)


@app.command("publish")
def publish(name: NameArg, tenant: TenantOpt = None, version: PublishVersionOpt = None) -> None:
    """Make a draft live for new conversations (default: the newest draft)."""
    with connect() as client:
        code = client.tenant(tenant)
        body = {"version": version} if version is not None else {}
        answer = client.post(_flow_path(code, name, "publish"), body)
    live = answer.get("version", version) if isinstance(answer, dict) else version
    output.say(
        f"[green]Published version {live} of {escape(name)} for {code}.[/green] New "
        "conversations use it; conversations already running finish on their version."
    )
    output.note(WHICH_VERSION.format(code=code))


@app.command("rollback")
def rollback(name: NameArg, tenant: TenantOpt = None) -> None:
    """Republish the version that was live before the current one."""
    with connect() as client:
        code = client.tenant(tenant)
        answer = client.post(_flow_path(code, name, "rollback"), {})
    output.say(f"[green]Rolled back {escape(name)} for {code}: {_live_words(answer)}.[/green]")


def _live_words(answer: Any) -> str:
    if isinstance(answer, dict) and answer.get("source_of") == "national":
        return "the national template is live again (new conversations get it)"
    live = answer.get("version") if isinstance(answer, dict) else None
    return f"version {live} is live again" if live is not None else "the previous version is live"


@app.command("reset")
def reset(name: NameArg, tenant: TenantOpt = None, yes: YesOpt = False) -> None:
    """Go back to the national template: the region's live version is retired (audited).

    Every version stays listed and can be published again with `flows publish --version N`.
    """
    with connect() as client:
        code = client.tenant(tenant)
        if not yes and not typer.confirm(
            f"New conversations of {code} will get the national template of {name}. Go on?",
            default=False,
        ):
            raise CliError("Nothing changed.", ExitCode.FAILURE)
        answer = client.post(_flow_path(code, name, "reset"), {})
    output.say(f"[green]Reset {escape(name)} for {code}: {_live_words(answer)}.[/green]")


@app.command("graph")
def graph(
    name: NameArg,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Mermaid file (default: NAME.mmd).")
    ] = None,
    fmt: Annotated[
        ImageFormat, typer.Option("--format", help="Image format when a renderer is installed.")
    ] = ImageFormat.svg,
    tenant: TenantOpt = None,
    version: VersionOpt = None,
) -> None:
    """Write the flow's diagram as Mermaid text, and as an image when mmdc or dot is installed."""
    with connect() as client:
        answer = client.get(_flow_path(client.tenant(tenant), name, "graph"), version=version)
    mermaid = (answer or {}).get("mermaid") if isinstance(answer, dict) else None
    if not isinstance(mermaid, str):
        raise CliError("The server's answer has no Mermaid diagram.", ExitCode.SERVER)
    target = out or Path(f"{name}.mmd")
    try:
        target.write_text(mermaid, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"Cannot write {target}: {exc.strerror}.", ExitCode.FAILURE) from exc
    output.say(f"Wrote the Mermaid diagram to {escape(str(target))}.")
    if diagrams.renderer() is None:
        output.say(
            "No image made: neither mmdc (Mermaid CLI) nor dot (Graphviz) is installed. "
            "Paste the Mermaid text into https://mermaid.live, or install graphviz."
        )
        return
    image = target.with_suffix("." + fmt.value)
    tool = diagrams.render(target, image, fmt.value)
    output.say(f"Wrote {escape(str(image))} (rendered with {tool}).")


def _print_replies(answer: dict[str, Any]) -> None:
    console = output.out()
    for reply in answer.get("replies") or []:
        if not isinstance(reply, dict):
            continue
        console.print(f"[bold cyan]bot:[/bold cyan] {escape(str(reply.get('text', '')))}")
        for number, option in enumerate(reply.get("options") or [], start=1):
            label = option
            if isinstance(option, dict):
                label = option.get("label") or option.get("text") or option.get("id")
            console.print(f"     {number}. {escape(str(label))}")


def _turn(
    client: Client, code: str, name: str, version: int | None, session: str | None, text: str
) -> dict[str, Any]:
    body: dict[str, Any] = {"text": text}
    if version is not None:
        body["version"] = version
    if session:
        body["session"] = session
    answer = client.post(_flow_path(code, name, "try"), body)
    if not isinstance(answer, dict) or not answer.get("session"):
        raise CliError("The server's answer to a try turn has no session.", ExitCode.SERVER)
    return answer


@app.command("try")
def try_flow(
    name: NameArg,
    tenant: TenantOpt = None,
    version: TryVersionOpt = None,
    say: Annotated[
        list[str] | None,
        typer.Option("--say", help="Send these lines in order instead of reading the terminal."),
    ] = None,
) -> None:
    """Talk to a version of a flow (default: the newest draft, else the live one) in a sandbox."""
    with connect() as client:
        code = client.tenant(tenant)
        answer = _turn(client, code, name, version, None, "")
        version = answer.get("version", version)
        output.note(
            f"Trying {escape(name)} version {version} of {code} in a sandbox: nobody is messaged "
            "and nothing booked is kept. Answer with text or an option's number; /quit or "
            "Ctrl-D ends."
        )
        session = str(answer["session"])
        _print_replies(answer)
        lines = iter(say) if say is not None else None
        while True:
            if lines is not None:
                text = next(lines, None)
                if text is None:
                    return
                output.say(f"[bold]you:[/bold] {escape(text)}")
            else:
                try:
                    text = input("you> ")
                except EOFError:
                    return
            if text.strip() in ("/quit", "/exit"):
                return
            if not text.strip():
                continue
            answer = _turn(client, code, name, version, session, text)
            _print_replies(answer)
