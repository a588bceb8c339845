"""`psv flows`: check flow files and draw the national templates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.app import flows_app


@flows_app.command("validate")
def flows_validate(
    files: Annotated[list[Path], typer.Argument(help="Flow YAML files to check.")],
) -> None:
    """Check flow files; prints every error with file, line and step."""
    from bot.flows.registry import template_names
    from bot.flows.schema import InvalidFlow, load_valid

    failed = False
    for file in files:
        try:
            load_valid(file.read_text(encoding="utf-8"), file.name, known_flows=template_names())
        except (InvalidFlow, OSError) as exc:
            failed = True
            typer.echo(str(exc), err=True)
        else:
            typer.echo(f"{file.name}: valid")
    if failed:
        raise typer.Exit(1)


@flows_app.command("graph")
def flows_graph(
    name: Annotated[str, typer.Argument(help="A national template, e.g. book.")],
) -> None:
    """Print a Mermaid diagram of a national template flow."""
    from bot.flows.machine import compile_source
    from bot.flows.registry import template_names, template_sources

    sources = template_sources()
    if name not in sources:
        typer.echo(f"psv: no flow {name!r}; known: {', '.join(sorted(sources))}", err=True)
        raise typer.Exit(1)
    typer.echo(compile_source(sources[name], f"{name}.yaml", template_names()).mermaid(), nl=False)
