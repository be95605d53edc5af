import sys

from dmt_auth.cli import main

sys.exit(main())
