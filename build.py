#!/usr/bin/env python3
"""Kakehashi's command line: build, serve, check, pdf and import a bilingual cited report."""

from __future__ import annotations

import sys

from kakehashi.cli import main

if __name__ == "__main__":
    sys.exit(main())
