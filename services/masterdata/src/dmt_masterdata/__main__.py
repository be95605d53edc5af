import sys

from dmt_masterdata.cli import main

sys.exit(main())
