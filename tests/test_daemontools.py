from tfagents_system.daemontools import ServiceStatus


def test_svstat_lines_are_parsed():
  up = ServiceStatus('/exp/services/sac_train: up (pid 123) 45 seconds')
  assert (up.up, up.pid, up.seconds, up.wanted_down) == (True, 123, 45, False)
  stopped = ServiceStatus('/exp/services/sac_train: down 5 seconds, normally up')
  assert (stopped.up, stopped.pid, stopped.seconds, stopped.wanted_down) == (False, None, 5, True)
  crashed = ServiceStatus('/exp/services/sac_train: down 0 seconds, normally up, want up')
  assert not crashed.up and not crashed.wanted_down
  gone = ServiceStatus('unable to open /exp/services/sac_train/supervise/ok: file does not exist')
  assert not gone.up and gone.pid is None and not gone.wanted_down
