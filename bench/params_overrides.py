"""Hyperparameters a benchmark's config changes: its "params" entry, e.g.
{"eval_period_itrs": 2}, so that the system and the single-process baseline get exactly the
same hyperparameters from one config."""


def apply(params, env_config) -> None:
  for name, value in env_config.get('params', {}).items():
    if not hasattr(params, name):
      raise ValueError(f'bench params: unknown hyperparameter {name!r}')
    setattr(params, name, value)
