"""The built flagship site in a real browser: language switch, citations, previews, layout.

The flagship content is built once into a temporary folder and served by a small threaded
http.server on 127.0.0.1 under the base URL's path (`/kakehashi/`), as GitHub Pages serves
a project site. Debian's Chromium is driven by Playwright; see conftest.py for the skip/fail
policy when it is missing.
"""

from __future__ import annotations

import re
import tomllib
import urllib.parse
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, SITE_TOML, run_build, serve_folder, write_project

FLAGSHIP = ROOT / "content"
LANGUAGES = ("ja", "en")
OTHER = {"ja": "en", "en": "ja"}
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SECTION_FILE = re.compile(r"^(\d+)-(.+)\.(ja|en)\.md$")
PARAGRAPH_MARK = re.compile(r"¶(\d+)")
# How a back-link's target paragraph is counted: top-level blocks of the prose, headings
# skipped, each list item a paragraph of its own (what "¶n" means to the reader).
PARAGRAPH_OF = """(element) => {
  const prose = element.closest('.prose');
  let n = 0;
  for (const block of prose.children) {
    if (/^H[1-6]$/.test(block.tagName)) continue;
    const list = block.tagName === 'UL' || block.tagName === 'OL';
    const parts = list ? [...block.children] : [block];
    for (const part of parts) { n += 1; if (part.contains(element)) return n; }
  }
  return 0;
}"""


def flagship_sections(lang: str) -> list[tuple[str, str]]:
    """(slug, title) of every section of the flagship report, in reading order."""
    found = []
    for path in sorted((FLAGSHIP / "sections").iterdir()):
        match = SECTION_FILE.match(path.name)
        if match and match[3] == lang:
            front = path.read_text("utf-8-sig").split("---", 2)[1]
            found.append((int(match[1]), match[2], yaml.safe_load(front)["title"]))
    return [(slug, title) for _, slug, title in sorted(found)]


SECTIONS = {lang: flagship_sections(lang) for lang in LANGUAGES}
SLUGS = [slug for slug, _ in SECTIONS["ja"]]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The flagship site, built once and served on 127.0.0.1; its root URL."""
    config = tomllib.loads((FLAGSHIP / "site.toml").read_text("utf-8"))
    base_path = urllib.parse.urlsplit(config["base_url"]).path or "/"
    root = tmp_path_factory.mktemp("flagship")
    code, _, stderr = run_build(FLAGSHIP, root / base_path.strip("/"))
    assert code == 0, stderr
    with serve_folder(root) as origin:
        yield f"{origin}{base_path}"


@pytest.fixture
def new_page(browser):
    """A factory of pages, each in its own context; all closed after the test."""
    contexts = []

    def make(viewport: dict | None = None, **options):
        context = browser.new_context(viewport=viewport or DESKTOP, **options)
        contexts.append(context)
        return context.new_page()
    yield make
    for context in contexts:
        context.close()


def text_of(page, selector: str) -> str:
    """The element's rendered text, whitespace collapsed."""
    return " ".join(page.locator(selector).first.inner_text().split())


def wait_for(page, expected: str) -> None:
    """Wait until the page shows `expected` (document and fragment) and has been parsed."""
    want = urllib.parse.unquote(expected)
    page.wait_for_url(lambda url: urllib.parse.unquote(url) == want,
                      wait_until="domcontentloaded", timeout=5000)


TARGET_IN_VIEW = """() => {
  const target = document.querySelector(':target');
  if (!target) return {id: null, visible: false};
  const box = target.getBoundingClientRect();
  return {id: target.id, visible: box.bottom > 0 && box.top < window.innerHeight && box.height > 0};
}"""


