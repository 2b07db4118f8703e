"""Unit tests of the IAM check's parts, on small made-up inputs (tests/e2e/tests/iam.rs
runs them with the pinned policy-sentry: python -m unittest discover tests/e2e/iam)."""

from __future__ import annotations

import json
import tempfile
import unittest
from pathlib import Path

import check_iam
import deployment
import reference
import requirements
import rust_source

SDK = {"lambda": {"get_alias", "invoke", "list_versions_by_function"}, "codedeploy": {"stop_deployment"}}

LIBRARY = """
pub enum Hook { Pre, Post }

/// `.get_alias()` in a comment is not a call; nor is "client.invoke().send()" in a string.
pub async fn serve(hook: Hook, c: &Client) {
    let text = "c.invoke().send()";
    match hook {
        Hook::Pre => pre(c).await,
        Hook::Post => {
            post(c).await
        }
    }
}

async fn pre(c: &Client) {
    c.lambda.invoke().function_name("f").send().await;
    // Built but never sent: not a call.
    let unsent = c.lambda.list_versions_by_function().function_name("f");
}

async fn post(c: &Client) {
    let pages = c.lambda.list_versions_by_function().function_name("f").into_paginator().send();
    writer.finish();
}

impl Ledger {
    async fn finish(&self, run: &str, status: &str) {
        self.codedeploy.stop_deployment().deployment_id(run).send().await;
    }
}

#[cfg(test)]
mod tests {
    async fn mocked(c: &Client) { c.lambda.get_alias().send().await; }
}
"""


class RustSourceTests(unittest.TestCase):
    def setUp(self):
        self.dir = Path(tempfile.mkdtemp())
        (self.dir / "src" / "bin").mkdir(parents=True)
        (self.dir / "src" / "lib.rs").write_text(LIBRARY)
        for name, variant in [("pre", "Pre"), ("post", "Post")]:
            (self.dir / "src" / "bin" / f"{name}.rs").write_text(
                f"#[tokio::main]\nasync fn main() {{ lib::serve(lib::Hook::{variant}, &client()).await }}\n"
            )
        self.base = rust_source.CodeBase.load(self.dir)

    def calls(self, binary):
        return {(c.crate, c.method) for c in rust_source.binary_calls(self.base, self.dir / "src" / "bin" / f"{binary}.rs", SDK)}

    def test_a_binary_follows_only_its_own_match_arm(self):
        self.assertEqual(self.calls("pre"), {("lambda", "invoke")})

    def test_sent_and_paginated_calls_count_and_comments_strings_tests_do_not(self):
        self.assertEqual(self.calls("post"), {("lambda", "list_versions_by_function")})

    def test_a_method_is_followed_only_with_as_many_arguments(self):
        # writer.finish() (no argument) is not Ledger::finish(run, status).
        self.assertNotIn(("codedeploy", "stop_deployment"), self.calls("post"))

    def test_skipped_functions_are_not_followed(self):
        main = self.dir / "src" / "bin" / "post.rs"
        self.assertEqual(rust_source.binary_calls(self.base, main, SDK, frozenset({"post"})), [])

    def test_a_builder_handed_to_a_sending_macro_is_a_call(self):
        (self.dir / "src" / "lib.rs").write_text(
            LIBRARY
            + """
macro_rules! send {
    ($ctx:expr, $op:expr) => {{ $ctx.meter.time($op.customize().send()).await }};
}

pub async fn sent_by_macro(c: &Client) {
    let out = send!(c, c.lambda.get_alias().function_name("f").name("live"));
    let provider = AssumeRoleProvider::builder("arn:aws:iam::1:role/r").build().await;
}
"""
        )
        (self.dir / "src" / "bin" / "macro.rs").write_text("async fn main() { lib::sent_by_macro(&client()).await }\n")
        base = rust_source.CodeBase.load(self.dir)
        calls = rust_source.binary_calls(
            base, self.dir / "src" / "bin" / "macro.rs", SDK, providers={"AssumeRoleProvider::builder": ("sts", "assume_role")}
        )
        self.assertEqual({(c.crate, c.method) for c in calls}, {("lambda", "get_alias"), ("sts", "assume_role")})

    def test_an_operation_of_two_services_is_told_apart_by_its_client(self):
        # `c.lambda.invoke()`: the client is named after the lambda crate.
        sdk = {**SDK, "codedeploy": {"invoke", "stop_deployment"}}
        calls = rust_source.binary_calls(self.base, self.dir / "src" / "bin" / "pre.rs", sdk)
        self.assertEqual({(c.crate, c.method) for c in calls}, {("lambda", "invoke")})

    def test_an_operation_of_two_services_on_another_client_is_refused(self):
        with self.assertRaisesRegex(ValueError, "sfn and codedeploy"):
            rust_source.binary_calls(
                self.base, self.dir / "src" / "bin" / "pre.rs", {"sfn": {"invoke"}, "codedeploy": {"invoke"}}
            )


