"""verify_webhook.py - checks the signature of an Innbocks webhook delivery (Python 3, standard
library only). See docs/webhooks.md, "Verifying a delivery".

    from verify_webhook import verify_innbocks_webhook
    ok = verify_innbocks_webhook(raw_body, headers["Innbocks-Timestamp"],
                                 headers["Innbocks-Signature"], secret)

raw_body must be the bytes as received, before any JSON parsing.
"""
import hmac
import hashlib
import time

DEFAULT_TOLERANCE_SECONDS = 300


def verify_innbocks_webhook(raw_body, timestamp, signature_header, secret,
                            tolerance_seconds=DEFAULT_TOLERANCE_SECONDS, now=None):
    """Returns True when one of the v1= signatures of signature_header is the HMAC-SHA256 of
    timestamp + "." + raw_body under secret, and the timestamp lies within tolerance_seconds of
    now (in either direction). Never raises on malformed input: it returns False. now (unix
    seconds) is for tests; it defaults to the clock."""
    if isinstance(raw_body, str):
        raw_body = raw_body.encode("utf-8")
    if not isinstance(raw_body, (bytes, bytearray)):
        return False
    if not isinstance(timestamp, str) or not (0 < len(timestamp) <= 15) \
            or not timestamp.isascii() or not timestamp.isdigit():
        return False
    if not isinstance(signature_header, str) or not isinstance(secret, str) or not secret:
        return False
    if now is None:
        now = time.time()
    if abs(now - int(timestamp)) > tolerance_seconds:
        return False

    expected = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + bytes(raw_body),
                        hashlib.sha256).hexdigest().encode("ascii")
    # During a secret rotation the header carries one v1= part per secret: accept any of them.
    valid = False
    for part in signature_header.split(","):
        item = part.strip()
        if not item.startswith("v1="):
            continue
        # compare_digest on bytes: constant time, False (not an error) for other lengths.
        received = item[3:].encode("utf-8", "replace")
        if hmac.compare_digest(received, expected):
            valid = True
    return valid