def assert_target_in_view(page, target_id: str) -> None:
    """The page's `:target` is `target_id`, scrolled into the viewport."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    try:
        page.wait_for_function(f"(id) => {{ const t = ({TARGET_IN_VIEW})(); "
                               f"return t.id === id && t.visible; }}", arg=target_id,
                               polling=50, timeout=3000)
    except PlaywrightTimeout:
        assert page.evaluate(TARGET_IN_VIEW) == {"id": target_id, "visible": True}


# --- One visit of every page at 390 px: what each page shows, for the checks below ------------

PAGE_FACTS = """(limit) => {
  const paragraphOf = PARAGRAPH_OF;
  const text = (e) => e ? e.textContent.replace(/\\s+/g, ' ').trim() : null;
  const targetMissing = (a) => {
    const id = decodeURIComponent(a.getAttribute('href').slice(1));
    return id !== '' && !document.getElementById(id);
  };
  return {
    lang: document.documentElement.lang,
    h1: text(document.querySelector('main h1')),
    stylesheets: [...document.styleSheets].filter(s => s.cssRules.length > 0).length,
    switch: [...document.querySelectorAll('.language-switch a')]
      .map(a => ({hreflang: a.hreflang, href: a.href})),
    links: [...document.querySelectorAll('sup.cite > a')].map(a => (
      {group: a.closest('sup.cite').id, href: a.href, number: a.textContent.trim()})),
    groups: [...document.querySelectorAll('sup.cite')].map(sup => ({id: sup.id,
      paragraph: sup.closest('.prose') ? paragraphOf(sup) : 0,
      numbers: [...sup.querySelectorAll('.cite-pop-item > a:first-child')]
        .map(b => b.textContent.replace(/[\\[\\]]/g, ''))})),
    entries: Object.fromEntries([...document.querySelectorAll('li.bib-entry')].map(li => [li.id, {
      number: li.getAttribute('value'),
      text: li.querySelector('.bib-text').innerText.replace(/\\s+/g, ' ').trim(),
      backlinks: [...li.querySelectorAll('.bib-backlinks a')].map(a => a.href)}])),
    missingTargets: [...document.querySelectorAll('a[href^="#"]')].filter(targetMissing)
      .map(a => a.getAttribute('href')),
    scrollWidth: document.documentElement.scrollWidth,
    tooWide: [...document.querySelectorAll('body *')]
      .filter(e => e.getBoundingClientRect().right > limit + 0.5)
      .slice(0, 3).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')),
  };
}""".replace("PARAGRAPH_OF", PARAGRAPH_OF)


def page_urls(site: str) -> list[str]:
    """Every page: the chooser, 404, and per language the index, sections, bibliography, print
    and the sections side by side."""
    urls = [site, f"{site}404.html"]
    for lang in LANGUAGES:
        urls += [f"{site}{lang}/", *(f"{site}{lang}/{slug}/" for slug in SLUGS),
                 f"{site}{lang}/bibliography/", f"{site}{lang}/print/",
                 *(f"{site}{lang}/parallel/{slug}/" for slug in SLUGS)]
    return urls


@pytest.fixture(scope="module")
def visit(browser, site) -> dict:
    """Every page visited once at 390 px: {"facts": {url: facts}, "problems": [text]}.

    Problems are console errors and warnings, uncaught exceptions, failed requests and
    responses with an error status, on any page.
    """
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: message.type in ("error", "warning") and problems.append(
        f"{page.url}: console {message.type}: {message.text} ({message.location['url']})"))
    page.on("pageerror", lambda error: problems.append(f"{page.url}: uncaught {error}"))
    # A favicon still loading when the next page is opened is aborted (net::ERR_ABORTED):
    # that is navigation, not a broken resource (those answer 4xx, caught below).
    page.on("requestfailed", lambda request: "ERR_ABORTED" not in (request.failure or "")
            and problems.append(f"request failed: {request.url} ({request.failure})"))
    page.on("response", lambda response: response.status >= 400
            and problems.append(f"HTTP {response.status}: {response.url}"))
    facts = {}
    for url in page_urls(site):
        page.goto(url)
        facts[url] = page.evaluate(PAGE_FACTS, PHONE["width"])
    context.close()
    return {"facts": facts, "problems": problems}


# --- Language switch --------------------------------------------------------------------------

def test_language_switch_of_every_page_targets_the_same_page(site, visit):
    facts = visit["facts"]
    for lang in LANGUAGES:
        other = OTHER[lang]
        for path in ["", *(f"{slug}/" for slug in SLUGS), "bibliography/", "print/",
                     *(f"parallel/{slug}/" for slug in SLUGS)]:
            page = facts[f"{site}{lang}/{path}"]
            assert page["lang"] == lang
            assert page["switch"] == [{"hreflang": other, "href": f"{site}{other}/{path}"}], path
        for slug, title in SECTIONS[lang]:
            assert facts[f"{site}{lang}/{slug}/"]["h1"] == " ".join(title.split())


@pytest.mark.parametrize("lang", LANGUAGES)
def test_language_switch_click_lands_on_the_same_page(browser, site, new_page, lang):
    page = new_page()
    other = OTHER[lang]
    titles = dict(SECTIONS[other])
    for path in [f"{SLUGS[-1]}/", "bibliography/"]:
        page.goto(f"{site}{lang}/{path}")
        page.click(f".language-switch a[hreflang={other}]")
        wait_for(page, f"{site}{other}/{path}")
        assert page.evaluate("document.documentElement.lang") == other
        if path.strip("/") in titles:
            assert text_of(page, "main h1") == " ".join(titles[path.strip("/")].split())


# --- Citations and the bibliography -----------------------------------------------------------

@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_citation_points_at_its_entry_which_links_back(site, visit, lang):
    facts = visit["facts"]
    bibliography_url = f"{site}{lang}/bibliography/"
    entries = facts[bibliography_url]["entries"]
    by_number = {entry["number"]: entry for entry in entries.values()}
    for entry in entries.values():  # one back-link per citing paragraph
        assert len(set(entry["backlinks"])) == len(entry["backlinks"]), entry
    total = 0
    for slug in SLUGS:
        page_url = f"{site}{lang}/{slug}/"
        page = facts[page_url]
        assert page["links"], f"no citations on {page_url}"
        paragraph = {group["id"]: group["paragraph"] for group in page["groups"]}
        first = {}  # (number, paragraph) -> the paragraph's first group citing it: the link target
        for group in page["groups"]:
            for number in group["numbers"]:
                first.setdefault((number, group["paragraph"]), group["id"])
        for link in page["links"]:
            document, _, fragment = link["href"].partition("#")
            assert document == bibliography_url, link
            entry = entries.get(urllib.parse.unquote(fragment))
            assert entry is not None, f"{page_url}: no entry #{fragment}"
            assert entry["number"] == link["number"], link
            target = first[link["number"], paragraph[link["group"]]]
            assert f"{page_url}#{target}" in entry["backlinks"], \
                f"entry #{fragment} has no back-link to {page_url}#{target}"
        for group in page["groups"]:  # every source of a group, also inside a range [1–3]
            for number in group["numbers"]:
                target = first[number, group["paragraph"]]
                assert f"{page_url}#{target}" in by_number[number]["backlinks"], \
                    f"[{number}] has no back-link to {page_url}#{target} (for {group['id']})"
        total += len(page["links"])
    assert total > 100


def test_in_page_links_have_targets(site, visit):
    missing = {url: page["missingTargets"] for url, page in visit["facts"].items()
               if page["missingTargets"]}
    assert missing == {}
    for lang in LANGUAGES:  # the print version's citations point inside the page
        links = visit["facts"][f"{site}{lang}/print/"]["links"]
        assert len(links) > 100
        assert all(link["href"].startswith(f"{site}{lang}/print/#ref-") for link in links)


def follow_citation(page, page_url: str, index: int, bibliography_url: str) -> None:
    """Click the index-th citation link, check the entry, click its back-link, check return."""
    cited = page.evaluate(f"""(index) => {{
        const a = document.querySelectorAll('sup.cite > a')[index];
        return {{group: a.closest('sup.cite').id, fragment: decodeURIComponent(a.hash.slice(1)),
                 paragraph: ({PARAGRAPH_OF})(a)}};
    }}""", index)
    page.locator("sup.cite > a").nth(index).click()
    wait_for(page, f"{bibliography_url}#{cited['fragment']}")
    assert_target_in_view(page, cited["fragment"])
    back_links = page.evaluate("""() => [...document.querySelectorAll(
        'li.bib-entry:target .bib-backlinks a')].map(a => [a.href, a.textContent])""")
    here = [(position, href) for position, (href, text) in enumerate(back_links)  # one per ¶
            if href.startswith(f"{page_url}#")
            and int(PARAGRAPH_MARK.search(text)[1]) == cited["paragraph"]]
    assert len(here) == 1, f"not one back-link to ¶{cited['paragraph']} of {page_url}: {back_links}"
    position, wanted = here[0]
    marked = int(PARAGRAPH_MARK.search(back_links[position][1])[1])
    page.locator("li.bib-entry:target .bib-backlinks a").nth(position).click()
    wait_for(page, wanted)
    assert_target_in_view(page, wanted.partition("#")[2])
    assert page.evaluate(f"() => ({PARAGRAPH_OF})(document.querySelector(':target'))") \
        == cited["paragraph"] == marked


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_citation_of_another_section_jumps_and_the_back_link_returns(browser, site,
                                                                      new_page, lang):
    page = new_page()
    slug = {"ja": SLUGS[-1], "en": SLUGS[3]}[lang]
    page_url = f"{site}{lang}/{slug}/"
    page.goto(page_url)
    count = page.locator("sup.cite > a").count()
    follow_citation(page, page_url, count // 2, f"{site}{lang}/bibliography/")


def test_every_citation_of_one_page_jumps_and_the_back_link_returns(browser, site, new_page):
    page = new_page()
    page_url = f"{site}ja/{SLUGS[7]}/"
    page.goto(page_url)
    count = page.locator("sup.cite > a").count()
    assert count >= 5
    for index in range(count):
        follow_citation(page, page_url, index, f"{site}ja/bibliography/")


# --- The citation preview ---------------------------------------------------------------------

def assert_preview_shows_entry(link, entries: dict) -> None:
    """The link's preview shows its source exactly as the bibliography formats it."""
    fragment = urllib.parse.unquote(link.get_attribute("href").partition("#")[2])
    number = link.inner_text().strip()
    pop = link.locator("xpath=ancestor::sup[contains(@class,'cite')]/span[@class='cite-pop']")
    assert pop.is_visible()
    item = pop.locator(".cite-pop-item").filter(has_text=f"[{number}]").first
    assert " ".join(item.inner_text().split()) == f"[{number}] {entries[fragment]['text']}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_citation_preview_shows_on_hover(browser, site, visit, new_page, lang):
    page = new_page()
    page.goto(f"{site}{lang}/{SLUGS[1]}/")
    link = page.locator("sup.cite > a").nth(1)
    pop = link.locator("xpath=ancestor::sup[contains(@class,'cite')]/span[@class='cite-pop']")
    assert not pop.is_visible()
    link.hover()
    pop.wait_for(state="visible", timeout=2000)
    assert_preview_shows_entry(link, visit["facts"][f"{site}{lang}/bibliography/"]["entries"])
    page.mouse.move(1, 1)
    pop.wait_for(state="hidden", timeout=2000)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_citation_preview_shows_on_keyboard_focus(browser, site, visit, new_page, lang):
    page = new_page()
    page.goto(f"{site}{lang}/{SLUGS[0]}/")
    assert page.locator(".cite-pop:visible").count() == 0
    for _ in range(80):  # Tab through the header and navigation to the first citation
        page.keyboard.press("Tab")
        if page.evaluate("!!document.activeElement.closest('sup.cite')"):
            break
    else:
        pytest.fail("Tab never reached a citation link")
    focused = page.locator("sup.cite > a:focus")
    assert_preview_shows_entry(focused, visit["facts"][f"{site}{lang}/bibliography/"]["entries"])
    group = focused.evaluate("a => a.closest('sup.cite').id")
    pop = page.locator(f"#{group} .cite-pop")
    for _ in range(5):  # Tab on, through the group's other numbers, until focus leaves it
        page.keyboard.press("Tab")
        if page.evaluate("(id) => !document.activeElement.closest('#' + id)", group):
            break
        assert pop.is_visible()
    pop.wait_for(state="hidden", timeout=2000)


