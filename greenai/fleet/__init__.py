"""Fleets: multi-rank jobs counted once, and job energy from the node agents' counters.

- :mod:`greenai.fleet.ranks`: one run id across the ranks of a job (torchrun, Slurm,
  MPI) and this process's rank.
- :mod:`greenai.fleet.rank_run`: a rank's run, charging only its own devices, and how
  its part is written (the ledger aggregates the job's row).
- :mod:`greenai.fleet.prometheus_energy`: a job's GPU energy from the agents' energy
  counters in Prometheus, for work that no decorator wrapped.

Importing this package loads nothing beyond the standard library.
"""
