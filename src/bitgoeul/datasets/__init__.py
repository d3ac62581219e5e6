"""Datasets and their versions: the tables and their lookups, below governance."""