def test_citation_preview_fits_a_phone_screen(browser, site, new_page):
    page = new_page(PHONE)
    page.goto(f"{site}en/{SLUGS[1]}/")
    links = page.locator("sup.cite > a")
    for index in range(min(links.count(), 6)):
        link = links.nth(index)
        link.hover()
        pop = link.locator("xpath=ancestor::sup[contains(@class,'cite')]/span[@class='cite-pop']")
        pop.wait_for(state="visible", timeout=2000)
        box = pop.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (index, box)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


# --- Console, layout, JavaScript off ----------------------------------------------------------

def test_no_console_errors_on_any_page_type(site, visit):
    assert visit["problems"] == []
    unstyled = [url for url, page in visit["facts"].items() if page["stylesheets"] < 1]
    assert unstyled == []
    assert set(visit["facts"]) == set(page_urls(site))


def test_no_horizontal_overflow_at_390px(visit):
    wide = {url: (page["scrollWidth"], page["tooWide"]) for url, page in visit["facts"].items()
            if page["scrollWidth"] > PHONE["width"]}
    assert wide == {}


def test_navigation_and_citations_work_without_javascript(browser, site, new_page):
    page = new_page(java_script_enabled=False)
    ja, en = dict(SECTIONS["ja"]), dict(SECTIONS["en"])
    page.goto(f"{site}ja/")
    page.click(f"main ol.toc a[href$='{SLUGS[0]}/']")
    wait_for(page, f"{site}ja/{SLUGS[0]}/")
    assert text_of(page, "main h1") == ja[SLUGS[0]]
    page.click("a.pager-next")
    wait_for(page, f"{site}ja/{SLUGS[1]}/")
    page.click(f".site-nav a[href$='{SLUGS[2]}/']")
    wait_for(page, f"{site}ja/{SLUGS[2]}/")
    page.click(".language-switch a[hreflang=en]")
    wait_for(page, f"{site}en/{SLUGS[2]}/")
    assert text_of(page, "main h1") == " ".join(en[SLUGS[2]].split())
    follow_citation(page, page.url, 0, f"{site}en/bibliography/")
    page.click(".site-header a.site-title")
    wait_for(page, f"{site}en/")


