"""Known-wrong solutions of lesson 5 (see shared/grading/known_wrong.py)."""

from shared.grading.known_wrong import wrong

HEAD = 'head = {"head": budget, "tail": 0, "head+tail": budget // 4}[strategy]'
KEEP = "return list(ids[:head]) + list(ids[len(ids) - (budget - head):])"
LENGTH = "length = min(max_length, max(len(tokens) for tokens in token_lists) + 2)"
MASK = "padding_mask[token_ids != 0] = 1"
LOGITS = 'logits = keras.layers.Dense(2, name="logits")(keras.layers.Dropout(dropout)(pooled))'
OPTIMIZER = "optimizer = keras.optimizers.AdamW(learning_rate=schedule, weight_decay=0.01)"
EXCLUDE = "optimizer.exclude_from_weight_decay(var_list=no_weight_decay(classifier.trainable_variables))"
CONFIDENCE = 'return [("positive", float(p[1])) if p[1] >= 0.5 else ("negative", float(p[0])) for p in probabilities]'

KNOWN_WRONG = [
    wrong("5.1", "head and tail halves", (HEAD, HEAD.replace("budget // 4", "budget // 2")),
          feedback=r"head\+tail keeps the first budget // 4"),
    wrong("5.1", "ids[-0:] is the whole list", (KEEP, "return list(ids[:head]) + list(ids[-(budget - head):])"),
          feedback="14 tokens for a budget of 4"),
    wrong("5.1", "a short review cut anyway", ("    if len(ids) <= budget:\n        return list(ids)\n", ""),
          feedback="a review within the budget is kept whole"),
    wrong("5.1", "one token short", (KEEP, KEEP.replace("(budget - head)", "(budget - head - 1)")),
          feedback=r"expected select_tokens\(range\(10\), 4, 'tail'\) == \[6, 7, 8, 9\], got \[7, 8, 9\]"),
    wrong("5.2", "padded to max_length", (LENGTH, "length = max_length"), feedback="padded to max_length"),
    wrong("5.2", "no [SEP]", ("sequence = [cls_id, *tokens[: length - 2], sep_id]",
                              "sequence = [cls_id, *tokens[: length - 2]]"),
          feedback=r"expected token_ids \[\[101, 7, 8, 9, 102\]"),
    wrong("5.2", "a mask of ones", (MASK, "padding_mask[:] = 1"), feedback="expected padding_mask"),
    wrong("5.2", "int64 ids", ('token_ids = np.zeros((len(token_lists), length), dtype="int32")',
                               'token_ids = np.zeros((len(token_lists), length), dtype="int64")'),
          feedback="expected int32 arrays"),
    wrong("5.2", "no cap at max_length", (LENGTH, "length = max(len(tokens) for tokens in token_lists) + 2"),
          feedback="expected 16 ids"),
    wrong("5.3", "a softmax on the logits",
          (LOGITS, LOGITS.replace('name="logits")', 'activation="softmax", name="logits")')),
          feedback="probabilities: the loss expects logits"),
    wrong("5.3", "the [CLS] vector of the sequence output",
          ('pooled = encoder.backbone(inputs)["pooled_output"]\n    logits',
           'pooled = encoder.backbone(inputs)["sequence_output"][:, 0]\n    logits'),
          feedback=r"the \[CLS\] token.s vector before BERT.s pooler"),
    wrong("5.3", "no dropout", (LOGITS, 'logits = keras.layers.Dense(2, name="logits")(pooled)'),
          feedback="no dropout before the output layer"),
    wrong("5.3", "a loss that reads probabilities",
          ("loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)",
           "loss=keras.losses.SparseCategoricalCrossentropy()"), feedback="the loss reads them as probabilities"),
    wrong("5.3", "no warm-up",
          (OPTIMIZER, OPTIMIZER.replace("learning_rate=schedule", "learning_rate=peak_learning_rate")),
          feedback="expected a learning-rate schedule"),
    wrong("5.3", "a tenfold weight decay", (OPTIMIZER, OPTIMIZER.replace("0.01", "0.1")),
          feedback="expected weight decay 0.01, got 0.1"),
    wrong("5.3", "exclusions by variable name",
          (EXCLUDE, 'optimizer.exclude_from_weight_decay(var_names=["LayerNorm", "layer_norm", "bias"])'),
          feedback="name patterns miss KerasHub's LayerNorm weights"),
    wrong("5.3", "no exclusions", (EXCLUDE, "pass"), feedback="expected no weight decay on LayerNorm weights"),
    wrong("5.4", "the positive probability as confidence",
          (CONFIDENCE, 'return [("positive" if p[1] >= 0.5 else "negative", float(p[1])) for p in probabilities]'),
          feedback="the probability of 'positive', whatever the label"),
    wrong("5.4", "labels swapped",
          (CONFIDENCE, 'return [("negative", float(p[1])) if p[1] >= 0.5 else ("positive", float(p[0])) '
                       'for p in probabilities]'),
          feedback=r"\(index 1 is positive\)"),
    wrong("5.4", "no softmax",
          ("probabilities = keras.ops.convert_to_numpy(keras.ops.softmax(logits))",
           "probabilities = keras.ops.convert_to_numpy(logits)"),
          feedback="a raw logit, not a probability"),
    wrong("5.4", "predictions left in batch order",
          ("logits = predict_in_order(classifier.predict_on_batch, batches)",
           "logits = np.concatenate([classifier.predict_on_batch(inputs) for inputs, _ in batches])"),
          feedback="predict_in_order puts them back in the order of the texts"),
    wrong("5.4", "not sealed", ("    return seal(folder, FINETUNED_FILES)\n", "    return folder\n"),
          feedback="save_finetuned wrote no manifest.json"),
    wrong("5.4", "loaded without opening the seal",
          ("    folder = open_sealed(folder, FINETUNED_FILES)\n", "    folder = Path(folder)\n"),
          feedback="load_finetuned did not check the folder"),
    wrong("5.4", "a vocabulary saved in sorted order",
          ('"\\n".join(tokenizer.get_vocabulary())', '"\\n".join(sorted(tokenizer.get_vocabulary()))'),
          feedback="expected the same tokenizer back"),
]
