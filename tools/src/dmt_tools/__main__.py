import sys

from dmt_tools.cli import main

sys.exit(main())
