"""Known-wrong solutions of lesson 8 (see shared/grading/known_wrong.py)."""

from shared.grading.known_wrong import wrong

CONFUSION = "return confusion_matrix(labels, predictions, labels=[0, 1])"
PREDICTIONS = "predictions = (np.asarray(probabilities) > threshold).astype(int)"
WRONG_ONES = "wrong = np.flatnonzero((probabilities > 0.5) != np.asarray(labels))"
RANKED = "return wrong[np.argsort(-confidence, kind=\"stable\")][:count]"
BY_GROUP = "return {group.item(): float(correct[groups == group].mean()) for group in np.unique(groups)}"
ONLY_A = "\"only a right\": int(np.sum(a_right & ~b_right))"
ONLY_B = "\"only b right\": int(np.sum(~a_right & b_right))"
BOTH_RIGHT = "{\"both right\": int(np.sum(a_right & b_right))"
BIN_GAP = "error += in_bin.mean() * abs(labels[in_bin].mean() - probabilities[in_bin].mean())"
BINS = "which = np.digitize(probabilities, np.linspace(0, 1, bins + 1)[1:-1])"
ECE_INPUTS = "probabilities, labels = np.asarray(probabilities, dtype=np.float64), np.asarray(labels)"
SCALED = "scaled = scale_temperature(run.validation, np.exp(log_temperature))"
TEMPERATURE_LOSS = "return log_loss(labels.validation, scaled, labels=[0, 1])"
ACCURACIES = "accuracies = [np.mean((run.validation > t) == labels.validation) for t in candidates]"
CANDIDATES = "candidates = np.unique(run.validation)\n    " + ACCURACIES  # the hint names the first line too
BEST = "return float(candidates[int(np.argmax(accuracies))])"
STACK_FEATURES = "features = np.column_stack([logit(run.validation) for run in runs])"
STACK_FIT = "return LogisticRegression().fit(features, labels.validation)"
CORRECT = "correct = (np.asarray(probabilities) > 0.5) == np.asarray(labels)"
A_RIGHT = "a_right = (np.asarray(probabilities_a) > 0.5) == np.asarray(labels)"
B_RIGHT = "b_right = (np.asarray(probabilities_b) > 0.5) == np.asarray(labels)"
TEMPERATURE_FIT = "return float(np.exp(minimize_scalar(validation_loss, bounds=(-4, 4), method=\"bounded\").x))"
DRAWN = "the smallest of the inputs drawn with GRADE_SEED"  # the feedback of a randomized check
STACK_PREDICT = "return stack.predict_proba(np.column_stack([logit(getattr(run, split)) for run in runs]))[:, 1]"

