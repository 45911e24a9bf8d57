#!/usr/bin/env python3
"""Validate STIX 2.1 JSON files with the OASIS stix2-validator.

Usage: validate.py FILE...

Each FILE holds a bundle, a single STIX object or a JSON list of objects.
Prints "ok FILE" for each valid file (followed by any warnings), or the errors
and warnings prefixed with the file name. Exit status: 0 if every file is
valid, 1 if any file has an error, 2 on bad usage.

Run it with the interpreter of the venv made by scripts/python-env.sh
(integration tests get the full command line in $LIAISON_VALIDATE).
"""

import sys

from stix2validator import ValidationOptions, validate_file


def _results(file_results):
    """Yield (object_id, errors, warnings) for each object of a file."""
    for result in file_results.object_results:
        errors = [str(e) for e in getattr(result, "errors", None) or []]
        if getattr(result, "error", None):  # ValidationErrorResults
            errors.append(result.error)
        warnings = [str(w) for w in getattr(result, "warnings", None) or []]
        yield getattr(result, "object_id", None) or "", errors, warnings


def check(path, options):
    """Validate one file, print the outcome and return True if it is valid."""
    file_results = validate_file(path, options)
    lines = []
    error_count = 0
    if file_results.fatal is not None:
        error_count += 1
        lines.append(f"{path}: error: {file_results.fatal.error}")
    for object_id, errors, warnings in _results(file_results):
        where = f"{path}: {object_id}" if object_id else path
        for message in errors:
            error_count += 1
            lines.append(f"{where}: error: {message}")
        for message in warnings:
            lines.append(f"{where}: warning: {message}")
    valid = file_results.is_valid and error_count == 0
    if valid:
        print(f"ok {path}")
    else:
        print(f"FAILED {path} ({error_count} error(s))")
    for line in lines:
        print(f"  {line}")
    return valid


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    # strict=False: "should" checks are reported as warnings, not errors.
    options = ValidationOptions(version="2.1", strict=False, silent=True)
    failed = [path for path in argv[1:] if not check(path, options)]
    if failed:
        print(f"{len(failed)} of {len(argv) - 1} file(s) failed STIX 2.1 validation", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
