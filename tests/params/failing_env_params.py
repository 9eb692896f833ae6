"""A params file whose eval env cannot be built."""
from tfagents_system import point_mass_params


class TrainParams(point_mass_params.TrainParams):

  def eval_env_args_kwargs(self):
    return (), {'episode_length': 50, 'no_such_argument': 1}
