#!/usr/bin/env bash
# The recbias GitHub Action's work (action.yml runs it): install recbias,
# audit, gate, write the Markdown summary to $GITHUB_STEP_SUMMARY, optionally
# create or update ONE pull-request comment (found by a marker), and record
# the files and the gate's exit code in $GITHUB_OUTPUT. It always exits 0
# once the audit ran, so the upload step still runs; action.yml's last step
# exits with the gate's code. Exit 2 for bad inputs, the audit's own code
# when the audit fails.
#
# Inputs (environment, as action.yml passes them):
#   INPUT_ADAPTER, INPUT_DATASET (required unless INPUT_CONFIG sets them),
#   INPUT_AUDIT_ARGS (extra audit flags, split on whitespace), INPUT_CONFIG
#   (a TOML audit config), INPUT_POLICY, INPUT_BASELINE, INPUT_COMMENT
#   ("true": sticky PR comment), INPUT_GITHUB_TOKEN, INPUT_PACKAGE (a
#   recbias .deb to install), INPUT_RECBIAS (a recbias executable to use),
#   INPUT_OUTPUT_DIR (default $RUNNER_TEMP/recbias).
# GitHub's: GITHUB_STEP_SUMMARY, GITHUB_OUTPUT, GITHUB_EVENT_NAME,
#   GITHUB_EVENT_PATH, GITHUB_REPOSITORY, GITHUB_API_URL, GITHUB_ACTION_PATH.
set -euo pipefail

die() { echo "recbias action: $*" >&2; exit 2; }
MARKER="<!-- recbias-report -->"
OUT="${INPUT_OUTPUT_DIR:-${RUNNER_TEMP:-/tmp}/recbias}"
mkdir -p "$OUT"
: "${GITHUB_STEP_SUMMARY:?not running under GitHub Actions: GITHUB_STEP_SUMMARY is not set}"
: "${GITHUB_OUTPUT:?not running under GitHub Actions: GITHUB_OUTPUT is not set}"
[ -n "${INPUT_ADAPTER:-}${INPUT_CONFIG:-}" ] || die "input adapter (or config) is required"
[ -n "${INPUT_DATASET:-}${INPUT_CONFIG:-}" ] || die "input dataset (or config) is required"
for f in "${INPUT_CONFIG:-}" "${INPUT_POLICY:-}" "${INPUT_BASELINE:-}" "${INPUT_PACKAGE:-}"; do
  [ -z "$f" ] || [ -e "$f" ] || die "input file $f does not exist"
done

# --- recbias: given, from a package, or built from the action's checkout ----------
if [ -n "${INPUT_RECBIAS:-}" ]; then
  RECBIAS="$INPUT_RECBIAS"
elif [ -n "${INPUT_PACKAGE:-}" ]; then
  apt-get install -y -q "$(realpath "$INPUT_PACKAGE")" >/dev/null
  RECBIAS=recbias
elif command -v recbias >/dev/null; then
  RECBIAS=recbias
else
  ROOT="${GITHUB_ACTION_PATH:?}/.."
  source "$ROOT/scripts/common.sh"
  install_missing
  build --target recbias
  RECBIAS="$BUILD_DIR/cli/recbias"
fi
"$RECBIAS" --version >/dev/null || die "$RECBIAS does not run"

# --- the audit ------------------------------------------------------------------------
args=(audit --out "$OUT/report.json" --html "$OUT/report.html" --md "$OUT/summary.md" --force)
[ -z "${INPUT_CONFIG:-}" ] || args=(--config "$INPUT_CONFIG" "${args[@]}")
[ -z "${INPUT_ADAPTER:-}" ] || args+=(--adapter "$INPUT_ADAPTER")
[ -z "${INPUT_DATASET:-}" ] || args+=(--dataset "$INPUT_DATASET")
# shellcheck disable=SC2206  # flags split on whitespace, as documented
[ -z "${INPUT_AUDIT_ARGS:-}" ] || args+=(${INPUT_AUDIT_ARGS})
set +e
"$RECBIAS" "${args[@]}" > "$OUT/audit.txt"
audit_code=$?
set -e
cat "$OUT/audit.txt"
# 0: done; 3: stopped by a budget (the report says INCOMPLETE and the gate will not pass).
if [ "$audit_code" -ne 0 ] && [ "$audit_code" -ne 3 ]; then
  echo "recbias action: the audit failed with exit code $audit_code" >&2
  exit "$audit_code"
