"""Cleaning raw comments: markup, whitespace, binary data, length, and awkward inputs."""

import base64
import random
import time

from cxcore.text.clean import MAX_CHARS, clean
from cxcore.text.types import FLAG_BINARY, FLAG_EMPTY, FLAG_MARKUP, FLAG_TRUNCATED, Cleaned


def test_it_leaves_a_plain_comment_as_it_is():
    assert clean("Livraison rapide, produit conforme.") == Cleaned(
        text="Livraison rapide, produit conforme.", flags=()
    )


def test_it_flags_an_empty_text():
    assert clean("") == Cleaned(text="", flags=(FLAG_EMPTY,))


def test_it_flags_a_text_of_whitespace_only():
    assert clean("  \n\t \r\n \u00a0 ") == Cleaned(text="", flags=(FLAG_EMPTY,))


def test_it_flags_a_text_of_tags_only_as_markup_and_empty():
    assert clean("<p><br/></p><div> </div>") == Cleaned(text="", flags=(FLAG_MARKUP, FLAG_EMPTY))


def test_it_collapses_spaces_and_tabs_and_trims_lines():
    assert clean("  Très\t\tbien   reçu  \n   merci  ").text == "Très bien reçu\nmerci"


def test_it_keeps_at_most_one_blank_line():
    assert (
        clean("Bien.\n\n\n\n\nMerci.\r\n\r\n\r\nAu revoir.").text == "Bien.\n\nMerci.\n\nAu revoir."
    )


def test_it_turns_unusual_spaces_into_plain_ones():
    # No-break and narrow no-break spaces come with French typography ("Super !").
    assert clean("Super\u202f! Prix\u00a0correct\u2003ici").text == "Super ! Prix correct ici"


def test_it_removes_control_and_invisible_characters_but_keeps_newlines():
    assert clean("Bon\x00jour\x07 \u200bà\u00ad tous\ufeff\nmerci").text == "Bonjour à tous\nmerci"


def test_it_removes_lone_surrogates_so_the_text_can_be_stored():
    result = clean("Tr\udce8s bien")
    assert result == Cleaned(text="Trs bien", flags=())
    assert result.text.encode("utf-8")


def test_it_normalises_decomposed_accents():
    assert clean("tre\u0300s bien rec\u0327u").text == "très bien reçu"


def test_it_keeps_emoji_with_their_joiners_and_skin_tones():
    text = "Parfait 👍🏽 la famille 👨\u200d👩\u200d👧 ❤️"
    assert clean(text).text == text


def test_it_keeps_an_emoji_only_comment():
    assert clean(" 😍😍😍 ") == Cleaned(text="😍😍😍", flags=())


def test_it_keeps_all_caps():
    assert clean("LIVRAISON TRÈS RAPIDE !!!").text == "LIVRAISON TRÈS RAPIDE !!!"


def test_it_strips_tags_and_decodes_entities_in_markup():
    result = clean("<p>Tr&egrave;s <b>bien</b> &amp; rapide, &eacute;t&eacute; livr&eacute;</p>")
    assert result == Cleaned(text="Très bien & rapide, été livré", flags=(FLAG_MARKUP,))


def test_it_drops_scripts_styles_and_comments_whole():
    html = (
        "<html><head><title>x</title><style>p {color: red}</style></head><body>"
        "<script type='text/javascript'>alert('<b>hi</b>')</script>"
        "<!-- tracking pixel -->Bon produit</body></html>"
    )
    assert clean(html) == Cleaned(text="Bon produit", flags=(FLAG_MARKUP,))


def test_it_drops_an_unclosed_script_to_the_end():
    assert clean("Merci<script>document.write('x')").text == "Merci"


def test_it_turns_block_ends_and_line_breaks_into_newlines():
    html = (
        "<div><p>Livraison rapide</p><ul><li>taille ok</li><li>couleur ok</li></ul>"
        "Merci<br>Anne</div>"
    )
    assert clean(html).text == "Livraison rapide\ntaille ok\ncouleur ok\nMerci\nAnne"


def test_it_reads_nested_tags_with_attributes():
    html = (
        '<div class="a"><span style="x"><a href="https://x.fr?a=1&amp;b=2">lien</a> ok</span></div>'
    )
    assert clean(html).text == "lien ok"


def test_it_keeps_a_heart_that_is_not_markup():
    assert clean("I <3 Oura") == Cleaned(text="I <3 Oura", flags=())


def test_it_keeps_comparisons_that_are_not_markup():
    assert clean("prix < 20 € et qualité > prix").text == "prix < 20 € et qualité > prix"
    assert clean("x<y and y>z") == Cleaned(text="x<y and y>z", flags=())


def test_it_keeps_a_heart_inside_real_markup():
    assert clean("<p>Love it <3</p>") == Cleaned(text="Love it <3", flags=(FLAG_MARKUP,))


def test_it_decodes_entities_in_plain_text_without_flagging_markup():
    assert clean("J&#39;adore, c&rsquo;est top") == Cleaned(text="J'adore, c’est top", flags=())


def test_it_leaves_ampersands_that_are_not_entities():
    assert clean("AT&T, R&D & this&nothing").text == "AT&T, R&D & this&nothing"


