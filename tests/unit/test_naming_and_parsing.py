import pytest

from server.planning.naming import name_from_request, project_name, slugify
from server.planning.parsing import NoJsonObjectError, extract_json_object


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        ("Build me a task management app with charts", "task-management-app"),
        ("a task manager with a dashboard and charts", "task-manager"),
        ("Create a recipe sharing site for families", "recipe-sharing-site"),
        ("Please make an expense tracker using SQLite", "expense-tracker"),
        ("!!!", "app"),
    ],
)
def test_names_from_requests(request_text, expected):
    assert name_from_request(request_text) == expected


def test_the_plans_name_wins_when_usable():
    assert project_name("My Task Manager!", "whatever") == "my-task-manager"
    assert project_name("123", "a habit tracker") == "habit-tracker"
    assert project_name(None, "a habit tracker") == "habit-tracker"


def test_slugs_are_ascii_and_bounded():
    assert slugify("Café Größe") == "cafe-groe"
    assert len(slugify("word " * 40)) <= 40


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1}',
        'Here is the plan:\n```json\n{"a": 1}\n```\nEnjoy.',
        'Sure! {"a": 1} is what you asked for.',
        '```\n{"a": 1}\n```',
    ],
)
def test_json_is_found_wherever_it_is(text):
    assert extract_json_object(text) == {"a": 1}


def test_malformed_json_says_where():
    with pytest.raises(NoJsonObjectError, match="malformed"):
        extract_json_object('{"a": 1,, }')
    with pytest.raises(NoJsonObjectError, match="no JSON object"):
        extract_json_object("I cannot help with that.")
