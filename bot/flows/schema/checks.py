"""The checks across a parsed flow: targets, names from the allowlists, paths and answers.

`validate` lists every error (an invalid flow never runs); `warnings` lists placeholders that
can be said empty; `load_valid` parses and validates in one call.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.flows.allowlist import (
    ACTION_NEEDS,
    CONDITIONS,
    PLACEHOLDER_NEEDS,
    PLACEHOLDERS,
    SOURCES,
)
from bot.flows.schema.definition import (
    FLOW_PREFIX,
    INPUT_KINDS,
    SPECIAL_TARGETS,
    FlowDefinition,
    FlowError,
    InvalidFlow,
    Step,
)
from bot.flows.schema.parse import Collector, parse_flow
from bot.flows.schema.paths import can_finish, reachable, saved_on_every_path


def _check_step(step: Step, flow: FlowDefinition, known_flows: set[str], where: Collector) -> None:
    def target_ok(target: str) -> None:
        if target.startswith(FLOW_PREFIX):
            if target[len(FLOW_PREFIX) :] not in known_flows:
                where.add(
                    step.line,
                    step.name,
                    f"unknown flow in target '{target}'",
                    f"el flujo de '{target}' no existe",
                    text=target,
                    allowed=tuple(f"flow:{f}" for f in sorted(known_flows)),
                )
        elif target not in flow.steps and target not in SPECIAL_TARGETS:
            where.add(
                step.line,
                step.name,
                f"target '{target}' is not a step of this flow",
                f"'{target}' no es un paso de este flujo",
                text=target,
                allowed=(*sorted(flow.steps), "end"),
            )

    for target in step.targets():
        target_ok(target)
    for condition in [b.condition for b in step.next if b.condition] + [step.skip_if]:
        if condition is not None and condition not in CONDITIONS:
            where.add(
                step.line,
                step.name,
                f"unknown condition '{condition}'",
                f"la condición '{condition}' no existe",
                text=condition,
                allowed=tuple(sorted(CONDITIONS)),
            )
    if step.next and step.next[-1].condition is not None:
        where.add(
            step.line,
            step.name,
            "the last branch of next must have no 'if' (the fallback)",
            "la última rama de next no lleva 'if': es la que se sigue si ninguna otra se cumple",
        )
    for spot in step.placeholders:
        if spot.name not in PLACEHOLDERS:
            where.add(
                spot.line,
                step.name,
                f"unknown placeholder {{{spot.written}}} in '{spot.lang}'",
                f"el marcador {{{spot.written}}} no existe (texto en '{spot.lang}')",
                column=spot.column,
                text=spot.text,
                allowed=tuple(f"{{{p}}}" for p in sorted(PLACEHOLDERS)),
            )
    missing = [lang for lang in flow.languages if lang not in step.prompt]
    if step.kind != "action" and missing:
        where.add(
            step.line,
            step.name,
            f"prompt missing in {', '.join(missing)}",
            f"falta el texto (prompt) en {', '.join(missing)}",
        )
    for option in step.options:
        gaps = [lang for lang in flow.languages if lang not in option.label]
        if gaps:
            where.add(
                step.line,
                step.name,
                f"option '{option.id}' label missing in {', '.join(gaps)}",
                f"falta el nombre (label) de la opción '{option.id}' en {', '.join(gaps)}",
            )
    kind = step.kind
    if step.if_empty is not None and not (kind == "choice" and step.source):
        where.add(
            step.line,
            step.name,
            "if_empty belongs to a choice with a source",
            "if_empty solo va en un paso choice con source (datos)",
        )
    if kind == "choice":
        if bool(step.options) == bool(step.source):
            where.add(
                step.line,
                step.name,
                "a choice needs either options or a source",
                "un paso choice necesita options (escritas aquí) o source (datos), uno de los dos",
            )
        if step.source is not None and step.source not in SOURCES:
            where.add(
                step.line,
                step.name,
                f"unknown source '{step.source}'",
                f"la fuente de datos '{step.source}' no existe",
                text=step.source,
                allowed=tuple(sorted(SOURCES)),
            )
        if not step.next and not all(o.goto for o in step.options):
            where.add(
                step.line,
                step.name,
                "a choice needs next, or a goto on every option",
                "un paso choice necesita next, o un goto en cada opción",
            )
    elif kind == "yes_no":
        if not (step.on_yes and step.on_no):
            where.add(
                step.line,
                step.name,
                "a yes_no step needs on_yes and on_no",
                "un paso yes_no necesita on_yes y on_no",
            )
    elif kind == "action":
        if step.action not in ACTION_NEEDS:
            where.add(
                step.line,
                step.name,
                f"unknown action {step.action!r}",
                f"la acción {step.action!r} no existe",
                text=str(step.action),
                allowed=tuple(sorted(ACTION_NEEDS)),
            )
        if "ok" not in step.on and not step.next:
            where.add(
                step.line,
                step.name,
                "an action needs on: {ok: ...} or next",
                "una acción necesita on: {ok: ...} o next",
            )
    elif not step.next:
        where.add(
            step.line, step.name, f"a {kind} step needs next", f"un paso {kind} necesita next"
        )
    if kind in INPUT_KINDS and kind not in ("yes_no",) and not step.save and kind != "choice":
        where.add(
            step.line,
            step.name,
            f"a {kind} step needs save: <answer name>",
            f"un paso {kind} necesita save: <nombre de la respuesta>",
        )


def validate(
    flow: FlowDefinition,
    *,
    known_flows: Iterable[str] = (),
    tenant_languages: Iterable[str] = (),
) -> list[FlowError]:
    """Every problem of a parsed flow; an empty list means it may run."""
    where = Collector(flow.file)
    known = set(known_flows) | {flow.name}
    if flow.start not in flow.steps:
        where.add(
            1,
            None,
            f"start step '{flow.start}' does not exist",
            f"el paso inicial '{flow.start}' no existe",
            allowed=tuple(sorted(flow.steps)),
        )
    if "es" not in flow.languages:
        where.add(
            1,
            None,
            "Spanish (es) must be one of the flow's languages",
            "el castellano (es) debe estar entre los idiomas del flujo",
        )
    for lang in tenant_languages:
        if lang not in flow.languages:
            where.add(
                1,
                None,
                f"the region offers '{lang}' but the flow has no texts in it",
                f"la región ofrece '{lang}' pero el flujo no tiene textos en ese idioma",
            )
    for step in flow.steps.values():
        _check_step(step, flow, known, where)
    if flow.start in flow.steps:
        reached = reachable(flow)
        for step in flow.steps.values():
            if step.name not in reached:
                where.add(
                    step.line,
                    step.name,
                    "unreachable from the start step",
                    "ningún camino desde el paso inicial llega a este paso",
                )
        finishing = can_finish(flow)
        for name in sorted(reached - finishing):
            step = flow.steps[name]
            where.add(
                step.line,
                name,
                "no way to finish from here (never reaches end or a flow)",
                "desde aquí la conversación no puede terminar (nunca llega a end ni a otro flujo)",
            )
        saved = saved_on_every_path(flow)
        for step in flow.steps.values():
            if step.kind == "action" and step.action is not None and step.action in ACTION_NEEDS:
                # "slot" can also be answered by a date step asking for the earliest.
                have = saved[step.name] | {s.save for s in [step] if s.save}
                lacking = sorted(ACTION_NEEDS[step.action] - have)
                if lacking:
                    where.add(
                        step.line,
                        step.name,
                        f"action '{step.action}' needs {', '.join(lacking)} on every path to it",
                        f"la acción '{step.action}' necesita {', '.join(lacking)} en todo "
                        "camino que llega a ella",
                    )
    where.errors.sort(key=lambda e: (e.line, e.step or ""))
    return where.errors


def warnings(flow: FlowDefinition) -> list[FlowError]:
    """Placeholders that can be empty where they are said, written without a fallback.

    `{first_name}` in a step reached before the name is asked renders «Hola , ...» for a
    citizen not known yet; `{first_name|}` (nothing) or `{first_name|amigo}` says what to
    write then. A warning never stops a flow.
    """
    found: list[FlowError] = []
    if flow.start not in flow.steps:
        return found
    saved = saved_on_every_path(flow)
    for step in flow.steps.values():
        for spot in step.placeholders:
            needed = PLACEHOLDER_NEEDS.get(spot.name)
            if spot.has_fallback or needed is None or needed in saved.get(step.name, ()):
                continue
            found.append(
                FlowError(
                    flow.file,
                    spot.line,
                    step.name,
                    f"{{{spot.written}}} can be empty here (no '{needed}' yet on some path): "
                    f"write {{{spot.name}|}} to leave it out, or {{{spot.name}|text}} for a "
                    "stand-in",
                    spot.column,
                    spot.text,
                    (f"{{{spot.name}|}}", f"{{{spot.name}|amigo(a)}}"),
                    es=f"{{{spot.written}}} puede quedar vacío aquí (en algún camino aún no se "
                    f"sabe '{needed}'): escriba {{{spot.name}|}} para omitirlo, o "
                    f"{{{spot.name}|texto}} para poner otro texto en su lugar",
                    warning=True,
                )
            )
    found.sort(key=lambda e: (e.line, e.column or 0))
    return found


def load_valid(
    text: str,
    file: str = "<flow>",
    *,
    known_flows: Iterable[str] = (),
    tenant_languages: Iterable[str] = (),
) -> FlowDefinition:
    """Parse and validate; raise InvalidFlow listing every error."""
    flow = parse_flow(text, file)
    errors = validate(flow, known_flows=known_flows, tenant_languages=tenant_languages)
    if errors:
        raise InvalidFlow(errors)
    return flow
