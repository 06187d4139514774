#!/usr/bin/env python3
"""Send a correctly signed Clerk-style webhook to a local llmobserve API: try the sign-up flow without Clerk.

    python scripts/send_test_webhook.py --new-secret >> .env    # once; then restart the API (make run)
    python scripts/send_test_webhook.py --email you@example.com                      # user.created
    python scripts/send_test_webhook.py --email you@example.com --type user.updated --first-name Ada
    python scripts/send_test_webhook.py --email you@example.com --type user.deleted

The signing secret comes from --secret, else CLERK_WEBHOOK_SECRET in the environment, else from `.env`:
the same value the API reads. The user id is derived from the email, so the three commands above act on
one user. See docs/clerk.md.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import secrets
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from dotenv import dotenv_values
from svix.webhooks import Webhook

EVENT_TYPES = ("user.created", "user.updated", "user.deleted")


def find_secret(given: str | None) -> str | None:
    if given:
        return given
    if os.environ.get("CLERK_WEBHOOK_SECRET"):
        return os.environ["CLERK_WEBHOOK_SECRET"]
    for env_file in (Path.cwd() / ".env", Path(__file__).resolve().parent.parent / ".env"):
        if env_file.exists() and dotenv_values(env_file).get("CLERK_WEBHOOK_SECRET"):
            return dotenv_values(env_file)["CLERK_WEBHOOK_SECRET"]
    return None


def user_id_for(email: str) -> str:
    """A Clerk-shaped id that is the same for the same email, so created/updated/deleted meet."""
    return "user_test" + hashlib.sha256(email.lower().encode()).hexdigest()[:20]


def build_event(args: argparse.Namespace) -> dict[str, Any]:
    now_ms = int(time.time() * 1000)
    user_id = args.user_id or user_id_for(args.email)
    if args.type == "user.deleted":
        data: dict[str, Any] = {"deleted": True, "id": user_id, "object": "user"}
    else:
        email_id = "idn_test" + hashlib.sha256(args.email.encode()).hexdigest()[:20]
        data = {
            "id": user_id, "object": "user",
            "email_addresses": [{"id": email_id, "object": "email_address", "email_address": args.email,
                                 "verification": {"status": "verified", "strategy": "ticket"}}],
            "primary_email_address_id": email_id,
            "first_name": args.first_name, "last_name": args.last_name,
            "public_metadata": {"user_type": args.user_type} if args.user_type else {},
            "phone_numbers": [], "created_at": now_ms, "updated_at": now_ms,
        }
    return {"data": data, "object": "event", "timestamp": now_ms, "type": args.type}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://localhost:8000", help="the API (default: %(default)s)")
    parser.add_argument("--secret", help="whsec_… signing secret (default: CLERK_WEBHOOK_SECRET from the "
                                         "environment or .env)")
    parser.add_argument("--email", default="test@example.com", help="default: %(default)s")
    parser.add_argument("--type", choices=EVENT_TYPES, default="user.created", help="default: %(default)s")
    parser.add_argument("--first-name", default="Test")
    parser.add_argument("--last-name", default="User")
    parser.add_argument("--user-type", help="public_metadata.user_type (the API defaults to individual)")
    parser.add_argument("--user-id", help="Clerk user id (default: derived from --email)")
    parser.add_argument("--new-secret", action="store_true",
                        help="print a fresh CLERK_WEBHOOK_SECRET=whsec_… line (for .env) and exit")
    args = parser.parse_args(argv)

    if args.new_secret:
        print("CLERK_WEBHOOK_SECRET=whsec_" + base64.b64encode(secrets.token_bytes(24)).decode())
        return 0
    secret = find_secret(args.secret)
    if not secret:
        print("no signing secret: pass --secret, or put CLERK_WEBHOOK_SECRET=whsec_… into .env and restart "
              "the API (`python scripts/send_test_webhook.py --new-secret >> .env` makes one)", file=sys.stderr)
        return 2

    body = json.dumps(build_event(args))
    msg_id = f"msg_{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    headers = {"svix-id": msg_id, "svix-timestamp": str(int(now.timestamp())),
               "svix-signature": Webhook(secret).sign(msg_id, now, body), "Content-Type": "application/json"}
    try:
        answer = httpx.post(args.url.rstrip("/") + "/webhooks/clerk", content=body, headers=headers, timeout=15)
    except httpx.HTTPError as exc:
        print(f"could not reach {args.url}: {exc}", file=sys.stderr)
        return 1
    print(f"{args.type} → HTTP {answer.status_code}")
    print(answer.text)
    return 0 if answer.is_success else 1


if __name__ == "__main__":
    sys.exit(main())
