"""What every training run needs: seeds, curve plots, progress bars, the bookkeeping of a run, and a look at the
machine it ran on.

One job a module: ``seeding`` (every random generator from one seed, without TensorFlow), ``plots`` (learning
curves), ``progress`` (progress bars and Keras's verbosity), ``timing`` (how long a step took), ``record`` (what a
run returns for the benchmarks), ``schedules`` (BERT's warm-up and decay), ``weight_decay`` (the weights BERT
fine-tunes without it), ``predictions`` (printing a model's answers), ``devices`` (the device a run uses and
its precision) and ``saving`` (a model saved without loading TensorFlow, which importing this module sets up).
This module names what lessons import: ``from shared.training import Timer, plot_history``.
"""

from shared.text import SAMPLE_REVIEWS  # the lessons import it here, beside the helpers of a run
from shared.training.devices import describe_device, mixed_precision_on_gpu
from shared.training.plots import plot_history
from shared.training.predictions import print_predictions
from shared.training.progress import fit_verbosity, progress_bar, with_progress
from shared.training.record import run_record
from shared.training.saving import save_without_loading_tensorflow
from shared.training.schedules import WarmUpLinearDecay
from shared.training.seeding import set_random_seed
from shared.training.timing import Timer
from shared.training.weight_decay import no_weight_decay

__all__ = ["SAMPLE_REVIEWS", "Timer", "WarmUpLinearDecay", "describe_device", "fit_verbosity",
           "mixed_precision_on_gpu", "no_weight_decay", "plot_history", "print_predictions", "progress_bar",
           "run_record", "set_random_seed", "with_progress"]

save_without_loading_tensorflow()  # every lesson on PyTorch saves a model, and none uses TensorFlow's types
