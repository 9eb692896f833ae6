"""A SLURM cluster on this machine for the tests: munged, slurmctld and one slurmd per node, each
started here and stopped by PID, in a private temporary dir. A node can run in a network
namespace joined to this one by a veth pair, as another host would."""
import dataclasses
import ipaddress
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from typing import Dict, List, Optional, Tuple

SLURM_PACKAGES = ('slurmctld', 'slurmd', 'slurm-client', 'munge')
SLURM_COMMANDS = ('munged', 'slurmctld', 'slurmd', 'sbatch', 'scontrol', 'squeue', 'scancel',
                  'srun')
# A requeued job waits this long before it can start again (SLURM's default is 120 s).
CRED_EXPIRE_S = 10


def install_slurm() -> Optional[str]:
  """None when SLURM is installed (as root, with apt-get if it is missing); else why it is not."""
  if all(shutil.which(c) for c in SLURM_COMMANDS):
    return None
  if os.geteuid() != 0 or not shutil.which('apt-get'):
    return 'SLURM is not installed, and installing it needs root and apt-get'
  # The packages' scripts would start system-wide daemons; the cluster runs its own.
  policy = '/usr/sbin/policy-rc.d'
  added_policy = not os.path.exists(policy)
  if added_policy:
    with open(policy, 'w') as f:
      f.write('#!/bin/sh\nexit 101\n')
    os.chmod(policy, 0o755)
  try:
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    for command in (['apt-get', 'update', '-qq'],
                    ['apt-get', 'install', '-y', '-qq', *SLURM_PACKAGES]):
      result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
      if result.returncode != 0:
        return f'{" ".join(command)} failed: {result.stderr.strip()[-500:]}'
  finally:
    if added_policy:
      os.remove(policy)
  return None


def free_ports(count: int) -> List[int]:
  """Ports no socket uses now, all different (held open together while chosen)."""
  sockets = [socket.socket() for _ in range(count)]
  try:
    for s in sockets:
      s.bind(('', 0))
    return [s.getsockname()[1] for s in sockets]
  finally:
    for s in sockets:
      s.close()


class NetworkNamespace:
  """A network namespace and a veth pair to it, with addresses in a private /30 that no
  interface here uses yet: `host_address` on this side, `address` inside."""

  def __init__(self):
    self.name = f'sac-slurm-{os.getpid()}'
    self.host_veth, self.veth = f'sacs{os.getpid()}a', f'sacs{os.getpid()}b'
    self.host_address = self.address = None
    self.created = False

  def create(self) -> None:
    used = subprocess.run(['ip', '-o', '-4', 'addr', 'show'], capture_output=True, text=True,
                          check=True).stdout
    subnet = next(n for n in ipaddress.ip_network('10.200.0.0/16').subnets(new_prefix=30)
                  if f' {n[1]}/' not in used and f' {n[2]}/' not in used)
    self.host_address, self.address = str(subnet[1]), str(subnet[2])
    steps = [['ip', 'netns', 'add', self.name],
             ['ip', 'link', 'add', self.host_veth, 'type', 'veth', 'peer', 'name', self.veth],
             ['ip', 'link', 'set', self.veth, 'netns', self.name],
             ['ip', 'addr', 'add', f'{self.host_address}/30', 'dev', self.host_veth],
             ['ip', 'link', 'set', self.host_veth, 'up'],
             ['ip', 'netns', 'exec', self.name, 'ip', 'addr', 'add', f'{self.address}/30',
              'dev', self.veth],
             ['ip', 'netns', 'exec', self.name, 'ip', 'link', 'set', self.veth, 'up'],
             ['ip', 'netns', 'exec', self.name, 'ip', 'link', 'set', 'lo', 'up'],
             # What a node's slurmd is started with (see SlurmCluster.start).
             ['nsenter', f'--net=/run/netns/{self.name}', 'unshare', '--mount', '--propagation',
              'private', 'true']]
    self.created = True
    for step in steps:
      subprocess.run(step, capture_output=True, text=True, check=True)

  def inode(self) -> int:
    return os.stat(f'/run/netns/{self.name}').st_ino

  def delete(self) -> None:
    if not self.created:
      return
    # Deleting the namespace destroys the veth end in it, and with it the pair.
    subprocess.run(['ip', 'netns', 'del', self.name], capture_output=True, check=False)
    if os.path.exists(f'/sys/class/net/{self.host_veth}'):
      subprocess.run(['ip', 'link', 'del', self.host_veth], capture_output=True, check=False)


