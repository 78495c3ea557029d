#!/usr/bin/env python3
"""Demo traffic for `scripts/run --demo-traffic`: a gateway posts cases, and demo agents
work them as people would, so the live view, the reports and the timelines move.

Jin (support) and Sam (sales) are demo agents: each takes what it is offered after a
human pause, replies, hands an upgrade question off to sales now and then, resolves after
a realistic handle time and the customer leaves a CSAT score. Ana is left to the person
trying Baton: her offers wait for her in the console (or go to Jin when she lets them lapse).

  demo_traffic.py URL TOKENS_FILE [--seconds N] [--speed X] [--seed N]

--speed divides every pause (a test runs a shift in seconds); --seconds stops it (0: run
until killed). Only the standard library: HTTP with urllib, one thread.
"""
import argparse
import json
import random
import sys
import time
import urllib.error
import urllib.request

SUBJECTS = [
    ("환불 요청", "지난주 결제가 두 번 되었어요."),
    ("Where is my order?", "Order A-1001 has not arrived."),
    ("Upgrade to 40 seats", "We want the team plan for 40 seats."),
    ("요금제 문의", "팀 요금제로 바꾸고 싶어요."),
    ("Password reset", "I cannot sign in since yesterday."),
]
REPLIES = ["확인해 보겠습니다.", "Thanks, looking into it now.", "Done: it should work again."]


def call(url, token, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + token)
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            text = r.read()
            return r.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as e:
        return e.code, None
    except (urllib.error.URLError, OSError):
        return 0, None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("tokens")
    p.add_argument("--seconds", type=float, default=0)
    p.add_argument("--speed", type=float, default=1)
    p.add_argument("--seed", type=int, default=7)
    a = p.parse_args()
    tokens = dict(line.strip().split("=", 1) for line in open(a.tokens) if "=" in line)
    rng = random.Random(a.seed)
    pause = lambda lo, hi: rng.uniform(lo, hi) / a.speed  # noqa: E731
    workers = {"jin": tokens["jin"], "sam": tokens["sam"]}
    for name, token in workers.items():
        call(a.url, token, "PUT", f"/v1/agents/agt_{name}/presence", {"presence": "available"})

    # Each piece of work is (due time, action); the loop runs whatever is due.
    due = []
    seen = set()
    now = time.monotonic()
    end = now + a.seconds if a.seconds > 0 else None
    next_case = now
    next_poll = now
    n = 0
    stats = {"posted": 0, "accepted": 0, "resolved": 0, "handoffs": 0, "csat": 0}

    def later(delay, fn):
        due.append((time.monotonic() + delay, fn))

    def work(name, token, case_id, subject):
        def reply():
            call(a.url, token, "POST", f"/v1/cases/{case_id}/messages",
                 {"direction": "out", "body": rng.choice(REPLIES)})
            if name != "sam" and "seats" in subject.lower() and rng.random() < 0.7:
                s, _ = call(a.url, token, "POST", f"/v1/cases/{case_id}/handoffs",
                            {"to": "sales_owner", "reason": "upsell",
                             "note": "Asked about the team plan"})
                if s == 201:
                    stats["handoffs"] += 1
            later(pause(20, 90), resolve)

        def resolve():
            s, _ = call(a.url, token, "POST", f"/v1/cases/{case_id}/resolve",
                        {"resolution": "demo: done"})
            if s == 200:
                stats["resolved"] += 1
                later(pause(5, 20), rate)

        def rate():
            s, _ = call(a.url, tokens["gateway"], "POST", f"/v1/cases/{case_id}/csat",
                        {"score": rng.choice([3, 4, 4, 5, 5]), "comment": "demo"})
            if s == 201:
                stats["csat"] += 1

        later(pause(5, 25), reply)

    while end is None or time.monotonic() < end:
        now = time.monotonic()
        if now >= next_case:
            subject, body = SUBJECTS[n % len(SUBJECTS)]
            s, _ = call(a.url, tokens["gateway"], "POST", "/v1/cases",
                        {"channel": "chat", "subject": subject, "body": body,
                         "customer": {"channel": "chat", "address": f"demo:{n % 7}"}})
            stats["posted"] += s == 201
            n += 1
            next_case = now + pause(4, 12)
        if now >= next_poll:
            for name, token in workers.items():
                s, page = call(a.url, token, "GET", f"/v1/offers?agent=agt_{name}&status=pending")
                for offer in (page or {}).get("data", []):
                    if offer["id"] in seen:
                        continue
                    seen.add(offer["id"])

                    def accept(name=name, token=token, offer=offer):
                        s, got = call(a.url, token, "POST", f"/v1/offers/{offer['id']}/accept", {})
                        if s == 200:
                            stats["accepted"] += 1
                            kase = got["case"]
                            work(name, token, kase["id"], kase["subject"])

                    later(pause(2, 8), accept)
            next_poll = now + min(1.0, pause(1, 1))
        ready = [d for d in due if d[0] <= now]
        due[:] = [d for d in due if d[0] > now]
        for _, fn in sorted(ready, key=lambda d: d[0]):
            fn()
        time.sleep(min(0.2, 0.2 / a.speed))
    print(json.dumps(stats))


if __name__ == "__main__":
    sys.exit(main())