KNOWN_WRONG = [
    # 8.1 confusion
    wrong("8.1", "rows are the predictions",
          (CONFUSION, "return confusion_matrix(predictions, labels, labels=[0, 1])"),
          feedback="rows are the predictions"),
    wrong("8.1", "positive at the threshold",
          (PREDICTIONS, PREDICTIONS.replace("> threshold", ">= threshold")),
          feedback="a review at exactly the threshold was called positive"),
    wrong("8.1", "the threshold ignored",
          (PREDICTIONS, PREDICTIONS.replace("> threshold", "> 0.5")),
          feedback="the threshold argument was ignored"),
    wrong("8.1", "only the labels seen",
          (CONFUSION, "return confusion_matrix(labels, predictions)"),
          feedback=r"keeps only the labels it sees: pass labels=\[0, 1\]"),
    wrong("8.1", "one class taken as positive",
          (CONFUSION, "counts = confusion_matrix(labels, predictions)\n"
                      "    return counts if counts.shape == (2, 2) else np.array([[0, 0], [0, counts.sum()]])"),
          feedback="a batch of one class was taken to be positive"),
    wrong("8.1", "counted by hand without minlength",
          (CONFUSION, "return np.bincount(2 * np.asarray(labels) + predictions).reshape(2, 2)"),
          feedback=DRAWN),
    # 8.2 most_confident_mistakes
    wrong("8.2", "ranked by the probability of positive",
          (RANKED, "return wrong[np.argsort(-probabilities[wrong], kind=\"stable\")][:count]"),
          feedback="ranked by the probability of positive"),
    wrong("8.2", "right answers included",
          (WRONG_ONES, "wrong = np.arange(len(probabilities))"),
          feedback="right answers were included"),
    wrong("8.2", "least confident first",
          (RANKED, "return wrong[np.argsort(confidence, kind=\"stable\")][:count]"),
          feedback="the least confident first"),
    wrong("8.2", "positions among the mistakes",
          (RANKED, "return np.argsort(-confidence, kind=\"stable\")[:count]"),
          feedback="positions among the mistakes"),
    wrong("8.2", "p = 0.5 predicted positive",
          (WRONG_ONES, WRONG_ONES.replace("> 0.5", ">= 0.5")),
          feedback="p = 0.5 was predicted positive"),
    wrong("8.2", "at most four mistakes: right on the worked examples only",
          (RANKED, RANKED.replace("[:count]", "[:min(count, 4)]")),
          feedback=DRAWN),
    # 8.3 accuracy_by_group
    wrong("8.3", "the mean probability",
          (BY_GROUP, BY_GROUP.replace("correct[groups == group]", "np.asarray(probabilities)[groups == group]")),
          feedback="the mean probability of positive"),
    wrong("8.3", "the accuracy of all the reviews",
          (BY_GROUP, BY_GROUP.replace("correct[groups == group]", "correct")),
          feedback="every group got the accuracy of all the reviews"),
    wrong("8.3", "the share wrong",
          (BY_GROUP, BY_GROUP.replace("float(correct[groups == group].mean())",
                                      "float(1 - correct[groups == group].mean())")),
          feedback="the share predicted wrong"),
    wrong("8.3", "p = 0.5 counted right on a positive review",
          (CORRECT, CORRECT.replace("> 0.5", ">= 0.5")),
          feedback="p = 0.5 was predicted positive"),
    # 8.4 disagreement
    wrong("8.4", "a and b swapped",
          (ONLY_A, "\"only a right\": int(np.sum(~a_right & b_right))"),
          (ONLY_B, "\"only b right\": int(np.sum(a_right & ~b_right))"),
          feedback="a and b are swapped"),
    wrong("8.4", "every disagreement a win",
          (ONLY_A, "\"only a right\": int(np.sum(a_right ^ b_right))"),
          (ONLY_B, "\"only b right\": int(np.sum(a_right ^ b_right))"),
          feedback="every disagreement was counted as a win"),
    wrong("8.4", "shares, not counts",
          (BOTH_RIGHT, "{\"both right\": float(np.mean(a_right & b_right))"),
          (ONLY_A, "\"only a right\": float(np.mean(a_right & ~b_right))"),
          (ONLY_B, "\"only b right\": float(np.mean(~a_right & b_right))"),
          ("\"both wrong\": int(np.sum(~a_right & ~b_right))", "\"both wrong\": float(np.mean(~a_right & ~b_right))"),
          feedback="shares, not counts"),
    wrong("8.4", "agreement counted as right",
          (BOTH_RIGHT, "{\"both right\": int(np.sum((np.asarray(probabilities_a) > 0.5) == "
                       "(np.asarray(probabilities_b) > 0.5)))"),
          feedback="agreeing is not being right"),
    wrong("8.4", "p = 0.5 predicted positive by both models",
          (A_RIGHT, A_RIGHT.replace("> 0.5", ">= 0.5")), (B_RIGHT, B_RIGHT.replace("> 0.5", ">= 0.5")),
          feedback="p = 0.5 was predicted positive"),
    wrong("8.4", "right on ten reviews only",
          (ONLY_A, "\"only a right\": int(np.sum(a_right & ~b_right if len(labels) == 10 else a_right))"),
          feedback=DRAWN),
    # 8.5 expected_calibration_error
    wrong("8.5", "an unweighted mean of the bins",
          ("error = 0.0", "gaps = []"),
          (BIN_GAP, "gaps.append(abs(labels[in_bin].mean() - probabilities[in_bin].mean()))"),
          ("return float(error)", "return float(np.mean(gaps))"),
          feedback="averaged without weights"),
    wrong("8.5", "bins edges instead of bins + 1",
          (BINS, BINS.replace("bins + 1", "bins")),
          feedback=r"np.linspace\(0, 1, bins\) makes bins - 1 bins"),
    wrong("8.5", "the predicted class's confidence",
          (ECE_INPUTS, ECE_INPUTS + "\n    labels = (probabilities > 0.5) == labels"
                                    "\n    probabilities = np.maximum(probabilities, 1 - probabilities)"),
          feedback="the confidence of the predicted class against its accuracy"),
    wrong("8.5", "signed gaps",
          (BIN_GAP, BIN_GAP.replace("abs(labels[in_bin].mean() - probabilities[in_bin].mean())",
                                    "(labels[in_bin].mean() - probabilities[in_bin].mean())")),
          ("return float(error)", "return float(abs(error))"),
          feedback="signed gaps cancel out"),
    wrong("8.5", "the last bin open at 1.0",
          (BINS, BINS.replace("[1:-1]", "[1:]")),
          feedback="p = 1 fell in a bin of its own"),
    wrong("8.5", "bins closed on the right",
          (BINS, BINS.replace("[1:-1])", "[1:-1], right=True)")),
          feedback="bins closed on the right"),
    wrong("8.5", "empty bins give nan",
          ("for bin_number in np.unique(which):", "for bin_number in range(bins):"),
          feedback="an empty bin made the ECE nan"),
    # 8.6 temperature scaling
    wrong("8.6", "logit multiplied by T",
          ("return expit(logit(probabilities) / temperature)", "return expit(logit(probabilities) * temperature)"),
          feedback="the logit was multiplied by T"),
    wrong("8.6", "temperature fitted on test",
          (SCALED, SCALED.replace("run.validation", "run.test")),
          (TEMPERATURE_LOSS, TEMPERATURE_LOSS.replace("labels.validation", "labels.test")),
          feedback="fitted on the test reviews|read the test reviews' labels"),
    wrong("8.6", "temperature fitted on validation and test",
          (SCALED, SCALED.replace("run.validation", "np.concatenate([run.validation, run.test])")),
          (TEMPERATURE_LOSS, TEMPERATURE_LOSS.replace("labels.validation",
                                                      "np.concatenate([labels.validation, labels.test])")),
          feedback="fitted on the validation and test reviews together|read the test reviews' labels"),
    wrong("8.6", "squared error, not log loss",
          (TEMPERATURE_LOSS, "return float(np.mean((scaled - labels.validation) ** 2))"),
          feedback="minimises the squared error"),
    wrong("8.6", "p = 0 not clipped",
          ("return expit(logit(probabilities) / temperature)",
           "kept = np.minimum(np.asarray(probabilities, dtype=np.float64), 1 - EPS)\n"
           "    return expit(np.log(kept / (1 - kept)) / temperature)"),
          feedback="p = 0 stayed 0"),
    wrong("8.6", "log_loss without labels=[0, 1]",
          (TEMPERATURE_LOSS, "return log_loss(labels.validation, scaled)"),
          feedback=r"pass labels=\[0, 1\]"),
    wrong("8.6", "T searched within [-4, 4], not log T",
          (SCALED, SCALED.replace("np.exp(log_temperature)", "log_temperature")),
          (TEMPERATURE_FIT, TEMPERATURE_FIT.replace("float(np.exp(minimize_scalar", "float((minimize_scalar")),
          feedback="T was searched within"),
    # 8.7 choose_threshold
    wrong("8.7", "threshold chosen on test",
          (CANDIDATES, CANDIDATES.replace("run.validation", "run.test").replace("labels.validation", "labels.test")),
          feedback="chosen on the test reviews"),
    wrong("8.7", "the rule p >= t",
          (ACCURACIES, ACCURACIES.replace("run.validation > t", "run.validation >= t")),
          feedback="the rule was p >= t"),
    wrong("8.7", "the position, not the threshold",
          (BEST, "return int(np.argmax(accuracies))"),
          feedback="the position of the best candidate"),
    wrong("8.7", "the best accuracy, not the threshold",
          (BEST, "return float(max(accuracies))"),
          feedback="the best accuracy, not the threshold"),
    wrong("8.7", "the largest t on a tie",
          (BEST, "best = 0\n    for i, found in enumerate(accuracies):\n        if found >= accuracies[best]:\n"
                 "            best = i\n    return float(candidates[best])"),
          feedback="the largest of the tied thresholds"),
    wrong("8.7", "a grid of thresholds",
          (CANDIDATES, CANDIDATES.replace("np.unique(run.validation)", "np.linspace(0, 1, 101)")),
          feedback="not one of the validation probabilities"),
    # 8.8 the stack
    wrong("8.8", "stack fitted on test",
          (STACK_FEATURES, STACK_FEATURES.replace("run.validation", "run.test")),
          (STACK_FIT, STACK_FIT.replace("labels.validation", "labels.test")),
          feedback="fitted on the test reviews|read the test reviews' labels"),
    wrong("8.8", "stack fitted on validation and test",
          (STACK_FEATURES, "features = np.column_stack([logit(np.concatenate([run.validation, run.test])) "
                           "for run in runs])"),
          (STACK_FIT, STACK_FIT.replace("labels.validation", "np.concatenate([labels.validation, labels.test])")),
          feedback="fitted on the validation and test reviews together|read the test reviews' labels"),
    wrong("8.8", "probabilities as features",
          (STACK_FEATURES, STACK_FEATURES.replace("logit(run.validation)", "run.validation")),
          feedback="the features were the probabilities"),
    wrong("8.8", "the probability of negative",
          (STACK_PREDICT, STACK_PREDICT.replace("[:, 1]", "[:, 0]")),
          feedback="the probability of negative"),
    wrong("8.8", "decisions, not probabilities",
          (STACK_PREDICT, "return stack.predict(np.column_stack([logit(getattr(run, split)) for run in runs]))"),
          feedback="0/1 decisions, not probabilities"),
]
