"""YAML syntax errors explained in plain words, in English and Spanish, where they show."""

from __future__ import annotations

import yaml

from bot.flows.schema.budgets import REFUSALS_ES, TOO_DEEP
from bot.flows.schema.definition import FlowError


def syntax_error(exc: yaml.YAMLError, text: str, file: str) -> FlowError:
    """A YAML error explained in words, at the line (and column) where it shows, quoting it."""
    lines = text.splitlines()
    mark = getattr(exc, "problem_mark", None)
    context_mark = getattr(exc, "context_mark", None)
    problem = str(getattr(exc, "problem", "") or "")
    context = str(getattr(exc, "context", "") or "")
    line = mark.line + 1 if mark is not None else 1
    column: int | None = mark.column + 1 if mark is not None else None
    shown = lines[line - 1] if 0 < line <= len(lines) else ""
    if problem in REFUSALS_ES or "maximum nesting depth" in str(exc):
        en = problem if problem in REFUSALS_ES else TOO_DEEP
        return FlowError(file, line, None, en, column, shown or None, es=REFUSALS_ES[en])
    if "quoted scalar" in context and "end of stream" in problem and context_mark is not None:
        line, column = context_mark.line + 1, context_mark.column + 1
        shown = lines[line - 1] if 0 < line <= len(lines) else ""
        en = "a quoted text opens here and is never closed: add the closing quote"
        es = "unas comillas se abren aquí y nunca se cierran: ponga las comillas de cierre"
    elif "cannot start any token" in problem and "\t" in shown:
        column = shown.index("\t") + 1
        en = "a tab is used to indent this line: YAML indents with spaces only"
        es = "esta línea tiene un tabulador al inicio: en YAML la sangría se hace solo con espacios"
    elif "cannot start any token" in problem:
        char = shown[column - 1] if column and column <= len(shown) else "?"
        en = f"a text cannot start with «{char}» unless it is between quotes"
        es = f"un texto no puede empezar con «{char}» si no va entre comillas"
    elif "mapping values are not allowed" in problem:
        en = "a colon (:) inside a text without quotes: write the whole text between quotes"
        es = (
            "hay dos puntos (:) dentro de un texto sin comillas: escriba todo el texto entre "
            'comillas ("...")'
        )
    elif (
        "expected" in problem
        and ("key" in problem or "<block end>" in problem)
        and ('"' in shown or "'" in shown)
    ):
        en = (
            "the quoted text ends before the line does: there is one quote too many. Inside a "
            'text between double quotes write \\" for a quote, or use « »'
        )
        es = (
            "el texto entre comillas termina antes que la línea: sobran unas comillas. Dentro "
            'de un texto entre comillas dobles escriba \\" para una comilla, o use « »'
        )
    elif ("expected ',' or" in problem or "flow node" in context) and context_mark is not None:
        opened = context_mark.line + 1
        en = f"a bracket [ or brace {{ opened on line {opened} or before is not closed"
        es = f"un corchete [ o una llave {{ abierto en la línea {opened} o antes no se cierra"
    elif "could not find expected ':'" in problem:
        en = "a field name without its colon (:), or a text of several lines without quotes"
        es = (
            "falta el signo dos puntos (:) tras el nombre de un campo, o un texto de varias "
            "líneas no está entre comillas"
        )
    elif "expected" in problem:
        en = "this line's indentation (the spaces at its start) does not match the lines above"
        es = (
            "la sangría de esta línea (los espacios al inicio) no coincide con la de las "
            "líneas de arriba"
        )
    else:
        en = f"the text cannot be read as YAML here ({problem or exc})"
        es = "el texto no se puede leer como YAML en este punto"
    return FlowError(file, line, None, f"not valid YAML: {en}", column, shown or None, es=es)
