"""Starts ministack for localcloud, with Step Functions' Lambda calls sent through localcloud.

ministack runs a Task state's Lambda call in process: ``stepfunctions._call_lambda``
hands the event to ``lambda_svc`` directly. Such an invoke never reaches localcloud, so
alias weights are not drawn (ministack always runs an alias's primary version), the
per-version CloudWatch metrics do not count it, and fault injection does not reach it.

This launcher changes that one seam, and nothing else, before it runs ministack's own
``main()``:

* ``stepfunctions._call_lambda(func_ref, event)`` becomes an HTTP ``Invoke`` on
  localcloud's public endpoint (``LOCALCLOUD_LAMBDA_ENDPOINT``), signed for the account
  and region the execution runs in (ministack reads a 12-digit access key as the
  account). A function error fails the task with the same Error (the ``errorType``) and
  Cause (the error payload as JSON) as the in-process call did; a Lambda service error
  fails it with ``Lambda.<code>``, and a call that got no answer with
  ``Lambda.SdkClientException``, the names Step Functions reports on AWS
  (Step Functions developer guide, "Handling transient Lambda service exceptions").
* ``stepfunctions._invoke_resource`` adds ``ExecutedVersion`` to the result of
  ``arn:aws:states:::lambda:invoke``, as AWS does (``{"ExecutedVersion", "Payload",
  "StatusCode", ...}``, Step Functions developer guide, "Invoke Lambda with Step
  Functions"), taken from the ``X-Amz-Executed-Version`` header of the invoke.

And one seam of IAM's policy simulator (``iam._extract_simulate_params`` and
``iam._build_simulate_results_real``), which ministack evaluates against the first of
the ``ResourceArns`` only and without the request's ``ContextEntries``: the launcher
evaluates every resource, with the context keys set (``s3:prefix`` and the like, which
a conditioned grant needs to match, as on AWS), and answers several resources with
``ResourceSpecificResults``, as the IAM API reference describes
SimulatePrincipalPolicy's ``EvaluationResult``.

And ministack's server's keep-alive (``hypercorn.asyncio.serve``'s config, 75 s in
ministack's own ``main()``) is set to ``LOCALCLOUD_MINISTACK_KEEP_ALIVE_SECONDS``: localcloud
keeps idle connections to ministack for a fraction of it, so that the server never
closes a connection localcloud may still send on. A request written as the server
closes an idle connection can be applied with its reply lost, and a client's retry
then meets its own first attempt ("Table already exists").

Every other caller of ministack (SDK invokes, event sources, other integrations) goes
the way it went before. If ministack's code no longer has the seam, the launcher refuses
to start rather than run without it.

Usage: ``python ministack_launcher.py`` with ministack's usual environment plus
``LOCALCLOUD_LAMBDA_ENDPOINT=http://127.0.0.1:<public port>``. Only the standard library
is used.
"""

import contextvars
import http.client
import json
import os
import sys
import time
import urllib.parse

ENDPOINT_ENV = "LOCALCLOUD_LAMBDA_ENDPOINT"
KEEP_ALIVE_ENV = "LOCALCLOUD_MINISTACK_KEEP_ALIVE_SECONDS"

# Lambda's longest function timeout is 900 s (Lambda quotas); a Task's own
# TimeoutSeconds is enforced by ministack around this call, so the socket only has to
# outlast the longest function.
INVOKE_TIMEOUT_SECONDS = 960

# What the last Lambda call in this context executed, for _invoke_resource's result.
_executed_version = contextvars.ContextVar("localcloud_executed_version", default=None)


class TaskFailure(Exception):
    """A Lambda call that fails the task with ``error`` and ``cause``."""

    def __init__(self, error, cause):
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


class Endpoint:
    """localcloud's public endpoint, ``http://host:port``."""

    def __init__(self, url):
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme != "http" or not parsed.hostname or parsed.port is None:
            raise ValueError(
                f"{ENDPOINT_ENV}={url!r} is not an http://host:port address; "
                "set it to localcloud's public endpoint, for example http://127.0.0.1:4566"
            )
        self.host = parsed.hostname
        self.port = parsed.port


def invoke(endpoint, func_ref, event, account, region):
    """A synchronous Invoke of ``func_ref`` through localcloud.

    Returns ``(status, headers, body)``, header names lower-cased; raises
    ``TaskFailure("Lambda.SdkClientException", ...)`` when no answer came back.
    """
    path = "/2015-03-31/functions/" + urllib.parse.quote(func_ref, safe="") + "/invocations"
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    # Neither localcloud nor ministack verifies signatures; the credential scope is
    # what names the account (a 12-digit access key) and the service.
    headers = {
        "Authorization": (
            f"AWS4-HMAC-SHA256 Credential={account}/{stamp[:8]}/{region}/lambda/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=0"
        ),
        "X-Amz-Date": stamp,
        "X-Amz-Invocation-Type": "RequestResponse",
        "Content-Type": "application/json",
        "User-Agent": "localcloud-stepfunctions",
    }
    connection = http.client.HTTPConnection(endpoint.host, endpoint.port, timeout=INVOKE_TIMEOUT_SECONDS)
    try:
        connection.request("POST", path, body=json.dumps(event).encode("utf-8"), headers=headers)
        response = connection.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    except (OSError, http.client.HTTPException) as err:
        raise TaskFailure("Lambda.SdkClientException", f"Unable to execute HTTP request: {err!r}") from err
    finally:
        connection.close()


