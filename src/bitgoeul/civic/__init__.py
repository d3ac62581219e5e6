"""Civic problems: residents' problems that the city turns into AI challenges.

A resident posts a problem, others support it; enough support (a share of the hub's active
users, never fewer than a floor) sends it to the city's triage, which answers by a deadline:
accepted (a department takes it), declined with a reason, or merged into another problem.  An
accepted problem becomes a challenge: the department and an operator agree a metric and an
indicator, the data-readiness check lists what could serve it, and it opens as a testbed task
organised by the department.  The pilot that follows is tracked by the agreed indicator,
measured from an open dataset through the SQL gateway, never typed in.

``states`` holds the state machine (the table of allowed transitions, pure), ``photos`` the
check of uploaded photos (pure), then the usual shape: ``models``, ``schemas``, ``queries``,
``actions`` (every write; each transition audited), ``api``.  Civic imports accounts, catalog,
testbed, query, governance (notifications) and audit; none of them imports civic.
"""
