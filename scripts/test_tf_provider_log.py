"""Unit tests for tf_provider_log.py, on records shaped like the provider's debug log."""

import io
import os
import sys
import tempfile
import unittest
from contextlib import redirect_stderr, redirect_stdout

sys.path.insert(0, os.path.dirname(__file__))

import tf_provider_log  # noqa: E402

PREFIX = "[DEBUG] provider.terraform-provider-aws_v5.100.0_x5:"


def sent(time, req, operation, resource="aws_lambda_function"):
    return (
        f"2026-12-01T{time}Z {PREFIX} HTTP Request Sent: rpc.method={operation} rpc.service=Lambda "
        f"tf_req_id={req} tf_resource_type={resource} http.method=POST\n"
        "  http.request.body=\n  | {\"FunctionName\":\"etl-dev-load\"}\n"
        f"   timestamp=2026-12-01T{time}Z\n"
    )


def received(time, req, operation, status, duration, error=None, resource="aws_lambda_function"):
    body = f'{{"__type":"{error}","message":"no"}}' if error else '{"FunctionName":"etl-dev-load"}'
    return (
        f"2026-12-01T{time}Z {PREFIX} HTTP Response Received: rpc.method={operation} rpc.service=Lambda "
        f"tf_req_id={req} tf_resource_type={resource} http.duration={duration}\n"
        f"  http.response.body=\n  | {body}\n"
        f"   http.status_code={status} timestamp=2026-12-01T{time}Z\n"
    )


def lines(*records):
    return io.StringIO("".join(records)).readlines()