def _json_or_text(body):
    text = body.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def service_error_code(status, headers, body):
    """The Lambda error code of a failed Invoke: header, then body, then by status."""
    code = headers.get("x-amzn-errortype", "").split(":", 1)[0]
    parsed = _json_or_text(body) if body else None
    if not code and isinstance(parsed, dict):
        code = str(parsed.get("__type") or parsed.get("Type") or parsed.get("code") or "").rsplit("#", 1)[-1]
        # Lambda's Type is "User" or "Service", not a code.
        if code in ("User", "Service"):
            code = ""
    if not code:
        code = "ServiceException" if status >= 500 else "AWSLambdaException"
    return code


def task_result(status, headers, body):
    """The task's result for an Invoke's answer, or TaskFailure as the task's error.

    A function error is reported as ministack's in-process call reported it: Error is
    the payload's errorType (``Lambda.Unknown`` without one) and Cause the payload as
    JSON (Python's default separators), or for a payload that is not an object,
    ``Lambda.Unknown`` and its text.
    """
    if status >= 300:
        parsed = _json_or_text(body) if body else None
        message = ""
        if isinstance(parsed, dict):
            message = str(parsed.get("message") or parsed.get("Message") or "")
        code = service_error_code(status, headers, body)
        # Shaped like the Cause AWS gives a Lambda service error in a Task.
        raise TaskFailure(
            f"Lambda.{code}",
            f"{message or body.decode('utf-8', errors='replace')} "
            f"(Service: AWSLambda; Status Code: {status}; Error Code: {code})",
        )
    payload = _json_or_text(body) if body else None
    if "x-amz-function-error" in headers:
        if isinstance(payload, dict):
            raise TaskFailure(payload.get("errorType", "Lambda.Unknown"), json.dumps(payload))
        raise TaskFailure("Lambda.Unknown", str(payload))
    return payload


def install(stepfunctions, endpoint):
    """Replaces ``stepfunctions``' in-process Lambda call with an invoke through ``endpoint``."""
    for seam in ("_call_lambda", "_invoke_resource", "_ExecutionError", "get_account_id", "get_region"):
        if not hasattr(stepfunctions, seam):
            raise RuntimeError(
                f"ministack's stepfunctions module has no {seam}: this ministack is not the one "
                "the launcher was written for. Install the pinned version (make setup)."
            )
    execution_error = stepfunctions._ExecutionError
    original_invoke_resource = stepfunctions._invoke_resource

    def call_lambda(func_ref, event):
        account, region = stepfunctions.get_account_id(), stepfunctions.get_region()
        try:
            status, headers, body = invoke(endpoint, func_ref, event, account, region)
            _executed_version.set(headers.get("x-amz-executed-version"))
            return task_result(status, headers, body)
        except TaskFailure as failure:
            raise execution_error(failure.error, failure.cause) from None

    def invoke_resource(resource, input_data):
        token = _executed_version.set(None)
        try:
            result = original_invoke_resource(resource, input_data)
            version = _executed_version.get()
        finally:
            _executed_version.reset(token)
        if "states:::lambda:invoke" in resource and isinstance(result, dict) and version:
            result = {"ExecutedVersion": version, **result}
        return result

    stepfunctions._call_lambda = call_lambda
    stepfunctions._invoke_resource = invoke_resource


class SimulateRequest:
    """The simulator's parameters: actions, every resource, the context keys."""

    def __init__(self, actions, resources, context):
        self.actions = actions
        self.resources = resources
        self.context = context


def simulate_request(p, param):
    """Reads ``ActionNames``, ``ResourceArns`` and ``ContextEntries`` with ``param(p, name)``."""

    def members(prefix):
        out, i = [], 1
        while True:
            value = param(p, f"{prefix}.member.{i}")
            if not value:
                return out
            out.append(value)
            i += 1

    actions = members("ActionNames") or ["sts:AssumeRole"]
    resources = members("ResourceArns") or ["*"]
    context, i = {}, 1
    while param(p, f"ContextEntries.member.{i}.ContextKeyName"):
        name = param(p, f"ContextEntries.member.{i}.ContextKeyName").lower()
        values = members(f"ContextEntries.member.{i}.ContextKeyValues")
        context[name] = values[0] if len(values) == 1 else values
        i += 1
    return SimulateRequest(actions, resources, context)


