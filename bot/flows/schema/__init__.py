"""The flow format (YAML, documented in docs/flows.md) and its validator.

A flow is data: steps of kinds from a fixed library, prompts per language, targets, and
actions and conditions named from the allowlists (bot/flows/allowlist.py). Nothing in a flow
can name code. The validator reports precise errors (file, line, step); an invalid flow never
runs. The parts: `definition` (the format's words and shapes), `budgets` and `loader` (safe
YAML), `syntax` (YAML errors in words), `parse` (fields), `paths` and `checks` (the flow as a
whole).
"""

from bot.flows.schema.budgets import MAX_BYTES, MAX_DEPTH, MAX_INT_CHARS, MAX_NODES
from bot.flows.schema.checks import load_valid, validate, warnings
from bot.flows.schema.definition import (
    FLOW_PREFIX,
    INPUT_KINDS,
    SPECIAL_TARGETS,
    STEP_KINDS,
    FlowDefinition,
    FlowError,
    InvalidFlow,
    Step,
)
from bot.flows.schema.parse import parse_flow

__all__ = [
    "FLOW_PREFIX",
    "INPUT_KINDS",
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_INT_CHARS",
    "MAX_NODES",
    "SPECIAL_TARGETS",
    "STEP_KINDS",
    "FlowDefinition",
    "FlowError",
    "InvalidFlow",
    "Step",
    "load_valid",
    "parse_flow",
    "validate",
    "warnings",
]
