"""The demo-dataset simulator: rats whose behaviour drives a 3-D body seen by a camera and a head IMU."""

from ratbehavior.data.simulate.dataset import SimulatedSession, simulate_dataset, simulate_session

__all__ = ["SimulatedSession", "simulate_dataset", "simulate_session"]
