"""Hyperparameters a benchmark's config changes: its "params" entry, e.g.
{"eval_period_itrs": 2}, so that the system and the single-process baseline get exactly the
same hyperparameters from one config. Set and checked as a sweep's are."""
from tfagents_system.common import params_loading


def apply(params, env_config) -> None:
  try:
    params_loading.apply_overrides(params, env_config.get('params', {}))
  except params_loading.ParamsError as e:
    raise params_loading.ParamsError(f'bench params: {e}') from None
