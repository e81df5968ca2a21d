"""Format stage: Kakehashi's pybtex style, written in pybtex's template language.

Takes pybtex entries; gives rich text for one page language. What Kakehashi adds (the
labels 閲覧日 / Accessed and アーカイブ / archived copy, the access date beside them, and the
bracketed description that stands in for an unconfirmed title) follows the page's language;
everything of the source itself (punctuation, terms such as the edition, its date) follows
the entry's own language, so a Japanese source keeps 「」 and 2025年11月1日 on the English page
and an English source never gets Japanese punctuation or dates. Titles are never re-cased.
A title marked `verify = {title}` is never shown as if it were the source's own: readers see
`[Web page on example.com]` / `［example.comのウェブページ］` instead. Only a known `urldate`
brings an access note and a dated archive link.
"""

from __future__ import annotations

import re
from functools import lru_cache
from html import escape
from urllib.parse import quote

from pybtex.backends.html import Backend as PybtexHtmlBackend
from pybtex.richtext import HRef, Tag, Text
from pybtex.style import FormattedEntry
from pybtex.style.formatting import BaseStyle, toplevel
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.names import BaseNameStyle
from pybtex.style.template import FieldIsMissing, first_of, join, node, optional, sentence

TEX_SYNTAX = re.compile(r"[\\{}$~%&#^_`]|--|''|\s\s|[\t\n]")  # text without it needs no decoding
LANG_TAG = "lang-"  # a pseudo tag the HTML backend writes as <span lang="…">
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]")
JAPANESE_LANGUAGES = {"japanese", "ja", "jpn", "日本語"}
SAFE_SCHEMES = ("http://", "https://")
MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December")
MONTH_NUMBERS = {name.lower()[:3]: index for index, name in enumerate(MONTHS_EN, start=1)}
ISO_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?")
UI = {  # labels follow the page's language
    "ja": {"accessed": "閲覧日", "archived": "アーカイブ", "no_date": "刊行年不明"},
    "en": {"accessed": "Accessed", "archived": "archived copy", "no_date": "n.d."},
}
NAME_JOINERS = {  # in-text author names follow the entry's language, like its punctuation
    "ja": {"two": "{}・{}", "many": "{}ほか"},
    "en": {"two": "{} and {}", "many": "{} et al."},
}
ORGANISATION_FIELDS = ("organization", "institution")  # an author-date "author" without persons
SHORT_TITLE_WORDS = 4  # an in-text label made from a title keeps its first words
DESCRIPTIONS = {  # what stands in for an unconfirmed title, in the page's language
    "ja": {"brackets": ("［", "］"), "page": "{site}のウェブページ", "video": "{site}の動画",
           "post": "{site}の投稿", "document": "{site}のPDF文書", "work": "題名未確認"},
    "en": {"brackets": ("[", "]"), "page": "Web page on {site}", "video": "Video on {site}",
           "post": "Post on {site}", "document": "PDF document on {site}",
           "work": "Title not confirmed"},
}
URL_KINDS = (  # (pattern on the URL, kind of description); anything else is a web page
    (re.compile(r"^https?://(?:www\.|m\.)?(?:youtube\.com/(?:watch|shorts/)|youtu\.be/|"
                r"vimeo\.com/\d|nicovideo\.jp/watch/|instagram\.com/reel/)", re.IGNORECASE),
     "video"),
    (re.compile(r"^https?://(?:www\.|mobile\.)?(?:(?:x|twitter)\.com/[^/]+/status/|"
                r"instagram\.com/p/|linkedin\.com/posts/|bsky\.app/profile/[^/]+/post/)",
                re.IGNORECASE), "post"),
    (re.compile(r"^[^?#]*\.pdf(?:[?#]|$)", re.IGNORECASE), "document"),
)
URL_HOST = re.compile(r"^https?://(?:[^@/]*@)?(?:www\.)?([^/:?#]+)", re.IGNORECASE)
TERMS = {  # terms follow the entry's language
    "ja": {"volume": "{}巻", "number": "{}号", "pages": "{}頁", "edition": "第{}版",
           "editors": "{}編", "in": "所収", "techreport": "技術報告", "resreport": "研究報告",
           "version": "バージョン{}"},
    "en": {"volume": "vol. {}", "number": "no. {}", "pages": "pp. {}", "edition": "{} ed.",
           "editors": "{}, ed.", "in": "In", "techreport": "Technical report",
           "resreport": "Research report", "version": "version {}"},
}
TYPE_KEYS = ("techreport", "resreport")  # biblatex `type` keys that have a term of their own
REPORT_TYPES = {"techreport", "report"}  # numbered as `RFC 3629`, `Technical report 99-02`
EDITION_WORD = re.compile(r"\b(?:ed|edn|edition)\b", re.IGNORECASE)
PUNCT = {  # separators and quotes follow the entry's language
    "ja": {"sep": "、", "end": "。", "quote": ("「", "」"), "work": ("『", "』"),
           "open": "（", "close": "）"},
    "en": {"sep": ", ", "end": ". ", "quote": ("“", "”"), "work": None,
           "open": " (", "close": ")"},
}
QUOTED_TYPES = {"article", "inproceedings", "incollection", "inbook", "online", "misc",
                "conference", "unpublished", "suppcollection", "suppbook", "inreference",
                "thesis", "mastersthesis", "phdthesis", "techreport", "report", "patent"}


