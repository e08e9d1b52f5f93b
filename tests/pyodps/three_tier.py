"""Use a 3-tier (schema-enabled) project through pyodps: list the tables
of one schema, read a table's schema and run a query in that schema
context, printing what pyodps saw as JSON. Environment as for
walkthrough.py plus MC_SCHEMA.
"""

import json
import os
import sys

from odps import ODPS


def main():
    o = ODPS(
        os.environ["MC_AK"],
        os.environ["MC_SK"],
        project=os.environ["MC_PROJECT"],
        endpoint=os.environ["MC_ENDPOINT"],
        schema=os.environ["MC_SCHEMA"],
    )
    schema = os.environ["MC_SCHEMA"]
    # pyodps 0.13.2 lists and looks up in `default` unless told the schema
    # (its `schema=` sets the SQL default schema and `curr_schema`).
    out = {"tables": sorted(t.name for t in o.list_tables(schema=schema))}
    table = o.get_table("visits", schema=schema)
    out["columns"] = [c.name for c in table.table_schema.columns]
    inst = o.execute_sql("select page from visits order by visit_id limit 10")
    with inst.open_reader() as reader:
        out["rows"] = [list(rec.values) for rec in reader]
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
