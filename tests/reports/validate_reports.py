#!/usr/bin/env python3
"""Validates recbias reports with an independent JSON Schema implementation
(Debian's python3-jsonschema), not recbias's built-in validator.

usage: validate_reports.py SCHEMA REPORT_DIR NEWER_THAN [MIN_REPORTS]

Checks SCHEMA against its metaschema (Draft 2020-12), then validates every
*.json report in REPORT_DIR written after the file NEWER_THAN (the recbias
binary: older reports came from an older build) and deletes it once valid.
Exits 1 naming the report and the failing JSON pointer on the first invalid
one, and when fewer than MIN_REPORTS (default 1) were found, so a run that
collected nothing cannot pass.
"""
import json
import os
import sys

import jsonschema


def main() -> int:
    schema_path, report_dir, newer_than = sys.argv[1], sys.argv[2], sys.argv[3]
    minimum = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema)
    try:
        from importlib.metadata import version as package_version
        version = package_version("jsonschema")
    except Exception:  # noqa: BLE001 - the version is only informative
        version = "?"
    print(f"jsonschema {version} from {os.path.dirname(jsonschema.__file__)}; validator {cls.__name__}")
    built = os.path.getmtime(newer_than)
    checked = 0
    names = sorted(os.listdir(report_dir)) if os.path.isdir(report_dir) else []
    for name in names:
        path = os.path.join(report_dir, name)
        if not name.endswith(".json"):
            continue
        if os.path.getmtime(path) < built:
            os.remove(path)  # from an older build
            continue
        with open(path, encoding="utf-8") as f:
            report = json.load(f)
        errors = sorted(validator.iter_errors(report), key=lambda e: list(e.absolute_path))
        if errors:
            e = errors[0]
            pointer = "/" + "/".join(str(p) for p in e.absolute_path)
            print(f"{path}: invalid at {pointer}: {e.message} ({len(errors)} errors)")
            return 1
        checked += 1
        os.remove(path)
    print(f"{checked} reports valid against {schema_path}")
    if checked < minimum:
        print(f"expected at least {minimum} reports in {report_dir}, found {checked}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