# --- Contents on a phone ----------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGUAGES)
def test_contents_fold_up_above_the_section_on_a_phone(browser, site, new_page, lang):
    page = new_page(PHONE, java_script_enabled=False)  # <details> needs no script
    page.goto(f"{site}{lang}/{SLUGS[1]}/")
    summary = page.locator(".contents-menu summary")
    links = page.locator(".contents-menu .site-nav-list a")
    assert summary.is_visible() and not page.locator(".site-nav").is_visible()
    assert summary.inner_text() == {"ja": "目次", "en": "Contents"}[lang]
    first_paragraph = page.locator("main .prose > p").first
    assert summary.bounding_box()["y"] + summary.bounding_box()["height"] <= \
        first_paragraph.bounding_box()["y"]
    assert summary.bounding_box()["y"] < page.locator("main h1").bounding_box()["y"]
    assert links.count() == len(SLUGS) and not links.first.is_visible()
    summary.click()
    assert [links.nth(n).is_visible() for n in range(links.count())] == [True] * len(SLUGS)
    assert [" ".join(text.split()) for text in links.all_inner_texts()] == \
        [" ".join(title.split()) for _, title in SECTIONS[lang]]
    assert page.locator(".contents-menu a[aria-current=page]").get_attribute("href") == "./"
    assert page.locator(".contents-menu a[href='../bibliography/']").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    links.nth(2).click()
    wait_for(page, f"{site}{lang}/{SLUGS[2]}/")
    summary.focus()
    page.keyboard.press("Enter")
    assert links.first.is_visible()


