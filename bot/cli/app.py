"""The `psv` Typer application and its command groups (commands live beside, by topic)."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="PSV: the Ministry of Labour's citizen assistant.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain help (click's formatter): typer's rich help costs about 0.1 s of imports per run.
    rich_markup_mode=None,
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
flows_app = typer.Typer(help="Conversation flows: check and draw them.", no_args_is_help=True)
app.add_typer(flows_app, name="flows")
admin_token_app = typer.Typer(
    help="Admin API tokens (shown once, stored hashed).", no_args_is_help=True
)
app.add_typer(admin_token_app, name="admin-token")
