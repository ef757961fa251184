"""The data layer: contract readers, 50 Hz alignment, features and the demo-dataset simulator."""
