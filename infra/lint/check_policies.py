"""Least privilege, read off the expanded template (what IAM will actually get):

- a function whose every route is a GET has no write action;
- only functions given the submissions queue (SUBMISSIONS_QUEUE_URL) may send to it, only those
  given the webhooks queue (WEBHOOKS_QUEUE_URL) to that one, and nobody to another queue;
- only the functions given PROVIDER_SECRET_ID (the worker and the dead-letter handler, which
  submit and look invoices up, the one behind /v1/organization/provider, which reads the
  numbering ranges, and the one behind an accepted invoice's documents, which downloads and
  emails them) may read the deployment's provider credentials;
- only the function behind /v1/organization/provider (which also serves the organization's
  numbering ranges and their defaults) may create, replace or delete secrets, and
  only organizations' provider account secrets (their ARN pattern, under the stage's prefix);
  nobody touches those without being given their prefix (PROVIDER_ACCOUNTS_PREFIX);
- no inline statement grants a wildcard action or resource, and no role carries a managed policy
  but the two every function needs (its logs, its X-Ray traces): SAM's AWSLambdaSQSQueueExecutionRole,
  for one, may read every queue of the account.

usage: check_policies.py TEMPLATE EXPANDED_JSON
"""

import json
import re
import sys

from samtranslator.yaml_helper import yaml_parse

SECRET_WRITES = {
    "secretsmanager:CreateSecret", "secretsmanager:PutSecretValue", "secretsmanager:DeleteSecret",
    "secretsmanager:UpdateSecret", "secretsmanager:RestoreSecret", "secretsmanager:PutResourcePolicy",
    "secretsmanager:DeleteResourcePolicy", "secretsmanager:UpdateSecretVersionStage",
}
WRITES = {
    "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
    "sqs:SendMessage", "sqs:DeleteMessage",
} | SECRET_WRITES

ACCOUNTS = ":secret:invoicer/${AWS::StackName}/provider-accounts/*"
CONNECT = "/v1/organization/provider"
CONNECTS = {CONNECT, "/v1/organization/numbering-ranges", "/v1/organization"}
PROVIDER_SECRET = ("ProviderCredentials", "ProviderSecretArn")
# The queues functions send to, and the variable that gives a function each one's URL.
QUEUES = {"SubmissionsQueue": "SUBMISSIONS_QUEUE_URL", "WebhooksQueue": "WEBHOOKS_QUEUE_URL"}
MANAGED_POLICIES_ALLOWED = ("service-role/AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess")


def statements(role):
    for policy in role["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            actions = statement["Action"]
            yield ([actions] if isinstance(actions, str) else actions), statement["Resource"]


def mentions(value, names):
    text = json.dumps(value)
    return any(f'"{name}"' in text for name in names)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as handle:
        template = yaml_parse(handle.read())
    with open(sys.argv[2]) as handle:
        expanded = json.load(handle)["Resources"]
    problems = []
    functions = {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}
    for name, function in functions.items():
        properties = function["Properties"]
        events = properties.get("Events", {}).values()
        methods = [e["Properties"].get("Method", "ANY").upper() for e in events if e["Type"] == "HttpApi"]
        read_only = bool(methods) and all(method == "GET" for method in methods)
        paths = {e["Properties"].get("Path") for e in events if e["Type"] == "HttpApi"}
        variables = properties.get("Environment", {}).get("Variables", {})
        role = expanded[f"{name}Role"]
        for arn in role["Properties"].get("ManagedPolicyArns", []):
            policy = re.search(r":policy/([\w/+=,.@-]+)", json.dumps(arn))
            if not policy or policy.group(1) not in MANAGED_POLICIES_ALLOWED:
                problems.append(f"{name} has the managed policy {arn}")
        for actions, resource in statements(role):
            for action in actions:
                if "*" in action or resource == "*":
                    problems.append(f"{name}: {action} on {resource} is a wildcard")
                if read_only and action in WRITES:
                    problems.append(f"{name} only reads (GET) but may {action}")
                if action == "sqs:SendMessage":
                    for queue, variable in QUEUES.items():
                        if mentions(resource, [queue]) and variable not in variables:
                            problems.append(f"{name} may send messages to {queue} but is not given its {variable}")
                    if not any(mentions(resource, [queue]) for queue in QUEUES):
                        problems.append(f"{name} may send messages to a queue that is not one of {sorted(QUEUES)}")
                if action == "secretsmanager:GetSecretValue" and mentions(resource, PROVIDER_SECRET) \
                        and "PROVIDER_SECRET_ID" not in variables:
                    problems.append(f"{name} may read the provider's credentials")
                text = json.dumps(resource)
                on_accounts = ACCOUNTS in text
                # A secret named by pattern must be exactly the organizations' accounts: nothing
                # broader (secret:*, secret:invoicer/*) slips through.
                if ":secret:" in text and not on_accounts:
                    problems.append(f"{name}: {action} on {resource} names secrets by a pattern")
                if action in SECRET_WRITES and (CONNECT not in paths or not paths <= CONNECTS or not on_accounts):
                    problems.append(f"{name} may {action} on {resource}")
                if on_accounts and "PROVIDER_ACCOUNTS_PREFIX" not in variables:
                    problems.append(f"{name} may {action} organizations' provider accounts but has not their prefix")
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"{sys.argv[1]}: every function's policy grants only what it uses ({len(functions)} functions)")


if __name__ == "__main__":
    main()
