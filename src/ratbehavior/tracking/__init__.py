"""MLflow around the training: runs and lineage, the cross-animal validation gate, the model
registry (aliases only), and reproduction of a run from its data version."""