@node
def field(children, context, name, apply_func=None, raw=False):
    """pybtex's `field` node, skipping the TeX decoder for text that holds no TeX.

    Decoding is most of the cost of formatting, and most fields are plain text, which it
    would return unchanged.
    """
    if children:
        raise ValueError(children)
    entry = context["entry"]
    try:
        value = entry._find_field(name, bib_data=context.get("bib_data"))
    except KeyError:
        raise FieldIsMissing(name, entry) from None
    if not raw:
        value = rich(value)
    return apply_func(value) if apply_func else value


@lru_cache(maxsize=65536)
def rich(value: str) -> Text:
    """A field's text as rich text, decoded once however often it is formatted.

    Both page languages format every entry, and an author's names recur across entries;
    pybtex's rich text is never changed in place, so one decoded value serves them all.
    """
    return Text.from_latex(value) if TEX_SYNTAX.search(value) else Text(value)


def name_parts(person, *kinds: str) -> list[Text]:
    """The person's name parts of these kinds ("first", "middle", "last"…) as rich text."""
    return [rich(part) for kind in kinds for part in getattr(person, f"{kind}_names")]


def entry_language(entry) -> str:
    """'ja' when the entry is a Japanese source (by its language field or its title)."""
    declared = (entry.fields.get("language") or entry.fields.get("langid") or "").lower()
    if declared:
        return "ja" if declared in JAPANESE_LANGUAGES else "en"
    return "ja" if CJK.search(entry.fields.get("title", "")) else "en"


def format_date(value: str, language: str) -> str:
    """An ISO date (`2025-11-12`, `2025-11`, `2025`, `1984/1986`) in the page's language."""
    if "/" in value:
        return "–".join(format_date(part, language) for part in value.split("/") if part)
    match = ISO_DATE.match(value.strip())
    if not match:
        return value
    year, month, day = match[1], match[2], match[3]
    if language == "ja":
        return f"{year}年" + (f"{int(month)}月" if month else "") + (f"{int(day)}日" if day else "")
    month_name = MONTHS_EN[int(month) - 1] if month and 1 <= int(month) <= 12 else ""
    return " ".join(part for part in (str(int(day)) if day else "", month_name, year) if part)


def entry_date(entry) -> str | None:
    """The entry's date as ISO text, from `date` or from `year`/`month`/`day`."""
    if entry.fields.get("date"):
        return entry.fields["date"]
    year = entry.fields.get("year", "").strip()
    if not year:
        return None
    month = entry.fields.get("month", "").strip()
    number = int(month) if month.isdigit() else MONTH_NUMBERS.get(month.lower()[:3])
    if not number:
        return year
    day = entry.fields.get("day", "").strip()
    return f"{year}-{number:02d}" + (f"-{int(day):02d}" if day.isdigit() else "")


def title_unconfirmed(entry) -> bool:
    """True when the entry marks its title `verify = {title}` (the rule `check` lists by)."""
    return "title" in entry.fields.get("verify", "").lower()


