"""Drive the emulator's MaxQA (MCQA 2.0) routes with the official pyodps SDK.

Run by tests/it/pyodps.rs with the environment of walkthrough.py plus
MC_QUOTA (the interactive quota), MC_SCENARIO and, for fallback,
MC_FALLBACK_QUOTA. Scenarios:

* ``read``: ``execute_sql_interactive(..., use_mcqa_v2=True, quota_name=...)``,
  then the inline reader (typed by the ResultDescriptor) and the instance
  tunnel on the ``_mcqa`` id;
* ``truncated``: the inline reader refuses a TRUNCATED result, the tunnel
  reads it all;
* ``fallback``: the service runs the query offline; pyodps still waits for
  it and reads it;
* ``cancel``: ``run_sql_interactive`` on a hanging job, then ``stop()``.

Prints one JSON document; pyodps must be installed.
"""

import datetime
import decimal
import json
import os
import sys

from odps import ODPS


def plain(value):
    if isinstance(value, decimal.Decimal):
        return {"type": "Decimal", "value": str(value)}
    if isinstance(value, (datetime.datetime, datetime.date)):
        return {"type": type(value).__name__, "value": value.isoformat()}
    return {"type": type(value).__name__, "value": value}


def rows(reader):
    return [[plain(v) for v in rec.values] for rec in reader]


def main():
    o = ODPS(
        os.environ["MC_AK"],
        os.environ["MC_SK"],
        project=os.environ["MC_PROJECT"],
        endpoint=os.environ["MC_ENDPOINT"],
    )
    quota = os.environ.get("MC_QUOTA") or None
    scenario = os.environ["MC_SCENARIO"]
    sql = (
        "select id, amount, price, name, flag, day, qty from sales "
        "where ds = '20240102' order by id limit 10"
    )
    out = {"scenario": scenario}
    if scenario == "cancel":
        inst = o.run_sql_interactive(sql, use_mcqa_v2=True, quota_name=quota)
        out["id"] = inst.id
        out["before"] = inst.status.value
        inst.stop()
        inst.reload()
        out["after"] = inst.status.value
        json.dump(out, sys.stdout)
        return
    if scenario == "fallback":
        inst = o.execute_sql_interactive(
            sql,
            use_mcqa_v2=True,
            quota_name=quota,
            fallback=True,
            offline_quota_name=os.environ["MC_FALLBACK_QUOTA"],
        )
    else:
        # pyodps 0.13.2's execute_sql_interactive passes offline_quota_name
        # on to the task when fallback is off, which SQLTask refuses; this
        # is the same thing without that bug.
        inst = o.run_sql_interactive(sql, use_mcqa_v2=True, quota_name=quota)
        inst.wait_for_success()
    out["id"] = inst.id
    out["successful"] = inst.is_successful()
    desc = inst.get_result_descriptor()
    if desc is not None:
        out["select_result_status"] = desc.select_result_status
        out["schema"] = [[c.name, str(c.type).lower()] for c in desc.schema]
    try:
        with inst.open_reader(tunnel=False) as reader:
            out["inline_rows"] = rows(reader)
    except Exception as e:  # pyodps raises NotSupportedError on TRUNCATED
        out["inline_error"] = {"class": type(e).__name__, "message": str(e)}
    with inst.open_reader(tunnel=True) as reader:
        out["tunnel_count"] = reader.count
        out["tunnel_rows"] = rows(reader)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
