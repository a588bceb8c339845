"""Flow diagrams: Mermaid text from the server, rendered to SVG/PNG by mmdc or Graphviz."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from admin_cli.errors import CliError, ExitCode

_NODE = re.compile(r'^\s*(\w+)\s*(\(\[|\[\[|\[|\(\(|\(|\{)"?(.*?)"?(\]\)|\]\]|\]|\)\)|\)|\})\s*$')
_EDGE = re.compile(r"^\s*(\w+)\s*-->\s*(?:\|([^|]*)\|)?\s*(\w+)\s*$")
_TAGS = re.compile(r"<[^>]+>")


def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _label(raw: str) -> str:
    text = raw.replace("<br/>", "\n").replace("<br>", "\n")
    return _TAGS.sub("", text)


def mermaid_to_dot(mermaid: str) -> str:
    """A Graphviz digraph of a Mermaid flowchart (nodes and `-->` edges, labels kept)."""
    lines = ["digraph flow {", "  rankdir=TB;", '  node [shape=box, fontname="Helvetica"];']
    for raw in mermaid.splitlines():
        node = _NODE.match(raw)
        edge = _EDGE.match(raw)
        if edge:
            source, label, target = edge.groups()
            attrs = f" [label={_dot_string(label)}]" if label else ""
            lines.append(f"  {source} -> {target}{attrs};")
        elif node:
            name, opening, label, _closing = node.groups()
            shape = ", shape=ellipse" if opening.startswith("(") else ""
            lines.append(f"  {name} [label={_dot_string(_label(label))}{shape}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def renderer() -> str | None:
    """The diagram tool found on PATH: `mmdc` (Mermaid CLI) first, else `dot` (Graphviz)."""
    for tool in ("mmdc", "dot"):
        if shutil.which(tool):
            return tool
    return None


def render(mermaid_file: Path, image: Path, fmt: str) -> str:
    """Render the Mermaid file into an image with the tool found; the tool's name."""
    tool = renderer()
    if tool is None:
        raise CliError("Neither mmdc nor dot is installed.", ExitCode.FAILURE)
    if tool == "mmdc":
        command = [shutil.which("mmdc") or "mmdc", "-i", str(mermaid_file), "-o", str(image)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    else:
        dot = mermaid_to_dot(mermaid_file.read_text(encoding="utf-8"))
        command = [shutil.which("dot") or "dot", f"-T{fmt}", "-o", str(image)]
        done = subprocess.run(command, input=dot, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise CliError(
            f"{tool} failed (status {done.returncode}): {done.stderr.strip()[:300]}",
            ExitCode.FAILURE,
        )
    return tool
