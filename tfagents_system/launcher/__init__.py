"""The launcher: what runs where. run_script.sh's Python side, and the only part that starts programs.

launch.py reads the training_variables file (run_settings), checks every input before anything
starts (preflight, params_checks), plans the CPUs (cpu_plan), runs the N+2 programs as daemontools
services (daemontools, processes), shows progress (progress_display), notices a run that does not
heal (run_watch), and stops it (run_stop; run_guard and run_lock when the launcher is gone).
On SLURM: the sbatch line and the nodes' placement (slurm_job, srun_step); sweeps of runs
(sweep, sweep_local).
"""
