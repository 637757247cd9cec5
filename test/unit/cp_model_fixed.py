"""Latency of one fixed mapping under the CP-SAT model (a test helper)."""

from ortools.sat.python import cp_model

from miredo.solver.hardware import Arch
from miredo.solver.mapping import Mapping
from miredo.solver.mip_cpsat import CpSatMiredo
from miredo.solver.workload import Layer


def fixed_cpsat_latency(layer: Layer, arch: Arch, mapping: Mapping) -> int:
    model = CpSatMiredo(layer, arch, objective="latency")
    assert model.fix_mapping(mapping)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = 20
    solver.parameters.num_workers = 2
    status = solver.solve(model.model)
    assert status == cp_model.OPTIMAL, solver.status_name(status)
    return round(solver.objective_value * model.objective_scale())
