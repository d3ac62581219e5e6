#!/usr/bin/env bash
# While the foundation issue is open the schema has one initial revision; this regenerates it
# from the models.  Once a release exists, add new revisions instead (alembic revision
# --autogenerate) and never edit a published one.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f src/bitgoeul/db/migrations/versions/0001_*.py
BITGOEUL_DATA_DIR="$tmp" python - <<'PY'
from alembic import command
from bitgoeul.config import Settings
from bitgoeul.db.upgrade import alembic_config
command.revision(alembic_config(Settings()), message="initial schema", autogenerate=True,
                 rev_id="0001")
PY
f=$(ls src/bitgoeul/db/migrations/versions/0001_*.py)
python scripts/add_search_index.py "$f"
ruff format -q "$f"
ruff check -q --fix "$f" || true
rm -rf "$tmp"
echo "wrote $f"
