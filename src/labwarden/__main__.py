import sys

from labwarden.cli import main

sys.exit(main())
