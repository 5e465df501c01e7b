"""Mutation testing of the graded checks: small mistakes made automatically in the reference solutions.

    python -m benchmarks.mutation --lesson 5          # one lesson
    python -m benchmarks.mutation --lesson 5 --list   # the mutants only, nothing graded

Inside each ``# BEGIN SOLUTION`` / ``# END SOLUTION`` region an AST mutator makes one change at a time: an
arithmetic operator or a comparison swapped, a constant moved, ``and``/``or`` swapped, a ``not`` or a minus
dropped, a call's statement dropped, a keyword argument dropped, two positional arguments swapped. Every
mutant is graded with the checks of its own exercise (one process per lesson, as ``--known-wrong`` grades);
one failed check kills it. Mutants that survive are listed; those that compute the same thing as the
reference (equivalent) are judged by hand in ``EQUIVALENT``, with the reason. One object per lesson and run
is appended to benchmarks/mutation.json and the table in RESULTS.md is rendered from it.
"""

from __future__ import annotations

import argparse
import ast
import collections
import copy
import datetime
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.run import hardware
from shared.grading.generate import BEGIN, END
from shared.grading.lessons import find_lesson
from shared.grading.report import grade_lesson
from shared.records import BENCHMARKS, append_record
from shared.shown import shown

RECORDS = BENCHMARKS / "mutation.json"
GRADE_SECONDS = 7_200  # a lesson's mutants, graded one after another
_EXERCISE = "# ## Exercise "
_OPERATORS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.FloorDiv, ast.FloorDiv: ast.Mult, ast.Div: ast.Mult,
              ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult}
_COMPARISONS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
                ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}