def describe_untitled(entry, language: str) -> str:
    """`[Web page on example.com]` / `［example.comのウェブページ］`: what the entry is, not a title."""
    words = DESCRIPTIONS[language]
    url = safe_url(entry.fields.get("url", "")) or ""
    host = URL_HOST.match(url)
    kind = next((name for pattern, name in URL_KINDS if pattern.search(url)), "page")
    text = words[kind].format(site=host[1].lower()) if host else words["work"]
    opening, closing = words["brackets"]
    return f"{opening}{text}{closing}"


def safe_url(url: str) -> str | None:
    """The URL if it is http(s); None for any other scheme (javascript:, data:, …)."""
    url = url.strip()
    return url if url.lower().startswith(SAFE_SCHEMES) else None


def family_names(entry) -> list[str]:
    """The family names of the authors (or editors) as plain text; organisations whole."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = []
    for person in people:
        written = " ".join([*person.prelast_names, *person.last_names]) or str(person)
        names.append(str(Text.from_latex(written) if TEX_SYNTAX.search(written) else written)
                     .replace("{", "").replace("}", ""))
    return names


def short_names(entry) -> str:
    """Who an in-text citation names: `Becker`, `Smith and Doe`, `山田ほか`, `Google DeepMind`."""
    names = family_names(entry)
    joiners = NAME_JOINERS[entry_language(entry)]
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return joiners["two"].format(*names)
    if names:
        return joiners["many"].format(names[0])
    for name in ORGANISATION_FIELDS:
        if entry.fields.get(name, "").strip():
            value = entry.fields[name].strip()
            return str(Text.from_latex(value)) if TEX_SYNTAX.search(value) else value
    if title_unconfirmed(entry):
        host = URL_HOST.match(safe_url(entry.fields.get("url", "")) or "")
        if host:
            return host[1].lower()
    title = entry.fields.get("title", "").strip()
    if title:
        words = title.split()
        return " ".join(words[:SHORT_TITLE_WORDS]) + ("…" if len(words) > SHORT_TITLE_WORDS else "")
    return entry.key


def entry_year(entry) -> str:
    """The year of the entry's date, or "" when it has none."""
    match = re.match(r"\d{4}", entry_date(entry) or "")
    return match[0] if match else ""


class AuthorYearLabelStyle(BaseLabelStyle):
    """pybtex label style of author-date: each entry's year, with a, b, … where the in-text
    names and the year are the same (`Becker 1984a`, `Becker 1984b`), in the given order."""

    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        shared: dict[tuple[str, str], int] = {}
        for entry in entries:
            key = (short_names(entry), entry_year(entry))
            shared[key] = shared.get(key, 0) + 1
        seen: dict[tuple[str, str], int] = {}
        for entry in entries:
            key = (short_names(entry), entry_year(entry))
            suffix = ""
            if shared[key] > 1 and key[1]:
                suffix = "abcdefghijklmnopqrstuvwxyz"[seen.get(key, 0) % 26]
                seen[key] = seen.get(key, 0) + 1
            yield key[1] + suffix


def sort_key(entry) -> tuple[str, str, str]:
    """Author-date order: `sortkey` if given, else the in-text names; then year and title."""
    first = entry.fields.get("sortkey") or short_names(entry)
    return (first.casefold(), entry_year(entry), entry.fields.get("title", "").casefold())


class NameStyle(BaseNameStyle):
    """Full names: CJK names family-first with no space or comma, others given-first."""

    def format(self, person, abbr=False):
        given = name_parts(person, "first", "middle")
        family = name_parts(person, "prelast", "last")
        lineage = name_parts(person, "lineage")
        if CJK.search(str(person)):
            return Text(*family, *given, *lineage)
        return join(sep=" ")[given + family + lineage]


@node
def persons(children, context, role):
    """The names in one role, joined in the entry's language."""
    entry = context["entry"]
    if role not in entry.persons or not entry.persons[role]:
        raise FieldIsMissing(role, entry)
    style = context["style"]
    names = [style.format_name(person) for person in entry.persons[role]]
    first = entry.persons[role][0]
    if style.citation_style == "author-date" and not CJK.search(str(first)) and \
            first.first_names:  # listed by family name, so the first name reads family first
        family = join(sep=" ")[name_parts(first, "prelast", "last")]
        given = join(sep=" ")[name_parts(first, "first", "middle")]
        names[0] = Text(family.format_data(context), ", ", given.format_data(context))
    if entry_language(entry) == "ja":
        return join(sep="、")[names].format_data(context)
    return join(sep=", ", sep2=" and ", last_sep=", and ")[names].format_data(context)


