import sys

from dmt_records.cli import main

sys.exit(main())
