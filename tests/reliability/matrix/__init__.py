"""The fault matrix's harness (``tests/reliability/test_fault_matrix.py`` runs it).

- :mod:`.job`: the standard job, a real subprocess (CPU work, tokens, a known result
  and exit code), tracked by ``greenai.track`` or run under ``greenai run``;
- :mod:`.seams`: faults only the job's own process can have (a collector that raises
  or blocks, a GPU lost, RAPL counters that wrap or restart, a stepped wall clock, a
  full disk under the journal), installed by the job itself;
- :mod:`.ledgers`: ledgers that misbehave from outside (locked, refusing);
- :mod:`.harness`: starting the job, its baseline without greenai, ``greenai sync``,
  reading the ledger back;
- :mod:`.faults`: each fault of the README's Reliability table, and what it must leave.
"""
