"""Multi-process Soft Actor-Critic training with tf-agents, Reverb and daemontools."""
