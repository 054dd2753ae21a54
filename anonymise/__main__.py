"""``python -m anonymise``: the same as the ``anonymise`` command."""

from __future__ import annotations

from anonymise.cli import main

raise SystemExit(main())
