"""``python -m governor`` is the ``governor`` command."""

from governor.cli import main

raise SystemExit(main())
