"""Frame-level metrics, leave-one-animal-out protocol, baselines and plots."""
