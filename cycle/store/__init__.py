"""Storage of planned items, deliverables, gates and the change log (sqlmodel + alembic).

The only part of cycle/ that touches a database. Repository functions add and flush;
the caller owns the transaction and commits once.
"""
