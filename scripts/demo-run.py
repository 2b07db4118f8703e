"""Runs the ETL workflow once on the local cloud (`make demo`): puts a small day of
orders (with a few bad records) in the dev account's raw bucket, starts the state
machine, waits, and prints what the run produced. Uses botocore from the emulator's
venv; talks only to the local cloud."""

import json
import os
import sys
import time

import botocore.config
import botocore.session

ENDPOINT = os.environ.get("LOCALCLOUD_ENDPOINT", "http://127.0.0.1:4566")
DEV = "111111111111"
DAY = sys.argv[1] if len(sys.argv) > 1 else "2026-11-22"


def client(service, **extra):
    return botocore.session.get_session().create_client(
        service, endpoint_url=ENDPOINT, region_name="us-east-1", aws_access_key_id=DEV, aws_secret_access_key="localcloud", **extra
    )


def order(i, bad=False):
    record = {
        "order_id": f"o-{i:05}", "customer_id": f"c-{i % 37}", "occurred_at": f"{DAY}T{i % 24:02}:{i % 60:02}:00Z",
        "amount": f"{(i * 7) % 500}.{i % 100:02}", "currency": "eur", "country": "de", "status": "paid", "items": i % 5 + 1,
    }
    if bad:
        record["currency"] = "XXX"
    return json.dumps(record)


def main():
    s3 = client("s3", config=botocore.config.Config(s3={"addressing_style": "path"}))
    sfn = client("stepfunctions")
    raw, curated, quarantine = (f"etl-dev-{kind}-{DEV}" for kind in ("raw", "curated", "quarantine"))
    body = "\n".join(order(i, bad=(i % 20 == 0)) for i in range(1, 201)) + "\n"
    s3.put_object(Bucket=raw, Key=f"dt={DAY}/orders.jsonl", Body=body.encode())
    machine = next(m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"] if m["name"] == "etl-dev-etl")
    started = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"run_date": DAY, "dry_run": False, "inject_failure": None}))
    while True:
        execution = sfn.describe_execution(executionArn=started["executionArn"])
        if execution["status"] != "RUNNING":
            break
        time.sleep(0.5)
    print(f"run {DAY}: {execution['status']}")
    if execution["status"] == "SUCCEEDED":
        output = json.loads(execution["output"])
        if output.get("manifest", {}).get("duplicate"):
            print("  this date had already run: the existing run was answered and nothing changed")
        else:
            load = output["load"]
            print(f"  curated {load['records_out']} records into s3://{curated}/dt={DAY}/, quarantined {load['quarantined']}")
    else:
        print(f"  {execution.get('error')}: {execution.get('cause')}")
        sys.exit(1)
    for bucket, prefix in ((curated, f"dt={DAY}/"), (quarantine, f"quarantine/dt={DAY}/")):
        for obj in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
            print(f"  s3://{bucket}/{obj['Key']} ({obj['Size']} bytes)")


if __name__ == "__main__":
    main()