def test_wide_screens_keep_the_sidebar_and_no_folded_contents(browser, site, new_page):
    page = new_page(DESKTOP)
    page.goto(f"{site}ja/{SLUGS[1]}/")
    assert not page.locator(".contents-menu").is_visible()
    sidebar = page.locator(".site-nav")
    assert sidebar.is_visible()
    assert sidebar.bounding_box()["x"] + sidebar.bounding_box()["width"] <= \
        page.locator("main").bounding_box()["x"]
    assert page.locator(".site-nav .site-nav-list a").count() == len(SLUGS)


# --- lang and hreflang wherever the language changes ------------------------------------------

# For each element with text of its own: its language as the browser resolves it (`:lang()`,
# so the nearest `lang` attribute), whether it contains Japanese, and its text.
TEXT_LANGUAGES = """() => {
  const japanese = /[\\u3040-\\u30ff\\u3400-\\u9fff\\uff00-\\uffef]/;
  const found = [];
  for (const element of document.body.querySelectorAll('*')) {
    const own = [...element.childNodes].filter(n => n.nodeType === Node.TEXT_NODE)
      .map(n => n.textContent).join('').replace(/\\s+/g, ' ').trim();
    if (!own) continue;
    found.push({tag: element.tagName.toLowerCase(), text: own,
                ja: element.matches(':lang(ja)'), en: element.matches(':lang(en)'),
                japanese: japanese.test(own)});
  }
  return found;
}"""
# English text of the partly translated project that can appear on a Japanese page.
ENGLISH_ONLY = {"The memo leak", "English", "English →", "Test Report",
                "A small report for the tests.", "Page not found",
                "The page you are looking for has moved or does not exist.",
                "Go to the English home page"}
