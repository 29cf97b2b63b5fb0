"""GSM-7 / UCS-2 detection and segment splitting (CONTRACT §4), checked against gsm0338."""

import dataclasses

import gsm0338  # noqa: F401  (importing it registers the "gsm03.38" codec)
import pytest
from hypothesis import given
from hypothesis import strategies as st

from messaging.encoding import (
    _GSM7_BASIC_TABLE,
    GSM7,
    GSM7_BASIC,
    GSM7_EXTENSION,
    UCS2,
    EncodedBody,
    encode_body,
    encoding_of,
    segment_count,
)

CODEC = "gsm03.38"
ESC = "\x1b"
EMOJI = "😀"  # outside the BMP: two UTF-16 units
HAN = "中"  # in the BMP, not in GSM 03.38: one UTF-16 unit


def utf16_units(text: str) -> list[int]:
    """The UTF-16 code units of text."""
    data = text.encode("utf-16-le", "surrogatepass")
    return [int.from_bytes(data[i : i + 2], "little") for i in range(0, len(data), 2)]


def codec_can_encode(text: str) -> bool:
    """Whether the gsm0338 codec encodes text."""
    try:
        text.encode(CODEC)
    except UnicodeEncodeError:
        return False
    return True


def measured_units(text: str, encoding: str) -> int:
    """Size of text in septets (by the codec) or UTF-16 units (by Python's UTF-16 codec)."""
    return len(text.encode(CODEC)) if encoding == GSM7 else len(utf16_units(text))


# --- the table against the codec ------------------------------------------------------------


def test_basic_table_is_in_code_order():
    """Each character of the basic table encodes, through the codec, to its position there."""
    assert len(_GSM7_BASIC_TABLE) == 128
    for code, ch in enumerate(_GSM7_BASIC_TABLE):
        assert ch.encode(CODEC) == bytes([code]), hex(code)


def test_basic_characters_encode_to_one_septet():
    """Every character the table calls basic is one byte in the codec."""
    for ch in GSM7_BASIC:
        assert len(ch.encode(CODEC)) == 1, repr(ch)


def test_extension_characters_encode_to_escape_pairs():
    """Every extension character is ESC plus one byte in the codec."""
    assert len(GSM7_EXTENSION) == 10
    for ch in GSM7_EXTENSION:
        encoded = ch.encode(CODEC)
        assert len(encoded) == 2 and encoded[0] == 0x1B, repr(ch)


def test_table_agrees_with_codec_on_every_bmp_character():
    """Over the whole BMP the table matches the codec, except ESC, which we refuse on purpose."""
    basic, extension = set(), set()
    for code in range(0x10000):
        ch = chr(code)
        try:
            encoded = ch.encode(CODEC)
        except UnicodeEncodeError:
            continue
        (basic if len(encoded) == 1 else extension).add(ch)
    assert ESC in basic
    assert basic - {ESC} == GSM7_BASIC
    assert extension == GSM7_EXTENSION


# --- examples --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "segments"), [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)]
)
def test_ascii_segment_boundaries(length, segments):
    """Plain ASCII: 160 septets fit one segment, then 153 each."""
    encoded = encode_body("a" * length)
    assert (encoded.encoding, encoded.units, encoded.segments) == (GSM7, length, segments)


@pytest.mark.parametrize(
    ("length", "segments"), [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)]
)
def test_ucs2_segment_boundaries(length, segments):
    """UCS-2: 70 units fit one segment, then 67 each."""
    encoded = encode_body(HAN * length)
    assert (encoded.encoding, encoded.units, encoded.segments) == (UCS2, length, segments)


def test_empty_body_is_one_empty_gsm7_segment():
    """An empty body is GSM-7, 0 units, one segment holding the empty string."""
    assert encode_body("") == EncodedBody(encoding=GSM7, segments=1, units=0, parts=("",))


def test_euro_counts_two_septets():
    """A euro sign keeps GSM-7 but costs an escape: 80 fit one segment, 81 do not."""
    assert encode_body("€" * 80) == EncodedBody(GSM7, 1, 160, ("€" * 80,))
    assert encode_body("€" * 81).segments == 2


def test_brace_pushes_body_into_second_segment():
    """159 letters and a '{' are 161 septets, so two segments."""
    encoded = encode_body("a" * 159 + "{")
    assert (encoded.encoding, encoded.units, encoded.segments) == (GSM7, 161, 2)
    assert encoded.parts == ("a" * 153, "a" * 6 + "{")


def test_gsm_non_ascii_letters_stay_gsm7():
    """Greek capitals, ß, é and £ are in the basic table: one septet each."""
    encoded = encode_body("ΩΔß é£")
    assert (encoded.encoding, encoded.units) == (GSM7, 6)


def test_ascii_outside_gsm_forces_ucs2():
    """A backtick is ASCII but not GSM 03.38, so the body goes UCS-2."""
    assert encoding_of("say `hi`") == UCS2


