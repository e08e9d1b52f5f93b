"""Call the emulator with a wrong secret and print the error pyodps raised
as JSON (class, code, request id). Environment as for walkthrough.py.
"""

import json
import os
import sys

from odps import ODPS
from odps.errors import ODPSError


def main():
    o = ODPS(
        os.environ["MC_AK"],
        os.environ["MC_SK"],
        project=os.environ["MC_PROJECT"],
        endpoint=os.environ["MC_ENDPOINT"],
    )
    try:
        names = [t.name for t in o.list_tables()]
        json.dump({"error": None, "tables": names}, sys.stdout)
    except ODPSError as e:
        json.dump(
            {
                "error": {
                    "class": type(e).__name__,
                    "code": getattr(e, "code", None),
                    "request_id": getattr(e, "request_id", None),
                    "message": str(e),
                }
            },
            sys.stdout,
        )


if __name__ == "__main__":
    main()
