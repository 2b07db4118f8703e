#!/usr/bin/env python3
"""Measures the keep-alive race that made Terraform applies on the local cloud fail with
"already exists" (localcloud/src/upstream.rs, POOL_IDLE).

Each worker opens a connection to ministack, makes one request, leaves the connection
idle for about the server's keep-alive, then sends a DynamoDB CreateTable on it. When no
reply comes, a fresh connection asks DescribeTable whether the table was made anyway:

  ok            the CreateTable was answered
  lost_applied  no reply, and the table exists: a client's retry would meet it
  lost_unread   no reply, and no table: the server closed first, a retry is safe

Usage, against a running local cloud's ministack port (`localcloud status`):

  scripts/keep-alive-race.py --port 4510 --idle 75 --workers 60 --trials 2

Only the standard library is used.
"""

import argparse
import http.client
import json
import random
import threading
import time

SIGNED_AS_DEV = (
    "AWS4-HMAC-SHA256 Credential=111111111111/20260101/us-east-1/dynamodb/aws4_request, "
    "SignedHeaders=host, Signature=0"
)


def dynamodb(connection, target, body):
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": f"DynamoDB_20120810.{target}",
        "Authorization": SIGNED_AS_DEV,
    }
    connection.request("POST", "/", json.dumps(body), headers)
    response = connection.getresponse()
    return response.status, response.read()


def table(name):
    return {
        "TableName": name,
        "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST",
    }


def one_trial(port, idle, spread, name):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    dynamodb(connection, "ListTables", {})
    time.sleep(idle + random.uniform(-spread, spread))
    try:
        status, _ = dynamodb(connection, "CreateTable", table(name))
        if status < 500:
            return "ok" if status == 200 else f"http_{status}"
    except (OSError, http.client.HTTPException):
        pass
    finally:
        connection.close()
    check = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    status, _ = dynamodb(check, "DescribeTable", {"TableName": name})
    check.close()
    return "lost_applied" if status == 200 else "lost_unread"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True, help="ministack's port on 127.0.0.1")
    parser.add_argument("--idle", type=float, required=True, help="seconds a connection is left idle")
    parser.add_argument("--spread", type=float, default=0.02, help="+/- seconds drawn around --idle")
    parser.add_argument("--workers", type=int, default=40)
    parser.add_argument("--trials", type=int, default=2, help="trials per worker")
    args = parser.parse_args()

    counts = {}
    lock = threading.Lock()
    run = random.randrange(1 << 30)

    def worker(index):
        for trial in range(args.trials):
            outcome = one_trial(args.port, args.idle, args.spread, f"race-{run}-{index}-{trial}")
            with lock:
                counts[outcome] = counts.get(outcome, 0) + 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"idle_s": args.idle, "spread_s": args.spread, **dict(sorted(counts.items()))}))


if __name__ == "__main__":
    main()