# For each link: the language of the page it leads to (from the /ja/ or /en/ after one of
# the site's roots: the output folder, or the base URL's path that the 404 page links by).
LINK_LANGUAGES = """(roots) => [...document.querySelectorAll('a[href]')].map(a => {
  const root = roots.find(r => a.href.startsWith(r));
  const path = root ? a.href.slice(root.length) : '';
  return {href: a.getAttribute('href'), hreflang: a.getAttribute('hreflang'),
          target: /^(ja|en)\\//.test(path) ? path.slice(0, 2) : null};
})"""


@pytest.fixture(scope="module")
def partly_translated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture project built with allow_missing_translations, one section missing in
    each language (the memo leak in Japanese, the conclusion in English); its output."""
    folder = tmp_path_factory.mktemp("partly-translated")
    site_toml = SITE_TOML.replace("allow_missing_translations = false",
                                  "allow_missing_translations = true")
    content = write_project(folder / "content", {
        "site.toml": site_toml, "sections/01-memo-leak.ja.md": None,
        "sections/03-conclusion.en.md": None})
    code, _, stderr = run_build(content, folder / "out")
    assert code == 0, stderr
    return folder / "out"


def test_every_text_in_the_other_language_says_so_with_lang(browser, new_page,
                                                            partly_translated):
    page = new_page(PHONE)
    root = partly_translated.as_uri() + "/"
    pages = sorted(path.relative_to(partly_translated).as_posix()
                   for path in partly_translated.rglob("*.html"))
    assert len(pages) == 22  # chooser, 404; per language index, 3 sections, bibliography,
    # print, search, and the 3 sections side by side
    wrong, checked_links = [], 0
    for name in pages:
        page.goto(root + name)
        page_lang = page.evaluate("document.documentElement.lang")
        for item in page.evaluate(TEXT_LANGUAGES):
            # Japanese on a page of English (or in its English part) must say it is Japanese;
            # on a Japanese page, English sentences must say they are English. Bibliography
            # entries and citation previews included: an entry carries its own language,
            # and its parts in the page's language (labels, an English title) carry that.
            if item["japanese"] and not item["ja"]:
                wrong.append((name, item["tag"], item["text"], "needs lang=ja"))
            if item["text"] in ENGLISH_ONLY and not item["en"]:
                wrong.append((name, item["tag"], item["text"], "needs lang=en"))
        for link in page.evaluate(LINK_LANGUAGES, [root, "file:///report/"]):
            target = link["target"]
            checked_links += target is not None
            if target and target != page_lang and link["hreflang"] != target:
                wrong.append((name, "a", link["href"], f"needs hreflang={target}"))
    assert wrong == []
    assert checked_links > 100
    page.goto(root + "en/conclusion/index.html")
    assert page.locator("main h1").evaluate("h1 => h1.outerHTML") == '<h1 lang="ja">結論</h1>'
    page.goto(root + "ja/gemini/index.html")
    assert page.locator(".pager-prev [lang=en]").inner_text() == "The memo leak"


# --- Issue 11: maths, figures, callouts, cross-references, locators in a real browser ---------

@pytest.fixture(scope="module")
def starter_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project `python build.py new` writes, built; its output folder."""
    import subprocess
    import sys
    folder = tmp_path_factory.mktemp("starter")
    subprocess.run([sys.executable, str(ROOT / "build.py"), "new", "report"], cwd=folder,
                   check=True, capture_output=True)
    code, _, stderr = run_build(folder / "report", folder / "out")
    assert code == 0, stderr
    return folder / "out"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_maths_figures_and_callouts_render_without_script(browser, new_page, starter_site, lang):
    page = new_page(java_script_enabled=False)
    page.goto((starter_site / lang / "introduction/index.html").as_uri())
    facts = page.evaluate("""() => {
      const box = e => e.getBoundingClientRect();
      const math = document.querySelector('math');
      const img = document.querySelector('figure.figure img');
      const callout = document.querySelector('.callout');
      return {
        mathWidth: box(math).width, mathHeight: box(math).height,
        mathDisplay: getComputedStyle(math).display,
        imageLoaded: img.complete && img.naturalWidth > 0,
        calloutBorder: getComputedStyle(callout).borderInlineStartWidth,
        calloutTitle: callout.querySelector('.callout-title').textContent,
      };
    }""")
    assert facts["mathWidth"] > 10 and facts["mathHeight"] > 5  # laid out as MathML, not text
    assert facts["imageLoaded"]
    assert facts["calloutBorder"] not in ("0px", "")
    assert facts["calloutTitle"] == {"ja": "ヒント", "en": "Tip"}[lang]


def test_a_cross_reference_jumps_to_its_table(browser, new_page, starter_site):
    page = new_page()
    page.goto((starter_site / "en/introduction/index.html").as_uri())
    page.click("a.xref[href='#tbl-utf8']")
    assert page.url.endswith("#tbl-utf8")
    assert page.evaluate("document.querySelector(':target').id") == "tbl-utf8"
    page.goto((starter_site / "ja/print/index.html").as_uri())
    page.click("a.xref[href='#introduction-fig-utf8']")
    assert page.evaluate("document.querySelector(':target').tagName") == "FIGURE"


def test_the_preview_names_the_passage_cited(browser, new_page, starter_site):
    page = new_page()
    page.goto((starter_site / "ja/introduction/index.html").as_uri())
    cite = page.locator("sup.cite", has_text="第1章")
    cite.locator("a").first.hover()
    pop = cite.locator(".cite-pop")
    assert pop.is_visible()
    assert "該当箇所：第1章" in pop.inner_text()
    narrative = page.locator("span.cite-narrative").first
    narrative.locator("a").first.hover()
    assert narrative.locator(".cite-pop").is_visible()
