"""The decision: the cheapest configuration of every option that meets the latency target.

For each traffic level (multiples of the user's demand) and each family of options, the
search enumerates the family's configurations, orders them by a lower bound on their
monthly cost (the cost model with no cold starts and the smallest instance count: cold
starts and autoscaling only add), drops those that cannot be feasible on a steady-state
bound (warm p99 over the target; offered load over the capacity), and simulates the rest
in that order until the next lower bound exceeds the cheapest feasible cost found
(branch and bound: a configuration that is not simulated cannot have won).

Families (each a way of deploying the same model; ``entry`` decides which compete):
- ``lambda``: Lambda at every memory size of the grid, x86_64 and arm64, on demand and
  with 1..N environments of provisioned concurrency;
- ``snapstart``: SnapStart at the same sizes (cache per active version, restores);
- ``sagemaker``: a real-time endpoint, instance type x count, autoscaling (not T2);
- ``serverless``: SageMaker Serverless, memory x max concurrency;
- ``managed``: Lambda Managed Instances, instance type x instances kept running x requests
  per environment x scaling (1, 4 or 16 times), on the measured environment's durations per
  concurrency level (``simulate/managed.py``).

Durations at other memory sizes come from the memory model (a sweep's fit, or the
stated assumption in ``Basis.memory``); arm64 durations are the x86 ones times
``arm64_factor`` (1.0, unverified: nothing here runs on arm64).
"""

from __future__ import annotations
