"""Synthetic traffic for `make demo`: invokes FUNCTION:live through the local cloud's
public endpoint (so alias weights and per-version metrics apply) until killed, and
prints how many invocations failed when it stops."""

import json
import os
import signal
import sys

import botocore.config
import botocore.session

ENDPOINT = os.environ.get("LOCALCLOUD_ENDPOINT", "http://127.0.0.1:4566")
ACCOUNT, FUNCTION = sys.argv[1], sys.argv[2]
EVENT = json.dumps({"run_date": "2026-02-01", "dry_run": False, "inject_failure": None}).encode()

lam = botocore.session.get_session().create_client(
    "lambda", endpoint_url=ENDPOINT, region_name="us-east-1", aws_access_key_id=ACCOUNT,
    aws_secret_access_key="localcloud", config=botocore.config.Config(retries={"max_attempts": 1}),
)
counts = {"ok": 0, "failed": 0}


def stop(*_):
    print(f"    synthetic traffic to {FUNCTION}:live: {counts['ok']} ok, {counts['failed']} failed", flush=True)
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
while True:
    out = lam.invoke(FunctionName=FUNCTION, Qualifier="live", Payload=EVENT)
    counts["failed" if out.get("FunctionError") else "ok"] += 1
