"""What a command's result must look like: success, or one ``Error: ...`` line and exit 1."""

from __future__ import annotations

from typer.testing import Result


def ok(result: Result) -> str:
    """The output of a command that must have succeeded."""
    assert result.exit_code == 0, result.output
    return result.output


def refused(result: Result) -> str:
    """The one error line of a command that must have been refused (exit 1, no traceback)."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: "), result.output
    return lines[0]
