"""What Terraform rendered: the roles, their inline policies and the resources that run
as them, read from `terraform show -json` of an applied root (environments/local), so
that the check sees the values that reach AWS; and the deployer's settings, which say
which function runs which artifact and which role the deployer assumes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml


@dataclass
class Statement:
    sid: str
    effect: str
    actions: list[str]
    resources: list[str]


@dataclass
class Role:
    address: str
    name: str
    arn: str
    statements: list[Statement] = field(default_factory=list)
    trusted_roles: list[str] = field(default_factory=list)  # AWS principals in its trust policy


@dataclass
class Deployment:
    roles: dict[str, Role]  # by ARN
    lambdas: dict[str, dict]  # function name -> values
    deployment_groups: list[dict]
    state_machines: list[dict]
    managed_attachments: list[str]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def statements(document: str) -> list[Statement]:
    out = []
    for i, s in enumerate(as_list(json.loads(document).get("Statement", []))):
        if "NotAction" in s or "NotResource" in s:
            raise ValueError(f"statement {s.get('Sid', i)} uses NotAction/NotResource, which the check does not read")
        out.append(
            Statement(s.get("Sid", f"#{i}"), s.get("Effect", "Allow"), as_list(s.get("Action", [])), as_list(s.get("Resource", [])))
        )
    return out


def resources(module: dict):
    yield from module.get("resources", [])
    for child in module.get("child_modules", []):
        yield from resources(child)


def load(state_json: Path) -> Deployment:
    state = json.loads(state_json.read_text())
    everything = list(resources(state.get("values", {}).get("root_module", {})))
    managed = [r for r in everything if r["mode"] == "managed"]
    roles = {}
    for r in managed:
        if r["type"] == "aws_iam_role":
            v = r["values"]
            role = Role(r["address"], v["name"], v["arn"], trusted_roles=s_principals(v["assume_role_policy"]))
            roles[v["arn"]] = role
    # A role name is unique in its account only (every workload account has a
    # `deployer`): a policy's role is the one of that name in the policy's module.
    by_name = {(module_of(role.address), role.name): role for role in roles.values()}
    for r in managed:
        if r["type"] == "aws_iam_role_policy":
            role = by_name.get((module_of(r["address"]), r["values"]["role"]))
            if role is None:
                raise ValueError(f"{r['address']}: role {r['values']['role']} is not in its module's state")
            # The policies come from aws_iam_role_policy, the one way the modules attach
            # them; aws_iam_role's inline_policy echoes them as of the role's last read,
            # which an apply that changes a policy leaves stale.
            role.statements += statements(r["values"]["policy"])
    return Deployment(
        roles=roles,
        lambdas={r["values"]["function_name"]: r["values"] for r in managed if r["type"] == "aws_lambda_function"},
        deployment_groups=[r["values"] for r in managed if r["type"] == "aws_codedeploy_deployment_group"],
        state_machines=[r["values"] for r in managed if r["type"] == "aws_sfn_state_machine"],
        managed_attachments=[
            f"{r['address']} ({r['values'].get('policy_arn')})"
            for r in managed
            if r["type"] in ("aws_iam_role_policy_attachment", "aws_iam_policy_attachment", "aws_iam_role_policy_attachments_exclusive")
        ],
    )


def module_of(address: str) -> str:
    """`module.dev.module.deploy_role` of `module.dev.module.deploy_role.aws_iam_role.this`."""
    parts = address.split(".")
    return ".".join(parts[: len(parts) - 2]) if address.startswith("module.") else ""


def s_principals(document: str) -> list[str]:
    """The AWS principals (role ARNs) a trust policy names."""
    out = []
    for s in as_list(json.loads(document).get("Statement", [])):
        principal = s.get("Principal", {})
        if isinstance(principal, dict):
            out += as_list(principal.get("AWS", []))
    return out


@dataclass
class Settings:
    """One environment's deployer.yaml, as far as the check needs it."""

    environment: str
    deploy_role_arn: str
    artifacts: dict[str, str]  # Lambda function name -> artifact (= binary) name


def load_settings(settings_dir: Path) -> list[Settings]:
    out = []
    for path in sorted(settings_dir.glob("*/deployer.yaml")):
        raw = yaml.safe_load(path.read_text())
        role = raw["deploy_role"]
        arn = role if role.startswith("arn:") else f"arn:aws:iam::{raw['account_id']}:role/{role}"
        artifacts = {f["function_name"]: name for name, f in raw["functions"].items()}
        artifacts[raw["hooks"]["pre_traffic"]] = "pre-traffic"
        artifacts[raw["hooks"]["post_traffic"]] = "post-traffic"
        out.append(Settings(raw["environment"], arn, artifacts))
    return out
