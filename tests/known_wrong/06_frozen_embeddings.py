"""Known-wrong solutions of lesson 6 (see shared/grading/known_wrong.py)."""

from shared.grading.known_wrong import wrong

POOLED = "return (np.asarray(sequence_output) * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1.0)"
MEAN_POOL_CALL = ('        vectors.append(mean_pool(keras.ops.convert_to_numpy(outputs["sequence_output"]),\n'
                  '                                 keras.ops.convert_to_numpy(inputs["padding_mask"])))\n')
CACHE_PATH = 'path = cache_dir / f"{encoder.name}-{length}-{digest}.npy"'
BLOCK = ("        x = keras.layers.BatchNormalization()(x)\n"
         '        x = keras.layers.Activation("relu")(x)\n')
STOP = 'stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)'
FIT = "validation_data=(x_valid, y_valid), epochs=epochs, batch_size=64,"
TSNE_CALL = 'TSNE(n_components=2, init="pca", perplexity=30, random_state=seed)'
PCA_CALL = "PCA(n_components=2, random_state=seed).fit_transform(embeddings)"

KNOWN_WRONG = [
    wrong("6.1", "mean over the padding too", (POOLED, "return np.asarray(sequence_output).mean(axis=1)"),
          feedback="the mean over the padding too"),
    wrong("6.1", "sum instead of mean", (POOLED, "return (np.asarray(sequence_output) * mask).sum(axis=1)"),
          feedback="the sum over the real tokens, not their mean"),
    wrong("6.1", "max over the tokens", (POOLED, "return (np.asarray(sequence_output) * mask).max(axis=1)"),
          feedback="the maximum over the real tokens, not their mean"),
    wrong("6.1", "divided by the number of steps",
          (POOLED, "return (np.asarray(sequence_output) * mask).sum(axis=1) / mask.shape[1]"),
          feedback="divided by the number of steps"),

    wrong("6.2", "cache key without the encoder's name", (CACHE_PATH, 'path = cache_dir / f"{length}-{digest}.npy"'),
          feedback="another name, but it read the first encoder's cache"),
    wrong("6.2", "cache key without the sequence length",
          (CACHE_PATH, 'path = cache_dir / f"{encoder.name}-{digest}.npy"'),
          feedback="at sequence length 32, but it read the cache of sequence length 64"),
    wrong("6.2", "cache key without the texts", (CACHE_PATH, 'path = cache_dir / f"{encoder.name}-{length}.npy"'),
          feedback="the cached embeddings of the first texts"),
    wrong("6.2", "cache written but never read", ("    if path.exists():\n        return np.load(path)\n", ""),
          feedback="to read the cache, but the encoder ran again"),
    wrong("6.2", "HTML not cleaned",
          ("encoder.preprocessor([clean_html(t) for t in texts[start:start + batch_size]])",
           "encoder.preprocessor(texts[start:start + batch_size])"),
          feedback=r"the HTML \(<br />\) was embedded as text"),
    wrong("6.2", "the [CLS] vector instead of the mean",
          (MEAN_POOL_CALL, '        vectors.append(keras.ops.convert_to_numpy(outputs["sequence_output"])[:, 0])\n'),
          feedback=r"the \[CLS\] token's vector"),
    wrong("6.2", "embeddings averaged over the padding too",
          (MEAN_POOL_CALL,
           '        vectors.append(keras.ops.convert_to_numpy(outputs["sequence_output"]).mean(axis=1))\n'),
          feedback="the mean over the padding too"),
    wrong("6.2", "last partial batch dropped",
          ("for start in range(0, len(texts), batch_size):",
           "for start in range(0, len(texts) - batch_size + 1, batch_size):"),
          feedback="the last, partial batch is missing"),

    wrong("6.3", "ReLU before BatchNorm",
          (BLOCK, '        x = keras.layers.Activation("relu")(x)\n        x = keras.layers.BatchNormalization()(x)\n'),
          feedback="BatchNormalization after the ReLU"),
    wrong("6.3", "no dropout", ("        x = keras.layers.Dropout(dropout)(x)\n", ""),
          feedback="no Dropout before the output layer"),
    wrong("6.3", "dropout rate fixed at 0.3",
          ("x = keras.layers.Dropout(dropout)(x)", "x = keras.layers.Dropout(0.3)(x)"),
          feedback="the dropout argument is ignored"),
    wrong("6.3", "no sigmoid",
          ('keras.layers.Dense(1, activation="sigmoid")(x)', "keras.layers.Dense(1)(x)"),
          feedback="the raw Dense output: add activation='sigmoid'"),
    wrong("6.3", "no BatchNorm", ("        x = keras.layers.BatchNormalization()(x)\n", ""),
          feedback="no BatchNormalization"),

    wrong("6.4", "patience of 2", (STOP, STOP.replace("patience=5", "patience=2")),
          feedback="patience 2, expected 5"),
    wrong("6.4", "best weights not restored", (STOP, STOP.replace(", restore_best_weights=True", "")),
          feedback="the last epoch's weights: EarlyStopping"),
    wrong("6.4", "early stopping on the training loss", (STOP, STOP.replace('"val_loss"', '"loss"')),
          feedback="early stopping must watch val_loss"),
    wrong("6.4", "Adam instead of AdamW",
          ("optimizer=keras.optimizers.AdamW(learning_rate)", "optimizer=keras.optimizers.Adam(learning_rate)"),
          feedback="expected AdamW.*got Adam with weight_decay=None"),
    wrong("6.4", "learning rate ignored",
          ("optimizer=keras.optimizers.AdamW(learning_rate)", "optimizer=keras.optimizers.AdamW()"),
          feedback="the learning_rate argument is ignored"),
    wrong("6.4", "validating on the training data",
          (FIT, FIT.replace("validation_data=(x_valid, y_valid)", "validation_data=(x_train, y_train)")),
          feedback="is fit validating on the training data"),
    wrong("6.4", "epochs ignored", (FIT, FIT.replace("epochs=epochs", "epochs=20")),
          feedback="pass epochs on to fit"),
    wrong("6.4", "batches of 32, Keras's default", (FIT, FIT.replace(" batch_size=64,", "")),
          feedback="batches of 32"),

    wrong("6.5", "t-SNE from a random start without a seed",
          (TSNE_CALL, 'TSNE(n_components=2, init="random", perplexity=30)'),
          feedback="two different t-SNE pictures for the same seed"),
    wrong("6.5", "method ignored: always PCA",
          (f"    if method == \"pca\":\n        return {PCA_CALL}\n", f"    return {PCA_CALL}\n"),
          feedback="the method argument is ignored"),
    wrong("6.5", "PCA on standardised data",
          ("from sklearn.decomposition import PCA\n",
           "from sklearn.decomposition import PCA\nfrom sklearn.preprocessing import StandardScaler\n"),
          (PCA_CALL, PCA_CALL.replace("(embeddings)", "(StandardScaler().fit_transform(embeddings))")),
          feedback="PCA of standardised embeddings"),
    wrong("6.5", "PCA keeps every component",
          ("PCA(n_components=2, random_state=seed).fit_transform(embeddings)",
           "PCA(random_state=seed).fit_transform(embeddings)"),
          feedback="PCA keeps every component"),
]
