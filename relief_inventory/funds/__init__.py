"""Relief funds: sources, appropriations to counties, releases checked and approved by
finance, reversals, purchase links to stock receipts, reconciliation and trace.

models.py (tables), services.py (the only writers), balances.py (the sums every rule is
checked against), queries.py (scoped reads, trace), check.py (``relief check``),
reconcile.py (per source, county, kind and level, tied out to the fen).
"""
