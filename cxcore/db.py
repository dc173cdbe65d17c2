"""Set-based writes shared by the ground-floor apps: many rows, few round trips."""

from __future__ import annotations

import json
from collections.abc import Sequence

from django.db import connection


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def values_in(column: str, values: list) -> tuple[str, list]:
    """SQL and params for `column IN values`, as one array parameter on PostgreSQL.

    Thousands of `%s` placeholders cost more to build and parse than the lookup itself;
    `= ANY(%s)` sends the list as one value. SQLite has no arrays and keeps IN.
    """
    if is_postgresql():
        return f"{column} = ANY(%s)", [list(values)]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def insert_rows(model, columns: Sequence[str], rows: Sequence[tuple]) -> list[int]:
    """Insert rows (tuples in `columns` order, attnames) and return their new ids, in order.

    On PostgreSQL the ids are taken from the sequence in one query and the rows go in by COPY,
    which is several times faster than multi-row INSERT; elsewhere bulk_create does the work.
    Must run inside the caller's transaction so that a failure leaves nothing behind.
    """
    if not rows:
        return []
    if is_postgresql():
        return _copy_rows(model, columns, rows)
    objs = [model(**dict(zip(columns, row, strict=True))) for row in rows]
    model.objects.bulk_create(objs, batch_size=2000)
    return [obj.pk for obj in objs]


def _copy_rows(model, columns, rows) -> list[int]:
    table = model._meta.db_table
    json_columns = {
        f.attname for f in model._meta.concrete_fields if f.get_internal_type() == "JSONField"
    }
    json_positions = [i for i, c in enumerate(columns) if c in json_columns]
    quoted = ", ".join(connection.ops.quote_name(c) for c in ["id", *columns])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, len(rows)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        # Translate psycopg's errors into Django's (IntegrityError…), as the ORM would.
        with (
            connection.wrap_database_errors,
            raw.copy(f"COPY {connection.ops.quote_name(table)} ({quoted}) FROM STDIN") as copy,
        ):
            if json_positions:
                for new_id, row in zip(ids, rows, strict=True):
                    values = list(row)
                    for i in json_positions:
                        values[i] = json.dumps(values[i], ensure_ascii=False)
                    copy.write_row((new_id, *values))
            else:
                for new_id, row in zip(ids, rows, strict=True):
                    copy.write_row((new_id, *row))
    return ids
