"""tfagents_system.tools.status on a real run: while it trains, then once stopped (a finished run:
tests/test_end_to_end.py)."""
import re
import signal
import subprocess

from tfagents_system.launcher.cpu_plan import parse_cpu_list
from training_run import TrainingRun
from training_run import cpus_allowed
from training_run import program_rows
from training_run import run_status
from training_run import wait_until

PROGRAMS = ('sac_replay_buffer', 'sac_train', 'sac_collect_0', 'sac_collect_1')


def test_while_training_then_after_a_stop(tmp_path):
  run = TrainingRun(tmp_path, {'num_iter': 1000}).start()
  try:
    run.wait_for_iteration(2)
    output = run_status(run.exp_dir)
    rows = program_rows(output)
    assert list(rows) == list(PROGRAMS), output
    for program, row in rows.items():
      assert row['state'] == 'up', output
      assert int(row['seconds']) >= 0 and row['starts'] == '1', output
      # The pid is the program's, running on the CPUs reported.
      assert int(row['pid']) == run.program_pid(program)
      assert cpus_allowed(int(row['pid'])) == set(parse_cpu_list(row['CPUs'])), output
    iteration = int(re.search(r'^iteration (\d+)/1000 \| env steps', output, re.M).group(1))
    assert iteration >= 2 and 'done: no' in output, output
    assert re.search(r'^last iteration: (trainer|collector)-bound \(SGD [\d.]+ s, workers '
                     r'|^last iteration: balanced \(', output, re.M), output

    # A program supervise keeps down: down, no pid, for how long.
    subprocess.run(['svc', '-d', f'{run.exp_dir}/services/sac_collect_1'], check=True)
    wait_until(lambda: run.program_pid('sac_collect_1') is None, timeout_s=30, interval_s=0.1)
    output = run_status(run.exp_dir)
    row = program_rows(output)['sac_collect_1']
    assert row['state'] == 'down' and row['pid'] == '-' and row['seconds'].isdigit(), output

    run.process.send_signal(signal.SIGTERM)
    assert run.wait(timeout_s=120) == 0, run.output
    output = run_status(run.exp_dir)
    rows = program_rows(output)
    assert list(rows) == list(PROGRAMS), output
    for row in rows.values():
      assert row['state'] == 'stopped' and row['pid'] == '-' and row['starts'] == '1', output
      assert row['CPUs'] != '?', output
    assert re.search(r'^iteration \d+/1000 \| env steps .* \| done: no', output, re.M), output
  finally:
    run.stop()