@node
def title(children, context):
    """Title and subtitle in the entry's quotes, never re-cased; if unconfirmed, a description."""
    entry = context["entry"]
    if title_unconfirmed(entry):
        return in_page_language(context, describe_untitled(entry, context["style"].language))
    language = entry_language(entry)
    main = field("title").format_data(context)
    subtitle = optional[field("subtitle")].format_data(context)
    whole = Text(main, ": " if language == "en" else "—", subtitle) if subtitle else main
    if entry.type.lower() in QUOTED_TYPES:
        opening, closing = PUNCT[language]["quote"]
        return Text(opening, whole, closing)
    work = PUNCT[language]["work"]
    return Text(work[0], whole, work[1]) if work else Tag("em", whole)


def in_page_language(context, *parts) -> Text:
    """Parts written in the page's language; marked with its `lang` inside a foreign entry."""
    page = context["style"].language
    if entry_language(context["entry"]) == page:
        return Text(*parts)
    return Tag(f"{LANG_TAG}{page}", *parts)


@node
def english_title(children, context):
    """`[English title]` for a Japanese source on the English page."""
    entry = context["entry"]
    if entry_language(entry) != "ja" or title_unconfirmed(entry) or \
            context["style"].language != "en":  # the page's language last: asked only if it matters
        return Text()
    english = optional[field("englishtitle")].format_data(context)
    return Text(" ", in_page_language(context, "[", english, "]")) if english else Text()


@node
def container(children, context):
    """The journal or book that holds the work."""
    entry = context["entry"]
    language = entry_language(entry)
    name = first_of[optional[field("journaltitle")], optional[field("journal")],
                    optional[field("booktitle")]].format_data(context)
    if not name:
        return Text()
    work = PUNCT[language]["work"]
    name = Text(work[0], name, work[1]) if work else Tag("em", name)
    if entry.type.lower() in {"inproceedings", "incollection", "inbook", "conference"}:
        label = TERMS[language]["in"]
        return Text(name, label) if language == "ja" else Text(label, " ", name)
    return name


@node
def editors(children, context):
    """Editors standing in for missing authors: `山田太郎編` / `Jane Doe, ed.`."""
    before, _, after = TERMS[entry_language(context["entry"])]["editors"].partition("{}")
    return Text(before, persons("editor").format_data(context), after)


@node
def term(children, context, name, key, apply_func=None):
    """A field wrapped in its localized term: `42巻` / `vol. 42`."""
    entry = context["entry"]
    value = field(name, apply_func=apply_func).format_data(context)
    before, _, after = TERMS[entry_language(entry)][key].partition("{}")
    return Text(before, value, after)


@node
def volume_number(children, context):
    """Volume, number and pages with their terms: `42巻3号、222頁` / `vol. 42, no. 3, pp. 1–4`."""
    language = entry_language(context["entry"])
    parts = join(sep="" if language == "ja" else ", ")[
        optional[term("volume", "volume")], optional[term("number", "number")]]
    pages = optional[term("pages", "pages", apply_func=dash_range)]
    return join(sep=PUNCT[language]["sep"])[parts, pages].format_data(context)


