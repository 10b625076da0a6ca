"""Safe YAML parsing with locations: plain data, marks, refused tags and duplicate keys."""

from __future__ import annotations

import pytest
from fulfil.engine.definition.yamlsource import parse
from fulfil.engine.errors import DefinitionError

DOC = """\
id: demo
states:
  new:
    timers:
      - after: 7d
        trigger: nudge
      - {at: "due - days(1)", trigger: warn}
"""


def _error(text: str) -> str:
    with pytest.raises(DefinitionError) as caught:
        parse(text, "f.yaml")
    return str(caught.value.problems[0])


def test_values_and_keys_have_one_based_locations() -> None:
    """A value and its key are located at their own line and column."""
    source = parse(DOC, "f.yaml")
    path = ("states", "new", "timers", 0, "after")
    assert str(source.locate(path)) == "f.yaml:5:16"
    assert str(source.locate(path, key=True)) == "f.yaml:5:9"
    assert source.locate(path).path == path


def test_content_location_skips_the_opening_quote() -> None:
    """With content=True a quoted scalar's location is its first character inside the quotes."""
    source = parse(DOC, "f.yaml")
    path = ("states", "new", "timers", 1, "at")
    assert source.locate(path).column == 14
    assert source.locate(path, content=True).column == 15


def test_missing_path_falls_back_to_the_deepest_existing_node() -> None:
    """A path beyond the document is located at the last node that exists."""
    source = parse(DOC, "f.yaml")
    assert str(source.locate(("states", "new", "sla", "due"))) == "f.yaml:4:5"
    assert str(source.locate(("nothing",))) == "f.yaml:1:1"


def test_scalars_follow_yaml_1_2_in_spirit() -> None:
    """Times and dates stay text; only true/false are booleans; numbers are numbers."""
    text = "t: 17:00\nd: 2026-03-01\ny: yes\nb: true\nn: ~\ni: 12\nf: 1.5\nx: 0x10\n"
    data = parse(text).data
    assert data == {
        "t": "17:00",
        "d": "2026-03-01",
        "y": "yes",
        "b": True,
        "n": None,
        "i": 12,
        "f": 1.5,
        "x": 16,
    }


def test_merge_keys_and_aliases_are_followed() -> None:
    """`<<: *anchor` copies keys that the mapping does not set itself."""
    data = parse("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n").data
    assert data["m"] == {"x": 1, "y": 3}


def test_python_tags_are_refused_not_constructed() -> None:
    """A `!!python/...` tag is an error at the tag, and nothing is executed."""
    message = _error("a: !!python/object/apply:os.system ['echo hi']\n")
    tag = "!!python/object/apply:os.system"
    assert message == f"f.yaml:1:4: error: tag '{tag}' is not allowed in a process file"


def test_custom_tags_are_refused() -> None:
    """Application tags such as `!env` are refused too."""
    assert "tag '!env' is not allowed" in _error("a: !env HOME\n")


def test_duplicate_keys_are_errors_at_the_second_key() -> None:
    """The second of two equal keys is reported with the line of the first."""
    assert (
        _error("a: 1\nb: 2\na: 3\n")
        == "f.yaml:3:1: error: duplicate key 'a' (first written on line 1)"
    )


def test_all_duplicate_keys_are_reported() -> None:
    """Problems are collected, not stopped at the first."""
    with pytest.raises(DefinitionError) as caught:
        parse("a: 1\na: 2\nb: {c: 1, c: 2}\n")
    assert len(caught.value.problems) == 2


