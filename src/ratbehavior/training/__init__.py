"""Training: window datasets, the three stages, the classifier and pseudo-label rounds."""
