import sys

from bench.suite.main import main

sys.exit(main())