def ordinal(number: int) -> str:
    """An English ordinal: 1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st."""
    if 10 <= number % 100 <= 20:
        return f"{number}th"
    return f"{number}" + {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")


@node
def edition(children, context):
    """The edition in the entry's language: `2nd ed.` / `第2版`; words kept as written."""
    entry = context["entry"]
    language = entry_language(entry)
    value = field("edition").format_data(context)
    written = str(value).strip()
    before, _, after = TERMS[language]["edition"].partition("{}")
    if written.isdigit():
        number = int(written)
        return Text(before, ordinal(number) if language == "en" else str(number), after)
    if language == "en" and not EDITION_WORD.search(written):
        return Text(value, after)  # Revised -> Revised ed.
    return value


@node
def kind(children, context):
    """The `type` field, with biblatex's report keys as terms; other keys are left out."""
    entry = context["entry"]
    terms = TERMS[entry_language(entry)]
    try:
        value = field("type").format_data(context)
    except FieldIsMissing:
        if entry.type.lower() not in REPORT_TYPES:
            raise
        return Text(terms["techreport"])
    key = str(value).strip().lower()
    if key in TYPE_KEYS:
        return Text(terms[key])
    return Text() if re.fullmatch(r"[a-z]+", str(value)) else value


def dash_range(text: Text) -> Text:
    """Page ranges with an en dash, whatever the .bib used."""
    return Text(re.sub(r"\s*(?:-{1,3}|–)\s*", "–", str(text)))


@node
def date(children, context, name):
    """A date of the source, in the entry's language like the punctuation around it."""
    entry = context["entry"]
    value = entry_date(entry) if name == "date" else entry.fields.get(name)
    if not value:
        raise FieldIsMissing(name, entry)
    return Text(format_date(value, entry_language(entry)))


@node
def links(children, context):
    """URL, DOI and arXiv links (http/https only); access note and archive only with `urldate`."""
    entry = context["entry"]
    style = context["style"]
    punct = PUNCT[entry_language(entry)]
    parts = []
    url = safe_url(entry.fields.get("url", ""))
    if url:
        parts.append(HRef(url, url))
    if entry.fields.get("doi"):
        doi = entry.fields["doi"].strip()
        parts.append(HRef("https://doi.org/" + quote(doi, safe="/:;()-._"), "doi:" + doi))
    if entry.fields.get("eprint") and entry.fields.get("eprinttype", "").lower() == "arxiv":
        arxiv = entry.fields["eprint"].strip()
        parts.append(HRef("https://arxiv.org/abs/" + quote(arxiv, safe="/.:"), "arXiv:" + arxiv))
    text = join(sep=" ")[parts].format_data(context)
    visited = entry.fields.get("urldate")
    if url and visited:
        ui = UI[style.language]
        stamp = re.sub(r"\D", "", visited)[:8]
        archive = HRef(f"https://web.archive.org/web/{stamp}/{url}", ui["archived"])
        note = in_page_language(context, ui["accessed"], " ", format_date(visited, style.language),
                                punct["sep"], archive)
        text = Text(text, punct["open"], note, punct["close"])
    return text


@node
def creators(children, context):
    """Who the author-date list is sorted by: the authors, editors or organisation; else missing.

    Missing, the template puts the title first, as in-text citations then name it.
    """
    names = first_of[optional[persons("author")], optional[editors],
                     optional[field("organization")], optional[field("institution")]
                     ].format_data(context)
    if not names:
        raise FieldIsMissing("author", context["entry"])
    return names


@node
def label_year(children, context):
    """The year an author-date citation shows, with its a/b suffix: `1984a`; else `n.d.`."""
    style = context["style"]
    year = style.year_labels.get(context["entry"].key, "")
    return Text(year) if year else in_page_language(context, UI[style.language]["no_date"])


@node
def sentences(children, context):
    """Join blocks with the entry language's full stop."""
    language = entry_language(context["entry"])
    end = PUNCT[language]["end"]
    blocks = [block for block in (child.format_data(context) for child in children) if block]
    if not blocks:
        return Text()
    if language == "en":
        return join(sep=" ")[[block.add_period() for block in blocks]].format_data(context)
    if len(blocks) > 1 and str(blocks[0]).endswith(("」", "』", "］")):
        blocks[:2] = [Text(blocks[0], blocks[1])]  # 著者「題名」『誌名』… reads as one clause
    closed = [block if str(block).endswith(("。", ".")) else Text(block, end) for block in blocks]
    return Text(*closed)


@node
def shared(children, context, part):
    """A part of the entry formatted once for every page language, unless it asked for the
    page's language; the styles of one bibliography share `memo` for that."""
    style, key = context["style"], (context["entry"].key, part)
    if key in style.memo:
        return style.memo[key]
    asked, style.consulted = style.consulted, False
    [child] = children
    text = child.format_data(context)
    if not style.consulted:
        style.memo[key] = text
    style.consulted = style.consulted or asked
    return text


@node
def clause(children, context):
    """Join parts with the entry language's comma."""
    sep = PUNCT[entry_language(context["entry"])]["sep"]
    return join(sep=sep)[children].format_data(context)


class KakehashiStyle(BaseStyle):
    """The bibliography style for one page language ("ja" or "en")."""

    default_name_style = "plain"
    default_label_style = "number"
    default_sorting_style = "none"

    def __init__(self, language: str, citation_style: str = "numeric",
                 year_labels: dict[str, str] | None = None, memo: dict | None = None, **kwargs):
        super().__init__(**kwargs)
        self.memo = {} if memo is None else memo  # (key, part) -> formatted text, see `shared`
        self.page_language = language
        self.consulted = False  # set when formatting asks for the page's language
        self.citation_style = citation_style  # "numeric" or "author-date"
        self.year_labels = year_labels or {}  # key -> "1984a" (author-date)
        self.format_name = NameStyle().format
        self.templates = {}  # (entry language, is a report) -> template, built once

    @property
    def language(self) -> str:
        """The page's language; asking for it marks the entry being formatted as depending on it."""
        self.consulted = True
        return self.page_language

    def format_entry(self, label, entry, bib_data=None):
        """One entry as pybtex's FormattedEntry; every entry type shares one template."""
        context = {"entry": entry, "style": self, "bib_data": bib_data}
        return FormattedEntry(entry.key, self.get_template(entry).format_data(context), label)

    def get_template(self, entry):
        """The template every entry type uses; missing parts are simply left out."""
        shape = (entry_language(entry), entry.type.lower() in REPORT_TYPES)  # and self's style
        if shape not in self.templates:
            self.templates[shape] = self.build_template(*shape, self.citation_style)
        return self.templates[shape]

    @staticmethod
    def build_template(language: str, report: bool, citation_style: str = "numeric"):
        """The template for entries of one language, reports or other types, in one style.

        Numeric: `Authors. Title. …`; author-date puts the year (with its a/b) after the
        authors, as the reader looks it up: `Becker, Howard S. 1984a. …`, `山田太郎（2025）「…」…`.
        """
        names = first_of[optional[persons("author")], optional[editors]]
        work = join[optional[title], english_title]
        if citation_style == "author-date" and language == "en":
            head = first_of[optional[join(sep=" ")[sentence[creators], sentence[label_year], work]],
                            join(sep=" ")[sentence[work], label_year]]
        elif citation_style == "author-date":
            head = first_of[optional[join[creators, "（", label_year, "）", work]],
                            join[work, "（", label_year, "）"]]
        elif language == "en":
            head = join(sep=" ")[sentence[names], work]  # `Jane Doe, ed.` takes no second stop
        else:
            head = join[names, work]
        if report:
            numbering = [join(sep=" ")[kind, optional[field("number")]], optional[edition]]
        else:
            numbering = [volume_number, optional[edition], optional[kind]]
        numbering.append(optional[term("version", "version")])
        publication = clause[(
            container,
            *numbering,
            first_of[optional[field("organization")], optional[field("publisher")],
                     optional[field("institution")], optional[field("school")]],
            first_of[optional[field("location")], optional[field("address")]],
            optional[date("date")],
        )]
        return toplevel[sentences[shared("head")[head], shared("publication")[publication],
                                  links]]


class HtmlBackend(PybtexHtmlBackend):
    """pybtex's HTML backend, escaping quotes too and linking only http(s) URLs."""

    def format_str(self, text):
        return escape(text, quote=True)

    def format_protected(self, text):
        return text

    def format_tag(self, tag_name, text):
        """Tags as pybtex writes them, and `lang-xx` as a span in that language."""
        if tag_name.startswith(LANG_TAG):
            return f'<span lang="{tag_name[len(LANG_TAG):]}">{text}</span>' if text else ""
        return super().format_tag(tag_name, text)

    @staticmethod
    def format_href(url, text, external=False):
        safe = safe_url(url)
        if not safe or not text:
            return text
        return f'<a href="{escape(safe, quote=True)}">{text}</a>'


class PlainHtmlBackend(HtmlBackend):
    """The same HTML without links, for popovers that sit inside a citation link."""

    @staticmethod
    def format_href(url, text, external=False):
        return text
