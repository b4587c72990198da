import sys

from fondos.cli import main

sys.exit(main())