def simulate_results(request, principal_arn, account_id, policies, evaluator, region):
    """The EvaluationResults members: per action, per resource when there are several."""
    decisions = {"Allow": "allowed", "Deny": "explicitDeny"}

    def decide(action, resource):
        if not policies:
            return "implicitDeny"
        ctx = evaluator.EvalContext(
            principal_arn=principal_arn,
            principal_type="User",
            principal_account=account_id,
            action=action,
            resource_arn=resource,
            region=region,
            source_ip="127.0.0.1",
            secure_transport=True,
            service_context=dict(request.context),
        )
        return decisions.get(evaluator.evaluate(ctx, policies).decision, "implicitDeny")

    members = ""
    for action in request.actions:
        per_resource = [(r, decide(action, r)) for r in request.resources]
        if len(per_resource) == 1:
            resource, decision = per_resource[0]
            members += (
                f"<member><EvalActionName>{action}</EvalActionName>"
                f"<EvalResourceName>{resource}</EvalResourceName>"
                f"<EvalDecision>{decision}</EvalDecision>"
                "<MatchedStatements></MatchedStatements><MissingContextValues></MissingContextValues></member>"
            )
            continue
        # The action's decision is the most restrictive of its resources' (IAM API
        # reference, EvaluationResult): an explicit deny anywhere, else an implicit one.
        found = {d for _, d in per_resource}
        overall = next(d for d in ("explicitDeny", "implicitDeny", "allowed") if d in found)
        specific = "".join(
            f"<member><EvalResourceName>{r}</EvalResourceName><EvalResourceDecision>{d}</EvalResourceDecision>"
            "<MatchedStatements></MatchedStatements><MissingContextValues></MissingContextValues></member>"
            for r, d in per_resource
        )
        members += (
            f"<member><EvalActionName>{action}</EvalActionName><EvalResourceName>*</EvalResourceName>"
            f"<EvalDecision>{overall}</EvalDecision>"
            f"<ResourceSpecificResults>{specific}</ResourceSpecificResults>"
            "<MatchedStatements></MatchedStatements><MissingContextValues></MissingContextValues></member>"
        )
    return members


def install_simulator(iam, evaluator):
    """Makes ``iam``'s simulator evaluate every resource with the request's context."""
    for seam in ("_extract_simulate_params", "_build_simulate_results_real", "_p", "get_region"):
        if not hasattr(iam, seam):
            raise RuntimeError(
                f"ministack's iam module has no {seam}: this ministack is not the one "
                "the launcher was written for. Install the pinned version (make setup)."
            )
    current = contextvars.ContextVar("localcloud_simulate_request", default=None)

    def extract(p):
        request = simulate_request(p, iam._p)
        current.set(request)
        return request.actions, request.resources[0]

    def build(actions, resource_arn, principal_arn, account_id, policies):
        request = current.get() or SimulateRequest(actions, [resource_arn], {})
        return simulate_results(request, principal_arn, account_id, policies, evaluator, iam.get_region())

    iam._extract_simulate_params = extract
    iam._build_simulate_results_real = build


def keep_alive_seconds(value):
    """The server keep-alive ``value`` names: a positive number of seconds."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise ValueError(
            f"{KEEP_ALIVE_ENV}={value!r} is not a positive number of seconds; "
            "localcloud sets it (upstream::MINISTACK_KEEP_ALIVE), for example 75"
        )
    return seconds


def install_keep_alive(hypercorn_asyncio, seconds):
    """Makes the server ministack's ``main()`` starts keep idle connections ``seconds``."""
    if not hasattr(hypercorn_asyncio, "serve"):
        raise RuntimeError(
            "hypercorn.asyncio has no serve: this ministack is not the one the launcher "
            "was written for. Install the pinned version (make setup)."
        )
    serve = hypercorn_asyncio.serve

    async def serve_with_keep_alive(app, config, *args, **kwargs):
        config.keep_alive_timeout = seconds
        return await serve(app, config, *args, **kwargs)

    hypercorn_asyncio.serve = serve_with_keep_alive


def main():
    url = os.environ.get(ENDPOINT_ENV, "")
    try:
        endpoint = Endpoint(url)
        keep_alive = keep_alive_seconds(os.environ.get(KEEP_ALIVE_ENV, ""))
        import hypercorn.asyncio
        from ministack.services import stepfunctions
        from ministack.services import iam
        from ministack.core import iam_evaluator

        install(stepfunctions, endpoint)
        install_simulator(iam, iam_evaluator)
        install_keep_alive(hypercorn.asyncio, keep_alive)
    except (ValueError, RuntimeError, ImportError) as err:
        print(f"ministack_launcher: {err}", file=sys.stderr)
        return 2
    from ministack import app

    # ministack's main() parses the command line; it gets none of ours.
    sys.argv = [sys.argv[0]]
    app.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
