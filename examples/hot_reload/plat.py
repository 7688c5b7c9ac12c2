#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""The platform of the seed story, simplified as its author did.

A C platform runs Python business code and, to hot-reload it, deletes every
module a request imported from sys.modules when the request ends. Run it with
the number of requests to serve:

    python plat.py 100

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
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    answer = None
    for _ in range(calls):
        answer = callOne()
    sys.stdout.write("%d calls, the business code said: %s\n" % (calls, answer))


if __name__ == "__main__":
    main()