def test_syntax_error_has_the_mark_of_the_error() -> None:
    """A `: ` inside an unquoted value is reported where it is, with the fix in plain words."""
    assert _error("a: b: c\n") == (
        "f.yaml:1:5: error: a `: ` inside a value: put the whole value in quotes, "
        'e.g. title: "Status: Closed"'
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("id: [\n", "f.yaml:1:5: error: the list opened here with `[` is never closed"),
        ("a: {b: 1\n", "f.yaml:1:4: error: the mapping opened here with `{` is never closed"),
        ('a: "x\n', 'f.yaml:1:4: error: the quote " opened here is never closed'),
        ("a: 'x\n", "f.yaml:1:4: error: the quote ' opened here is never closed"),
        ('a: "x\\q"\n', "f.yaml:1:6: error: unknown escape"),
        ("a: *x\n", "f.yaml:1:4: error: `*x` repeats an anchor `&x` that is not defined"),
        ("a: @x\n", "f.yaml:1:4: error: a value cannot start with '@': put the whole value in"),
        ("a:\n  b:\n    c: 1\n   d: 2\n", "f.yaml:4:4: error: this line is indented 3 spaces but"),
        ("a:\n  b: 1\n   c: 2\n", "f.yaml:3:4: error: this line is indented more than line 2"),
        ("a:\n  b: 1\n    c: 2\n", "f.yaml:3:5: error: this line is indented more than line 2"),
        ("a:\n  b\n    c: 2\n", "f.yaml:2:3: error: missing `:` after the key: write `key"),
        ("a: 1\nb 2\nc: 3\n", "f.yaml:2:1: error: missing `:` after the key"),
        (
            "a: some text that\ngoes on here without indent\nc: 3\n",
            "f.yaml:2:1: error: this line has no `:`, so it reads as a new key: if it continues",
        ),
        ("a:\n  b: 1\n  - c\n", "f.yaml:3:3: error: a `-` list item among `key: value`"),
        ("a: 'x' y\n", "f.yaml:1:8: error: unexpected text after the value: put the whole"),
        ("a: x\ty: z\n", "f.yaml:1:7: error: a `: ` inside a value: put the whole value in"),
        ("a:\n \t b: 1\n", "f.yaml:2:2: error: tab character in indentation"),
        ("a:\n  b:x y\n  c: d\n", "f.yaml:2:3: error: a `:` after a key needs a space before"),
        (" a: 1\nb: 2\n", "f.yaml:2:1: error: this line is indented less than the first key"),
        ("a:\n  b: 1\n c: 2\n", "f.yaml:3:2: error: this line is indented 1 space but the"),
    ],
)
def test_syntax_errors_are_told_in_plain_words(text: str, expected: str) -> None:
    """The common YAML mistakes say what is wrong and what to write, at the place to fix."""
    message = _error(text)
    assert message.startswith(expected), message
    assert "YAML syntax error" not in message and "did not find" not in message


def test_an_unrecognised_syntax_error_keeps_the_parser_words() -> None:
    """A mistake not recognised is still located, in PyYAML's words."""
    assert _error("a: |x\n  b\n").startswith(
        "f.yaml:1:5: error: YAML syntax error: did not find expected comment or line break"
    )


def test_tab_indentation_gets_a_clear_message() -> None:
    """A tab in indentation says that YAML indents with spaces."""
    assert (
        _error("a:\n\tb: 1\n")
        == "f.yaml:2:1: error: tab character in indentation: YAML indents with spaces only"
    )


def test_recursive_alias_is_refused() -> None:
    """A node that contains itself cannot become data."""
    assert "recursive alias" in _error("a: &x [*x]\n")


def test_alias_bomb_is_refused() -> None:
    """Aliases expanding to millions of nodes are refused instead of eating memory."""
    lines = ["a0: &a0 [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]"]
    for i in range(1, 8):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    assert "too large" in _error("\n".join(lines) + "\n")


def test_several_documents_are_refused() -> None:
    """A process file is one YAML document."""
    assert "a second document starts here (`---`)" in _error("a: 1\n---\nb: 2\n")


def test_empty_document_gives_no_data() -> None:
    """An empty text parses to None (the schema check reports it)."""
    assert parse("# nothing\n").data is None


def test_remembered_parents_give_the_same_locations() -> None:
    """Locating many paths of one source (starting from parents found before) gives what a
    fresh source gives for each path: keys, contents, missing children, indexes past the end."""
    paths = [
        ("states", "new", "timers", 0, "after"),
        ("states", "new", "timers", 0, "trigger"),
        ("states", "new", "timers", 0, "nothing"),
        ("states", "new", "timers", 1, "at"),
        ("states", "new", "timers", 5),
        ("states", "new", "timers", 1),
        ("states", "new", "sla", "due"),
        ("id",),
        (),
    ]
    warm = parse(DOC, "f.yaml")
    for _ in range(2):
        for path in paths:
            for key, content in ((False, False), (True, False), (False, True)):
                fresh = parse(DOC, "f.yaml").locate(path, key=key, content=content)
                located = warm.locate(path, key=key, content=content)
                assert (located, located.path) == (fresh, fresh.path), path


def test_texts_with_and_without_anchors_are_read_alike() -> None:
    """A text with no `&` is read without alias bookkeeping, with the same data and refusals."""
    assert parse(DOC + "# R&D\n").data == parse(DOC).data
    assert _error("a: !env HOME\n") == _error("a: !env HOME  # R&D\n")
    assert _error("a: 1\na: 2\n") == _error("a: 1\na: 2  # R&D\n")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("010", 10),  # YAML 1.1 would read octal 8
        ("0o17", 15),  # YAML 1.1 would leave it text
        ("-7", -7),
        ("0x1F", 31),
        ("1e3", 1000.0),  # YAML 1.1 would leave it text
        ("+.5", 0.5),
        ("0b101", "0b101"),  # binary is YAML 1.1 only
        ("1_000", "1_000"),  # so are underscores
        ('"010"', "010"),  # quoted stays text
    ],
)
def test_numbers_are_read_as_yaml_1_2_core_reads_them(text: str, value: object) -> None:
    assert parse(f"v: {text}\n").data == {"v": value}
