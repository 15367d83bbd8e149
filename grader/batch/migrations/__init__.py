"""Alembic's script directory for the gradebook: env.py and one module per revision in versions/.

Run through `grader.batch.migrate.upgrade`, never through the `alembic` command line: the
connection is handed in (`config.attributes["connection"]`), so there is no alembic.ini.
"""
