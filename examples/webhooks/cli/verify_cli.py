"""verify_cli.py - runs ../verify_webhook.py on test cases: reads a JSON array of
{body_b64, timestamp, signature, secret, tolerance?, now?} on stdin and prints a JSON array of
the results (true / false, or "error: ..." when the verifier raised). Used by
tests/api/webhook_verifiers.test.mjs."""
import base64
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from verify_webhook import verify_innbocks_webhook  # noqa: E402

results = []
for c in json.load(sys.stdin):
    kwargs = {}
    if c.get("tolerance") is not None:
        kwargs["tolerance_seconds"] = c["tolerance"]
    if c.get("now") is not None:
        kwargs["now"] = c["now"]
    try:
        results.append(verify_innbocks_webhook(base64.b64decode(c["body_b64"]), c.get("timestamp"),
                                               c.get("signature"), c["secret"], **kwargs))
    except Exception as e:  # the verifier must never raise: report it
        results.append("error: %r" % e)
print(json.dumps(results))
