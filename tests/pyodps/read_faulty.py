"""Read a query result through the instance tunnel while the emulator
damages the stream, and print what pyodps raised as JSON (class name and
message), or the rows when nothing was wrong. Environment as for
walkthrough.py.
"""

import json
import os
import sys

from odps import ODPS, options


def main():
    # One attempt: a damaged stream must surface, not be retried away.
    options.retry_times = 0
    o = ODPS(
        os.environ["MC_AK"],
        os.environ["MC_SK"],
        project=os.environ["MC_PROJECT"],
        endpoint=os.environ["MC_ENDPOINT"],
    )
    inst = o.execute_sql("select customer_id, region_code from customers")
    try:
        with inst.open_reader() as reader:
            rows = [list(rec.values) for rec in reader]
        json.dump({"error": None, "rows": rows}, sys.stdout)
    except Exception as e:  # the point is to report whatever pyodps raises
        json.dump({"error": {"class": type(e).__name__, "message": str(e)}}, sys.stdout)


if __name__ == "__main__":
    main()
