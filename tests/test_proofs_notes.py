"""Run the executable blocks of the proof notes (``proofs_notes/*.md``) and check the notes' links.

Every note is a Markdown file whose ```python blocks check the steps of a proof. The
blocks of one note run top to bottom in one namespace; a failure names the note and the
line of the block (tracebacks carry the note's own line numbers).

A fence may declare the modules a block needs::

    ```python needs=verify.injectivity,models.regions

If a needed module does not exist (yet), that block is skipped, the other blocks still
run, and the note's test ends as skipped with the list of blocks it could not run. Only
modules in ``PENDING_MODULES`` may be missing; any other missing module is an error
(a misspelt name must not silently skip a block). A block that needs a pending module
must only define names that later blocks with the same needs use.

Besides the blocks, the tests check that every registry entry of ``verify.theorems`` has
its note with a ``Registry: <id>`` line, that every lemma of docs/theory.md has its note, that
every check a note names on its ``Checks:`` line resolves (``verify.theorems.resolve_check``)
and is used by one of its blocks, that a registry note names every check of its entry,
that every block asserts something, and that the README maps every note.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTES_DIR = ROOT / "proofs_notes"
NOTES = sorted(p for p in NOTES_DIR.glob("*.md") if p.name != "README.md")

LEMMA_NOTES = (
    "lemma_G_mixtures.md",
    "lemma_A_affine_images.md",
    "lemma_local_affinity.md",
    "lemma_coherent_orientation.md",
    "lemma_deconvolution.md",
)

# Modules the design names that may not exist yet; a block needing one of them is skipped
# while it is absent. Any other module a block needs must exist.
PENDING_MODULES = frozenset({
    "models.regions",
    "verify.injectivity",
    "verify.mixtures",
    "verify.metrics",
    "verify.counterexamples",
    "verify.deconvolution",
    "verify.probe",
})

_OPEN = re.compile(r"^```python(?P<info>[^`]*)$")
_CLOSE = re.compile(r"^```\s*$")
_NEEDS = re.compile(r"\bneeds=(?P<modules>[\w.,]+)")


@dataclass(frozen=True)
class Block:
    """One ```python block of a note: its code, its first and last line (1-based), its needs."""

    note: Path
    first_line: int
    last_line: int
    code: str
    needs: tuple[str, ...]

    @property
    def where(self) -> str:
        return f"{self.note.relative_to(ROOT)}:{self.first_line}"


def parse_blocks(note: Path) -> list[Block]:
    """The ```python blocks of ``note`` in order; raises ``ValueError`` on an unclosed fence."""
    lines = note.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        match = _OPEN.match(lines[i])
        if not match:
            i += 1
            continue
        needs_match = _NEEDS.search(match.group("info"))
        needs = tuple(m for m in needs_match.group("modules").split(",") if m) if needs_match else ()
        start = i + 1
        j = start
        while j < len(lines) and not _CLOSE.match(lines[j]):
            j += 1
        if j == len(lines):
            raise ValueError(f"{note.name}:{i + 1}: ```python block is never closed")
        blocks.append(Block(note, start + 1, j, "\n".join(lines[start:j]) + "\n", needs))
        i = j + 1
    return blocks


def header(note: Path) -> dict[str, str]:
    """The note's title (first line) and its ``Registry:`` and ``Checks:`` lines, if present."""
    lines = note.read_text(encoding="utf-8").splitlines()
    fields = {"title": lines[0] if lines else ""}
    for line in lines:
        for key in ("Registry", "Checks"):
            if line.startswith(f"{key}:") and key not in fields:
                fields[key] = line.split(":", 1)[1].strip()
    return fields


def named_checks(note: Path) -> list[str]:
    checks = header(note).get("Checks", "")
    return [c.strip().strip("`") for c in checks.split(",") if c.strip()]


def module_available(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def _compile(block: Block):
    # Leading newlines make line numbers in tracebacks those of the note itself.
    return compile("\n" * (block.first_line - 1) + block.code, str(block.note), "exec")


def _note_traceback(exc: BaseException) -> str:
    """The traceback from the note's own frame on (the test harness's frames dropped)."""
    tb = exc.__traceback__
    while tb is not None and Path(tb.tb_frame.f_code.co_filename).parent != NOTES_DIR:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb or exc.__traceback__))


# ----------------------------------------------------------------------------- the blocks
@pytest.mark.parametrize("note", NOTES, ids=[p.name for p in NOTES])
def test_note_blocks(note: Path):
    """Run every block of the note in order, in one namespace."""
    blocks = parse_blocks(note)
    assert blocks, f"{note.name}: no ```python blocks"
    namespace: dict = {"__name__": f"proofs_notes.{note.stem}"}
    skipped: list[str] = []
    ran = 0
    for block in blocks:
        missing = [m for m in block.needs if not module_available(m)]
        unknown = [m for m in missing if m not in PENDING_MODULES]
        if unknown:
            pytest.fail(f"{block.where}: the block needs {unknown}, which do not exist and are not pending modules", pytrace=False)
        if missing:
            skipped.append(f"line {block.first_line} (needs {', '.join(missing)})")
            continue
        failure = None
        try:
            exec(_compile(block), namespace)
        except Exception as exc:  # noqa: BLE001 - report any failure with the note's line numbers
            failure = _note_traceback(exc)
        if failure is not None:  # failed outside the handler, so that no chained traceback is printed
            pytest.fail(
                f"{block.where}: the block at lines {block.first_line}-{block.last_line} failed "
                f"(after {ran} block(s) passed)\n{failure}",
                pytrace=False,
            )
        ran += 1
    if skipped:
        pytest.skip(f"{note.name}: {ran} block(s) passed; {len(skipped)} not run, their modules are missing: {'; '.join(skipped)}")


