"""Learning-rate schedules: BERT's warm-up then linear decay, a Keras schedule registered under the package
``course`` so that a model saved with it loads again."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="course")
class WarmUpLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """BERT's schedule: the learning rate climbs linearly from 0 to ``peak`` over ``warmup_steps``, then
    falls linearly to 0 at ``total_steps`` (what TF's ``official.nlp.optimization.create_optimizer`` does).
    Warm-up keeps the first, noisy updates from wrecking pretrained weights."""

    def __init__(self, peak: float, warmup_steps: int, total_steps: int):
        if not 0 <= warmup_steps < total_steps:
            raise ValueError(f"need 0 <= warmup_steps < total_steps, got {warmup_steps} and {total_steps}")
        self.peak, self.warmup_steps, self.total_steps = peak, warmup_steps, total_steps

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        rising = self.peak * step / max(1, self.warmup_steps)
        falling = self.peak * (self.total_steps - step) / (self.total_steps - self.warmup_steps)
        return keras.ops.where(step < self.warmup_steps, rising, keras.ops.maximum(falling, 0.0))

    def get_config(self) -> dict:
        return {"peak": self.peak, "warmup_steps": self.warmup_steps, "total_steps": self.total_steps}
