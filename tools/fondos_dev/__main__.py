import sys

from fondos_dev.cli import main

sys.exit(main())
