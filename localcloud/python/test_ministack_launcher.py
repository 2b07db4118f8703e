"""Tests of the launcher's seam: a fake localcloud (a loopback HTTP server) answers the
invokes, and ministack's own stepfunctions module runs the Task dispatch around them.

Run: .venv/bin/python -m unittest discover -s localcloud/python
(localcloud/tests/launcher.rs runs it as part of the Rust suite).
"""

import asyncio
import http.server
import json
import socket
import threading
import types
import unittest

import ministack_launcher as launcher


class FakeLocalcloud(http.server.ThreadingHTTPServer):
    """Records each request and answers with the next canned (status, headers, body)."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests = []
        self.answers = []
        self.thread = threading.Thread(target=self.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    @property
    def endpoint(self):
        return launcher.Endpoint(f"http://127.0.0.1:{self.server_address[1]}")

    def stop(self):
        self.shutdown()
        self.server_close()


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        self.server.requests.append((self.path, dict(self.headers), body))
        status, headers, answer = self.server.answers.pop(0)
        if answer is None:
            # No answer at all: the connection closes, as localcloud's lost_reply does.
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def payload(value):
    return json.dumps(value).encode()


class TaskResultTests(unittest.TestCase):
    def test_a_result_is_the_parsed_payload(self):
        self.assertEqual(launcher.task_result(200, {}, payload({"n": 4})), {"n": 4})
        self.assertEqual(launcher.task_result(200, {}, b"null"), None)
        self.assertEqual(launcher.task_result(200, {}, b"not json"), "not json")

    def test_a_function_error_keeps_ministacks_error_and_cause(self):
        error = {"errorType": "ValueError", "errorMessage": "bad input"}
        with self.assertRaises(launcher.TaskFailure) as raised:
            launcher.task_result(200, {"x-amz-function-error": "Unhandled"}, payload(error))
        self.assertEqual(raised.exception.error, "ValueError")
        # json.dumps of the payload, as stepfunctions._call_lambda builds the Cause.
        self.assertEqual(raised.exception.cause, '{"errorType": "ValueError", "errorMessage": "bad input"}')
        with self.assertRaises(launcher.TaskFailure) as raised:
            launcher.task_result(200, {"x-amz-function-error": "Unhandled"}, payload({"errorMessage": "x"}))
        self.assertEqual(raised.exception.error, "Lambda.Unknown")

    def test_service_errors_are_named_as_step_functions_names_them(self):
        cases = [
            (429, {"x-amzn-errortype": "TooManyRequestsException"}, payload({"Type": "User", "message": "Rate exceeded"}),
             "Lambda.TooManyRequestsException", "Rate exceeded"),
            (404, {}, payload({"__type": "ResourceNotFoundException", "message": "Function not found: calc"}),
             "Lambda.ResourceNotFoundException", "Function not found: calc"),
            (500, {}, b"", "Lambda.ServiceException", "Status Code: 500"),
            (400, {}, payload({"Type": "User"}), "Lambda.AWSLambdaException", "Status Code: 400"),
        ]
        for status, headers, body, error, in_cause in cases:
            with self.subTest(status=status), self.assertRaises(launcher.TaskFailure) as raised:
                launcher.task_result(status, headers, body)
            self.assertEqual(raised.exception.error, error)
            self.assertIn(in_cause, raised.exception.cause)

    def test_the_endpoint_must_be_an_http_address(self):
        for bad in ["", "127.0.0.1:4566", "https://127.0.0.1:4566", "http://127.0.0.1"]:
            with self.subTest(url=bad), self.assertRaises(ValueError) as raised:
                launcher.Endpoint(bad)
            self.assertIn(launcher.ENDPOINT_ENV, str(raised.exception))


class SeamTests(unittest.TestCase):
    """The launcher installed into ministack's real stepfunctions module."""

    def setUp(self):
        from ministack.services import stepfunctions

        self.sfn = stepfunctions
        self.saved = (stepfunctions._call_lambda, stepfunctions._invoke_resource)
        self.cloud = FakeLocalcloud()
        launcher.install(stepfunctions, self.cloud.endpoint)

    def tearDown(self):
        self.sfn._call_lambda, self.sfn._invoke_resource = self.saved
        self.cloud.stop()

    def answer(self, version, value, function_error=None):
        headers = {"Content-Type": "application/json", "X-Amz-Executed-Version": version}
        if function_error:
            headers["X-Amz-Function-Error"] = function_error
        self.cloud.answers.append((200, headers, payload(value)))

    def test_lambda_invoke_goes_through_localcloud_and_reports_the_executed_version(self):
        self.answer("2", {"result": 4})
        result = self.sfn._invoke_resource(
            "arn:aws:states:::lambda:invoke", {"FunctionName": "calc:live", "Payload": {"n": 2}}
        )
        self.assertEqual(result, {"ExecutedVersion": "2", "StatusCode": 200, "Payload": {"result": 4}})
        path, headers, body = self.cloud.requests[0]
        self.assertEqual(path, "/2015-03-31/functions/calc%3Alive/invocations")
        self.assertEqual(json.loads(body), {"n": 2})
        # The execution's account (ministack's default outside a request) names the caller.
        self.assertIn("Credential=000000000000/", headers["Authorization"])
        self.assertIn("/us-east-1/lambda/aws4_request", headers["Authorization"])
        self.assertEqual(headers["X-Amz-Invocation-Type"], "RequestResponse")

    def test_a_lambda_arn_resource_returns_the_bare_payload(self):
        self.answer("1", {"result": 4})
        arn = "arn:aws:lambda:us-east-1:000000000000:function:calc:live"
        self.assertEqual(self.sfn._invoke_resource(arn, {"n": 2}), {"result": 4})
        self.assertEqual(
            self.cloud.requests[0][0],
            "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Acalc%3Alive/invocations",
        )

    def test_a_function_error_fails_the_task(self):
        self.answer("1", {"errorType": "&str", "errorMessage": "broken"}, function_error="Unhandled")
        with self.assertRaises(self.sfn._ExecutionError) as raised:
            self.sfn._invoke_resource("arn:aws:states:::lambda:invoke", {"FunctionName": "calc"})
        self.assertEqual((raised.exception.error, raised.exception.cause),
                         ("&str", '{"errorType": "&str", "errorMessage": "broken"}'))

    def test_no_answer_is_an_sdk_client_exception(self):
        self.cloud.answers.append((0, {}, None))
        with self.assertRaises(self.sfn._ExecutionError) as raised:
            self.sfn._invoke_resource("arn:aws:states:::lambda:invoke", {"FunctionName": "calc"})
        self.assertEqual(raised.exception.error, "Lambda.SdkClientException")

    def test_other_integrations_are_left_alone(self):
        with self.assertRaises(self.sfn._ExecutionError) as raised:
            self.sfn._invoke_resource("arn:aws:states:::nosuchservice:doIt", {})
        self.assertIn("not yet implemented in MiniStack", raised.exception.cause)
        self.assertEqual(self.cloud.requests, [], "nothing reached localcloud")