class ReferenceTests(unittest.TestCase):
    def test_actions_without_resource_types_fit_star_only(self):
        stop = reference.action("codedeploy:StopDeployment")
        self.assertFalse(stop.resource_level)
        self.assertTrue(reference.resource_fits(stop, "*"))
        self.assertFalse(
            reference.resource_fits(stop, "arn:aws:codedeploy:us-east-1:111111111111:deploymentgroup:etl-dev/etl-dev-load")
        )

    def test_actions_with_resource_types_fit_their_arns_not_star(self):
        get = reference.action("codedeploy:GetDeployment")
        self.assertTrue(reference.resource_fits(get, "arn:aws:codedeploy:us-east-1:111111111111:deploymentgroup:a/b"))
        self.assertFalse(reference.resource_fits(get, "arn:aws:codedeploy:us-east-1:111111111111:application:a"))
        self.assertFalse(reference.resource_fits(get, "*"))
        streams = reference.action("logs:PutLogEvents")
        self.assertTrue(reference.resource_fits(streams, "arn:aws:logs:us-east-1:1:log-group:/aws/lambda/f:*"))
        provisioned = reference.action("lambda:GetProvisionedConcurrencyConfig")
        self.assertFalse(reference.resource_fits(provisioned, "arn:aws:lambda:us-east-1:1:function:f"))
        self.assertTrue(reference.resource_fits(provisioned, "arn:aws:lambda:us-east-1:1:function:f:*"))

    def test_unknown_actions_are_refused(self):
        with self.assertRaises(KeyError):
            reference.action("codedeploy:StopEverything")


def state(policies: dict[str, list[dict]]) -> dict:
    """A minimal `terraform show -json` with one role per entry and its policy."""
    resources = []
    for name, statements in policies.items():
        arn = f"arn:aws:iam::111111111111:role/{name}"
        trust = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
        resources.append(
            {"address": f"aws_iam_role.{name}", "mode": "managed", "type": "aws_iam_role",
             "values": {"name": name, "arn": arn, "assume_role_policy": json.dumps(trust)}}
        )
        resources.append(
            {"address": f"aws_iam_role_policy.{name}", "mode": "managed", "type": "aws_iam_role_policy",
             "values": {"role": name, "policy": json.dumps({"Version": "2012-10-17", "Statement": statements})}}
        )
    resources.append(
        {"address": "aws_lambda_function.hook", "mode": "managed", "type": "aws_lambda_function",
         "values": {"function_name": "hook", "role": "arn:aws:iam::111111111111:role/hook", "tracing_config": [{"mode": "PassThrough"}]}}
    )
    return {"values": {"root_module": {"resources": resources}}}


