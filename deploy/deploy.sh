#!/usr/bin/env sh
# The CI entry of a model deploy: train (or fetch) the artifact, then `mlmon deploy`.
# Exit codes: 0 deployed or nothing to do, 2 a quality gate failed, 3 infrastructure, 4 bad input.
# Secrets come from the environment only: MLMON_DATABASE_URL, MLMON_ADMIN_TOKEN,
# MLMON_SERVING_ADMIN_TOKEN, MLMON_DEPLOY_WEBHOOK_URL (or MLMON_SLACK_WEBHOOK_URL).
# GITHUB_SHA (or CI_COMMIT_SHA...) is recorded as the version's git sha.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
python="${PYTHON:-python}"
config="${MLMON_DEPLOY_CONFIG:-$here/deploy.toml}"

"$python" "$here/train.py" --out "$here/artifacts"
exec "$python" -m mlmon.cli deploy --config "$config" "$@"
