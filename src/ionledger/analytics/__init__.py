"""Analytics: fact tables derived from the ledger, and the engines the reports run on.

:mod:`facts` keeps the fact tables (docs/analytics.md) up to date; :mod:`engines` opens them as
Ibis tables on SQLite, PostgreSQL, DuckDB or Spark; :mod:`export` writes them as Parquet.
"""
