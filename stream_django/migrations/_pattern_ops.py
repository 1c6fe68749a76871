"""
Shared by migrations 0003 and 0004: drop the ``varchar_pattern_ops`` indexes
Django adds on PostgreSQL (see 0003). Not a migration: the loader skips
modules whose name starts with ``_``.
"""

from typing import Any


def drop_pattern_ops_indexes(schema_editor: Any, tables: list[str]) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = ANY(%s) AND indexdef LIKE %s",
            [tables, "%varchar_pattern_ops%"],
        )
        names = [row[0] for row in cursor.fetchall()]
    for name in names:
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")
