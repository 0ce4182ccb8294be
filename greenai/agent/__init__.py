"""The node agent (``greenai agent``): a node's whole energy, for Prometheus and the ledger.

One agent per node runs the collectors continuously, node-wide (machine mode, every
GPU whatever ``CUDA_VISIBLE_DEVICES`` says), and

- serves Prometheus metrics (:mod:`greenai.agent.metrics`): per device power (W), a
  cumulative energy counter (J) and utilization, labelled host, device, kind, method;
- records the node's energy per interval in the ledger's ``node_energy`` table, so the
  energy no run was charged (idle, unallocated) is known, and optionally downsampled
  power series (``series`` rows with run_id ""), see :mod:`greenai.agent.recorder`;
- brings the rows of multi-rank jobs up to date after their parts were replayed from a
  spool or a rank died (:func:`greenai.ledger.ranks.reaggregate`).

It stops cleanly on SIGTERM (the last partial interval is written) and carries on when
a collector or the ledger fails. Importing this package loads nothing heavy.
"""
