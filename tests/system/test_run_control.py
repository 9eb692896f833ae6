"""Stopping a run with signals, a worker killed mid-run, and recurrent networks."""
import glob
import json
import os
import re
import signal

import numpy as np

from tfagents_system.workers import env_seeds
from training_run import TrainingRun


# SIGTERM takes the same path: tests/test_slurm.py (preemption), tests/test_fault_tolerance.py.
def test_ctrl_c_stops_every_program_and_keeps_checkpoints(tmp_path):
  run = TrainingRun(tmp_path, {'num_iter': 1000, 'checkpoint_period_itrs': 2,
                               'num_steps_per_iter': 50}).start()
  try:
    run.wait_for_iteration(3)
    run.process.send_signal(signal.SIGINT)
    assert run.wait(timeout_s=120) == 0, run.output
    assert 'stopping every program' in run.output
    assert 'Training stopped before the end.' in run.output
    assert run.leftover_processes() == []
    assert glob.glob(os.path.join(run.exp_dir, 'train', 'checkpoints', 'ckpt-*.index'))
    assert glob.glob(os.path.join(run.exp_dir, 'policies', 'checkpoints', 'policy_checkpoint_*'))
  finally:
    run.stop()


def test_stalled_then_killed_worker_does_not_block_training_and_rejoins(tmp_path):
  config = {'num_iter': 40, 'num_steps_per_iter': 50, 'worker_report_timeout_s': 3,
            'curriculum': {'mass': {'iters': [0, 5, 10, 20, 30], 'range': [1.0, 2.0]},
                           'friction': {'iters': [8, 25], 'range': [0.1, 0.2]}}}
  run = TrainingRun(tmp_path, config).start()
  try:
    run.wait_for_iteration(12)
    victim = run.program_pid('sac_collect_1')
    os.kill(victim, signal.SIGSTOP)  # stalls: the trainer must go on without it
    stalled_at = run.status()['iteration']
    status = run.wait_for_iteration(stalled_at + 3)
    assert status['missing_workers'] == [1]
    os.kill(victim, signal.SIGKILL)  # crashes: supervise restarts it
    assert run.wait() == 0, run.output
    assert run.status()['iteration'] == 40
    assert run.leftover_processes() == []

    with open(os.path.join(run.exp_dir, 'logs', 'sac_train', 'current')) as f:
      assert re.search(r'no report from workers \[1\]', f.read())
    with open(os.path.join(run.exp_dir, 'logs', 'sac_collect_1', 'current')) as f:
      joins = [int(k) for k in re.findall(r'Worker 1 joins at iteration (-?\d+)', f.read())]
    assert len(joins) == 2 and joins[1] >= stalled_at + 3
    rejoined_at = joins[1]

    # The restarted worker's envs (new PID, the seeds of its second start) get the latest
    # value due by rejoined_at once per parameter, then every later value in order.
    expected = []
    for name, entry in config['curriculum'].items():
      values = np.linspace(*entry['range'], len(entry['iters']))
      due = [v for i, v in zip(entry['iters'], values) if i <= rejoined_at]
      if due:
        expected.append((rejoined_at, name, due[-1]))
    for k in range(rejoined_at + 1, 40):
      for name, entry in config['curriculum'].items():
        values = np.linspace(*entry['range'], len(entry['iters']))
        expected += [(k, name, v) for i, v in zip(entry['iters'], values) if i == k]
    first_start, second_start = env_seeds(0, 1, start=0), env_seeds(0, 1, start=1)
    assert not set(first_start) & set(second_start)  # fresh start states after a restart
    for seed in second_start:
      files = glob.glob(os.path.join(run.record_dir, f'*_{seed}.jsonl'))
      assert len(files) == 1
      with open(files[0]) as f:
        calls = [json.loads(line) for line in f]
        for call in calls:
          call.pop('episodes_done')
      assert [list(c.items())[0][0] for c in calls] == [name for _, name, _ in expected]
      np.testing.assert_allclose([list(c.values())[0] for c in calls],
                                 [v for *_, v in expected])
  finally:
    run.stop()


def test_recurrent_networks_train_on_sequences(tmp_path):
  config = {'num_iter': 4, 'num_steps_per_iter': 20, 'recurrent': True,
            'recurrent_sequence_length': 8}
  run = TrainingRun(tmp_path, config, workers=1).start()
  try:
    assert run.wait() == 0, run.output
    status = run.status()
    assert status['done'] and status['train_step'] == 80
    assert run.leftover_processes() == []
    from tf_agents.policies import py_tf_eager_policy  # pylint: disable=g-import-not-at-top
    from tfagents_system.envs.point_mass import PointMassEnv  # pylint: disable=g-import-not-at-top
    policy = py_tf_eager_policy.SavedModelPyTFEagerPolicy(
        os.path.join(run.exp_dir, 'policies', 'greedy_policy'), load_specs_from_pbtxt=True)
    assert policy.policy_state_spec  # an RNN policy carries state
    env = PointMassEnv(seed=0)
    time_step, state = env.reset(), policy.get_initial_state(1)
    step = policy.action(time_step, state)
    assert env.action_spec().shape == step.action.shape
  finally:
    run.stop()
