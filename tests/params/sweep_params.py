"""The recording point-mass example for sweeps. Every env it builds records, in
env_config["record_dir"], the swept hyperparameters of the TrainParams that built it and the
program's working dir (its service dir: which run it belongs to). While the file
env_config["fail"]["marker"] exists, the envs of the run whose seed and actor_learning_rate
env_config["fail"] names cannot be built: that sweep task fails in the launcher's checks."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import recording_params  # pylint: disable=g-import-not-at-top,wrong-import-position

SWEPT = ('actor_learning_rate', 'train_batch_size')


class TrainParams(recording_params.TrainParams):

  def env_ctor(self, seed=None, *args, **kwargs):
    record = dict({name: getattr(self, name) for name in SWEPT}, seed=seed, cwd=os.getcwd())
    path = os.path.join(self.env_config['record_dir'], f'params_{os.getpid()}_{seed}.json')
    with open(path, 'w') as f:
      json.dump(record, f)
    fail = self.env_config.get('fail')
    # A run's envs get seeds 1000 * run seed + ...; the trainer's and replay server's get 0.
    if (fail and os.path.exists(fail['marker']) and seed and seed // 1000 == fail['seed']
        and self.actor_learning_rate == fail['actor_learning_rate']):
      raise RuntimeError('this task fails while the test wants it to')
    return super().env_ctor(seed, *args, **kwargs)
