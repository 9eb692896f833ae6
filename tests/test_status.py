"""tfagents_system.status on real runs: while they train, once stopped, and once finished."""
import re
import signal
import subprocess
import sys

from training_run import REPO
from training_run import TrainingRun
from training_run import wait_until

PROGRAMS = ('sac_replay_buffer', 'sac_train', 'sac_collect_0', 'sac_collect_1')


def run_status(exp_dir):
  result = subprocess.run([sys.executable, '-m', 'tfagents_system.status', exp_dir], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
  assert result.returncode == 0, result.stderr
  return result.stdout


def program_rows(output):
  """{program: {'state': ..., 'pid': ..., 'seconds': ..., 'starts': ..., 'CPUs': ...}}."""
  lines = output.splitlines()
  header = lines[1].split()
  return {line.split()[0]: dict(zip(header[1:], line.split()[1:]))
          for line in lines[2:] if line.startswith('sac_')}


def pinned_cpus(pid):
  with open(f'/proc/{pid}/status') as f:
    return re.search(r'Cpus_allowed_list:\s*(\S+)', f.read()).group(1)


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
      assert pinned_cpus(int(row['pid'])) == row['CPUs'], output
    iteration = int(re.search(r'^iteration (\d+)/1000 \| env steps', output, re.M).group(1))
    assert iteration >= 2 and 'done: no' in output, output

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
    run.cleanup()


def test_finished_run_is_done(tmp_path):
  run = TrainingRun(tmp_path, {'num_iter': 3}).start()
  try:
    assert run.wait(timeout_s=120) == 0, run.output
    output = run_status(run.exp_dir)
    assert {row['state'] for row in program_rows(output).values()} == {'stopped'}, output
    assert re.search(r'^iteration 3/3 \| env steps [\d,]+ \| eval return -?[\d.]+ .*'
                     r'\| done: yes', output, re.M), output
  finally:
    run.cleanup()


def test_a_dir_that_is_not_an_experiment_is_a_one_line_error(tmp_path):
  result = subprocess.run([sys.executable, '-m', 'tfagents_system.status', str(tmp_path)],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
  assert result.returncode == 2
  assert result.stderr.strip().splitlines() == [
      f'error: {tmp_path} is not an experiment dir (no services/ or status.json in it)']
