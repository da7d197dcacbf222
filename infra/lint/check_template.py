"""Checks a SAM template offline: cfn-lint on the template, then the SAM transform expanded to
plain CloudFormation (as `sam deploy` would submit it) and cfn-lint on that expansion.

cfn-lint alone misses SAM-level mistakes (an undefined !Ref in a function's environment or
policy, a wrong runtime, a misspelled FunctionResponseTypes, an out-of-range BatchSize); the
expansion turns them into CloudFormation that cfn-lint does check.

usage: check_template.py TEMPLATE [EXPANDED_OUTPUT]
"""

import json
import os
import subprocess
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

PLACEHOLDER_CODE = "s3://invoicer-lint-placeholder/code.zip"


class OfflinePolicyLoader:
    """Managed policies are named by ARN in our template, so nothing needs IAM."""

    def load(self):
        return {}


def with_placeholder_code(template):
    """Local CodeUri values cannot be expanded offline; an S3 URI stands in for them."""
    globals_function = template.get("Globals", {}).get("Function", {})
    if "CodeUri" in globals_function:
        globals_function["CodeUri"] = PLACEHOLDER_CODE
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            properties = resource.setdefault("Properties", {})
            if "CodeUri" in properties or "CodeUri" not in globals_function:
                properties["CodeUri"] = PLACEHOLDER_CODE
    return template


def cfn_lint(path, *extra):
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "cfn-lint"), *extra, path]).returncode


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    source = sys.argv[1]
    expanded_path = sys.argv[2] if len(sys.argv) == 3 else "target/lint/template.expanded.json"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

    failed = cfn_lint(source) != 0
    with open(source) as handle:
        template = with_placeholder_code(yaml_parse(handle.read()))
    try:
        expanded = transform(template, {}, OfflinePolicyLoader())
    except Exception as error:  # the translator reports template errors as exceptions
        print(f"{source}: the SAM transform failed: {error}", file=sys.stderr)
        sys.exit(1)
    os.makedirs(os.path.dirname(expanded_path) or ".", exist_ok=True)
    with open(expanded_path, "w") as handle:
        json.dump(expanded, handle, indent=2)
    # The transform inlines the parameters it resolves itself (CORS origins), which leaves them
    # "unused" in the expansion only; W2001 is checked on the template above.
    failed = cfn_lint(expanded_path, "--ignore-checks=W2001") != 0 or failed
    if failed:
        sys.exit(1)
    print(f"{source}: cfn-lint clean, on the template and on its expansion")


if __name__ == "__main__":
    main()
