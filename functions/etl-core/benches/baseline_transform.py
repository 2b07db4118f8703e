#!/usr/bin/env python3
"""The same transform as etl-core, in plain Python 3 (standard library only): the
baseline a team would otherwise write. Reads JSON Lines from argv[1], writes curated
lines to argv[2] and quarantined ones to argv[3], prints records/s as JSON."""

import hashlib
import json
import re
import sys
import time
from datetime import datetime, timezone

CURRENCIES = {"AUD", "BRL", "CAD", "CHF", "DKK", "EUR", "GBP", "JPY", "NOK", "PLN", "SEK", "USD"}
STATUSES = {"PENDING": "PENDING", "PAID": "PAID", "REFUNDED": "REFUNDED", "CANCELLED": "CANCELLED", "CANCELED": "CANCELLED"}
IDENT = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
AMOUNT = re.compile(r"^\d{1,12}(\.\d{1,2})?$")


def text(value):
    return value.strip() if isinstance(value, str) and value.strip() else None


def normalise(raw, partition):
    problems = []
    out = {}
    for field in ("order_id", "customer_id"):
        v = text(raw.get(field))
        if v is None:
            problems.append(f"{field}: missing")
        elif not IDENT.match(v):
            problems.append(f"{field}: {v!r} is not 1-64 of A-Z a-z 0-9 - _ . :")
        else:
            out[field] = v
    ts = text(raw.get("occurred_at"))
    if ts is None:
        problems.append("occurred_at: missing")
    else:
        try:
            t = datetime.fromisoformat(ts.replace("Z", "+00:00"))
            if t.tzinfo is None:
                raise ValueError
            t = t.astimezone(timezone.utc)
            if t.date().isoformat() != partition:
                problems.append(f"occurred_at: {ts} is outside the partition dt={partition}")
            else:
                out["occurred_at"] = t.strftime("%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            problems.append(f"occurred_at: {ts!r} is not an RFC 3339 timestamp")
    amount = raw.get("amount")
    if isinstance(amount, (int, float)) and not isinstance(amount, bool) and amount >= 0:
        out["amount_minor"] = round(amount * 100)
    elif isinstance(amount, str) and AMOUNT.match(amount.strip()):
        whole, _, frac = amount.strip().partition(".")
        out["amount_minor"] = int(whole) * 100 + int((frac + "00")[:2])
    else:
        problems.append(f"amount: {amount!r} is not a non-negative decimal")
    currency = text(raw.get("currency"))
    if currency and currency.upper() in CURRENCIES:
        out["currency"] = currency.upper()
    else:
        problems.append(f"currency: {currency!r} is not a known code")
    country = text(raw.get("country"))
    if country and len(country) == 2 and country.isalpha():
        out["country"] = country.upper()
    else:
        problems.append(f"country: {country!r} is not a two-letter code")
    status = text(raw.get("status"))
    if status and status.upper() in STATUSES:
        out["status"] = STATUSES[status.upper()]
    else:
        problems.append(f"status: {status!r} is not a known status")
    items = raw.get("items")
    try:
        n = int(items) if isinstance(items, (int, str)) and not isinstance(items, bool) else None
    except ValueError:
        n = None
    if n is not None and 1 <= n <= 1000:
        out["items"] = n
    else:
        problems.append(f"items: {items!r} is not a whole number from 1 to 1000")
    return out, problems


def main():
    source, curated, quarantine = sys.argv[1], sys.argv[2], sys.argv[3]
    partition = sys.argv[4] if len(sys.argv) > 4 else "2026-11-22"
    started = time.perf_counter()
    count = good = bad = 0
    with open(source, encoding="utf-8") as src, open(curated, "w") as out, open(quarantine, "w") as q:
        for number, line in enumerate(src, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            count += 1
            try:
                raw = json.loads(line)
                if not isinstance(raw, dict):
                    raise ValueError("not an object")
                record, problems = normalise(raw, partition)
            except ValueError as e:
                record, problems = None, [f"not a JSON object of order fields: {e}"]
            if problems:
                bad += 1
                q.write(json.dumps({"object": source, "line": number, "reasons": problems, "record": line}) + "\n")
            else:
                good += 1
                key = hashlib.sha256(b"order:v1:" + record["order_id"].encode()).hexdigest()[:32]
                out.write(json.dumps({"idempotency_key": key, **record}, separators=(",", ":")) + "\n")
    elapsed = time.perf_counter() - started
    print(json.dumps({"records": count, "good": good, "quarantined": bad, "seconds": elapsed, "records_per_second": count / elapsed}))


if __name__ == "__main__":
    main()
