"""The VIGGO meaning-representation parser and renderer."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from llm_workloads.mr import (
    LIST_VALUED_SLOTS,
    VIGGO_ACTS,
    VIGGO_SLOTS,
    MeaningRepresentation,
    ParseError,
    ParseOk,
    parse_mr,
    render_mr,
    vocabulary_problems,
)

MR = MeaningRepresentation

PARSE_OK = [
    (
        "request(release_year[2014], specifier[terrible])",
        MR("request", (("release_year", ("2014",)), ("specifier", ("terrible",)))),
    ),
    ("inform(genres[driving/racing, sport])", MR("inform", (("genres", ("driving/racing", "sport")),))),
    (
        "inform(esrb[E 10+ (for Everyone 10 and Older)])",
        MR("inform", (("esrb", ("E 10+ (for Everyone 10 and Older)",)),)),
    ),
    (
        "inform(developer[Spectrum HoloByte, Inc.])",
        MR("inform", (("developer", ("Spectrum HoloByte, Inc.",)),)),
    ),
    ("request_attribute(specifier[])", MR("request_attribute", (("specifier", ()),))),
    ("give\\_opinion(has\\_multiplayer[yes])", MR("give_opinion", (("has_multiplayer", ("yes",)),))),
    (
        "  confirm( name [ Tetris ] ,platforms[PC,Nintendo] )\n",
        MR("confirm", (("name", ("Tetris",)), ("platforms", ("PC", "Nintendo")))),
    ),
    ("suggest()", MR("suggest", ())),
    ("made_up_act(made_up_slot[a, b])", MR("made_up_act", (("made_up_slot", ("a, b",)),))),
]

PARSE_ERRORS = [
    ("", "empty text"),
    ("   ", "empty text"),
    ("inform", "missing '('"),
    ("(name[x])", "missing act name"),
    ("in form(name[x])", "not an identifier"),
    ("inform(name[x]", "missing closing ')'"),
    ("inform(name[x], )", "trailing ','"),
    ("inform(name[x]", "missing closing ')'"),
    ("inform(name[x)", "unclosed '['"),
    ("inform(name[a[b]])", "nested '['"),
    ("inform(name x)", "expected 'slot[value]'"),
    ("inform(name[x] rating[good])", "expected ',' or ')'"),
    ("inform(name[x], name[y])", "more than once"),
    ("inform(genres[a, , b])", "empty item"),
    ("inform(name[x]) and more", "unexpected text after ')'"),
    ("inform([x])", "missing slot name"),
    ("inform(na-me[x])", "not an identifier"),
]


@pytest.mark.parametrize(("text", "want"), PARSE_OK)
def test_parse_ok(text: str, want: MeaningRepresentation) -> None:
    result = parse_mr(text)
    assert isinstance(result, ParseOk), result
    assert result.value == want
    assert result.value.slot_dict() == dict(want.slots)


@pytest.mark.parametrize(("text", "reason"), PARSE_ERRORS)
def test_parse_errors_have_reasons(text: str, reason: str) -> None:
    result = parse_mr(text)
    assert isinstance(result, ParseError), result
    assert reason in result.reason


def test_non_text_is_a_parse_error() -> None:
    result = parse_mr(None)  # type: ignore[arg-type]
    assert isinstance(result, ParseError) and "NoneType" in result.reason


@pytest.mark.parametrize(
    ("mr", "message"),
    [
        (MR("in form", ()), "not an identifier"),
        (MR("inform", (("name", ("a", "b")),)), "single-valued"),
        (MR("inform", (("genres", ("a, b",)),)), "contains a comma"),
        (MR("inform", (("name", ("a]",)),)), "bracket"),
        (MR("inform", (("name", (" a",)),)), "surrounding spaces"),
        (MR("inform", (("name", ("a",)), ("name", ("b",)))), "more than once"),
    ],
)
def test_render_refuses_unfaithful_values(mr: MeaningRepresentation, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render_mr(mr)


def test_vocabulary_problems() -> None:
    assert vocabulary_problems(MR("inform", (("name", ("x",)),))) == []
    assert vocabulary_problems(MR("greet", (("colour", ("x",)),))) == [
        "unknown act 'greet'",
        "unknown slot 'colour'",
    ]


def test_every_viggo_target_parses_and_renders_back_byte_identical(viggo_lines: list[str]) -> None:
    seen_comma_in_single_value = False
    for line in viggo_lines:
        target = json.loads(line)["messages"][2]["content"]
        result = parse_mr(target)
        assert isinstance(result, ParseOk), (target, result)
        assert vocabulary_problems(result.value) == []
        assert render_mr(result.value) == target
        for slot, values in result.value.slots:
            if slot not in LIST_VALUED_SLOTS and any("," in v for v in values):
                seen_comma_in_single_value = True
    # the sample really has this quirk ("Spectrum HoloByte, Inc."), so the rule above is exercised
    assert seen_comma_in_single_value


# --- properties ----------------------------------------------------------------------------------

_identifier = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)
_value_chars = st.characters(blacklist_characters="[]\x00", blacklist_categories=("Cs",))
_single_value = st.text(_value_chars, min_size=1, max_size=20).map(str.strip).filter(bool)
_list_item = _single_value.map(lambda v: v.replace(",", ";").strip()).filter(bool)


@st.composite
def meaning_representations(draw: st.DrawFn) -> MeaningRepresentation:
    act = draw(st.one_of(st.sampled_from(VIGGO_ACTS), _identifier))
    names = draw(st.lists(st.one_of(st.sampled_from(VIGGO_SLOTS), _identifier), max_size=6, unique=True))
    slots = []
    for name in names:
        if name in LIST_VALUED_SLOTS:
            values = tuple(draw(st.lists(_list_item, max_size=4)))
        else:
            values = tuple(draw(st.lists(_single_value, max_size=1)))
        slots.append((name, values))
    return MR(act, tuple(slots))


@settings(max_examples=300, deadline=None)
@given(meaning_representations())
def test_render_then_parse_is_identity(mr: MeaningRepresentation) -> None:
    assert parse_mr(render_mr(mr)) == ParseOk(mr)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from("inform_()[], \\ab\n\t;"), max_size=60) | st.text(max_size=60))
def test_arbitrary_text_never_raises_and_ok_results_are_canonical(text: str) -> None:
    result = parse_mr(text)
    assert isinstance(result, ParseOk | ParseError)
    if isinstance(result, ParseOk):
        canonical = render_mr(result.value)  # whatever parses can be rendered ...
        assert parse_mr(canonical) == result  # ... and parses back to the same value
    else:
        assert result.reason
