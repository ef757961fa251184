"""The model: encoder and heads, the losses that train them, and the augmentations for their views.

- `config`: `ModelConfig`, the hyper-parameters saved with every checkpoint
- `adapters`: per-session adapters (FiLM or low-rank) and the shared stage-2 alignment adapter
- `encoder`: one modality's features -> per-frame representation (stem, dilated convs, Transformer)
- `fusion`: gated bidirectional cross-attention of the pose and IMU streams
- `network`: `RatBehaviourNet`, `ModelDims`, `ModelOutput`, `build_model` and the stage switches
- `losses`, `augment`: what trains the model and the views it is trained on

Nothing is re-exported here: the configuration tree imports `ratbehavior.model.config`, and loading a
configuration must not pay for importing torch.
"""