class SimulatorTests(unittest.TestCase):
    """IAM's simulator with ministack's own evaluator: every resource, and the context."""

    POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::raw",
         "Condition": {"StringEquals": {"s3:prefix": "dt=", "s3:delimiter": "/"}}},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::out/dt=*"},
    ]})

    def results(self, actions, resources, context):
        from ministack.core import iam_evaluator

        policies = [iam_evaluator.parse_policy_document(self.POLICY)]
        request = launcher.SimulateRequest(actions, resources, context)
        return launcher.simulate_results(request, "arn:aws:iam::1:role/r", "1", policies, iam_evaluator, "us-east-1")

    def test_a_conditioned_grant_matches_only_with_its_context_keys(self):
        allowed = self.results(["s3:ListBucket"], ["arn:aws:s3:::raw"], {"s3:prefix": "dt=", "s3:delimiter": "/"})
        self.assertIn("<EvalDecision>allowed</EvalDecision>", allowed)
        bare = self.results(["s3:ListBucket"], ["arn:aws:s3:::raw"], {})
        self.assertIn("<EvalDecision>implicitDeny</EvalDecision>", bare)
        other = self.results(["s3:ListBucket"], ["arn:aws:s3:::raw"], {"s3:prefix": "", "s3:delimiter": "/"})
        self.assertIn("<EvalDecision>implicitDeny</EvalDecision>", other)

    def test_every_resource_is_evaluated(self):
        answer = self.results(["s3:GetObject"], ["arn:aws:s3:::out/dt=1/a", "arn:aws:s3:::out/x"], {})
        self.assertIn("<ResourceSpecificResults>", answer)
        self.assertIn(
            "<EvalResourceName>arn:aws:s3:::out/dt=1/a</EvalResourceName><EvalResourceDecision>allowed", answer
        )
        self.assertIn(
            "<EvalResourceName>arn:aws:s3:::out/x</EvalResourceName><EvalResourceDecision>implicitDeny", answer
        )
        self.assertIn("<EvalDecision>implicitDeny</EvalDecision>", answer, "not every resource is allowed")

    def test_the_actions_decision_is_its_most_restrictive_resources(self):
        from ministack.core import iam_evaluator

        deny = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::out/*"},
            {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::out/secret"},
        ]})
        policies = [iam_evaluator.parse_policy_document(deny)]
        request = launcher.SimulateRequest(
            ["s3:GetObject"], ["arn:aws:s3:::other/x", "arn:aws:s3:::out/secret", "arn:aws:s3:::out/a"], {}
        )
        answer = launcher.simulate_results(request, "arn:aws:iam::1:role/r", "1", policies, iam_evaluator, "us-east-1")
        self.assertIn("<EvalDecision>explicitDeny</EvalDecision>", answer, "an explicit deny outranks an implicit one")

    def test_the_request_is_read_as_the_query_protocol_sends_it(self):
        params = {
            "ActionNames.member.1": "s3:ListBucket",
            "ResourceArns.member.1": "arn:aws:s3:::a",
            "ResourceArns.member.2": "arn:aws:s3:::b",
            "ContextEntries.member.1.ContextKeyName": "s3:Prefix",
            "ContextEntries.member.1.ContextKeyValues.member.1": "dt=",
            "ContextEntries.member.1.ContextKeyType": "string",
        }
        request = launcher.simulate_request(params, lambda p, name: p.get(name))
        self.assertEqual(request.actions, ["s3:ListBucket"])
        self.assertEqual(request.resources, ["arn:aws:s3:::a", "arn:aws:s3:::b"])
        self.assertEqual(request.context, {"s3:prefix": "dt="})


class InstallTests(unittest.TestCase):
    def test_a_ministack_without_the_seam_is_refused(self):
        stranger = types.SimpleNamespace(_invoke_resource=lambda r, i: i)
        with self.assertRaises(RuntimeError) as raised:
            launcher.install(stranger, launcher.Endpoint("http://127.0.0.1:9"))
        self.assertIn("_call_lambda", str(raised.exception))

    def test_a_ministack_without_the_simulator_seam_is_refused(self):
        with self.assertRaises(RuntimeError) as raised:
            launcher.install_simulator(types.SimpleNamespace(_p=None), None)
        self.assertIn("_extract_simulate_params", str(raised.exception))

    def test_the_server_keeps_idle_connections_as_long_as_localcloud_says(self):
        started = []

        async def serve(app, config):
            started.append((app, config.keep_alive_timeout))

        hypercorn_asyncio = types.SimpleNamespace(serve=serve)
        launcher.install_keep_alive(hypercorn_asyncio, 75.0)
        # ministack's main() sets its own value on the config before it serves.
        config = types.SimpleNamespace(keep_alive_timeout=5)
        asyncio.run(hypercorn_asyncio.serve("app", config))
        self.assertEqual(started, [("app", 75.0)])

    def test_a_hypercorn_without_serve_is_refused(self):
        with self.assertRaises(RuntimeError) as raised:
            launcher.install_keep_alive(types.SimpleNamespace(), 75.0)
        self.assertIn("serve", str(raised.exception))

    def test_the_keep_alive_must_be_a_positive_number_of_seconds(self):
        self.assertEqual(launcher.keep_alive_seconds("75"), 75.0)
        for bad in ("", "0", "-3", "soon", "nan"):
            with self.assertRaises(ValueError) as raised:
                launcher.keep_alive_seconds(bad)
            self.assertIn(launcher.KEEP_ALIVE_ENV, str(raised.exception))

    def test_main_refuses_a_missing_endpoint(self):
        import os
        from unittest import mock

        with mock.patch.dict(os.environ, {launcher.ENDPOINT_ENV: ""}), \
                mock.patch("sys.stderr") as stderr:
            self.assertEqual(launcher.main(), 2)
        written = "".join(call.args[0] for call in stderr.write.call_args_list)
        self.assertIn(launcher.ENDPOINT_ENV, written)


if __name__ == "__main__":
    unittest.main()