@dataclasses.dataclass
class Node:
  name: str
  address: str
  netns: Optional[NetworkNamespace] = None  # the namespace its slurmd (and its jobs) run in
  hosts: Optional[Dict[str, str]] = None  # its /etc/hosts inside the namespace: name -> address


class SlurmCluster:
  """munged, slurmctld and a slurmd per node, configured for this machine's CPUs."""

  def __init__(self, nodes: List[Node], controller_address: str = '127.0.0.1'):
    self.nodes = nodes
    self.controller_address = controller_address
    self.root = tempfile.mkdtemp(prefix='sac-slurm-')
    os.chmod(self.root, 0o711)  # munged wants its socket's dirs open to all
    self.conf = os.path.join(self.root, 'slurm.conf')
    self.munge_socket = os.path.join(self.root, 'munge', 'munge.socket')
    self.env = dict(os.environ, SLURM_CONF=self.conf)
    self.user = pwd.getpwuid(os.getuid()).pw_name  # the daemons' and the jobs' user
    self.processes: List[subprocess.Popen] = []

  def path(self, *parts: str) -> str:
    return os.path.join(self.root, *parts)

  def start(self) -> None:
    for name in ('munge', 'state', 'log') + tuple(f'spool/{n.name}' for n in self.nodes):
      os.makedirs(self.path(name), mode=0o711, exist_ok=True)
    with open(self.path('munge', 'munge.key'), 'wb') as f:
      f.write(os.urandom(1024))
    os.chmod(self.path('munge', 'munge.key'), 0o400)
    self._start(['munged', '--foreground', f'--key-file={self.path("munge", "munge.key")}',
                 f'--socket={self.munge_socket}', f'--pid-file={self.path("munge", "pid")}',
                 f'--seed-file={self.path("munge", "seed")}'], 'munged')
    self._wait(lambda: os.path.exists(self.munge_socket), 'munged to listen')
    self._write_conf()
    self._start(['slurmctld', '-D', '-f', self.conf], 'slurmctld')
    self._wait(lambda: self.run(['scontrol', 'ping']).returncode == 0, 'slurmctld to answer')
    for node in self.nodes:
      command = ['slurmd', '-D', '-N', node.name, '-f', self.conf]
      if node.netns:
        # Only the network is the node's own, and /etc/hosts, bind-mounted in a private mount
        # namespace (`ip netns exec` would also remount /sys, hiding the cgroups slurmd needs).
        hosts = self.path(f'hosts_{node.name}')
        with open(hosts, 'w') as f:
          f.write(''.join(f'{a} {n}\n' for n, a in {'localhost': '127.0.0.1',
                                                     **(node.hosts or {})}.items()))
        command = ['nsenter', f'--net=/run/netns/{node.netns.name}', 'unshare', '--mount',
                   '--propagation', 'private', 'sh', '-c',
                   'mount --bind "$0" /etc/hosts && exec "$@"', hosts] + command
      self._start(command, f'slurmd_{node.name}')
    self._wait(self._nodes_idle, 'every node to be idle')

  def _write_conf(self) -> None:
    # This machine's CPUs as slurmd sees them (CPUs, boards, sockets, cores, threads).
    hardware = self.run(['slurmd', '-C'], check=True).stdout.split('\n')[0].split()
    cpus = ' '.join(w for w in hardware if not w.startswith(('NodeName=', 'RealMemory=')))
    nodes = '\n'.join(f'NodeName={n.name} NodeAddr={n.address} {cpus} State=UNKNOWN'
                      for n in self.nodes)
    node_names = ','.join(n.name for n in self.nodes)
    controller_port, slurmd_port = free_ports(2)
    with open(self.conf, 'w') as f:
      f.write(f"""ClusterName=sactest
SlurmctldHost=localhost
SlurmctldAddr={self.controller_address}
SlurmctldPort={controller_port}
SlurmdPort={slurmd_port}
SlurmUser={self.user}
SlurmdUser={self.user}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.munge_socket},cred_expire={CRED_EXPIRE_S}
StateSaveLocation={self.path('state')}
SlurmdSpoolDir={self.path('spool', '%n')}
SlurmctldPidFile={self.path('slurmctld.pid')}
SlurmdPidFile={self.path('spool', '%n', 'slurmd.pid')}
SlurmctldLogFile={self.path('log', 'slurmctld.log')}
SlurmdLogFile={self.path('log', 'slurmd_%n.log')}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
MinJobAge=600
SchedulerParameters=sched_interval=2
{nodes}
PartitionName=test Nodes={node_names} Default=YES MaxTime=INFINITE State=UP
""")

  def _start(self, command: List[str], name: str) -> None:
    log = open(self.path('log', f'{name}.out'), 'w')  # pylint: disable=consider-using-with
    self.processes.append(subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                           stderr=subprocess.STDOUT, env=self.env))
    log.close()

  def run(self, command: List[str], check: bool = False) -> subprocess.CompletedProcess:
    """A command (scontrol, scancel, ...) talking to this cluster."""
    return subprocess.run(command, capture_output=True, text=True, env=self.env, check=check)

  def _wait(self, condition, what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
      for process in self.processes:
        if process.poll() is not None:
          raise RuntimeError(f'{process.args[0]} exited ({process.returncode}) while waiting for '
                             f'{what}; see {self.path("log")}')
      if time.monotonic() > deadline:
        raise TimeoutError(f'timed out waiting for {what}; see {self.path("log")}')
      time.sleep(0.2)

  def _nodes_idle(self) -> bool:
    states = self.run(['sinfo', '-h', '-N', '-o', '%N %t']).stdout.split('\n')
    return sorted(s.split()[0] for s in states if s.endswith(' idle')) == sorted(
        n.name for n in self.nodes)

  def submit(self, command: List[str]) -> Tuple[str, str]:
    """Runs a command that submits a job (sbatch, slurm/submit.sh): (job id, its output)."""
    result = self.run(command)
    match = re.search(r'Submitted batch job (\d+)', result.stdout)
    assert match, result.stdout + result.stderr
    return match.group(1), result.stdout

  def job(self, job_id: str) -> Dict[str, str]:
    """scontrol's view of one job (or array task, '<array job id>_<task id>'): its fields, and
    'CPU_IDs' per node as 'CPU_IDs:<node>'."""
    text = self.run(['scontrol', '-o', '-d', 'show', 'job', str(job_id)]).stdout
    fields = dict(re.findall(r'(\w+)=(\S*)', text))
    for nodes, cpus in re.findall(r'Nodes=(\S+) CPU_IDs=(\S+)', text):  # nodes: e.g. n[1-2]
      for node in self.run(['scontrol', 'show', 'hostnames', nodes]).stdout.split():
        fields[f'CPU_IDs:{node}'] = cpus
    return fields

  def wait_for_state(self, job_id: str, states, timeout_s: float) -> Dict[str, str]:
    deadline = time.monotonic() + timeout_s
    while True:
      job = self.job(job_id)
      if job.get('JobState') in states:
        return job
      assert time.monotonic() < deadline, f'job {job_id} still {job.get("JobState")}'
      time.sleep(0.5)

  def stop(self) -> None:
    """Cancels every job, waits for them to end, then stops the daemons by PID, last first."""
    if self.processes and self.processes[-1].poll() is None:
      self.run(['scancel', f'--user={self.user}'])
      deadline = time.monotonic() + 60
      while self.run(['squeue', '-h']).stdout.strip() and time.monotonic() < deadline:
        time.sleep(0.5)
    for process in reversed(self.processes):
      process.terminate()
      try:
        process.wait(timeout=30)
      except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    shutil.rmtree(self.root, ignore_errors=True)
