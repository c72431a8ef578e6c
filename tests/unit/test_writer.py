"""The write rule that never loses a user's edit, and writes that never tear."""

import os
import stat

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.workspace.atomic import atomic_write
from server.workspace.merge import merge3
from server.workspace.writer import WriteOutcome, write_file

BASE = b"".join(f"line {i}\n".encode() for i in range(1, 21))


def edited(text: bytes, index: int, new: str) -> bytes:
    lines = text.decode().splitlines(keepends=True)
    lines[index] = new + "\n"
    return "".join(lines).encode()


def test_a_new_file_is_written(tmp_path):
    result = write_file(tmp_path / "a.ts", b"x\n", None, was_written=False)
    assert result.outcome is WriteOutcome.WRITTEN and (tmp_path / "a.ts").read_bytes() == b"x\n"


def test_a_file_the_user_deleted_is_not_recreated_unless_asked(tmp_path):
    target = tmp_path / "a.ts"
    assert write_file(target, b"new\n", b"old\n", was_written=True).outcome is WriteOutcome.SKIPPED
    assert not target.exists()
    assert (
        write_file(target, b"new\n", b"old\n", was_written=True, recreate=True).outcome
        is WriteOutcome.WRITTEN
    )


def test_an_untouched_file_is_replaced(tmp_path):
    target = tmp_path / "a.ts"
    target.write_bytes(BASE)
    result = write_file(target, edited(BASE, 3, "changed"), BASE, was_written=True)
    assert result.outcome is WriteOutcome.WRITTEN and b"changed" in target.read_bytes()


def test_an_edit_far_from_the_change_is_merged_keeping_both(tmp_path):
    target = tmp_path / "a.ts"
    mine = edited(BASE, 1, "my edit")
    target.write_bytes(mine)
    result = write_file(target, edited(BASE, 17, "generated change"), BASE, was_written=True)
    assert result.outcome is WriteOutcome.MERGED
    text = target.read_bytes()
    assert b"my edit" in text and b"generated change" in text
    assert result.base_after != result.disk_hash  # the base is the generation, not the merge


def test_an_overlapping_edit_is_a_conflict_leaving_the_file_byte_for_byte(tmp_path):
    target = tmp_path / "a.ts"
    mine = edited(BASE, 5, "mine")
    target.write_bytes(mine)
    os.chmod(target, 0o640)
    before = os.stat(target)
    result = write_file(target, edited(BASE, 5, "theirs"), BASE, was_written=True)
    assert result.outcome is WriteOutcome.CONFLICT
    assert target.read_bytes() == mine
    assert os.stat(target).st_mtime_ns == before.st_mtime_ns


def test_a_users_file_at_a_planned_path_is_never_overwritten(tmp_path):
    target = tmp_path / "a.ts"
    target.write_bytes(b"the user's own file\n")
    assert (
        write_file(target, b"generated\n", None, was_written=False).outcome is WriteOutcome.CONFLICT
    )
    assert target.read_bytes() == b"the user's own file\n"


def test_atomic_write_keeps_the_mode_and_leaves_no_temp_file(tmp_path):
    target = tmp_path / "run.sh"
    target.write_bytes(b"old")
    os.chmod(target, 0o755)
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new" and stat.S_IMODE(os.stat(target).st_mode) == 0o755
    assert [p.name for p in tmp_path.iterdir()] == ["run.sh"]


def test_merge3_counts_conflicts():
    assert merge3(BASE, edited(BASE, 0, "a"), edited(BASE, 19, "b")).clean
    assert merge3(BASE, edited(BASE, 0, "a"), edited(BASE, 0, "b")).conflicts == 1


# --- the property: a user's line is never lost unless they chose the generated version ---------

LINE = st.text(alphabet="abcdefghij ", min_size=1, max_size=12).map(lambda s: s.strip() or "x")


@st.composite
def edits(draw, base_lines):
    """A random edit of `base_lines`: replacements, insertions and deletions."""
    lines = list(base_lines)
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["replace", "insert", "delete"]))
        if kind == "insert" or not lines:
            lines.insert(draw(st.integers(0, len(lines))), draw(LINE))
        elif kind == "replace":
            lines[draw(st.integers(0, len(lines) - 1))] = draw(LINE)
        else:
            del lines[draw(st.integers(0, len(lines) - 1))]
    return lines


def to_bytes(lines):
    return "".join(f"{line}\n" for line in lines).encode()


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_no_user_line_is_ever_lost(tmp_path, data):
    """Whatever the user edits and however often the file is regenerated, a line the user wrote
    (one that is not in what StepForge last generated) survives, unless they chose "generated"."""
    base_lines = data.draw(st.lists(LINE, min_size=1, max_size=12))
    base = to_bytes(base_lines)
    target = tmp_path / "file.tsx"
    target.write_bytes(to_bytes(data.draw(edits(base_lines))))
    for _ in range(data.draw(st.integers(1, 3))):  # several regenerations in a row
        disk_lines = target.read_bytes().decode().splitlines()
        user_lines = set(disk_lines) - set(base_lines)
        generated_lines = data.draw(edits(base_lines))
        generated = to_bytes(generated_lines)
        result = write_file(target, generated, base, was_written=True)
        if result.outcome is WriteOutcome.CONFLICT:
            assert target.read_bytes().decode().splitlines() == disk_lines  # untouched
            if data.draw(st.sampled_from(["mine", "generated"])) == "generated":
                target.write_bytes(generated)
                user_lines = set()  # the user chose to drop their lines
        text = target.read_bytes().decode().splitlines()
        for line in user_lines:
            assert line in text, f"lost the user's line {line!r}"
        base, base_lines = generated, generated_lines  # the generation is the next merge base
        # The user edits again before the next regeneration.
        target.write_bytes(to_bytes(data.draw(edits(text))))


def test_safe_join_refuses_symlinks_that_lead_outside(tmp_path):
    from server.errors import UnsafePathError
    from server.workspace.paths import safe_join

    root = tmp_path / "project"
    outside = tmp_path / "elsewhere"
    (root / "frontend").mkdir(parents=True)
    outside.mkdir()
    (root / "frontend" / "src").symlink_to(outside)
    (root / "backend").mkdir()
    (root / "backend" / "link.py").symlink_to(outside / "target.py")  # dangling, outside
    (root / "shared").symlink_to(root / "frontend")  # inside: fine
    with pytest.raises(UnsafePathError, match="symlink that leads outside"):
        safe_join(root, "frontend/src/pages/Home.tsx")
    with pytest.raises(UnsafePathError, match="symlink that leads outside"):
        safe_join(root, "backend/link.py")
    with pytest.raises(UnsafePathError, match=r"contains '\.\.'"):
        safe_join(root, "backend/../../x.py")
    assert safe_join(root, "shared/App.tsx") == root / "shared" / "App.tsx"
