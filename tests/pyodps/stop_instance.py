"""Start a query that never finishes (the emulator is told to hang it),
stop it with pyodps, and print the statuses pyodps reads back as JSON.

Environment as for walkthrough.py.
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
    )
    inst = o.run_sql("select id from sales where ds = '20240101'")
    before = inst.status.value
    inst.stop()
    inst.reload()
    statuses = {name: s.status.value for name, s in inst.get_task_statuses().items()}
    json.dump(
        {"id": inst.id, "before": before, "after": inst.status.value, "tasks": statuses},
        sys.stdout,
    )


if __name__ == "__main__":
    main()