# Survivors judged to compute what the reference computes, by lesson and mutant name: the one-line reason.
EQUIVALENT: dict[str, dict[str, str]] = {
    "00_setup": {
        "0.3: keyword dropped: 'keras.Input(shape=(None,), dtype=\"int32\")' -> '(keras.Input(shape=(None,)))'":
            "Keras's Embedding casts its input to int32: ids given as float32 (exact below 2**24) look up the same rows",
    },
    "02_classical": {
        "2.2: keyword dropped: 'sparse.csr_matrix(features > 0, dtype=np.float64)' -> '(sparse.csr_matrix(features > 0))'":
            "the column sums of a boolean matrix are the same counts as those of its float64 copy",
        "2.3: keyword dropped: 'sparse.csr_matrix(features > 0, dtype=np.float32)' -> '(sparse.csr_matrix(features > 0))'":
            "a boolean matrix times float32 ratios is the same float32 matrix as the float32 copy's product",
        "2.4: arguments swapped: 'accuracy_score(y_valid, make_model(c).fit(x_train, y_train).predic... -> '(accuracy_score(make_model(c).fit(x_train, y_train).predict(x_vali...":
            "accuracy is symmetric: the share of the two label lists that agree",
    },
    "04_small_bert": {
        "4.1: keyword dropped: 'keras.Input(shape=(), dtype=\"string\", name=\"text\")' -> \"(keras.Input(shape=(), dtype='string'))\"":
            "a layer's or model's name, which the statement does not ask for and nothing reads",
        "4.1: keyword dropped: 'HubLayer(preprocess_handle, name=\"preprocessing\")' -> '(HubLayer(preprocess_handle))'":
            "a layer's or model's name, which the statement does not ask for and nothing reads",
        "4.1: keyword dropped: 'HubLayer(encoder_handle, output_key=\"pooled_output\", trainable=tra... -> \"(HubLayer(encoder_handle, output_key='pooled_output', trainable=tr...":
            "a layer's or model's name, which the statement does not ask for and nothing reads",
        "4.1: keyword dropped: 'keras.Model(text, keras.layers.Dense(1, activation=\"sigmoid\", name... -> \"(keras.Model(text, keras.layers.Dense(1, activation='sigmoid', nam...":
            "a layer's or model's name, which the statement does not ask for and nothing reads",
        "4.1: keyword dropped: 'keras.layers.Dense(1, activation=\"sigmoid\", name=\"classifier\")' -> \"(keras.layers.Dense(1, activation='sigmoid'))\"":
            "a layer's or model's name, which the statement does not ask for and nothing reads",
    },
    "03_lstm": {
        "3.1: keyword dropped: 'keras.Input(shape=(None,), dtype=\"int32\", name=\"token_ids\")' -> \"(keras.Input(shape=(None,), dtype='int32'))\"":
            "a layer's or model's name, which the statement does not ask for and nothing reads",
        "3.1: keyword dropped: 'keras.Model(token_ids, keras.layers.Dense(1, name=\"logit\")(x), nam... -> \"(keras.Model(token_ids, keras.layers.Dense(1, name='logit')(x)))\"":
            "a layer's or model's name, which the statement does not ask for and nothing reads",
        "3.1: keyword dropped: 'keras.layers.Dense(1, name=\"logit\")' -> '(keras.layers.Dense(1))'":
            "a layer's or model's name, which the statement does not ask for and nothing reads",
        "3.3: keyword dropped: 'keras.Input(shape=(None,), dtype=\"int32\", name=\"token_ids\")' -> \"(keras.Input(shape=(None,), dtype='int32'))\"":
            "a layer's or model's name, which the statement does not ask for and nothing reads",
        "3.3: keyword dropped: 'keras.Model(token_ids, keras.layers.Dense(1, name=\"logit\")(x), nam... -> \"(keras.Model(token_ids, keras.layers.Dense(1, name='logit')(x)))\"":
            "a layer's or model's name, which the statement does not ask for and nothing reads",
        "3.3: keyword dropped: 'keras.layers.Dense(1, name=\"logit\")' -> '(keras.layers.Dense(1))'":
            "a layer's or model's name, which the statement does not ask for and nothing reads",
        "3.4: keyword dropped: 'keras.Input(shape=(None,), dtype=\"int32\", name=\"wordpiece_ids\")' -> \"(keras.Input(shape=(None,), dtype='int32'))\"":
            "a layer's or model's name, which the statement does not ask for and nothing reads",
        "3.4: keyword dropped: 'keras.Model(token_ids, keras.layers.Dense(1, name=\"logit\")(x), nam... -> \"(keras.Model(token_ids, keras.layers.Dense(1, name='logit')(x)))\"":
            "a layer's or model's name, which the statement does not ask for and nothing reads",
        "3.4: keyword dropped: 'keras.layers.Dense(1, name=\"logit\")' -> '(keras.layers.Dense(1))'":
            "a layer's or model's name, which the statement does not ask for and nothing reads",
        "3.1: keyword dropped: 'keras.Input(shape=(None,), dtype=\"int32\", name=\"token_ids\")' -> \"(keras.Input(shape=(None,), name='token_ids'))\"":
            "Keras's Embedding casts its input to int32: ids given as float32 (exact below 2**24) look up the same rows",
        "3.3: keyword dropped: 'keras.Input(shape=(None,), dtype=\"int32\", name=\"token_ids\")' -> \"(keras.Input(shape=(None,), name='token_ids'))\"":
            "Keras's Embedding casts its input to int32: ids given as float32 (exact below 2**24) look up the same rows",
        "3.4: keyword dropped: 'keras.Input(shape=(None,), dtype=\"int32\", name=\"wordpiece_ids\")' -> \"(keras.Input(shape=(None,), name='wordpiece_ids'))\"":
            "Keras's Embedding casts its input to int32: ids given as float32 (exact below 2**24) look up the same rows",
        "3.5: keyword dropped: 'keras.callbacks.EarlyStopping(monitor=\"val_loss\", patience=patienc... -> '(keras.callbacks.EarlyStopping(patience=patience, restore_best_wei...":
            "EarlyStopping watches val_loss by default",
        "3.5: keyword dropped: 'keras.callbacks.ModelCheckpoint(str(checkpoint), monitor=\"val_loss... -> '(keras.callbacks.ModelCheckpoint(str(checkpoint), save_best_only=T...":
            "ModelCheckpoint watches val_loss by default",
        "3.6: comparison: 'p >= 0.5' -> '(p > 0.5)'":
            "a tie at exactly 0.5, where the statement names no label",
    },
    "06_frozen_embeddings": {
        "6.1: keyword dropped: 'np.asarray(padding_mask, dtype=\"float32\")' -> '(np.asarray(padding_mask))'":
            "the same means: only the dtype of the weights changes, which the statement does not fix",
        "6.1: arguments swapped: 'np.maximum(mask.sum(axis=1), 1.0)' -> '(np.maximum(1.0, mask.sum(axis=1)))'":
            "np.maximum is symmetric",
        "6.2: constant: '16' -> '17'":
            "a key of 17 hex digits of the sha256 is as stable as one of 16",
        "6.3: keyword dropped: 'keras.Input(shape=(input_dim,), name=\"embedding\")' -> '(keras.Input(shape=(input_dim,)))'":
            "a layer's or model's name, which the statement does not ask for and nothing reads",
        "6.3: keyword dropped: 'keras.Model(embeddings, keras.layers.Dense(1, activation=\"sigmoid\"... -> \"(keras.Model(embeddings, keras.layers.Dense(1, activation='sigmoid...":
            "a layer's or model's name, which the statement does not ask for and nothing reads",
        "6.4: keyword dropped: 'keras.callbacks.EarlyStopping(monitor=\"val_loss\", patience=5, rest... -> '(keras.callbacks.EarlyStopping(patience=5, restore_best_weights=Tr...":
            "EarlyStopping watches val_loss by default",
        "6.5: keyword dropped: 'TSNE(n_components=2, init=\"pca\", perplexity=30, random_state=seed)' -> \"(TSNE(init='pca', perplexity=30, random_state=seed))\"":
            "2 components are TSNE's default",
        "6.5: keyword dropped: 'TSNE(n_components=2, init=\"pca\", perplexity=30, random_state=seed)' -> '(TSNE(n_components=2, perplexity=30, random_state=seed))'":
            "PCA initialisation is TSNE's default",
        "6.5: keyword dropped: 'TSNE(n_components=2, init=\"pca\", perplexity=30, random_state=seed)' -> \"(TSNE(n_components=2, init='pca', random_state=seed))\"":
            "a perplexity of 30 is TSNE's default",
        "6.5: keyword dropped: 'TSNE(n_components=2, init=\"pca\", perplexity=30, random_state=seed)' -> \"(TSNE(n_components=2, init='pca', perplexity=30))\"":
            "initialised by PCA, t-SNE draws nothing at random: the same picture without the seed",
        "6.5: constant: '30' -> '31'":
            "the statement names no perplexity: 31 is as right a t-SNE as 30",
    },
    "07_distributed": {
        "7.1: keyword dropped: 'DistributedSampler(range(size), num_replicas=world_size, rank=rank... -> '(DistributedSampler(range(size), num_replicas=world_size, rank=ran...":
            "shuffling is DistributedSampler's default",
        "7.4: keyword dropped: 'torch.tensor(np.mean(step_losses), dtype=torch.float32, device=dev... -> '(torch.tensor(np.mean(step_losses), device=device))'":
            "a float64 tensor of the mean loss is all-reduced to the same mean, returned as the same float",
        "7.4: keyword dropped: 'print(f\"epoch {epoch + 1}/{epochs}: training loss {losses[-1]:.4f}... -> \"(print(f'epoch {epoch + 1}/{epochs}: training loss {losses[-1]:.4f...":
            "flush changes when the line appears, not what it says",
        "7.4: constant: 'True' -> 'False'":
            "flush changes when the line appears, not what it says",
    },
    "08_error_analysis": {
        "8.2: keyword dropped: 'np.asarray(probabilities, dtype=np.float64)' -> '(np.asarray(probabilities))'":
            "the probabilities come as float64 (load_runs converts the saved float16): the conversion changes nothing",
        "8.5: keyword dropped: 'np.asarray(probabilities, dtype=np.float64)' -> '(np.asarray(probabilities))'":
            "the probabilities come as float64 (load_runs converts the saved float16): the conversion changes nothing",
        "8.2: keyword dropped: 'np.argsort(-confidence, kind=\"stable\")' -> '(np.argsort(-confidence))'":
            "the statement names no order among equally confident mistakes",
        "8.5: arguments swapped: 'np.linspace(0, 1, bins + 1)' -> '(np.linspace(1, 0, bins + 1))'":
            "np.digitize numbers decreasing edges backwards, each bin still closed on the left: the same bins, the same sum",
        "8.6: keyword dropped: 'minimize_scalar(validation_loss, bounds=(-4, 4), method=\"bounded\")' -> '(minimize_scalar(validation_loss, bounds=(-4, 4)))'":
            "with bounds given, minimize_scalar's method is 'bounded' by default",
    },
    "05_finetune": {
        "5.1: comparison: 'len(ids) <= budget' -> '(len(ids) < budget)'":
            "a review of exactly budget ids is kept whole by either branch: its head and its tail join into all of it",
        "5.5: comparison: 'len(ids) <= budget' -> '(len(ids) < budget)'":
            "a review of exactly budget ids gives the one window starting at 0 by either branch",
        "5.2: arguments swapped: 'min(max_length, max(len(tokens) for tokens in token_lists) + 2)' -> '(min(max((len(tokens) for tokens in token_lists)) + 2, max_length))'":
            "min is symmetric",
        "5.3: keyword dropped: 'keras.layers.Dense(2, name=\"logits\")' -> '(keras.layers.Dense(2))'":
            "a layer's name, which the statement does not ask for and nothing reads",
        "5.3: keyword dropped: 'keras.Model(inputs, logits, name=\"finetuned_bert\")' -> '(keras.Model(inputs, logits))'":
            "the model's name, which the statement does not ask for and nothing reads",
        "5.4: keyword dropped: '(folder / \"vocab.txt\").write_text(\"\\\\n\".join(tokenizer.get_vocabul... -> \"((folder / 'vocab.txt').write_text('\\\\n'.join(tokenizer.get_vocabu...":
            "encoding dropped: the same bytes wherever the default encoding is UTF-8, as on the course's machines",
        "5.4: comparison: 'p[1] >= 0.5' -> '(p[1] > 0.5)'":
            "a tie at exactly 0.5, where the statement names no label",
    },
}


