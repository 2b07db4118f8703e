#!/usr/bin/env python3
"""Checks the IAM policies of an applied Terraform root against the calls the code makes
and the Service Authorization Reference.

    check_iam.py --state STATE.json [--workspace DIR] [--settings-dir DIR] [--calls]

STATE.json is `terraform show -json` of the applied root (environments/local).
For every role something runs as (rust_source.py and requirements.py say who calls
what), the check reports:
- a call no Allow statement of the role grants on a resource the reference lists for
  the action ("*" where it lists none: IAM denies anything narrower);
- a grant IAM ignores: an action on resources of a type the reference does not list
  for it (for example codedeploy:StopDeployment on a deployment group's ARN);
- a grant nothing that runs as the role calls;
- a role nothing is known to run as, and managed policy attachments (not read).
Exit 0: no finding; 1: findings (one a line, with the fix); 2: bad input.
`--calls` prints the derived calls per binary and exits.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import deployment  # noqa: E402
import reference  # noqa: E402
import requirements  # noqa: E402


def granted(role: deployment.Role, action: str) -> list[tuple[deployment.Statement, str]]:
    """(statement, resource) pairs of the role's Allow statements that name `action`."""
    return [
        (s, r)
        for s in role.statements
        if s.effect == "Allow" and any(reference.action_matches(a, action) for a in s.actions)
        for r in s.resources
    ]


def need_met(roles: list[deployment.Role], need: requirements.Need) -> bool:
    for action in need.any_of:
        act = reference.action(action)
        if any(reference.resource_fits(act, r) for role in roles for _, r in granted(role, action)):
            return True
    return False


def describe_fit(action: str) -> str:
    act = reference.action(action)
    if not act.resource_level:
        return 'on "*" (the reference lists no resource type for it)'
    return "on an ARN of the form " + " or ".join(act.arn_formats)


def check(dep: deployment.Deployment, principals: list[requirements.Principal]) -> tuple[list[str], int]:
    findings: list[str] = []
    checked = 0
    known_roles = set()
    for p in principals:
        roles = [dep.roles[arn] for arn in p.role_arns if arn in dep.roles]
        missing = [arn for arn in p.role_arns if arn not in dep.roles]
        for arn in missing:
            findings.append(f"{p.who}: runs as {arn}, which the state does not hold")
        known_roles.update(r.arn for r in roles)
        # Each role on its own meets `needs`; one of them meets each shared need.
        for role in roles:
            for need in p.needs:
                checked += 1
                if not need_met([role], need):
                    findings.append(
                        f"{role.name} ({role.address}): {p.who} calls {' or '.join(need.any_of)} ({need.why}), "
                        f"which no statement grants {describe_fit(need.any_of[0])}: add it"
                    )
        for need in p.shared_needs:
            checked += 1
            if not need_met(roles, need):
                findings.append(
                    f"{', '.join(r.name for r in roles)}: {p.who} calls {' or '.join(need.any_of)} ({need.why}), "
                    f"which none of them grants {describe_fit(need.any_of[0])}: add it to the role whose command makes the call"
                )
        wanted = {a for n in p.needs + p.shared_needs for a in n.any_of} | p.permitted
        for role in roles:
            for s in role.statements:
                if s.effect != "Allow":
                    continue
                for pattern in s.actions:
                    if "*" in pattern or "?" in pattern:
                        findings.append(f"{role.name}: statement {s.sid} grants the wildcard action {pattern}: name the actions")
                        continue
                    act = reference.action(pattern)
                    if act.name.lower() not in {w.lower() for w in wanted}:
                        findings.append(
                            f"{role.name} ({role.address}): statement {s.sid} grants {act.name}, which nothing that runs "
                            f"as it ({p.who}) calls: remove it"
                        )
                        continue
                    for r in s.resources:
                        if not reference.resource_fits(act, r):
                            findings.append(
                                f"{role.name}: statement {s.sid} grants {act.name} on {r}, which IAM does not authorize "
                                f"it on: grant it {describe_fit(act.name)}"
                            )
    for arn, role in sorted(dep.roles.items()):
        if arn not in known_roles:
            findings.append(f"{role.name} ({role.address}): nothing known runs as this role, so the check cannot tell what it needs")
    for attachment in dep.managed_attachments:
        findings.append(f"{attachment}: a managed policy attachment, which the check does not read: use an inline policy")
    return findings, checked


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state", type=Path, help="terraform show -json of the applied root")
    parser.add_argument("--workspace", type=Path, default=Path(__file__).resolve().parents[3])
    parser.add_argument("--settings-dir", type=Path, help="default: <workspace>/environments")
    parser.add_argument("--calls", action="store_true", help="print the calls derived from the source and exit")
    args = parser.parse_args()
    workspace = args.workspace.resolve()
    try:
        calls = requirements.code_calls(workspace)
    except (RuntimeError, ValueError) as e:
        print(f"check_iam: error: {e}", file=sys.stderr)
        return 2
    if args.calls:
        for binary, cs in calls.items():
            print(f"{binary}:")
            for action in sorted({c.action for c in cs}):
                gates = sorted({c.gate for c in cs if c.action == action and c.gate})
                when = f" only with {', '.join(gates)} set" if gates else ""
                print(f"  {action}{when}  ({', '.join(sorted({c.where for c in cs if c.action == action}))})")
        return 0
    if args.state is None or not args.state.is_file():
        print("check_iam: error: --state must name the JSON of `terraform show -json` (an applied root)", file=sys.stderr)
        return 2
    try:
        dep = deployment.load(args.state)
        settings = deployment.load_settings(args.settings_dir or workspace / "environments")
        principals = requirements.principals(dep, settings, calls)
        findings, checked = check(dep, principals)
    except (KeyError, ValueError) as e:
        print(f"check_iam: error: {e}", file=sys.stderr)
        return 2
    grants = sum(len(s.actions) * len(s.resources) for r in dep.roles.values() for s in r.statements)
    print(
        f"check_iam: {len(dep.roles)} roles, {grants} action grants, {len(principals)} callers, "
        f"{checked} needed calls checked against the Service Authorization Reference"
    )
    for f in findings:
        print(f"  - {f}")
    if findings:
        print(f"check_iam: {len(findings)} finding(s)")
        return 1
    print("check_iam: every call is granted as the reference requires, and nothing else is")
    return 0


if __name__ == "__main__":
    sys.exit(main())
