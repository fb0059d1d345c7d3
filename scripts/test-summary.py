#!/usr/bin/env python3
"""Prints 'N passed, N failed' (and skipped) over Meson test logs; exits 1 on
any failure or when no test ran. Meson's own output has no such line."""
import json
import sys

PASSED = {"OK", "EXPECTEDFAIL"}
SKIPPED = {"SKIP"}


def main(paths):
    passed = failed = skipped = 0
    for path in paths:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                result = json.loads(line)["result"]
                if result in PASSED:
                    passed += 1
                elif result in SKIPPED:
                    skipped += 1
                else:
                    failed += 1
                    print(f"FAILED ({path}): {json.loads(line)['name']} -> {result}")
    tail = f", {skipped} skipped" if skipped else ""
    print(f"{passed} passed, {failed} failed{tail}")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
