"""Before `make deploy` builds anything: are there AWS credentials, and whose are they?

Reads the stage's region and stack name from samconfig.toml, asks STS who the credentials
belong to, and says so; when something is missing, says what and how to provide it.

usage: check_credentials.py STAGE   (a section of samconfig.toml: default, staging, prod)
"""

import os
import sys
import tomllib

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

HOW_TO = """\
Provide credentials in one of the ways the AWS CLI and SAM read them, for example:
  - AWS IAM Identity Center: `aws configure sso`, then `export AWS_PROFILE=<profile>`
    (and `aws sso login` when the session expires);
  - an access key: `export AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=...`
    (and AWS_SESSION_TOKEN for temporary credentials).
The identity needs CloudFormation, IAM (roles of the functions), Lambda, API Gateway, DynamoDB,
SQS, SNS, Secrets Manager, CloudWatch Logs and S3 (SAM's artifact bucket) permissions."""


def stage_settings(stage):
    """The region and stack name `sam deploy --config-env STAGE` will use."""
    with open(os.path.join(os.path.dirname(__file__), "../../samconfig.toml"), "rb") as handle:
        config = tomllib.load(handle)
    if stage not in config:
        sys.exit(f"samconfig.toml has no stage {stage!r}: one of {', '.join(k for k in config if k != 'version')}")
    deploy = config[stage].get("deploy", {}).get("parameters", {})
    shared = config[stage].get("global", {}).get("parameters", {})
    region = deploy.get("region") or shared.get("region") or os.environ.get("AWS_REGION")
    return region, deploy.get("stack_name", "(sam deploy will ask)")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    region, stack = stage_settings(sys.argv[1])
    if not region:
        sys.exit("no AWS region: set `region` in samconfig.toml for this stage, or AWS_REGION")
    session = boto3.Session(region_name=region)
    if session.get_credentials() is None:
        sys.exit(f"no AWS credentials found (nothing was built or deployed).\n{HOW_TO}")
    sts = session.client("sts", config=Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 2}))
    try:
        identity = sts.get_caller_identity()
    except NoCredentialsError:
        sys.exit(f"no AWS credentials found (nothing was built or deployed).\n{HOW_TO}")
    except ClientError as error:
        sys.exit(f"AWS refused these credentials: {error.response['Error']['Message']}\n{HOW_TO}")
    except BotoCoreError as error:
        sys.exit(f"could not reach AWS STS in {region}: {error}")
    print(f"deploying stack {stack} to account {identity['Account']} in {region} as {identity['Arn']}")


if __name__ == "__main__":
    main()
