"""The AWS SDK for Rust's operations and the IAM actions that authorize them.

Each `aws-sdk-<service>` crate the workspace builds has one fluent-builder method per
operation on its client (`src/client/get_alias.rs`:
`pub fn get_alias(&self) -> crate::operation::get_alias::builders::GetAliasFluentBuilder`),
so the method names and operation names are read from the crates cargo resolved, not
listed here.

An operation is authorized by the IAM action of the same name in the service's
namespace, except for the few in OPERATION_ACTIONS.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

# The IAM service prefix of each SDK crate (the crate is aws-sdk-<key>).
SERVICE_PREFIX = {
    "cloudwatch": "cloudwatch",
    "cloudwatchlogs": "logs",
    "codedeploy": "codedeploy",
    "dynamodb": "dynamodb",
    "iam": "iam",
    "lambda": "lambda",
    "s3": "s3",
    "sfn": "states",
    "sns": "sns",
    "sqs": "sqs",
    "sts": "sts",
}

# Operations whose IAM action is not "<prefix>:<Operation>", and why. Sources: the
# Service Authorization Reference ("API operations" tables) and each API's reference.
OPERATION_ACTIONS = {
    # S3 authorizes object listing with the bucket-level action.
    ("s3", "ListObjectsV2"): ["s3:ListBucket"],
    # HeadObject is authorized by s3:GetObject. The deployer tells "not uploaded yet"
    # (404) from "denied" (403) by its answer, and S3 answers 404 for a missing key only
    # to a caller that may also s3:ListBucket (HeadObject API reference, "Permissions").
    ("s3", "HeadObject"): ["s3:GetObject", "s3:ListBucket"],
    # CopyObject reads the source and writes the destination (CopyObject API reference).
    ("s3", "CopyObject"): ["s3:GetObject", "s3:PutObject"],
    ("s3", "DeleteObjects"): ["s3:DeleteObject"],
    ("lambda", "Invoke"): ["lambda:InvokeFunction"],
    # "No permissions are required to perform this operation" (GetCallerIdentity API
    # reference): even an explicit deny does not stop it.
    ("sts", "GetCallerIdentity"): [],
}


# Calls that no fluent builder shows: credential providers the code builds, which call
# AWS themselves (and again each time they refresh). aws-config's AssumeRoleProvider
# calls sts:AssumeRole.
PROVIDERS = {"AssumeRoleProvider::builder": ("sts", "assume_role")}


def snake_to_camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def sdk_crates(workspace: Path) -> dict[str, Path]:
    """service -> source folder of the aws-sdk-<service> crate in Cargo.lock, as cargo
    unpacked it for the build (CARGO_HOME/registry/src/<index>/<name>-<version>)."""
    lock = (workspace / "Cargo.lock").read_text()
    cargo_home = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))
    crates = {}
    for name, version in re.findall(r'name = "aws-sdk-(\w+)"\nversion = "([^"]+)"', lock):
        if name not in SERVICE_PREFIX:
            continue
        found = sorted(cargo_home.glob(f"registry/src/*/aws-sdk-{name}-{version}/src"))
        if not found:
            raise RuntimeError(
                f"aws-sdk-{name} {version} is not unpacked under {cargo_home}/registry/src: build the workspace first"
            )
        crates[name] = found[0]
    return crates


def operations(crate_src: Path) -> dict[str, str]:
    """Fluent-builder method -> operation name, read from the crate's client."""
    ops = {}
    # rustfmt wraps the long ones: `pub fn name(\n    &self,\n) -> crate::...`.
    pattern = re.compile(r"pub fn (\w+)\(\s*&self,?\s*\)\s*->\s*crate::operation::\w+::builders::(\w+)FluentBuilder")
    for path in sorted((crate_src / "client").glob("*.rs")):
        for method, op in pattern.findall(path.read_text()):
            ops[method] = op
    if not ops:
        raise RuntimeError(f"no operations found in {crate_src}/client: has the SDK's layout changed?")
    return ops


def iam_actions(service: str, operation: str) -> list[str]:
    """The IAM actions that authorize `operation` of SDK crate `service`."""
    if (service, operation) in OPERATION_ACTIONS:
        return OPERATION_ACTIONS[(service, operation)]
    return [f"{SERVICE_PREFIX[service]}:{operation}"]


def crate_dependencies(workspace: Path, folder: str) -> set[str]:
    """The SDK services the crates under `folder` depend on (their Cargo.toml)."""
    services = set()
    for manifest in (workspace / folder).rglob("Cargo.toml"):
        if "target" in manifest.parts:
            continue
        services.update(m for m in re.findall(r"^aws-sdk-(\w+)", manifest.read_text(), re.M) if m in SERVICE_PREFIX)
    return services
