import os
import sys

TESTS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(TESTS)
# The package, and the harness (training_run, slurm_cluster) the tests of tests/system/ share.
sys.path[:0] = [REPO, TESTS]
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
