"""The MIREDO model: hardware, workloads, factorization, MIP, evaluator, validator, baselines."""