LOGS = {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": "arn:aws:logs:us-east-1:111111111111:log-group:/aws/lambda/hook:*"}
REPORT = {"Sid": "Report", "Effect": "Allow", "Action": "codedeploy:PutLifecycleEventHookExecutionStatus", "Resource": "*"}


class CheckTests(unittest.TestCase):
    def findings(self, statements):
        path = Path(tempfile.mkdtemp()) / "state.json"
        path.write_text(json.dumps(state({"hook": statements})))
        dep = deployment.load(path)
        calls = {"pre-traffic": [requirements.Call("codedeploy:PutLifecycleEventHookExecutionStatus", "hooks/src/aws.rs:1 (report)")]}
        settings = [deployment.Settings("dev", "arn:aws:iam::111111111111:role/deployer", {"hook": "pre-traffic"})]
        return check_iam.check(dep, requirements.principals(dep, settings, {"deployer": [], **calls}))[0]

    def test_exactly_what_is_called_passes(self):
        self.assertEqual(self.findings([LOGS, REPORT]), [])

    def test_a_missing_call_is_found(self):
        (finding,) = self.findings([LOGS])
        self.assertIn("calls codedeploy:PutLifecycleEventHookExecutionStatus (hooks/src/aws.rs:1 (report))", finding)

    def test_a_grant_iam_ignores_is_found(self):
        narrowed = {**REPORT, "Resource": "arn:aws:codedeploy:us-east-1:111111111111:deploymentgroup:etl-dev/etl-dev-load"}
        findings = "\n".join(self.findings([LOGS, narrowed]))
        self.assertIn("which no statement grants on \"*\"", findings)
        self.assertIn("which IAM does not authorize it on", findings)

    def test_an_unused_grant_is_found(self):
        extra = {"Sid": "Extra", "Effect": "Allow", "Action": "lambda:DeleteAlias", "Resource": "arn:aws:lambda:us-east-1:111111111111:function:x"}
        (finding,) = self.findings([LOGS, REPORT, extra])
        self.assertIn("grants lambda:DeleteAlias, which nothing that runs as it", finding)

    def test_a_wildcard_action_is_found(self):
        (finding,) = self.findings([LOGS, {**REPORT, "Action": "codedeploy:*"}])
        self.assertIn("wildcard action codedeploy:*", finding)


ROUTED = {
    "StartAt": "ReadRouting",
    "States": {
        "ReadRouting": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem", "Next": "Work"},
        "Work": {
            "Type": "Map",
            "Iterator": {"StartAt": "One", "States": {"One": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True}}},
            "End": True,
        },
    },
}
SM_ROLE = "arn:aws:iam::111111111111:role/sm"
INVOKE = deployment.Statement("Invoke", "Allow", ["lambda:InvokeFunction"], ["arn:aws:lambda:us-east-1:111111111111:function:f:*"])
READ = deployment.Statement("Read", "Allow", ["dynamodb:GetItem"], ["arn:aws:dynamodb:us-east-1:111111111111:table/etl-dev-releases"])
KEY = deployment.Statement("Key", "Allow", ["kms:Decrypt"], ["arn:aws:kms:us-east-1:111111111111:key/k"])


class StateMachineTests(unittest.TestCase):
    def deployment(self, definition, statements=()):
        role = deployment.Role("aws_iam_role.sm", "sm", SM_ROLE, list(statements))
        machine = {"name": "etl", "role_arn": SM_ROLE, "definition": json.dumps(definition)}
        return deployment.Deployment({SM_ROLE: role}, {}, [], [machine], [])

    def principal(self, definition):
        (p,) = requirements.principals(self.deployment(definition), [], {"deployer": []})
        return p

    def test_each_integration_is_the_action_aws_documents_for_it(self):
        p = self.principal(ROUTED)
        self.assertEqual({n.any_of for n in p.needs}, {("dynamodb:GetItem",), ("lambda:InvokeFunction",)})
        self.assertIn("kms:Decrypt", p.permitted, "a table under a customer managed key")

    def test_a_lambda_arn_as_resource_is_an_invoke(self):
        old_form = {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:111111111111:function:f:live", "End": True}}}
        self.assertEqual({n.any_of for n in self.principal(old_form).needs}, {("lambda:InvokeFunction",)})

    def test_an_integration_the_check_does_not_know_is_refused(self):
        queue = {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": True}}}
        with self.assertRaisesRegex(ValueError, "sqs:sendMessage.*SFN_INTEGRATIONS"):
            self.principal(queue)

    def test_the_routing_read_must_be_granted(self):
        def findings(statements):
            dep = self.deployment(ROUTED, statements)
            return check_iam.check(dep, requirements.principals(dep, [], {"deployer": []}))[0]

        self.assertEqual(findings([INVOKE, READ, KEY]), [])
        (finding,) = findings([INVOKE, KEY])
        self.assertIn("calls dynamodb:GetItem (its definition's Tasks)", finding)


if __name__ == "__main__":
    unittest.main()