fi

# --- the gate and the summary --------------------------------------------------------------
gate_code=0
render=(report "$OUT/report.json" --format md --force -o "$OUT/comment.md")
if [ -n "${INPUT_POLICY:-}" ]; then
  gate=(gate --policy "$INPUT_POLICY" "$OUT/report.json")
  [ -z "${INPUT_BASELINE:-}" ] || gate+=(--baseline "$INPUT_BASELINE")
  set +e
  "$RECBIAS" "${gate[@]}" > "$OUT/gate.txt"
  gate_code=$?
  set -e
  cat "$OUT/gate.txt"
  [ "$gate_code" -le 3 ] || die "the gate failed with exit code $gate_code"
  [ "$gate_code" -ne 2 ] || die "the gate rejected its input (exit 2): $(tail -n 1 "$OUT/gate.txt")"
  render+=(--policy "$INPUT_POLICY")
elif [ "$audit_code" -eq 3 ]; then
  gate_code=3
fi
[ -z "${INPUT_BASELINE:-}" ] || render+=(--baseline "$INPUT_BASELINE")
"$RECBIAS" "${render[@]}"
cat "$OUT/comment.md" >> "$GITHUB_STEP_SUMMARY"

{
  echo "report=$OUT/report.json"
  echo "html=$OUT/report.html"
  echo "summary=$OUT/comment.md"
  echo "gate-exit-code=$gate_code"
} >> "$GITHUB_OUTPUT"

# --- the sticky pull-request comment -----------------------------------------------------------
if [ "${INPUT_COMMENT:-false}" = "true" ]; then
  [ "${GITHUB_EVENT_NAME:-}" = "pull_request" ] || [ "${GITHUB_EVENT_NAME:-}" = "pull_request_target" ] || {
    echo "recbias action: comment=true, but this is a ${GITHUB_EVENT_NAME:-unknown} event, not a pull request: no comment"; exit 0; }
  [ -n "${INPUT_GITHUB_TOKEN:-}" ] || die "comment=true needs the github-token input"
  python3 - "$OUT/comment.md" "$MARKER" <<'PY'
import json, os, sys, urllib.request
body_file, marker = sys.argv[1], sys.argv[2]
with open(os.environ["GITHUB_EVENT_PATH"]) as f:
    number = json.load(f)["pull_request"]["number"]
api = os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
repo = os.environ["GITHUB_REPOSITORY"]
headers = {"Authorization": "Bearer " + os.environ["INPUT_GITHUB_TOKEN"], "Accept": "application/vnd.github+json",
           "X-GitHub-Api-Version": "2022-11-28", "User-Agent": "recbias-action"}
def call(method, url, payload=None):
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={**headers, **({"Content-Type": "application/json"} if data else {})})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")
with open(body_file, encoding="utf-8") as f:
    body = marker + "\n" + f.read()
existing = None
page = 1
while existing is None:
    comments = call("GET", f"{api}/repos/{repo}/issues/{number}/comments?per_page=100&page={page}")
    existing = next((c for c in comments if marker in (c.get("body") or "")), None)
    if len(comments) < 100:
        break
    page += 1
if existing:
    call("PATCH", f"{api}/repos/{repo}/issues/comments/{existing['id']}", {"body": body})
    print(f"recbias action: updated comment {existing['id']} on pull request #{number}")
else:
    made = call("POST", f"{api}/repos/{repo}/issues/{number}/comments", {"body": body})
    print(f"recbias action: commented on pull request #{number} (comment {made.get('id')})")
PY
fi
exit 0