def test_lone_escape_forces_ucs2():
    """A raw ESC character is not a GSM character (it would eat the next septet)."""
    assert encode_body("a" + ESC + "b") == EncodedBody(UCS2, 1, 3, ("a" + ESC + "b",))


def test_escape_pair_not_split_at_boundary():
    """A '{' that would take septets 153-154 moves wholly to the next segment."""
    encoded = encode_body("a" * 152 + "{" + "a" * 10)
    assert encoded.parts == ("a" * 152, "{" + "a" * 10)
    assert [len(p.encode(CODEC)) for p in encoded.parts] == [152, 12]


def test_all_extension_body_fills_152_septets_per_segment():
    """81 braces are 162 septets: 76 pairs (152 septets) then 5."""
    encoded = encode_body("{" * 81)
    assert [len(p) for p in encoded.parts] == [76, 5]


def test_emoji_counts_two_units():
    """An emoji forces UCS-2 and counts two UTF-16 units."""
    encoded = encode_body("Hi " + EMOJI)
    assert (encoded.encoding, encoded.units, encoded.segments) == (UCS2, 5, 1)


def test_emoji_fills_single_segment_exactly():
    """35 emoji are 70 units, one segment; 36 are 72, two segments of 33 and 3."""
    assert encode_body(EMOJI * 35).segments == 1
    assert [len(p) for p in encode_body(EMOJI * 36).parts] == [33, 3]


def test_emoji_not_split_at_boundary():
    """An emoji that would take units 67-68 moves wholly to the next segment."""
    encoded = encode_body(HAN * 66 + EMOJI + HAN * 10)
    assert encoded.parts == (HAN * 66, EMOJI + HAN * 10)
    assert (encoded.units, encoded.segments) == (78, 2)


def test_conveniences_match_encode_body():
    """segment_count and encoding_of agree with encode_body."""
    body = "x" * 200 + EMOJI
    assert segment_count(body) == encode_body(body).segments == 4
    assert encoding_of(body) == encode_body(body).encoding == UCS2


def test_encoded_body_is_frozen():
    """EncodedBody cannot be changed after it is made."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        encode_body("hi").segments = 2


# --- properties ------------------------------------------------------------------------------

GSM_ALPHABET = sorted(GSM7_BASIC | GSM7_EXTENSION)
bodies = st.one_of(
    st.text(max_size=400),
    st.text(alphabet=st.sampled_from(GSM_ALPHABET), max_size=700),
    st.text(alphabet=st.sampled_from(["a", "{", "€", "é"]), max_size=700),
    st.text(alphabet=st.sampled_from(["a", HAN, EMOJI, "{"]), max_size=400),
)


def limit_for(encoded: EncodedBody) -> int:
    """The per-segment size limit that applies to this encoded body."""
    single, multi = (160, 153) if encoded.encoding == GSM7 else (70, 67)
    return single if encoded.segments == 1 else multi


@given(bodies)
def test_parts_concatenate_to_body(body):
    """The parts, in order, are the body; there is one per segment."""
    encoded = encode_body(body)
    assert "".join(encoded.parts) == body
    assert len(encoded.parts) == encoded.segments >= 1


@given(bodies)
def test_encoding_is_gsm7_exactly_when_codec_encodes(body):
    """GSM-7 exactly when the gsm0338 codec can encode the body (and it holds no raw ESC)."""
    expected = codec_can_encode(body) and ESC not in body
    assert (encode_body(body).encoding == GSM7) == expected


@given(bodies)
def test_units_match_the_codecs(body):
    """units is the septet count by the codec, or the UTF-16 unit count."""
    encoded = encode_body(body)
    assert encoded.units == measured_units(body, encoded.encoding)


@given(bodies)
def test_each_part_fits_its_segment(body):
    """No part exceeds 160/153 septets or 70/67 UTF-16 units."""
    encoded = encode_body(body)
    limit = limit_for(encoded)
    assert all(measured_units(p, encoded.encoding) <= limit for p in encoded.parts)


@given(bodies)
def test_parts_are_filled_greedily(body):
    """Each part but the last is full: its successor's first character would not have fit."""
    encoded = encode_body(body)
    limit = limit_for(encoded)
    for part, following in zip(encoded.parts, encoded.parts[1:], strict=False):
        assert part and following
        assert measured_units(part + following[0], encoded.encoding) > limit


@given(bodies)
def test_no_part_splits_a_surrogate_pair(body):
    """No UCS-2 part starts with a low surrogate or ends with a high surrogate."""
    encoded = encode_body(body)
    if encoded.encoding == UCS2:
        for units in map(utf16_units, encoded.parts):
            assert not units or not 0xDC00 <= units[0] <= 0xDFFF
            assert not units or not 0xD800 <= units[-1] <= 0xDBFF
