"""Starts a remote worker's srun step in place of an earlier step of the same worker.

An srun killed with SIGKILL (by a user, the OOM killer) cannot pass the signal on to its step,
so the worker it started goes on running on its node while supervise starts a second one. The
worker's service runs this before every srun: it cancels the job's steps that carry the
worker's step name, then becomes srun.

Usage: python -m tfagents_system.launcher.srun_step <step name> srun ... --job-name=<step name> ...
"""
import os
import subprocess
import sys
from typing import List, Sequence

SLURM_TIMEOUT_S = 30


def steps_named(job_id: str, name: str) -> List[str]:
  """The ids (JOB.STEP) of the job's running steps called `name`."""
  listing = subprocess.run(['squeue', '--steps', '--noheader', '--format=%i %j', f'--jobs={job_id}'],
                           capture_output=True, text=True, check=False,
                           timeout=SLURM_TIMEOUT_S).stdout
  return [step for step, step_name in (line.split(maxsplit=1) for line in listing.splitlines()
                                       if len(line.split()) == 2)
          if step_name == name]


def main(argv: Sequence[str]) -> int:
  name, command = argv[1], list(argv[2:])
  for step in steps_named(os.environ['SLURM_JOB_ID'], name):
    print(f'cancelling step {step} ({name}) left by an srun that was killed', flush=True)
    subprocess.run(['scancel', step], check=False, timeout=SLURM_TIMEOUT_S)
  os.execvp(command[0], command)
  return 1  # not reached: exec replaces this process


if __name__ == '__main__':
  sys.exit(main(sys.argv))
