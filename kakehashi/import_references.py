"""Parse stage of `import`: a formatted reference in a source list, as BibTeX fields.

Takes one list item's text without its URL and access note; gives a frozen `Reference`
with the fields a reader can see in it (authors, title, journal or proceedings, volume,
number, pages, year, DOI, arXiv id) when it is written in one of the common styles —
IEEE and physics (`J. Rissanen, "Title," Journal 14, 465–471 (1978)`), APA
(`Smith, J., & Doe, A. (2020). Title. Journal, 3(2), 1–9.`), Nature, ACM and Japanese
(`山田太郎「題名」『誌名』12巻3号, 2020年`) — and says whether the reading is whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

INITIALS = r"[A-Z]\.(?:[ -]?[A-Z]\.){0,2}"
SURNAME = r"(?:(?:van|von|de|der|den|da|di|le|la|du|dos|del|bin|al)\s)*[A-Z][\w'’-]+(?:-[A-Z][\w'’-]+)?"
NAME = (rf"(?:{INITIALS}\s?{SURNAME}|{SURNAME},\s{INITIALS}|{SURNAME}\s[A-Z]{{1,3}}(?=[,.;]|\s(?:and|&))|"
        rf"[A-Z][a-z]+(?:\s[A-Z]\.)?\s{SURNAME})")
AUTHORS = re.compile(rf"^(?P<list>{NAME}(?:(?:,\s|;\s|,?\s(?:and|&)\s){NAME})*)"
                     r"(?:,?\s(?P<others>et\sal\.?))?")
QUOTED = re.compile(r"[“\"](?P<title>[^“”\"]{3,}?)[,.]?[”\"]")
TITLE_END = r"(?P<title>.+?[^.\s]{2})(?:(?P<stop>[.?!])\s(?P<rest>.*)|(?P<end>[.?!]?)$)"
APA = re.compile(rf"^(?P<authors>.+?)\s\((?P<year>\d{{4}})[a-z]?(?:,[^)]*)?\)\.\s{TITLE_END}")
ACM = re.compile(rf"^(?P<authors>.+?)\.\s(?P<year>\d{{4}})\.\s{TITLE_END}")
JAPANESE = re.compile(r"^(?P<authors>[^「『]{0,40}?)\s*[「『](?P<title>[^」』]+)[」』]\s*"
                      r"(?:『(?P<container>[^』]+)』)?(?P<rest>.*)$")
CONTAINER = re.compile(
    r"^\s*(?:[Ii]n:?\s+)?(?P<container>[^\d(),;:]*[^\W\d_][^\d(),;:]*?)[,.]?\s+"
    r"(?:(?:vol\.|volume|Vol\.)\s*)?(?P<volume>\d+)"
    r"(?:\s*\((?P<number>[^)]{1,10})\)|,?\s*no\.\s*(?P<number2>\d+))?"
    r"(?:\s*\((?P<year>\d{4})\))?(?:[,:]\s*(?:pp?\.\s*)?(?P<pages>[eA-Z]?\d+(?:\s*[–—-]+\s*[eA-Z]?\d+)?))?")
PAGES = re.compile(r"\b(?:pp?\.\s*)?(?P<pages>\d+\s*[–—-]+\s*\d+)\b")
YEAR = re.compile(r"(?<!\d)(?<!\d\.)(?:1[6-9]|20)\d\d(?!\d|\.\d)")
DOI = re.compile(r"\b(?:doi:\s*|https?://(?:dx\.)?doi\.org/)?(?P<doi>10\.\d{4,9}/[^\s\"<>]+)",
                 re.IGNORECASE)
ARXIV = re.compile(r"\barXiv(?:\s+preprint)?(?:\s*:\s*|\s+)(?:arXiv:)?"
                   r"(?P<id>\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?", re.IGNORECASE)
PROCEEDINGS = re.compile(r"\b(?:Proc\.|Proceedings|Conference|Symposium|Workshop|Conf\.)|予稿|講演",
                         re.IGNORECASE)
JA_VOLUME = re.compile(r"(?P<volume>\d+)\s*巻(?:\s*(?P<number>\d+)\s*号)?|Vol\.\s*(?P<v2>\d+)")
JA_PAGES = re.compile(r"(?:pp?\.\s*)?(?P<pages>\d+\s*[–—-]\s*\d+)\s*(?:頁|ページ)?")
SIGNALS = re.compile(r"\(\s*(?:1[6-9]|20)\d\d[a-z]?(?:,[^)]{0,20})?\s*\)|\.\s(?:1[6-9]|20)\d\d\.\s|"
                     r"\bet al\b|\bvol\.|\bpp?\.\s*\d|"
                     r"\b\d+\s*(?:\([^)]{1,8}\))?\s*[,:]\s*\d+\s*[–—-]\s*\d+|"
                     r"\barXiv\b|\bdoi\b|\b10\.\d{4,9}/|[「『].+[」』].*(?:巻|号|年)", re.IGNORECASE)


@dataclass(frozen=True)
class Reference:
    """What a formatted reference says, as BibTeX fields."""

    entry_type: str  # "article", "inproceedings" or "misc"
    fields: tuple[tuple[str, str], ...]  # in BibTeX order: author, title, journal…, year, doi
    whole: bool  # authors, title and where it appeared were all read; else keep the text in note


def looks_formatted(text: str) -> bool:
    """Whether a list item reads as a formatted reference rather than a page title."""
    authors = AUTHORS.match(text.strip())
    people = bool(authors and re.search(rf"{INITIALS}|\s(?:and|&)\s|et al", authors[0]))
    return bool(SIGNALS.search(text)) or people and bool(QUOTED.search(text) or YEAR.search(text))


def parse_reference(text: str) -> Reference | None:
    """The fields of a formatted reference, or None when it is not one."""
    text = re.sub(r"\s+", " ", text.replace("*", "").replace("_", " ")).strip(" ,;")
    if not looks_formatted(text):
        return None
    doi, arxiv = DOI.search(text), ARXIV.search(text)
    if arxiv:
        text = (text[:arxiv.start()] + text[arxiv.end():]).strip(" ,.;")
    if doi:
        text = (text[:doi.start()] + text[doi.end():]).strip(" ,.;")
    authors, title, rest, year = read_parts(text)
    container, volume, number, pages, found_year = read_container(rest)
    if volume and YEAR.fullmatch(volume) and not number:
        volume, found_year = None, found_year or volume  # `Joule, 2023`: a year, not a volume
    year = year or found_year or last_year(rest) or (last_year(text) if not title else None)
    proceedings = bool(container and PROCEEDINGS.search(container))
    journal = proceedings or volume or pages or number
    fields = [("author", authors)] if authors else []
    fields += [("title", title or text)] if title or text else []
    fields += [("booktitle" if proceedings else "journal" if journal else "publisher", container)] \
        if container else []
    fields += [(name, value) for name, value in (("volume", volume), ("number", number),
                                                 ("pages", pages), ("year", year)) if value]
    fields += [("doi", doi["doi"].rstrip(".,;)"))] if doi else []
    fields += [("eprint", arxiv["id"]), ("eprinttype", "arxiv")] if arxiv else []
    entry_type = "inproceedings" if proceedings else "article" if journal and container else \
        "book" if container else "misc"
    whole = bool(authors and title and (container or arxiv or doi) and year)
    return Reference(entry_type, tuple(fields), whole)


def read_parts(text: str) -> tuple[str | None, str | None, str, str | None]:
    """(authors, title, the rest, year) by the style the reference is written in."""
    if japanese := JAPANESE.match(text):
        rest = (f"『{japanese['container']}』" if japanese["container"] else "") + japanese["rest"]
        return japanese["authors"].strip(" ,、") or None, japanese["title"].strip(), rest, None
    if quoted := QUOTED.search(text):
        authors = bibtex_names(text[:quoted.start()].strip(" ,.:"))
        return authors, quoted["title"].strip(" ,."), text[quoted.end():].strip(" ,."), None
    for style in (APA, ACM):
        if (match := style.match(text)) and (names := bibtex_names(match["authors"])):
            stop = (match["stop"] or match["end"] or "").strip(".")  # a title keeps its ? or !
            return names, match["title"] + stop, match["rest"] or "", match["year"]
    if (match := AUTHORS.match(text)) and (names := bibtex_names(match[0])):
        rest = text[match.end():].lstrip(" .,:")
        title, _, after = rest.partition(". ")
        if title and after:
            return names, title.strip(), after, None
    return None, None, text, None


def read_container(rest: str) -> tuple[str | None, str | None, str | None, str | None, str | None]:
    """(journal or proceedings, volume, number, pages, year) of what follows the title."""
    if japanese := re.match(r"^\s*『(?P<container>[^』]+)』(?P<after>.*)$", rest):
        volume = JA_VOLUME.search(japanese["after"])
        pages = JA_PAGES.search(japanese["after"])
        return (japanese["container"], volume and (volume["volume"] or volume["v2"]),
                volume and volume["number"], pages and dash(pages["pages"]), last_year(japanese["after"]))
    if match := CONTAINER.match(rest):
        name = re.sub(r"\s+", " ", match["container"]).strip(" ,.:")
        if name and not re.fullmatch(r"(?:vol|no|pp?)\.?", name, re.IGNORECASE):
            found = PAGES.search(rest[match.end():])
            pages = match["pages"] or (found["pages"] if found else None)
            return (name, match["volume"], match["number"] or match["number2"], pages and dash(pages),
                    match["year"] or last_year(rest[match.end():]))
    if name := re.match(r"^\s*(?:[Ii]n:?\s+)?([^\d,.;()]{3,}?)[,.]?\s*(?:\(?(?:1[6-9]|20)\d\d\)?|$)", rest):
        return name[1].strip(" ,.:") or None, None, None, None, last_year(rest)
    return None, None, None, None, None


def bibtex_names(text: str) -> str | None:
    """`J. Rissanen, A. B. Smith, and C. Doe` or `Smith, J., & Doe, A.` as BibTeX's `and` list."""
    text = text.strip(" ,:;")
    match = AUTHORS.match(text)
    if not match or text[match.end():].strip(" ,.;"):
        text = text.rstrip(".")
        if text and len(text) <= 60 and not re.search(r"[.!?]\s|\d|,", text) and len(text.split()) <= 6:
            return "{" + text + "}"  # an organisation, kept whole: {IEA}
        return None
    names = re.findall(NAME, match["list"])
    people = []
    for name in names:
        name = name.strip()
        if "," in name:
            people.append(name)
        elif initials := re.match(rf"^(?P<given>{INITIALS})\s?(?P<family>{SURNAME})$", name):
            people.append(f"{initials['family']}, {initials['given'].strip()}")
        elif vancouver := re.match(rf"^(?P<family>{SURNAME})\s(?P<given>[A-Z]{{1,3}})$", name):
            people.append(f"{vancouver['family']}, {'. '.join(vancouver['given'])}.")
        else:
            words = name.split()
            first = next((i for i, w in enumerate(words[1:], 1) if w.islower()), len(words) - 1)
            people.append(f"{' '.join(words[first:])}, {' '.join(words[:first])}")
    if match["others"]:
        people.append("others")
    return " and ".join(people) or None


def dash(pages: str) -> str:
    """`465–471` as BibTeX's `465--471`."""
    return re.sub(r"\s*[–—-]+\s*", "--", pages.strip())


def last_year(text: str) -> str | None:
    """The last four-digit year in a text."""
    years = YEAR.findall(text or "")
    return years[-1] if years else None
