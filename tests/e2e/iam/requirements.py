"""Which role makes which call.

- The deployer (deployer/src): with the tooling-side credentials it starts from (a
  pipeline stage's or GitHub environment's role) it reads and writes the artifact
  store and assumes the environment's deploy role (deployer/src/connect.rs); every
  other call goes through the deploy role. So its S3 calls and sts:AssumeRole belong
  to the tooling roles (the roles the deploy roles trust), the rest to each deploy
  role (deploy_role in environments/<env>/deployer.yaml).
- Each Lambda function runs one artifact (deployer.yaml: functions.<artifact>, hooks)
  whose binary has the same name, as its own execution role: pre-traffic and
  post-traffic are separate binaries, so separate roles.
- CodeDeploy runs as each deployment group's service role, Step Functions as each
  state machine's role; what they call comes from AWS's documentation (below), as no
  source of theirs is here.

A Need is one call's grant: any one of `any_of` on a resource the reference lists for
it. `permitted` holds what a role may also be granted without a Need of its own: the
KMS calls services make on its behalf, and documented optional ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import rust_source
import sdk
from deployment import Deployment, Settings


@dataclass
class Need:
    any_of: tuple[str, ...]
    why: str


@dataclass
class Principal:
    who: str
    role_arns: list[str]  # one role, or (for the tooling side) several that share the needs
    needs: list[Need] = field(default_factory=list)
    permitted: set[str] = field(default_factory=set)
    # Needs that one role of role_arns (not every one) must meet.
    shared_needs: list[Need] = field(default_factory=list)

    def add(self, actions, why: str) -> None:
        self.needs.append(Need(tuple(actions), why))


# KMS calls a service makes with the caller's credentials when the data it reads or
# writes is encrypted with a customer managed key (every bucket, table and topic here
# is). Required: S3 SSE-KMS reads need kms:Decrypt and writes kms:GenerateDataKey
# (S3 User Guide, "Using server-side encryption with AWS KMS keys", permissions); SNS
# publishers to an encrypted topic need kms:GenerateDataKey and kms:Decrypt (SNS
# Developer Guide, "Encryption at rest", key policy for publishers). Permitted only: a
# DynamoDB table under a customer managed key; which KMS calls DynamoDB makes with the
# caller's credentials is not stated plainly by AWS, so the roles may hold what the
# AWS CDK grants a table's readers and writers (grantReadData / grantWriteData:
# kms:Decrypt, kms:Encrypt, kms:GenerateDataKey).
KMS_REQUIRED = {
    "s3:GetObject": ("kms:Decrypt",),
    "s3:PutObject": ("kms:GenerateDataKey",),
    "sns:Publish": ("kms:GenerateDataKey", "kms:Decrypt"),
}
KMS_PERMITTED_FOR_SERVICE = {"dynamodb": {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"}}

# A call that needs another action besides its own. CodeDeploy User Guide, "CodeDeploy
# permissions reference", note 1: with CreateDeployment, GetDeploymentConfig for the
# deployment configuration and GetApplicationRevision or RegisterApplicationRevision
# for the revision. Which of the two an inline AppSpec needs is not said, so both are
# permitted and one is required.
DEPENDENT = {
    "codedeploy:CreateDeployment": [
        ("codedeploy:GetDeploymentConfig",),
        ("codedeploy:GetApplicationRevision", "codedeploy:RegisterApplicationRevision"),
    ],
}

# What the Lambda service does with a function's execution role: write its logs
# (AWSLambdaBasicExecutionRole: logs:CreateLogStream, logs:PutLogEvents; the group
# exists, so CreateLogGroup is optional), send traces when tracing is Active
# (AWSXRayDaemonWriteAccess: PutTraceSegments, PutTelemetryRecords; sampling rules
# optional), and decrypt environment variables encrypted with a customer managed key
# (Lambda's KMSAccessDeniedException: "check the function's KMS permissions").
LAMBDA_LOGS = ("logs:CreateLogStream", "logs:PutLogEvents")
XRAY_WRITE = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
XRAY_SAMPLING = {"xray:GetSamplingRules", "xray:GetSamplingTargets"}

# What CodeDeploy does as a Lambda deployment group's service role, from the managed
# policy AWS documents for it (AWSCodeDeployRoleForLambda / ...Limited): read and move
# the alias, invoke the lifecycle hooks, read the group's alarms; optional: provisioned
# concurrency reads, SNS triggers, S3-hosted AppSpecs (neither of the last two is used:
# the AppSpec is sent inline and no trigger is configured).
CODEDEPLOY_PERMITTED = {"lambda:GetProvisionedConcurrencyConfig"}

# What Step Functions does as a state machine's role: invoke the Lambda tasks of its
# definition; with logging on, the log-delivery calls the Step Functions Developer
# Guide lists for it ("IAM policies for logging to CloudWatch Logs"); with tracing on,
# X-Ray (AWSXRayDaemonWriteAccess).
SFN_LOG_DELIVERY = {
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
}

# The deployer's calls that go out with the tooling-side credentials: who it is
# (connect.rs) and the artifact store (cloud/sdk/store.rs). Its other S3 calls (the raw
# bucket's partitions, cloud/sdk/workflow.rs) go out as the deploy role.
TOOLING_SIDE_FILES = {"deployer/src/connect.rs", "deployer/src/cloud/sdk/store.rs"}


def tooling_side(call: "Call") -> bool:
    return call.where.split(":")[0] in TOOLING_SIDE_FILES

BINARIES = {
    # artifact (= binary) -> (code base folder, main)
    "deployer": ("deployer", "src/main.rs"),
    "pre-traffic": ("hooks", "src/bin/pre_traffic.rs"),
    "post-traffic": ("hooks", "src/bin/post_traffic.rs"),
    "extract": ("functions", "etl-functions/src/bin/extract.rs"),
    "transform": ("functions", "etl-functions/src/bin/transform.rs"),
    "load": ("functions", "etl-functions/src/bin/load.rs"),
    "compensate": ("functions", "etl-functions/src/bin/compensate.rs"),
}


# Calls a binary makes only when its function's environment sets a variable: those
# reachable only through the named function. The post-traffic hook starts its smoke
# execution only with SMOKE_STATE_MACHINE_ARN set (hooks/src/config.rs; prod sets none).
GATES = {"run_smoke": "SMOKE_STATE_MACHINE_ARN"}


@dataclass
class Call:
    action: str
    where: str  # file:line (function)
    gate: str | None = None  # the environment variable the call depends on


def code_calls(workspace: Path) -> dict[str, list[Call]]:
    """Per binary, the IAM actions of the SDK calls it can make, with where."""
    ops = {service: sdk.operations(src) for service, src in sdk.sdk_crates(workspace).items()}
    bases: dict[str, rust_source.CodeBase] = {}
    out = {}
    for binary, (folder, main) in BINARIES.items():
        base = bases.setdefault(folder, rust_source.CodeBase.load(workspace / folder))
        services = sdk.crate_dependencies(workspace, folder)
        methods = {s: set(ops[s]) for s in services}
        entry = workspace / folder / main

        def sites(skip: frozenset[str] = frozenset()) -> set[tuple[Path, int]]:
            return {(c.file, c.line) for c in rust_source.binary_calls(base, entry, methods, skip, sdk.PROVIDERS)}

        # A call not reached once a gate's function is skipped depends on that gate.
        without_gate = {variable: sites(frozenset({gate})) for gate, variable in GATES.items()}
        out[binary] = [
            Call(
                action,
                f"{c.file.relative_to(workspace)}:{c.line} ({c.function})",
                next((v for v, reached in without_gate.items() if (c.file, c.line) not in reached), None),
            )
            for c in rust_source.binary_calls(base, entry, methods, providers=sdk.PROVIDERS)
            for action in sdk.iam_actions(c.crate, ops[c.crate][c.method])
        ]
    return out


def add_code_needs(principal: Principal, calls: list[Call], shared: bool = False) -> None:
    by_action: dict[str, list[str]] = {}
    for c in calls:
        by_action.setdefault(c.action, []).append(c.where)
    for action, wheres in sorted(by_action.items()):
        why = ", ".join(sorted(set(wheres))[:3]) + (" ..." if len(set(wheres)) > 3 else "")
        needs = [Need((action,), why)]
        needs += [Need(kms, f"KMS on behalf of {action}") for kms in [(k,) for k in KMS_REQUIRED.get(action, ())]]
        for alternatives in DEPENDENT.get(action, []):
            needs.append(Need(alternatives, f"with {action} (CodeDeploy permissions reference, note 1)"))
            principal.permitted.update(alternatives)
        principal.permitted.update(KMS_PERMITTED_FOR_SERVICE.get(action.split(":")[0], ()))
        (principal.shared_needs if shared else principal.needs).extend(needs)


def principals(deployment: Deployment, settings: list[Settings], calls: dict[str, list[Call]]) -> list[Principal]:
    out = []
    deployer_calls = calls["deployer"]
    workload_calls = [c for c in deployer_calls if not tooling_side(c)]
    tooling_calls = [c for c in deployer_calls if tooling_side(c)]
    tooling_roles: set[str] = set()
    artifacts: dict[str, str] = {}
    for s in settings:
        artifacts.update(s.artifacts)
        role = deployment.roles.get(s.deploy_role_arn)
        if role is None:
            continue  # this environment is not part of the applied root
        p = Principal(f"the deployer in {s.environment}", [role.arn])
        add_code_needs(p, workload_calls)
        out.append(p)
        tooling_roles.update(a for a in role.trusted_roles if a in deployment.roles)
    if tooling_roles:
        p = Principal("the deployer's tooling-side credentials (the roles the deploy roles trust)", sorted(tooling_roles))
        # Every one of them assumes deploy roles; the artifact store's reads and writes
        # are shared out by command (deploy uploads, promote downloads).
        for c in tooling_calls:
            if c.action == "sts:AssumeRole":
                p.needs.append(Need(("sts:AssumeRole",), c.where))
        add_code_needs(p, [c for c in tooling_calls if c.action != "sts:AssumeRole"], shared=True)
        p.permitted.update(a for n in p.shared_needs for a in n.any_of)
        out.append(p)

    for name, f in sorted(deployment.lambdas.items()):
        artifact = artifacts.get(name)
        if artifact is None:
            raise ValueError(f"Lambda function {name}: no deployer.yaml names it, so the check cannot tell what it runs")
        p = Principal(f"Lambda function {name} ({artifact})", [f["role"]])
        variables = next(iter(f.get("environment") or []), {}).get("variables") or {}
        add_code_needs(p, [c for c in calls[artifact] if c.gate is None or variables.get(c.gate, "").strip()])
        p.add(LAMBDA_LOGS[:1], "Lambda writes the function's logs")
        p.add(LAMBDA_LOGS[1:], "Lambda writes the function's logs")
        p.permitted.add("logs:CreateLogGroup")
        if any(t.get("mode") == "Active" for t in f.get("tracing_config", [])):
            for a in XRAY_WRITE:
                p.add((a,), "tracing is Active")
            p.permitted.update(XRAY_SAMPLING)
        if f.get("kms_key_arn"):
            p.permitted.add("kms:Decrypt")
        out.append(p)

    for role_arn in sorted({g["service_role_arn"] for g in deployment.deployment_groups}):
        groups = [g for g in deployment.deployment_groups if g["service_role_arn"] == role_arn]
        p = Principal(f"CodeDeploy ({', '.join(g['deployment_group_name'] for g in groups)})", [role_arn])
        for a in ("lambda:GetAlias", "lambda:UpdateAlias"):
            p.add((a,), "CodeDeploy shifts the live alias")
        p.add(("lambda:InvokeFunction",), "CodeDeploy invokes the lifecycle hooks")
        if any(alarm for g in groups for c in g.get("alarm_configuration", []) for alarm in c.get("alarms", [])):
            p.add(("cloudwatch:DescribeAlarms",), "CodeDeploy watches the group's alarms")
        p.permitted.update(CODEDEPLOY_PERMITTED)
        out.append(p)

    for sm in deployment.state_machines:
        p = Principal(f"Step Functions ({sm['name']})", [sm["role_arn"]])
        definition = json.loads(sm["definition"])
        if any(":lambda:" in str(s.get("Resource", "")) for s in task_states(definition)):
            p.add(("lambda:InvokeFunction",), "its definition's Lambda tasks")
        if any(c.get("level", "OFF") != "OFF" for c in sm.get("logging_configuration", [])):
            p.permitted.update(SFN_LOG_DELIVERY)
        if any(t.get("enabled") for t in sm.get("tracing_configuration", [])):
            for a in XRAY_WRITE:
                p.add((a,), "tracing is enabled")
            p.permitted.update(XRAY_SAMPLING)
        out.append(p)
    return out


def task_states(definition: dict):
    for state in definition.get("States", {}).values():
        if state.get("Type") == "Task":
            yield state
        for branch in state.get("Branches", []):
            yield from task_states(branch)
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from task_states(state[key])