class DigestTest(unittest.TestCase):
    def test_a_create_whose_reply_failed_and_whose_retry_found_it_made_is_shown(self):
        digest = tf_provider_log.digest(lines(
            sent("03:18:08.074", "a", "CreateFunction"),
            received("03:18:38.159", "a", "CreateFunction", 500, 30085, "ServiceException"),
            sent("03:18:39.000", "a", "CreateFunction"),
            received("03:18:39.050", "a", "CreateFunction", 409, 50, "ResourceConflictException"),
        ))
        self.assertEqual(digest[0], "1 AWS calls, 2 requests; 1 went wrong on the wire")
        self.assertEqual(digest[1:], [
            "  aws_lambda_function CreateFunction: 2 requests",
            "    03:18:38.159  500 ServiceException after 30085 ms",
            "    03:18:39.050  409 ResourceConflictException after 50 ms",
        ])

    def test_a_reply_answers_the_latest_request_of_its_call(self):
        digest = tf_provider_log.digest(lines(
            sent("03:45:30.839", "a", "CreateFunction"),
            sent("03:45:30.962", "a", "CreateFunction"),
            received("03:45:30.963", "a", "CreateFunction", 409, 2, "ResourceConflictException"),
        ))
        self.assertEqual(digest[1:], [
            "  aws_lambda_function CreateFunction: 2 requests",
            "    03:45:30.839  sent, no reply logged",
            "    03:45:30.963  409 ResourceConflictException after 2 ms",
        ])

    def test_a_request_with_no_reply_is_shown_as_such(self):
        digest = tf_provider_log.digest(lines(
            sent("03:18:08.074", "a", "CreateFunction"),
            sent("03:18:08.080", "b", "CreateFunction"),
            received("03:18:08.100", "b", "CreateFunction", 201, 20),
        ))
        self.assertEqual(digest[1:], [
            "  aws_lambda_function CreateFunction: 1 requests",
            "    03:18:08.074  sent, no reply logged",
        ])

    def test_quick_answers_and_a_single_not_found_are_only_counted(self):
        digest = tf_provider_log.digest(lines(
            sent("03:18:08.074", "a", "GetFunction"),
            received("03:18:08.080", "a", "GetFunction", 404, 6, "ResourceNotFoundException"),
            sent("03:18:08.090", "b", "CreateFunction"),
            received("03:18:08.100", "b", "CreateFunction", 201, 10),
        ))
        self.assertEqual(digest, ["2 AWS calls, 2 requests; 0 went wrong on the wire"])

    def test_a_slow_reply_and_a_throttle_are_shown(self):
        digest = tf_provider_log.digest(lines(
            sent("03:18:08.000", "a", "CreateFunction"),
            received("03:18:14.000", "a", "CreateFunction", 201, 6000),
            sent("03:18:08.000", "b", "CreateTable", "aws_dynamodb_table"),
            received("03:18:08.010", "b", "CreateTable", 429, 10, "ThrottlingException", "aws_dynamodb_table"),
            sent("03:18:09.000", "b", "CreateTable", "aws_dynamodb_table"),
            received("03:18:09.010", "b", "CreateTable", 200, 10, resource="aws_dynamodb_table"),
        ))
        self.assertEqual(digest[0], "2 AWS calls, 3 requests; 2 went wrong on the wire")
        self.assertIn("    03:18:14.000  201 after 6000 ms", digest)
        self.assertIn("    03:18:08.010  429 ThrottlingException after 10 ms", digest)

    def test_a_long_retry_keeps_its_first_and_last_requests(self):
        records = [sent("03:18:00.000", "a", "CreateFunction")]
        records.append(received("03:18:00.100", "a", "CreateFunction", 503, 100, "ServiceUnavailable"))
        for second in range(10, 40):
            records.append(sent(f"03:18:{second}.000", "a", "CreateFunction"))
            records.append(received(f"03:18:{second}.050", "a", "CreateFunction", 409, 50, "ResourceConflictException"))
        digest = tf_provider_log.digest(lines(*records))
        self.assertEqual(digest[1], "  aws_lambda_function CreateFunction: 31 requests")
        self.assertEqual(digest[2], "    03:18:00.100  503 ServiceUnavailable after 100 ms")
        self.assertEqual(digest[3], "    03:18:10.050  409 ResourceConflictException after 50 ms")
        self.assertEqual(digest[4], f"    ({31 - tf_provider_log.MAX_ATTEMPTS} requests in between not shown)")
        self.assertEqual(digest[-1], "    03:18:39.050  409 ResourceConflictException after 50 ms")
        self.assertEqual(len(digest), 4 + tf_provider_log.MAX_ATTEMPTS - 1)

    def test_a_lost_reply_followed_by_a_conflict_is_its_own_verdict(self):
        found = tf_provider_log.calls(lines(
            sent("04:21:22.113", "a", "CreateAlias", "aws_kms_alias"),
            sent("04:21:22.191", "a", "CreateAlias", "aws_kms_alias"),
            received("04:21:22.202", "a", "CreateAlias", 400, 9, "AlreadyExistsException", "aws_kms_alias"),
            sent("04:21:23.000", "b", "CreateRole", "aws_iam_role"),
            received("04:21:23.010", "b", "CreateRole", 409, 5, "EntityAlreadyExists", "aws_iam_role"),
        ))
        verdicts = [call.lost_reply_then_conflict() for call in found.values()]
        # The role's conflict had no lost reply before it: a real conflict, not this.
        self.assertEqual(verdicts, [True, False])

    def test_a_lost_reply_whose_retry_succeeded_is_not_a_conflict(self):
        found = tf_provider_log.calls(lines(
            sent("04:21:22.113", "a", "GetFunction"),
            sent("04:21:22.191", "a", "GetFunction"),
            received("04:21:22.202", "a", "GetFunction", 200, 9),
            sent("04:21:23.000", "b", "CreateTable", "aws_dynamodb_table"),
            sent("04:21:23.100", "b", "CreateTable", "aws_dynamodb_table"),
            received("04:21:23.110", "b", "CreateTable", 400, 5, "ValidationException", "aws_dynamodb_table"),
        ))
        self.assertEqual([call.lost_reply_then_conflict() for call in found.values()], [False, False])

    def test_main_exits_3_on_a_lost_reply_and_names_the_call(self):
        with tempfile.TemporaryDirectory() as scratch:
            log = os.path.join(scratch, "provider.log")
            with open(log, "w", encoding="utf-8") as out:
                out.write(sent("04:21:22.113", "a", "CreateTable", "aws_dynamodb_table"))
                out.write(sent("04:21:22.191", "a", "CreateTable", "aws_dynamodb_table"))
                out.write(received("04:21:22.202", "a", "CreateTable", 400, 9, "ResourceInUseException",
                                   "aws_dynamodb_table"))
            stdout = io.StringIO()
            with redirect_stdout(stdout):
                code = tf_provider_log.main(["tf_provider_log.py", log])
        self.assertEqual(code, tf_provider_log.LOST_REPLY)
        self.assertIn("lost reply: aws_dynamodb_table CreateTable was applied", stdout.getvalue())

    def test_an_unreadable_log_is_named_with_its_own_exit_code(self):
        with tempfile.TemporaryDirectory() as scratch:
            missing = os.path.join(scratch, "provider.log")
            stderr = io.StringIO()
            with redirect_stderr(stderr):
                code = tf_provider_log.main(["tf_provider_log.py", missing])
        self.assertEqual(code, 66)
        self.assertIn(missing, stderr.getvalue())


if __name__ == "__main__":
    unittest.main()
