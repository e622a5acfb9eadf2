"""Start snmpsim's command responder once what it loads late is already imported.

Run as root, snmpsim drops to --process-user/--process-group before it indexes its data files
(snmpsim/daemon.py, PrivilegesOf); from then on it can no longer read an interpreter installed
under a private folder (a pyenv Python under /root): `dbm.dumb` (its index, dbm.open) and the
codecs it decodes with would fail to import. They are imported here, before the drop.
"""

import codecs
import dbm
import dbm.dumb  # noqa: F401 - index of the data files (snmpsim/record/search/database.py)
import encodings.ascii  # noqa: F401
import encodings.hex_codec  # noqa: F401
import encodings.idna  # noqa: F401
import encodings.latin_1  # noqa: F401
import encodings.utf_8  # noqa: F401
import sys

for _module in ("dbm.gnu", "dbm.ndbm"):
    try:
        __import__(_module)
    except ImportError:
        pass
codecs.lookup("hex")

from snmpsim.commands.responder import main  # noqa: E402

sys.exit(main())
