"""Schemathesis hooks of the contract run (make test, make fuzz): every request that needs a
token carries a valid access token of an organization signed up for the run, renewed before it
expires (access tokens live 15 minutes). Against the local stack (CONTRACT_SANDBOX_URL), the
organization connects a provider sandbox account of its own, so that its invoices are taken."""

import json
import os
import secrets
import urllib.request

import schemathesis

API_URL = os.environ["CONTRACT_API_URL"].rstrip("/")
SANDBOX_URL = os.environ.get("CONTRACT_SANDBOX_URL", "").rstrip("/")
# The DIAN's weights for a NIT's check digit, from its last digit leftwards.
NIT_WEIGHTS = (3, 7, 13, 17, 19, 23, 29, 37, 41, 43, 47, 53, 59, 67, 71)


def check_digit(nit: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(reversed(nit), NIT_WEIGHTS))
    remainder = total % 11
    return str(remainder if remainder < 2 else 11 - remainder)


def signup() -> str:
    """Signs a new organization up; answers its owner's access token."""
    nit = "9" + "".join(secrets.choice("0123456789") for _ in range(8))
    body = {
        "organization": {"name": "Contract Test SAS", "nit": nit, "dv": check_digit(nit)},
        "email": f"contract-{secrets.token_hex(8)}@example.co",
        "password": secrets.token_urlsafe(24),
        "full_name": "Contract Test",
    }
    request = urllib.request.Request(
        f"{API_URL}/v1/auth/signup",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        token = json.load(response)["tokens"]["access_token"]
    if SANDBOX_URL:
        connect(token, nit)
    return token


def post_json(url: str, body: dict, method: str = "POST", token: str = "") -> None:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=30):
        pass


def connect(token: str, nit: str) -> None:
    """Makes a provider sandbox account of the company `nit` and connects it to the organization."""
    tag = secrets.token_hex(8)
    credentials = {"client_id": tag, "client_secret": tag, "username": f"{tag}@contract.example.co", "password": tag}
    post_json(f"{SANDBOX_URL}/_sandbox/accounts", {**credentials, "company": {"nit": nit, "name": "Contract Test SAS"}})
    post_json(f"{API_URL}/v1/organization/provider", {**credentials, "environment": "sandbox"}, "PUT", token)


@schemathesis.auth(refresh_interval=600)
class OwnerToken:
    def get(self, case, context):
        return signup()

    def set(self, case, data, context):
        # Spelled as the security scheme says, so that schemathesis can take it off again to
        # check that the operation refuses a request without it.
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}