def test_it_shows_escaped_tags_as_text():
    assert clean("&lt;b&gt;pas du HTML&lt;/b&gt;").text == "<b>pas du HTML</b>"


def test_it_decodes_bytes_as_utf8():
    assert clean("Très bien".encode()).text == "Très bien"


def test_it_replaces_undecodable_bytes_without_refusing_the_text():
    # Latin-1 bytes: one unreadable character in a sentence is a damaged word, not binary data.
    result = clean("Très bien reçu, merci".encode("latin-1"))
    assert result == Cleaned(text="Tr\ufffds bien re\ufffdu, merci", flags=())


def test_it_refuses_random_bytes_as_binary():
    noise = random.Random(7).randbytes(2000)
    assert clean(noise) == Cleaned(text="", flags=(FLAG_BINARY,))


def test_it_refuses_a_base64_blob_as_binary():
    blob = base64.b64encode(random.Random(7).randbytes(600)).decode()
    assert clean(blob) == Cleaned(text="", flags=(FLAG_BINARY,))


def test_it_refuses_a_blob_that_outweighs_the_words_around_it():
    blob = base64.b64encode(random.Random(7).randbytes(600)).decode()
    assert clean(f"voir pièce jointe {blob}").flags == (FLAG_BINARY,)


def test_it_refuses_text_full_of_nul_characters():
    utf16 = "Bonjour, très bien".encode("utf-16-le").decode("utf-8", errors="replace")
    assert clean(utf16) == Cleaned(text="", flags=(FLAG_BINARY,))


def test_it_refuses_binary_data_wrapped_in_markup():
    noise = random.Random(3).randbytes(500).decode("latin-1")
    assert clean(f"<pre>{noise}</pre>") == Cleaned(text="", flags=(FLAG_BINARY,))


def test_it_refuses_a_base64_image_once_its_tag_is_gone_only_if_blobs_remain():
    image = base64.b64encode(random.Random(5).randbytes(900)).decode()
    html = f'<p>Photo du colis abîmé <img src="data:image/png;base64,{image}"></p>'
    assert clean(html) == Cleaned(text="Photo du colis abîmé", flags=(FLAG_MARKUP,))


def test_it_reads_a_tag_that_a_nul_character_split():
    assert clean("<b\x00>Merci</b>") == Cleaned(text="Merci", flags=(FLAG_MARKUP,))


def test_it_removes_invisible_characters_that_entities_decode_to():
    assert clean("sou&shy;cis&#x2028;merci") == Cleaned(text="soucis\nmerci", flags=())


def test_it_keeps_a_long_link_among_words():
    link = "https://example.com/track/" + "a1B2c3D4" * 12
    assert clean(f"Suivi : {link}").text == f"Suivi : {link}"


def test_it_keeps_a_comment_with_a_long_order_number():
    text = (
        "Commande 4F9A0C2E7B1D4F9A0C2E7B1D4F9A0C2E7B1D4F9A0C2E7B1D4F9A0C2E7B1D jamais reçue, " * 3
    )
    assert clean(text).flags == ()


def test_it_cuts_a_long_text_at_the_last_space_before_the_limit():
    result = clean("mot " * 30, limit=50)
    assert result == Cleaned(text=("mot " * 12).strip(), flags=(FLAG_TRUNCATED,))
    assert len(result.text) <= 50


def test_it_cuts_at_the_limit_when_there_is_no_space_to_cut_at():
    result = clean("a" * 80, limit=50)
    assert result == Cleaned(text="a" * 50, flags=(FLAG_TRUNCATED,))


def test_it_does_not_flag_a_text_exactly_at_the_limit():
    assert clean("a" * 50, limit=50) == Cleaned(text="a" * 50, flags=())


def test_it_measures_the_limit_after_cleaning():
    # Markup and spaces do not count against the limit: only what is left to read does.
    assert clean("<b>ok</b>" + " " * 100 + "merci", limit=20).text == "ok merci"


def test_it_truncates_a_huge_text_quickly():
    huge = "Le colis est arrivé en retard et abîmé. " * 26_000  # about 1 MB
    started = time.perf_counter()
    result = clean(huge)
    elapsed = time.perf_counter() - started
    assert result.flags == (FLAG_TRUNCATED,)
    assert MAX_CHARS - 50 < len(result.text) <= MAX_CHARS
    assert result.text.endswith("abîmé.")
    assert elapsed < 0.05


def test_it_truncates_huge_bytes_quickly():
    huge = ("Great ring, fast shipping. " * 40_000).encode()
    started = time.perf_counter()
    result = clean(huge)
    assert time.perf_counter() - started < 0.05
    assert result.flags == (FLAG_TRUNCATED,)
    assert len(result.text) <= MAX_CHARS


def test_it_never_raises_on_awkward_strings():
    awkward = [
        "<",
        ">",
        "&",
        "&#;",
        "&#99999999;",
        "<!--",
        "<script",
        "</",
        "<![CDATA[",
        "\ud800",  # a lone surrogate
        "\x00" * 10,
        "\n" * 1000,
        "<" * 5000 + "a",
        "&amp;" * 3000,
        "".join(chr(code) for code in range(0, 0x3000, 7)),
    ]
    for text in awkward:
        result = clean(text)
        assert isinstance(result.text, str)
        assert len(result.text) <= MAX_CHARS
