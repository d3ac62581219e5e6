"""Programmes: support for startups (credits, data access help, testbed sponsorship) and the
academy (courses, cohorts, enrolments, auto-graded labs)."""
