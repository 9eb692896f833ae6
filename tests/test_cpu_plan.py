import pytest

from tfagents_system.launcher.cpu_plan import CpuPlanError
from tfagents_system.launcher.cpu_plan import format_cpu_list
from tfagents_system.launcher.cpu_plan import parse_cpu_list
from tfagents_system.launcher.cpu_plan import plan_cpus
from tfagents_system.launcher.cpu_plan import plan_run


def test_parse_and_format_non_contiguous_lists():
  assert parse_cpu_list('0-3,8,10-11') == [0, 1, 2, 3, 8, 10, 11]
  assert format_cpu_list([11, 0, 1, 2, 3, 8, 10]) == '0-3,8,10-11'
  assert parse_cpu_list('5\n') == [5]
  with pytest.raises(CpuPlanError):
    parse_cpu_list('3-1')


def test_enough_cpus_gives_disjoint_sets_in_order():
  available = parse_cpu_list('0-3,8,10-11')
  plan = plan_cpus(available, [('reverb', 1), ('train', 2), ('w0', 2), ('w1', 2)])
  assert not plan.shared
  assert plan.assignments == {'reverb': [0], 'train': [1, 2], 'w0': [3, 8], 'w1': [10, 11]}


def test_too_few_cpus_are_shared_round_robin():
  plan = plan_cpus([0, 1], [('reverb', 1), ('train', 1), ('w0', 1), ('w1', 1)])
  assert plan.shared
  assert plan.assignments == {'reverb': [0], 'train': [1], 'w0': [0], 'w1': [1]}
  plan = plan_cpus([0, 1], [('train', 4)])
  assert plan.assignments == {'train': [0, 1]}


def test_too_few_cpus_leave_the_trainer_its_own_and_the_others_share_the_rest():
  requests = [('reverb', 1), ('train', 1), ('w0', 1), ('w1', 1)]
  plan = plan_cpus([0, 1], requests, dedicated={'train'})
  assert plan.shared
  assert plan.assignments == {'reverb': [0], 'train': [1], 'w0': [0], 'w1': [0]}
  assert plan.sharing() == 'CPU 0: reverb, w0, w1; CPU 1: train'
  plan = plan_cpus([0, 1, 2], [('reverb', 1), ('train', 2), ('w0', 1), ('w1', 1)],
                   dedicated={'train'})
  assert plan.assignments == {'reverb': [0], 'train': [1, 2], 'w0': [0], 'w1': [0]}
  # With one CPU, or a trainer asking for all of them, nothing is left to keep apart.
  assert plan_cpus([0], requests, dedicated={'train'}).assignments == {
      'reverb': [0], 'train': [0], 'w0': [0], 'w1': [0]}
  assert plan_cpus([0, 1], [('reverb', 1), ('train', 2)], dedicated={'train'}).assignments == {
      'reverb': [0], 'train': [0, 1]}
  assert plan_cpus([0, 1], [('reverb', 1), ('train', 2)]).sharing() == (
      'CPU 0: reverb; CPUs 0-1: train')


def test_a_runs_plan_names_its_programs_and_keeps_the_trainer_apart():
  plan = plan_run([0, 1], reverb_cpus=1, train_cpus=1, worker_cpus=1, workers=[0, 1])
  assert plan.assignments == {'sac_replay_buffer': [0], 'sac_train': [1], 'sac_collect_0': [0],
                              'sac_collect_1': [0]}
  # Workers running on other nodes (a multi-node job) are not planned here.
  assert list(plan_run(range(4), 1, 1, 1, workers=[1]).assignments) == [
      'sac_replay_buffer', 'sac_train', 'sac_collect_1']


def test_strict_refuses_to_share():
  with pytest.raises(CpuPlanError, match='4 CPUs requested but only 2 available'):
    plan_cpus([0, 1], [('a', 2), ('b', 2)], strict=True)
