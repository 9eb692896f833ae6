"""The point-mass example's TrainParams; the config's "params" entry may change some of them
(e.g. {"eval_period_itrs": 2}), so that the system and the single-process baseline get exactly
the same hyperparameters from one config."""
from tfagents_system import point_mass_params


class TrainParams(point_mass_params.TrainParams):

  def __init__(self, env_config):
    super().__init__(env_config)
    for name, value in env_config.get('params', {}).items():
      if not hasattr(self, name):
        raise ValueError(f'bench params: unknown hyperparameter {name!r}')
      setattr(self, name, value)
