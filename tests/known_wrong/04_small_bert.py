"""Known-wrong solutions of lesson 4 (see shared/grading/known_wrong.py)."""

from shared.grading.known_wrong import wrong

DENSE = 'return keras.Model(text, keras.layers.Dense(1, activation="sigmoid", name="classifier")(x), name="small_bert")'
ENCODER = 'pooled = HubLayer(encoder_handle, output_key="pooled_output", trainable=trainable, name="BERT_encoder")('
EXCLUDE = "optimizer.exclude_from_weight_decay(var_list=no_weight_decay(variables))"

KNOWN_WRONG = [
    wrong("4.1", "no sigmoid", (DENSE, DENSE.replace(', activation="sigmoid"', "")), feedback="the raw Dense output"),
    wrong("4.1", "the sequence output", (ENCODER, ENCODER.replace("pooled_output", "sequence_output")),
          feedback="one output per token"),
    wrong("4.1", "the [CLS] vector of the sequence output",
          (ENCODER, ENCODER.replace('output_key="pooled_output"', 'output_key="sequence_output"')),
          ("x = keras.layers.Dropout(dropout)(pooled)", "x = keras.layers.Dropout(dropout)(pooled[:, 0])"),
          feedback="the \\[CLS\\] token's vector before BERT's pooler"),
    wrong("4.1", "no dropout", ("x = keras.layers.Dropout(dropout)(pooled)", "x = pooled"),
          feedback="no dropout before the output layer"),
    wrong("4.1", "a fixed dropout rate",
          ("x = keras.layers.Dropout(dropout)(pooled)", "x = keras.layers.Dropout(0.1)(pooled)"),
          feedback="the dropout argument is not used"),
    wrong("4.1", "dropout fixed at one half",
          ("x = keras.layers.Dropout(dropout)(pooled)", "x = keras.layers.Dropout(0.5)(pooled)"),
          feedback=r"the dropout argument is not used \(the rate drawn with GRADE_SEED"),
    wrong("4.1", "trainable ignored", ("trainable=trainable, name=", "trainable=True, name="),
          feedback="expected only the Dense kernel and bias to train with trainable=False"),
    wrong("4.2", "the warm-up fraction used as a step count",
          ("WarmUpLinearDecay(peak_learning_rate, int(warmup_fraction * total_steps), total_steps)",
           "WarmUpLinearDecay(peak_learning_rate, max(1, int(warmup_fraction)), total_steps)"),
          feedback="10 warm-up steps"),
    wrong("4.2", "Adam without weight decay",
          ("keras.optimizers.AdamW(learning_rate=schedule, weight_decay=weight_decay)",
           "keras.optimizers.Adam(learning_rate=schedule)"),
          feedback="expected weight decay 0.01, got None"),
    wrong("4.2", "Keras's default weight decay",
          ("keras.optimizers.AdamW(learning_rate=schedule, weight_decay=weight_decay)",
           "keras.optimizers.AdamW(learning_rate=schedule)"), feedback="expected weight decay 0.01, got 0.004"),
    wrong("4.2", "exclusions by Hugging Face's names",
          (EXCLUDE, 'optimizer.exclude_from_weight_decay(var_names=["bias", "LayerNorm.weight"])'),
          feedback="name patterns miss KerasHub's LayerNorm weights"),
    wrong("4.2", "no exclusions", (EXCLUDE, "pass"), feedback="expected no weight decay on LayerNorm weights"),
    wrong("4.2", "every weight excluded", (EXCLUDE, "optimizer.exclude_from_weight_decay(var_list=variables)"),
          feedback="expected weight decay on kernels and embeddings"),
    wrong("4.2", "the warm-up fraction ignored",
          ("WarmUpLinearDecay(peak_learning_rate, int(warmup_fraction * total_steps), total_steps)",
           "WarmUpLinearDecay(peak_learning_rate, int(0.1 * total_steps), total_steps)"),
          feedback=r"expected make_optimizer\(.*the smallest of the inputs drawn"),
    wrong("4.2", "the weight decay fixed at one hundredth",
          ("keras.optimizers.AdamW(learning_rate=schedule, weight_decay=weight_decay)",
           "keras.optimizers.AdamW(learning_rate=schedule, weight_decay=0.01)"),
          feedback=r"expected make_optimizer\(.*the smallest of the inputs drawn"),
]
