"""The AI testbed: benchmark tasks with hidden test sets, scored submissions, leaderboards."""
