#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""The platform of the seed story, simplified as its author did.

A C platform runs Python business code and, to hot-reload it, deletes every
module a request imported from sys.modules when the request ends. Run it with
the number of requests to serve:

    python plat.py 100

With --prompt it then waits at a prompt, as the seed's platform does, so
that `refgraph attach PID` can snapshot it while it runs.

It runs unchanged on Python 2.7 and 3.x.
"""

import sys


def callOne():
    # Remember what was loaded before the request.
    origList = set(sys.modules)
    try:
        # Call the business code.
        import busi
        return busi.run()
    finally:
        # Unload every module the business code loaded.
        for modName in list(sys.modules.keys()):
            if modName not in origList:
                del sys.modules[modName]


def main():
    args = [a for a in sys.argv[1:] if a != "--prompt"]
    calls = int(args[0]) if args else 100
    answer = None
    for _ in range(calls):
        answer = callOne()
    sys.stdout.write("%d calls, the business code said: %s\n" % (calls, answer))
    if "--prompt" in sys.argv[1:]:
        sys.stdout.flush()
        ask = raw_input if sys.version_info[0] == 2 else input  # noqa: F821
        ask("press <ENTER> to exit")


if __name__ == "__main__":
    main()
