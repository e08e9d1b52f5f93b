"""Drive the MaxCompute emulator with the official pyodps SDK.

Run by tests/it/pyodps.rs, which starts the emulator, fills a table and
passes MC_ENDPOINT, MC_AK, MC_SK, MC_PROJECT (and ODPS_REGION_NAME for V4
signatures). Prints one JSON document with what pyodps saw; the Rust test
asserts on it. pyodps must be installed: a missing SDK is an ImportError and
a failed test, never a skip.
"""

import base64
import datetime
import decimal
import json
import os
import sys

from odps import ODPS
from odps.errors import ODPSError


def plain(value):
    """A JSON-safe rendering of a value read by pyodps, with its type."""
    if isinstance(value, decimal.Decimal):
        text = str(value)
    elif isinstance(value, (datetime.datetime, datetime.date)):
        text = value.isoformat()
    elif isinstance(value, bytes):
        text = base64.b64encode(value).decode()
    elif isinstance(value, list):
        return {"type": "list", "value": [plain(v) for v in value]}
    elif isinstance(value, dict):
        return {"type": "dict", "value": {str(k): plain(v) for k, v in value.items()}}
    elif isinstance(value, tuple) and hasattr(value, "_asdict"):
        fields = value._asdict()
        return {"type": "struct", "value": {k: plain(v) for k, v in fields.items()}}
    else:
        text = value
    return {"type": type(value).__name__, "value": text}


def column(c):
    return {"name": c.name, "type": str(c.type).lower(), "comment": c.comment}


def main():
    o = ODPS(
        os.environ["MC_AK"],
        os.environ["MC_SK"],
        project=os.environ["MC_PROJECT"],
        endpoint=os.environ["MC_ENDPOINT"],
    )
    out = {}
    out["tables"] = sorted(t.name for t in o.list_tables())
    out["projects"] = sorted(p.name for p in o.list_projects())
    out["exists"] = [o.exist_table("sales"), o.exist_table("nope")]

    t = o.get_table("sales")
    schema = t.table_schema
    out["table_comment"] = t.comment
    out["columns"] = [column(c) for c in schema.simple_columns]
    out["partition_keys"] = [column(c) for c in schema.partitions]
    out["partitions"] = [str(p.partition_spec) for p in t.partitions]

    sql = (
        "select id, amount, price, name, code, flag, created, day, tiny, qty, "
        "small, ratio, tag, raw, tags, ds from sales "
        "where ds = max_pt('sales') order by id limit 10"
    )
    inst = o.execute_sql(sql)
    with inst.open_reader() as reader:
        out["tunnel_count"] = reader.count
        out["tunnel_rows"] = [[plain(v) for v in rec.values] for rec in reader]
    with inst.open_reader(tunnel=False) as reader:
        out["result_rows"] = [[plain(v) for v in rec.values] for rec in reader]

    inst = o.execute_sql("select id, attrs, info, history from profiles order by id limit 10")
    with inst.open_reader() as reader:
        out["complex_rows"] = [[plain(v) for v in rec.values] for rec in reader]

    cost = o.execute_sql_cost("select id from sales where ds = '20240102'")
    out["cost"] = {
        "input_size": cost.input_size,
        "udf_num": cost.udf_num,
        "complexity": cost.complexity,
    }

    try:
        o.execute_sql(
            "select id from sales", hints={"odps.sql.allow.fullscan": "false"}
        )
        out["fullscan_error"] = None
    except ODPSError as e:
        out["fullscan_error"] = {"class": type(e).__name__, "message": str(e)}

    try:
        o.execute_sql("select nope from sales where ds = '20240101'")
        out["bad_column_error"] = None
    except ODPSError as e:
        out["bad_column_error"] = {"class": type(e).__name__, "message": str(e)}

    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
