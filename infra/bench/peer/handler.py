"""The peer of functions/invoices-get for `make bench`: the same handler in Python, with boto3
and AWS Lambda Powertools under awslambdaric (the stack a FastAPI-era design would deploy),
started by the same Runtime API harness. It verifies the bearer token against the key ring in
Secrets Manager (HS256, issuer, audience, kid), reads the invoice with one consistent GetItem
under the caller's organization, and answers it as JSON, or 401/404."""

import json
import os
from decimal import Decimal

import boto3
import jwt
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.exceptions import NotFoundError, UnauthorizedError
from boto3.dynamodb.types import TypeDeserializer

logger = Logger(service="invoices-get-peer")
app = APIGatewayHttpResolver()
dynamodb = boto3.client("dynamodb")
secrets = boto3.client("secretsmanager")
deserializer = TypeDeserializer()
TABLE_NAME = os.environ["TABLE_NAME"]
KEY_RING = {}


def key(kid):
    if kid not in KEY_RING:
        secret = secrets.get_secret_value(SecretId=os.environ["JWT_SECRET_ID"])["SecretString"]
        KEY_RING.update(json.loads(secret))
    return KEY_RING[kid]


def claims():
    token = (app.current_event.get_header_value("authorization") or "").removeprefix("Bearer ")
    try:
        kid = jwt.get_unverified_header(token)["kid"]
        return jwt.decode(token, key(kid), algorithms=["HS256"], audience="invoicer-api", issuer="invoicer")
    except (jwt.PyJWTError, KeyError) as error:
        raise UnauthorizedError("authentication is required") from error


CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def plain(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, dict):
        return {name: plain(inner) for name, inner in value.items()}
    if isinstance(value, list):
        return [plain(inner) for inner in value]
    return value


@app.get("/v1/invoices/<invoice_id>")
def get_invoice(invoice_id):
    caller = claims()
    # The invoice's shard: its id's random bits modulo 16 (the last of a ULID's 26 Crockford
    # base-32 digits holds its lowest five), as docs/DATA_MODEL.md keys it.
    digit = CROCKFORD.find(invoice_id[-1:])
    if len(invoice_id) != 26 or digit < 0:
        raise NotFoundError("no such invoice")
    item = dynamodb.get_item(
        TableName=TABLE_NAME,
        Key={"PK": {"S": f"ORG#{caller['org']}#INV#{digit % 16:02d}"}, "SK": {"S": f"INV#{invoice_id}"}},
        ConsistentRead=True,
    ).get("Item")
    if item is None:
        raise NotFoundError("no such invoice")
    return plain({name: deserializer.deserialize(value) for name, value in item.items()})


@logger.inject_lambda_context
def handler(event, context):
    return app.resolve(event, context)
