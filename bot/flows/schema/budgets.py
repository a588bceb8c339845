"""The budgets a flow document must fit before it is built (docs/flows.md, "Limits").

The national templates are under 8 KB, 400 nodes and 6 levels deep; these leave room for any
real flow and keep parsing a hostile document to a few tens of milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping

MAX_BYTES = 64 * 1024
MAX_DEPTH = 16
MAX_NODES = 5000
MAX_INT_CHARS = 12

# The refusals the loader raises (bot/flows/schema/loader.py), in English and in Spanish.
NO_ALIASES = "anchors (&name) and aliases (*name) are not allowed in flows"
TOO_MANY_NODES = f"more than {MAX_NODES} values (the limit)"
TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels (the limit)"
NUMBER_TOO_LONG = f"a number longer than {MAX_INT_CHARS} characters (the limit)"
REFUSALS_ES: Mapping[str, str] = {
    NO_ALIASES: (
        "no se permiten anclas (&nombre) ni alias (*nombre) en los flujos: "
        "escriba el texto otra vez"
    ),
    TOO_MANY_NODES: f"más de {MAX_NODES} valores (el límite)",
    TOO_DEEP: f"más de {MAX_DEPTH} niveles de sangría (el límite)",
    NUMBER_TOO_LONG: f"un número de más de {MAX_INT_CHARS} cifras (el límite)",
}
