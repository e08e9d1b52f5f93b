"""List the tables of a project with the given credentials and print the
names, or the error pyodps raised (class, code, request id), as JSON.

Environment as for walkthrough.py; with MC_STS_TOKEN set the key is used
as a temporary (STS) key through pyodps's StsAccount.
"""

import json
import os
import sys

from odps import ODPS
from odps.accounts import StsAccount
from odps.errors import ODPSError


def main():
    token = os.environ.get("MC_STS_TOKEN")
    kwargs = dict(project=os.environ["MC_PROJECT"], endpoint=os.environ["MC_ENDPOINT"])
    if token:
        account = StsAccount(os.environ["MC_AK"], os.environ["MC_SK"], token)
        o = ODPS(account=account, **kwargs)
    else:
        o = ODPS(os.environ["MC_AK"], os.environ["MC_SK"], **kwargs)
    try:
        names = sorted(t.name for t in o.list_tables())
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
