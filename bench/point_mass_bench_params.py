"""The point-mass example's TrainParams, with the changes of the config's "params" entry."""
from bench import params_overrides
from tfagents_system import point_mass_params


class TrainParams(point_mass_params.TrainParams):

  def __init__(self, env_config):
    super().__init__(env_config)
    params_overrides.apply(self, env_config)
