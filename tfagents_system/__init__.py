"""Multi-process Soft Actor-Critic training with tf-agents, Reverb and daemontools."""
import os

# The repository: its logs/, config/ and scripts, and the root of the paths users give.
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
