# Variables for ./run_script.sh: the pybullet Minitaur example, 2 collect workers.
SAC_NUM_COLLECT_WORKERS=2
SAC_REVERB_CPUS=1
SAC_TRAIN_CPUS=2
SAC_COLLECT_WORKER_CPUS=1
SAC_EXP_NAME=minitaur
SAC_PARAMS=tfagents_system/minitaur_params.py
SAC_CONFIG=config/minitaur.json
# SAC_REVERB_PORT=8008   # default: a free port
# SAC_STRICT_CPUS=1      # refuse to share CPUs when fewer are available than requested