@dataclass(frozen=True)
class Mutant:
    exercise: str
    name: str  # "EXERCISE: kind: old -> new"
    source: str  # the whole solution file, mutated
    where: str  # "line N:COLUMN", to find it


def regions(text: str) -> list[tuple[int, int, str]]:
    """(first line, last line, exercise) of every solution region, 1-based and inclusive."""
    found, exercise, start = [], "", 0
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith(_EXERCISE):
            exercise = line[len(_EXERCISE):].split()[0]
        if line.strip() == BEGIN:
            start = number
        elif line.strip() == END:
            found.append((start, number, exercise))
    return found


def changes(node: ast.AST) -> Iterator[tuple[ast.AST, str]]:
    """Each mutated copy of ``node`` (only the node itself changed), with what changed."""
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        yield _with(node, op=_OPERATORS[type(node.op)]()), "operator"
    if isinstance(node, ast.Compare):
        for index, op in enumerate(node.ops):
            if type(op) in _COMPARISONS:
                ops = [*node.ops[:index], _COMPARISONS[type(op)](), *node.ops[index + 1:]]
                yield _with(node, ops=ops), "comparison"
    if isinstance(node, ast.BoolOp):
        yield _with(node, op=ast.Or() if isinstance(node.op, ast.And) else ast.And()), "and/or"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)):
        yield node.operand, "unary dropped"
    if isinstance(node, ast.Constant) and type(node.value) in (int, float, bool):
        value = (not node.value if isinstance(node.value, bool) else node.value + 1 if isinstance(node.value, int)
                 else node.value * 2 if node.value else 1.0)
        yield ast.Constant(value), "constant"
    if isinstance(node, ast.Call):
        for index in range(len(node.keywords)):
            yield _with(node, keywords=[*node.keywords[:index], *node.keywords[index + 1:]]), "keyword dropped"
        if len(node.args) >= 2 and not any(isinstance(a, ast.Starred) for a in node.args[:2]):
            yield _with(node, args=[node.args[1], node.args[0], *node.args[2:]]), "arguments swapped"
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        yield ast.Pass(), "call dropped"


