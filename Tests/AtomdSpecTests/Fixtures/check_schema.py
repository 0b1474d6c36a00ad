"""Validates JSON instances against the job schema with the reference
implementation (python-jsonschema, Draft 2020-12).

Reads {"schema": PATH, "instances": {NAME: VALUE}} on stdin and prints
{NAME: [error messages]}: an empty list means the instance is valid.
"""
import json
import sys

import jsonschema

request = json.load(sys.stdin)
with open(request["schema"], encoding="utf-8") as handle:
    schema = json.load(handle)
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
result = {
    name: [error.message for error in validator.iter_errors(instance)]
    for name, instance in request["instances"].items()
}
json.dump(result, sys.stdout)
