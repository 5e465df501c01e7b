"""Known-wrong solutions of lesson 2 (see shared/grading/known_wrong.py)."""

from shared.grading.known_wrong import wrong

PREPROCESS = "preprocessor=lambda text: clean_html(text).lower(), "
TOKENS = "token_pattern=r\"(?u)\\b\\w[\\w']*\\b\","
P_SUM = "p = alpha + np.asarray(binary[labels == 1].sum(axis=0)).ravel()"
Q_SUM = "q = alpha + np.asarray(binary[labels == 0].sum(axis=0)).ravel()"
RATIO = "return np.log((p / p.sum()) / (q / q.sum()))"
NB_BINARY = "binary = sparse.csr_matrix(features > 0, dtype=np.float32)"
NB_PRODUCT = "return sparse.csr_matrix(binary @ sparse.diags(ratio.astype(np.float32)))"
SCORES = ("scores = [accuracy_score(y_valid, make_model(c).fit(x_train, y_train).predict(x_valid)) "
          "for c in candidates]")
CHOICE = "return candidates[int(np.argmax(scores))]"
DRAWN = "the smallest of the inputs drawn with GRADE_SEED"  # the feedback of a randomized check

KNOWN_WRONG = [
    # 2.1 make_vectorizer
    wrong("2.1", "the default token pattern",
          (TOKENS, ""),
          feedback="the default token pattern"),
    wrong("2.1", "no clean_html preprocessor",
          (PREPROCESS, ""),
          feedback="'br' became a token"),
    wrong("2.1", "a preprocessor without lower-casing",
          (PREPROCESS, "preprocessor=clean_html, "),
          feedback="upper-case kept"),
    wrong("2.1", "min_df=1",
          ("ngram_range=(1, 2), min_df=2", "ngram_range=(1, 2), min_df=1"),
          feedback="n-grams seen in a single review were kept"),
    wrong("2.1", "no sublinear tf",
          ("min_df=2, sublinear_tf=True", "min_df=2, sublinear_tf=False"),
          feedback="raw term frequency"),
    wrong("2.1", "unigrams only",
          ("ngram_range=(1, 2)", "ngram_range=(1, 1)"),
          feedback="no word pairs"),
    wrong("2.1", "apostrophes kept at the ends of words",
          (TOKENS, "token_pattern=r\"(?u)[\\w']+\","),
          feedback="apostrophes at the ends of words were kept"),
    wrong("2.1", "float64 weights",
          ("ngram_range=(1, 2), min_df=2, sublinear_tf=True, dtype=np.float32,", "ngram_range=(1, 2), min_df=2, sublinear_tf=True,"),
          feedback="expected float32 weights"),
    wrong("2.1", "one apostrophe a word",
          (TOKENS, "token_pattern=r\"(?u)\\b\\w+(?:'\\w+)?\\b\","),
          feedback="one apostrophe a word"),
    # 2.2 log_count_ratio
    wrong("2.2", "counts instead of binarised features",
          ("binary = sparse.csr_matrix(features > 0, dtype=np.float64)",
           "binary = sparse.csr_matrix(features, dtype=np.float64)"),
          feedback="counts, not presence"),
    wrong("2.2", "no L1 normalisation",
          (RATIO, "return np.log(p / q)"),
          feedback="p and q were not divided by their sums"),
    wrong("2.2", "labels swapped",
          (RATIO, "return np.log((q / q.sum()) / (p / p.sum()))"),
          feedback="the sign is flipped"),
    wrong("2.2", "alpha added after the sums",
          (P_SUM, "p = np.asarray(binary[labels == 1].sum(axis=0)).ravel()"),
          (Q_SUM, "q = np.asarray(binary[labels == 0].sum(axis=0)).ravel()"),
          (RATIO, "return np.log(((p + alpha) / p.sum()) / ((q + alpha) / q.sum()))"),
          feedback="alpha was added after summing"),
    wrong("2.2", "alpha ignored",
          (P_SUM, P_SUM.replace("alpha +", "1 +")), (Q_SUM, Q_SUM.replace("alpha +", "1 +")),
          feedback="alpha was ignored"),
    wrong("2.2", "a 1 x n matrix",
          (P_SUM, "p = alpha + binary[labels == 1].sum(axis=0)"),
          (Q_SUM, "q = alpha + binary[labels == 0].sum(axis=0)"),
          feedback="a 1 x n matrix: flatten"),
    wrong("2.2", "squeezed, not flattened",
          (P_SUM, P_SUM.replace(".ravel()", ".squeeze()")), (Q_SUM, Q_SUM.replace(".ravel()", ".squeeze()")),
          feedback=r"squeeze\(\) drops every axis of length 1"),
    # 2.3 nb_features
    wrong("2.3", "dense output",
          (NB_PRODUCT, "return (binary @ sparse.diags(ratio.astype(np.float32))).toarray()"),
          feedback="expected a sparse matrix"),
    wrong("2.3", "counts scaled, not binarised",
          (NB_BINARY, "binary = sparse.csr_matrix(features, dtype=np.float32)"),
          feedback="the counts were scaled, not the binary features"),
    wrong("2.3", "a matrix-vector product",
          (NB_PRODUCT, "return binary @ ratio"),
          feedback="one number per review"),
    wrong("2.3", "binarised in place",
          (NB_BINARY, "binary = features.tocsr()\n    binary.data[:] = 1"),
          feedback="the features passed in were changed in place"),
    wrong("2.3", "rows scaled, not columns",
          (NB_PRODUCT, "return sparse.csr_matrix(sparse.diags(ratio.astype(np.float32)) @ binary)"),
          feedback=DRAWN),
    # 2.4 choose_c
    wrong("2.4", "chosen by training accuracy",
          (SCORES, SCORES.replace("y_valid", "y_train").replace("predict(x_valid)", "predict(x_train)")),
          feedback="chosen by training accuracy"),
    wrong("2.4", "argmin",
          (CHOICE, CHOICE.replace("argmax", "argmin")),
          feedback="the least accurate candidate"),
    wrong("2.4", "last on a tie",
          (CHOICE, "return candidates[len(scores) - 1 - int(np.argmax(scores[::-1]))]"),
          feedback="ties keep the first candidate"),
    wrong("2.4", "fitted on validation",
          (SCORES, SCORES.replace("fit(x_train, y_train)", "fit(x_valid, y_valid)")),
          feedback="fitted on the validation data"),
    wrong("2.4", "fitted on train and validation",
          (SCORES, SCORES.replace("fit(x_train, y_train)",
                                  "fit(sparse.vstack([x_train, x_valid]), np.concatenate([y_train, y_valid]))")),
          feedback="fitted on the training and validation data together"),
    wrong("2.4", "the index, not the C",
          (CHOICE, "return int(np.argmax(scores))"),
          feedback="the index of the best candidate, not its C"),
    wrong("2.4", "the best score starts at 0",
          (SCORES, "best_c, best = None, 0.0\n"
                   "    for c in candidates:\n"
                   "        score = accuracy_score(y_valid, make_model(c).fit(x_train, y_train).predict(x_valid))\n"
                   "        if score > best:\n"
                   "            best_c, best = c, score"),
          (CHOICE, "return best_c"),
          feedback="nothing chosen when every candidate scores 0"),
    wrong("2.4", "candidates sorted before the choice",
          (SCORES, SCORES.replace("for c in candidates]", "for c in sorted(candidates)]")),
          (CHOICE, "return sorted(candidates)[int(np.argmax(scores))]"),
          feedback=DRAWN),
]
