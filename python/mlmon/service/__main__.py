"""``python -m mlmon.service``: the same as ``mlmon serve``."""

import argparse
import sys

from mlmon.service.cli import add_serve_arguments, run_serve

parser = argparse.ArgumentParser(prog="python -m mlmon.service", description="Run the mlmon drift service.")
add_serve_arguments(parser)
sys.exit(run_serve(parser.parse_args()))