def _with(node: ast.AST, **fields) -> ast.AST:
    changed = copy.copy(node)
    for field, value in fields.items():
        setattr(changed, field, value)
    return changed


def mutants(text: str) -> list[Mutant]:
    """Every mutant of the solution regions of ``text``, in file order. A mutant is named by its exercise and the
    code it changes, not by its line, so that a line added above it leaves its name (and its judgement) as it is."""
    lines = text.encode("utf-8").splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    data, changed_files, seen = text.encode("utf-8"), [], {text}
    spans = regions(text)
    for node in ast.walk(ast.parse(text)):
        if not hasattr(node, "lineno"):
            continue
        exercise = next((ex for first, last, ex in spans if first < node.lineno and node.end_lineno < last), None)
        if exercise is None:
            continue
        start = offsets[node.lineno - 1] + node.col_offset  # col_offset counts UTF-8 bytes
        end = offsets[node.end_lineno - 1] + node.end_col_offset
        original = data[start:end].decode("utf-8")
        for changed, kind in changes(node):
            new = ast.unparse(changed)
            if not isinstance(changed, ast.stmt) and not isinstance(changed, (ast.Constant, ast.Name)):
                new = f"({new})"  # an expression keeps its place among its neighbours' operators
            source = (data[:start] + new.encode("utf-8") + data[end:]).decode("utf-8")
            if source not in seen:  # two changes that give the same file are one mutant
                seen.add(source)
                name = f"{exercise}: {kind}: {_one_line(original)} -> {_one_line(new)}"
                changed_files.append(((node.lineno, node.col_offset), exercise, name, source))
    found, counts = [], collections.Counter()
    for (line, column), exercise, name, source in sorted(changed_files, key=lambda change: change[0]):
        counts[name] += 1  # the same change twice in an exercise: numbered in file order
        found.append(Mutant(exercise, f"{name} #{counts[name]}" if counts[name] > 1 else name, source,
                            f"line {line}:{column}"))
    return found


