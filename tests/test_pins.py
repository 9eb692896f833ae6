import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PIN = re.compile(r'^\s*-?\s*([A-Za-z0-9_.\-]+)(\[[a-z,]+\])?==(\S+)\s*$')


def pins(path):
  found = {}
  with open(os.path.join(REPO, path)) as f:
    for line in f:
      match = PIN.match(line)
      if match:
        found[match.group(1).lower().replace('_', '-')] = match.group(3)
  return found


def test_every_requirement_is_pinned_exactly():
  with open(os.path.join(REPO, 'requirements.lock')) as f:
    lines = [l for l in f if l.strip() and not l.startswith('#')]
  assert lines and all(PIN.match(l) for l in lines), [l for l in lines if not PIN.match(l)]


def test_environment_yml_has_the_same_pins_as_the_lock():
  assert pins('environment.yml') == pins('requirements.lock')


def test_the_stack_the_project_promises():
  lock = pins('requirements.lock')
  assert lock['tensorflow'].startswith('2.15.')
  assert lock['tf-agents'] == '0.19.0'
  assert lock['dm-reverb'] == '0.14.0'
  assert lock['tensorflow-probability'].startswith('0.23')
  assert int(lock['numpy'].split('.')[0]) < 2
  for name in ('pybullet', 'absl-py', 'imageio', 'imageio-ffmpeg'):
    assert name in lock
