"""Compute next to the data: sandboxed jobs, executors, credits and output release review."""
