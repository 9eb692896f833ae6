"""The TensorBoard tags the trainer writes, for everything that reads them (plot, status, bench,
the tests). Plain strings: the readers need no TensorFlow, tf-agents or Reverb to know them.

<exp>/train: per logged iteration, Metrics/* of the workers' collect episodes, Losses/* of the
SGD steps (SAC's losses and alpha), RunTime/* (throughput and where the iteration's time went,
trainer/iteration_timing.py), Curriculum/<name> of the values in force. <exp>/eval: Metrics/* of
the evaluation episodes, EpisodeMeasures/<name> of the env's measures of them
(TrainParams.eval_measures).
"""
RETURN = 'Metrics/AverageReturn'
EPISODE_LENGTH = 'Metrics/AverageEpisodeLength'
ENV_STEPS = 'Metrics/EnvironmentSteps'
ITERATION = 'Metrics/Iteration'

LOSSES_PREFIX = 'Losses/'
ALPHA = LOSSES_PREFIX + 'alpha'
# SacAgent's LossInfo.extra, written under LOSSES_PREFIX with the total loss.
LOSS_TAGS = tuple(LOSSES_PREFIX + name for name in ('critic_loss', 'actor_loss', 'alpha_loss'))

CURRICULUM_PREFIX = 'Curriculum/'
EPISODE_MEASURES_PREFIX = 'EpisodeMeasures/'

RUNTIME_PREFIX = 'RunTime/'
ENV_STEPS_PER_SEC = RUNTIME_PREFIX + 'env_steps_per_sec'
SGD_STEPS_PER_SEC = RUNTIME_PREFIX + 'sgd_steps_per_sec'
ITERATION_SECONDS = RUNTIME_PREFIX + 'iteration_seconds'
BOOKKEEPING_SECONDS = RUNTIME_PREFIX + 'trainer_bookkeeping_seconds'
PUBLISH_SECONDS = RUNTIME_PREFIX + 'trainer_publish_seconds'
SGD_SECONDS = RUNTIME_PREFIX + 'trainer_sgd_seconds'
BARRIER_WAIT_SECONDS = RUNTIME_PREFIX + 'trainer_barrier_wait_seconds'
SGD_PHASE_STEPS_PER_SEC = RUNTIME_PREFIX + 'sgd_phase_steps_per_sec'
WORKER_PUBLICATION_WAIT_SECONDS = RUNTIME_PREFIX + 'worker_publication_wait_seconds'
WORKER_POLICY_PULL_SECONDS = RUNTIME_PREFIX + 'worker_policy_pull_seconds'
WORKER_COLLECT_SECONDS = RUNTIME_PREFIX + 'worker_collect_seconds'
WORKER_EVAL_SECONDS = RUNTIME_PREFIX + 'worker_eval_seconds'
WORKER_CPU_TURN_WAIT_SECONDS = RUNTIME_PREFIX + 'worker_cpu_turn_wait_seconds'
# The workers' side of an iteration: the last one's turn wait, collect and eval.
WORKER_SIDE_SECONDS = RUNTIME_PREFIX + 'worker_side_seconds'
WORKER_COLLECT_ENV_STEPS_PER_SEC = RUNTIME_PREFIX + 'worker_collect_env_steps_per_sec'
COLLECT_PHASE_ENV_STEPS_PER_SEC = RUNTIME_PREFIX + 'collect_phase_env_steps_per_sec'
SYNC_OVERHEAD_FRACTION = RUNTIME_PREFIX + 'sync_overhead_fraction'