def _one_line(code: str) -> str:
    """The code on one line, quoted and cut as any value in a message is."""
    return shown(" ".join(code.split()), width=70)


def grade_mutants(lesson: Path, found: list[Mutant]) -> dict[str, str]:
    """For each mutant (by name), the first check of its exercise that failed and its feedback ("check: feedback"):
    it was killed; "" if it survived."""
    with tempfile.TemporaryDirectory() as scratch:
        listing = Path(scratch) / "mutants.json"
        listing.write_text(json.dumps([asdict(mutant) for mutant in found]))
        results = grade_lesson(lesson, "solutions", known_wrong_mode=True, mutants=listing, seconds=GRADE_SECONDS)
    if broken := [r for r in results if r.exercise == "-" and r.check != "(the repository)"]:
        raise RuntimeError(f"the checks of {lesson.name} did not run: {broken}")  # a changed file is only a warning
    failed = [r for r in results if not r.passed]
    return {mutant.name: next((f"{r.check}: {r.feedback}" for r in failed if r.variant == mutant.name), "")
            for mutant in found}


def record(lesson: Path, found: list[Mutant], kills: dict[str, str], seconds: float) -> dict:
    """One run's object. A mutant judged equivalent that was killed anyway is listed with the check that failed:
    either the judgement was wrong or that check failed for another reason (a time limit, say)."""
    equivalent = EQUIVALENT.get(lesson.stem, {})
    survivors = [m.name for m in found if not kills[m.name]]
    judged = {name: reason for name, reason in equivalent.items() if name in survivors}
    counted, killed = len(found) - len(judged), sum(map(bool, kills.values()))
    return {"lesson": lesson.stem, "mutants": len(found), "killed": killed,
            "survived": len(survivors) - len(judged), "equivalent": judged,
            "equivalent_killed": {name: kills[name] for name in equivalent if kills.get(name)},
            "score": round(killed / counted, 4) if counted else None,
            "survivors": [name for name in survivors if name not in judged],
            "seconds": round(seconds), "hardware": hardware(),
            "command": f"python -m benchmarks.mutation --lesson {int(lesson.stem[:2])}",
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lesson", required=True, help="the lesson number")
    parser.add_argument("--list", action="store_true", help="list the mutants; grade nothing")
    parser.add_argument("--note", help="conditions worth knowing beside the numbers (e.g. a shared CPU)")
    args = parser.parse_args(argv)
    lesson = find_lesson(args.lesson, "solutions")
    found = mutants(lesson.read_text(encoding="utf-8"))
    if args.list:
        print("\n".join(f"{m.where}  {m.name}" for m in found))
        return 0
    started = time.perf_counter()
    result = record(lesson, found, grade_mutants(lesson, found), time.perf_counter() - started)
    if args.note:
        result["note"] = args.note
    append_record(result, RECORDS)
    print(json.dumps({key: result[key] for key in ("lesson", "mutants", "killed", "survived", "score")}))
    where = {mutant.name: mutant.where for mutant in found}
    print("\n".join(f"survived ({where[name]}): {name}" for name in result["survivors"]))
    print("\n".join(f"judged equivalent, killed by {why}: {name}" for name, why in result["equivalent_killed"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
