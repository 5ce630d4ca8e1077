"""``python -m mlmon.serving``: the same as ``mlmon serve-model``."""

import argparse
import sys

from mlmon.serving.cli import add_serve_model_arguments, run_serve_model

parser = argparse.ArgumentParser(
    prog="python -m mlmon.serving", description="Run the reference production API."
)
add_serve_model_arguments(parser)
sys.exit(run_serve_model(parser.parse_args()))
