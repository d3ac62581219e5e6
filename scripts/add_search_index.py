"""Append the full-text search index DDL (not expressible as SQLAlchemy metadata) to a revision.

Called by regen-initial-migration.sh.  The DDL lives in bitgoeul.catalog.search_index.
"""

import sys
from pathlib import Path

path = Path(sys.argv[1])
text = path.read_text()
text = text.replace(
    "    # ### end Alembic commands ###\n\n\ndef downgrade",
    "    # ### end Alembic commands ###\n    search_index.create(op)\n\n\ndef downgrade",
    1,
)
text = text.replace(
    "def downgrade() -> None:\n", "def downgrade() -> None:\n    search_index.drop(op)\n", 1
)
text = text.replace(
    "import bitgoeul.db.base\n",
    "import bitgoeul.db.base\nfrom bitgoeul.catalog import search_index\n",
    1,
)
path.write_text(text)