@pytest.mark.parametrize("note", NOTES, ids=[p.name for p in NOTES])
def test_every_block_parses_and_asserts(note: Path):
    """Each block is valid Python and contains an ``assert`` (a block that cannot fail checks nothing)."""
    for block in parse_blocks(note):
        try:
            tree = ast.parse("\n" * (block.first_line - 1) + block.code, filename=str(note))
        except SyntaxError as exc:
            pytest.fail(f"{note.name}:{exc.lineno}: syntax error in the block at line {block.first_line}: {exc.msg}", pytrace=False)
        assert any(isinstance(node, ast.Assert) for node in ast.walk(tree)), f"{block.where}: the block asserts nothing"


# ----------------------------------------------------------------------------- links
def _registry():
    from verify.theorems import REGISTRY

    return REGISTRY


def test_every_registry_entry_has_its_note():
    problems = []
    for theorem_id, theorem in _registry().items():
        path = ROOT / theorem.note
        if not path.is_file():
            problems.append(f"{theorem_id}: no note at {theorem.note}")
            continue
        fields = header(path)
        if fields.get("Registry") != theorem_id:
            problems.append(f"{theorem.note}: expected a line 'Registry: {theorem_id}', got {fields.get('Registry')!r}")
        if not fields["title"].startswith(f"# {theorem_id}: "):
            problems.append(f"{theorem.note}: the first line should be '# {theorem_id}: <title>', got {fields['title']!r}")
    assert not problems, "\n".join(problems)


def test_every_note_is_a_registry_note_or_a_lemma():
    notes = {p.name for p in NOTES}
    registry_notes = {Path(t.note).name for t in _registry().values()}
    assert set(LEMMA_NOTES) <= notes, f"missing lemma notes: {sorted(set(LEMMA_NOTES) - notes)}"
    assert notes <= registry_notes | set(LEMMA_NOTES), f"notes not in the registry nor lemmas: {sorted(notes - registry_notes - set(LEMMA_NOTES))}"
    for name in LEMMA_NOTES:
        assert header(NOTES_DIR / name)["title"].startswith("# Lemma "), f"{name}: the first line should be '# Lemma <id>: <title>'"


def test_registry_notes_name_the_checks_of_their_entry():
    problems = []
    for theorem_id, theorem in _registry().items():
        path = ROOT / theorem.note
        if not path.is_file():
            continue  # reported by test_every_registry_entry_has_its_note
        expected = {p for _, p in theorem.assumptions} | set(theorem.conclusion)
        absent = expected - set(named_checks(path))
        if absent:
            problems.append(f"{theorem.note}: its Checks line lacks {sorted(absent)} (checks of registry entry {theorem_id})")
    assert not problems, "\n".join(problems)


_NAMED = [(note, check) for note in NOTES for check in named_checks(note)]


@pytest.mark.parametrize("note, check", _NAMED, ids=[f"{n.name}:{c}" for n, c in _NAMED])
def test_named_check_resolves_and_is_used(note: Path, check: str):
    from verify.theorems import resolve_check

    module = check.rpartition(".")[0]
    try:
        resolve_check(check)
    except ValueError:
        if module in PENDING_MODULES and not module_available(module):
            pytest.skip(f"{note.name} names {check}; module {module} does not exist yet")
        pytest.fail(f"{note.name}: Checks names {check!r}, which does not resolve", pytrace=False)
    name = check.rpartition(".")[2]
    assert any(re.search(rf"\b{re.escape(name)}\b", b.code) for b in parse_blocks(note)), (
        f"{note.name}: Checks names {check}, but no block uses {name}"
    )


def test_readme_maps_every_note():
    readme = (NOTES_DIR / "README.md").read_text(encoding="utf-8")
    absent = [p.name for p in NOTES if p.name not in readme]
    assert not absent, f"proofs_notes/README.md does not mention {absent}"


def test_parser_reports_line_numbers(tmp_path):
    """The collector itself: blocks, their lines and needs, and a failure's line number."""
    note = tmp_path / "x.md"
    note.write_text("# t\n\n```python\nx = 1\nassert x == 1\n```\n\ntext\n```python needs=a.b,c\nassert x == 2\n```\n")
    first, second = parse_blocks(note)
    assert (first.first_line, first.last_line, first.needs) == (4, 5, ())
    assert (second.first_line, second.last_line, second.needs) == (10, 10, ("a.b", "c"))
    namespace: dict = {}
    exec(_compile(first), namespace)
    with pytest.raises(AssertionError) as info:
        exec(_compile(second), namespace)
    assert info.traceback[-1].lineno + 1 == 10  # pytest's lineno is 0-based
    note.write_text("```python\nx = 1\n")
    with pytest.raises(ValueError, match="never closed"):
        parse_blocks(note)
