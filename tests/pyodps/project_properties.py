"""Read project properties the way pyodps does and print them as JSON.

`Project.get_property` reloads the project with `?properties=all` and reads
the `<Properties>` of that document. Environment as for walkthrough.py.
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
    project = o.get_project()
    out = {
        "fullscan": project.get_property("odps.sql.allow.fullscan", None),
        "schemas": project.get_property("odps.schema.model.enabled", None),
        "all": sorted(project.properties),
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
