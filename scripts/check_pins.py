"""Whether the Python running this script is one the project runs on: Python 3.11 with every pin
of requirements.lock installed at exactly its version.

Usage: <python to check> scripts/check_pins.py <requirements.lock>
Prints nothing and exits 0 if it is; otherwise prints the first problem in one line, e.g.
`does not satisfy requirements.lock: tensorflow is 2.14.0, needs 2.15.1`, and exits 1.
scripts/setup_env.sh runs it with SAC_PYTHON. Standard library only, and no f-strings: it runs
inside the interpreter it checks, which may be any Python, and must say so when that is the wrong one.
"""
import platform
import re
import sys

PYTHON = (3, 11)
# name, optional [extras], ==version: a line of requirements.lock or of environment.yml's pip list.
PIN = re.compile(r'^\s*-?\s*([A-Za-z0-9_.\-]+)(\[[a-z,]+\])?==(\S+)\s*$')


def normalize(name):
  """Distribution names compare as the packaging spec says: case aside, runs of -, _ and . equal."""
  return re.sub(r'[-_.]+', '-', name).lower()


def pins(path):
  """{normalized name: version} of every pin in the file, in the file's order."""
  found = {}
  with open(path) as f:
    for line in f:
      match = PIN.match(line)
      if match:
        found[normalize(match.group(1))] = match.group(3)
  return found


def first_problem(lock_path):
  if sys.version_info[:2] != PYTHON:
    return 'is Python {}, needs {}.{}'.format(platform.python_version(), *PYTHON)
  import importlib.metadata  # pylint: disable=g-import-not-at-top  (Python >= 3.8 only)
  installed = {}
  for distribution in importlib.metadata.distributions():
    name = distribution.metadata['Name']
    if name:  # the first one on sys.path is the one that imports
      installed.setdefault(normalize(name), distribution.version)
  for name, version in pins(lock_path).items():
    if installed.get(name) != version:
      return 'does not satisfy requirements.lock: {} is {}, needs {}'.format(
          name, installed.get(name, 'not installed'), version)
  return None


if __name__ == '__main__':
  problem = first_problem(sys.argv[1])
  if problem:
    print(problem)
    sys.exit(1)
