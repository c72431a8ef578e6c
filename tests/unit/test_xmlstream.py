"""The single-shot stream parser: any chunking of the same answer gives the same files."""

from hypothesis import given, settings
from hypothesis import strategies as st

from server.generation.xmlstream import FileBlockParser, FileEnded, FileStarted, FileText
from tests.fake_groq import xml_blocks

FILES = {
    "frontend/src/App.tsx": 'export default function App() {\n  return <div className="a">{1 < 2 && <b>x</b>}</div>;\n}\n',
    "backend/a.py": "def f(a: list[int]) -> bool:\n    return a < [2] and a > [0]\n",
    "frontend/src/weird.ts": 'export const s = "</file> inside a string";\n',
    "frontend/src/x.ts": "const a = b<c>(d);\n",
}


def parse(chunks):
    parser = FileBlockParser()
    files: dict[str, str] = {}
    ended: list[str] = []
    for chunk in chunks:
        for event in parser.feed(chunk):
            if isinstance(event, FileStarted):
                files[event.path] = ""
            elif isinstance(event, FileText):
                files[event.path] += event.text
            elif isinstance(event, FileEnded):
                ended.append(event.path)
    return files, ended, parser.open_path


def answer():
    # The file whose content holds "</file>" must be in CDATA: put it first (every 3rd is CDATA).
    ordered = {
        "frontend/src/weird.ts": FILES["frontend/src/weird.ts"],
        **{k: v for k, v in FILES.items() if k != "frontend/src/weird.ts"},
    }
    return xml_blocks(ordered, cdata_every=3)


def test_whole_answer():
    files, ended, open_path = parse([answer()])
    assert files == FILES and sorted(ended) == sorted(FILES) and open_path is None


@settings(max_examples=300)
@given(st.data())
def test_any_chunking_gives_the_same_files(data):
    text = answer()
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=40)))
    chunks = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    files, ended, _ = parse(chunks)
    assert files == FILES
    assert sorted(ended) == sorted(FILES)


def test_a_cut_off_answer_leaves_the_last_block_open():
    text = answer()
    cut = text.index("backend/a.py") + 30
    files, ended, open_path = parse([text[:cut]])
    assert open_path == "backend/a.py"
    assert "backend/a.py" not in ended
    assert FILES["backend/a.py"].startswith(files["backend/a.py"])


def test_single_quotes_and_prose_between_blocks():
    files, _, _ = parse(
        ["Sure!\n<file path='a.ts'>\nx\n</file>\nand <b>then</b>\n<file path=\"b.ts\">y</file>"]
    )
    assert files == {"a.ts": "x\n", "b.ts": "y"}
