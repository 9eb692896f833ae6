"""Runs benchmarks of bench/ one after the other in this process, so that the system runs and
bare loops several of them read are done once (bench/shared_runs.py):

  python -m bench [--quick] [--out DIR] [benchmark ...]   # all of BENCHMARKS by default

--quick: fewer iterations and seeds, and the point-mass example only (its rows and model), a
smoke run of under 6 minutes on 2 CPUs; Minitaur's rows (3, 7) take its slow start-up and long
episodes, in the full run (or named: `--quick minitaur_budget`).
"""
import importlib
import time

from bench import common

# In an order that lets the later ones reuse the earlier ones' runs.
BENCHMARKS = ('efficiency', 'sync_overhead', 'time_to_target', 'performance_model', 'startup',
              'memory', 'minitaur_budget')
MINITAUR_ONLY = ('minitaur_budget',)


def main():
  parser = common.argument_parser(__doc__)
  parser.add_argument('benchmarks', nargs='*', metavar='benchmark',
                      help=f'any of {", ".join(BENCHMARKS)} (default: all)')
  args = parser.parse_args()
  unknown = sorted(set(args.benchmarks) - set(BENCHMARKS))
  if unknown:
    parser.error(f'unknown benchmark {", ".join(unknown)}; choose from {", ".join(BENCHMARKS)}')
  print(common.machine_description(), flush=True)
  start = time.monotonic()
  default = [name for name in BENCHMARKS if not (args.quick and name in MINITAUR_ONLY)]
  for name in args.benchmarks or default:
    print(f'== {name} ({time.strftime("%H:%M:%S", time.gmtime())} UTC)', flush=True)
    importlib.import_module(f'bench.{name}').main(args)
  print(f'== all done in {(time.monotonic() - start) / 60:.1f} min', flush=True)


if __name__ == '__main__':
  main()
