#!/usr/bin/env python3
"""What the Terraform AWS provider's debug log says about a failed apply's AWS calls.

    tf_provider_log.py LOG

Exit status: 0, or 3 when a create's reply was lost and the provider's retry met what
the create had made (the cloud then holds a resource that Terraform's state lacks),
64 for a usage error, 66 for an unreadable log.

A create that "already exists" after minutes of "Still creating" hides its cause in the
provider's retries, which Terraform does not print. The debug log
(TF_LOG_PROVIDER=DEBUG) records every attempt: "HTTP Request Sent" and "HTTP Response
Received", with the operation, the status, the duration and the Terraform request
(tf_req_id) it belongs to. This prints, per resource operation, the requests of every
call that went wrong on the wire (a call is one operation within one resource's
create, read or update: its first attempt, the SDK's retries and a waiter's polls): a reply never logged, a 5xx or 429, a reply slower
than SLOW_MS, or retries that ended in an error. Calls that answered at once, including
the 404s of reads, are only counted.
"""

import re
import sys
from collections import OrderedDict
from dataclasses import dataclass, field

SLOW_MS = 5000
# The 400s that say a create met what exists (DynamoDB, KMS, IAM answer 400 or 409).
CONFLICT_CODES = ("AlreadyExists", "ResourceInUse", "ResourceConflict")
# main's exit status when some create's reply was lost and its retry met what it made.
LOST_REPLY = 3
MAX_CALLS = 15
MAX_ATTEMPTS = 12

RECORD_START = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
FIELD = re.compile(r'(?:^|\s)([A-Za-z_@.]+)=("(?:[^"\\]|\\.)*"|\S+)')
ERROR_CODE = re.compile(
    r'x_amzn_errortype=(?:"([^":]+)|([^\s:"]+))|\\?"__type\\?":\s*\\?"(?:[^"\\#]*#)?([A-Za-z]+)|<Code>([A-Za-z.]+)</Code>'
)


@dataclass
class Attempt:
    time: str
    status: int | None = None
    duration_ms: int | None = None
    error: str = ""

    def render(self) -> str:
        if self.status is None:
            return f"{self.time}  sent, no reply logged"
        error = f" {self.error}" if self.error else ""
        return f"{self.time}  {self.status}{error} after {self.duration_ms} ms"


@dataclass
class Call:
    resource: str
    operation: str
    attempts: list = field(default_factory=list)

    def went_wrong(self) -> bool:
        unanswered = any(a.status is None for a in self.attempts)
        server_fault = any(a.status is not None and (a.status >= 500 or a.status == 429) for a in self.attempts)
        slow = any((a.duration_ms or 0) >= SLOW_MS for a in self.attempts)
        last = self.attempts[-1].status if self.attempts else None
        failed_retry = len(self.attempts) > 1 and last is not None and last >= 400
        return unanswered or server_fault or slow or failed_retry

    def lost_reply_then_conflict(self) -> bool:
        """A request whose reply never came, then a retry told that what it creates
        already exists: the first request was applied and its answer lost, so the
        cloud holds a resource that Terraform's state lacks."""
        lost = next((i for i, a in enumerate(self.attempts) if a.status is None), None)
        if lost is None:
            return False
        return any(is_conflict(a) for a in self.attempts[lost + 1:])


def is_conflict(attempt: Attempt) -> bool:
    if attempt.status == 409:
        return True
    return attempt.status == 400 and any(word in attempt.error for word in CONFLICT_CODES)


def records(lines):
    """Joins each log record with its continuation lines (bodies span lines)."""
    current = []
    for line in lines:
        if RECORD_START.match(line) and current:
            yield "".join(current)
            current = []
        current.append(line)
    if current:
        yield "".join(current)


def fields(record: str) -> dict:
    return {name: value.strip('"') for name, value in FIELD.findall(record)}


def error_code(record: str) -> str:
    match = ERROR_CODE.search(record)
    return next((group for group in match.groups() if group), "") if match else ""


def calls(lines) -> "OrderedDict[tuple, Call]":
    """Every AWS call, keyed by (Terraform request, operation), with its attempts in order."""
    found: "OrderedDict[tuple, Call]" = OrderedDict()
    for record in records(lines):
        sent = "HTTP Request Sent" in record
        received = "HTTP Response Received" in record
        if not (sent or received):
            continue
        values = fields(record)
        operation = values.get("rpc.method")
        if not operation:
            continue
        key = (values.get("tf_req_id", ""), values.get("rpc.service", ""), operation)
        call = found.setdefault(key, Call(values.get("tf_resource_type", "(provider)"), operation))
        time = record[11:23]
        if sent:
            call.attempts.append(Attempt(time))
            continue
        status = int(values.get("http.status_code", "0") or 0)
        duration = int(values.get("http.duration", "0") or 0)
        # A call's requests go one after another: a reply answers the latest request,
        # and an earlier one still waiting never got its reply (a transport error the
        # SDK retried).
        waiting = call.attempts[-1] if call.attempts and call.attempts[-1].status is None else None
        attempt = waiting or Attempt(time)
        if waiting is None:
            call.attempts.append(attempt)
        attempt.time, attempt.status, attempt.duration_ms = time, status, duration
        attempt.error = error_code(record) if status >= 400 else ""
    return found


def digest(lines) -> list:
    return render(calls(lines))


def render(found) -> list:
    wrong = [call for call in found.values() if call.went_wrong()]
    attempts = sum(len(call.attempts) for call in found.values())
    out = [f"{len(found)} AWS calls, {attempts} requests; {len(wrong)} went wrong on the wire"]
    for call in wrong[-MAX_CALLS:]:
        out.append(f"  {call.resource} {call.operation}: {len(call.attempts)} requests")
        first, rest = call.attempts[:2], call.attempts[2:]
        last = rest[-(MAX_ATTEMPTS - 2):]
        out.extend(f"    {attempt.render()}" for attempt in first)
        if len(last) < len(rest):
            out.append(f"    ({len(rest) - len(last)} requests in between not shown)")
        out.extend(f"    {attempt.render()}" for attempt in last)
    if len(wrong) > MAX_CALLS:
        out.insert(1, f"  (the last {MAX_CALLS} shown)")
    return out


def main(argv) -> int:
    if len(argv) != 2:
        print("usage: tf_provider_log.py LOG", file=sys.stderr)
        return 64
    try:
        with open(argv[1], encoding="utf-8", errors="replace") as log:
            found = calls(log)
    except OSError as err:
        print(f"error: cannot read the provider log {argv[1]}: {err.strerror}", file=sys.stderr)
        return 66
    print("\n".join(render(found)))
    lost = [call for call in found.values() if call.lost_reply_then_conflict()]
    for call in lost:
        print(f"lost reply: {call.resource} {call.operation} was applied, its answer never reached the provider, "
              "and the provider's retry met what it had made")
    return LOST_REPLY if lost else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
