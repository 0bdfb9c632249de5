"""`python -m mtor_server.cli`: how tests, benchmarks and `mtor up` start the command."""
import sys

from . import main

sys.exit(main())
