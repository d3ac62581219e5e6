"""``python -m bitgoeul.cli``: the same as the ``bitgoeul`` command."""

from bitgoeul.cli import app

app(prog_name="bitgoeul")
