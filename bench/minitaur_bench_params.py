"""The Minitaur example's TrainParams, with the changes of the config's "params" entry."""
from bench import params_overrides
from tfagents_system import minitaur_params


class TrainParams(minitaur_params.TrainParams):

  def __init__(self, env_config):
    super().__init__(env_config)
    params_overrides.apply(self, env_config)
