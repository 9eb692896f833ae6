"""The SAC trainer program: samples Reverb, updates the policy, publishes it each iteration."""
import subprocess
import time

from absl import app
from absl import flags
from absl import logging
from tf_agents.replay_buffers import reverb_replay_buffer
from tf_agents.train import learner
from tf_agents.train import triggers

from tfagents_system import experiment_dir
from tfagents_system import iteration_sync
from tfagents_system import program_setup
from tfagents_system.curriculum import Curriculum
from tfagents_system.training_progress import TrainingProgress

FLAGS = flags.FLAGS


def main(_):
  params = program_setup.start_program('trainer')
  experiment = experiment_dir.ExperimentDir(FLAGS.root_dir)
  time_step_spec, action_spec = program_setup.environment_specs(params)
  agent, train_step = program_setup.create_agent(params, time_step_spec, action_spec)

  sync = iteration_sync.TrainerSync(
      FLAGS.reverb_address,
      iteration_sync.synced_variables(agent.collect_policy.variables(), train_step),
      FLAGS.num_workers)
  replay_buffer = reverb_replay_buffer.ReverbReplayBuffer(
      agent.collect_data_spec,
      sequence_length=params.train_sequence_length,
      table_name=iteration_sync.EXPERIENCE_TABLE,
      server_address=FLAGS.reverb_address)

  def experience_dataset():
    return replay_buffer.as_dataset(
        sample_batch_size=params.train_batch_size,
        num_steps=params.train_sequence_length).prefetch(params.prefetch_batches)

  steps_per_iter = params.num_steps_per_iter
  checkpoint_interval = params.checkpoint_period_itrs * steps_per_iter
  sac_learner = learner.Learner(
      experiment.root, train_step, agent, experience_dataset,
      triggers=[triggers.PolicySavedModelTrigger(
          experiment.policies_dir, agent, train_step, interval=checkpoint_interval)],
      checkpoint_interval=checkpoint_interval,
      summary_interval=params.log_period_itrs * steps_per_iter)
  log_alpha = next((v for v in agent.variables if 'log_alpha' in v.name), None)
  progress = TrainingProgress(experiment, params.num_iter, params.log_period_itrs,
                              Curriculum.from_env_config(params.env_config),
                              sac_learner.train_summary_writer, log_alpha)

  first_iteration = int(train_step.numpy()) // steps_per_iter
  if first_iteration == 0:
    logging.info('Waiting for the initial random-policy experience')
    sync.publish(iteration_sync.INIT_ITERATION)
    summary = sync.gather(iteration_sync.INIT_ITERATION, params.worker_report_timeout_s)
    progress.record_initial_collection(summary, int(train_step.numpy()))
  else:
    logging.info('Resuming at iteration %d (train step %d)', first_iteration, train_step.numpy())

  for iteration in range(first_iteration, params.num_iter):
    start = time.monotonic()
    sync.publish(iteration)
    loss = sac_learner.run(iterations=steps_per_iter)
    summary = sync.gather(iteration, params.worker_report_timeout_s)
    progress.record_iteration(iteration, summary, int(train_step.numpy()),
                              time.monotonic() - start, steps_per_iter)
    logging.info('Iteration %d/%d: train step %d, loss %.4f, %d env steps, eval return %s',
                 iteration + 1, params.num_iter, train_step.numpy(), loss.loss,
                 progress.env_steps, summary.eval_return)

  sync.publish(params.num_iter)  # workers see that training is over
  for trigger in sac_learner.triggers:  # final policy checkpoint and trainer checkpoint
    trigger(train_step.numpy(), force_trigger=True)
  progress.finish(int(train_step.numpy()))
  logging.info('Training complete at train step %d', train_step.numpy())
  # Done for good: tell supervise not to start the trainer again.
  subprocess.run(['svc', '-d', experiment.service_dir(experiment_dir.TRAIN_PROGRAM)], check=False)


if __name__ == '__main__':
  flags.mark_flags_as_required(['root_dir', 'params', 'config', 'reverb_address'])
  app.run(main)
