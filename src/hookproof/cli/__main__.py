"""``python -m hookproof.cli``: the ``hookproof`` command."""

from hookproof.cli import main

raise SystemExit(main())
