"""`python -m grader.cli`: the `grader` command."""

import sys

from grader.cli.main import main

sys.exit(main())
