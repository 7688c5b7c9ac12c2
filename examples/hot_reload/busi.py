#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""The business code of the seed story: one harmless-looking import.

Importing logging.handlers imports logging, which registers logging.shutdown
with atexit (and, on 3.7+, lock handlers with os.register_at_fork). Once the
platform drops the modules, those registrations are all that keep each copy
of the logging package alive.
"""

from logging.handlers import RotatingFileHandler  # noqa: F401


def run():
    return "wow, i am ok"
